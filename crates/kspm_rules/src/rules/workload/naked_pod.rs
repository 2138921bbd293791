use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Pod objects that no controller owns (no `metadata.ownerReferences`). Mirror pods of
    /// static pods (annotation `kubernetes.io/config.mirror`, seen in cluster scans) are managed
    /// by the kubelet and skipped. Off by default: one-off debugging pods are naked by design.
    ///
    /// ## Why is this bad?
    /// A bare pod is never recreated: when its node fails, is drained or is scaled down, the
    /// workload is simply gone. It cannot be rolled out, scaled or rolled back either.
    ///
    /// ## Remediation
    /// Run long-lived workloads through a Deployment, StatefulSet or DaemonSet, and
    /// run-to-completion tasks through a Job.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ```
    pub const RULE = {
        code: "WL018",
        slug: "naked-pod",
        title: "Pod is not managed by a controller",
        severity: Info,
        category: Workload,
        check: Check::Object { kinds: &["Pod"], check },
        frameworks: [
            soc2::A1_2,
        ],
        equivalents: ["polaris:nakedPod"],
        fix: false,
        default: false,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let owned = r
        .root
        .at(&["metadata", "ownerReferences"])
        .and_then(Node::as_seq)
        .is_some_and(|refs| !refs.is_empty());
    if owned || r.annotation("kubernetes.io/config.mirror").is_some() {
        return;
    }
    out.report(
        FieldPath::root().keys(&["metadata", "ownerReferences"]),
        format!(
            "Pod \"{}\" is not managed by a controller; nothing recreates it if its node fails",
            r.name()
        ),
    );
}
