use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags regular containers of long-running workloads without a `livenessProbe`.
    ///
    /// Only long-running pods are judged: Jobs, CronJobs and pods whose `restartPolicy` is
    /// `Never` or `OnFailure` run to completion and are skipped, as are init containers (they
    /// must exit) and ephemeral debug containers (which cannot have probes).
    ///
    /// ## Why is this bad?
    /// Without a liveness probe the kubelet only notices that a container died when its process
    /// exits. A process that deadlocks, leaks into an unusable state or stops serving while still
    /// running is never restarted, and the service degrades until someone notices.
    ///
    /// ## Remediation
    /// Add a `livenessProbe` that checks what the application needs to serve (an HTTP health
    /// endpoint, a TCP port, a gRPC health service or a command). Keep it cheap, and make the
    /// timeouts and thresholds tolerate a slow start (or add a `startupProbe`).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: api
    /// spec:
    ///   selector:
    ///     matchLabels: {app: api}
    ///   template:
    ///     metadata:
    ///       labels: {app: api}
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: example/api:4.2
    ///         ports:
    ///         - containerPort: 8080
    /// ```
    pub const RULE = {
        code: "WL005",
        slug: "missing-liveness-probe",
        title: "Container has no liveness probe",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            soc2::A1_2,
        ],
        equivalents: ["checkov:CKV_K8S_8", "polaris:livenessProbeMissing"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if !super::long_running(c) || c.get("livenessProbe").is_some_and(|p| !p.is_null()) {
        return;
    }
    out.report(
        c.path_to(&["livenessProbe"]),
        format!("{} has no liveness probe", c.describe()),
    );
}
