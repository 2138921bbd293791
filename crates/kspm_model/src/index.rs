//! Cross-resource facts, built once per scan: which PodDisruptionBudgets, ServiceAccounts,
//! Namespaces... exist, so that a rule judging one object can consult the others.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::node::Node;
use crate::resource::Resource;

/// Kinds kept in the index: exactly those some rule looks up (a scan parses documents of these
/// kinds twice, once to build the index). Add a kind here when a rule starts consulting it.
/// Workloads are not kept: keeping every workload twice would double memory on big scans.
pub const INDEXED_KINDS: &[&str] = &[
    "ServiceAccount",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Namespace",
    "NetworkPolicy",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
];

/// Kinds the index knows by identity only: what workloads, Ingresses and routes refer to by
/// name. Their content is not kept (a ConfigMap's data can be large; a Secret's data is never
/// kept anywhere), only kind, namespace and name: [`Index::identity_only`] strips them.
pub const NAMED_KINDS: &[&str] = &["ConfigMap", "Secret", "Service"];

/// Objects by kind and namespace, and by name within them: lookups stay O(1) however many
/// objects a scan holds (a linear search here made 100k-resource scans quadratic).
#[derive(Debug, Default)]
#[allow(clippy::struct_field_names)] // two views of one set: by namespace, by name
pub struct Index<'a> {
    /// kind → namespace → objects. Nested rather than tuple-keyed so that lookups can borrow
    /// `&str` keys of any lifetime.
    by_namespace: HashMap<&'a str, HashMap<&'a str, Vec<&'a Resource>>>,
    /// kind → namespace → name → object.
    by_name: HashMap<&'a str, HashMap<&'a str, HashMap<&'a str, &'a Resource>>>,
    /// Facts derived from the indexed objects once per scan and shared by every rule (the RBAC
    /// model, the network model), keyed by their type. Built by the first rule that asks.
    derived: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// Kinds read whole (a live cluster, every namespace the scan covers): a missing name is
    /// missing, even in a namespace that holds no object of the kind.
    complete: Vec<String>,
    /// Every workload of the scan, once all were read ([`Index::set_workloads`]).
    workloads: Option<Vec<PodSource>>,
}

/// Facts an [`Index`] derived ([`Index::derived`]), kept beyond it ([`Index::derived_facts`]).
#[derive(Clone, Default)]
pub struct DerivedFacts(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl std::fmt::Debug for DerivedFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DerivedFacts({} facts)", self.0.len())
    }
}

impl DerivedFacts {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A workload as references see it: its kind and name, and the labels of its pods (a pod's
/// own, or its template's). Collected from every object with a pod spec while the scan judges
/// it, so that Services, NetworkPolicies and autoscalers can be judged once all are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSource {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Its pods use the node's network (`hostNetwork: true`): NetworkPolicies do not apply.
    pub host_network: bool,
}

/// Labels that controllers add to the pods they create, which no pod template carries: a
/// selector naming them is matched against a template as if the controller had added them.
pub const CONTROLLER_LABELS: &[&str] = &[
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-revision-hash",
    "pod-template-hash",
    "pod-template-generation",
    "job-name",
    "controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

impl PodSource {
    /// Whether a selector's `key` cannot be judged against this source: a label its
    /// controller adds to each pod (a Pod's own labels are all there is).
    pub fn added_by_controller(&self, key: &str) -> bool {
        self.is_template() && CONTROLLER_LABELS.contains(&key)
    }

    /// Whether this is a controller's pod template rather than a Pod.
    pub fn is_template(&self) -> bool {
        self.kind != "Pod"
    }

    /// The workload `r` is, if it has a pod spec (any kind: custom workloads too).
    pub fn of(r: &Resource) -> Option<Self> {
        let pod = crate::view::pod_specs(r).into_iter().next()?;
        let labels = pod
            .meta
            .and_then(|m| m.get("labels"))
            .and_then(Node::as_map)
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_owned())))
            .collect();
        Some(Self {
            kind: r.kind().to_owned(),
            namespace: ns_of(r).to_owned(),
            name: r.name().to_owned(),
            labels,
            host_network: pod.get("hostNetwork").and_then(Node::as_bool) == Some(true),
        })
    }
}

/// Objects are kept by [`Resource::join_namespace`]: their namespace, `""` when cluster-scoped,
/// and a namespace of their own per directory when their file names none (not `default`).
fn ns_of(r: &Resource) -> &str {
    r.join_namespace()
}

impl<'a> Index<'a> {
    pub fn build(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut index = Self::default();
        for r in resources {
            if Self::indexes(r.kind()) {
                index
                    .by_namespace
                    .entry(r.kind())
                    .or_default()
                    .entry(ns_of(r))
                    .or_default()
                    .push(r);
                index
                    .by_name
                    .entry(r.kind())
                    .or_default()
                    .entry(ns_of(r))
                    .or_default()
                    .entry(r.name())
                    .or_insert(r);
            }
        }
        index
    }

    /// Whether the index keeps objects of this kind, whole or by identity only.
    pub fn indexes(kind: &str) -> bool {
        INDEXED_KINDS.contains(&kind) || NAMED_KINDS.contains(&kind)
    }

    /// Reduces an object of a [`NAMED_KINDS`] kind to its identity (kind, namespace, name),
    /// which is all the index keeps of it; other objects are left as they are.
    pub fn identity_only(r: &mut Resource) {
        if NAMED_KINDS.contains(&r.kind()) {
            r.root = Node::from_json(&serde_json::Value::Object(serde_json::Map::new()));
        }
    }

    /// Records that every object of `kind` was read (a live cluster): references to the kind
    /// are then judged in every namespace.
    pub fn mark_complete(&mut self, kind: &str) {
        if !self.complete.iter().any(|k| k == kind) {
            self.complete.push(kind.to_owned());
        }
    }

    /// Whether a reference to an object of `kind` in `namespace` can be judged: the kind was
    /// read whole (a live cluster), or the scan holds at least one object of the kind in that
    /// namespace. Files often refer to objects created elsewhere (by another chart, an
    /// operator, a secret manager); a scan that holds none of a namespace's objects of a kind
    /// says nothing about them.
    pub fn holds(&self, kind: &str, namespace: Option<&str>) -> bool {
        self.complete(kind) || self.in_namespace(kind, namespace).next().is_some()
    }

    /// Hands the index every workload of the scan; until then [`Index::workloads`] is `None`
    /// and the rules that need them wait.
    pub fn set_workloads(&mut self, mut workloads: Vec<PodSource>) {
        workloads.sort_by(|a, b| {
            (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name))
        });
        self.workloads = Some(workloads);
    }

    /// The workloads of a namespace, once every workload of the scan is known.
    pub fn workloads(&self, namespace: Option<&str>) -> Option<impl Iterator<Item = &PodSource>> {
        // `None` is cluster scope, as for every other lookup: no workload lives there.
        let ns = namespace.unwrap_or("");
        // Sorted by namespace (`set_workloads`): a range, not a walk over every workload of
        // the scan for each question.
        self.workloads.as_ref().map(move |w| {
            let start = w.partition_point(|p| p.namespace.as_str() < ns);
            let len = w[start..].partition_point(|p| p.namespace == ns);
            w[start..start + len].iter()
        })
    }

    /// Whether a reference to a workload of `kind` (`None`: any pod) in `namespace` can be
    /// judged: every Pod was read (a live cluster: controllers are read before their pods), or
    /// the scan holds a workload of that kind in the namespace.
    pub fn holds_workloads(&self, kind: Option<&str>, namespace: Option<&str>) -> bool {
        let complete = match kind {
            None => self.complete("Pod"),
            Some(k) => self.complete(k),
        };
        complete
            || self
                .workloads(namespace)
                .is_some_and(|mut w| w.any(|p| kind.is_none_or(|k| p.kind == k)))
    }

    /// Whether every object of `kind` was read ([`Index::mark_complete`]).
    pub fn complete(&self, kind: &str) -> bool {
        self.complete.iter().any(|k| k == kind)
    }

    /// Objects of a kind in a namespace, as [`Resource::join_namespace`] names it (`None`
    /// means cluster-scoped).
    pub fn in_namespace(
        &self,
        kind: &str,
        namespace: Option<&str>,
    ) -> std::iter::Copied<std::slice::Iter<'_, &'a Resource>> {
        self.by_namespace
            .get(kind)
            .and_then(|m| m.get(namespace.unwrap_or("")))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
    }

    /// Every object of a kind, in every namespace.
    pub fn all(&self, kind: &str) -> impl Iterator<Item = &'a Resource> + '_ {
        self.by_namespace
            .get(kind)
            .into_iter()
            .flat_map(HashMap::values)
            .flatten()
            .copied()
    }

    /// Every indexed object.
    pub fn resources(&self) -> impl Iterator<Item = &'a Resource> + '_ {
        self.by_namespace
            .values()
            .flat_map(HashMap::values)
            .flatten()
            .copied()
    }

    /// A fact computed once from the index and shared: the first caller builds it, later
    /// callers (on any thread) get the same value. `T` names the fact.
    pub fn derived<T: Any + Send + Sync>(&self, build: impl FnOnce(&Self) -> T) -> Arc<T> {
        let mut cache = self
            .derived
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = cache
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(build(self)))
            .clone();
        value.downcast::<T>().expect("keyed by its type")
    }

    /// The facts derived so far, to hand to the next index built over the same indexed
    /// objects ([`Index::reuse`]).
    pub fn derived_facts(&self) -> DerivedFacts {
        DerivedFacts(
            self.derived
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }

    /// Starts with `facts`, derived by an index over exactly the same objects of the indexed
    /// kinds (only then are they still true): a long-running judge (the agent) re-judges a few
    /// objects at a time and need not derive the RBAC or network model again each time.
    pub fn reuse(&self, facts: DerivedFacts) {
        *self
            .derived
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = facts.0;
    }

    /// The object of a kind and name in a namespace, as [`Resource::join_namespace`] names it
    /// (`None` means cluster-scoped).
    pub fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&'a Resource> {
        self.by_name
            .get(kind)?
            .get(namespace.unwrap_or(""))?
            .get(name)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Index;

    #[test]
    fn derived_facts_carry_over_to_an_index_that_reuses_them() {
        struct Count(usize);
        let first = Index::build(std::iter::empty());
        assert_eq!(first.derived(|_| Count(1)).0, 1);
        let facts = first.derived_facts();
        assert_eq!(facts.len(), 1);
        let second = Index::build(std::iter::empty());
        second.reuse(facts);
        assert_eq!(
            second.derived(|_| Count(2)).0,
            1,
            "reused, not derived again"
        );
        let fresh = Index::build(std::iter::empty());
        assert_eq!(fresh.derived(|_| Count(3)).0, 3);
    }
    use crate::yaml::{Limits, parse_stream};
    use crate::{Resource, Source};

    fn resources(text: &str) -> Vec<Resource> {
        let (docs, errors) = parse_stream(text, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        docs.into_iter()
            .map(|d| {
                let source = Source {
                    file: "t.yaml".into(),
                    doc: d.index,
                    origin: None,
                };
                Resource::from_node(d.root, source).unwrap()
            })
            .collect()
    }

    #[test]
    fn named_kinds_keep_their_identity_only() {
        let mut rs = resources(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata: {password: aHVudGVyMg==}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: shop}\n",
        );
        rs.iter_mut().for_each(Index::identity_only);
        assert!(rs[0].root.get("data").is_none(), "no Secret data is kept");
        assert!(rs[1].root.get("data").is_none());
        assert!(
            rs[2].root.get("metadata").is_some(),
            "whole kinds are untouched"
        );
        let mut index = Index::build(&rs);
        assert!(index.find("Secret", Some("shop"), "db").is_some());
        // A namespace-less object is found under its join namespace, not cluster scope.
        assert!(index.find("ConfigMap", None, "settings").is_none());
        assert!(
            index
                .find("ConfigMap", Some(rs[1].join_namespace()), "settings")
                .is_some()
        );
        // Files: judged only where the scan holds objects of the kind.
        assert!(index.holds("Secret", Some("shop")));
        assert!(!index.holds("Secret", Some("other")));
        assert!(!index.holds("Service", None));
        // Live: a kind read whole is judged everywhere.
        index.mark_complete("Service");
        assert!(index.holds("Service", Some("anywhere")));
        assert!(index.complete("Service") && !index.complete("Secret"));
    }
}
