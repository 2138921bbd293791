use super::baseline_disallowed_capability::capability_items;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags every capability a container adds through `securityContext.capabilities.add`, whatever
    /// it is (CIS Kubernetes Benchmark 5.2.9). Each list item is reported.
    ///
    /// Off by default: the baseline and restricted rules (`baseline-disallowed-capability`,
    /// `restricted-added-capability`) judge which additions matter; select this rule to audit
    /// every addition, as CIS asks.
    ///
    /// ## Why is this bad?
    /// Capabilities are root's privileges cut into pieces; every one added back is a privilege an
    /// attacker inherits after compromising the process. CIS recommends admitting containers with
    /// added capabilities only where it has been justified.
    ///
    /// ## Remediation
    /// Remove the capability from `capabilities.add`, or record why the workload needs it and
    /// suppress the finding for that workload.
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
    ///         add: ["NET_BIND_SERVICE"]
    /// ```
    pub const RULE = {
        code: "PS008",
        slug: "added-capability",
        title: "Container adds Linux capabilities",
        severity: Low,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            cis::C5_2_9, nsa::CAPABILITIES, pci::R2_2_6, nist::AC_6,
        ],
        equivalents: ["checkov:CKV_K8S_25", "trivy:KSV-0022", "kubeaudit:capabilities"],
        fix: true,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    for (path, name) in capability_items(c, "add") {
        out.report(
            path.clone(),
            format!("{} adds capability \"{name}\"", c.describe()),
        )
        .with_fix(Fix::new(format!("remove \"{name}\" from capabilities.add")).remove(path));
    }
}
