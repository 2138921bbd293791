use super::{is_service_account, judged_binding, role_ref, subjects};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags RoleBindings and ClusterRoleBindings that give a role to a namespace's `default`
    /// service account.
    ///
    /// ## Why is this bad?
    /// Every pod that does not name a service account runs as `default`, so rights granted to
    /// it go to every such pod of the namespace, including the ones nobody meant to have them
    /// (a debug pod, a third-party chart). CIS 5.1.5 asks that `default` stays without rights.
    ///
    /// ## Remediation
    /// Create a dedicated ServiceAccount for the workload that needs the rights, bind the role
    /// to it, and set `serviceAccountName` on that workload only.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: RoleBinding
    /// metadata:
    ///   name: default-edit
    ///   namespace: shop
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: default
    ///   namespace: shop
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: edit
    /// ```
    pub const RULE = {
        code: "RB005",
        slug: "default-service-account-bound",
        title: "Binding grants rights to a default service account",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::BINDING_KINDS, check },
        frameworks: [cis::C5_1_5, nsa::SERVICE_ACCOUNT_TOKENS],
        equivalents: ["kubescape:C-0189"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) {
        return;
    }
    let role = role_ref(r).1.unwrap_or("?");
    for (path, s) in subjects(r) {
        if is_service_account(&s) && s.name == "default" && !s.is_system() {
            out.report(
                path,
                format!(
                    "{} gives role {role} to the default service account of namespace {}: every pod there that names no service account gets it",
                    r.id,
                    s.namespace.as_deref().unwrap_or("default")
                ),
            );
        }
    }
}
