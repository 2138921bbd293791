use super::{hpa_minimum, replicas};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Deployments and StatefulSets that run fewer than 2 pods although a
    /// PodDisruptionBudget selects them or a HorizontalPodAutoscaler scales them: both say
    /// the workload is meant to stay available. The count is the autoscaler's `minReplicas`
    /// (1 when unset) when one scales the workload, else `spec.replicas` (1 when unset).
    /// Workloads scaled to 0 are not reported.
    ///
    /// Off by default: a single replica is often a deliberate choice for small environments.
    ///
    /// ## Why is this bad?
    /// With one pod, every rollout, node drain or crash is an outage, and a budget on a single
    /// pod either blocks node maintenance or protects nothing. The budget or the autoscaler
    /// promises an availability the replica count does not give.
    ///
    /// ## Remediation
    /// Run at least 2 replicas (`spec.replicas`, or the autoscaler's `minReplicas`), spread
    /// over nodes with anti-affinity or topology spread constraints.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: api
    /// spec:
    ///   replicas: 1
    ///   selector:
    ///     matchLabels: {app: api}
    ///   template:
    ///     metadata:
    ///       labels: {app: api}
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: example/api:1.0
    /// ---
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata:
    ///   name: api
    /// spec:
    ///   maxUnavailable: 1
    ///   selector:
    ///     matchLabels: {app: api}
    /// ```
    pub const RULE = {
        code: "WL025",
        slug: "too-few-replicas",
        title: "Workload meant to stay available runs a single replica",
        severity: Low,
        category: Workload,
        check: Check::Object { kinds: &["Deployment", "StatefulSet"], check },
        frameworks: [soc2::A1_2, gdpr::ART32_1_B],
        equivalents: ["kube-linter:minimum-three-replicas"],
        fix: false,
        default: false,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let index = out.index();
    let hpa = hpa_minimum(index, r);
    let Some(count) = hpa.or_else(|| replicas(r)) else {
        return;
    };
    if !(1..2).contains(&count) {
        return;
    }
    let budget = super::pdbs_selecting(index, r).into_iter().next();
    let (runs, why) = match (hpa, budget) {
        (Some(_), _) => (
            "may run 1 replica (its HorizontalPodAutoscaler's minReplicas)".to_owned(),
            "it is autoscaled for load".to_owned(),
        ),
        (None, Some(pdb)) => (
            "runs 1 replica".to_owned(),
            format!("PodDisruptionBudget {} protects it", pdb.name()),
        ),
        (None, None) => return,
    };
    out.report(
        FieldPath::root().keys(&["spec", "replicas"]),
        format!("{} \"{}\" {runs} although {why}", r.kind(), r.name()),
    );
}
