use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that use the host's network namespace (`spec.hostNetwork: true`).
    ///
    /// ## Why is this bad?
    /// The containers get the node's network interfaces: they can sniff traffic of every pod on
    /// the node, bind any port of the node, reach services listening only on the node's loopback
    /// (the kubelet's read-only port, local admin endpoints), and bypass NetworkPolicies, which
    /// do not apply to host-network pods.
    ///
    /// ## Remediation
    /// Remove `hostNetwork` from the pod spec, or set it to `false`. Expose the workload through a
    /// Service (NodePort or LoadBalancer) instead of the node's ports.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: DaemonSet
    /// metadata:
    ///   name: exporter
    /// spec:
    ///   selector:
    ///     matchLabels: {app: exporter}
    ///   template:
    ///     metadata:
    ///       labels: {app: exporter}
    ///     spec:
    ///       hostNetwork: true
    ///       containers:
    ///       - name: exporter
    ///         image: example/exporter:1.0
    /// ```
    pub const RULE = {
        code: "PS003",
        slug: "host-network",
        title: "Pod uses the host network namespace",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_5, pss::BASELINE_HOST_NAMESPACES, nsa::HOST_NAMESPACES,
            mitre::NETWORK_SNIFFING, pci::R2_2_6, iso27001::A8_22, nist::SC_39, nist::SC_7,
            gdpr::ART32_1_B,
        ],
        equivalents: ["checkov:CKV_K8S_19", "polaris:hostNetworkSet", "trivy:KSV-0009", "kubeaudit:hostns"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
        let path = pod.path_to(&["hostNetwork"]);
        out.report(
            path.clone(),
            "the pod uses the host's network namespace (hostNetwork: true)",
        )
        .with_fix(Fix::new("remove hostNetwork").remove(path));
    }
}
