//! RBAC: roles that grant dangerous rights, bindings that give them to the wrong subjects, and
//! chains of rights that end at cluster-admin.
//!
//! Rules on a Role or ClusterRole report the rule entry that grants the right and name the
//! bindings that make it live (from the RBAC model built once per scan from the index). Rules
//! on bindings report the subject or the role reference. Kubernetes' own default roles and
//! bindings (label `kubernetes.io/bootstrapping: rbac-defaults`) are not judged: they are the
//! same in every cluster and not the user's to change.
//!
//! A grant that stops at one namespace (a Role, or a ClusterRole only RoleBindings use) or at
//! named objects (`resourceNames`) is reported one severity step lower than the same grant on
//! every object of the cluster. Namespace-less Roles and bindings meet only the namespace-less
//! objects of their directory (`Resource::join_namespace`), never `default`'s.
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
        namespace: (kind == RoleKind::Role).then(|| r.join_namespace().to_owned()),
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
    check_role_rules_with(r, out, |rule, _| grants(rule).map(Hit::entry));
}

/// What a role rule grants that a rule flags.
pub(crate) struct Hit {
    pub what: String,
    /// The field of the entry that grants it (`verbs`); `None` for the whole entry.
    pub field: Option<&'static str>,
    /// Instead of the rule's severity, before narrow grants are lowered.
    pub severity: Option<kspm_model::Severity>,
}

impl Hit {
    pub(crate) fn entry(what: String) -> Self {
        Self {
            what,
            field: None,
            severity: None,
        }
    }
}

/// Whether a role's grants stop at one namespace: a Role, or a ClusterRole that only
/// RoleBindings among the scanned manifests use (an unbound ClusterRole could be bound
/// cluster-wide, so it is judged as such).
pub(crate) fn namespace_limited(model: &RbacModel, key: &RoleKey) -> bool {
    match key.kind {
        RoleKind::Role => true,
        RoleKind::ClusterRole => {
            let mut bindings = model.bindings_of(key).peekable();
            bindings.peek().is_some() && bindings.all(|b| b.id.namespace.is_some())
        }
    }
}

/// Reports each entry of a Role's `rules` that `grants` flags; `grants` is told whether the
/// role's reach stops at one namespace ([`namespace_limited`]). A grant limited to one
/// namespace or to named objects (`resourceNames`) is one severity step lower than the same
/// grant on every object of the cluster (never below low).
pub(crate) fn check_role_rules_with(
    r: &Resource,
    out: &mut Reporter<'_>,
    grants: impl Fn(&PolicyRule, bool) -> Option<Hit>,
) {
    if !is_rbac(r) || is_bootstrap_default(r) {
        return;
    }
    let Some(key) = role_key(r) else { return };
    let Some(rules) = r.root.get("rules").and_then(Node::as_seq) else {
        return;
    };
    let parsed: Vec<PolicyRule> = rules.iter().map(PolicyRule::from_node).collect();
    let model = model(out);
    let in_namespace = namespace_limited(&model, &key);
    let hits: Vec<(usize, &PolicyRule, Hit)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| grants(rule, in_namespace).map(|h| (i, rule, h)))
        .collect();
    if hits.is_empty() {
        return;
    }
    let live = bound_by(&model, &key);
    for (i, rule, hit) in hits {
        let entry = FieldPath::root().key("rules").index(i);
        let path = match hit.field {
            Some(field) => entry.key(field),
            None => entry,
        };
        let f = out.report(path, format!("{key} {}; {live}", hit.what));
        if let Some(severity) = hit.severity {
            f.severity = severity;
        }
        if in_namespace || !rule.resource_names.is_empty() {
            f.severity = one_lower(f.severity);
        }
    }
}

fn one_lower(s: kspm_model::Severity) -> kspm_model::Severity {
    use kspm_model::Severity::{Critical, High, Info, Low, Medium};
    match s {
        Critical => High,
        High => Medium,
        Medium | Low => Low,
        Info => Info,
    }
}

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
    let ns = r.join_namespace();
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

/// The service accounts the controller manager creates in `kube-system`, one per controller
/// (`--use-service-account-credentials`), as of Kubernetes 1.34.
const CONTROLLER_ACCOUNTS: &[&str] = &[
    "attachdetach-controller",
    "bootstrap-signer",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "token-cleaner",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
];

/// Whether Kubernetes itself created the subject: `system:` users and groups, and the
/// controller manager's own service accounts in `kube-system`. Narrower than
/// [`Subject::is_system`], which takes every `kube-system` account for Kubernetes'.
pub(crate) fn created_by_kubernetes(s: &Subject) -> bool {
    match s.kind {
        SubjectKind::ServiceAccount => {
            s.namespace.as_deref() == Some("kube-system")
                && CONTROLLER_ACCOUNTS.contains(&s.name.as_str())
        }
        _ => s.is_system(),
    }
}

pub(crate) fn is_service_account(s: &Subject) -> bool {
    s.kind == SubjectKind::ServiceAccount
}
