use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags SELinux options the Pod Security Standards baseline profile forbids, at pod level and
    /// in every container (`securityContext.seLinuxOptions`):
    ///
    /// - a `type` other than `container_t`, `container_init_t`, `container_kvm_t` or (from
    ///   Kubernetes 1.31) `container_engine_t`;
    /// - any `user` or `role`.
    ///
    /// `level` is allowed, as upstream. Each offending field is reported.
    ///
    /// ## Why is this bad?
    /// On SELinux nodes (RHEL, Fedora, OpenShift) the container type confines what the process may
    /// touch on the host. Types such as `spc_t` ("super privileged container") or `unconfined_t`
    /// switch that confinement off; a custom user or role can grant host-level SELinux
    /// privileges.
    ///
    /// ## Remediation
    /// Remove `type`, `user` and `role` from `seLinuxOptions` and let the runtime choose the
    /// container type; set only `level` when volumes must be shared between pods.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: agent
    /// spec:
    ///   containers:
    ///   - name: agent
    ///     image: example/agent:1.0
    ///     securityContext:
    ///       seLinuxOptions:
    ///         type: spc_t
    /// ```
    pub const RULE = {
        code: "PS013",
        slug: "selinux-custom-options",
        title: "SELinux options set a custom type, user or role",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            pss::BASELINE_SELINUX, nsa::APPARMOR_SELINUX, mitre::ESCAPE_TO_HOST, pci::R2_2_6,
            iso27001::A8_9, nist::CM_6,
        ],
        equivalents: ["trivy:KSV-0025"],
        fix: false,
        default: true,
    }
}

fn allowed_type(t: &str, version: KubeVersion) -> bool {
    match t {
        "" | "container_t" | "container_init_t" | "container_kvm_t" => true,
        "container_engine_t" => version >= KubeVersion::new(1, 31),
        _ => false,
    }
}

fn check_options(options: Option<&Node>, base: &FieldPath, who: &str, out: &mut Reporter<'_>) {
    let Some(options) = options else { return };
    let version = out.settings().k8s_version;
    if let Some(t) = options.get("type").and_then(Node::as_str)
        && !allowed_type(t, version)
    {
        out.report(base.key("type"), format!("{who} sets SELinux type \"{t}\""));
    }
    for field in ["user", "role"] {
        if let Some(v) = options.get(field).and_then(Node::as_str)
            && !v.is_empty()
        {
            out.report(
                base.key(field),
                format!("{who} sets SELinux {field} \"{v}\""),
            );
        }
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    check_options(
        pod.security("seLinuxOptions"),
        &pod.path_to(&["securityContext", "seLinuxOptions"]),
        "the pod",
        out,
    );
    for c in pod.containers() {
        check_options(
            c.security("seLinuxOptions"),
            &c.path_to(&["securityContext", "seLinuxOptions"]),
            &c.describe(),
            out,
        );
    }
}
