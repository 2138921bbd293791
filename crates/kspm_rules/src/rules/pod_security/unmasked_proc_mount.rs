use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers with `securityContext.procMount` set to anything but `Default` (that is,
    /// `Unmasked`), in every container of the pod.
    ///
    /// From Kubernetes 1.35 the baseline profile allows it in pods with their own user namespace
    /// (`spec.hostUsers: false`), and so does this rule when the target version is 1.35 or later;
    /// the restricted profile still forbids it there.
    ///
    /// ## Why is this bad?
    /// The runtime masks and mounts read-only the parts of `/proc` that expose or control the host
    /// kernel (`/proc/kcore`, `/proc/sysrq-trigger`, `/proc/sys`...). An unmasked `/proc` gives a
    /// process in the host user namespace direct access to them.
    ///
    /// ## Remediation
    /// Remove `procMount`. Workloads that need an unmasked `/proc` (nested containers) should run
    /// with `hostUsers: false`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: builder
    /// spec:
    ///   containers:
    ///   - name: builder
    ///     image: example/builder:1.0
    ///     securityContext:
    ///       procMount: Unmasked
    /// ```
    pub const RULE = {
        code: "PS014",
        slug: "unmasked-proc-mount",
        title: "Container unmasks /proc",
        severity: High,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            pss::BASELINE_PROC_MOUNT, mitre::ESCAPE_TO_HOST, pci::R2_2_6, nist::SC_39,
        ],
        equivalents: ["polaris:procMount", "trivy:KSV-0027"],
        fix: true,
        default: true,
    }
}

/// Whether the pod runs in its own user namespace and the target version relaxes the checks
/// upstream relaxes for such pods (policy version 1.35).
pub(super) fn user_namespace_relaxed(pod: &PodSpec<'_>, out: &Reporter<'_>) -> bool {
    out.settings().k8s_version >= KubeVersion::new(1, 35)
        && pod.get("hostUsers").and_then(Node::as_bool) == Some(false)
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(mount) = c.security("procMount").and_then(Node::as_str) else {
        return;
    };
    if mount == "Default" || user_namespace_relaxed(c.pod, out) {
        return;
    }
    let path = c.path_to(&["securityContext", "procMount"]);
    out.report(
        path.clone(),
        format!("{} sets procMount \"{mount}\"", c.describe()),
    )
    .with_fix(Fix::new("remove procMount").remove(path));
}
