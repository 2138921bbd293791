use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Windows HostProcess containers: `securityContext.windowsOptions.hostProcess: true` on
    /// the pod or on any container.
    ///
    /// ## Why is this bad?
    /// A HostProcess container is not isolated at all: it runs directly on the Windows node as a
    /// host process, with the node's network and filesystem and, typically, as `NT AUTHORITY\SYSTEM`.
    /// It is the Windows equivalent of a privileged container with every host namespace.
    ///
    /// ## Remediation
    /// Remove `hostProcess` (and the `hostNetwork: true` it requires). Node-management tools that
    /// need it belong in a dedicated namespace with the `privileged` Pod Security level.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: node-admin
    /// spec:
    ///   hostNetwork: true
    ///   securityContext:
    ///     windowsOptions:
    ///       hostProcess: true
    ///       runAsUserName: "NT AUTHORITY\\SYSTEM"
    ///   containers:
    ///   - name: shell
    ///     image: mcr.microsoft.com/windows/nanoserver:ltsc2022
    /// ```
    pub const RULE = {
        code: "PS022",
        slug: "windows-host-process",
        title: "Pod runs Windows HostProcess containers",
        severity: Critical,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_11, pss::BASELINE_HOST_PROCESS, nsa::PRIVILEGED, mitre::ESCAPE_TO_HOST,
            pci::R2_2_6, iso27001::A8_2, nist::AC_6, nist::SC_39,
        ],
        equivalents: ["polaris:hostProcess", "trivy:KSV-0103"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let key = ["securityContext", "windowsOptions", "hostProcess"];
    if pod.at(&key).and_then(Node::as_bool) == Some(true) {
        out.report(
            pod.path_to(&key),
            "the pod runs its containers as Windows HostProcess containers (hostProcess: true)",
        );
    }
    for c in pod.containers() {
        if c.at(&key).and_then(Node::as_bool) == Some(true) {
            out.report(
                c.path_to(&key),
                format!(
                    "{} is a Windows HostProcess container (hostProcess: true)",
                    c.describe()
                ),
            );
        }
    }
}
