//! RBAC: roles that grant dangerous rights, bindings that give them to the wrong subjects, and
//! chains of rights that end at cluster-admin.
//!
//! Rules on a Role or ClusterRole report the rule entry that grants the right and name the
//! bindings that make it live (from the RBAC model built once per scan from the index). Rules
//! on bindings report the subject or the role reference. Kubernetes' own default roles and
//! bindings (label `kubernetes.io/bootstrapping: rbac-defaults`) are not judged: they are the
//! same in every cluster and not the user's to change.
//!
//! The helpers shared by the rules of this folder live here; every other `.rs` file is a rule.

use std::sync::Arc;

use kspm_model::{FieldPath, Node, Resource};
use kspm_rbac::escalation::{self, Path};
use kspm_rbac::{PolicyRule, RbacModel, RoleKey, RoleKind, Subject, SubjectKind};

use crate::rule::Reporter;

pub mod approve_csr;
pub mod bind_escalate_impersonate;
pub mod cluster_admin_binding;
pub mod cluster_admin_workload;
pub mod coredns_configmap_write;
pub mod create_persistent_volumes;
pub mod create_pods;
pub mod create_service_account_token;
pub mod default_service_account_bound;
pub mod delete_events;
pub mod delete_workloads;
pub mod nodes_proxy;
pub mod pods_exec;
pub mod public_rbac_binding;
pub mod rbac_escalation_path;
pub mod secrets_access;
pub mod system_masters_binding;
pub mod webhook_configuration_access;
pub mod wildcard_rbac;

pub(crate) static RULES: &[&crate::Rule] = &[
    &cluster_admin_binding::RULE,
    &secrets_access::RULE,
    &wildcard_rbac::RULE,
    &create_pods::RULE,
    &default_service_account_bound::RULE,
    &system_masters_binding::RULE,
    &bind_escalate_impersonate::RULE,
    &create_persistent_volumes::RULE,
    &nodes_proxy::RULE,
    &approve_csr::RULE,
    &webhook_configuration_access::RULE,
    &create_service_account_token::RULE,
    &public_rbac_binding::RULE,
    &rbac_escalation_path::RULE,
    &pods_exec::RULE,
    &delete_workloads::RULE,
    &delete_events::RULE,
    &coredns_configmap_write::RULE,
    &cluster_admin_workload::RULE,
];

pub(crate) const ROLE_KINDS: &[&str] = &["Role", "ClusterRole"];
pub(crate) const BINDING_KINDS: &[&str] = &["RoleBinding", "ClusterRoleBinding"];

/// The RBAC model of the whole scan, built by the first rule that asks.
pub(crate) fn model(out: &Reporter<'_>) -> Arc<RbacModel> {
    out.index()
        .derived(|index| RbacModel::build(index.resources()))
}

/// Escalation paths of the whole scan (service accounts tied to workloads are not in the
/// index, so scan findings show the RBAC hops; `kspm rbac paths` adds the workloads).
pub(crate) struct ScanPaths(pub Vec<Path>);

pub(crate) fn escalation_paths(out: &Reporter<'_>) -> Arc<ScanPaths> {
    let edges = escalation_edges(out);
    out.index()
        .derived(|_| ScanPaths(escalation::paths_from_edges(&edges.0, &[])))
}

/// The escalation graph of the whole scan, built once: its one-hop edges to cluster-admin are
/// not paths (the rules on roles report them), but a workload holding one is still a target.
pub(crate) struct ScanEdges(pub Vec<escalation::Edge>);

pub(crate) fn escalation_edges(out: &Reporter<'_>) -> Arc<ScanEdges> {
    let model = model(out);
    out.index()
        .derived(|_| ScanEdges(escalation::edges(&model, &[])))
}

fn is_rbac(r: &Resource) -> bool {
    r.group() == "rbac.authorization.k8s.io"
}

/// Kubernetes' own defaults, reconciled by the API server at every start.
pub(crate) fn is_bootstrap_default(r: &Resource) -> bool {
    r.label("kubernetes.io/bootstrapping") == Some("rbac-defaults")
}

pub(crate) fn role_key(r: &Resource) -> Option<RoleKey> {
    let kind = match r.kind() {
        "Role" => RoleKind::Role,
        "ClusterRole" => RoleKind::ClusterRole,
        _ => return None,
    };
    Some(RoleKey {
        kind,
        namespace: (kind == RoleKind::Role).then(|| r.namespace().unwrap_or("default").to_owned()),
        name: r.name().to_owned(),
    })
}

/// "bound by RoleBinding a/x to ServiceAccount a/ci", or that no binding of the inputs uses it.
pub(crate) fn bound_by(model: &RbacModel, key: &RoleKey) -> String {
    let bindings: Vec<String> = model
        .bindings_of(key)
        .map(|b| {
            let subjects: Vec<String> = b.subjects.iter().map(ToString::to_string).collect();
            if subjects.is_empty() {
                format!("{} (no subjects)", b.id)
            } else {
                format!("{} to {}", b.id, subjects.join(", "))
            }
        })
        .collect();
    if bindings.is_empty() {
        "no binding among the scanned manifests uses it yet".to_owned()
    } else {
        format!("bound by {}", bindings.join("; "))
    }
}

/// Reports every entry of a role's `rules` for which `grants` describes a dangerous right.
pub(crate) fn check_role_rules(
    r: &Resource,
    out: &mut Reporter<'_>,
    grants: fn(&PolicyRule) -> Option<String>,
) {
    if !is_rbac(r) || is_bootstrap_default(r) {
        return;
    }
    let Some(key) = role_key(r) else { return };
    let Some(rules) = r.root.get("rules").and_then(Node::as_seq) else {
        return;
    };
    let hits: Vec<(usize, String)> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, n)| grants(&PolicyRule::from_node(n)).map(|d| (i, d)))
        .collect();
    if hits.is_empty() {
        return;
    }
    let model = model(out);
    let live = bound_by(&model, &key);
    for (i, what) in hits {
        out.report(
            FieldPath::root().key("rules").index(i),
            format!("{key} {what}; {live}"),
        );
    }
}

/// Whether a rule gives any of `verbs` on `resource` (`group` "" for core) or its subresource.
pub(crate) fn grants(
    rule: &PolicyRule,
    verbs: &[&str],
    group: &str,
    resource: &str,
    sub: &str,
) -> bool {
    verbs.iter().any(|v| rule.has_verb(v))
        && rule.has_group(group)
        && rule.has_resource(resource, sub)
}

/// The verbs of `wanted` the rule gives (`*` shown as such).
pub(crate) fn verbs_of(rule: &PolicyRule, wanted: &[&str]) -> String {
    if rule.verbs.iter().any(|v| v == "*") {
        return "every verb (*)".to_owned();
    }
    wanted
        .iter()
        .filter(|v| rule.has_verb(v))
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subjects of a binding with their field paths.
pub(crate) fn subjects(r: &Resource) -> Vec<(FieldPath, Subject)> {
    let ns = r.namespace().unwrap_or("default");
    r.root
        .get("subjects")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let name = s.get("name").and_then(Node::as_str)?;
            let subject = match s.get("kind").and_then(Node::as_str)? {
                "User" => Subject::user(name),
                "Group" => Subject::group(name),
                "ServiceAccount" => Subject::service_account(
                    s.get("namespace").and_then(Node::as_str).unwrap_or(ns),
                    name,
                ),
                _ => return None,
            };
            Some((FieldPath::root().key("subjects").index(i), subject))
        })
        .collect()
}

/// A binding the rules of this folder judge: RBAC group, not a Kubernetes default.
pub(crate) fn judged_binding(r: &Resource) -> bool {
    is_rbac(r) && !is_bootstrap_default(r)
}

pub(crate) fn role_ref(r: &Resource) -> (Option<&str>, Option<&str>) {
    let rr = r.root.get("roleRef");
    (
        rr.and_then(|n| n.get("kind")).and_then(Node::as_str),
        rr.and_then(|n| n.get("name")).and_then(Node::as_str),
    )
}

pub(crate) fn is_service_account(s: &Subject) -> bool {
    s.kind == SubjectKind::ServiceAccount
}

/// Service accounts whose rights make every workload running as them a bigger risk, with the
/// reasons in words: `(namespace, name)` → what they can do. Risk ranking uses it; the model is
/// the one the RBAC rules share (built once per scan).
pub fn dangerous_service_accounts(
    index: &kspm_model::Index<'_>,
) -> std::collections::HashMap<(String, String), Vec<String>> {
    let model = index.derived(|index| RbacModel::build(index.resources()));
    let mut out = std::collections::HashMap::new();
    for subject in model.subjects() {
        let Some(ns) = subject.namespace.clone() else {
            continue;
        };
        if subject.kind != kspm_rbac::SubjectKind::ServiceAccount {
            continue;
        }
        let mut why: Vec<String> = Vec::new();
        let mut note = |s: &str| {
            if !why.iter().any(|w| w == s) {
                why.push(s.to_owned());
            }
        };
        for p in model.permissions(&subject) {
            let everywhere = p.via.namespace.is_none();
            let core = p.rule.has_group("");
            if p.rule.is_full_wildcard() {
                note(if everywhere {
                    "has every right in the cluster (cluster-admin)"
                } else {
                    "has every right in its namespace"
                });
            }
            if everywhere
                && core
                && p.rule.has_resource("secrets", "")
                && (p.rule.has_verb("get") || p.rule.has_verb("list"))
            {
                note("can read Secrets in every namespace");
            }
            if everywhere && core && p.rule.has_resource("pods", "") && p.rule.has_verb("create") {
                note("can create pods in every namespace");
            }
            if ["bind", "escalate", "impersonate"]
                .iter()
                .any(|v| p.rule.verbs.iter().any(|x| x == v))
            {
                note("can bind, escalate or impersonate");
            }
        }
        if !why.is_empty() {
            out.insert((ns, subject.name.clone()), why);
        }
    }
    out
}
