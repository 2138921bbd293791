use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Checks the kube-controller-manager's flags against the CIS Kubernetes Benchmark section
    /// 1.3, in its static pod (`/etc/kubernetes/manifests/kube-controller-manager.yaml`, or the
    /// same pod in `kube-system`). Each finding names the benchmark item it fails:
    ///
    /// | CIS | expects |
    /// |---|---|
    /// | 1.3.2 | `--profiling=false` |
    /// | 1.3.3 | `--use-service-account-credentials=true` |
    /// | 1.3.4 | `--service-account-private-key-file` |
    /// | 1.3.5 | `--root-ca-file` |
    /// | 1.3.6 | `--feature-gates` does not turn `RotateKubeletServerCertificate` off |
    /// | 1.3.7 | `--bind-address=127.0.0.1` (unset means `0.0.0.0`, every address) |
    ///
    /// ## Why is this bad?
    /// Without per-controller service account credentials every controller acts with the
    /// controller manager's full rights; without the signing key and root CA, pods cannot get
    /// verifiable service account tokens; profiling and a non-local bind address expose
    /// internals to the network.
    ///
    /// ## Remediation
    /// Edit the controller manager's static pod manifest on each control-plane node and set the
    /// flag the finding names.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: kube-controller-manager
    ///   namespace: kube-system
    /// spec:
    ///   containers:
    ///   - name: kube-controller-manager
    ///     image: registry.k8s.io/kube-controller-manager:v1.31.0
    ///     command:
    ///     - kube-controller-manager
    ///     - --bind-address=0.0.0.0
    ///     - --use-service-account-credentials=false
    /// ```
    pub const RULE = {
        code: "CP002",
        slug: "controller-manager-insecure-setting",
        title: "Controller manager flag weakens the cluster (CIS 1.3)",
        severity: High,
        category: ControlPlane,
        check: Check::Component { component: Component::ControllerManager, check },
        frameworks: [
            cis::C1_3_2, cis::C1_3_3, cis::C1_3_4, cis::C1_3_5, cis::C1_3_6, cis::C1_3_7,
            nsa::CONTROL_PLANE, nsa::AUTHENTICATION,
            soc2::CC6_3, soc2::CC6_6, pci::R2_2_4, pci::R7_2_5,
            iso27001::A8_2, iso27001::A8_9, iso27001::A8_20,
            nist::AC_6, nist::CM_7, nist::SC_7, nist::SC_12,
        ],
        equivalents: [
            "kube-bench:1.3.x", "kubescape:C-0145", "kubescape:C-0146", "kubescape:C-0147",
            "kubescape:C-0148", "kubescape:C-0149", "kubescape:C-0150",
        ],
        fix: false,
        default: true,
    }
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{High, Low, Medium};
    out.judge(
        &[
            &cis::C1_3_2,
            &nsa::CONTROL_PLANE,
            &pci::R2_2_4,
            &iso27001::A8_9,
            &nist::CM_7,
        ],
        Low,
        v.expect("profiling", "false", "true"),
    );
    out.judge(
        &[
            &cis::C1_3_3,
            &nsa::AUTHENTICATION,
            &soc2::CC6_3,
            &pci::R7_2_5,
            &iso27001::A8_2,
            &nist::AC_6,
        ],
        High,
        v.expect("use-service-account-credentials", "true", "false"),
    );
    out.judge(
        &[&cis::C1_3_4, &nist::SC_12],
        Medium,
        v.require(&["service-account-private-key-file"]),
    );
    out.judge(
        &[&cis::C1_3_5, &nist::SC_12],
        Medium,
        v.require(&["root-ca-file"]),
    );
    out.judge(
        &[&cis::C1_3_6, &nist::SC_12],
        Medium,
        v.list_lacks("feature-gates", "RotateKubeletServerCertificate=false"),
    );
    out.judge(
        &[
            &cis::C1_3_7,
            &nsa::CONTROL_PLANE,
            &soc2::CC6_6,
            &iso27001::A8_20,
            &nist::SC_7,
        ],
        Medium,
        v.expect("bind-address", "127.0.0.1", "0.0.0.0"),
    );
}
