use crate::component::{CIS_STRONG_CIPHERS_KUBELET, weak_ciphers};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Checks a kubelet's configuration (`KubeletConfiguration`, normally
    /// `/var/lib/kubelet/config.yaml`) against the CIS Kubernetes Benchmark section 4.2. With
    /// `kspm node` the kubelet's command-line flags are folded in first, as the kubelet itself
    /// does (flags win over the file). Unset fields take the kubelet's defaults.
    ///
    /// | CIS | expects |
    /// |---|---|
    /// | 4.2.1 | `authentication.anonymous.enabled: false` |
    /// | 4.2.2 | `authorization.mode` not `AlwaysAllow` |
    /// | 4.2.3 | `authentication.x509.clientCAFile` set |
    /// | 4.2.4 | `readOnlyPort: 0` |
    /// | 4.2.5 | `streamingConnectionIdleTimeout` not 0 |
    /// | 4.2.6 | `makeIPTablesUtilChains` not false |
    /// | 4.2.10 | `rotateCertificates: true` (unset means false: the client certificate is never renewed) |
    /// | 4.2.11 | `featureGates.RotateKubeletServerCertificate` not false |
    /// | 4.2.12 | `tlsCipherSuites` only from CIS's strong list for the kubelet (unset: Go's defaults, which include CBC suites outside it; any list passes with `tlsMinVersion: VersionTLS13`) |
    /// | 4.2.13 | `podPidsLimit` set to a positive number |
    ///
    /// ## Why is this bad?
    /// The kubelet's API runs commands in every pod on the node. Anonymous access or
    /// `AlwaysAllow` authorization hands that to anyone who reaches port 10250; the read-only
    /// port 10255 lists every pod with its environment without any authentication; idle
    /// streaming sessions that never time out and unlimited PIDs per pod turn one compromised
    /// pod into a node-wide problem.
    ///
    /// ## Remediation
    /// Set the field the finding names in the kubelet's configuration file (or remove the flag
    /// that overrides it) on every node, then restart the kubelet
    /// (`systemctl restart kubelet`). On managed node pools, set it in the pool's kubelet
    /// configuration.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// authentication:
    ///   anonymous:
    ///     enabled: true
    /// authorization:
    ///   mode: AlwaysAllow
    /// readOnlyPort: 10255
    /// ```
    pub const RULE = {
        code: "ND001",
        slug: "kubelet-insecure-setting",
        title: "Kubelet setting weakens the node (CIS 4.2)",
        severity: Critical,
        category: Node,
        check: Check::Component { component: Component::Kubelet, check },
        frameworks: [
            cis::C4_2_1, cis::C4_2_2, cis::C4_2_3, cis::C4_2_4, cis::C4_2_5, cis::C4_2_6,
            cis::C4_2_10, cis::C4_2_11, cis::C4_2_12, cis::C4_2_13,
            nsa::KUBELET, mitre::CONTAINER_ADMIN_COMMAND, mitre::DISCOVERY,
            soc2::CC6_1, soc2::CC6_6, pci::R2_2_4, pci::R2_2_5, pci::R8_2_2, pci::R8_3_1,
            hipaa::ACCESS_CONTROL, hipaa::AUTHENTICATION, iso27001::A5_15, iso27001::A8_5,
            iso27001::A8_6, iso27001::A8_20, nist::AC_3, nist::CM_7, nist::IA_2, nist::SC_5,
            nist::SC_7, nist::SC_8, nist::SC_12,
        ],
        equivalents: [
            "kube-bench:4.2.x", "kubescape:C-0069", "kubescape:C-0070", "kubescape:C-0172",
            "kubescape:C-0173", "kubescape:C-0174", "kubescape:C-0175", "kubescape:C-0176",
            "kubescape:C-0178", "kubescape:C-0182", "kubescape:C-0183", "kubescape:C-0184",
            "kubescape:C-0284",
        ],
        fix: false,
        default: true,
    }
}

fn setting<'a>(v: &'a ComponentView<'_>, keys: &[&str]) -> Option<&'a Node> {
    v.setting(keys)
}

fn truthy(n: &Node) -> Option<bool> {
    n.as_bool().or_else(|| match n.as_str()? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    })
}

/// A finding at `keys` (the field, or where it would go), with a fix setting `value`.
fn problem(keys: &[&str], message: String) -> (FieldPath, String) {
    (FieldPath::root().keys(keys), message)
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    use Severity::{Critical, High, Low, Medium};
    let anon = ["authentication", "anonymous", "enabled"];
    let anonymous = setting(v, &anon).and_then(truthy).unwrap_or(false);
    out.judge(
        &[
            &cis::C4_2_1,
            &nsa::KUBELET,
            &mitre::CONTAINER_ADMIN_COMMAND,
            &soc2::CC6_1,
            &pci::R8_2_2,
            &hipaa::AUTHENTICATION,
            &iso27001::A8_5,
            &nist::IA_2,
        ],
        Critical,
        anonymous.then(|| problem(&anon, "the kubelet accepts anonymous requests".into())),
    );
    let mode_keys = ["authorization", "mode"];
    let mode = setting(v, &mode_keys)
        .and_then(Node::as_str)
        .unwrap_or("Webhook");
    out.judge(
        &[
            &cis::C4_2_2,
            &nsa::KUBELET,
            &mitre::CONTAINER_ADMIN_COMMAND,
            &soc2::CC6_1,
            &hipaa::ACCESS_CONTROL,
            &iso27001::A5_15,
            &nist::AC_3,
        ],
        Critical,
        (mode == "AlwaysAllow").then(|| {
            problem(
                &mode_keys,
                "the kubelet authorizes every request (AlwaysAllow)".into(),
            )
        }),
    );
    let ca = ["authentication", "x509", "clientCAFile"];
    out.judge(
        &[
            &cis::C4_2_3,
            &nsa::KUBELET,
            &pci::R8_3_1,
            &iso27001::A8_5,
            &nist::IA_2,
        ],
        High,
        setting(v, &ca)
            .and_then(Node::as_str)
            .is_none_or(str::is_empty)
            .then(|| {
                problem(
                    &ca,
                    "no client CA file: the kubelet cannot verify client certificates".into(),
                )
            }),
    );
    let port = setting(v, &["readOnlyPort"])
        .and_then(Node::as_i64)
        .unwrap_or(0);
    out.judge(
        &[
            &cis::C4_2_4,
            &nsa::KUBELET,
            &mitre::DISCOVERY,
            &soc2::CC6_6,
            &pci::R2_2_4,
            &iso27001::A8_20,
            &nist::CM_7,
        ],
        High,
        (port != 0).then(|| {
            problem(
                &["readOnlyPort"],
                format!("the unauthenticated read-only port {port} is open"),
            )
        }),
    );
    let idle = setting(v, &["streamingConnectionIdleTimeout"]);
    // `0`, `"0"`, `"0s"`, `"0m0s"`: a duration whose every digit is zero.
    let idle_zero = idle.is_some_and(|n| match n.as_str() {
        Some(s) => {
            s.bytes().any(|b| b.is_ascii_digit())
                && s.bytes().all(|b| !b.is_ascii_digit() || b == b'0')
        }
        None => n.as_i64() == Some(0),
    });
    out.judge(
        &[&cis::C4_2_5, &nsa::KUBELET, &pci::R2_2_5, &nist::SC_5],
        Medium,
        idle_zero.then(|| {
            problem(
                &["streamingConnectionIdleTimeout"],
                "streaming connections (exec, attach, port-forward) never time out".into(),
            )
        }),
    );
    let chains = setting(v, &["makeIPTablesUtilChains"])
        .and_then(truthy)
        .unwrap_or(true);
    out.judge(
        &[&cis::C4_2_6, &nsa::KUBELET, &nist::SC_7],
        Low,
        (!chains).then(|| {
            problem(
                &["makeIPTablesUtilChains"],
                "the kubelet does not manage its iptables chains".into(),
            )
        }),
    );
    let rotate = setting(v, &["rotateCertificates"]).and_then(truthy);
    out.judge(
        &[&cis::C4_2_10, &nsa::KUBELET, &nist::SC_12],
        Medium,
        (rotate != Some(true)).then(|| {
            problem(
                &["rotateCertificates"],
                if rotate.is_none() {
                    "rotateCertificates is not set, so it is false: client certificate rotation is off"
                        .into()
                } else {
                    "client certificate rotation is turned off".into()
                },
            )
        }),
    );
    let gate = ["featureGates", "RotateKubeletServerCertificate"];
    out.judge(
        &[&cis::C4_2_11, &nsa::KUBELET, &nist::SC_12],
        Medium,
        (setting(v, &gate).and_then(truthy) == Some(false))
            .then(|| problem(&gate, "serving certificate rotation is turned off".into())),
    );
    let suites = setting(v, &["tlsCipherSuites"]).map(|n| {
        n.as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::as_str)
            .collect::<Vec<_>>()
    });
    out.judge(
        &[&cis::C4_2_12, &nsa::KUBELET, &nist::SC_8],
        Low,
        weak_ciphers(
            suites,
            CIS_STRONG_CIPHERS_KUBELET,
            out.settings().k8s_version.minor,
        )
        // TLS 1.3 suites are fixed by Go and all strong.
        .filter(|_| setting(v, &["tlsMinVersion"]).and_then(Node::as_str) != Some("VersionTLS13"))
        .map(|m| problem(&["tlsCipherSuites"], format!("kubelet: {m}"))),
    );
    let pids = setting(v, &["podPidsLimit"])
        .and_then(Node::as_i64)
        .unwrap_or(-1);
    out.judge(
        &[&cis::C4_2_13, &iso27001::A8_6, &nist::SC_5],
        Low,
        (pids <= 0).then(|| {
            problem(
                &["podPidsLimit"],
                "no limit on the number of processes per pod (podPidsLimit)".into(),
            )
        }),
    );
}
