use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that turn AppArmor off or away from the allowed profiles, as the Pod Security
    /// Standards baseline profile forbids:
    ///
    /// - `securityContext.appArmorProfile.type` other than `RuntimeDefault` or `Localhost` (that is,
    ///   `Unconfined`), at pod level or in any container;
    /// - a legacy annotation `container.apparmor.security.beta.kubernetes.io/<container>` whose
    ///   value is not empty, `runtime/default` or `localhost/<profile>` (for example `unconfined`).
    ///   The PodSecurity admission plugin still checks these annotations, for any container name.
    ///
    /// ## Why is this bad?
    /// AppArmor is one of the layers that stop a compromised process from writing to `/proc` and
    /// `/sys`, mounting filesystems or using raw sockets even when it holds the capability.
    /// Running unconfined removes that layer on nodes where it is the main mandatory access control
    /// (Ubuntu, Debian, SUSE).
    ///
    /// ## Remediation
    /// Remove the override, or set `appArmorProfile.type: RuntimeDefault` (or `Localhost` with a
    /// profile loaded on the nodes). Replace the legacy annotations with the field.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   securityContext:
    ///     appArmorProfile:
    ///       type: Unconfined
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    /// ```
    pub const RULE = {
        code: "PS012",
        slug: "apparmor-unconfined",
        title: "AppArmor profile is disabled or not an allowed profile",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            pss::BASELINE_APPARMOR, nsa::APPARMOR_SELINUX, pci::R2_2_6, iso27001::A8_9, nist::CM_6,
        ],
        equivalents: ["trivy:KSV-0002"],
        fix: false,
        default: true,
    }
}

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let allowed_type = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    if let Some(t) = pod
        .at(&["securityContext", "appArmorProfile", "type"])
        .and_then(Node::as_str)
        && !allowed_type(t)
    {
        out.report(
            pod.path_to(&["securityContext", "appArmorProfile", "type"]),
            format!("the pod-level AppArmor profile type is \"{t}\", the default for every container that sets none"),
        );
    }
    for c in pod.containers() {
        if let Some(t) = c
            .at(&["securityContext", "appArmorProfile", "type"])
            .and_then(Node::as_str)
            && !allowed_type(t)
        {
            out.report(
                c.path_to(&["securityContext", "appArmorProfile", "type"]),
                format!("{} sets AppArmor profile type \"{t}\"", c.describe()),
            );
        }
    }
    let annotations = pod
        .meta
        .and_then(|m| m.get("annotations"))
        .and_then(Node::as_map)
        .unwrap_or(&[]);
    for entry in annotations {
        let Some(container) = entry.key.strip_prefix(ANNOTATION_PREFIX) else {
            continue;
        };
        let Some(value) = entry.value.as_str() else {
            continue;
        };
        if value.is_empty() || value == "runtime/default" || value.starts_with("localhost/") {
            continue;
        }
        out.report(
            pod.annotation_path(&entry.key),
            format!("the AppArmor annotation for container \"{container}\" is \"{value}\" (allowed: runtime/default, localhost/<profile>)"),
        );
    }
}
