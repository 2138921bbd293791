use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods and containers that run with the root group: `runAsGroup: 0` on the pod or a
    /// container, `fsGroup: 0`, or `0` in `supplementalGroups`. Each offending field is reported.
    ///
    /// No Pod Security Standards profile checks groups; this follows the Kubernetes hardening
    /// guidance and other scanners (kubeaudit, Trivy).
    ///
    /// ## Why is this bad?
    /// Group 0 owns most system files on a host and in images, and many images make their
    /// application directories writable by group 0. A process with GID 0 gets every permission
    /// granted to that group, inside the container and through any host mount, even when its user
    /// is not root. `fsGroup: 0` also makes the kubelet give group 0 ownership of every volume.
    ///
    /// ## Remediation
    /// Use a non-zero group: set `runAsGroup` and `fsGroup` to the application's group (for example
    /// 10001) and remove `0` from `supplementalGroups`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   securityContext:
    ///     runAsUser: 10001
    ///     runAsGroup: 0
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    /// ```
    pub const RULE = {
        code: "PS024",
        slug: "root-group",
        title: "Pod or container runs with the root group",
        severity: Medium,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            nsa::NON_ROOT, nist::AC_6,
        ],
        equivalents: ["trivy:KSV-0029"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let sc = pod.path_to(&["securityContext"]);
    for field in ["runAsGroup", "fsGroup"] {
        if pod.security(field).and_then(Node::as_i64) == Some(0) {
            out.report(
                sc.key(field),
                format!("the pod sets {field}: 0 (root group)"),
            );
        }
    }
    let groups = pod
        .security("supplementalGroups")
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    for (i, group) in groups.iter().enumerate() {
        if group.as_i64() == Some(0) {
            out.report(
                sc.key("supplementalGroups").index(i),
                "the pod adds the root group (0) to supplementalGroups",
            );
        }
    }
    for c in pod.containers() {
        if c.security("runAsGroup").and_then(Node::as_i64) == Some(0) {
            out.report(
                c.path_to(&["securityContext", "runAsGroup"]),
                format!("{} sets runAsGroup: 0 (root group)", c.describe()),
            );
        }
    }
}
