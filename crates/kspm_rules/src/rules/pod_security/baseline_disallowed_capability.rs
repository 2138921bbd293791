use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose `securityContext.capabilities.add` lists a capability outside the
    /// Pod Security Standards baseline allowlist: `AUDIT_WRITE`, `CHOWN`, `DAC_OVERRIDE`,
    /// `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`, `SETGID`, `SETPCAP`,
    /// `SETUID` and `SYS_CHROOT` (the runtimes' default set minus `NET_RAW`). Each offending list
    /// item is reported.
    ///
    /// Names are compared exactly, as the PodSecurity admission plugin does: `SYS_ADMIN`,
    /// `sys_admin` and `CAP_SYS_ADMIN` are all reported (container runtimes upper-case the name,
    /// and CRI-O also accepts the `CAP_` prefix, so these spellings can grant the capability), and
    /// so is a non-canonical spelling of an allowed capability such as `cap_chown`, which
    /// admission rejects.
    ///
    /// ## Why is this bad?
    /// Capabilities beyond that set are the building blocks of container escapes:
    /// `SYS_ADMIN` allows mounting filesystems and much more, `SYS_MODULE` loads kernel modules,
    /// `SYS_PTRACE` reads other processes' memory, `NET_ADMIN` and `NET_RAW` reconfigure and spoof
    /// the network, `BPF` and `PERFMON` reach into the kernel.
    ///
    /// ## Remediation
    /// Remove the capability from `capabilities.add`. If the workload really needs it, run it in
    /// a namespace with the `privileged` Pod Security level and isolate it on dedicated nodes.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: net-tools
    /// spec:
    ///   containers:
    ///   - name: tools
    ///     image: example/net-tools:1.0
    ///     securityContext:
    ///       capabilities:
    ///         add: ["NET_ADMIN", "SYS_ADMIN"]
    /// ```
    pub const RULE = {
        code: "PS005",
        slug: "baseline-disallowed-capability",
        title: "Container adds a capability the baseline profile forbids",
        severity: High,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            pss::BASELINE_CAPABILITIES, cis::C5_2_9, nsa::CAPABILITIES, mitre::ESCAPE_TO_HOST, pci::R2_2_6,
            iso27001::A8_2, nist::AC_6, nist::CM_7,
        ],
        equivalents: [],
        fix: true,
        default: true,
    }
}

/// The PSS baseline allowlist (`capabilities_allowed_1_0`), unchanged since Kubernetes 1.22.
pub(super) const BASELINE_ALLOWED: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// A capability name as the container runtimes read it: upper case, without `CAP_`.
pub(super) fn normalize_capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("CAP_") {
        return rest.to_owned();
    }
    upper
}

/// The string items of `capabilities.<list>` with their paths, last item first: each finding's
/// fix removes one item by index, and removing from the end keeps the other indices valid.
pub(super) fn capability_items<'a>(c: &Container<'a>, list: &str) -> Vec<(FieldPath, &'a str)> {
    let path = c.path_to(&["securityContext", "capabilities", list]);
    let mut items: Vec<(FieldPath, &'a str)> = c
        .at(&["securityContext", "capabilities", list])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.as_str().map(|s| (path.index(i), s)))
        .collect();
    items.reverse();
    items
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    for (path, name) in capability_items(c, "add") {
        if BASELINE_ALLOWED.contains(&name) {
            continue;
        }
        let normalized = normalize_capability(name);
        let message = if BASELINE_ALLOWED.contains(&normalized.as_str()) {
            format!(
                "{} adds capability \"{name}\": the baseline allowlist spells it \"{normalized}\", and Pod Security admission compares names exactly",
                c.describe()
            )
        } else {
            format!(
                "{} adds capability \"{name}\", which the baseline profile does not allow",
                c.describe()
            )
        };
        out.report(path.clone(), message)
            .with_fix(Fix::new(format!("remove \"{name}\" from capabilities.add")).remove(path));
    }
}
