use super::capabilities_not_dropped::is_windows_pod;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that do not set `securityContext.allowPrivilegeEscalation: false`
    /// explicitly, as the Pod Security Standards restricted profile requires (unset means
    /// allowed). Every container is checked, init and ephemeral ones included; pods with
    /// `spec.os.name: windows` are exempt, as upstream.
    ///
    /// ## Why is this bad?
    /// Without `no_new_privs`, a process can gain privileges through set-user-ID binaries (`sudo`,
    /// `su`, `ping` in old images) or file capabilities, turning an unprivileged foothold into root
    /// inside the container — one step closer to the node.
    ///
    /// ## Remediation
    /// Set `allowPrivilegeEscalation: false` in every container's `securityContext`. The API server
    /// rejects it together with `privileged: true` (a privileged container can always escalate),
    /// so the fix also turns `privileged` off where it is on.
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
    ///       runAsNonRoot: true
    /// ```
    pub const RULE = {
        code: "PS019",
        slug: "privilege-escalation-allowed",
        title: "Container allows privilege escalation",
        severity: Medium,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            cis::C5_2_6, pss::RESTRICTED_PRIVILEGE_ESCALATION, nsa::PRIVILEGE_ESCALATION,
            pci::R2_2_6, iso27001::A8_2, nist::AC_6,
        ],
        equivalents: [
            "checkov:CKV_K8S_20",
            "polaris:privilegeEscalationAllowed",
            "trivy:KSV-0001",
            "kubeaudit:privesc",
        ],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(c.pod) {
        return;
    }
    let value = c
        .security("allowPrivilegeEscalation")
        .and_then(Node::as_bool);
    if value == Some(false) {
        return;
    }
    let path = c.path_to(&["securityContext", "allowPrivilegeEscalation"]);
    let message = if value == Some(true) {
        format!("{} sets allowPrivilegeEscalation: true", c.describe())
    } else {
        format!(
            "{} does not set allowPrivilegeEscalation: false (it defaults to allowed)",
            c.describe()
        )
    };
    let mut fix = Fix::new("set allowPrivilegeEscalation to false").set(path.clone(), json!(false));
    if c.security("privileged").and_then(Node::as_bool) == Some(true) {
        fix = Fix::new("set allowPrivilegeEscalation and privileged to false")
            .set(path.clone(), json!(false))
            .set(c.path_to(&["securityContext", "privileged"]), json!(false));
    }
    out.report(path, message).with_fix(fix);
}
