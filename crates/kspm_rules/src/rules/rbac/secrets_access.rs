use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow reading Secrets: `get`, `list` or `watch` on
    /// `secrets` (or `*`) in the core group, with or without `resourceNames`. The finding
    /// names the bindings that give the role to subjects.
    ///
    /// ## Why is this bad?
    /// Secrets hold passwords, API keys, TLS keys and, in older clusters, service account
    /// tokens. `list` and `watch` return every Secret's data, not only names; whoever holds the
    /// role holds every credential of its namespace (or of the cluster, for a ClusterRole bound
    /// cluster-wide).
    ///
    /// ## Remediation
    /// Mount the Secrets a workload needs instead of reading them through the API. When a
    /// controller must read them, limit the rule to the Secrets it needs with `resourceNames`
    /// and to `get`, and bind it in one namespace with a RoleBinding.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: secret-reader
    ///   namespace: shop
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["secrets"]
    ///   verbs: ["get", "list"]
    /// ```
    pub const RULE = {
        code: "RB002",
        slug: "secrets-access",
        title: "Role allows reading Secrets",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_2, nsa::RBAC, mitre::UNSECURED_CREDENTIALS],
        equivalents: ["kubescape:C-0015", "kubescape:C-0186", "trivy:KSV-0041", "checkov:CKV2_K8S_5"],
        fix: false,
        default: true,
    }
}

const VERBS: &[&str] = &["get", "list", "watch"];

fn secrets(rule: &PolicyRule) -> Option<String> {
    grants(rule, VERBS, "", "secrets", "").then(|| {
        let names = if rule.resource_names.is_empty() {
            String::new()
        } else {
            format!(" named {}", rule.resource_names.join(", "))
        };
        format!("allows {} on Secrets{names}", verbs_of(rule, VERBS))
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, secrets);
}
