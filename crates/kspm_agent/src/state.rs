//! What the agent holds of the cluster: every watched object, by kind and uid, as the last
//! event (or list) left it. The kinds every judgement consults through the cross-resource index
//! are held as the rules' resources (converted once per change, not once per judgement); every
//! other object as its compact JSON text, converted only when its namespace is judged (see
//! [`Body`]). Judging reads only this, never the server, so a burst of changes to one object
//! costs one judgement of its last state, and a judgement of one namespace costs that
//! namespace's conversion and checks plus the index of the rest.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use kspm_cluster::live::{self, Role, Session};
use kspm_engine::{Evaluation, ScanOptions, ScanResult};
use kspm_model::index::{INDEXED_KINDS, NAMED_KINDS};
use kspm_model::{DerivedFacts, Diagnostic, Finding, Index, Resource, ResourceId};
use rayon::prelude::*;
use serde_json::Value as Json;

/// One object held: its body (see [`Body`]) and what the watch bookkeeping needs without it,
/// in as few bytes as it takes (a cluster has hundreds of thousands of objects).
#[derive(Debug)]
struct Entry {
    body: Body,
    version: Option<Box<str>>,
    /// Shared by the objects of a namespace ([`Held::namespaces`]).
    namespace: Option<Arc<str>>,
    /// The uid of the object's controller (an owner reference with `controller: true`).
    controller: Option<Box<str>>,
}

/// What is held of an object, in the least memory that keeps judgements cheap.
///
/// Most objects of a cluster (workloads, pods, ConfigMaps, Services...) are read only when
/// their own namespace is judged, so they are kept as their compact JSON text, LZ4-compressed,
/// and turned into the rules' resource for that judgement alone: a fraction of the memory of
/// the converted tree, for some microseconds per object judged. The kinds the cross-resource
/// index holds whole (namespaces, service accounts, RBAC, network policies...) are consulted by
/// every judgement, so they stay converted.
#[derive(Debug)]
enum Body {
    /// Not judged: a policy object (held only to be counted), or what could not be read as a
    /// resource.
    Nothing,
    /// Kept converted: a kind the index holds whole ([`INDEXED_KINDS`]). Shared, as the text
    /// below, with the analyses computed beside the judgements ([`AnalysesInput`]).
    Resource(Arc<Resource>),
    /// Kept as JSON text (LZ4-compressed), converted when judged. `identity`: for the kinds
    /// the index knows by name only ([`NAMED_KINDS`]), the object reduced to its identity,
    /// which is all a judgement of another namespace consults of it.
    Text {
        json: Arc<[u8]>,
        identity: Option<Box<Resource>>,
    },
}

impl Body {
    /// The body of `object` held as `label`'s, by its kind.
    fn new(object: &Json, label: &Arc<str>) -> Self {
        let kind = object["kind"].as_str().unwrap_or_default();
        let identity = if INDEXED_KINDS.contains(&kind) || NAMED_KINDS.contains(&kind) {
            let Some(mut resource) = live::resource(object, label) else {
                return Body::Nothing;
            };
            if INDEXED_KINDS.contains(&kind) {
                return Body::Resource(Arc::new(resource));
            }
            Index::identity_only(&mut resource);
            Some(Box::new(resource))
        } else {
            // Not converted here (what does not read as a resource is left out when judged):
            // the tree would be garbage among the long-lived texts.
            None
        };
        match serde_json::to_vec(object) {
            Ok(json) => Body::Text {
                json: Arc::from(lz4_flex::block::compress_prepend_size(&json)),
                identity,
            },
            Err(_) => Body::Nothing,
        }
    }

    /// The resource held converted, if it is.
    fn resource(&self) -> Option<&Resource> {
        match self {
            Body::Resource(r) => Some(&**r),
            _ => None,
        }
    }

    /// Whether the index holds objects of this body's kind (or the kind is unknown).
    fn indexed(&self) -> bool {
        match self {
            Body::Nothing => true,
            Body::Resource(r) => Index::indexes(r.kind()),
            Body::Text { identity, .. } => identity.is_some(),
        }
    }
}

/// The resources of bodies kept as text, converted in parallel; what does not read as a
/// resource (an object without kind or name) is left out.
fn convert_all<'a>(texts: impl IntoIterator<Item = &'a [u8]>, label: &Arc<str>) -> Vec<Resource> {
    let texts: Vec<&[u8]> = texts.into_iter().collect();
    texts
        .par_iter()
        .filter_map(|json| convert(json, label))
        .collect()
}

/// The resource of a body kept as text; `None` if the text does not read as one.
fn convert(json: &[u8], label: &Arc<str>) -> Option<Resource> {
    let json = lz4_flex::block::decompress_size_prepended(json).ok()?;
    let object: Json = serde_json::from_slice(&json).ok()?;
    live::resource(&object, label)
}

impl Entry {
    /// `judged`: whether the object is judged (policy objects are held only to be counted);
    /// `namespaces`: the names shared by the objects held.
    fn new(
        object: &Json,
        label: &Arc<str>,
        judged: bool,
        namespaces: &mut HashSet<Arc<str>>,
    ) -> Self {
        let text = |v: &Json| v.as_str().map(Box::from);
        let namespace = object["metadata"]["namespace"].as_str().map(|ns| {
            if let Some(shared) = namespaces.get(ns) {
                shared.clone()
            } else {
                let shared: Arc<str> = Arc::from(ns);
                namespaces.insert(shared.clone());
                shared
            }
        });
        Self {
            body: if judged {
                Body::new(object, label)
            } else {
                Body::Nothing
            },
            version: text(&object["metadata"]["resourceVersion"]),
            namespace,
            controller: live::controller_of(object).map(Box::from),
        }
    }
}

/// Everything held, as the analyses read it: taken in the judging loop (reference counts
/// only), converted and analysed on a blocking thread while judgements go on.
#[derive(Debug)]
pub struct AnalysesInput {
    label: Arc<str>,
    kept: Vec<Arc<Resource>>,
    texts: Vec<Arc<[u8]>>,
}

impl AnalysesInput {
    /// The analyses' documents (CPU-bound: every object held kept as text is converted).
    pub fn documents(self) -> Vec<(kspm_store::AnalysisKind, Json)> {
        let converted = convert_all(self.texts.iter().map(|t| &**t), &self.label);
        let all: Vec<&Resource> = self.kept.iter().map(|r| &**r).chain(&converted).collect();
        crate::analyses::documents(&all)
    }
}

/// Objects of every watched kind, keyed by uid.
#[derive(Debug, Default)]
pub struct Held {
    /// The source every resource is labelled with (the cluster).
    label: Arc<str>,
    kinds: Vec<HashMap<Box<str>, Entry>>,
    /// The namespaces of the objects held, each name allocated once.
    namespaces: HashSet<Arc<str>>,
    /// What each kind is to the judgement.
    roles: Vec<Role>,
    /// Kinds that could not be listed or watched: the judgement is partial without them.
    failed: Vec<Option<String>>,
    /// What changed since the last judgement.
    touched: Touched,
    /// What the last judgement's index derived (the RBAC model and escalation graph, the
    /// network policies...), reused while no object the index holds has changed.
    facts: Option<DerivedFacts>,
    /// Whether an object of a kind the index holds ([`Index::indexes`]) changed since.
    index_changed: bool,
}

/// What the changes since the last judgement can affect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Touched {
    #[default]
    Nothing,
    /// Only objects of these namespaces: a namespaced object that no other object's judgement
    /// consults across namespaces changed (a workload, a Service, a ConfigMap, an Ingress...).
    Namespaces(BTreeSet<String>),
    /// Anything: a kind other objects are judged against (namespaces, service accounts, RBAC,
    /// network policies, disruption budgets, autoscalers), a cluster-scoped object, a relist.
    All,
}

impl Touched {
    fn add(&mut self, namespace: Option<&str>, context: bool) {
        match (namespace, context, &mut *self) {
            (_, _, Touched::All) => {}
            (Some(ns), false, Touched::Namespaces(set)) => {
                set.insert(ns.to_owned());
            }
            (Some(ns), false, Touched::Nothing) => {
                *self = Touched::Namespaces([ns.to_owned()].into());
            }
            _ => *self = Touched::All,
        }
    }
}

/// The last judgement: its findings and the objects it judged, handed to the next store sync
/// (then dropped: the store keeps them, so memory does not hold the cluster's findings twice),
/// and what the agent keeps of every judgement so far: open findings counted by namespace and
/// severity (the metrics), and the findings unattended remediation may act on.
#[derive(Debug, Default)]
pub struct Judged {
    /// Findings of the last judgement (of everything, or of the namespaces in `scope`).
    pub findings: Vec<Finding>,
    pub objects: Vec<Arc<ResourceId>>,
    pub rules: Vec<&'static str>,
    /// Whether every kind was read (no kind failed, no error diagnostic).
    pub complete: bool,
    /// Open (not suppressed) findings by namespace (`None`: cluster-scoped objects), counted
    /// by severity in the order of `Severity::ALL`.
    open: BTreeMap<Option<String>, [u64; 5]>,
    /// Of every judgement so far: the findings `remediable` keeps (see [`Held::judge_into`]).
    pub remediable: Vec<Finding>,
}

fn inside(namespaces: &BTreeSet<String>, id: &ResourceId) -> bool {
    id.namespace
        .as_ref()
        .is_some_and(|ns| namespaces.contains(ns))
}

impl Judged {
    fn replace(&mut self, result: ScanResult) {
        self.complete = !result.partial && !result.has_errors();
        self.objects = result.scanned.into_iter().map(|s| s.id).collect();
        self.rules = result.rules.iter().map(|r| r.meta.code).collect();
        self.findings = result.findings;
    }

    /// A judgement of everything.
    fn whole(result: ScanResult, remediable: &dyn Fn(&Finding) -> bool) -> Self {
        let mut judged = Judged::default();
        judged.replace(result);
        judged.keep(remediable);
        judged
    }

    /// A judgement of `namespaces` only: what was kept of them is replaced.
    fn merge(
        &mut self,
        namespaces: &BTreeSet<String>,
        fresh: ScanResult,
        remediable: &dyn Fn(&Finding) -> bool,
    ) {
        self.replace(fresh);
        // Only their objects' findings: a whole judgement owns the rest.
        self.findings.retain(|f| inside(namespaces, &f.resource));
        self.objects.retain(|id| inside(namespaces, id));
        self.open
            .retain(|ns, _| ns.as_ref().is_none_or(|ns| !namespaces.contains(ns)));
        self.remediable.retain(|f| !inside(namespaces, &f.resource));
        self.keep(remediable);
    }

    /// Counts the last judgement's open findings and keeps those `remediable` wants.
    fn keep(&mut self, remediable: &dyn Fn(&Finding) -> bool) {
        for f in &self.findings {
            if f.suppressed.is_none()
                && let Some(i) = kspm_model::Severity::ALL
                    .iter()
                    .position(|s| *s == f.severity)
            {
                self.open.entry(f.resource.namespace.clone()).or_default()[i] += 1;
            }
            if remediable(f) {
                self.remediable.push(f.clone());
            }
        }
    }

    /// Open findings by severity, of everything judged so far.
    pub fn open_by_severity(&self) -> [u64; 5] {
        let mut total = [0; 5];
        for counts in self.open.values() {
            for (t, n) in total.iter_mut().zip(counts) {
                *t += n;
            }
        }
        total
    }

    /// Forgets the last judgement's findings and objects once the store has them.
    pub fn stored(&mut self) {
        self.findings = Vec::new();
        self.objects = Vec::new();
    }
}

/// How many findings of a whole judgement (`full`) the stored open and suppressed ones
/// (`stored`) lack, and the other way round: what the judgements of single namespaces missed.
pub fn difference(full: &ScanResult, stored: &[kspm_store::FindingRecord]) -> usize {
    let judged: HashSet<(String, String, String, bool)> = full
        .findings
        .iter()
        .map(|f| {
            (
                f.code.to_owned(),
                kspm_store::ObjectRef::from(&*f.resource).key(),
                f.path.to_string(),
                f.suppressed.is_some(),
            )
        })
        .collect();
    let kept: HashSet<(String, String, String, bool)> = stored
        .iter()
        .filter(|r| r.status != kspm_store::Status::Resolved)
        .map(|r| {
            (
                r.rule.clone(),
                r.object_key(),
                r.path.clone(),
                r.status == kspm_store::Status::Suppressed,
            )
        })
        .collect();
    judged.symmetric_difference(&kept).count()
}

fn uid(o: &Json) -> Option<&str> {
    o["metadata"]["uid"].as_str()
}

impl Held {
    pub fn new(roles: Vec<Role>, label: Arc<str>) -> Self {
        let kinds = roles.len();
        Self {
            label,
            kinds: (0..kinds).map(|_| HashMap::new()).collect(),
            roles,
            namespaces: HashSet::new(),
            failed: vec![None; kinds],
            touched: Touched::All,
            facts: None,
            index_changed: true,
        }
    }

    /// A kind added after the start (a Gatekeeper constraint kind created since); its objects
    /// come with [`Held::replace`].
    pub fn add_kind(&mut self, role: Role) -> usize {
        self.kinds.push(HashMap::new());
        self.roles.push(role);
        self.failed.push(None);
        self.kinds.len() - 1
    }

    /// Whether other objects' judgements consult objects of this kind across namespaces (then
    /// every object is re-judged).
    fn context(&self, kind: usize) -> bool {
        matches!(self.roles[kind], Role::Context | Role::Policy)
    }

    fn entry(&mut self, kind: usize, object: &Json) -> Entry {
        let judged = self.roles[kind] != Role::Policy;
        Entry::new(object, &self.label, judged, &mut self.namespaces)
    }

    fn note_index(&mut self, entry: &Entry) {
        if entry.body.indexed() {
            self.index_changed = true;
        }
    }

    pub fn apply(&mut self, kind: usize, object: &Json) {
        if let Some(uid) = uid(object) {
            let entry = self.entry(kind, object);
            let context = self.context(kind);
            self.touched.add(entry.namespace.as_deref(), context);
            self.note_index(&entry);
            if let Some(old) = self.kinds[kind].insert(Box::from(uid), entry) {
                self.note_index(&old);
            }
        }
    }

    pub fn delete(&mut self, kind: usize, uid: &str) {
        let context = self.context(kind);
        if let Some(old) = self.kinds[kind].remove(uid) {
            self.touched.add(old.namespace.as_deref(), context);
            self.note_index(&old);
        }
    }

    /// Makes the next judgement judge everything.
    pub fn touch_all(&mut self) {
        self.touched = Touched::All;
    }

    /// Replaces every object of `kind` by `objects` (a fresh list); returns how many objects
    /// differ (added, removed, or at another resourceVersion) from what was held. Objects at
    /// the version held are kept as they are (not converted again).
    pub fn replace(&mut self, kind: usize, objects: &[Json]) -> usize {
        let mut old = std::mem::take(&mut self.kinds[kind]);
        let mut fresh: HashMap<Box<str>, Entry> = HashMap::with_capacity(objects.len());
        let mut changed = 0;
        for o in objects {
            let Some(uid) = uid(o) else { continue };
            let version = o["metadata"]["resourceVersion"].as_str();
            let entry = match old.remove(uid) {
                Some(held) if held.version.as_deref() == version => held,
                _ => {
                    changed += 1;
                    self.entry(kind, o)
                }
            };
            fresh.insert(Box::from(uid), entry);
        }
        let removed = old.len();
        self.kinds[kind] = fresh;
        self.failed[kind] = None;
        if changed + removed > 0 {
            self.touched = Touched::All;
            self.index_changed = true;
        }
        changed + removed
    }

    pub fn fail(&mut self, kind: usize, why: String) {
        self.failed[kind] = Some(why);
        self.touched = Touched::All;
        self.index_changed = true;
    }

    pub fn objects(&self) -> usize {
        self.kinds.iter().map(HashMap::len).sum()
    }

    /// Judges what changed since the last judgement into `last` (everything when there is no
    /// last judgement or when `Touched::All`), forgets what changed, and returns what was judged
    /// (`Touched::Nothing` when nothing was).
    ///
    /// `remediable`: the findings kept across judgements for unattended remediation.
    pub fn judge_into(
        &mut self,
        last: &mut Option<Judged>,
        session: &Session,
        opts: &ScanOptions,
        remediable: &dyn Fn(&Finding) -> bool,
    ) -> Touched {
        let touched = std::mem::take(&mut self.touched);
        let facts = if self.index_changed {
            None
        } else {
            self.facts.take()
        };
        let (scope, facts) = match (touched, last.as_mut()) {
            (Touched::Nothing, Some(_)) => (Touched::Nothing, facts),
            (Touched::Namespaces(namespaces), Some(judged)) => {
                let (fresh, facts) = self.judge_reusing(session, opts, Some(&namespaces), facts);
                judged.merge(&namespaces, fresh, remediable);
                (Touched::Namespaces(namespaces), Some(facts))
            }
            _ => {
                let (fresh, facts) = self.judge_reusing(session, opts, None, facts);
                *last = Some(Judged::whole(fresh, remediable));
                (Touched::All, Some(facts))
            }
        };
        self.facts = facts;
        self.index_changed = false;
        scope
    }

    /// Judges everything held (or, with `only`, the objects of those namespaces, against every
    /// object held), as `kspm scan --cluster` judges a cluster: controllers hide what they own,
    /// context kinds feed the index, services and autoscalers are judged once every workload is
    /// known. Nothing is copied: the resources judged and consulted are borrowed.
    pub fn judge(
        &self,
        session: &Session,
        opts: &ScanOptions,
        only: Option<&BTreeSet<String>>,
    ) -> ScanResult {
        self.judge_reusing(session, opts, only, None).0
    }

    /// Every object a judgement reads: what controllers own is left to its owner.
    fn entries(&self) -> Vec<&Entry> {
        let mut owners: HashSet<&str> = HashSet::new();
        for (k, objects) in self.kinds.iter().enumerate() {
            if matches!(self.roles[k], Role::Owner | Role::Owned) {
                owners.extend(objects.keys().map(|uid| &**uid));
            }
        }
        let mut out = Vec::with_capacity(self.objects());
        for (k, objects) in self.kinds.iter().enumerate() {
            let owned = matches!(self.roles[k], Role::Owned | Role::Pod);
            for entry in objects.values() {
                if owned
                    && entry
                        .controller
                        .as_deref()
                        .is_some_and(|c| owners.contains(c))
                {
                    continue;
                }
                if !matches!(entry.body, Body::Nothing) {
                    out.push(entry);
                }
            }
        }
        out
    }

    /// The resources of the objects kept as text among `entries`, converted.
    fn convert(&self, entries: &[&Entry]) -> Vec<Resource> {
        let texts = entries.iter().filter_map(|e| match &e.body {
            Body::Text { json, .. } => Some(&**json),
            _ => None,
        });
        convert_all(texts, &self.label)
    }

    /// What the cluster-wide analyses (RBAC escalation paths, exposed workloads) read of
    /// everything held, shared rather than copied, so that they can be computed beside the
    /// judgements ([`AnalysesInput::documents`]).
    pub fn analyses_input(&self) -> AnalysesInput {
        let mut input = AnalysesInput {
            label: self.label.clone(),
            kept: Vec::new(),
            texts: Vec::new(),
        };
        for entry in self.entries() {
            match &entry.body {
                Body::Resource(r) => input.kept.push(r.clone()),
                Body::Text { json, .. } => input.texts.push(json.clone()),
                Body::Nothing => {}
            }
        }
        input
    }

    /// [`Held::judge`], starting from `facts` derived by an earlier judgement over the same
    /// indexed objects; returns what this judgement's index derived too.
    fn judge_reusing(
        &self,
        session: &Session,
        opts: &ScanOptions,
        only: Option<&BTreeSet<String>>,
        facts: Option<DerivedFacts>,
    ) -> (ScanResult, DerivedFacts) {
        let inventory = opts.policies.as_ref().is_some_and(|p| p.wants_inventory());
        // With `only`, the objects judged come first and the rest is consulted through the
        // index: of those, only the kinds it holds, and of the kinds it knows by name only their
        // identity (unless cross-resource policies see every object: then all are converted).
        let in_scope = |namespace: Option<&str>| {
            only.is_none_or(|namespaces| namespace.is_some_and(|ns| namespaces.contains(ns)))
        };
        let (judged_entries, consulted_entries): (Vec<&Entry>, Vec<&Entry>) =
            self.entries().into_iter().partition(|e| match &e.body {
                Body::Resource(r) => in_scope(r.namespace()),
                _ => in_scope(e.namespace.as_deref()),
            });
        let converted = self.convert(&judged_entries);
        let consulted_converted = if inventory {
            self.convert(&consulted_entries)
        } else {
            Vec::new()
        };
        let judged: Vec<&Resource> = judged_entries
            .iter()
            .filter_map(|e| e.body.resource())
            .chain(&converted)
            .collect();
        let consulted: Vec<&Resource> = if inventory {
            consulted_entries
                .iter()
                .filter_map(|e| e.body.resource())
                .chain(&consulted_converted)
                .collect()
        } else {
            consulted_entries
                .iter()
                .filter_map(|e| match &e.body {
                    Body::Resource(r) => Some(&**r),
                    Body::Text { identity, .. } => identity.as_deref(),
                    Body::Nothing => None,
                })
                .collect()
        };
        let mut diagnostics = Vec::new();
        let mut index = Index::build(judged.iter().chain(&consulted).copied());
        if let Some(facts) = facts {
            index.reuse(facts);
        }
        for (k, failed) in self.failed.iter().enumerate() {
            match failed {
                None => index.mark_complete(&session.kind_kind(k)),
                Some(why) => diagnostics.push(Diagnostic::error(
                    self.label.clone(),
                    format!(
                        "could not read {}: {why}; findings on them are missing",
                        session.kind_name(k)
                    ),
                )),
            }
        }
        let mut eval = if inventory {
            // Cross-resource policies see every object: the one place a copy is made.
            let all: Vec<Resource> = judged
                .iter()
                .chain(&consulted)
                .map(|r| (*r).clone())
                .collect();
            Evaluation::with_inventory(opts, &all)
        } else {
            Evaluation::new(opts)
        };
        eval.learn_rbac(&index);
        eval.check(&judged, &index, &opts.settings);
        eval.after_workloads(&mut index, &opts.settings);
        let facts = index.derived_facts();
        let partial = self.failed.iter().any(Option::is_some);
        let mut result = eval.finish(opts, diagnostics, 1);
        result.partial = partial;
        (result, facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_namespaced_change_touches_its_namespace_and_a_context_change_everything() {
        let mut held = Held::new(vec![Role::Other, Role::Context], Arc::from("test"));
        held.touched = Touched::Nothing;
        let in_ns = |uid: &str, ns: &str| json!({"metadata": {"uid": uid, "namespace": ns}});
        held.apply(0, &in_ns("a", "x"));
        held.apply(0, &in_ns("b", "y"));
        assert_eq!(
            &held.touched,
            &Touched::Namespaces(["x".to_owned(), "y".to_owned()].into())
        );
        held.touched = Touched::Nothing;
        held.delete(0, "a");
        assert_eq!(&held.touched, &Touched::Namespaces(["x".to_owned()].into()));
        held.apply(1, &in_ns("c", "x"));
        assert_eq!(&held.touched, &Touched::All);
        held.touched = Touched::Nothing;
        held.apply(0, &json!({"metadata": {"uid": "node-scoped"}}));
        assert_eq!(&held.touched, &Touched::All, "cluster-scoped");
        held.touched = Touched::Nothing;
        held.delete(0, "never-held");
        assert_eq!(&held.touched, &Touched::Nothing);
    }

    #[test]
    fn objects_are_held_converted_only_when_every_judgement_consults_them() {
        let label: Arc<str> = Arc::from("cluster:test");
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "d1", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": true}}
            ]}}}
        });
        let body = Body::new(&deployment, &label);
        let Body::Text {
            json,
            identity: None,
        } = &body
        else {
            panic!("a Deployment is held as text: {body:?}");
        };
        // Converted back, it is the resource a direct conversion gives, field for field.
        let direct = live::resource(&deployment, &label).unwrap();
        let again = convert(json, &label).unwrap();
        assert_eq!(again.root, direct.root);
        assert_eq!(again.id, direct.id);
        assert!(!body.indexed());

        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop", "uid": "c1"}, "data": {"a": "b"}});
        let body = Body::new(&config, &label);
        let Body::Text {
            identity: Some(identity),
            ..
        } = &body
        else {
            panic!("a ConfigMap is held as text with its identity: {body:?}");
        };
        assert_eq!(identity.name(), "settings");
        assert!(identity.root.get("data").is_none(), "identity only");
        assert!(body.indexed());

        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "web", "namespace": "shop", "uid": "s1"}});
        let body = Body::new(&account, &label);
        assert!(matches!(&body, Body::Resource(r) if r.kind() == "ServiceAccount"));
        assert!(body.indexed());

        // Without a kind and name it is no resource: held, but never judged.
        let nothing = json!({"metadata": {"uid": "x"}});
        let Body::Text {
            json,
            identity: None,
        } = Body::new(&nothing, &label)
        else {
            panic!("held as text");
        };
        assert!(convert(&json, &label).is_none());
        let nameless = json!({"kind": "ServiceAccount", "metadata": {"uid": "y"}});
        assert!(matches!(Body::new(&nameless, &label), Body::Nothing));
    }

    fn obj(uid: &str, rv: &str) -> Json {
        json!({"metadata": {"uid": uid, "resourceVersion": rv, "name": uid}})
    }

    #[test]
    fn a_relist_counts_what_the_watch_missed() {
        let mut held = Held::new(vec![Role::Other], Arc::from("test"));
        held.apply(0, &obj("a", "1"));
        held.apply(0, &obj("b", "1"));
        held.apply(0, &obj("c", "1"));
        assert_eq!(
            held.replace(0, &[obj("a", "1"), obj("b", "1"), obj("c", "1")]),
            0
        );
        // b changed, c was deleted and d created while nobody watched.
        assert_eq!(
            held.replace(0, &[obj("a", "1"), obj("b", "2"), obj("d", "3")]),
            3
        );
        assert_eq!(held.objects(), 3);
        held.delete(0, "a");
        assert_eq!(held.objects(), 2);
    }
}
