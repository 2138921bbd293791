use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags control-plane and node files whose permissions are looser than the CIS
    /// Kubernetes Benchmark allows (sections 1.1 and 4.1). `kspm node` describes each file it
    /// finds as a `NodeFile` object (path, role, mode, owner); this rule judges the mode:
    ///
    /// | role | CIS | at most |
    /// |---|---|---|
    /// | `apiserver-manifest`, `controller-manager-manifest`, `scheduler-manifest`, `etcd-manifest` | 1.1.1, 1.1.3, 1.1.5, 1.1.7 | 600 |
    /// | `cni-config` | 1.1.9 | 600 |
    /// | `etcd-data-dir` | 1.1.11 | 700 |
    /// | `admin-kubeconfig`, `scheduler-kubeconfig`, `controller-manager-kubeconfig` | 1.1.13, 1.1.15, 1.1.17 | 600 |
    /// | `pki-certificate`, `pki-key` | 1.1.20, 1.1.21 | 600 |
    /// | `kubelet-service`, `kube-proxy-kubeconfig`, `kubelet-kubeconfig`, `client-ca`, `kubelet-config` | 4.1.1, 4.1.3, 4.1.5, 4.1.7, 4.1.9 | 600 |
    ///
    /// ## Why is this bad?
    /// These files hold the control plane's configuration and credentials: a kubeconfig or a
    /// private key readable by any local user is cluster-admin or a component's identity for
    /// whoever gets a shell on the node; a writable static pod manifest is code execution as
    /// root on the next kubelet sync.
    ///
    /// ## Remediation
    /// `chmod 600 <file>` (`chmod 700` for the etcd data directory) on every node, and keep it
    /// that way in the tooling that provisions nodes.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: node.kspm.io/v1
    /// kind: NodeFile
    /// metadata:
    ///   name: /etc/kubernetes/admin.conf
    /// spec:
    ///   role: admin-kubeconfig
    ///   type: file
    ///   mode: "0644"
    ///   owner: root
    ///   group: root
    /// ```
    pub const RULE = {
        code: "ND003",
        slug: "node-file-permissions",
        title: "Node configuration or credential file is too permissive (CIS 1.1, 4.1)",
        severity: High,
        category: Node,
        check: Check::Component { component: Component::NodeFile, check },
        frameworks: [
            cis::C1_1_1, cis::C1_1_3, cis::C1_1_5, cis::C1_1_7, cis::C1_1_9, cis::C1_1_11,
            cis::C1_1_13, cis::C1_1_15, cis::C1_1_17, cis::C1_1_20, cis::C1_1_21,
            cis::C4_1_1, cis::C4_1_3, cis::C4_1_5, cis::C4_1_7, cis::C4_1_9,
            nsa::NODE_FILES, mitre::UNSECURED_CREDENTIALS,
            soc2::CC6_1, pci::R7_2_1, hipaa::ACCESS_CONTROL, iso27001::A8_3, nist::AC_3,
        ],
        equivalents: ["kube-bench:1.1.x", "kube-bench:4.1.x"],
        fix: false,
        default: true,
    }
}

const COMMON: [&Control; 6] = [
    &nsa::NODE_FILES,
    &mitre::UNSECURED_CREDENTIALS,
    &soc2::CC6_1,
    &pci::R7_2_1,
    &hipaa::ACCESS_CONTROL,
    &iso27001::A8_3,
];

macro_rules! with_common {
    ($c:expr) => {
        &[
            &$c,
            COMMON[0],
            COMMON[1],
            COMMON[2],
            COMMON[3],
            COMMON[4],
            COMMON[5],
            &nist::AC_3,
        ]
    };
}

/// Role → (most permissive mode allowed, severity, controls).
fn expected(role: &str) -> Option<(u32, Severity, &'static [&'static Control])> {
    use Severity::{High, Medium};
    Some(match role {
        "apiserver-manifest" => (0o600, Medium, with_common!(cis::C1_1_1)),
        "controller-manager-manifest" => (0o600, Medium, with_common!(cis::C1_1_3)),
        "scheduler-manifest" => (0o600, Medium, with_common!(cis::C1_1_5)),
        "etcd-manifest" => (0o600, Medium, with_common!(cis::C1_1_7)),
        "cni-config" => (0o600, Medium, with_common!(cis::C1_1_9)),
        "etcd-data-dir" => (0o700, High, with_common!(cis::C1_1_11)),
        "admin-kubeconfig" => (0o600, High, with_common!(cis::C1_1_13)),
        "scheduler-kubeconfig" => (0o600, High, with_common!(cis::C1_1_15)),
        "controller-manager-kubeconfig" => (0o600, High, with_common!(cis::C1_1_17)),
        "pki-certificate" => (0o600, Medium, with_common!(cis::C1_1_20)),
        "pki-key" => (0o600, High, with_common!(cis::C1_1_21)),
        "kubelet-service" => (0o600, Medium, with_common!(cis::C4_1_1)),
        "kube-proxy-kubeconfig" => (0o600, High, with_common!(cis::C4_1_3)),
        "kubelet-kubeconfig" => (0o600, High, with_common!(cis::C4_1_5)),
        "client-ca" => (0o600, Medium, with_common!(cis::C4_1_7)),
        "kubelet-config" => (0o600, Medium, with_common!(cis::C4_1_9)),
        _ => return None,
    })
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    let Some(role) = v.setting(&["spec", "role"]).and_then(Node::as_str) else {
        return;
    };
    let Some((allowed, severity, controls)) = expected(role) else {
        return;
    };
    let Some(mode) = v
        .setting(&["spec", "mode"])
        .and_then(Node::as_str)
        .and_then(|m| u32::from_str_radix(m, 8).ok())
    else {
        return;
    };
    let excess = mode & 0o777 & !allowed;
    let problem = (excess != 0).then(|| {
        (
            FieldPath::root().keys(&["spec", "mode"]),
            format!(
                "{} ({role}) has mode {:04o}; at most {:04o} is allowed",
                v.resource.name(),
                mode & 0o7777,
                allowed
            ),
        )
    });
    out.judge(controls, severity, problem);
}
