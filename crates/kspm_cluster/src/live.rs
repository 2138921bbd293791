//! Keeping up with a cluster instead of reading it once, for `kspm agent`: the same kinds as a
//! scan, listed in full, then watched (bookmarks on) from the list's resourceVersion. A watch that
//! ends is resumed from the last version seen; one whose version is too old (410 Gone) lists its
//! kind again and hands the whole list on, so the caller replaces what it held of that kind:
//! nothing is missed and nothing is counted twice.
//!
//! Objects arrive as JSON normalised exactly as a scan reads them (kind and apiVersion set,
//! managed fields dropped, Secrets reduced to metadata); owner deduplication is the caller's,
//! since an owner can change after what it owns was seen.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::Resource as _;
use kube::api::{ListParams, WatchParams};
use kube::core::{DynamicObject, Request, WatchEvent};
use serde_json::Value as Json;
use tokio::sync::mpsc::UnboundedSender;

use crate::catalog::{Kind, Stage};
use crate::client::{self, Connection};
use crate::pager::{self, Backoff, Failure, Page};
use crate::{ClusterError, Target};

/// What a watched kind is to the judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read before everything else and consulted by other objects' judgements (namespaces,
    /// service accounts, RBAC, network policies, ...).
    Context,
    /// Referred to by name (ConfigMaps, Secrets, Services).
    Named,
    /// Workload controllers: what they own is judged on them.
    Owner,
    /// Created by controllers (ReplicaSets, Jobs): judged on their controller when it is held.
    Owned,
    /// Pods: judged on their controller when it is held.
    Pod,
    /// Judged on their own.
    Other,
    /// Admission policies (Kyverno, Gatekeeper templates and constraints), watched only with
    /// [`Session::connect_with`]`(.., true)`: not judged, but a change to them changes what
    /// the cluster's policies judge. ValidatingAdmissionPolicies and their bindings are
    /// judged as [`Role::Other`] and are policies too ([`Session::is_policy`]).
    Policy,
}

/// A change seen on a watched kind. `kind` indexes [`Session::kinds`].
#[derive(Debug)]
pub enum Change {
    /// An object was added or modified: its whole current state.
    Applied { kind: usize, object: Json },
    /// An object was deleted.
    Deleted { kind: usize, uid: String },
    /// The kind was listed again after its watch expired (410 Gone): these are all its objects.
    Relisted { kind: usize, objects: Vec<Json> },
    /// A watch request ended or failed and was started again (from the last version seen).
    Restarted { kind: usize, why: String },
    /// The kind could not be listed or watched any more (403, ...): one line saying why.
    Failed { kind: usize, why: String },
}

/// A connection to a cluster and the kinds to keep up with.
pub struct Session {
    conn: Connection,
    /// Only ever appended to ([`Session::add_policy_kinds`]): a kind's index never changes.
    kinds: RwLock<Vec<Arc<Kind>>>,
    /// What connecting could not do (read the CustomResourceDefinitions), for the log.
    pub notes: Vec<String>,
    page_size: u32,
    /// Pause between watch attempts after a failure.
    retry: Duration,
}

/// One kind, listed in full.
pub struct Listed {
    pub objects: Vec<Json>,
    /// Where a watch of the kind resumes.
    pub resource_version: String,
}

impl Session {
    /// Connects and finds out which kinds the server serves, as `kspm scan --cluster` reads
    /// them: the built-in kinds, and the custom resources whose schema embeds pod templates
    /// (found once, at connect time).
    pub async fn connect(target: &Target) -> Result<Self, ClusterError> {
        Self::connect_with(target, false).await
    }

    /// [`Session::connect`]; with `policies`, the admission policy kinds the server serves are
    /// watched too (Kyverno policies, Gatekeeper templates and every constraint kind), as
    /// [`Role::Policy`].
    pub async fn connect_with(target: &Target, policies: bool) -> Result<Self, ClusterError> {
        let conn = client::connect(target).await?;
        conn.client
            .apiserver_version()
            .await
            .map_err(|e| client::describe(&e, &conn.server))?;
        let discovery = kube::discovery::Discovery::new(conn.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| client::describe(&e, &conn.server))?;
        let page_size = if target.page_size == 0 {
            500
        } else {
            target.page_size
        };
        let mut kinds = crate::catalog::plan(&discovery);
        let mut notes = Vec::new();
        let crd_kind = crate::catalog::crd_kind(&discovery, Stage::Policy);
        if let Some(crd_kind) = &crd_kind {
            match list(&conn, crd_kind, page_size).await {
                Ok(listed) => crate::catalog::add_templated(&mut kinds, &discovery, &listed.objects),
                Err(e) => notes.push(format!(
                    "cannot list customresourcedefinitions.apiextensions.k8s.io ({e}): custom resources with pod templates are not watched"
                )),
            }
        }
        if policies {
            let new = new_policy_kinds(&kinds.iter().collect::<Vec<_>>(), &discovery);
            kinds.extend(new);
            // A new CustomResourceDefinition may serve policies (Gatekeeper installed since,
            // a ConstraintTemplate's constraint kind): watched, so the policies are read again.
            kinds.extend(crd_kind);
        }
        Ok(Self {
            conn,
            kinds: RwLock::new(kinds.into_iter().map(Arc::new).collect()),
            notes,
            page_size,
            retry: Duration::from_secs(1),
        })
    }

    /// Finds the policy kinds the server serves now that are not watched yet (a Gatekeeper
    /// ConstraintTemplate created since serves a new constraint kind) and adds them; returns
    /// the indexes of the kinds added, to list and watch.
    pub async fn add_policy_kinds(&self) -> Result<std::ops::Range<usize>, ClusterError> {
        let discovery = kube::discovery::Discovery::new(self.conn.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| client::describe(&e, &self.conn.server))?;
        let mut kinds = self.kinds.write().unwrap_or_else(PoisonError::into_inner);
        let start = kinds.len();
        let new = new_policy_kinds(&kinds.iter().map(|k| &**k).collect::<Vec<_>>(), &discovery);
        kinds.extend(new.into_iter().map(Arc::new));
        Ok(start..kinds.len())
    }

    fn kind(&self, kind: usize) -> Arc<Kind> {
        self.kinds.read().unwrap_or_else(PoisonError::into_inner)[kind].clone()
    }

    pub(crate) fn client(&self) -> &kube::Client {
        &self.conn.client
    }

    /// `cluster:<context>`, the source name of every object.
    pub fn label(&self) -> &str {
        &self.conn.label
    }

    /// How many kinds are watched; [`Change`]s index them.
    pub fn kind_count(&self) -> usize {
        self.kinds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// `plural.group` of a kind, for messages.
    pub fn kind_name(&self, kind: usize) -> String {
        self.kind(kind).display()
    }

    /// The `Kind` of a kind (`Deployment`).
    pub fn kind_kind(&self, kind: usize) -> String {
        self.kind(kind).resource.kind.clone()
    }

    pub fn role(&self, kind: usize) -> Role {
        match self.kind(kind).stage {
            Stage::Context => Role::Context,
            Stage::Named => Role::Named,
            Stage::Owner => Role::Owner,
            Stage::Owned => Role::Owned,
            Stage::Pod => Role::Pod,
            Stage::Other => Role::Other,
            Stage::Policy => Role::Policy,
        }
    }

    /// Whether a change to objects of `kind` changes the cluster's admission policies: the
    /// [`Role::Policy`] kinds (CustomResourceDefinitions among them: a new one may serve
    /// policies), and ValidatingAdmissionPolicies and their bindings.
    pub fn is_policy(&self, kind: usize) -> bool {
        let k = self.kind(kind);
        k.stage == Stage::Policy
            || crate::policies::is_policy_kind(&k.resource.group, &k.resource.kind)
    }

    /// Lists one kind in full, page by page (retrying throttling and server errors, starting
    /// again after 410 Gone), normalised as a scan reads it.
    pub async fn list(&self, kind: usize) -> Result<Listed, crate::ListError> {
        list(&self.conn, &self.kind(kind), self.page_size).await
    }

    /// Watches one kind from `resource_version` until `tx` is closed, sending every change.
    /// Runs for ever otherwise: a watch that ends resumes, one that expires relists.
    pub async fn watch(
        self: Arc<Self>,
        kind: usize,
        mut resource_version: String,
        tx: UnboundedSender<Change>,
    ) {
        let k = self.kind(kind);
        let k = &*k;
        let url = DynamicObject::url_path(&k.resource, None);
        let mut failures = 0u32;
        let mut must_list = false;
        while !tx.is_closed() {
            if must_list {
                match self.list(kind).await {
                    Ok(listed) => {
                        must_list = false;
                        resource_version = listed.resource_version;
                        let _ = tx.send(Change::Relisted {
                            kind,
                            objects: listed.objects,
                        });
                    }
                    Err(e) => {
                        failures += 1;
                        let _ = tx.send(Change::Restarted {
                            kind,
                            why: e.to_string(),
                        });
                        tokio::time::sleep(self.pause(failures)).await;
                        continue;
                    }
                }
            }
            // The server ends each watch before the client's 60 s read timeout would cut it.
            let wp = WatchParams::default().timeout(45);
            let request = Request::new(url.clone());
            let request = if k.is_secret() {
                request.watch_metadata(&wp, &resource_version)
            } else {
                request.watch(&wp, &resource_version)
            };
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Change::Failed {
                        kind,
                        why: e.to_string(),
                    });
                    return;
                }
            };
            let gone = match self.conn.client.request_events::<Json>(request).await {
                Err(e) => match pager::classify(&e) {
                    Failure::Gone => true,
                    Failure::Retry(why) => {
                        failures += 1;
                        let _ = tx.send(Change::Restarted { kind, why });
                        tokio::time::sleep(self.pause(failures)).await;
                        continue;
                    }
                    Failure::Stop(why) => {
                        let _ = tx.send(Change::Failed { kind, why });
                        return;
                    }
                },
                Ok(stream) => {
                    let mut stream = std::pin::pin!(stream);
                    let mut gone = false;
                    let mut why = "the watch ended".to_owned();
                    while let Some(event) = stream.next().await {
                        match event {
                            Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                                failures = 0;
                                if let Some(v) = version_of(&o) {
                                    resource_version = v;
                                }
                                if let Some(object) = normalize(k, o) {
                                    let _ = tx.send(Change::Applied { kind, object });
                                }
                            }
                            Ok(WatchEvent::Deleted(o)) => {
                                if let Some(v) = version_of(&o) {
                                    resource_version = v;
                                }
                                if let Some(uid) = o["metadata"]["uid"].as_str() {
                                    let _ = tx.send(Change::Deleted {
                                        kind,
                                        uid: uid.to_owned(),
                                    });
                                }
                            }
                            Ok(WatchEvent::Bookmark(b)) => {
                                resource_version = b.metadata.resource_version;
                            }
                            Ok(WatchEvent::Error(status)) if status.code == 410 => {
                                gone = true;
                                break;
                            }
                            Ok(WatchEvent::Error(status)) => {
                                why = format!(
                                    "{} {}: {}",
                                    status.code, status.reason, status.message
                                );
                                break;
                            }
                            Err(e) => {
                                why = e.to_string();
                                break;
                            }
                        }
                    }
                    if !gone {
                        let _ = tx.send(Change::Restarted { kind, why });
                    }
                    gone
                }
            };
            // Watching from an expired version is refused again: list the kind afresh.
            must_list = gone;
        }
    }

    fn pause(&self, failures: u32) -> Duration {
        self.retry
            .saturating_mul(1 << failures.min(5))
            .min(Duration::from_secs(30))
    }
}

/// The policy kinds `discovery` serves that are not among `held`, as [`Stage::Policy`] kinds.
fn new_policy_kinds(held: &[&Kind], discovery: &kube::discovery::Discovery) -> Vec<Kind> {
    crate::policies::policy_kinds(discovery)
        .into_iter()
        .filter(|k| {
            !held
                .iter()
                .any(|h| h.resource.group == k.resource.group && h.resource.kind == k.resource.kind)
        })
        .map(|k| Kind {
            stage: Stage::Policy,
            ..k
        })
        .collect()
}

fn version_of(o: &Json) -> Option<String> {
    o["metadata"]["resourceVersion"].as_str().map(str::to_owned)
}

async fn list(conn: &Connection, kind: &Kind, page_size: u32) -> Result<Listed, crate::ListError> {
    let url = DynamicObject::url_path(&kind.resource, None);
    let secret = kind.is_secret();
    // A Mutex, not a RefCell: the watch that relists runs on any worker thread.
    let version = std::sync::Mutex::new(String::new());
    let fetch = |token: Option<String>| {
        let url = url.clone();
        let version = &version;
        async move {
            let mut lp = ListParams::default().limit(page_size);
            if let Some(t) = token {
                lp = lp.continue_token(&t);
            }
            let request = Request::new(url);
            let request = if secret {
                request.list_metadata(&lp)
            } else {
                request.list(&lp)
            }
            .map_err(|e| Failure::Stop(e.to_string()))?;
            let mut list = conn
                .client
                .request::<Json>(request)
                .await
                .map_err(|e| pager::classify(&e))?;
            if let Some(v) = list["metadata"]["resourceVersion"].as_str() {
                v.clone_into(
                    &mut version
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
            }
            let next = list["metadata"]["continue"].as_str().map(str::to_owned);
            let items = match list.get_mut("items").map(Json::take) {
                Some(Json::Array(items)) => items,
                _ => Vec::new(),
            };
            Ok(Page { items, next })
        }
    };
    let mut objects = Vec::new();
    let mut seen = HashSet::new();
    pager::list_all(fetch, Backoff::default(), |items| {
        for item in items {
            // A list started again after 410 Gone replays its first pages.
            let uid = item["metadata"]["uid"].as_str().unwrap_or("").to_owned();
            if seen.insert(uid)
                && let Some(o) = normalize(kind, item)
            {
                objects.push(o);
            }
        }
    })
    .await
    .map_err(|(why, _)| why)?;
    Ok(Listed {
        objects,
        resource_version: version
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    })
}

/// An object as a scan reads it: kind and apiVersion set, managed fields dropped, Secrets kept
/// as metadata without the `last-applied-configuration` copy. `None` for what is not an object.
pub(crate) fn normalize(kind: &Kind, mut item: Json) -> Option<Json> {
    let obj = item.as_object_mut()?;
    obj.insert(
        "apiVersion".to_owned(),
        Json::String(kind.resource.api_version.clone()),
    );
    obj.insert("kind".to_owned(), Json::String(kind.resource.kind.clone()));
    if let Some(meta) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.remove("managedFields");
        if kind.is_secret()
            && let Some(a) = meta.get_mut("annotations").and_then(Json::as_object_mut)
        {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if kind.is_secret() {
        obj.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata"));
    }
    Some(item)
}

/// The uid of an object's managing controller (`ownerReferences[].controller: true`).
pub fn controller_of(item: &Json) -> Option<&str> {
    crate::controller(item)
}

/// Turns a held object into a resource of the rules, with `label` as its source.
pub fn resource(item: &Json, label: &Arc<str>) -> Option<kspm_model::Resource> {
    let source = kspm_model::Source {
        file: label.clone(),
        doc: 0,
        origin: None,
    };
    kspm_model::Resource::from_node(kspm_model::Node::from_json(item), source).ok()
}
