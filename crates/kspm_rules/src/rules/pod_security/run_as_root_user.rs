use super::unmasked_proc_mount::user_namespace_relaxed;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags `securityContext.runAsUser: 0` on the pod or on any container, which the Pod Security
    /// Standards restricted profile forbids. A pod-level `0` is reported even when every container
    /// overrides it, as upstream. From Kubernetes 1.35 pods with their own user namespace
    /// (`spec.hostUsers: false`) are exempt, as upstream.
    ///
    /// ## Why is this bad?
    /// It asks for root explicitly: whatever user the image was built with, the process runs as
    /// UID 0, with every capability left to the container and root's ownership of its files — and
    /// of any host file reachable through a mount or an escape.
    ///
    /// ## Remediation
    /// Remove `runAsUser: 0` and run as a non-root UID: the fix removes the field and sets
    /// `runAsNonRoot: true` at the same level, so that the kubelet refuses to start the container
    /// if the image's own user is root (set `runAsUser` to a non-zero UID, such as 10001, where the
    /// image has no suitable user).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   securityContext:
    ///     runAsUser: 0
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    /// ```
    pub const RULE = {
        code: "PS021",
        slug: "run-as-root-user",
        title: "Pod or container runs as UID 0",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_7, pss::RESTRICTED_RUNNING_AS_NON_ROOT_USER, nsa::NON_ROOT, pci::R2_2_6,
            iso27001::A8_2, nist::AC_6,
        ],
        equivalents: ["trivy:KSV-0105"],
        fix: true,
        default: true,
    }
}

fn fix(security_context: &FieldPath) -> Fix {
    Fix::new("remove runAsUser: 0 and set runAsNonRoot: true")
        .remove(security_context.key("runAsUser"))
        .set(security_context.key("runAsNonRoot"), json!(true))
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if user_namespace_relaxed(pod, out) {
        return;
    }
    if pod.security("runAsUser").and_then(Node::as_i64) == Some(0) {
        let sc = pod.path_to(&["securityContext"]);
        out.report(
            sc.key("runAsUser"),
            "the pod sets runAsUser: 0 (root) for its containers",
        )
        .with_fix(fix(&sc));
    }
    for c in pod.containers() {
        if c.security("runAsUser").and_then(Node::as_i64) == Some(0) {
            let sc = c.path_to(&["securityContext"]);
            out.report(
                sc.key("runAsUser"),
                format!("{} sets runAsUser: 0 (root)", c.describe()),
            )
            .with_fix(fix(&sc));
        }
    }
}
