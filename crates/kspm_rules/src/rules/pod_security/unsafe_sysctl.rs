use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pod sysctls (`spec.securityContext.sysctls[*].name`) outside the safe set of the Pod
    /// Security Standards baseline profile for the target Kubernetes version:
    /// `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`,
    /// `net.ipv4.ip_unprivileged_port_start`, `net.ipv4.tcp_syncookies`,
    /// `net.ipv4.ping_group_range`; from 1.27 `net.ipv4.ip_local_reserved_ports`; from 1.29
    /// `net.ipv4.tcp_keepalive_time`, `net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_keepalive_intvl`,
    /// `net.ipv4.tcp_keepalive_probes`; from 1.32 `net.ipv4.tcp_rmem` and `net.ipv4.tcp_wmem`.
    ///
    /// Names are compared exactly, as the PodSecurity admission plugin does; the slash-separated
    /// spelling (`net/ipv4/tcp_syncookies`), which the kubelet accepts, is rejected by admission
    /// and reported with a hint.
    ///
    /// ## Why is this bad?
    /// A sysctl outside the safe set is either not namespaced — it changes the kernel for every
    /// pod on the node — or can exhaust or weaken shared kernel resources (memory limits of
    /// sockets, message queues, core dump handling). The kubelet refuses unsafe sysctls unless it
    /// was started with `--allowed-unsafe-sysctls`, so such a pod either fails to start or runs
    /// on a node whose isolation was deliberately weakened.
    ///
    /// ## Remediation
    /// Remove the sysctl. If the application truly needs it, run it on dedicated nodes that allow
    /// that sysctl, in a namespace with the `privileged` Pod Security level.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: cache
    /// spec:
    ///   securityContext:
    ///     sysctls:
    ///     - name: net.core.somaxconn
    ///       value: "4096"
    ///   containers:
    ///   - name: redis
    ///     image: redis:7.4
    /// ```
    pub const RULE = {
        code: "PS017",
        slug: "unsafe-sysctl",
        title: "Pod sets a sysctl outside the safe set",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            pss::BASELINE_SYSCTLS, pci::R2_2_6, nist::CM_6,
        ],
        equivalents: ["trivy:KSV-0026"],
        fix: false,
        default: true,
    }
}

/// The safe sysctls with the Kubernetes version (minor) that made each one safe.
const SAFE: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let version = out.settings().k8s_version;
    let safe = |name: &str| {
        SAFE.iter()
            .any(|(n, minor)| *n == name && version >= KubeVersion::new(1, *minor))
    };
    let sysctls = pod
        .security("sysctls")
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    for (i, sysctl) in sysctls.iter().enumerate() {
        let Some(name) = sysctl.get("name").and_then(Node::as_str) else {
            continue;
        };
        if safe(name) {
            continue;
        }
        let dotted = name.replace('/', ".");
        let message = if safe(&dotted) {
            format!(
                "the pod sets sysctl \"{name}\": Pod Security admission only accepts the dotted spelling \"{dotted}\""
            )
        } else if let Some((_, minor)) = SAFE.iter().find(|(n, _)| *n == name) {
            format!(
                "the pod sets sysctl \"{name}\", which is only safe from Kubernetes 1.{minor} (target {version})"
            )
        } else {
            format!("the pod sets sysctl \"{name}\", which is not in the safe set")
        };
        out.report(
            pod.path_to(&["securityContext", "sysctls"])
                .index(i)
                .key("name"),
            message,
        );
    }
}
