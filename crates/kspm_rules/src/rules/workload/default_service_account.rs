use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that run as their namespace's `default` service account: `serviceAccountName`
    /// (or the deprecated `serviceAccount`) is missing, empty or `default`. A pod that does not
    /// get the account's token — its own `automountServiceAccountToken: false`, or the `default`
    /// ServiceAccount in the scan disabling it while the pod leaves the field unset — does not
    /// use the account and is not reported.
    ///
    /// ## Why is this bad?
    /// Every pod of the namespace that names no account shares the `default` one. Any permission
    /// granted to it (a RoleBinding added for one tool, a chart that binds it) is silently given
    /// to all of them, and audit logs cannot tell the workloads apart.
    ///
    /// ## Remediation
    /// Create a ServiceAccount per workload, grant it only what the workload needs, and set
    /// `serviceAccountName`. For workloads that never call the API, setting
    /// `automountServiceAccountToken: false` is enough. Also set
    /// `automountServiceAccountToken: false` on each namespace's `default` account.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector:
    ///     matchLabels: {app: web}
    ///   template:
    ///     metadata:
    ///       labels: {app: web}
    ///     spec:
    ///       containers:
    ///       - name: web
    ///         image: nginx:1.27
    /// ```
    pub const RULE = {
        code: "WL011",
        slug: "default-service-account",
        title: "Pod uses the default service account",
        severity: Low,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_1_5, nsa::SERVICE_ACCOUNT_TOKENS, soc2::CC6_3, pci::R7_2_2, pci::R8_2_2,
            iso27001::A5_15, nist::AC_2, mitre::VALID_ACCOUNTS,
        ],
        equivalents: ["kubeaudit:asat"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let (account, path, named) = super::service_account(pod);
    if account != "default" || !super::token_mounted(pod, out.index(), account) {
        return;
    }
    let message = if named {
        let field = if pod
            .get("serviceAccountName")
            .and_then(Node::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            "serviceAccountName"
        } else {
            "serviceAccount"
        };
        format!(
            "the pod runs as the namespace's default service account ({field}: default) with its token mounted"
        )
    } else {
        "the pod names no service account, so it runs as the namespace's default one with its token mounted".to_owned()
    };
    out.report(path, message);
}
