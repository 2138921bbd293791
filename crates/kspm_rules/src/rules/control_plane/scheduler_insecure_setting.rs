use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Checks the kube-scheduler's flags against the CIS Kubernetes Benchmark section 1.4, in
    /// its static pod (`/etc/kubernetes/manifests/kube-scheduler.yaml`, or the same pod in
    /// `kube-system`):
    ///
    /// | CIS | expects |
    /// |---|---|
    /// | 1.4.1 | `--profiling=false` |
    /// | 1.4.2 | `--bind-address=127.0.0.1` (unset means `0.0.0.0`, every address) |
    ///
    /// ## Why is this bad?
    /// The profiling endpoint reveals the scheduler's internals and costs resources; a
    /// scheduler listening on every address exposes its health and metrics endpoints beyond the
    /// node.
    ///
    /// ## Remediation
    /// Edit the scheduler's static pod manifest on each control-plane node: set
    /// `--profiling=false` and `--bind-address=127.0.0.1`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: kube-scheduler
    ///   namespace: kube-system
    /// spec:
    ///   containers:
    ///   - name: kube-scheduler
    ///     image: registry.k8s.io/kube-scheduler:v1.31.0
    ///     command: [kube-scheduler, --bind-address=0.0.0.0]
    /// ```
    pub const RULE = {
        code: "CP003",
        slug: "scheduler-insecure-setting",
        title: "Scheduler flag weakens the cluster (CIS 1.4)",
        severity: Medium,
        category: ControlPlane,
        check: Check::Component { component: Component::Scheduler, check },
        frameworks: [
            cis::C1_4_1, cis::C1_4_2, nsa::CONTROL_PLANE, soc2::CC6_6, pci::R2_2_4,
            iso27001::A8_9, iso27001::A8_20, nist::CM_7, nist::SC_7,
        ],
        equivalents: ["kube-bench:1.4.x", "kubescape:C-0151", "kubescape:C-0152"],
        fix: false,
        default: true,
    }
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    out.judge(
        &[
            &cis::C1_4_1,
            &nsa::CONTROL_PLANE,
            &pci::R2_2_4,
            &iso27001::A8_9,
            &nist::CM_7,
        ],
        Severity::Low,
        v.expect("profiling", "false", "true"),
    );
    out.judge(
        &[
            &cis::C1_4_2,
            &nsa::CONTROL_PLANE,
            &soc2::CC6_6,
            &iso27001::A8_20,
            &nist::SC_7,
        ],
        Severity::Medium,
        v.expect("bind-address", "127.0.0.1", "0.0.0.0"),
    );
}
