use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that run privileged (`securityContext.privileged: true`).
    ///
    /// ## Why is this bad?
    /// A privileged container has every capability, sees all host devices and runs without the
    /// seccomp, AppArmor and SELinux confinement the runtime normally applies. Root in such a
    /// container is root on the node: mounting the host disk or loading a kernel module is one
    /// command away.
    ///
    /// ## Remediation
    /// Remove `privileged: true`. Grant the specific capability the workload needs instead (and
    /// nothing else), or move node-administration tasks out of the workload.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: DaemonSet
    /// metadata:
    ///   name: agent
    /// spec:
    ///   selector:
    ///     matchLabels: {app: agent}
    ///   template:
    ///     metadata:
    ///       labels: {app: agent}
    ///     spec:
    ///       containers:
    ///       - name: agent
    ///         image: example/agent:2.1
    ///         securityContext:
    ///           privileged: true
    /// ```
    pub const RULE = {
        code: "PS004",
        slug: "privileged-container",
        title: "Container runs privileged",
        severity: Critical,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            cis::C5_2_2, pss::BASELINE_PRIVILEGED, nsa::PRIVILEGED, mitre::ESCAPE_TO_HOST,
            soc2::CC6_8, pci::R2_2_6, hipaa::ACCESS_CONTROL, gdpr::ART32_1_B, iso27001::A8_2,
            nist::AC_6, nist::SC_39,
        ],
        equivalents: ["checkov:CKV_K8S_16", "polaris:runAsPrivileged", "kube-score:container-security-context-privileged", "trivy:KSV-0017", "kubeaudit:privileged"],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if c.security("privileged").and_then(Node::as_bool) == Some(true) {
        let path = c.path_to(&["securityContext", "privileged"]);
        out.report(path.clone(), format!("{} runs privileged", c.describe()))
            .with_fix(Fix::new("set privileged to false").set(path, json!(false)));
    }
}
