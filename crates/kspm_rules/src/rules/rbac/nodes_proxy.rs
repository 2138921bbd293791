use super::{check_role_rules, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that give any verb on the `nodes/proxy` subresource
    /// (including through `*` or `*/proxy`).
    ///
    /// ## Why is this bad?
    /// `nodes/proxy` reaches the kubelet API of every node through the API server: listing
    /// pods, reading logs and, with `create` (or `get` over WebSocket on many versions),
    /// running commands in any container of the node. Requests through the proxy are not
    /// seen by admission control and are hard to audit.
    ///
    /// ## Remediation
    /// Remove the right. Monitoring agents that need kubelet metrics can use `nodes/metrics`
    /// and `nodes/stats` instead.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: node-debugger
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["nodes/proxy"]
    ///   verbs: ["get", "create"]
    /// ```
    pub const RULE = {
        code: "RB009",
        slug: "nodes-proxy",
        title: "Role allows the nodes/proxy subresource",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_10, nsa::RBAC, mitre::CONTAINER_ADMIN_COMMAND],
        equivalents: ["kubescape:C-0279"],
        fix: false,
        default: true,
    }
}

const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

fn proxy(rule: &PolicyRule) -> Option<String> {
    let any_verb = VERBS.iter().any(|v| rule.has_verb(v));
    (any_verb && rule.has_group("") && rule.has_resource("nodes", "proxy")).then(|| {
        format!(
            "allows {} on nodes/proxy (the kubelet API)",
            verbs_of(rule, VERBS)
        )
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, proxy);
}
