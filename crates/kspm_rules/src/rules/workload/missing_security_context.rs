use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers when neither the container nor its pod sets any `securityContext`
    /// field (a missing or empty `securityContext` on both). Whether the settings that are
    /// present are good enough is judged by the pod security rules.
    ///
    /// ## Why is this bad?
    /// Without a security context every setting is the runtime default: the image's user (often
    /// root), privilege escalation allowed, a writable root file system, the default
    /// capabilities. A workload with no security context at all has most likely never been
    /// hardened.
    ///
    /// ## Remediation
    /// Set a pod `securityContext` (`runAsNonRoot: true`, `seccompProfile.type: RuntimeDefault`)
    /// and a container `securityContext` (`allowPrivilegeEscalation: false`,
    /// `readOnlyRootFilesystem: true`, `capabilities.drop: [ALL]`).
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
        code: "WL016",
        slug: "missing-security-context",
        title: "Neither the container nor its pod sets a security context",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            cis::C5_7_3, pci::R2_2_6, iso27001::A8_9, nist::CM_6,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let set = |n: Option<&Node>| n.and_then(Node::as_map).is_some_and(|m| !m.is_empty());
    if set(c.get("securityContext")) || set(c.pod.get("securityContext")) {
        return;
    }
    out.report(
        c.path_to(&["securityContext"]),
        format!(
            "{} has no securityContext, and neither does its pod",
            c.describe()
        ),
    );
}
