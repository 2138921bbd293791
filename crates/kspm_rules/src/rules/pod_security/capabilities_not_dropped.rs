use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose `securityContext.capabilities.drop` does not contain `ALL`, as the
    /// Pod Security Standards restricted profile requires. Every container is checked: init,
    /// regular and ephemeral (the PodSecurity admission plugin visits all three, and native
    /// sidecars are init containers). Pods with `spec.os.name: windows` are exempt, as upstream
    /// (Linux capabilities do not exist there).
    ///
    /// The comparison is exact, as in admission: `drop: ["all"]` does drop everything on
    /// containerd and CRI-O, but a restricted namespace rejects it, so it is reported too.
    ///
    /// ## Why is this bad?
    /// Without a drop list the container keeps the runtime's default capabilities (`CHOWN`,
    /// `DAC_OVERRIDE`, `FOWNER`, `SETUID`, `SETGID`, `NET_RAW`, `MKNOD`...). Most applications need
    /// none of them, and each one widens what an attacker can do after a code-execution bug —
    /// `NET_RAW` alone allows ARP and DNS spoofing on the node's network.
    ///
    /// ## Remediation
    /// Add `ALL` to `capabilities.drop`, then add back only what the workload needs (the
    /// restricted profile allows only `NET_BIND_SERVICE`).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector:
    ///     matchLabels: {app: web}
    ///   template:
    ///     metadata:
    ///       labels: {app: web}
    ///     spec:
    ///       containers:
    ///       - name: web
    ///         image: nginx:1.27
    /// ```
    pub const RULE = {
        code: "PS006",
        slug: "capabilities-not-dropped",
        title: "Container does not drop all capabilities",
        severity: Medium,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            pss::RESTRICTED_CAPABILITIES, nsa::CAPABILITIES, cis::C5_2_10, pci::R2_2_6,
            iso27001::A8_2, nist::AC_6, nist::CM_7,
        ],
        equivalents: ["trivy:KSV-0003", "trivy:KSV-0106", "kubeaudit:capabilities"],
        fix: true,
        default: true,
    }
}

pub(super) fn is_windows_pod(pod: &PodSpec<'_>) -> bool {
    pod.at(&["os", "name"]).and_then(Node::as_str) == Some("windows")
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(c.pod) {
        return;
    }
    let path = c.path_to(&["securityContext", "capabilities", "drop"]);
    let drop: Vec<&str> = c
        .at(&["securityContext", "capabilities", "drop"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::as_str)
        .collect();
    if drop.contains(&"ALL") {
        return;
    }
    let message = if let Some(spelled) = drop.iter().find(|d| d.eq_ignore_ascii_case("all")) {
        format!(
            "{} drops \"{spelled}\": Pod Security admission only accepts the exact spelling \"ALL\"",
            c.describe()
        )
    } else if drop.is_empty() {
        format!(
            "{} does not drop any capability (capabilities.drop lacks \"ALL\")",
            c.describe()
        )
    } else {
        format!(
            "{} drops [{}] but not \"ALL\"",
            c.describe(),
            drop.join(", ")
        )
    };
    out.report(path.clone(), message)
        .with_fix(Fix::new("add \"ALL\" to capabilities.drop").append(path, json!("ALL")));
}
