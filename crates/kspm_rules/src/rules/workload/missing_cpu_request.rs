use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags init and regular containers without `resources.requests.cpu`. Ephemeral
    /// (debug) containers are skipped: the API does not let them declare resources.
    ///
    /// Off by default: WL019 (`resources-incomplete`) reports every missing request and limit
    /// of a container in one finding. Selected alongside it, this rule's findings fold into
    /// WL019's.
    ///
    /// ## Why is this bad?
    /// The scheduler places pods by their requests. A container without a CPU request counts as
    /// needing nothing: it can land on a node that is already full and then compete for CPU with
    /// everything else there, and under pressure it is throttled first. Capacity planning and
    /// the quality-of-service class of the pod both depend on requests.
    ///
    /// ## Remediation
    /// Set `resources.requests.cpu` to what the container needs at steady state (look at its usage
    /// metrics). A namespace `LimitRange` with `defaultRequest` also fills it in at admission.
    /// When `resources.limits.cpu` is set and the request is not, the API server copies the limit
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
    ///           requests: {memory: 128Mi}
    ///           limits: {memory: 128Mi}
    /// ```
    pub const RULE = {
        code: "WL001",
        slug: "missing-cpu-request",
        title: "Container has no CPU request",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::RESOURCE_POLICIES, soc2::A1_1, iso27001::A8_6,
        ],
        equivalents: ["checkov:CKV_K8S_10", "polaris:cpuRequestsMissing", "kube-score:container-resources", "trivy:KSV-0015"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    super::check_resource(c, out, "requests", "cpu");
}
