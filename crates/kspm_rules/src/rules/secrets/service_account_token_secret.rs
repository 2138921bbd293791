use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Secrets of type `kubernetes.io/service-account-token`: long-lived, non-expiring
    /// tokens that the token controller fills in for the ServiceAccount named in the
    /// `kubernetes.io/service-account.name` annotation. The Secret's data is never read.
    ///
    /// ## Why is this bad?
    /// Since Kubernetes 1.22 pods get short-lived, audience-bound tokens through the
    /// TokenRequest API, rotated by the kubelet. A token Secret never expires and is not bound
    /// to a pod: anyone who reads it once — from a backup, a `get secrets` permission, a leaked
    /// manifest dump — keeps the account's access until the Secret is deleted.
    ///
    /// ## Remediation
    /// Delete the Secret and let workloads use projected service account tokens (the default).
    /// For a client outside the cluster, issue a time-limited token with
    /// `kubectl create token <account> --duration=...` or the TokenRequest API.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: ci-token
    ///   annotations:
    ///     kubernetes.io/service-account.name: ci
    /// type: kubernetes.io/service-account-token
    /// ```
    pub const RULE = {
        code: "SC004",
        slug: "service-account-token-secret",
        title: "Secret holds a long-lived service account token",
        severity: Medium,
        category: Secrets,
        check: Check::Object { kinds: &["Secret"], check },
        frameworks: [
            nsa::SERVICE_ACCOUNT_TOKENS, mitre::STEAL_TOKEN, pci::R7_2_5, nist::AC_2, nist::IA_5,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.root.get("type").and_then(Node::as_str) != Some("kubernetes.io/service-account-token") {
        return;
    }
    let account = match r.annotation("kubernetes.io/service-account.name") {
        Some(name) => format!("service account \"{name}\""),
        None => "a service account".to_owned(),
    };
    out.report(
        FieldPath::root().key("type"),
        format!(
            "Secret \"{}\" holds a long-lived, non-expiring token for {account}",
            r.name()
        ),
    );
}
