use super::baseline_disallowed_capability::capability_items;
use super::capabilities_not_dropped::is_windows_pod;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose `securityContext.capabilities.add` lists anything other than
    /// `NET_BIND_SERVICE`, the only capability the Pod Security Standards restricted profile lets a
    /// container add back. Each offending list item is reported. Names are compared exactly, as
    /// the PodSecurity admission plugin does (`net_bind_service` is rejected there). Pods with
    /// `spec.os.name: windows` are exempt, as upstream.
    ///
    /// ## Why is this bad?
    /// The restricted profile is the hardened baseline for applications: a container drops every
    /// capability and may only bind ports below 1024. Anything more — even capabilities in the
    /// runtime's default set such as `CHOWN` or `SETUID` — gives a compromised process more power
    /// over files and identities than a typical service needs.
    ///
    /// ## Remediation
    /// Remove the capability from `capabilities.add`. Files the process must own can be prepared
    /// at image build time or with `fsGroup`; a process that must switch users can be started as
    /// the right user with `runAsUser`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     securityContext:
    ///       capabilities:
    ///         drop: ["ALL"]
    ///         add: ["NET_BIND_SERVICE", "CHOWN"]
    /// ```
    pub const RULE = {
        code: "PS007",
        slug: "restricted-added-capability",
        title: "Container adds a capability other than NET_BIND_SERVICE",
        severity: Medium,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            pss::RESTRICTED_CAPABILITIES, cis::C5_2_9, nsa::CAPABILITIES, pci::R2_2_6, iso27001::A8_2,
            nist::AC_6,
        ],
        equivalents: ["trivy:KSV-0106"],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(c.pod) {
        return;
    }
    for (path, name) in capability_items(c, "add") {
        if name == "NET_BIND_SERVICE" {
            continue;
        }
        out.report(
            path.clone(),
            format!(
                "{} adds capability \"{name}\"; the restricted profile allows only \"NET_BIND_SERVICE\"",
                c.describe()
            ),
        )
        .with_fix(Fix::new(format!("remove \"{name}\" from capabilities.add")).remove(path));
    }
}
