//! Scans a live cluster with the same rules, exceptions and reports as files.
//!
//! The cluster is read kind by kind ([`catalog::KINDS`], plus custom resources that embed pod
//! templates) with paginated lists ([`pager`]), page by page: each page becomes [`Resource`]s
//! that are checked at once and dropped, so memory stays bounded by one page plus the findings.
//!
//! Secrets are only ever requested as metadata (`PartialObjectMetadataList`), and their
//! `last-applied-configuration` annotation, which holds the whole Secret when it was created
//! with `kubectl apply`, is dropped on arrival. Objects created by a controller are judged once,
//! on the controller.

mod catalog;
mod client;
pub mod live;
pub mod objects;
mod pager;
mod policies;
pub mod write;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kspm_engine::{Evaluation, ScanOptions, ScanResult};
use kspm_model::{Diagnostic, Index, Node, Resource, Source};
use kube::Resource as _;
use kube::api::ListParams;
use kube::core::{DynamicObject, Request};
use kube::discovery::Discovery;
use serde_json::Value as Json;

pub use client::Target;
pub use pager::ListError;

use catalog::{Kind, Stage};
use client::Connection;
use pager::{Backoff, Failure, Page};

/// Why a cluster could not be scanned at all. Each is one line for a person.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached (refused, DNS, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// TLS failed: wrong CA, bad client certificate.
    #[error("{0}")]
    Tls(String),
    /// The credentials were rejected (401): invalid or expired.
    #[error("{0}")]
    Unauthorized(String),
    /// The server answered with an error where the scan cannot go on (discovery failed).
    #[error("{0}")]
    Api(String),
}

/// Where the time of a live scan went.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Objects received from the server (before owner deduplication).
    pub objects: usize,
    /// Objects judged by the rules.
    pub checked: usize,
    /// Objects judged on their controller instead (ReplicaSets, Jobs, Pods).
    pub on_owner: usize,
    pub requests: u32,
    pub retries: u32,
    /// Lists started over because their continue token expired (410 Gone).
    pub restarts: u32,
    /// Waiting for the server: discovery and list requests, and decoding their answers.
    pub listing: Duration,
    /// Converting and checking objects. Checking runs beside listing, so the wall time of a
    /// scan is less than `listing + evaluating`.
    pub evaluating: Duration,
}

/// Objects read from a cluster, for analyses that need all of them at once (RBAC, network).
#[derive(Debug, Default)]
pub struct Loaded {
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
    /// Some kinds could not be read; `diagnostics` say which and why.
    pub partial: bool,
    /// `cluster:<context>`, the source name of every resource.
    pub label: String,
}

/// Scans the cluster `target` names with the rules and settings of `opts` (its `inputs` are
/// ignored). A kind that cannot be listed (403, ...) makes the result partial, with a diagnostic
/// naming it and why; only a cluster that cannot be reached or authenticated to is an error.
pub fn scan(target: &Target, opts: &ScanOptions) -> Result<(ScanResult, Stats), ClusterError> {
    let rt = runtime()?;
    let mut reader = rt.block_on(Reader::connect(target))?;
    let kinds = rt.block_on(reader.plan())?;
    let (context, rest): (Vec<Kind>, Vec<Kind>) =
        kinds.into_iter().partition(|k| k.stage == Stage::Context);

    let mut kept = Vec::new();
    let mut complete = read_into(&rt, &mut reader, &context, &mut kept);
    if opts.policies.as_ref().is_some_and(|p| p.wants_inventory()) {
        return Ok(scan_whole(&rt, reader, &rest, kept, complete, opts));
    }
    let (named, rest): (Vec<Kind>, Vec<Kind>) =
        rest.into_iter().partition(|k| k.stage == Stage::Named);
    let mut eval = Evaluation::new(opts);
    // Named kinds are judged as their pages arrive, against the context facts (no rule on a
    // ConfigMap, Secret or Service consults names), and only their identities are kept.
    let mut names = Vec::new();
    {
        let facts = Index::build(&kept);
        rt.block_on(async {
            for kind in &named {
                let before = reader.diagnostics.len();
                reader
                    .read(kind, true, |stats, mut resources| {
                        let started = Instant::now();
                        eval.check(&resources, &facts, &opts.settings);
                        stats.evaluating += started.elapsed();
                        resources.iter_mut().for_each(Index::identity_only);
                        names.extend(resources);
                    })
                    .await;
                if reader.diagnostics.len() == before {
                    complete.push(kind.resource.kind.clone());
                }
            }
        });
    }
    let mut index = Index::build(kept.iter().chain(&names));
    for kind in &complete {
        index.mark_complete(kind);
    }
    let started = Instant::now();
    eval.learn_rbac(&index);
    eval.check(&kept, &index, &opts.settings);
    reader.stats.evaluating += started.elapsed();

    // Listing and judging overlap: this thread waits for the server and converts each page,
    // a second thread judges the previous pages. At most two pages wait between them, so
    // memory stays bounded.
    let (eval, judging) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Resource>>(2);
        let (index, settings) = (&index, &opts.settings);
        let judge = scope.spawn(move || {
            let mut busy = Duration::ZERO;
            for page in rx {
                let started = Instant::now();
                eval.check(&page, index, settings);
                busy += started.elapsed();
            }
            (eval, busy)
        });
        rt.block_on(async {
            for kind in &rest {
                let before = reader.diagnostics.len();
                reader
                    .read(kind, true, |_, resources| {
                        // The judge only stops early by panicking, which join() reports.
                        let _ = tx.send(resources);
                    })
                    .await;
                if reader.diagnostics.len() == before {
                    complete.push(kind.resource.kind.clone());
                }
            }
        });
        drop(tx);
        judge
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    reader.stats.evaluating += judging;
    // Every workload is known now: Services, NetworkPolicies and autoscalers can be judged
    // against them.
    let started = Instant::now();
    for kind in &complete {
        index.mark_complete(kind);
    }
    let mut eval = eval;
    eval.after_workloads(&mut index, &opts.settings);
    reader.stats.evaluating += started.elapsed();
    Ok(finish(reader, eval, opts))
}

/// Reads `kinds` in full (owner deduplication on) into `kept`; returns the kinds read without
/// error, whose every object the scan then holds.
fn read_into(
    rt: &tokio::runtime::Runtime,
    reader: &mut Reader,
    kinds: &[Kind],
    kept: &mut Vec<Resource>,
) -> Vec<String> {
    let mut complete = Vec::new();
    rt.block_on(async {
        for kind in kinds {
            let before = reader.diagnostics.len();
            reader
                .read(kind, true, |_, resources| kept.extend(resources))
                .await;
            if reader.diagnostics.len() == before {
                complete.push(kind.resource.kind.clone());
            }
        }
    });
    complete
}

/// The result of a scan whose objects were all judged: overrides, exceptions, risk and
/// compliance, with what could not be read.
fn finish(mut reader: Reader, eval: Evaluation<'_>, opts: &ScanOptions) -> (ScanResult, Stats) {
    reader.stats.checked = eval.checked();
    let mut result = eval.finish(opts, std::mem::take(&mut reader.diagnostics), 1);
    result.partial = reader.partial;
    (result, reader.stats)
}

/// The scan when a cross-resource policy reads every object (`data.kspm.resources`,
/// Gatekeeper's `data.inventory`): everything is listed first, then judged with the whole
/// cluster as the policies' inventory. Memory then grows with the cluster, as in a file scan.
fn scan_whole(
    rt: &tokio::runtime::Runtime,
    mut reader: Reader,
    rest: &[Kind],
    mut kept: Vec<Resource>,
    mut complete: Vec<String>,
    opts: &ScanOptions,
) -> (ScanResult, Stats) {
    complete.extend(read_into(rt, &mut reader, rest, &mut kept));
    let started = Instant::now();
    let mut index = Index::build(&kept);
    for kind in &complete {
        index.mark_complete(kind);
    }
    let mut eval = Evaluation::with_inventory(opts, &kept);
    eval.learn_rbac(&index);
    eval.check(&kept, &index, &opts.settings);
    eval.after_workloads(&mut index, &opts.settings);
    reader.stats.evaluating += started.elapsed();
    finish(reader, eval, opts)
}

/// Reads every object kspm knows how to judge (no owner deduplication: pods are kept next to
/// their controllers), for analyses over the whole set.
pub fn load(target: &Target) -> Result<Loaded, ClusterError> {
    runtime()?.block_on(async {
        let mut reader = Reader::connect(target).await?;
        let kinds = reader.plan().await?;
        let mut resources = Vec::new();
        for kind in &kinds {
            reader
                .read(kind, false, |_, page| resources.extend(page))
                .await;
        }
        Ok(Loaded {
            resources,
            diagnostics: std::mem::take(&mut reader.diagnostics),
            partial: reader.partial,
            label: reader.conn.label.clone(),
        })
    })
}

/// Reads the admission policies installed in the cluster, for evaluating them on a scan
/// (`kspm scan --cluster --cluster-policies`): ValidatingAdmissionPolicies and their bindings,
/// the params objects those bindings refer to, Gatekeeper ConstraintTemplates and every
/// constraint kind the server serves in `constraints.gatekeeper.sh`. Each object's source names
/// it (`cluster:ValidatingAdmissionPolicy/NAME`, `cluster:ConfigMap/NAMESPACE/NAME`).
///
/// Groups the server does not serve (no Gatekeeper) are skipped silently. A kind that cannot be
/// listed (403, ...) makes the result partial, with a diagnostic naming it. Secrets are never
/// read: a policy whose params are Secrets is left out, with a warning. `target.namespaces` does
/// not apply: policies hold for the whole cluster.
pub fn load_policies(target: &Target) -> Result<Loaded, ClusterError> {
    runtime()?.block_on(read_policies(target))
}

/// [`load_policies`], on the caller's runtime (the agent reads them again when they change).
pub async fn read_policies(target: &Target) -> Result<Loaded, ClusterError> {
    let mut reader = Reader::connect(target).await?;
    let discovery = reader.discover().await?;
    let resources = reader.read_policies(&discovery).await;
    Ok(Loaded {
        resources,
        diagnostics: std::mem::take(&mut reader.diagnostics),
        partial: reader.partial,
        label: reader.conn.label.clone(),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("cannot start the network runtime: {e}")))
}

struct Reader<'t> {
    target: &'t Target,
    conn: Connection,
    label: Arc<str>,
    backoff: Backoff,
    diagnostics: Vec<Diagnostic>,
    partial: bool,
    stats: Stats,
    /// Uids of the controllers read so far: what they own is judged on them.
    owners: HashSet<String>,
    /// Uids already handed on, so a list restarted after 410 Gone yields nothing twice.
    seen: HashSet<String>,
    /// The test hook of [`Target::stall_after_first_page`], taken when used.
    stall: Option<Duration>,
}

impl<'t> Reader<'t> {
    async fn connect(target: &'t Target) -> Result<Self, ClusterError> {
        let started = Instant::now();
        let conn = client::connect(target).await?;
        // /version is readable by anyone who can connect: it tells a network or TLS failure
        // from a permission problem before any list is tried.
        conn.client
            .apiserver_version()
            .await
            .map_err(|e| client::describe(&e, &conn.server))?;
        let label: Arc<str> = Arc::from(conn.label.as_str());
        let stats = Stats {
            listing: started.elapsed(),
            requests: 1,
            ..Stats::default()
        };
        Ok(Self {
            target,
            conn,
            label,
            backoff: Backoff::default(),
            diagnostics: Vec::new(),
            partial: false,
            stats,
            owners: HashSet::new(),
            seen: HashSet::new(),
            stall: target.stall_after_first_page,
        })
    }

    /// Which groups, versions and kinds the server serves (aggregated discovery).
    async fn discover(&mut self) -> Result<Discovery, ClusterError> {
        let started = Instant::now();
        let discovery = Discovery::new(self.conn.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| client::describe(&e, &self.conn.server))?;
        self.stats.requests += 2;
        self.stats.listing += started.elapsed();
        Ok(discovery)
    }

    /// What to read, in order: the built-in kinds the server serves, with custom resources that
    /// embed pod templates among the owners.
    async fn plan(&mut self) -> Result<Vec<Kind>, ClusterError> {
        let discovery = self.discover().await?;
        let started = Instant::now();
        let mut kinds = catalog::plan(&discovery);
        if self.target.namespaces.is_empty()
            && let Some(crd_kind) = catalog::crd_kind(&discovery, Stage::Other)
        {
            let mut crds = Vec::new();
            self.list_raw_with(&crd_kind, None, Filter::default(), |items| {
                crds.extend(items);
            })
            .await;
            catalog::add_templated(&mut kinds, &discovery, &crds);
        }
        self.stats.listing += started.elapsed();
        Ok(kinds)
    }

    /// Reads one kind page by page, handing each page's resources to `on_page`. With `dedup`,
    /// objects whose controller was read are counted and skipped.
    async fn read(
        &mut self,
        kind: &Kind,
        dedup: bool,
        mut on_page: impl FnMut(&mut Stats, Vec<Resource>),
    ) {
        let scoped = !self.target.namespaces.is_empty();
        if scoped && !kind.namespaced {
            if kind.resource.kind == "Namespace" && kind.resource.group.is_empty() {
                for ns in &self.target.namespaces.clone() {
                    if let Some(item) = self.get(kind, ns).await {
                        let resources = self.convert(kind, vec![item], dedup);
                        on_page(&mut self.stats, resources);
                    }
                }
            }
            return;
        }
        let namespaces: Vec<Option<String>> = if scoped {
            self.target.namespaces.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        for ns in namespaces {
            // Service-account token Secrets are told apart by a field selector, since the
            // metadata-only answer does not carry `type`.
            let tokens = if kind.is_secret() {
                let mut uids = HashSet::new();
                self.list_raw_with(
                    kind,
                    ns.as_deref(),
                    Filter {
                        fields: Some("type=kubernetes.io/service-account-token"),
                        labels: None,
                    },
                    |items| {
                        uids.extend(
                            items
                                .iter()
                                .filter_map(|i| i["metadata"]["uid"].as_str().map(str::to_owned)),
                        );
                    },
                )
                .await;
                Some(uids)
            } else {
                None
            };
            // Pages are converted and checked as they arrive, then dropped.
            let this = &mut *self;
            let label = this.label.clone();
            let mut ctx = Convert {
                kind,
                dedup,
                label,
                tokens: tokens.as_ref(),
                owners: &mut this.owners,
                seen: &mut this.seen,
                on_owner: 0,
            };
            let stats = &mut this.stats;
            let conn = &this.conn;
            let backoff = this.backoff;
            let page_size = this.target.page_size;
            let stall = &mut this.stall;
            let outcome = list_pages(
                conn,
                kind,
                ns.as_deref(),
                Filter::default(),
                page_size,
                backoff,
                stats,
                stall,
                |stats, items| {
                    let started = Instant::now();
                    let resources = ctx.convert(items);
                    stats.evaluating += started.elapsed();
                    on_page(stats, resources);
                },
            )
            .await;
            self.stats.on_owner += ctx.on_owner;
            if let Err(why) = outcome {
                self.cannot_read(kind, ns.as_deref(), &why);
            }
        }
    }

    fn convert(&mut self, kind: &Kind, items: Vec<Json>, dedup: bool) -> Vec<Resource> {
        let mut ctx = Convert {
            kind,
            dedup,
            label: self.label.clone(),
            tokens: None,
            owners: &mut self.owners,
            seen: &mut self.seen,
            on_owner: 0,
        };
        let out = ctx.convert(items);
        self.stats.on_owner += ctx.on_owner;
        out
    }

    async fn get(&mut self, kind: &Kind, name: &str) -> Option<Json> {
        let started = Instant::now();
        let url = DynamicObject::url_path(&kind.resource, None);
        let request = match Request::new(url).get(name, &kube::api::GetParams::default()) {
            Ok(r) => r,
            Err(e) => {
                self.cannot_read(kind, Some(name), &e);
                return None;
            }
        };
        self.stats.requests += 1;
        let out = self.conn.client.request::<Json>(request).await;
        self.stats.listing += started.elapsed();
        match out {
            Ok(item) => {
                self.stats.objects += 1;
                Some(item)
            }
            Err(e) => {
                let why = match pager::classify(&e) {
                    Failure::Retry(w) | Failure::Stop(w) => w,
                    Failure::Gone => "410 Gone".to_owned(),
                };
                self.cannot_read(kind, Some(name), &why);
                None
            }
        }
    }

    async fn list_raw_with(
        &mut self,
        kind: &Kind,
        ns: Option<&str>,
        filter: Filter<'_>,
        mut on_items: impl FnMut(Vec<Json>),
    ) {
        let outcome = list_pages(
            &self.conn,
            kind,
            ns,
            filter,
            self.target.page_size,
            self.backoff,
            &mut self.stats,
            &mut None,
            |_, items| on_items(items),
        )
        .await;
        if let Err(why) = outcome {
            self.cannot_read(kind, ns, &why);
        }
    }

    fn cannot_read(&mut self, kind: &Kind, ns: Option<&str>, why: &dyn std::fmt::Display) {
        self.cannot_read_for(kind, ns, why, "findings on them are missing");
    }

    /// Records a kind that could not be read, and what is missing because of it.
    fn cannot_read_for(
        &mut self,
        kind: &Kind,
        ns: Option<&str>,
        why: &dyn std::fmt::Display,
        missing: &str,
    ) {
        self.partial = true;
        let scope = match ns {
            Some(ns) if kind.namespaced => format!(" in namespace {ns}"),
            Some(name) => format!(" {name}"),
            None if kind.namespaced => " in all namespaces".to_owned(),
            None => String::new(),
        };
        self.diagnostics.push(Diagnostic::error(
            self.label.clone(),
            format!("could not read {}{scope}: {why}; {missing}", kind.display()),
        ));
    }
}

/// Narrows a list: a field selector, a label selector.
#[derive(Clone, Copy, Debug, Default)]
struct Filter<'a> {
    fields: Option<&'a str>,
    labels: Option<&'a str>,
}

/// Lists one kind (in one namespace, or everywhere) page by page, timing the waits.
#[allow(clippy::too_many_arguments)]
async fn list_pages(
    conn: &Connection,
    kind: &Kind,
    ns: Option<&str>,
    filter: Filter<'_>,
    page_size: u32,
    backoff: Backoff,
    stats: &mut Stats,
    stall: &mut Option<Duration>,
    mut on_items: impl FnMut(&mut Stats, Vec<Json>),
) -> Result<(), pager::ListError> {
    let url = DynamicObject::url_path(&kind.resource, ns);
    let limit = if page_size == 0 { 500 } else { page_size };
    let client = &conn.client;
    let secret = kind.is_secret();
    let waited = std::cell::Cell::new(Duration::ZERO);
    // Taken only when a second page is asked for; otherwise handed back for a later list.
    let pending_stall = std::cell::Cell::new(stall.take());
    let fetch = |token: Option<String>| {
        let url = url.clone();
        let waited = &waited;
        let stall = if token.is_some() {
            pending_stall.take()
        } else {
            None
        };
        async move {
            if let Some(pause) = stall {
                tokio::time::sleep(pause).await;
            }
            let started = Instant::now();
            let mut lp = ListParams::default().limit(limit);
            if let Some(t) = token {
                lp = lp.continue_token(&t);
            }
            if let Some(f) = filter.fields {
                lp = lp.fields(f);
            }
            if let Some(l) = filter.labels {
                lp = lp.labels(l);
            }
            let request = Request::new(url);
            let request = if secret {
                request.list_metadata(&lp)
            } else {
                request.list(&lp)
            }
            .map_err(|e| Failure::Stop(e.to_string()))?;
            let out = client.request::<Json>(request).await;
            waited.set(waited.get() + started.elapsed());
            let mut list = out.map_err(|e| pager::classify(&e))?;
            let next = list["metadata"]["continue"].as_str().map(str::to_owned);
            let items = match list.get_mut("items").map(Json::take) {
                Some(Json::Array(items)) => items,
                _ => Vec::new(),
            };
            Ok(Page { items, next })
        }
    };
    let mut objects = 0;
    let result = pager::list_all(fetch, backoff, |items| {
        objects += items.len();
        on_items(stats, items);
    })
    .await;
    *stall = pending_stall.take();
    stats.listing += waited.get();
    stats.objects += objects;
    let (Ok(s) | Err((_, s))) = &result;
    stats.requests += s.requests;
    stats.retries += s.retries;
    stats.restarts += s.restarts;
    result.map(|_| ()).map_err(|(why, _)| why)
}

/// Turns list items into resources: kind and apiVersion set (list items may lack them),
/// managed fields dropped, Secrets reduced to what may be kept, and with `dedup`, objects whose
/// controller was read skipped.
struct Convert<'a> {
    kind: &'a Kind,
    dedup: bool,
    label: Arc<str>,
    /// For Secrets: the uids of service-account token Secrets.
    tokens: Option<&'a HashSet<String>>,
    owners: &'a mut HashSet<String>,
    seen: &'a mut HashSet<String>,
    on_owner: usize,
}

impl Convert<'_> {
    fn convert(&mut self, items: Vec<Json>) -> Vec<Resource> {
        let mut out = Vec::with_capacity(items.len());
        for mut item in items {
            let uid = item["metadata"]["uid"].as_str().map(str::to_owned);
            if let Some(uid) = &uid {
                if !self.seen.insert(uid.clone()) {
                    continue; // replayed after a restarted list
                }
                if matches!(self.kind.stage, Stage::Owner | Stage::Owned) {
                    self.owners.insert(uid.clone());
                }
            }
            if self.dedup
                && matches!(self.kind.stage, Stage::Owned | Stage::Pod)
                && controller(&item).is_some_and(|owner| self.owners.contains(owner))
            {
                self.on_owner += 1;
                continue;
            }
            let Some(obj) = item.as_object_mut() else {
                continue;
            };
            obj.insert(
                "apiVersion".to_owned(),
                Json::String(self.kind.resource.api_version.clone()),
            );
            obj.insert(
                "kind".to_owned(),
                Json::String(self.kind.resource.kind.clone()),
            );
            if let Some(meta) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
                meta.remove("managedFields");
                if self.kind.is_secret() {
                    // `kubectl apply` copies the whole Secret, data included, into this annotation.
                    if let Some(a) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
                        a.remove("kubectl.kubernetes.io/last-applied-configuration");
                    }
                }
            }
            if self.kind.is_secret() {
                obj.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata"));
                if let (Some(tokens), Some(uid)) = (self.tokens, &uid)
                    && tokens.contains(uid)
                {
                    obj.insert(
                        "type".to_owned(),
                        Json::String("kubernetes.io/service-account-token".to_owned()),
                    );
                }
            }
            let source = Source {
                file: self.label.clone(),
                doc: 0,
                origin: None,
            };
            if let Ok(r) = Resource::from_node(Node::from_json(&item), source) {
                out.push(r);
            }
        }
        out
    }
}

/// The uid of an object's managing controller (`ownerReferences[].controller: true`).
fn controller(item: &Json) -> Option<&str> {
    item["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))?["uid"]
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(group: &str, version: &str, kind: &str, plural: &str, stage: Stage) -> Kind {
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Kind {
            resource: kube::discovery::ApiResource {
                group: group.to_owned(),
                version: version.to_owned(),
                api_version,
                kind: kind.to_owned(),
                plural: plural.to_owned(),
            },
            namespaced: true,
            stage,
        }
    }

    #[test]
    fn secrets_keep_only_metadata_without_the_applied_copy() {
        let secret = kind("", "v1", "Secret", "secrets", Stage::Other);
        let (mut owners, mut seen) = (HashSet::new(), HashSet::new());
        let tokens: HashSet<String> = ["u2".to_owned()].into();
        let mut convert = Convert {
            kind: &secret,
            dedup: true,
            label: Arc::from("cluster:test"),
            tokens: Some(&tokens),
            owners: &mut owners,
            seen: &mut seen,
            on_owner: 0,
        };
        let applied = r#"{"apiVersion":"v1","kind":"Secret","stringData":{"password":"hunter2"}}"#;
        let out = convert.convert(vec![
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                   "metadata": {"name": "db", "namespace": "a", "uid": "u1",
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied, "team": "x"}},
                   "data": {"password": "aHVudGVyMg=="}}),
            json!({"metadata": {"name": "tok", "namespace": "a", "uid": "u2"}}),
        ]);
        assert_eq!(out.len(), 2);
        let db = out[0].root.to_json();
        assert_eq!(db["kind"], "Secret");
        assert_eq!(db["apiVersion"], "v1");
        assert!(db.get("data").is_none(), "{db}");
        assert_eq!(db["metadata"]["annotations"], json!({"team": "x"}));
        assert!(!db.to_string().contains("hunter2"));
        assert!(db.get("type").is_none());
        assert_eq!(
            out[1].root.to_json()["type"],
            "kubernetes.io/service-account-token"
        );
    }

    #[test]
    fn owned_objects_are_skipped_only_when_their_controller_was_read() {
        let (mut owners, mut seen) = (HashSet::new(), HashSet::new());
        let deploy = kind("apps", "v1", "Deployment", "deployments", Stage::Owner);
        let rs = kind("apps", "v1", "ReplicaSet", "replicasets", Stage::Owned);
        let pod = kind("", "v1", "Pod", "pods", Stage::Pod);
        let owned_by = |uid: &str| json!([{"uid": uid, "controller": true}]);
        let mut run = |k: &Kind, items: Vec<Json>| {
            let mut c = Convert {
                kind: k,
                dedup: true,
                label: Arc::from("cluster:test"),
                tokens: None,
                owners: &mut owners,
                seen: &mut seen,
                on_owner: 0,
            };
            let names: Vec<String> = c
                .convert(items)
                .iter()
                .map(|r| r.name().to_owned())
                .collect();
            (names, c.on_owner)
        };
        assert_eq!(
            run(
                &deploy,
                vec![json!({"metadata": {"name": "d", "uid": "D"}})]
            )
            .0,
            ["d"]
        );
        let (names, skipped) = run(
            &rs,
            vec![
                json!({"metadata": {"name": "rs", "uid": "R", "ownerReferences": owned_by("D")}}),
                json!({"metadata": {"name": "orphan-rs", "uid": "R2", "ownerReferences": owned_by("gone")}}),
            ],
        );
        assert_eq!((names, skipped), (vec!["orphan-rs".to_owned()], 1));
        let (names, skipped) = run(
            &pod,
            vec![
                json!({"metadata": {"name": "p1", "uid": "P1", "ownerReferences": owned_by("R")}}),
                json!({"metadata": {"name": "p2", "uid": "P2", "ownerReferences": owned_by("R2")}}),
                json!({"metadata": {"name": "static", "uid": "P3",
                    "ownerReferences": [{"uid": "node", "kind": "Node", "controller": true}]}}),
                json!({"metadata": {"name": "p1", "uid": "P1"}}),
            ],
        );
        // p2's ReplicaSet was read (and reported, having no Deployment), so p2 is judged on it;
        // a replayed uid after a restarted list is dropped.
        assert_eq!((names, skipped), (vec!["static".to_owned()], 2));
    }
}
