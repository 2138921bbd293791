use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags control-plane and node files not owned by the account the CIS Kubernetes
    /// Benchmark expects (sections 1.1 and 4.1): `root:root` for manifests, kubeconfigs, the
    /// PKI directory, the kubelet's service and configuration files; `etcd:etcd` for the etcd
    /// data directory. `kspm node` describes each file as a `NodeFile` object (path, role,
    /// mode, owner and group by name, and by id when no name is known).
    ///
    /// | role | CIS |
    /// |---|---|
    /// | manifests (`apiserver-`, `controller-manager-`, `scheduler-`, `etcd-manifest`) | 1.1.2, 1.1.4, 1.1.6, 1.1.8 |
    /// | `cni-config` | 1.1.10 |
    /// | `etcd-data-dir` (etcd:etcd) | 1.1.12 |
    /// | `admin-kubeconfig`, `scheduler-kubeconfig`, `controller-manager-kubeconfig` | 1.1.14, 1.1.16, 1.1.18 |
    /// | `pki`, `pki-certificate`, `pki-key` | 1.1.19 |
    /// | `kubelet-service`, `kube-proxy-kubeconfig`, `kubelet-kubeconfig`, `client-ca`, `kubelet-config` | 4.1.2, 4.1.4, 4.1.6, 4.1.8, 4.1.10 |
    ///
    /// ## Why is this bad?
    /// Whoever owns a file can change its permissions and content: a static pod manifest owned
    /// by an ordinary user lets that user run a privileged pod on the control plane; a kubeconfig
    /// they own is a credential they hold.
    ///
    /// ## Remediation
    /// `chown root:root <file>` (`chown -R etcd:etcd` for the etcd data directory) on every node.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: node.kspm.io/v1
    /// kind: NodeFile
    /// metadata:
    ///   name: /etc/kubernetes/manifests/kube-apiserver.yaml
    /// spec:
    ///   role: apiserver-manifest
    ///   type: file
    ///   mode: "0600"
    ///   owner: ubuntu
    ///   group: ubuntu
    /// ```
    pub const RULE = {
        code: "ND004",
        slug: "node-file-ownership",
        title: "Node configuration or credential file has the wrong owner (CIS 1.1, 4.1)",
        severity: High,
        category: Node,
        check: Check::Component { component: Component::NodeFile, check },
        frameworks: [
            cis::C1_1_2, cis::C1_1_4, cis::C1_1_6, cis::C1_1_8, cis::C1_1_10, cis::C1_1_12,
            cis::C1_1_14, cis::C1_1_16, cis::C1_1_18, cis::C1_1_19,
            cis::C4_1_2, cis::C4_1_4, cis::C4_1_6, cis::C4_1_8, cis::C4_1_10,
            nsa::NODE_FILES, soc2::CC6_1, hipaa::ACCESS_CONTROL, iso27001::A8_3, nist::AC_3,
        ],
        equivalents: ["kube-bench:1.1.x", "kube-bench:4.1.x"],
        fix: false,
        default: true,
    }
}

macro_rules! with_common {
    ($c:expr) => {
        &[
            &$c,
            &nsa::NODE_FILES,
            &soc2::CC6_1,
            &hipaa::ACCESS_CONTROL,
            &iso27001::A8_3,
            &nist::AC_3,
        ]
    };
}

/// Role → (expected owner and group, severity, controls).
fn expected(role: &str) -> Option<(&'static str, Severity, &'static [&'static Control])> {
    use Severity::{High, Medium};
    Some(match role {
        "apiserver-manifest" => ("root", High, with_common!(cis::C1_1_2)),
        "controller-manager-manifest" => ("root", High, with_common!(cis::C1_1_4)),
        "scheduler-manifest" => ("root", High, with_common!(cis::C1_1_6)),
        "etcd-manifest" => ("root", High, with_common!(cis::C1_1_8)),
        "cni-config" => ("root", Medium, with_common!(cis::C1_1_10)),
        "etcd-data-dir" => ("etcd", Medium, with_common!(cis::C1_1_12)),
        "admin-kubeconfig" => ("root", High, with_common!(cis::C1_1_14)),
        "scheduler-kubeconfig" => ("root", High, with_common!(cis::C1_1_16)),
        "controller-manager-kubeconfig" => ("root", High, with_common!(cis::C1_1_18)),
        "pki" | "pki-certificate" | "pki-key" => ("root", High, with_common!(cis::C1_1_19)),
        "kubelet-service" => ("root", Medium, with_common!(cis::C4_1_2)),
        "kube-proxy-kubeconfig" => ("root", High, with_common!(cis::C4_1_4)),
        "kubelet-kubeconfig" => ("root", High, with_common!(cis::C4_1_6)),
        "client-ca" => ("root", Medium, with_common!(cis::C4_1_8)),
        "kubelet-config" => ("root", Medium, with_common!(cis::C4_1_10)),
        _ => return None,
    })
}

/// The account's name, or for root its id when the node has no name for it.
fn account(v: &ComponentView<'_>, name: &str, id: &str) -> Option<String> {
    v.setting(&["spec", name])
        .and_then(Node::as_str)
        .map(str::to_owned)
        .or_else(|| {
            v.setting(&["spec", id]).and_then(Node::as_i64).map(|n| {
                if n == 0 {
                    "root".to_owned()
                } else {
                    n.to_string()
                }
            })
        })
}

fn check(v: &ComponentView<'_>, out: &mut Reporter<'_>) {
    let Some(role) = v.setting(&["spec", "role"]).and_then(Node::as_str) else {
        return;
    };
    let Some((want, severity, controls)) = expected(role) else {
        return;
    };
    let (Some(owner), Some(group)) = (account(v, "owner", "uid"), account(v, "group", "gid"))
    else {
        return;
    };
    let problem = (owner != want || group != want).then(|| {
        let field = if owner == want { "group" } else { "owner" };
        (
            FieldPath::root().keys(&["spec", field]),
            format!(
                "{} ({role}) is owned by {owner}:{group}; it should be {want}:{want}",
                v.resource.name()
            ),
        )
    });
    out.judge(controls, severity, problem);
}
