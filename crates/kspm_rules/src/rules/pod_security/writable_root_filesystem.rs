use super::capabilities_not_dropped::is_windows_pod;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose root filesystem is writable: `securityContext.readOnlyRootFilesystem`
    /// is not `true` (unset means writable). Every container is checked, init and ephemeral ones
    /// included; pods with `spec.os.name: windows` are skipped (the field does not exist there).
    ///
    /// ## Why is this bad?
    /// An attacker who gets code execution can write to the image: drop tools and malware, replace
    /// binaries or configuration the application reloads, and persist until the container is
    /// recreated. A read-only root filesystem turns most of those into errors.
    ///
    /// ## Remediation
    /// Set `readOnlyRootFilesystem: true`, and mount an `emptyDir` on the few paths the application
    /// must write (`/tmp`, caches, PID files).
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
    /// ```
    pub const RULE = {
        code: "PS027",
        slug: "writable-root-filesystem",
        title: "Container root filesystem is writable",
        severity: Low,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            nsa::IMMUTABLE_FS, hipaa::INTEGRITY, nist::SI_7, iso27001::A8_9,
        ],
        equivalents: [
            "checkov:CKV_K8S_22",
            "polaris:notReadOnlyRootFilesystem",
            "kube-score:container-security-context-readonlyrootfilesystem",
            "trivy:KSV-0014",
            "kubeaudit:rootfs",
        ],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(c.pod) {
        return;
    }
    let value = c.security("readOnlyRootFilesystem").and_then(Node::as_bool);
    if value == Some(true) {
        return;
    }
    let message = if value == Some(false) {
        format!("{} sets readOnlyRootFilesystem: false", c.describe())
    } else {
        format!(
            "{} does not set readOnlyRootFilesystem: true (its root filesystem is writable)",
            c.describe()
        )
    };
    let path = c.path_to(&["securityContext", "readOnlyRootFilesystem"]);
    out.report(path.clone(), message)
        .with_fix(Fix::new("set readOnlyRootFilesystem to true").set(path, json!(true)));
}
