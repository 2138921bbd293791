use super::{judged_binding, subjects};
use crate::prelude::*;
use kspm_rbac::Subject;

declare_rule! {
    /// ## What it does
    /// Flags bindings whose subjects include the group `system:masters`.
    ///
    /// ## Why is this bad?
    /// Members of `system:masters` bypass authorization altogether: no binding, Role or
    /// webhook can limit them, and their client certificates cannot be revoked short of
    /// rotating the cluster CA. A binding that names the group is at best redundant and at
    /// worst a sign that workflows rely on it; CIS 5.1.7 asks that it is not used outside
    /// break-glass access.
    ///
    /// ## Remediation
    /// Remove the subject. Give administrators a group of your own, bound to the role they
    /// need, and issue `system:masters` credentials only for emergencies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: masters-view
    /// subjects:
    /// - kind: Group
    ///   name: system:masters
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: view
    /// ```
    pub const RULE = {
        code: "RB006",
        slug: "system-masters-binding",
        title: "Binding names the system:masters group",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::BINDING_KINDS, check },
        frameworks: [cis::C5_1_7, nsa::RBAC],
        equivalents: ["kubescape:C-0246"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) {
        return;
    }
    for (path, s) in subjects(r) {
        if s == Subject::group("system:masters") {
            out.report(
                path,
                format!(
                    "{} names the group system:masters, whose members bypass authorization",
                    r.id
                ),
            );
        }
    }
}
