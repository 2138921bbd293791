use crate::component::{CIS_STRONG_CIPHERS_CONTROL_PLANE, weak_ciphers};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Checks the kube-apiserver's flags against the CIS Kubernetes Benchmark section 1.2, in
    /// its static pod (`/etc/kubernetes/manifests/kube-apiserver.yaml`, or the same pod in
    /// `kube-system`). Each finding names the benchmark item it fails:
    ///
    /// | CIS | expects |
    /// |---|---|
    /// | 1.2.1 | `--anonymous-auth=false` (unset means true) |
    /// | 1.2.2 | no `--token-auth-file` |
    /// | 1.2.4 | `--kubelet-client-certificate` and `--kubelet-client-key` |
    /// | 1.2.5 | `--kubelet-certificate-authority` |
    /// | 1.2.6 | `--authorization-mode` set, without `AlwaysAllow` |
    /// | 1.2.7 | `--authorization-mode` includes `Node` |
    /// | 1.2.8 | `--authorization-mode` includes `RBAC` |
    /// | 1.2.10 | `--enable-admission-plugins` without `AlwaysAdmit` |
    /// | 1.2.12 | `--disable-admission-plugins` without `ServiceAccount` |
    /// | 1.2.13 | `--disable-admission-plugins` without `NamespaceLifecycle` |
    /// | 1.2.14 | `--enable-admission-plugins` includes `NodeRestriction` |
    /// | 1.2.15 | `--profiling=false` |
    /// | 1.2.16 | `--audit-log-path` |
    /// | 1.2.17 | `--audit-log-maxage` at least 30 |
    /// | 1.2.18 | `--audit-log-maxbackup` at least 10 |
    /// | 1.2.19 | `--audit-log-maxsize` at least 100 |
    /// | 1.2.21 | `--service-account-lookup` not false |
    /// | 1.2.22 | `--service-account-key-file` |
    /// | 1.2.23 | `--etcd-certfile` and `--etcd-keyfile` |
    /// | 1.2.24 | `--tls-cert-file` and `--tls-private-key-file` |
    /// | 1.2.25 | `--client-ca-file` |
    /// | 1.2.26 | `--etcd-cafile` |
    /// | 1.2.27 | `--encryption-provider-config` |
    /// | 1.2.29 | `--tls-cipher-suites` only from CIS's strong list (unset: Go's defaults, strong from Kubernetes 1.30; any list passes with `--tls-min-version=VersionTLS13`) |
    /// | 2.7 | `--etcd-cafile` is not the `--client-ca-file`: etcd has its own CA |
    /// | 3.2.1 | `--audit-policy-file` (without a policy nothing is audited) |
    /// | — | `--service-account-extend-token-expiration=false` (unset means true: tokens injected by admission live a year) |
    /// | — | `--secure-port` not 0 (unset means 6443) |
    ///
    /// An unset flag is judged by the API server's default, as it would run. With
    /// `--authorization-config` (structured authorization) the authorizers live in that file, so
    /// 1.2.6-1.2.8 are not judged; with `--authentication-config`, 1.2.1 is not. 2.7 compares
    /// paths: two paths holding the same CA are not detected, and without both flags it is not
    /// judged. The content of the audit policy and of the encryption configuration is not read
    /// (3.2.2 and 1.2.28 stay manual).
    ///
    /// Managed control planes (EKS, GKE, AKS) do not show their API server; there the items are
    /// reported as not applicable, never as failures.
    ///
    /// ## Why is this bad?
    /// The API server is the front door of the cluster. Without client certificates and
    /// authorization every request is trusted; without TLS to etcd and the kubelets, the
    /// cluster's secrets and exec sessions cross the network in the clear; without audit logs
    /// nobody can tell afterwards who did what; profiling endpoints leak internals.
    ///
    /// ## Remediation
    /// Edit the API server's static pod manifest on each control-plane node and set the flag the
    /// finding names (the kubelet restarts the API server when the file changes). kubeadm sets
    /// most of them; the audit flags need an audit policy file and a log volume.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: kube-apiserver
    ///   namespace: kube-system
    /// spec:
    ///   containers:
    ///   - name: kube-apiserver
    ///     image: registry.k8s.io/kube-apiserver:v1.31.0
    ///     command:
    ///     - kube-apiserver
    ///     - --authorization-mode=AlwaysAllow
    ///     - --profiling=true
    /// ```
    pub const RULE = {
        code: "CP001",
        slug: "apiserver-insecure-setting",
        title: "API server flag weakens the cluster (CIS 1.2)",
        severity: Critical,
        category: ControlPlane,
        check: Check::Component { component: Component::ApiServer, check },
        frameworks: [
            cis::C1_2_2, cis::C1_2_4, cis::C1_2_5, cis::C1_2_6, cis::C1_2_7, cis::C1_2_8,
            cis::C1_2_10, cis::C1_2_12, cis::C1_2_13, cis::C1_2_14, cis::C1_2_15, cis::C1_2_16,
            cis::C1_2_17, cis::C1_2_18, cis::C1_2_19, cis::C1_2_21, cis::C1_2_22, cis::C1_2_23,
            cis::C1_2_24, cis::C1_2_25, cis::C1_2_26, cis::C1_2_1, cis::C1_2_27, cis::C1_2_29,
            cis::C2_7, cis::C3_2_1,
            nsa::AUTHENTICATION, nsa::KUBELET, nsa::CONTROL_PLANE, nsa::AUDIT_LOGGING, nsa::ETCD,
            mitre::VALID_ACCOUNTS,
            soc2::CC6_1, soc2::CC6_3, soc2::CC6_7, soc2::CC7_2,
            pci::R2_2_4, pci::R2_2_7, pci::R7_2_1, pci::R8_3_1, pci::R10_2_1,
            hipaa::ACCESS_CONTROL, hipaa::ACCESS_AUTHORIZATION, hipaa::AUDIT_CONTROLS,
            hipaa::ACTIVITY_REVIEW, hipaa::AUTHENTICATION, hipaa::TRANSMISSION,
            gdpr::ART32_1_A,
            iso27001::A5_15, iso27001::A5_17, iso27001::A8_5, iso27001::A8_9, iso27001::A8_15,
            iso27001::A8_24,
            nist::AC_2, nist::AC_3, nist::AC_6, nist::AU_2, nist::AU_4, nist::AU_11, nist::CM_6,
            nist::CM_7, nist::IA_2, nist::IA_5, nist::SC_8, nist::SC_12,
        ],
        equivalents: [
            "kube-bench:1.2.x", "kube-bench:2.7", "kube-bench:3.2.1", "kubescape:C-0113",
            "kubescape:C-0114", "kubescape:C-0116", "kubescape:C-0117", "kubescape:C-0118",
            "kubescape:C-0119", "kubescape:C-0120", "kubescape:C-0122", "kubescape:C-0125",
            "kubescape:C-0126", "kubescape:C-0127", "kubescape:C-0129", "kubescape:C-0130",
            "kubescape:C-0131", "kubescape:C-0132", "kubescape:C-0133", "kubescape:C-0135",
            "kubescape:C-0136", "kubescape:C-0137", "kubescape:C-0138", "kubescape:C-0139",
            "kubescape:C-0140", "kubescape:C-0141", "kubescape:C-0159", "kubescape:C-0160",
        ],
        fix: false,
        default: true,
    }
}

fn authorization_mode(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{Critical, High, Medium};
    out.judge(
        &[
            &cis::C1_2_6,
            &nsa::AUTHENTICATION,
            &soc2::CC6_1,
            &pci::R7_2_1,
            &hipaa::ACCESS_CONTROL,
            &iso27001::A5_15,
            &nist::AC_3,
        ],
        Critical,
        v.list_lacks("authorization-mode", "AlwaysAllow")
            .or_else(|| {
                v.require(&["authorization-mode"])
                    .map(|(p, m)| (p, format!("{m}: every request is authorized (AlwaysAllow)")))
            }),
    );
    out.judge(
        &[
            &cis::C1_2_7,
            &nsa::AUTHENTICATION,
            &soc2::CC6_3,
            &nist::AC_6,
        ],
        Medium,
        v.list_has("authorization-mode", "Node", &["AlwaysAllow"]),
    );
    out.judge(
        &[
            &cis::C1_2_8,
            &nsa::AUTHENTICATION,
            &soc2::CC6_3,
            &pci::R7_2_1,
            &hipaa::ACCESS_AUTHORIZATION,
            &iso27001::A5_15,
            &nist::AC_3,
        ],
        High,
        v.list_has("authorization-mode", "RBAC", &["AlwaysAllow"]),
    );
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{High, Low, Medium};
    out.judge(
        &[
            &cis::C1_2_2,
            &nsa::AUTHENTICATION,
            &mitre::VALID_ACCOUNTS,
            &soc2::CC6_1,
            &pci::R8_3_1,
            &hipaa::AUTHENTICATION,
            &iso27001::A5_17,
            &nist::IA_5,
        ],
        High,
        v.forbid("token-auth-file"),
    );
    out.judge(
        &[
            &cis::C1_2_4,
            &nsa::KUBELET,
            &soc2::CC6_7,
            &pci::R2_2_7,
            &hipaa::TRANSMISSION,
            &iso27001::A8_24,
            &nist::SC_8,
        ],
        High,
        v.require(&["kubelet-client-certificate", "kubelet-client-key"]),
    );
    out.judge(
        &[
            &cis::C1_2_5,
            &nsa::KUBELET,
            &soc2::CC6_7,
            &pci::R2_2_7,
            &nist::SC_8,
        ],
        Medium,
        v.require(&["kubelet-certificate-authority"]),
    );
    // Structured authorization replaces --authorization-mode; its authorizers are in the file.
    if v.flag("authorization-config").is_none() {
        authorization_mode(v, out);
    }
    out.judge(
        &[
            &cis::C1_2_10,
            &nsa::AUTHENTICATION,
            &soc2::CC6_1,
            &nist::AC_3,
        ],
        High,
        v.list_lacks("enable-admission-plugins", "AlwaysAdmit"),
    );
    out.judge(
        &[&cis::C1_2_12, &soc2::CC6_1, &nist::AC_2],
        Medium,
        v.list_lacks("disable-admission-plugins", "ServiceAccount"),
    );
    out.judge(
        &[&cis::C1_2_13, &iso27001::A8_9, &nist::CM_6],
        Medium,
        v.list_lacks("disable-admission-plugins", "NamespaceLifecycle"),
    );
    out.judge(
        &[&cis::C1_2_14, &nsa::KUBELET, &soc2::CC6_3, &nist::AC_6],
        Medium,
        v.list_has("enable-admission-plugins", "NodeRestriction", &[]),
    );
    out.judge(
        &[
            &cis::C1_2_15,
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
            &cis::C1_2_16,
            &nsa::AUDIT_LOGGING,
            &soc2::CC7_2,
            &pci::R10_2_1,
            &hipaa::AUDIT_CONTROLS,
            &hipaa::ACTIVITY_REVIEW,
            &iso27001::A8_15,
            &nist::AU_2,
        ],
        Medium,
        v.require(&["audit-log-path"]),
    );
    out.judge(
        &[
            &cis::C1_2_17,
            &nsa::AUDIT_LOGGING,
            &iso27001::A8_15,
            &nist::AU_11,
        ],
        Low,
        v.at_least("audit-log-maxage", 30),
    );
    out.judge(
        &[&cis::C1_2_18, &nsa::AUDIT_LOGGING, &nist::AU_4],
        Low,
        v.at_least("audit-log-maxbackup", 10),
    );
    out.judge(
        &[&cis::C1_2_19, &nsa::AUDIT_LOGGING, &nist::AU_4],
        Low,
        v.at_least("audit-log-maxsize", 100),
    );
    out.judge(
        &[&cis::C1_2_21, &soc2::CC6_1, &nist::AC_2],
        Medium,
        v.expect("service-account-lookup", "true", "true"),
    );
    out.judge(
        &[&cis::C1_2_22, &nist::SC_12],
        Medium,
        v.require(&["service-account-key-file"]),
    );
    out.judge(
        &[
            &cis::C1_2_23,
            &nsa::ETCD,
            &soc2::CC6_7,
            &hipaa::TRANSMISSION,
            &iso27001::A8_24,
            &nist::SC_8,
        ],
        High,
        v.require(&["etcd-certfile", "etcd-keyfile"]),
    );
    out.judge(
        &[
            &cis::C1_2_24,
            &nsa::CONTROL_PLANE,
            &soc2::CC6_7,
            &pci::R2_2_7,
            &hipaa::TRANSMISSION,
            &gdpr::ART32_1_A,
            &iso27001::A8_24,
            &nist::SC_8,
        ],
        High,
        v.require(&["tls-cert-file", "tls-private-key-file"]),
    );
    out.judge(
        &[
            &cis::C1_2_25,
            &nsa::AUTHENTICATION,
            &pci::R8_3_1,
            &hipaa::AUTHENTICATION,
            &iso27001::A8_5,
            &nist::IA_2,
        ],
        High,
        v.require(&["client-ca-file"]),
    );
    out.judge(
        &[&cis::C1_2_26, &nsa::ETCD, &nist::SC_8],
        High,
        v.require(&["etcd-cafile"]),
    );
    extended_checks(v, out);
}

/// The items CIS leaves manual that the flags alone decide.
fn extended_checks(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{High, Low, Medium};
    // Anonymous access is configured in the structured authentication file when there is one.
    if v.flag("authentication-config").is_none() {
        out.judge(
            &[
                &cis::C1_2_1,
                &nsa::AUTHENTICATION,
                &soc2::CC6_1,
                &nist::IA_2,
            ],
            Medium,
            v.expect("anonymous-auth", "false", "true"),
        );
    }
    out.judge(
        &[&cis::C1_2_27, &gdpr::ART32_1_A, &iso27001::A8_24],
        High,
        v.require(&["encryption-provider-config"])
            .map(|(p, m)| (p, format!("{m}: Secrets are stored in etcd unencrypted"))),
    );
    let configured = v
        .flag("tls-cipher-suites")
        .map(|_| v.flag_list("tls-cipher-suites"));
    let path = v
        .flag("tls-cipher-suites")
        .map_or_else(|| v.path.key("command"), |f| f.path.clone());
    // TLS 1.3 suites are fixed by Go and all strong: with TLS 1.3 only, the list does not matter.
    let tls13_only = v.flag_value("tls-min-version") == Some("VersionTLS13");
    out.judge(
        &[&cis::C1_2_29, &soc2::CC6_7, &iso27001::A8_24, &nist::SC_8],
        Low,
        weak_ciphers(
            configured,
            CIS_STRONG_CIPHERS_CONTROL_PLANE,
            out.settings().k8s_version.minor,
        )
        .filter(|_| !tls13_only)
        .map(|m| (path, format!("kube-apiserver: {m}"))),
    );
    if let (Some(etcd_ca), Some(client_ca)) = (
        v.flag_value("etcd-cafile").filter(|s| !s.is_empty()),
        v.flag_value("client-ca-file").filter(|s| !s.is_empty()),
    ) {
        out.judge(
            &[&cis::C2_7, &nsa::ETCD, &nist::SC_12],
            Medium,
            (etcd_ca == client_ca).then(|| {
                (
                    v.flag("etcd-cafile").map_or_else(|| v.path.clone(), |f| f.path.clone()),
                    format!(
                        "etcd is trusted through the cluster's client CA ({etcd_ca}): a certificate that CA signs for any client can also authenticate to etcd"
                    ),
                )
            }),
        );
    }
    out.judge(
        &[
            &cis::C3_2_1,
            &nsa::AUDIT_LOGGING,
            &soc2::CC7_2,
            &hipaa::AUDIT_CONTROLS,
            &iso27001::A8_15,
            &nist::AU_2,
        ],
        Medium,
        v.require(&["audit-policy-file"]).map(|(p, m)| {
            (
                p,
                format!("{m}: without an audit policy nothing is audited"),
            )
        }),
    );
    out.judge(
        &[&nsa::AUTHENTICATION, &nist::IA_5],
        Low,
        v.expect("service-account-extend-token-expiration", "false", "true"),
    );
    // Unset means 6443; 0 switched authenticated HTTPS off in old releases (current ones refuse it).
    out.judge(
        &[&nsa::CONTROL_PLANE, &nist::SC_8],
        High,
        v.flag("secure-port")
            .filter(|f| f.value.as_deref().map(str::trim) == Some("0"))
            .map(|f| {
                (
                    f.path.clone(),
                    "--secure-port=0 turns off the API server's authenticated HTTPS port"
                        .to_owned(),
                )
            }),
    );
}
