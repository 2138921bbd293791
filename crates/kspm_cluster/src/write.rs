//! What `kspm agent` writes to a cluster, and nothing else: its reports (PolicyReports or
//! OpenReports, by server-side apply with the field manager `kspm`) and its leader-election
//! Lease. Objects are plain JSON; the caller says which type ([`WriteKind`]) they are.

use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value as Json;

use crate::live::Session;

/// The field manager of every server-side apply kspm makes.
pub const FIELD_MANAGER: &str = "kspm";

/// A type kspm writes: group, version, kind, plural, and whether it lives in namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl WriteKind {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group`, for messages.
    pub fn display(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    fn resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }
}

/// Why a write or read of kspm's own objects failed. Each is one line for a person.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The server does not serve the type (its CRD is not installed).
    #[error("the server does not serve {0} (is its CRD installed?)")]
    NotServed(String),
    /// Another writer changed the object since it was read (409).
    #[error("{0}: changed by another writer")]
    Conflict(String),
    #[error("{0}")]
    Api(String),
}

fn describe(what: &str, e: &kube::Error) -> WriteError {
    match e {
        kube::Error::Api(s) if s.code == 409 => WriteError::Conflict(what.to_owned()),
        kube::Error::Api(s) => {
            WriteError::Api(format!("{what}: {} {}: {}", s.code, s.reason, s.message))
        }
        other => WriteError::Api(format!("{what}: {other}")),
    }
}

impl Session {
    fn api(&self, kind: &WriteKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let client = self.client().clone();
        match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(client, ns, &kind.resource()),
            _ => Api::all_with(client, &kind.resource()),
        }
    }

    /// Server-side apply of `object` (which names itself), forcing kspm's ownership of its
    /// fields: the object ends up exactly as given, whatever was written before.
    pub async fn apply(
        &self,
        kind: &WriteKind,
        namespace: Option<&str>,
        name: &str,
        object: &Json,
    ) -> Result<(), WriteError> {
        self.api(kind, namespace)
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await
            .map(drop)
            .map_err(|e| describe(&where_(kind, namespace, name), &e))
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn delete(
        &self,
        kind: &WriteKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), WriteError> {
        match self
            .api(kind, namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(describe(&where_(kind, namespace, name), &e)),
        }
    }

    /// `(namespace, name)` of every object of `kind` carrying the label selector `labels`, in
    /// every namespace. [`WriteError::NotServed`] when the type is not installed.
    pub async fn list_labelled(
        &self,
        kind: &WriteKind,
        labels: &str,
    ) -> Result<Vec<(Option<String>, String)>, WriteError> {
        let api: Api<DynamicObject> = Api::all_with(self.client().clone(), &kind.resource());
        match api.list(&ListParams::default().labels(labels)).await {
            Ok(list) => Ok(list
                .items
                .into_iter()
                .filter_map(|o| Some((o.metadata.namespace, o.metadata.name?)))
                .collect()),
            Err(kube::Error::Api(s)) if s.code == 404 => Err(WriteError::NotServed(kind.display())),
            Err(e) => Err(describe(&kind.display(), &e)),
        }
    }

    /// One object as JSON; `None` when it does not exist.
    pub async fn get(
        &self,
        kind: &WriteKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Json>, WriteError> {
        let what = where_(kind, namespace, name);
        let found = self
            .api(kind, namespace)
            .get_opt(name)
            .await
            .map_err(|e| describe(&what, &e))?;
        found
            .map(|o| serde_json::to_value(o).map_err(|e| WriteError::Api(format!("{what}: {e}"))))
            .transpose()
    }

    /// Creates an object; [`WriteError::Conflict`] when it already exists.
    pub async fn create(
        &self,
        kind: &WriteKind,
        namespace: Option<&str>,
        object: &Json,
    ) -> Result<Json, WriteError> {
        let what = where_(
            kind,
            namespace,
            object["metadata"]["name"].as_str().unwrap_or(""),
        );
        let o: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| WriteError::Api(format!("{what}: {e}")))?;
        let created = self
            .api(kind, namespace)
            .create(&PostParams::default(), &o)
            .await
            .map_err(|e| describe(&what, &e))?;
        serde_json::to_value(created).map_err(|e| WriteError::Api(format!("{what}: {e}")))
    }

    /// Replaces an object at the resourceVersion it carries; [`WriteError::Conflict`] when it
    /// changed since it was read.
    pub async fn replace(
        &self,
        kind: &WriteKind,
        namespace: Option<&str>,
        object: &Json,
    ) -> Result<Json, WriteError> {
        let name = object["metadata"]["name"].as_str().unwrap_or("");
        let what = where_(kind, namespace, name);
        let o: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| WriteError::Api(format!("{what}: {e}")))?;
        let replaced = self
            .api(kind, namespace)
            .replace(name, &PostParams::default(), &o)
            .await
            .map_err(|e| describe(&what, &e))?;
        serde_json::to_value(replaced).map_err(|e| WriteError::Api(format!("{what}: {e}")))
    }
}

fn where_(kind: &WriteKind, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} {ns}/{name}", kind.display()),
        None => format!("{} {name}", kind.display()),
    }
}
