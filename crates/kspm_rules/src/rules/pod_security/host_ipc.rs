use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that share the host's IPC namespace (`spec.hostIPC: true`).
    ///
    /// ## Why is this bad?
    /// The containers see the node's System V shared memory segments, semaphores and message
    /// queues, and POSIX shared memory under `/dev/shm`. Any host process or other host-IPC pod
    /// that keeps data there (databases, caches, inter-process buffers) can be read or tampered
    /// with from the container.
    ///
    /// ## Remediation
    /// Remove `hostIPC` from the pod spec, or set it to `false`. Containers of the same pod already
    /// share an IPC namespace with each other.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: shm-reader
    /// spec:
    ///   hostIPC: true
    ///   containers:
    ///   - name: app
    ///     image: busybox:1.36
    /// ```
    pub const RULE = {
        code: "PS002",
        slug: "host-ipc",
        title: "Pod shares the host IPC namespace",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_4, pss::BASELINE_HOST_NAMESPACES, nsa::HOST_NAMESPACES,
            mitre::ESCAPE_TO_HOST, pci::R2_2_6, iso27001::A8_2, nist::SC_39, nist::AC_6,
            gdpr::ART32_1_B,
        ],
        equivalents: ["checkov:CKV_K8S_18", "polaris:hostIPCSet", "trivy:KSV-0008", "kubeaudit:hostns"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("hostIPC").and_then(Node::as_bool) == Some(true) {
        let path = pod.path_to(&["hostIPC"]);
        out.report(
            path.clone(),
            "the pod shares the host's IPC namespace (hostIPC: true)",
        )
        .with_fix(Fix::new("remove hostIPC").remove(path));
    }
}
