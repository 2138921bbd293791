//! The admission policies installed in a cluster, read so that a scan can evaluate them
//! (`kspm scan --cluster --cluster-policies`): ValidatingAdmissionPolicies and their bindings,
//! the params objects the bindings refer to, Gatekeeper ConstraintTemplates and their
//! constraints. Everything goes through the same pager as the scan (pages, retries, 410).
//!
//! Params are read narrowly: only the kind a policy's `paramKind` names, only where its
//! bindings' `paramRef` points (a namespace or all of them, by `metadata.name` field selector or
//! by the ref's label selector). Secrets are never read: a policy whose params are Secrets is
//! left out with a warning, and so are its bindings.

use std::collections::HashSet;

use kspm_model::{Diagnostic, LabelSelector, Node, Resource, Source};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use serde_json::Value as Json;

use crate::catalog::{Kind, Stage};
use crate::{Filter, Reader};

/// The policy kinds read by name: `(group, kind)`.
const POLICY_KINDS: &[(&str, &str)] = &[
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("templates.gatekeeper.sh", "ConstraintTemplate"),
    ("kyverno.io", "ClusterPolicy"),
    ("kyverno.io", "Policy"),
    ("policies.kyverno.io", "ValidatingPolicy"),
];

/// Gatekeeper serves one kind per ConstraintTemplate in this group; all of them are read.
const CONSTRAINTS_GROUP: &str = "constraints.gatekeeper.sh";

/// Whether objects of this kind are admission policies (or what selects and configures them).
pub(crate) fn is_policy_kind(group: &str, kind: &str) -> bool {
    group == CONSTRAINTS_GROUP || POLICY_KINDS.contains(&(group, kind))
}

const NOT_EVALUATED: &str = "the policies in them are not evaluated";

/// One list of params objects that bindings ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParamRead {
    /// The policy's `paramKind`.
    pub api_version: String,
    pub kind: String,
    /// `paramRef.namespace`; for a namespaced kind, `None` means every namespace.
    pub namespace: Option<String>,
    /// `paramRef.name`, read with the field selector `metadata.name=NAME`.
    pub name: Option<String>,
    /// `paramRef.selector` as a label selector (`app=x,tier in (a,b)`); `""` selects all.
    pub labels: Option<String>,
    /// The bindings that ask for these params.
    pub bindings: Vec<String>,
}

impl ParamRead {
    /// Where to list (a namespace, or everywhere) and with which filter, once it is known
    /// whether the kind is namespaced: a cluster-scoped kind has no namespace to look in.
    pub fn scope(&self, namespaced: bool) -> (Option<&str>, Option<String>, Option<&str>) {
        let ns = if namespaced {
            self.namespace.as_deref()
        } else {
            None
        };
        let fields = self.name.as_ref().map(|n| format!("metadata.name={n}"));
        let labels = self.labels.as_deref().filter(|l| !l.is_empty());
        (ns, fields, labels)
    }
}

/// What the policies and bindings of a cluster ask to read, and what they may not.
#[derive(Debug, Default)]
pub(crate) struct ParamPlan {
    pub reads: Vec<ParamRead>,
    /// Policies that take their params from Secrets: not evaluated, with their bindings.
    pub refused: Vec<String>,
    /// Warnings: `(source, message)`.
    pub notes: Vec<(String, String)>,
}

/// `cluster:Kind/name` or `cluster:Kind/namespace/name`: where a policy object came from, as
/// diagnostics and rule pages name it.
pub(crate) fn source_name(kind: &str, item: &Json) -> String {
    let name = item["metadata"]["name"].as_str().unwrap_or("?");
    match item["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => format!("cluster:{kind}/{ns}/{name}"),
        _ => format!("cluster:{kind}/{name}"),
    }
}

fn is_secret_kind(api_version: &str, kind: &str) -> bool {
    api_version == "v1" && kind == "Secret"
}

/// The params each binding refers to (its policy's `paramKind`, its own `paramRef`), merged
/// when several bindings ask for the same. Bindings of policies that are not in the cluster
/// (they may be in policy files), policies without params and bindings without a `paramRef`
/// ask for nothing: kspm_policy reports what is missing when it loads them.
pub(crate) fn plan_params(vaps: &[Json], bindings: &[Json]) -> ParamPlan {
    let mut plan = ParamPlan::default();
    for vap in vaps {
        let kind = &vap["spec"]["paramKind"];
        let (Some(api_version), Some(kind_name)) =
            (kind["apiVersion"].as_str(), kind["kind"].as_str())
        else {
            continue;
        };
        if is_secret_kind(api_version, kind_name) {
            let name = vap["metadata"]["name"].as_str().unwrap_or("?");
            let bound: Vec<&str> = bindings
                .iter()
                .filter(|b| b["spec"]["policyName"].as_str() == Some(name))
                .filter_map(|b| b["metadata"]["name"].as_str())
                .collect();
            plan.refused.push(name.to_owned());
            plan.notes.push((
                source_name("ValidatingAdmissionPolicy", vap),
                format!(
                    "ValidatingAdmissionPolicy {name} takes its params from Secrets (paramKind v1 Secret): kspm does not read Secret data, so it is not evaluated{}",
                    if bound.is_empty() {
                        String::new()
                    } else {
                        format!(" (bindings: {})", bound.join(", "))
                    }
                ),
            ));
        }
    }
    for b in bindings {
        let Some(policy) = b["spec"]["policyName"].as_str() else {
            continue;
        };
        if plan.refused.iter().any(|r| r == policy) {
            continue;
        }
        let Some(vap) = vaps
            .iter()
            .find(|v| v["metadata"]["name"].as_str() == Some(policy))
        else {
            continue;
        };
        let kind = &vap["spec"]["paramKind"];
        let (Some(api_version), Some(kind_name)) =
            (kind["apiVersion"].as_str(), kind["kind"].as_str())
        else {
            continue;
        };
        let param_ref = &b["spec"]["paramRef"];
        if !param_ref.is_object() {
            continue;
        }
        let binding = b["metadata"]["name"].as_str().unwrap_or("?").to_owned();
        let name = param_ref["name"].as_str().filter(|n| !n.is_empty());
        let labels = match (name, param_ref.get("selector")) {
            (Some(_), _) => None,
            (None, Some(sel)) => match label_selector(sel) {
                Ok(s) => Some(s),
                Err(why) => {
                    plan.notes.push((
                        source_name("ValidatingAdmissionPolicyBinding", b),
                        format!(
                            "ValidatingAdmissionPolicyBinding {binding}: paramRef.selector {why}; its params are not read"
                        ),
                    ));
                    continue;
                }
            },
            (None, None) => {
                plan.notes.push((
                    source_name("ValidatingAdmissionPolicyBinding", b),
                    format!(
                        "ValidatingAdmissionPolicyBinding {binding}: paramRef has neither name nor selector; its params are not read"
                    ),
                ));
                continue;
            }
        };
        let read = ParamRead {
            api_version: api_version.to_owned(),
            kind: kind_name.to_owned(),
            namespace: param_ref["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            name: name.map(str::to_owned),
            labels,
            bindings: vec![binding.clone()],
        };
        match plan.reads.iter_mut().find(|r| {
            (&r.api_version, &r.kind, &r.namespace, &r.name, &r.labels)
                == (
                    &read.api_version,
                    &read.kind,
                    &read.namespace,
                    &read.name,
                    &read.labels,
                )
        }) {
            Some(same) => same.bindings.push(binding),
            None => plan.reads.push(read),
        }
    }
    plan
}

/// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`) as the `labelSelector` query
/// parameter.
pub(crate) fn label_selector(sel: &Json) -> Result<String, InvalidSelector> {
    let selector = LabelSelector::from_node(&Node::from_json(sel));
    match selector.problem() {
        Some(problem) => Err(InvalidSelector(problem.to_owned())),
        None => Ok(selector.to_query()),
    }
}

/// A label selector the API server would reject: what is wrong with it, first problem first.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidSelector(String);

/// A policy object as kspm_policy takes it: kind and apiVersion set (list items may lack
/// them), managed fields and the `kubectl apply` copy dropped, its source naming it.
pub(crate) fn to_resource(resource: &ApiResource, mut item: Json) -> Option<Resource> {
    let obj = item.as_object_mut()?;
    obj.insert(
        "apiVersion".to_owned(),
        Json::String(resource.api_version.clone()),
    );
    obj.insert("kind".to_owned(), Json::String(resource.kind.clone()));
    if let Some(meta) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    let source = Source {
        file: source_name(&resource.kind, &item).into(),
        doc: 0,
        origin: None,
    };
    Resource::from_node(Node::from_json(&item), source).ok()
}

fn kind_of((resource, caps): (ApiResource, ApiCapabilities)) -> Kind {
    Kind {
        namespaced: caps.scope == Scope::Namespaced,
        resource,
        stage: Stage::Other,
    }
}

/// The policy kinds the server serves: VAPs, bindings, templates, then every constraint kind.
pub(crate) fn policy_kinds(discovery: &Discovery) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = POLICY_KINDS
        .iter()
        .filter_map(|&(group, kind)| discovery.get(group)?.recommended_kind(kind))
        .map(kind_of)
        .collect();
    if let Some(group) = discovery.get(CONSTRAINTS_GROUP) {
        let mut constraints: Vec<Kind> = group
            .resources_by_stability()
            .into_iter()
            .filter(|(_, caps)| caps.supports_operation("list"))
            .map(kind_of)
            .collect();
        constraints.sort_by(|a, b| a.resource.kind.cmp(&b.resource.kind));
        kinds.extend(constraints);
    }
    kinds
}

impl Reader<'_> {
    /// Lists one kind of policy object in full; `None` when it could not be read (recorded as
    /// a partial read, saying `missing`).
    async fn list_policy_kind(
        &mut self,
        kind: &Kind,
        ns: Option<&str>,
        filter: Filter<'_>,
        missing: &str,
    ) -> Option<Vec<Json>> {
        let mut items = Vec::new();
        let outcome = crate::list_pages(
            &self.conn,
            kind,
            ns,
            filter,
            self.target.page_size,
            self.backoff,
            &mut self.stats,
            &mut None,
            |_, page| items.extend(page),
        )
        .await;
        match outcome {
            Ok(()) => Some(items),
            Err(why) => {
                self.cannot_read_for(kind, ns, &why, missing);
                None
            }
        }
    }

    fn note(&mut self, source: String, message: String) {
        self.diagnostics
            .push(Diagnostic::error(source, message).warning());
    }

    /// Reads every policy object the server serves, and the params their bindings name.
    pub(crate) async fn read_policies(&mut self, discovery: &Discovery) -> Vec<Resource> {
        let mut vaps: Option<(Kind, Vec<Json>)> = None;
        let mut bindings: Option<(Kind, Vec<Json>)> = None;
        let mut read: Vec<(Kind, Vec<Json>)> = Vec::new();
        for kind in policy_kinds(discovery) {
            let Some(items) = self
                .list_policy_kind(&kind, None, Filter::default(), NOT_EVALUATED)
                .await
            else {
                continue;
            };
            let slot = match (kind.resource.group.as_str(), kind.resource.kind.as_str()) {
                ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => &mut vaps,
                ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
                    &mut bindings
                }
                _ => {
                    read.push((kind, items));
                    continue;
                }
            };
            *slot = Some((kind, items));
        }
        let items = |slot: &Option<(Kind, Vec<Json>)>| -> Vec<Json> {
            slot.as_ref().map(|(_, i)| i.clone()).unwrap_or_default()
        };
        let (vap_items, binding_items) = (items(&vaps), items(&bindings));

        let plan = plan_params(&vap_items, &binding_items);
        for (source, message) in plan.notes {
            self.note(source, message);
        }
        let mut dropped_bindings: HashSet<String> = HashSet::new();
        let mut params: Vec<(Kind, Vec<Json>)> = Vec::new();
        for want in &plan.reads {
            let (group, version) = match want.api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", want.api_version.as_str()),
            };
            let served = discovery
                .get(group)
                .map(|g| g.versioned_resources(version))
                .unwrap_or_default()
                .into_iter()
                .find(|(r, _)| r.kind == want.kind);
            let Some(found) = served else {
                self.note(
                    format!(
                        "cluster:ValidatingAdmissionPolicyBinding/{}",
                        want.bindings.first().map_or("?", String::as_str)
                    ),
                    format!(
                        "ValidatingAdmissionPolicyBinding {} takes params of kind {} ({}), which the cluster does not serve: none read",
                        want.bindings.join(", "),
                        want.kind,
                        want.api_version
                    ),
                );
                continue;
            };
            let kind = kind_of(found);
            if kind.is_secret() {
                continue; // refused in plan_params; never listed, not even as metadata
            }
            let (ns, fields, labels) = want.scope(kind.namespaced);
            let filter = Filter {
                fields: fields.as_deref(),
                labels,
            };
            let missing = format!(
                "the bindings that take their params from them ({}) are not evaluated",
                want.bindings.join(", ")
            );
            match self.list_policy_kind(&kind, ns, filter, &missing).await {
                Some(items) => params.push((kind, items)),
                None => dropped_bindings.extend(want.bindings.iter().cloned()),
            }
        }
        let (keep_vaps, keep_bindings) =
            kept(&vap_items, &binding_items, &plan.refused, &dropped_bindings);

        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let vaps = vaps.map(|(k, items)| (k, filter_named(items, &keep_vaps)));
        let bindings = bindings.map(|(k, items)| (k, filter_named(items, &keep_bindings)));
        for (kind, items) in vaps.into_iter().chain(bindings).chain(read).chain(params) {
            for item in items {
                // Two params reads (by name, by selector) may meet on one object.
                if seen.insert(source_name(&kind.resource.kind, &item)) {
                    out.extend(to_resource(&kind.resource, item));
                }
            }
        }
        out
    }
}

fn name_of(item: &Json) -> Option<&str> {
    item["metadata"]["name"].as_str()
}

fn policy_of(binding: &Json) -> &str {
    binding["spec"]["policyName"].as_str().unwrap_or("")
}

fn filter_named(items: Vec<Json>, keep: &HashSet<String>) -> Vec<Json> {
    items
        .into_iter()
        .filter(|i| name_of(i).is_some_and(|n| keep.contains(n)))
        .collect()
}

/// The policies and bindings to hand on: not those refused (params from Secrets) nor their
/// bindings, not the bindings whose params could not be read, and not a policy whose every
/// binding was dropped for that (it would otherwise look unbound).
pub(crate) fn kept(
    vaps: &[Json],
    bindings: &[Json],
    refused: &[String],
    unreadable: &HashSet<String>,
) -> (HashSet<String>, HashSet<String>) {
    let keep_bindings: HashSet<String> = bindings
        .iter()
        .filter(|b| !refused.iter().any(|r| r == policy_of(b)))
        .filter_map(name_of)
        .filter(|n| !unreadable.contains(*n))
        .map(str::to_owned)
        .collect();
    let keep_vaps = vaps
        .iter()
        .filter_map(name_of)
        .filter(|n| !refused.iter().any(|r| r == n))
        .filter(|n| {
            let mut bound = bindings.iter().filter(|b| policy_of(b) == *n).peekable();
            bound.peek().is_none()
                || bound.any(|b| name_of(b).is_some_and(|bn| keep_bindings.contains(bn)))
        })
        .map(str::to_owned)
        .collect();
    (keep_vaps, keep_bindings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)] // called with json!(...) literals
    fn vap(name: &str, param_kind: Json) -> Json {
        json!({"metadata": {"name": name}, "spec": {"paramKind": param_kind, "validations": []}})
    }

    #[allow(clippy::needless_pass_by_value)] // called with json!(...) literals
    fn binding(name: &str, policy: &str, param_ref: Json) -> Json {
        json!({"metadata": {"name": name}, "spec": {"policyName": policy, "paramRef": param_ref}})
    }

    fn read(
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: Option<&str>,
        labels: Option<&str>,
        bindings: &[&str],
    ) -> ParamRead {
        ParamRead {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: ns.map(str::to_owned),
            name: name.map(str::to_owned),
            labels: labels.map(str::to_owned),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
        }
    }

    #[test]
    fn params_are_read_by_name_or_selector_where_the_binding_points() {
        let vaps = [
            vap("limits", json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            vap(
                "replicas",
                json!({"apiVersion": "example.com/v1", "kind": "ReplicaLimit"}),
            ),
            vap("plain", Json::Null),
        ];
        let bindings = [
            binding(
                "by-name",
                "limits",
                json!({"name": "caps", "namespace": "policy"}),
            ),
            // The same params through a second binding: one read, both named.
            binding(
                "by-name-too",
                "limits",
                json!({"name": "caps", "namespace": "policy"}),
            ),
            binding(
                "by-selector",
                "limits",
                json!({"selector": {
                    "matchLabels": {"kspm.io/params": "yes"},
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["a", "b"]},
                        {"key": "legacy", "operator": "DoesNotExist"},
                        {"key": "team", "operator": "Exists"},
                        {"key": "env", "operator": "NotIn", "values": ["dev"]}
                    ]},
                    "parameterNotFoundAction": "Deny"}),
            ),
            binding("everything", "replicas", json!({"selector": {}})),
            binding(
                "cluster-scoped",
                "replicas",
                json!({"name": "tenant-limit"}),
            ),
            // No paramRef, no paramKind, or a policy that is not in the cluster: nothing to read.
            json!({"metadata": {"name": "no-ref"}, "spec": {"policyName": "limits"}}),
            binding("no-kind", "plain", json!({"name": "x"})),
            binding("elsewhere", "in-a-file", json!({"name": "x"})),
        ];
        let plan = plan_params(&vaps, &bindings);
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
        assert!(plan.refused.is_empty());
        assert_eq!(
            plan.reads,
            [
                read(
                    "v1",
                    "ConfigMap",
                    Some("policy"),
                    Some("caps"),
                    None,
                    &["by-name", "by-name-too"]
                ),
                read(
                    "v1",
                    "ConfigMap",
                    None,
                    None,
                    Some("kspm.io/params=yes,tier in (a,b),!legacy,team,env notin (dev)"),
                    &["by-selector"]
                ),
                read(
                    "example.com/v1",
                    "ReplicaLimit",
                    None,
                    None,
                    Some(""),
                    &["everything"]
                ),
                read(
                    "example.com/v1",
                    "ReplicaLimit",
                    None,
                    Some("tenant-limit"),
                    None,
                    &["cluster-scoped"]
                ),
            ]
        );
        // Where and how each is listed.
        assert_eq!(
            plan.reads[0].scope(true),
            (Some("policy"), Some("metadata.name=caps".to_owned()), None)
        );
        assert_eq!(
            plan.reads[1].scope(true),
            (
                None,
                None,
                Some("kspm.io/params=yes,tier in (a,b),!legacy,team,env notin (dev)")
            )
        );
        assert_eq!(plan.reads[2].scope(false), (None, None, None));
        // A namespace given for a cluster-scoped kind is not a place to look.
        let mut odd = plan.reads[3].clone();
        odd.namespace = Some("ignored".to_owned());
        assert_eq!(
            odd.scope(false),
            (None, Some("metadata.name=tenant-limit".to_owned()), None)
        );
    }

    #[test]
    fn a_selector_the_server_would_reject_is_a_note_naming_the_binding() {
        let vaps = [vap(
            "limits",
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
        )];
        let bindings = [binding(
            "odd",
            "limits",
            json!({"selector": {"matchExpressions": [{"key": "tier", "operator": "Maybe"}]}}),
        )];
        let plan = plan_params(&vaps, &bindings);
        assert!(plan.reads.is_empty());
        assert_eq!(
            plan.notes.iter().map(|n| n.1.as_str()).collect::<Vec<_>>(),
            [
                "ValidatingAdmissionPolicyBinding odd: paramRef.selector has an unknown operator `Maybe` on tier; its params are not read"
            ]
        );
    }

    #[test]
    fn secrets_as_params_are_refused_with_their_bindings() {
        let vaps = [
            vap("db-creds", json!({"apiVersion": "v1", "kind": "Secret"})),
            vap("ok", json!({"apiVersion": "v1", "kind": "ConfigMap"})),
        ];
        let bindings = [
            binding(
                "creds-a",
                "db-creds",
                json!({"name": "db", "namespace": "x"}),
            ),
            binding("creds-b", "db-creds", json!({"selector": {}})),
            binding("ok", "ok", json!({"name": "cm", "namespace": "x"})),
        ];
        let plan = plan_params(&vaps, &bindings);
        assert_eq!(plan.refused, ["db-creds"]);
        assert_eq!(
            plan.notes,
            [(
                "cluster:ValidatingAdmissionPolicy/db-creds".to_owned(),
                "ValidatingAdmissionPolicy db-creds takes its params from Secrets (paramKind v1 Secret): kspm does not read Secret data, so it is not evaluated (bindings: creds-a, creds-b)".to_owned()
            )]
        );
        assert!(
            plan.reads.iter().all(|r| r.kind != "Secret"),
            "{:?}",
            plan.reads
        );
        assert_eq!(plan.reads.len(), 1);
        assert_eq!(plan.reads[0].bindings, ["ok"]);
    }

    #[test]
    fn bad_param_refs_are_named() {
        let vaps = [vap("p", json!({"apiVersion": "v1", "kind": "ConfigMap"}))];
        let bindings = [
            binding("neither", "p", json!({"namespace": "x"})),
            binding(
                "odd-operator",
                "p",
                json!({"selector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}}),
            ),
            binding(
                "no-values",
                "p",
                json!({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}),
            ),
        ];
        let plan = plan_params(&vaps, &bindings);
        assert!(plan.reads.is_empty());
        let notes: Vec<&str> = plan.notes.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            notes,
            [
                "ValidatingAdmissionPolicyBinding neither: paramRef has neither name nor selector; its params are not read",
                "ValidatingAdmissionPolicyBinding odd-operator: paramRef.selector has an unknown operator `Gt` on a; its params are not read",
                "ValidatingAdmissionPolicyBinding no-values: paramRef.selector operator In on a has no values; its params are not read",
            ]
        );
        assert_eq!(
            plan.notes[0].0,
            "cluster:ValidatingAdmissionPolicyBinding/neither"
        );
    }

    #[test]
    fn policies_go_with_their_refused_or_unreadable_bindings() {
        let vaps = [
            vap(
                "secret-params",
                json!({"apiVersion": "v1", "kind": "Secret"}),
            ),
            vap("half", json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            vap("all-gone", json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            vap("unbound", Json::Null),
        ];
        let bindings = [
            binding("s", "secret-params", json!({"name": "x"})),
            binding("half-ok", "half", json!({"name": "a", "namespace": "n"})),
            binding(
                "half-403",
                "half",
                json!({"name": "b", "namespace": "forbidden"}),
            ),
            binding(
                "gone-403",
                "all-gone",
                json!({"name": "b", "namespace": "forbidden"}),
            ),
        ];
        let unreadable: HashSet<String> = ["half-403".to_owned(), "gone-403".to_owned()].into();
        let (vaps, bindings) = kept(&vaps, &bindings, &["secret-params".to_owned()], &unreadable);
        let sorted = |s: HashSet<String>| {
            let mut v: Vec<String> = s.into_iter().collect();
            v.sort();
            v
        };
        // An unbound policy stays: kspm_policy says it enforces nothing.
        assert_eq!(sorted(vaps), ["half", "unbound"]);
        assert_eq!(sorted(bindings), ["half-ok"]);
    }

    #[test]
    fn policy_objects_keep_neither_managed_fields_nor_the_applied_copy() {
        let cm = ApiResource {
            group: String::new(),
            version: "v1".to_owned(),
            api_version: "v1".to_owned(),
            kind: "ConfigMap".to_owned(),
            plural: "configmaps".to_owned(),
        };
        let r = to_resource(
            &cm,
            json!({"metadata": {"name": "caps", "namespace": "policy",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "x"}},
              "data": {"maxReplicas": "3"}}),
        )
        .unwrap();
        assert_eq!(&*r.source.file, "cluster:ConfigMap/policy/caps");
        let json = r.root.to_json();
        assert_eq!(json["apiVersion"], "v1");
        assert_eq!(json["kind"], "ConfigMap");
        assert!(json["metadata"].get("managedFields").is_none(), "{json}");
        assert_eq!(json["metadata"]["annotations"], json!({"team": "x"}));
        assert_eq!(json["data"]["maxReplicas"], "3");
        assert!(to_resource(&cm, json!("not an object")).is_none());
    }
}
