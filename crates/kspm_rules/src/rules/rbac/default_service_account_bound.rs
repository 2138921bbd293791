use super::{is_service_account, judged_binding, role_ref, subjects};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags RoleBindings and ClusterRoleBindings that give a role to a namespace's `default`
    /// service account. A role that grants only `use` on PodSecurityPolicies is not judged when
    /// the target version (`k8s_version`, by default the newest release) no longer serves that
    /// API (1.25 and later): the binding gives nothing.
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
    if only_removed_psp_use(r, out) {
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

/// Whether the bound role grants nothing but `use` on PodSecurityPolicies while the target
/// Kubernetes version no longer serves that API (removed in 1.25): such a binding gives the
/// account nothing (AP001 reports the policies themselves).
fn only_removed_psp_use(r: &Resource, out: &Reporter<'_>) -> bool {
    if out.settings().k8s_version < crate::KubeVersion::new(1, 25) {
        return false;
    }
    let (Some(kind), Some(name)) = role_ref(r) else {
        return false;
    };
    let key = match kind {
        "ClusterRole" => kspm_rbac::RoleKey {
            kind: kspm_rbac::RoleKind::ClusterRole,
            namespace: None,
            name: name.to_owned(),
        },
        "Role" => kspm_rbac::RoleKey {
            kind: kspm_rbac::RoleKind::Role,
            namespace: Some(r.join_namespace().to_owned()),
            name: name.to_owned(),
        },
        _ => return false,
    };
    let model = super::model(out);
    let Some(rules) = model.roles.get(&key) else {
        return false;
    };
    !rules.is_empty()
        && rules.iter().all(|rule| {
            rule.non_resource_urls.is_empty()
                && !rule.verbs.is_empty()
                && rule.verbs.iter().all(|v| v == "use")
                && !rule.api_groups.is_empty()
                && rule
                    .api_groups
                    .iter()
                    .all(|g| g == "policy" || g == "extensions")
                && !rule.resources.is_empty()
                && rule.resources.iter().all(|x| x == "podsecuritypolicies")
        })
}
