use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags `hostPath` volumes that expose a container runtime's API: the Docker, containerd
    /// (including k3s'), CRI-O, cri-dockerd, dockershim or Podman socket, a directory that
    /// contains one (`/run`, `/run/containerd`, `/var/run/crio`...) or Docker's runtime directory
    /// `/run/docker`. `/var/run` and `/run` are treated alike (one is a link to the other on every
    /// current distribution), and the path is normalised first (`//`, `.`, `..`, trailing `/`).
    /// On Windows nodes the Docker and containerd named pipes are flagged too.
    ///
    /// ## Why is this bad?
    /// Whoever can talk to the runtime socket can start a privileged container with the node's
    /// root filesystem mounted, read any container's environment and files, or exec into other
    /// pods: it is root on the node, without any of the controls Kubernetes applies to pods.
    ///
    /// ## Remediation
    /// Do not mount the runtime socket. Build images with a daemonless builder (BuildKit rootless,
    /// Kaniko, Buildah); read container metadata through the Kubernetes API or the kubelet's
    /// read-only endpoints; confine node agents that really need the socket to a dedicated
    /// namespace and nodes.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: ci-runner
    /// spec:
    ///   containers:
    ///   - name: runner
    ///     image: docker:27-cli
    ///     volumeMounts:
    ///     - {name: docker, mountPath: /var/run/docker.sock}
    ///   volumes:
    ///   - name: docker
    ///     hostPath:
    ///       path: /var/run/docker.sock
    ///       type: Socket
    /// ```
    pub const RULE = {
        code: "PS025",
        slug: "container-runtime-socket-mount",
        title: "Pod mounts the container runtime socket",
        severity: Critical,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_12, pss::BASELINE_HOST_PATH_VOLUMES, nsa::HOST_PATH, mitre::ESCAPE_TO_HOST,
            mitre::DEPLOY_CONTAINER, soc2::CC6_8, pci::R2_2_6, iso27001::A8_2, nist::AC_6,
            gdpr::ART32_1_B,
        ],
        equivalents: ["checkov:CKV_K8S_27", "trivy:KSV-0006", "kubeaudit:mounts"],
        fix: false,
        default: true,
    }
}

/// Runtime sockets, with `/var/run` spelled `/run`.
const SOCKETS: &[(&str, &str)] = &[
    ("/run/docker.sock", "the Docker daemon socket"),
    ("/run/containerd/containerd.sock", "the containerd socket"),
    (
        "/run/k3s/containerd/containerd.sock",
        "the k3s containerd socket",
    ),
    ("/run/crio/crio.sock", "the CRI-O socket"),
    ("/run/cri-dockerd.sock", "the cri-dockerd socket"),
    ("/run/dockershim.sock", "the dockershim socket"),
    ("/run/podman/podman.sock", "the Podman socket"),
];

/// Windows named pipes of the runtimes, lower-cased.
const PIPES: &[(&str, &str)] = &[
    (r"\\.\pipe\docker_engine", "the Docker named pipe"),
    (
        r"\\.\pipe\containerd-containerd",
        "the containerd named pipe",
    ),
];

/// A Linux host path in canonical form: absolute, no empty, `.` or `..` segments, no trailing
/// slash, `/var/run` spelled `/run`. `None` for anything that is not an absolute Unix path.
pub(super) fn normalize_host_path(raw: &str) -> Option<String> {
    if !raw.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.len() >= 2 && parts[0] == "var" && parts[1] == "run" {
        parts.remove(0);
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether `dir` is `path` or one of its parent directories.
pub(super) fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What a host path exposes of the container runtime, if anything.
pub(super) fn runtime_socket(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    if let Some((_, what)) = PIPES
        .iter()
        .find(|(pipe, _)| lower.trim_end_matches('\\') == *pipe)
    {
        return Some((*what).to_owned());
    }
    let path = normalize_host_path(raw)?;
    if let Some((_, what)) = SOCKETS.iter().find(|(s, _)| *s == path) {
        return Some((*what).to_owned());
    }
    if path == "/run/docker" {
        return Some("Docker's runtime directory".to_owned());
    }
    if is_within(&path, "/run") {
        let inside: Vec<&str> = SOCKETS
            .iter()
            .filter(|(s, _)| is_within(s, &path))
            .map(|(_, what)| what.trim_start_matches("the "))
            .collect();
        match inside.len() {
            0 => {}
            1 | 2 => return Some(format!("a directory holding the {}", inside.join(" and "))),
            _ => return Some("a directory holding the container runtime sockets".to_owned()),
        }
    }
    None
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    for (path, volume) in pod.volumes() {
        let Some(raw) = volume.at(&["hostPath", "path"]).and_then(Node::as_str) else {
            continue;
        };
        if let Some(what) = runtime_socket(raw) {
            let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            out.report(
                path.keys(&["hostPath", "path"]),
                format!("volume \"{name}\" mounts {what} from the node ({raw})"),
            );
        }
    }
}
