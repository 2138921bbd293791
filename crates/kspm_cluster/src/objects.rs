//! Reading and patching single objects, for `kspm remediate`: get an object by apiVersion, kind,
//! namespace and name; send a JSON patch, as a server-side dry run (`dryRun=All`) or for real,
//! under field manager `kspm`; ask the server who we are (SelfSubjectReview).
//!
//! Errors keep the server's reason, so a failed precondition (the object changed since it was
//! read) is told apart from a refusal by admission or validation.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value as Json;

use crate::client::{self, Connection};
use crate::{ClusterError, Target};

/// A connection for object-by-object work.
pub struct Objects {
    conn: Connection,
    resources: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
}

/// Which object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Why a request about one object failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("not found")]
    NotFound,
    /// The object changed since it was read (a failed resourceVersion precondition).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Refused by validation or admission (the message says which).
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Other(String),
}

impl Objects {
    pub async fn connect(target: &Target) -> Result<Self, ClusterError> {
        let conn = client::connect(target).await?;
        conn.client
            .apiserver_version()
            .await
            .map_err(|e| client::describe(&e, &conn.server))?;
        Ok(Self {
            conn,
            resources: Mutex::new(HashMap::new()),
        })
    }

    /// `cluster:<context>`.
    pub fn label(&self) -> &str {
        &self.conn.label
    }

    async fn resource(&self, r: &ObjectRef) -> Result<(ApiResource, bool), ObjectError> {
        let key = (r.api_version.clone(), r.kind.clone());
        if let Some(found) = self
            .resources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(found.clone());
        }
        let (group, version) = match r.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", r.api_version.as_str()),
        };
        let gvk = GroupVersionKind::gvk(group, version, &r.kind);
        let (ar, caps) = kube::discovery::pinned_kind(&self.conn.client, &gvk)
            .await
            .map_err(|e| error(&e))?;
        let found = (ar, caps.scope == kube::discovery::Scope::Namespaced);
        self.resources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, found.clone());
        Ok(found)
    }

    async fn url(&self, r: &ObjectRef) -> Result<String, ObjectError> {
        let (ar, namespaced) = self.resource(r).await?;
        let base = if ar.group.is_empty() {
            format!("/api/{}", ar.version)
        } else {
            format!("/apis/{}/{}", ar.group, ar.version)
        };
        Ok(match (&r.namespace, namespaced) {
            (Some(ns), true) => format!("{base}/namespaces/{ns}/{}/{}", ar.plural, r.name),
            _ => format!("{base}/{}/{}", ar.plural, r.name),
        })
    }

    /// The object as the server holds it now.
    pub async fn get(&self, r: &ObjectRef) -> Result<Json, ObjectError> {
        let url = self.url(r).await?;
        let req = http::Request::get(url)
            .body(Vec::new())
            .map_err(|e| ObjectError::Other(e.to_string()))?;
        self.conn.client.request(req).await.map_err(|e| error(&e))
    }

    /// Sends an RFC 6902 JSON patch under field manager `kspm`; `dry_run`: the server runs
    /// validation and admission and answers with the result, and stores nothing.
    pub async fn json_patch(
        &self,
        r: &ObjectRef,
        patch: &Json,
        dry_run: bool,
    ) -> Result<Json, ObjectError> {
        let mut url = self.url(r).await?;
        url.push_str("?fieldManager=kspm");
        if dry_run {
            url.push_str("&dryRun=All");
        }
        let req = http::Request::patch(url)
            .header(http::header::CONTENT_TYPE, "application/json-patch+json")
            .body(serde_json::to_vec(patch).map_err(|e| ObjectError::Other(e.to_string()))?)
            .map_err(|e| ObjectError::Other(e.to_string()))?;
        self.conn.client.request(req).await.map_err(|e| error(&e))
    }

    /// The user name the server knows the credentials as, when it says.
    pub async fn whoami(&self) -> Option<String> {
        let body = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"
        });
        let req = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).ok()?)
            .ok()?;
        let answer: Json = self.conn.client.request(req).await.ok()?;
        answer["status"]["userInfo"]["username"]
            .as_str()
            .map(str::to_owned)
    }
}

fn error(e: &kube::Error) -> ObjectError {
    match e {
        kube::Error::Api(status) => {
            // The server's message, and the causes it gives (a failed JSON patch test is a
            // generic 422 whose cause names the test).
            let mut message = status.message.clone();
            for cause in status.details.iter().flat_map(|d| &d.causes) {
                if !cause.message.is_empty() && !message.contains(&cause.message) {
                    message.push_str(": ");
                    message.push_str(&cause.message);
                }
            }
            match status.code {
                404 => ObjectError::NotFound,
                409 => ObjectError::Conflict(message),
                // A failed JSON patch `test` (the resourceVersion precondition) is a 422 whose
                // message names the test.
                422 if message.contains("test") && message.contains("resourceVersion") => {
                    ObjectError::Conflict(message)
                }
                422 if message.contains("testing value") => ObjectError::Conflict(message),
                403 if message.contains("admission webhook") => ObjectError::Refused(message),
                403 => ObjectError::Forbidden(message),
                400 | 422 => ObjectError::Refused(message),
                _ => ObjectError::Other(format!("{} {}: {message}", status.code, status.reason)),
            }
        }
        other => ObjectError::Other(other.to_string()),
    }
}
