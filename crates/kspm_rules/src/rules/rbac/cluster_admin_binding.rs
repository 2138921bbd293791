use super::{judged_binding, role_ref, subjects};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags RoleBindings and ClusterRoleBindings that bind the `cluster-admin` ClusterRole to
    /// subjects other than Kubernetes' own: `system:` users and groups, and the service
    /// accounts the controller manager creates in `kube-system` for its controllers
    /// (`deployment-controller`, `namespace-controller`...). Any other account, in `kube-system`
    /// or not (a `cloud-controller-manager`, an add-on, kube-system's `default`), is reported:
    /// being in `kube-system` says where it lives, not who made it. Kubernetes' default
    /// `cluster-admin` binding to `system:masters` is not reported.
    ///
    /// ## Why is this bad?
    /// `cluster-admin` allows every verb on every resource. Bound with a ClusterRoleBinding it
    /// is the whole cluster, every Secret included; bound with a RoleBinding it is every right
    /// in the namespace, including editing its RBAC. A leaked token or compromised pod of such
    /// a subject is a cluster takeover.
    ///
    /// ## Remediation
    /// Bind a role with only the rights the subject needs (`edit`, `view`, or a custom Role),
    /// and keep cluster-admin for break-glass accounts.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: ci-admin
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: ci
    ///   namespace: ci
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: cluster-admin
    /// ```
    pub const RULE = {
        code: "RB001",
        slug: "cluster-admin-binding",
        title: "cluster-admin is bound to a non-system subject",
        severity: Critical,
        category: Rbac,
        check: Check::Object { kinds: super::BINDING_KINDS, check },
        frameworks: [cis::C5_1_1, nsa::RBAC, mitre::VALID_ACCOUNTS],
        equivalents: ["kubescape:C-0185", "trivy:KSV-0111"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) || role_ref(r) != (Some("ClusterRole"), Some("cluster-admin")) {
        return;
    }
    let who: Vec<String> = subjects(r)
        .into_iter()
        .filter(|(_, s)| !super::created_by_kubernetes(s))
        .map(|(_, s)| s.to_string())
        .collect();
    if who.is_empty() {
        return;
    }
    let scope = match r.namespace() {
        Some(ns) if r.kind() == "RoleBinding" => format!("every right in namespace {ns}"),
        _ => "every right in the cluster".to_owned(),
    };
    out.report(
        FieldPath::root().keys(&["roleRef", "name"]),
        format!("{} gives {scope} to {}", r.id, who.join(", ")),
    );
}
