use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Checks etcd's flags against the CIS Kubernetes Benchmark section 2, in its static pod
    /// (`/etc/kubernetes/manifests/etcd.yaml`, or the same pod in `kube-system`). Application
    /// etcd clusters in other namespaces are not judged.
    ///
    /// | CIS | expects |
    /// |---|---|
    /// | 2.1 | `--cert-file` and `--key-file` |
    /// | 2.2 | `--client-cert-auth=true` |
    /// | 2.3 | `--auto-tls` not true |
    /// | 2.4 | `--peer-cert-file` and `--peer-key-file` |
    /// | 2.5 | `--peer-client-cert-auth=true` |
    /// | 2.6 | `--peer-auto-tls` not true |
    ///
    /// ## Why is this bad?
    /// etcd holds every object of the cluster, Secrets included. Without TLS and client
    /// certificate authentication anyone who reaches its port reads and writes the cluster's
    /// state, bypassing the API server's authentication, authorization and audit; self-signed
    /// automatic certificates authenticate nobody.
    ///
    /// ## Remediation
    /// Edit etcd's static pod manifest on each etcd member: serve client and peer traffic with
    /// certificates from a dedicated CA and require client certificates (kubeadm does this).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: etcd
    ///   namespace: kube-system
    /// spec:
    ///   containers:
    ///   - name: etcd
    ///     image: registry.k8s.io/etcd:3.5.15-0
    ///     command: [etcd, --auto-tls=true, --listen-client-urls=https://0.0.0.0:2379]
    /// ```
    pub const RULE = {
        code: "CP004",
        slug: "etcd-insecure-setting",
        title: "etcd flag weakens the cluster (CIS 2)",
        severity: Critical,
        category: ControlPlane,
        check: Check::Component { component: Component::Etcd, check },
        frameworks: [
            cis::C2_1, cis::C2_2, cis::C2_3, cis::C2_4, cis::C2_5, cis::C2_6,
            nsa::ETCD, mitre::UNSECURED_CREDENTIALS,
            soc2::CC6_1, soc2::CC6_7, pci::R2_2_7, pci::R8_3_1, hipaa::TRANSMISSION,
            hipaa::AUTHENTICATION, gdpr::ART32_1_A, iso27001::A8_5, iso27001::A8_21,
            iso27001::A8_24, nist::IA_2, nist::SC_8,
        ],
        equivalents: [
            "kube-bench:2.1", "kube-bench:2.2", "kube-bench:2.3", "kube-bench:2.4",
            "kube-bench:2.5", "kube-bench:2.6", "kubescape:C-0153", "kubescape:C-0154",
            "kubescape:C-0155", "kubescape:C-0156", "kubescape:C-0157", "kubescape:C-0158",
        ],
        fix: false,
        default: true,
    }
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{Critical, High};
    out.judge(
        &[
            &cis::C2_1,
            &nsa::ETCD,
            &soc2::CC6_7,
            &pci::R2_2_7,
            &hipaa::TRANSMISSION,
            &gdpr::ART32_1_A,
            &iso27001::A8_24,
            &nist::SC_8,
        ],
        Critical,
        v.require(&["cert-file", "key-file"]),
    );
    out.judge(
        &[
            &cis::C2_2,
            &nsa::ETCD,
            &mitre::UNSECURED_CREDENTIALS,
            &soc2::CC6_1,
            &pci::R8_3_1,
            &hipaa::AUTHENTICATION,
            &iso27001::A8_5,
            &nist::IA_2,
        ],
        Critical,
        v.expect("client-cert-auth", "true", "false"),
    );
    out.judge(
        &[&cis::C2_3, &nsa::ETCD, &iso27001::A8_21, &nist::SC_8],
        High,
        v.expect("auto-tls", "false", "false"),
    );
    out.judge(
        &[
            &cis::C2_4,
            &nsa::ETCD,
            &soc2::CC6_7,
            &iso27001::A8_24,
            &nist::SC_8,
        ],
        High,
        v.require(&["peer-cert-file", "peer-key-file"]),
    );
    out.judge(
        &[&cis::C2_5, &nsa::ETCD, &iso27001::A8_5, &nist::IA_2],
        High,
        v.expect("peer-client-cert-auth", "true", "false"),
    );
    out.judge(
        &[&cis::C2_6, &nsa::ETCD, &iso27001::A8_21, &nist::SC_8],
        High,
        v.expect("peer-auto-tls", "false", "false"),
    );
}
