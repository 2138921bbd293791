use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods with a `hostPath` volume (`spec.volumes[*].hostPath`), whatever the path.
    /// `container-runtime-socket-mount` and `sensitive-host-path` single out the most dangerous
    /// paths.
    ///
    /// ## Why is this bad?
    /// A hostPath volume gives the container a directory or file of the node. Writable, it is an
    /// easy way to plant binaries, cron jobs or kubelet manifests on the node; even read-only it
    /// can expose other pods' data, credentials and the node's configuration. Symbolic links and
    /// subpaths have repeatedly turned "harmless" hostPath mounts into full node access.
    ///
    /// ## Remediation
    /// Use an `emptyDir`, a ConfigMap/Secret, or a PersistentVolumeClaim instead. Node agents that
    /// truly need host files should mount the narrowest path, read-only, and run in a namespace
    /// with the `privileged` Pod Security level.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: cache
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     volumeMounts:
    ///     - {name: data, mountPath: /data}
    ///   volumes:
    ///   - name: data
    ///     hostPath:
    ///       path: /srv/cache
    /// ```
    pub const RULE = {
        code: "PS010",
        slug: "host-path-volume",
        title: "Pod mounts a hostPath volume",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_12, pss::BASELINE_HOST_PATH_VOLUMES, nsa::HOST_PATH, mitre::ESCAPE_TO_HOST,
            pci::R2_2_6, iso27001::A8_2, nist::AC_6, gdpr::ART32_1_B,
        ],
        equivalents: ["polaris:hostPathSet", "trivy:KSV-0023"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    for (path, volume) in pod.volumes() {
        let Some(host_path) = volume.get("hostPath").filter(|n| !n.is_null()) else {
            continue;
        };
        let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
        let message = match host_path.get("path").and_then(Node::as_str) {
            Some(p) => format!("volume \"{name}\" mounts the node's {p} (hostPath)"),
            None => format!("volume \"{name}\" is a hostPath volume"),
        };
        out.report(path.key("hostPath"), message);
    }
}
