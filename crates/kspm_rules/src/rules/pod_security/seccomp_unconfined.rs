use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods and containers that explicitly run without seccomp:
    /// `securityContext.seccompProfile.type: Unconfined` at pod level or in any container.
    ///
    /// For Kubernetes versions before 1.27 (`--k8s-version`), the legacy annotations
    /// `seccomp.security.alpha.kubernetes.io/pod` and
    /// `container.seccomp.security.alpha.kubernetes.io/<container>` set to `unconfined` are
    /// flagged too; from 1.27 the kubelet ignores them (the API server warns "non-functional in
    /// v1.27+"), and the PodSecurity admission plugin only reads the field.
    ///
    /// ## Why is this bad?
    /// Seccomp filters the system calls a container may make. The runtime's default profile blocks
    /// the calls behind many kernel privilege escalations (`unshare`, `keyctl`, `bpf`, `ptrace` on
    /// older kernels...). `Unconfined` exposes the full kernel surface to a compromised process.
    ///
    /// ## Remediation
    /// Set `seccompProfile.type: RuntimeDefault` (or `Localhost` with a profile tuned for the
    /// application) and remove the legacy annotations.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     securityContext:
    ///       seccompProfile:
    ///         type: Unconfined
    /// ```
    pub const RULE = {
        code: "PS015",
        slug: "seccomp-unconfined",
        title: "Seccomp is explicitly disabled",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            pss::BASELINE_SECCOMP, pss::RESTRICTED_SECCOMP, cis::C5_7_2, nsa::SECCOMP, mitre::ESCAPE_TO_HOST, pci::R2_2_6,
            iso27001::A8_9, nist::CM_6,
        ],
        equivalents: ["kubeaudit:seccomp", "checkov:CKV_K8S_31", "trivy:KSV-0030"],
        fix: true,
        default: true,
    }
}

pub(super) const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
pub(super) const CONTAINER_ANNOTATION_PREFIX: &str =
    "container.seccomp.security.alpha.kubernetes.io/";

/// Whether the kubelet of the target version still honours the seccomp annotations.
pub(super) fn annotations_functional(out: &Reporter<'_>) -> bool {
    out.settings().k8s_version < KubeVersion::new(1, 27)
}

fn set_runtime_default(path: &FieldPath) -> Fix {
    Fix::new("set the seccomp profile type to RuntimeDefault")
        .set(path.clone(), json!("RuntimeDefault"))
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let key = ["securityContext", "seccompProfile", "type"];
    if pod.at(&key).and_then(Node::as_str) == Some("Unconfined") {
        let path = pod.path_to(&key);
        out.report(path.clone(), "the pod-level seccomp profile is Unconfined, the default for every container that sets none")
            .with_fix(set_runtime_default(&path));
    }
    for c in pod.containers() {
        if c.at(&key).and_then(Node::as_str) == Some("Unconfined") {
            let path = c.path_to(&key);
            out.report(
                path.clone(),
                format!(
                    "{} disables seccomp (seccompProfile.type: Unconfined)",
                    c.describe()
                ),
            )
            .with_fix(set_runtime_default(&path));
        }
    }
    if !annotations_functional(out) {
        return;
    }
    let annotations = pod
        .meta
        .and_then(|m| m.get("annotations"))
        .and_then(Node::as_map)
        .unwrap_or(&[]);
    for entry in annotations {
        if entry.value.as_str() != Some("unconfined") {
            continue;
        }
        let message = if &*entry.key == POD_ANNOTATION {
            "the pod disables seccomp with the legacy annotation (unconfined)".to_owned()
        } else if let Some(name) = entry.key.strip_prefix(CONTAINER_ANNOTATION_PREFIX) {
            format!(
                "container \"{name}\" has seccomp disabled by the legacy annotation (unconfined)"
            )
        } else {
            continue;
        };
        let path = pod.annotation_path(&entry.key);
        out.report(path.clone(), message)
            .with_fix(Fix::new("remove the legacy seccomp annotation").remove(path));
    }
}
