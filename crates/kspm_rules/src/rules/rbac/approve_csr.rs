use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `update` or `patch` on the `approval`
    /// subresource of CertificateSigningRequests, when the approval can take effect: the API
    /// server also requires `approve` on the request's signer (`signers` in
    /// `certificates.k8s.io`), so the rule is reported only when the same role grants that, or
    /// a subject bound to the role holds it through another binding among the scanned
    /// manifests. The message names the verbs the rule grants.
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
    /// - apiGroups: ["certificates.k8s.io"]
    ///   resources: ["signers"]
    ///   verbs: ["approve"]
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
    grants(rule, &["update", "patch"], GROUP, "certificatesigningrequests", "approval").then(|| {
        format!(
            "allows approving CertificateSigningRequests ({} on certificatesigningrequests/approval)",
            verbs_of(rule, &["update", "patch"])
        )
    })
}

fn approves_signers(rule: &PolicyRule) -> bool {
    grants(rule, &["approve"], GROUP, "signers", "")
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let own = r
        .root
        .get("rules")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .any(|n| approves_signers(&PolicyRule::from_node(n)));
    // Without `approve` on a signer the approval is refused, unless a subject of this role
    // holds that right through another binding.
    let elsewhere = || {
        let Some(key) = super::role_key(r) else {
            return false;
        };
        let model = super::model(out);
        model.bindings_of(&key).any(|b| {
            b.subjects.iter().any(|s| {
                model
                    .grants_of(s)
                    .any(|g| g.rules.iter().any(approves_signers))
            })
        })
    };
    if !own && !elsewhere() {
        return;
    }
    check_role_rules(r, out, approval);
}
