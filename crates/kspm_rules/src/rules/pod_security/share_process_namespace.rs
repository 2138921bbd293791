use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods whose containers share one process namespace (`spec.shareProcessNamespace: true`).
    ///
    /// This is not a host namespace: only the pod's own containers see each other. No Pod Security
    /// Standards profile forbids it.
    ///
    /// ## Why is this bad?
    /// Every container sees and can signal the others' processes, and — running as the same user
    /// or with `SYS_PTRACE` — read their environment, memory and root filesystem through
    /// `/proc/<pid>/`. A compromised sidecar (log shipper, proxy, debug tool) thereby reaches the
    /// main application's secrets, and the pause container no longer isolates PID 1.
    ///
    /// ## Remediation
    /// Remove `shareProcessNamespace`, or set it to `false`. Use an ephemeral debug container
    /// targeting one container (`kubectl debug --target`) instead of sharing all the time.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   shareProcessNamespace: true
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///   - name: log-shipper
    ///     image: example/shipper:1.0
    /// ```
    pub const RULE = {
        code: "PS023",
        slug: "share-process-namespace",
        title: "Pod containers share one process namespace",
        severity: Medium,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            nist::SC_39,
        ],
        equivalents: [],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("shareProcessNamespace").and_then(Node::as_bool) == Some(true) {
        let path = pod.path_to(&["shareProcessNamespace"]);
        out.report(
            path.clone(),
            "the pod's containers share one process namespace (shareProcessNamespace: true)",
        )
        .with_fix(Fix::new("remove shareProcessNamespace").remove(path));
    }
}
