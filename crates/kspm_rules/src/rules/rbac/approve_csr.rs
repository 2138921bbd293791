use super::{check_role_rules, grants};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `update` or `patch` on the `approval`
    /// subresource of CertificateSigningRequests.
    ///
    /// ## Why is this bad?
    /// Approving a certificate signing request makes the cluster CA sign it. With the
    /// matching `approve` right on a signer, a subject can approve its own request for a
    /// client certificate naming any user or group, `system:masters` included, and so obtain
    /// credentials that outlive any RBAC change.
    ///
    /// ## Remediation
    /// Leave approval to the controller manager's approvers and to the few controllers that
    /// need it (limited with `resourceNames` on the signer).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: csr-approver
    /// rules:
    /// - apiGroups: ["certificates.k8s.io"]
    ///   resources: ["certificatesigningrequests/approval"]
    ///   verbs: ["update"]
    /// ```
    pub const RULE = {
        code: "RB010",
        slug: "approve-csr",
        title: "Role allows approving certificate signing requests",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_11, nsa::RBAC, mitre::VALID_ACCOUNTS],
        equivalents: ["kubescape:C-0280"],
        fix: false,
        default: true,
    }
}

const GROUP: &str = "certificates.k8s.io";

fn approval(rule: &PolicyRule) -> Option<String> {
    grants(rule, &["update", "patch"], GROUP, "certificatesigningrequests", "approval")
        .then(|| "allows approving CertificateSigningRequests (update on certificatesigningrequests/approval)".to_owned())
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, approval);
}
