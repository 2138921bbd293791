use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that share the host's process ID namespace (`spec.hostPID: true`).
    ///
    /// ## Why is this bad?
    /// Every process on the node becomes visible to the containers. With the right privileges
    /// they can be signalled, traced, or have their environment and memory read — including
    /// other pods' secrets. It is one of the classic container escape routes.
    ///
    /// ## Remediation
    /// Remove `hostPID` from the pod spec, or set it to `false`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: debug
    /// spec:
    ///   hostPID: true
    ///   containers:
    ///   - name: shell
    ///     image: busybox:1.36
    /// ```
    pub const RULE = {
        code: "PS001",
        slug: "host-pid",
        title: "Pod shares the host PID namespace",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_3, pss::BASELINE_HOST_NAMESPACES, nsa::HOST_NAMESPACES,
            mitre::ESCAPE_TO_HOST, pci::R2_2_6, iso27001::A8_2, nist::SC_39, nist::AC_6,
            gdpr::ART32_1_B, hipaa::ACCESS_CONTROL,
        ],
        equivalents: ["checkov:CKV_K8S_17", "polaris:hostPIDSet", "trivy:KSV-0010", "kubeaudit:hostns"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("hostPID").and_then(Node::as_bool) == Some(true) {
        let path = pod.path_to(&["hostPID"]);
        out.report(
            path.clone(),
            "the pod shares the host's process ID namespace (hostPID: true)",
        )
        .with_fix(Fix::new("remove hostPID").remove(path));
    }
}
