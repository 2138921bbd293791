use super::{check_role_rules, grants};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `bind` or `escalate` on roles or cluster
    /// roles, or `impersonate` on users, groups, service accounts or user ids.
    ///
    /// ## Why is this bad?
    /// These verbs exist to get around RBAC's own protection against escalation. `bind` lets a
    /// subject bind a role with rights it does not have; `escalate` lets it add rights it does
    /// not have to a role; `impersonate` lets it act as another user, group (including
    /// `system:masters`) or service account. Each one is a path to cluster-admin.
    ///
    /// ## Remediation
    /// Remove the verb. Controllers that manage RBAC need `bind` only on the roles they hand
    /// out: list those in `resourceNames`. Impersonation belongs to a few audited proxies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: sudo
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["users", "groups"]
    ///   verbs: ["impersonate"]
    /// ```
    pub const RULE = {
        code: "RB007",
        slug: "bind-escalate-impersonate",
        title: "Role allows bind, escalate or impersonate",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_8, nsa::RBAC, mitre::PRIVILEGE_ESCALATION, mitre::ACCOUNT_MANIPULATION],
        equivalents: ["kubescape:C-0191", "trivy:KSV-0043"],
        fix: false,
        default: true,
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

fn dangerous(rule: &PolicyRule) -> Option<String> {
    let mut what = Vec::new();
    for verb in ["bind", "escalate"] {
        let on: Vec<&str> = ["roles", "clusterroles"]
            .into_iter()
            .filter(|r| grants(rule, &[verb], RBAC, r, ""))
            .collect();
        if !on.is_empty() {
            what.push(format!("{verb} on {}", on.join(", ")));
        }
    }
    let imp: Vec<&str> = [
        ("users", ""),
        ("groups", ""),
        ("serviceaccounts", ""),
        ("uids", "authentication.k8s.io"),
        ("userextras", "authentication.k8s.io"),
    ]
    .into_iter()
    .filter(|(r, g)| grants(rule, &["impersonate"], g, r, ""))
    .map(|(r, _)| r)
    .collect();
    if !imp.is_empty() {
        what.push(format!("impersonate on {}", imp.join(", ")));
    }
    if what.is_empty() {
        return None;
    }
    let names = if rule.resource_names.is_empty() {
        String::new()
    } else {
        format!(" (limited to {})", rule.resource_names.join(", "))
    };
    Some(format!("allows {}{names}", what.join("; ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, dangerous);
}
