use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags init and regular containers that lack a CPU request, a memory request or a memory
    /// limit, with one finding per container naming everything missing. A missing request does
    /// not count when the matching limit is set (the API server copies the limit into the
    /// request). Ephemeral (debug) containers are skipped: the API does not let them declare
    /// resources. CPU limits are not asked for: they are contested practice (they throttle a
    /// container even on an idle node); select WL003 (`missing-cpu-limit`) where your policy
    /// requires them.
    ///
    /// ## Why is this bad?
    /// Without requests the scheduler places the pod blind and the kubelet evicts it first
    /// under pressure; without a memory limit a leaking or compromised container can take all
    /// the memory of its node, and the out-of-memory killer then picks victims among its
    /// neighbours. Each missing field is one line of the same fix, so they are one finding.
    ///
    /// ## Remediation
    /// Set `resources.requests.cpu`, `resources.requests.memory` and `resources.limits.memory`
    /// (commonly the memory limit equal to the request), or give the namespace a `LimitRange`
    /// with `defaultRequest` and `default` values.
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
    /// ```
    pub const RULE = {
        code: "WL019",
        slug: "resources-incomplete",
        title: "Container lacks resource requests or a memory limit",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::RESOURCE_POLICIES, mitre::RESOURCE_HIJACKING, mitre::ENDPOINT_DOS, soc2::A1_1,
            iso27001::A8_6, nist::SC_5, gdpr::ART32_1_B,
        ],
        // Only the checks that judge all of a container's resources at once: the single-field
        // checks of other scanners map to WL001-WL004, which fold into this finding.
        equivalents: ["kube-score:container-resources"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let missing: Vec<&str> = [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "memory"),
    ]
    .into_iter()
    .filter(|(section, resource)| super::resource_missing(c, section, resource))
    .map(|(section, resource)| super::resource_words(section, resource))
    .collect();
    if missing.is_empty() {
        return;
    }
    out.report(
        c.path_to(&["resources"]),
        format!("{} has no {}", c.describe(), missing.join(", ")),
    );
}
