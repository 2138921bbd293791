use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags a kube-proxy whose metrics endpoint listens beyond localhost (CIS Kubernetes
    /// Benchmark 4.3.1): `metricsBindAddress` in a `KubeProxyConfiguration`, or
    /// `--metrics-bind-address` on the kube-proxy container of the DaemonSet in `kube-system`.
    /// A kube-proxy that reads its settings from a `--config` file and sets no flag is judged
    /// on that `KubeProxyConfiguration` when it is scanned: as a file, or as kubeadm keeps it,
    /// in the ConfigMap `kube-system/kube-proxy` (key `config.conf`; any kube-system ConfigMap
    /// whose text is a `KubeProxyConfiguration` counts).
    ///
    /// ## Why is this bad?
    /// The metrics endpoint has no authentication. Bound to every address, it tells anyone on
    /// the network about the node's services and endpoints, and adds an unauthenticated
    /// listener to every node.
    ///
    /// ## Remediation
    /// Remove the setting (the default is `127.0.0.1:10249`) or set it to a localhost address;
    /// scrape metrics through a local agent or an authenticated proxy.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubeproxy.config.k8s.io/v1alpha1
    /// kind: KubeProxyConfiguration
    /// metricsBindAddress: 0.0.0.0:10249
    /// ```
    pub const RULE = {
        code: "ND002",
        slug: "kube-proxy-metrics-exposed",
        title: "kube-proxy metrics listen beyond localhost (CIS 4.3.1)",
        severity: Medium,
        category: Node,
        check: Check::Component { component: Component::KubeProxy, check },
        frameworks: [cis::C4_3_1, nsa::CONTROL_PLANE, mitre::DISCOVERY, pci::R2_2_4, iso27001::A8_20, nist::CM_7],
        equivalents: ["kube-bench:4.3.1"],
        fix: false,
        default: true,
    }
}

const CONTROLS: &[&Control] = &[
    &cis::C4_3_1,
    &nsa::CONTROL_PLANE,
    &mitre::DISCOVERY,
    &pci::R2_2_4,
    &iso27001::A8_20,
    &nist::CM_7,
];

fn is_local(address: &str) -> bool {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .trim_matches(|c| c == '[' || c == ']');
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    if v.config.is_some() {
        let address = v.setting(&["metricsBindAddress"]).and_then(Node::as_str);
        let problem = address.filter(|a| !a.is_empty() && !is_local(a)).map(|a| {
            (
                v.setting_path(&["metricsBindAddress"]),
                format!("kube-proxy serves unauthenticated metrics on {a}"),
            )
        });
        out.judge(CONTROLS, Severity::Medium, problem);
        return;
    }
    match v.flag("metrics-bind-address") {
        Some(f) => {
            let address = f.value.as_deref().unwrap_or("");
            let problem = (!is_local(address)).then(|| {
                (
                    f.path.clone(),
                    format!("kube-proxy serves unauthenticated metrics on {address}"),
                )
            });
            out.judge(CONTROLS, Severity::Medium, problem);
        }
        // Settings in a --config file are not visible here; without one the default is local.
        None if v.flag("config").is_none() => out.judge(CONTROLS, Severity::Medium, None),
        None => {}
    }
}
