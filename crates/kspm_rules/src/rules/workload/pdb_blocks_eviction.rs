use super::{hpa_minimum, replicas};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags PodDisruptionBudgets that allow no voluntary disruption at all: `maxUnavailable`
    /// of `0` or `0%`, or `minAvailable` of `100%`. It also flags Deployments, StatefulSets,
    /// ReplicaSets and ReplicationControllers whose replica count (the HorizontalPodAutoscaler's
    /// `minReplicas` when one scales them) a selecting budget's `minAvailable` reaches or
    /// exceeds, percentages rounded up as the disruption controller does. Workloads with 0
    /// replicas are not judged.
    ///
    /// ## Why is this bad?
    /// Such a budget makes every eviction fail: `kubectl drain`, node upgrades, the cluster
    /// autoscaler's scale-down and spot-instance replacements wait forever on these pods, so
    /// nodes with known vulnerabilities stay in service and maintenance windows overrun.
    /// Operators end up deleting the budget in a hurry, and the protection with it.
    ///
    /// ## Remediation
    /// Run enough replicas that one can go (`minAvailable` below the replica count), or express
    /// the budget as `maxUnavailable: 1`, which keeps allowing one disruption at a time at any
    /// scale.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata:
    ///   name: web
    /// spec:
    ///   maxUnavailable: 0
    ///   selector:
    ///     matchLabels: {app: web}
    /// ```
    pub const RULE = {
        code: "WL023",
        slug: "pdb-blocks-eviction",
        title: "PodDisruptionBudget allows no voluntary disruption",
        severity: Low,
        category: Workload,
        check: Check::Object { kinds: KINDS, check },
        frameworks: [soc2::A1_2, nist::CM_6],
        equivalents: ["kube-linter:pdb-max-unavailable", "kube-linter:pdb-min-available"],
        fix: false,
        default: true,
    }
}

const KINDS: &[&str] = &[
    "PodDisruptionBudget",
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
];

/// An `IntOrString` of a budget: a count, or a percentage.
enum Amount {
    Count(i64),
    Percent(i64),
}

fn amount(n: Option<&Node>) -> Option<Amount> {
    let n = n?;
    if let Some(i) = n.as_i64() {
        return Some(Amount::Count(i));
    }
    let p = n.as_str()?.trim().strip_suffix('%')?.trim().parse().ok()?;
    Some(Amount::Percent(p))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.kind() == "PodDisruptionBudget" {
        check_budget(r, out);
    } else {
        check_workload(r, out);
    }
}

fn check_budget(r: &Resource, out: &mut Reporter<'_>) {
    let spec = FieldPath::root().key("spec");
    let at = |k: &str| r.root.at(&["spec", k]);
    match (amount(at("maxUnavailable")), amount(at("minAvailable"))) {
        (Some(Amount::Count(0) | Amount::Percent(0)), _) => {
            out.report(
                spec.key("maxUnavailable"),
                "maxUnavailable is 0: no pod it selects can ever be evicted",
            );
        }
        (_, Some(Amount::Percent(p))) if p >= 100 => {
            out.report(
                spec.key("minAvailable"),
                "minAvailable is 100%: no pod it selects can ever be evicted",
            );
        }
        _ => {}
    }
}

fn check_workload(r: &Resource, out: &mut Reporter<'_>) {
    let index = out.index();
    let (count, source) = match hpa_minimum(index, r) {
        Some(min) => (min, "its HorizontalPodAutoscaler's minReplicas"),
        None => match replicas(r) {
            Some(n) => (n, "replicas"),
            None => return,
        },
    };
    if count <= 0 {
        return;
    }
    let blocking: Vec<String> = super::pdbs_selecting(index, r)
        .into_iter()
        .filter_map(|pdb| {
            let needed = match amount(pdb.root.at(&["spec", "minAvailable"]))? {
                Amount::Count(n) => n,
                // The disruption controller rounds minAvailable percentages up.
                Amount::Percent(p) => (p * count + 99) / 100,
            };
            (needed >= count).then(|| format!("{} (minAvailable {needed})", pdb.name()))
        })
        .collect();
    if blocking.is_empty() {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "replicas"]),
        format!(
            "{count} pod(s) ({source}), and PodDisruptionBudget {} keeps as many available: none can be evicted",
            blocking.join(", ")
        ),
    );
}
