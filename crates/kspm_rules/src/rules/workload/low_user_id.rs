use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose effective `runAsUser` (the container's, else the pod's) is between
    /// 1 and 9999. User 0 is root and is left to the run-as-root rule; a container that sets no
    /// `runAsUser` runs as its image's user, which kspm cannot see, and is not reported. Off by
    /// default.
    ///
    /// ## Why is this bad?
    /// Low user IDs are the ones the host and common images assign to real accounts and system
    /// daemons. If a container escapes or shares a volume with the host, files and processes it
    /// creates belong to an existing host user, and it gains that user's access. A high,
    /// dedicated ID (10000 or above) collides with nothing.
    ///
    /// ## Remediation
    /// Set `securityContext.runAsUser` (and `runAsGroup`) to a dedicated value of 10000 or more,
    /// and build the image so that it works under an arbitrary high UID.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   securityContext:
    ///     runAsUser: 1000
    ///   containers:
    ///   - name: web
    ///     image: example/web:3.0
    /// ```
    pub const RULE = {
        code: "WL015",
        slug: "low-user-id",
        title: "Container runs with a low user ID",
        severity: Low,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [
            nsa::NON_ROOT, nist::AC_6,
        ],
        equivalents: ["checkov:CKV_K8S_40", "kube-score:container-security-context-user-group-id", "trivy:KSV-0020"],
        fix: false,
        default: false,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let low = |node: &Node| node.as_i64().filter(|uid| (1..10000).contains(uid));
    // Containers that inherit a low pod-level user share one finding at the pod's field.
    let mut inheriting = Vec::new();
    for c in pod.containers() {
        if let Some(node) = c.security("runAsUser").filter(|n| !n.is_null()) {
            if let Some(uid) = low(node) {
                out.report(
                    c.path_to(&["securityContext", "runAsUser"]),
                    format!("{} runs as user ID {uid}, below 10000", c.describe()),
                );
            }
        } else if pod.security("runAsUser").and_then(low).is_some() {
            inheriting.push(c.describe());
        }
    }
    if let Some(uid) = pod.security("runAsUser").and_then(low)
        && !inheriting.is_empty()
    {
        out.report(
            pod.path_to(&["securityContext", "runAsUser"]),
            format!(
                "{} {} as user ID {uid} (set for the pod), below 10000",
                inheriting.join(", "),
                if inheriting.len() == 1 { "runs" } else { "run" }
            ),
        );
    }
}
