use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags init and regular containers without `resources.limits.memory`. Ephemeral
    /// (debug) containers are skipped: the API does not let them declare resources.
    ///
    /// Off by default: WL019 (`resources-incomplete`) reports every missing request and limit
    /// of a container in one finding. Selected alongside it, this rule's findings fold into
    /// WL019's.
    ///
    /// ## Why is this bad?
    /// Without a memory limit a leaking or compromised container can take all the memory of its
    /// node. The kernel's out-of-memory killer then picks victims among the node's pods, and
    /// the kubelet evicts others: one workload takes its neighbours down.
    ///
    /// ## Remediation
    /// Set `resources.limits.memory` (commonly equal to the request, which gives predictable
    /// behaviour), or give the namespace a `LimitRange` with a `default` limit.
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
    ///           requests: {cpu: 250m}
    ///           limits: {cpu: 500m}
    /// ```
    pub const RULE = {
        code: "WL004",
        slug: "missing-memory-limit",
        title: "Container has no memory limit",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::RESOURCE_POLICIES, mitre::RESOURCE_HIJACKING, mitre::ENDPOINT_DOS, soc2::A1_1,
            iso27001::A8_6, nist::SC_5, gdpr::ART32_1_B,
        ],
        equivalents: ["checkov:CKV_K8S_13", "polaris:memoryLimitsMissing", "kube-score:container-resources", "kubeaudit:limits", "trivy:KSV-0018"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    super::check_resource(c, out, "limits", "memory");
}
