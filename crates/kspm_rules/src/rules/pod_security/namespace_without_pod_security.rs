use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Namespace objects that do not enforce a Pod Security Standards level: the label
    /// `pod-security.kubernetes.io/enforce` is missing, or set to `privileged`. The system
    /// namespaces `kube-system`, `kube-public` and `kube-node-lease` are skipped.
    ///
    /// A cluster-wide default in the API server's `PodSecurity` admission configuration also
    /// enforces a level; kspm cannot see it from manifests, so suppress this rule if you rely on
    /// one.
    ///
    /// ## Why is this bad?
    /// Without an enforced level, the PodSecurity admission plugin admits anything into the
    /// namespace: privileged pods, host namespaces, hostPath mounts. Every workload rule in this
    /// category then depends on nobody ever deploying a bad manifest by hand.
    ///
    /// ## Remediation
    /// Label the namespace with `pod-security.kubernetes.io/enforce: restricted` (or `baseline`
    /// where restricted is not yet possible), and pin `pod-security.kubernetes.io/enforce-version`
    /// if you want upgrades to be deliberate. Roll out with the `warn` and `audit` labels first.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: payments
    ///   labels:
    ///     team: payments
    /// ```
    pub const RULE = {
        code: "PS029",
        slug: "namespace-without-pod-security",
        title: "Namespace does not enforce a Pod Security level",
        severity: Low,
        category: PodSecurity,
        check: Check::Object { kinds: &["Namespace"], check },
        frameworks: [
            cis::C5_2_1, soc2::CC6_8, pci::R2_2_6, iso27001::A8_9, nist::CM_6,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

fn check(resource: &Resource, out: &mut Reporter<'_>) {
    if SYSTEM.contains(&resource.name()) {
        return;
    }
    let path = FieldPath::root().keys(&["metadata", "labels", ENFORCE]);
    match resource.label(ENFORCE) {
        Some("privileged") => {
            out.report(path, format!("namespace \"{}\" enforces the privileged Pod Security level, which allows everything", resource.name()));
        }
        Some(_) => {}
        None => {
            out.report(
                path,
                format!("namespace \"{}\" has no {ENFORCE} label", resource.name()),
            );
        }
    }
}
