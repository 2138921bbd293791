use super::unmasked_proc_mount::user_namespace_relaxed;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods whose containers are not required to run as a non-root user, as the Pod Security
    /// Standards restricted profile demands (CIS 5.2.7):
    ///
    /// - a container whose effective `runAsNonRoot` is not `true`: neither it nor the pod sets it
    ///   (the container's value overrides the pod's), reported once per container;
    /// - `runAsNonRoot: false` set explicitly, on a container or on the pod — a pod-level `false`
    ///   is reported even when every container overrides it, as upstream.
    ///
    /// `runAsUser` alone does not satisfy the profile. From Kubernetes 1.35 pods with their own user
    /// namespace (`spec.hostUsers: false`) are exempt, as upstream.
    ///
    /// ## Why is this bad?
    /// Most images still run as root by default. Root in a container owns its filesystem, can use
    /// every capability left to it, and is root on the node after any escape or through a hostPath
    /// mount. `runAsNonRoot: true` makes the kubelet refuse to start a container whose user would be
    /// UID 0.
    ///
    /// ## Remediation
    /// Set `securityContext.runAsNonRoot: true` on the pod (or on each container), and build images
    /// with a numeric non-root `USER`, or set `runAsUser` to one.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     securityContext:
    ///       runAsUser: 10001
    /// ```
    pub const RULE = {
        code: "PS020",
        slug: "run-as-non-root-not-set",
        title: "Container may run as root (runAsNonRoot is not true)",
        severity: Medium,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_7, pss::RESTRICTED_RUNNING_AS_NON_ROOT, nsa::NON_ROOT, pci::R2_2_6,
            iso27001::A8_2, nist::AC_6,
        ],
        equivalents: ["trivy:KSV-0012"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if user_namespace_relaxed(pod, out) {
        return;
    }
    let pod_value = pod.security("runAsNonRoot").and_then(Node::as_bool);
    if pod_value == Some(false) {
        let path = pod.path_to(&["securityContext", "runAsNonRoot"]);
        out.report(path.clone(), "the pod sets runAsNonRoot: false")
            .with_fix(Fix::new("set the pod's runAsNonRoot to true").set(path, json!(true)));
    }
    for c in pod.containers() {
        let own = c.security("runAsNonRoot").and_then(Node::as_bool);
        let message = match (own, pod_value) {
            (Some(true), _) | (None, Some(true)) => continue,
            (Some(false), _) => format!("{} sets runAsNonRoot: false", c.describe()),
            (None, Some(false)) => {
                format!("{} inherits runAsNonRoot: false from the pod", c.describe())
            }
            (None, None) => format!(
                "{} does not set runAsNonRoot: true, and neither does the pod",
                c.describe()
            ),
        };
        let path = c.path_to(&["securityContext", "runAsNonRoot"]);
        out.report(path.clone(), message)
            .with_fix(Fix::new("set runAsNonRoot to true").set(path, json!(true)));
    }
}
