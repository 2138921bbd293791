use super::container_runtime_socket_mount::{is_within, normalize_host_path, runtime_socket};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags `hostPath` volumes that mount a sensitive part of the node:
    ///
    /// - `/etc`, `/proc`, `/sys`, `/boot`, `/root`, `/home`, `/dev`, `/var/log`,
    ///   `/var/lib/kubelet`, `/var/lib/docker`, `/var/lib/containerd`, `/var/lib/containers` and
    ///   `/var/lib/etcd`, the Kubernetes credential and state directories of the common
    ///   installers (`/srv/kubernetes`, `/var/etcd`, `/var/lib/rancher`, `/var/lib/minikube`,
    ///   `/var/lib/k0s`), or anything below them;
    /// - a directory named like etcd's data (`etcd`, `etcd-data`, `etcd_backup`) anywhere
    ///   (`/mnt/disks/etcd`, `/data/etcd-data`): the cluster database, with every Secret;
    /// - `/usr` and `/lib` themselves (not their subdirectories: agents commonly mount
    ///   `/lib/modules` read-only);
    /// - any directory that contains one of the above, from `/` down (`/var`, `/var/lib`).
    ///
    /// Paths are normalised first (`//`, `.`, `..`, trailing `/`). Runtime sockets and the
    /// directories that hold them are left to `container-runtime-socket-mount`.
    ///
    /// ## Why is this bad?
    /// These paths hold the node's credentials (kubelet and control-plane certificates under
    /// `/etc/kubernetes` and `/var/lib/kubelet`), every other pod's secrets and filesystems
    /// (`/var/lib/kubelet/pods`, the runtimes' storage), the kernel's control files (`/proc`,
    /// `/sys`, `/dev`) and the binaries the node runs. Write access is node takeover; read access
    /// is credential theft. A writable `/var/log` lets a pod read any host file through the
    /// kubelet's log endpoint by planting symbolic links.
    ///
    /// ## Remediation
    /// Mount the narrowest path the workload needs, read-only (`volumeMounts[*].readOnly: true`),
    /// or replace the hostPath with a ConfigMap, Secret, emptyDir or PersistentVolumeClaim.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: debug
    /// spec:
    ///   containers:
    ///   - name: shell
    ///     image: busybox:1.36
    ///     volumeMounts:
    ///     - {name: host, mountPath: /host}
    ///   volumes:
    ///   - name: host
    ///     hostPath:
    ///       path: /
    /// ```
    pub const RULE = {
        code: "PS026",
        slug: "sensitive-host-path",
        title: "Pod mounts a sensitive path of the node",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_12, pss::BASELINE_HOST_PATH_VOLUMES, nsa::HOST_PATH, mitre::ESCAPE_TO_HOST,
            mitre::UNSECURED_CREDENTIALS, pci::R2_2_6, iso27001::A8_2, nist::AC_6,
        ],
        equivalents: ["trivy:KSV-0121", "kubeaudit:mounts"],
        fix: false,
        default: true,
    }
}

/// Sensitive paths: (path, whether everything below it is sensitive too, what it holds).
const SENSITIVE: &[(&str, bool, &str)] = &[
    ("/etc", true, "node configuration and credentials"),
    ("/proc", true, "host processes and kernel settings"),
    ("/sys", true, "kernel and device settings"),
    ("/boot", true, "the kernel and boot configuration"),
    ("/root", true, "root's home directory"),
    ("/home", true, "users' home directories"),
    ("/dev", true, "host devices"),
    ("/var/log", true, "host and pod logs"),
    (
        "/var/lib/kubelet",
        true,
        "kubelet state and other pods' volumes and secrets",
    ),
    ("/var/lib/docker", true, "container images and filesystems"),
    (
        "/var/lib/containerd",
        true,
        "container images and filesystems",
    ),
    (
        "/var/lib/containers",
        true,
        "container images and filesystems",
    ),
    ("/var/lib/etcd", true, "the cluster database"),
    ("/var/etcd", true, "the cluster database"),
    (
        "/srv/kubernetes",
        true,
        "cluster certificates, keys and tokens",
    ),
    (
        "/var/lib/rancher",
        true,
        "the k3s/RKE2 data directory with its server token and certificates",
    ),
    (
        "/var/lib/minikube",
        true,
        "cluster certificates and etcd data",
    ),
    ("/var/lib/k0s", true, "k0s' certificates and etcd data"),
    ("/usr", false, "host programs"),
    ("/lib", false, "host libraries"),
];

/// Why a host path is sensitive, if it is.
fn sensitivity(raw: &str) -> Option<String> {
    let path = normalize_host_path(raw)?;
    if path == "/" {
        return Some("the node's whole filesystem".to_owned());
    }
    for (dir, recursive, what) in SENSITIVE {
        if path == *dir || (*recursive && is_within(&path, dir)) {
            return Some(format!("{what} ({dir})"));
        }
    }
    if path.split('/').any(|c| {
        c == "etcd"
            || c.strip_prefix("etcd")
                .is_some_and(|rest| rest.starts_with(['-', '_', '.']))
    }) {
        return Some("etcd data: the cluster database".to_owned());
    }
    let inside: Vec<&str> = SENSITIVE
        .iter()
        .filter(|(dir, _, _)| is_within(dir, &path))
        .map(|(dir, _, _)| *dir)
        .collect();
    if inside.is_empty() {
        None
    } else {
        Some(format!("a directory holding {}", inside.join(", ")))
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    for (path, volume) in pod.volumes() {
        let Some(raw) = volume.at(&["hostPath", "path"]).and_then(Node::as_str) else {
            continue;
        };
        if runtime_socket(raw).is_some() {
            continue;
        }
        if let Some(what) = sensitivity(raw) {
            let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            out.report(
                path.keys(&["hostPath", "path"]),
                format!("volume \"{name}\" mounts {raw} from the node: {what}"),
            );
        }
    }
}
