use super::baseline_disallowed_capability::{capability_items, normalize_capability};
use super::capabilities_not_dropped::is_windows_pod;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that keep the `NET_RAW` capability (CIS Kubernetes Benchmark 5.2.8):
    /// `capabilities.drop` contains neither `NET_RAW` nor `ALL`, or it drops `ALL` but
    /// `capabilities.add` gives `NET_RAW` (or `ALL`) back. An explicit `drop: [NET_RAW]` wins over
    /// an addition, as in the container runtimes.
    ///
    /// Names are compared as the runtimes read them — case-insensitively and with or without the
    /// `CAP_` prefix — because the question here is what the process ends up with. Pods with
    /// `spec.os.name: windows` are skipped.
    ///
    /// ## Why is this bad?
    /// `NET_RAW` is in the runtime's default set. It lets a process open raw sockets: forge
    /// packets, spoof ARP and DNS answers to neighbouring pods on the same node network, and
    /// exploit kernel bugs in rarely used protocols. Few applications need it (`ping` works
    /// without it wherever `net.ipv4.ping_group_range` allows unprivileged ICMP sockets).
    ///
    /// ## Remediation
    /// Add `NET_RAW` (or better, `ALL`) to `capabilities.drop`, and do not add it back.
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
    /// ```
    pub const RULE = {
        code: "PS009",
        slug: "net-raw-not-dropped",
        title: "Container keeps the NET_RAW capability",
        severity: Low,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            cis::C5_2_8, nsa::CAPABILITIES, mitre::NETWORK_SNIFFING, pci::R2_2_6, nist::CM_7,
        ],
        equivalents: ["checkov:CKV_K8S_28"],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(c.pod) {
        return;
    }
    let drop_path = c.path_to(&["securityContext", "capabilities", "drop"]);
    let dropped: Vec<String> = capability_items(c, "drop")
        .into_iter()
        .map(|(_, name)| normalize_capability(name))
        .collect();
    let fix = || {
        Fix::new("add \"NET_RAW\" to capabilities.drop").append(drop_path.clone(), json!("NET_RAW"))
    };
    if dropped.iter().any(|d| d == "NET_RAW") {
        return;
    }
    if dropped.iter().any(|d| d == "ALL") {
        // Dropping ALL happens first; individual additions are applied on top of it.
        let readded = capability_items(c, "add")
            .into_iter()
            .rev()
            .find(|(_, name)| matches!(normalize_capability(name).as_str(), "NET_RAW" | "ALL"));
        if let Some((path, name)) = readded {
            out.report(
                path,
                format!(
                    "{} drops ALL capabilities but adds \"{name}\" back",
                    c.describe()
                ),
            )
            .with_fix(fix());
        }
        return;
    }
    out.report(
        drop_path.clone(),
        format!(
            "{} does not drop NET_RAW (capabilities.drop has neither NET_RAW nor ALL)",
            c.describe()
        ),
    )
    .with_fix(fix());
}
