use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Deployments and StatefulSets with more than one replica (a missing `replicas` means
    /// one) when no PodDisruptionBudget in the same namespace selects their pod template's
    /// labels. Only the PodDisruptionBudgets among the scanned manifests are known.
    ///
    /// ## Why is this bad?
    /// Node drains (upgrades, autoscaler scale-downs, maintenance) evict pods without regard to
    /// the application. Without a budget, a drain may evict every replica at once, and a
    /// workload that runs several replicas precisely to stay available goes down anyway.
    ///
    /// ## Remediation
    /// Add a `PodDisruptionBudget` whose `selector` matches the pod template labels, with
    /// `maxUnavailable: 1` (or a `minAvailable` below the replica count, so that drains can still
    /// make progress).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   replicas: 3
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
        code: "WL014",
        slug: "missing-pod-disruption-budget",
        title: "Replicated workload has no PodDisruptionBudget",
        severity: Low,
        category: Workload,
        check: Check::Object { kinds: &["Deployment", "StatefulSet"], check },
        frameworks: [
            soc2::A1_2, gdpr::ART32_1_B,
        ],
        equivalents: ["kube-score:deployment-has-poddisruptionbudget", "kube-score:statefulset-has-poddisruptionbudget", "polaris:missingPodDisruptionBudget"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(replicas) = super::replicas(r).filter(|&n| n > 1) else {
        return;
    };
    if !super::pdbs_selecting(out.index(), r).is_empty() {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "replicas"]),
        format!(
            "{} \"{}\" runs {replicas} replicas but no PodDisruptionBudget in {} selects its pods",
            r.kind(),
            r.name(),
            r.namespace_phrase()
        ),
    );
}
