use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow creating, changing or deleting
    /// ValidatingWebhookConfigurations or MutatingWebhookConfigurations.
    ///
    /// ## Why is this bad?
    /// Admission webhooks see, and mutating ones rewrite, every object they match, Secrets
    /// included. Whoever edits them can switch off the policy engine that enforces pod
    /// security, or send every request to a server of their own that injects containers into
    /// new pods.
    ///
    /// ## Remediation
    /// Keep the right to the cluster's administrators and to the operator that owns each
    /// webhook, limited to its configuration with `resourceNames`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: webhook-admin
    /// rules:
    /// - apiGroups: ["admissionregistration.k8s.io"]
    ///   resources: ["mutatingwebhookconfigurations"]
    ///   verbs: ["create", "patch"]
    /// ```
    pub const RULE = {
        code: "RB011",
        slug: "webhook-configuration-access",
        title: "Role allows modifying admission webhook configurations",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_12, nsa::RBAC],
        equivalents: ["kubescape:C-0281"],
        fix: false,
        default: true,
    }
}

const GROUP: &str = "admissionregistration.k8s.io";
const VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

fn webhooks(rule: &PolicyRule) -> Option<String> {
    let on: Vec<&str> = [
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
    ]
    .into_iter()
    .filter(|r| grants(rule, VERBS, GROUP, r, ""))
    .collect();
    (!on.is_empty()).then(|| format!("allows {} on {}", verbs_of(rule, VERBS), on.join(", ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, webhooks);
}
