use super::{Hit, check_role_rules_with};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules with `*` in `verbs`, `resources`, `apiGroups` or
    /// `nonResourceURLs`, at the first field holding the wildcard.
    ///
    /// An entry with `*` verbs on `*` resources in `*` groups (and no `resourceNames`) is
    /// cluster-admin's shape: it is reported once, on the whole entry, as critical, and the
    /// findings of the other RBAC rules on that entry (secrets, pods, bind, nodes/proxy...) are
    /// folded into it (listed in its message, `--show-folded` and the JSON, and still failing
    /// their controls). As for every RBAC rule, a grant that stops at one namespace (a Role, or
    /// a ClusterRole only RoleBindings use) or at named objects (`resourceNames`) is one
    /// severity step lower.
    ///
    /// ## Why is this bad?
    /// A wildcard grants everything that exists now and everything added later: a new
    /// resource type, a new subresource such as `pods/exec` or `serviceaccounts/token`, a new
    /// verb such as `escalate`. Nobody reviewing the role can tell what it really allows.
    ///
    /// ## Remediation
    /// List the API groups, resources and verbs the subject needs.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: operator
    /// rules:
    /// - apiGroups: ["apps"]
    ///   resources: ["*"]
    ///   verbs: ["*"]
    /// ```
    pub const RULE = {
        code: "RB003",
        slug: "wildcard-rbac",
        title: "Role uses wildcards",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_3, nsa::RBAC],
        equivalents: ["kubescape:C-0187", "trivy:KSV-0044", "trivy:KSV-0045", "trivy:KSV-0046", "checkov:CKV_K8S_49"],
        fix: false,
        default: true,
    }
}

fn wildcards(rule: &PolicyRule, in_namespace: bool) -> Option<Hit> {
    if rule.is_full_wildcard() {
        let equivalent = if in_namespace {
            "admin of its namespace, RBAC included"
        } else {
            "cluster-admin equivalent"
        };
        return Some(Hit {
            what: format!(
                "grants every verb on every resource in every API group ({rule}): {equivalent}"
            ),
            field: None,
            severity: Some(Severity::Critical),
        });
    }
    let star = |v: &[String]| v.iter().any(|x| x == "*");
    let mut fields = Vec::new();
    for (name, values) in [
        ("verbs", &rule.verbs),
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
        ("nonResourceURLs", &rule.non_resource_urls),
    ] {
        if star(values) {
            fields.push(name);
        }
    }
    let first = *fields.first()?;
    Some(Hit {
        what: format!("uses `*` in {} ({rule})", fields.join(", ")),
        field: Some(first),
        severity: None,
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules_with(r, out, wildcards);
}
