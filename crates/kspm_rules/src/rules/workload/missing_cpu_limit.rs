use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags init and regular containers without `resources.limits.cpu`. Ephemeral
    /// (debug) containers are skipped: the API does not let them declare resources.
    ///
    /// Off by default: CPU limits are contested practice (a limit throttles a container even
    /// when the node has idle CPU, and many operators set requests only), so WL019
    /// (`resources-incomplete`) does not ask for them. Select it where your policy requires CPU
    /// limits; selected alongside WL019, its findings fold into WL019's.
    ///
    /// ## Why is this bad?
    /// Without a CPU limit a container may use every idle core of its node. A bug, a traffic spike
    /// or a compromised process (a cryptominer is the classic) then starves the other pods on the
    /// node, and the NSA/CISA guide lists resource limits among the basic separation controls.
    ///
    /// ## Remediation
    /// Set `resources.limits.cpu`, or give the namespace a `LimitRange` with a `default` limit and a
    /// `ResourceQuota`. Some teams deliberately leave CPU unlimited to avoid throttling and rely on
    /// requests alone; they can disable this rule.
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
    ///         resources:
    ///           requests: {memory: 128Mi}
    ///           limits: {memory: 128Mi}
    /// ```
    pub const RULE = {
        code: "WL003",
        slug: "missing-cpu-limit",
        title: "Container has no CPU limit",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::RESOURCE_POLICIES, mitre::RESOURCE_HIJACKING, mitre::ENDPOINT_DOS, soc2::A1_1,
            iso27001::A8_6, nist::SC_5, gdpr::ART32_1_B,
        ],
        equivalents: ["checkov:CKV_K8S_11", "polaris:cpuLimitsMissing", "kube-score:container-resources", "kubeaudit:limits", "trivy:KSV-0011"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    super::check_resource(c, out, "limits", "cpu");
}
