use super::{escalation_paths, judged_binding, subjects};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Finds subjects that are not cluster-admin by their own bindings but can become it in
    /// several steps: create pods or workloads in a namespace and run them as a powerful
    /// service account there, create service account tokens, impersonate users or groups,
    /// exec into pods of a powerful workload, or create role bindings with `bind` or roles
    /// with `escalate`. The finding sits on the binding that gives the first step and shows
    /// the whole path. Kubernetes' own identities (`system:` users and groups, `kube-system`
    /// service accounts) are not reported as starting points.
    ///
    /// `kspm rbac paths` shows the same paths with the workloads that run as each service
    /// account, and `kspm rbac graph` draws them.
    ///
    /// ## Why is this bad?
    /// RBAC reviews look at one role at a time, and each step looks harmless alone: a CI
    /// account that "only deploys to prod" is cluster-admin when a prod service account is.
    /// Attackers chain exactly these steps.
    ///
    /// ## Remediation
    /// Break the chain at its cheapest link: take the first right away from the subject,
    /// move the powerful service account to a namespace the subject cannot deploy to, or
    /// reduce that account's rights.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata: {name: deployer, namespace: prod}
    /// rules:
    /// - apiGroups: ["apps"]
    ///   resources: ["deployments"]
    ///   verbs: ["create"]
    /// ---
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: RoleBinding
    /// metadata: {name: ci-deploys, namespace: prod}
    /// subjects:
    /// - {kind: ServiceAccount, name: builder, namespace: ci}
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
    /// ---
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata: {name: prod-admin}
    /// subjects:
    /// - {kind: ServiceAccount, name: operator, namespace: prod}
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    /// ```
    pub const RULE = {
        code: "RB014",
        slug: "rbac-escalation-path",
        title: "Subject can escalate to cluster-admin in several steps",
        severity: Critical,
        category: Rbac,
        check: Check::Object { kinds: super::BINDING_KINDS, check },
        frameworks: [nsa::RBAC, mitre::PRIVILEGE_ESCALATION],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) {
        return;
    }
    let subs = subjects(r);
    if subs.is_empty() {
        return;
    }
    let paths = escalation_paths(out);
    let ns = (r.kind() == "RoleBinding").then(|| r.join_namespace());
    for p in &paths.0 {
        let Some(via) = p.steps.first().and_then(|s| s.via.as_ref()) else {
            continue;
        };
        if via.binding.kind != r.kind()
            || via.binding.name != r.name()
            || via.binding.namespace.as_deref() != ns
        {
            continue;
        }
        if let Some((path, _)) = subs.iter().find(|(_, s)| *s == p.start) {
            out.report(path.clone(), format!("escalation path: {}", p.describe()));
        }
    }
}
