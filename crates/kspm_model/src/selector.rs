//! Label selectors, once, with Kubernetes' semantics: `matchLabels` and `matchExpressions`
//! (`In`, `NotIn`, `Exists`, `DoesNotExist`), all requirements ANDed.
//!
//! Every crate judges selectors through [`LabelSelector`]. What an *empty* or *missing* selector
//! means depends on the API that holds it, so that rule stays with the caller, stated where it
//! applies:
//!
//! | Field | Missing | Empty (`{}`) |
//! |---|---|---|
//! | `Deployment`/`StatefulSet`/`DaemonSet`/`Job` `spec.selector` | (invalid in apps/v1) nothing | everything |
//! | `PodDisruptionBudget.spec.selector` (policy/v1) | nothing | every pod of the namespace |
//! | `NetworkPolicy.spec.podSelector`, peers' `podSelector`/`namespaceSelector` | see kspm_network | everything |
//! | `ClusterRole.aggregationRule.clusterRoleSelectors[]` | — | everything |
//! | affinity `labelSelector` | nothing | everything |
//! | `Service.spec.selector` (a plain map, [`LabelSelector::from_pairs`]) | nothing | nothing |
//!
//! A selector the API server would reject selects nothing: an unknown operator, `In`/`NotIn`
//! without values, `Exists`/`DoesNotExist` with values, or a `matchLabels` value that is not a
//! string (`version: 1` does not decode into Kubernetes' `map[string]string`). Label values are
//! strings only, as the API requires ([`labels_at`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::node::Node;

/// An object's labels.
pub type Labels = BTreeMap<String, String>;

/// The labels of a `metadata.labels` node (string values only, as the API requires).
pub fn labels_at(node: Option<&Node>) -> Labels {
    node.and_then(Node::as_map)
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_owned())))
        .collect()
}

/// Anything a selector can read labels from.
pub trait LabelSource {
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelSource for Labels {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// `key: value` pairs, as kept by analyses that hold labels in a list.
impl LabelSource for [(String, String)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A `metadata.labels` node; `None` (no labels) has none.
impl LabelSource for Option<&Node> {
    fn label(&self, key: &str) -> Option<&str> {
        self.and_then(|l| l.get(key)).and_then(Node::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    /// A requirement the API server would reject: selects nothing.
    Invalid(String),
}

/// A label selector (`matchLabels` and `matchExpressions`, ANDed). Empty selects everything; see
/// the module docs for what each API makes of a missing one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    labels: Vec<(String, String)>,
    exprs: Vec<(String, Op)>,
}

impl LabelSelector {
    /// Reads a `LabelSelector` node (`matchLabels` / `matchExpressions`).
    pub fn from_node(node: &Node) -> Self {
        let mut selector = Self::default();
        let mut invalid = |key: &str, why: String| {
            selector.exprs.push((key.to_owned(), Op::Invalid(why)));
        };
        if node.as_map().is_none() {
            invalid("", "is not a label selector".into());
        }
        match node.get("matchLabels") {
            None => {}
            Some(m) if m.as_map().is_none() && !m.is_null() => {
                invalid("", "matchLabels is not a mapping".into());
            }
            Some(m) => {
                for e in m.as_map().unwrap_or(&[]) {
                    match e.value.as_str() {
                        Some(v) => selector.labels.push((e.key.to_string(), v.to_owned())),
                        None => selector.exprs.push((
                            e.key.to_string(),
                            Op::Invalid(format!("matchLabels.{} is not a string", e.key)),
                        )),
                    }
                }
            }
        }
        let exprs = match node.get("matchExpressions") {
            Some(m) if m.as_seq().is_none() && !m.is_null() => {
                selector.exprs.push((
                    String::new(),
                    Op::Invalid("matchExpressions is not a list".into()),
                ));
                &[][..]
            }
            m => m.and_then(Node::as_seq).unwrap_or(&[]),
        };
        for e in exprs {
            let Some(key) = e.get("key").and_then(Node::as_str) else {
                selector.exprs.push((
                    String::new(),
                    Op::Invalid("a matchExpression has no key".into()),
                ));
                continue;
            };
            let values: Vec<String> = e
                .get("values")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let op = match (e.get("operator").and_then(Node::as_str), values.is_empty()) {
                (Some("In"), false) => Op::In(values),
                (Some("NotIn"), false) => Op::NotIn(values),
                (Some("Exists"), true) => Op::Exists,
                (Some("DoesNotExist"), true) => Op::DoesNotExist,
                (Some(op @ ("In" | "NotIn")), true) => {
                    Op::Invalid(format!("operator {op} on {key} has no values"))
                }
                (Some(op @ ("Exists" | "DoesNotExist")), false) => {
                    Op::Invalid(format!("operator {op} on {key} has values"))
                }
                (Some(op), _) => Op::Invalid(format!("has an unknown operator `{op}` on {key}")),
                (None, _) => Op::Invalid(format!("the matchExpression on {key} has no operator")),
            };
            selector.exprs.push((key.to_owned(), op));
        }
        selector
    }

    /// A plain-map selector (a Service's or ReplicationController's `spec.selector`): equalities
    /// only; a value that is not a string makes it invalid. Missing reads as empty.
    pub fn from_map(node: Option<&Node>) -> Self {
        let mut selector = Self::default();
        for e in node.and_then(Node::as_map).unwrap_or(&[]) {
            match e.value.as_str() {
                Some(v) => selector.labels.push((e.key.to_string(), v.to_owned())),
                None => selector.exprs.push((
                    e.key.to_string(),
                    Op::Invalid("a selector value that is not a string".into()),
                )),
            }
        }
        selector
    }

    /// A selector of equalities only, from `k=v,k2=v2` as typed on the command line.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            labels: pairs.to_vec(),
            exprs: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.exprs.is_empty()
    }

    /// Whether the API server would reject the selector (it then selects nothing).
    pub fn is_invalid(&self) -> bool {
        self.problem().is_some()
    }

    /// What the API server would reject in the selector, first problem first.
    pub fn problem(&self) -> Option<&str> {
        self.exprs.iter().find_map(|(_, op)| match op {
            Op::Invalid(why) => Some(why.as_str()),
            _ => None,
        })
    }

    /// The selector as the `labelSelector` query parameter of a list request (empty: everything).
    pub fn to_query(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            self.to_string()
        }
    }

    /// Rewrites every key the selector names (Cilium's source prefixes are dropped this way).
    pub fn rename_keys(&mut self, mut rename: impl FnMut(&str) -> String) {
        for (k, _) in &mut self.labels {
            *k = rename(k);
        }
        for (k, _) in &mut self.exprs {
            *k = rename(k);
        }
    }

    /// The selector without its requirements on the keys `skip` says to leave out.
    #[must_use]
    pub fn without(&self, skip: impl Fn(&str) -> bool) -> Self {
        Self {
            labels: self
                .labels
                .iter()
                .filter(|(k, _)| !skip(k))
                .cloned()
                .collect(),
            exprs: self
                .exprs
                .iter()
                .filter(|(k, _)| !skip(k))
                .cloned()
                .collect(),
        }
    }

    /// The value `matchLabels` requires for `key`, if it requires one.
    pub fn pins(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A label every object the selector selects carries, with its value: the first
    /// `matchLabels` pair. Lets a caller index selectors by label instead of trying each one
    /// against each object; `None` when the selector requires no particular value.
    pub fn anchor(&self) -> Option<(&str, &str)> {
        self.labels.first().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether the selector selects an object with these labels.
    pub fn matches<L: LabelSource + ?Sized>(&self, labels: &L) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| labels.label(k) == Some(v.as_str()))
            && self.exprs.iter().all(|(k, op)| {
                let v = labels.label(k);
                match op {
                    Op::In(vs) => v.is_some_and(|v| vs.iter().any(|x| x == v)),
                    Op::NotIn(vs) => v.is_none_or(|v| !vs.iter().any(|x| x == v)),
                    Op::Exists => v.is_some(),
                    Op::DoesNotExist => v.is_none(),
                    Op::Invalid(_) => false,
                }
            })
    }
}

/// Label selectors indexed by a label each requires ([`LabelSelector::anchor`]), so that the
/// ones selecting an object are found without trying each: a namespace with thousands of
/// selectors (Services, PodDisruptionBudgets) and thousands of workloads must not try every
/// pair. Selectors are numbered in the order they are added.
#[derive(Clone, Debug, Default)]
pub struct SelectorIndex {
    /// `None` selects nothing (a missing selector, where the API reads that so).
    selectors: Vec<Option<LabelSelector>>,
    /// Label key → value → the selectors that require it.
    by_label: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Selectors that require no particular label value: tried on every object.
    unanchored: Vec<usize>,
}

impl SelectorIndex {
    /// Adds the next selector (`None`: one that selects nothing).
    pub fn push(&mut self, selector: Option<LabelSelector>) {
        let n = self.selectors.len();
        if let Some(s) = &selector {
            match s.anchor() {
                Some((k, v)) => self
                    .by_label
                    .entry(k.to_owned())
                    .or_default()
                    .entry(v.to_owned())
                    .or_default()
                    .push(n),
                None => self.unanchored.push(n),
            }
        }
        self.selectors.push(selector);
    }

    /// The numbers of the selectors that select an object with these labels, in order: one
    /// lookup per label key the selectors require first (a handful: `app`, `app.kubernetes.io/
    /// name`...), then each candidate's whole selector checked.
    pub fn matching<L: LabelSource + ?Sized>(&self, labels: &L) -> Vec<usize> {
        let mut hits = self.unanchored.clone();
        for (key, values) in &self.by_label {
            if let Some(found) = labels.label(key).and_then(|v| values.get(v)) {
                hits.extend(found);
            }
        }
        hits.sort_unstable();
        hits.retain(|&i| {
            self.selectors[i]
                .as_ref()
                .is_some_and(|s| s.matches(labels))
        });
        hits
    }
}

/// Whether a `LabelSelector` node selects the labels of a `metadata.labels` node. A missing
/// selector selects nothing, an empty one everything (the workload, PDB and affinity rule).
pub fn selector_matches(selector: Option<&Node>, labels: Option<&Node>) -> bool {
    selector.is_some_and(|s| LabelSelector::from_node(s).matches(&labels))
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("{}");
        }
        let mut parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (k, op) in &self.exprs {
            parts.push(match op {
                Op::In(vs) => format!("{k} in ({})", vs.join(",")),
                Op::NotIn(vs) => format!("{k} notin ({})", vs.join(",")),
                Op::Exists => k.clone(),
                Op::DoesNotExist => format!("!{k}"),
                Op::Invalid(why) => format!("(invalid: {why})"),
            });
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::{LabelSelector, Labels, SelectorIndex, labels_at, selector_matches};
    use crate::yaml::{Limits, parse_stream};

    fn node(text: &str) -> crate::Node {
        let (mut docs, errors) = parse_stream(text, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        docs.remove(0).root
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Each case: a selector, a label set, and whether Kubernetes'
    /// `metav1.LabelSelectorAsSelector(...).Matches(...)` selects it (an error selects nothing).
    #[test]
    fn kubernetes_semantics() {
        let app_web = labels(&[("app", "web"), ("tier", "front")]);
        let none = labels(&[]);
        let cases: &[(&str, &Labels, bool)] = &[
            ("{}", &app_web, true),
            ("{}", &none, true),
            ("{matchLabels: {}}", &app_web, true),
            ("{matchLabels: {app: web}}", &app_web, true),
            ("{matchLabels: {app: web, tier: back}}", &app_web, false),
            ("{matchLabels: {app: db}}", &none, false),
            (
                "{matchExpressions: [{key: app, operator: In, values: [web, api]}]}",
                &app_web,
                true,
            ),
            (
                "{matchExpressions: [{key: app, operator: In, values: [db]}]}",
                &app_web,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: In, values: [web]}]}",
                &none,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: NotIn, values: [db]}]}",
                &app_web,
                true,
            ),
            (
                "{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}",
                &app_web,
                false,
            ),
            // NotIn selects objects without the key at all.
            (
                "{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}",
                &none,
                true,
            ),
            (
                "{matchExpressions: [{key: tier, operator: Exists}]}",
                &app_web,
                true,
            ),
            (
                "{matchExpressions: [{key: tier, operator: Exists}]}",
                &none,
                false,
            ),
            (
                "{matchExpressions: [{key: tier, operator: DoesNotExist}]}",
                &app_web,
                false,
            ),
            (
                "{matchExpressions: [{key: tier, operator: DoesNotExist}]}",
                &none,
                true,
            ),
            // matchLabels and matchExpressions are ANDed.
            (
                "{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [back]}]}",
                &app_web,
                false,
            ),
            // Rejected by the API server, so they select nothing.
            (
                "{matchExpressions: [{key: app, operator: In, values: []}]}",
                &app_web,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: NotIn}]}",
                &none,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: Exists, values: [web]}]}",
                &app_web,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: DoesNotExist, values: [x]}]}",
                &none,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: Gt, values: ['1']}]}",
                &app_web,
                false,
            ),
            (
                "{matchExpressions: [{key: app, operator: in, values: [web]}]}",
                &app_web,
                false,
            ),
            ("{matchLabels: {version: 1}}", &none, false),
            (
                "{matchLabels: {version: 1}}",
                &labels(&[("version", "1")]),
                false,
            ),
            // Values are compared as written: case matters.
            ("{matchLabels: {app: Web}}", &app_web, false),
        ];
        for (selector, labels, want) in cases {
            let s = LabelSelector::from_node(&node(selector));
            assert_eq!(s.matches(*labels), *want, "{selector} on {labels:?}");
            let pairs: Vec<(String, String)> =
                labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(
                s.matches(pairs.as_slice()),
                *want,
                "{selector} on pairs {labels:?}"
            );
        }
    }

    #[test]
    fn node_form_and_missing_selector() {
        let obj = node("metadata: {labels: {app: web, replicas: 3}}");
        let l = obj.at(&["metadata", "labels"]);
        assert!(selector_matches(
            Some(&node("{matchLabels: {app: web}}")),
            l
        ));
        assert!(selector_matches(Some(&node("{}")), l));
        assert!(
            !selector_matches(None, l),
            "a missing selector selects nothing"
        );
        assert!(
            selector_matches(Some(&node("{}")), None),
            "empty selects even no labels"
        );
        // Non-string label values are not labels.
        assert_eq!(labels_at(l), labels(&[("app", "web")]));
        assert!(!selector_matches(
            Some(&node(
                "{matchExpressions: [{key: replicas, operator: Exists}]}"
            )),
            l
        ));
    }

    #[test]
    fn display_reads_like_kubectl() {
        let s = LabelSelector::from_node(&node(
            "{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: NotIn, values: [a, b]}, {key: x, operator: Exists}, {key: w, operator: DoesNotExist}]}",
        ));
        assert_eq!(s.to_string(), "app=web,tier notin (a,b),x,!w");
        assert_eq!(LabelSelector::default().to_string(), "{}");
        assert!(
            LabelSelector::from_node(&node("{matchExpressions: [{key: a, operator: In}]}"))
                .is_invalid()
        );
    }

    /// The index finds exactly the selectors that trying each one finds, in order: selectors
    /// with and without a required label, with expressions only, empty, invalid, and absent.
    #[test]
    fn the_index_finds_what_trying_each_selector_finds() {
        let selectors: Vec<Option<LabelSelector>> = [
            Some("{matchLabels: {app: web}}"),
            Some("{matchLabels: {app: web, tier: front}}"),
            Some("{matchLabels: {tier: front, app: api}}"),
            Some("{matchExpressions: [{key: tier, operator: In, values: [front, back]}]}"),
            Some("{matchExpressions: [{key: app, operator: DoesNotExist}]}"),
            Some("{}"),
            None,
            Some("{matchLabels: {app: web, tier: 1}}"),
            Some("{matchLabels: {app: web}, matchExpressions: [{key: track, operator: NotIn, values: [canary]}]}"),
            Some("{matchLabels: {app: web}}"),
        ]
        .iter()
        .map(|text| text.map(|t| LabelSelector::from_node(&node(t))))
        .collect();
        let mut index = SelectorIndex::default();
        for s in &selectors {
            index.push(s.clone());
        }
        let objects = [
            labels(&[]),
            labels(&[("app", "web")]),
            labels(&[("app", "web"), ("tier", "front")]),
            labels(&[("app", "web"), ("tier", "front"), ("track", "canary")]),
            labels(&[("app", "api"), ("tier", "front")]),
            labels(&[("tier", "back")]),
            labels(&[("app", "db"), ("tier", "1")]),
        ];
        for object in &objects {
            let each: Vec<usize> = (0..selectors.len())
                .filter(|&i| selectors[i].as_ref().is_some_and(|s| s.matches(object)))
                .collect();
            assert_eq!(index.matching(object), each, "{object:?}");
        }
        // Not vacuous: the object with every label meets several selectors.
        assert_eq!(index.matching(&objects[2]), [0, 1, 3, 5, 8, 9]);
    }
}
