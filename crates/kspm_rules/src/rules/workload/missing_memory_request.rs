use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags init and regular containers without `resources.requests.memory`. Ephemeral
    /// (debug) containers are skipped: the API does not let them declare resources.
    ///
    /// Off by default: WL019 (`resources-incomplete`) reports every missing request and limit
    /// of a container in one finding. Selected alongside it, this rule's findings fold into
    /// WL019's.
    ///
    /// ## Why is this bad?
    /// The scheduler places pods by their requests. A container without a memory request counts as
    /// needing none: nodes get overcommitted, and when memory runs short the kubelet evicts the
    /// pods that use more than they requested first — this one.
    ///
    /// ## Remediation
    /// Set `resources.requests.memory` to the container's steady-state working set. A namespace
    /// `LimitRange` with `defaultRequest` also fills it in at admission. When
    /// `resources.limits.memory` is set and the request is not, the API server copies the limit
    /// into the request, so kspm does not report that case.
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
        code: "WL002",
        slug: "missing-memory-request",
        title: "Container has no memory request",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::RESOURCE_POLICIES, soc2::A1_1, iso27001::A8_6,
        ],
        equivalents: ["checkov:CKV_K8S_12", "polaris:memoryRequestsMissing", "kube-score:container-resources", "trivy:KSV-0016"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    super::check_resource(c, out, "requests", "memory");
}
