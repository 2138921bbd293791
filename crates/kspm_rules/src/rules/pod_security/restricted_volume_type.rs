use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags volumes of a type the Pod Security Standards restricted profile does not allow. Allowed
    /// are `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `persistentVolumeClaim`,
    /// `projected`, `secret` and, from Kubernetes 1.33, `image`; a volume with no source at all is
    /// an `emptyDir` (the API server's default). Everything else — `hostPath`, `nfs`, `iscsi`,
    /// `rbd`, `cephfs`, `gitRepo`, the in-tree cloud disks, `flexVolume`... — is reported at the
    /// offending field.
    ///
    /// ## Why is this bad?
    /// The allowed types are the ones whose security is handled by the cluster: Kubernetes objects,
    /// scratch space, and storage provisioned through PersistentVolumeClaims or CSI, which an
    /// administrator controls. Inline network and host volumes let any pod author mount storage
    /// the cluster administrator never granted (`nfs`, `iscsi`, `rbd`), run code on the node
    /// (`gitRepo`, `flexVolume`) or reach host files (`hostPath`).
    ///
    /// ## Remediation
    /// Use a PersistentVolumeClaim (backed by a PersistentVolume or a CSI driver) for network
    /// storage, an init container for `gitRepo`, and a ConfigMap, Secret or emptyDir for
    /// everything else.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: reports
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     volumeMounts:
    ///     - {name: share, mountPath: /reports}
    ///   volumes:
    ///   - name: share
    ///     nfs:
    ///       server: nfs.example.internal
    ///       path: /exports/reports
    /// ```
    pub const RULE = {
        code: "PS018",
        slug: "restricted-volume-type",
        title: "Pod uses a volume type the restricted profile forbids",
        severity: Medium,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            pss::RESTRICTED_VOLUME_TYPES, nist::CM_6,
        ],
        equivalents: ["trivy:KSV-0028"],
        fix: false,
        default: true,
    }
}

const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let image_allowed = out.settings().k8s_version >= KubeVersion::new(1, 33);
    for (path, volume) in pod.volumes() {
        let name = volume.get("name").and_then(Node::as_str).unwrap_or("");
        for entry in volume.as_map().unwrap_or(&[]) {
            let kind = &*entry.key;
            if kind == "name"
                || entry.value.is_null()
                || ALLOWED.contains(&kind)
                || (kind == "image" && image_allowed)
            {
                continue;
            }
            out.report(path.key(kind), format!("volume \"{name}\" is of type {kind}, which the restricted profile does not allow"));
        }
    }
}
