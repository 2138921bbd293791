use super::{judged_binding, role_ref, subjects};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags bindings that grant a role to `system:anonymous`, `system:unauthenticated` or
    /// `system:authenticated`. Kubernetes' own discovery bindings (label
    /// `kubernetes.io/bootstrapping: rbac-defaults`) are not reported.
    ///
    /// ## Why is this bad?
    /// `system:unauthenticated` and `system:anonymous` are whoever reaches the API server;
    /// `system:authenticated` is every user and every service account of every namespace,
    /// so every pod that mounts a token. A right granted to them is granted to an attacker
    /// with any foothold.
    ///
    /// ## Remediation
    /// Bind the role to the users, groups or service accounts that need it.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: everyone-reads
    /// subjects:
    /// - kind: Group
    ///   name: system:authenticated
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: view
    /// ```
    pub const RULE = {
        code: "RB013",
        slug: "public-rbac-binding",
        title: "Binding grants rights to anonymous or all authenticated users",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::BINDING_KINDS, check },
        frameworks: [nsa::RBAC, mitre::VALID_ACCOUNTS],
        equivalents: ["kubescape:C-0262"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) {
        return;
    }
    let (kind, name) = role_ref(r);
    let role = format!("{} {}", kind.unwrap_or("role"), name.unwrap_or("?"));
    for (path, s) in subjects(r) {
        if s.is_public() {
            let who = if s.name == "system:authenticated" {
                "every authenticated user and service account"
            } else {
                "anyone who can reach the API server, without credentials"
            };
            out.report(path, format!("{} gives {role} to {s}: {who}", r.id));
        }
    }
}
