use super::{check_role_rules, grants};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `create` on `serviceaccounts/token`.
    ///
    /// ## Why is this bad?
    /// The TokenRequest API issues a fresh token for a service account: whoever can call it
    /// acts as every service account the rule covers (every one of the namespace, without
    /// `resourceNames`), with all their rights, for as long as the token lives.
    ///
    /// ## Remediation
    /// Remove the right, or limit it with `resourceNames` to the accounts a controller must
    /// issue tokens for.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: token-issuer
    ///   namespace: ci
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["serviceaccounts/token"]
    ///   verbs: ["create"]
    /// ```
    pub const RULE = {
        code: "RB012",
        slug: "create-service-account-token",
        title: "Role allows creating service account tokens",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_13, nsa::RBAC, mitre::STEAL_TOKEN],
        equivalents: ["kubescape:C-0282"],
        fix: false,
        default: true,
    }
}

fn token(rule: &PolicyRule) -> Option<String> {
    grants(rule, &["create"], "", "serviceaccounts", "token").then(|| {
        if rule.resource_names.is_empty() {
            "allows creating tokens for every service account it covers (serviceaccounts/token)"
                .to_owned()
        } else {
            format!(
                "allows creating tokens for service accounts {}",
                rule.resource_names.join(", ")
            )
        }
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, token);
}
