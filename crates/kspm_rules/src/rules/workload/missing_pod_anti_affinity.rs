use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Deployments and StatefulSets with more than one replica whose pod template has
    /// neither a `podAntiAffinity` nor `topologySpreadConstraints`. Off by default; whether the
    /// anti-affinity's selector actually matches the workload's own pods is not checked.
    ///
    /// ## Why is this bad?
    /// Nothing stops the scheduler from putting every replica on the same node (or zone). One
    /// node failure, drain or noisy neighbour then takes all of them down at once, and the
    /// replicas buy no availability.
    ///
    /// ## Remediation
    /// Add `topologySpreadConstraints` over `kubernetes.io/hostname` (and
    /// `topology.kubernetes.io/zone`), or a preferred `podAntiAffinity` on the workload's own
    /// labels.
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
        code: "WL017",
        slug: "missing-pod-anti-affinity",
        title: "Replicated workload does not spread its pods",
        severity: Info,
        category: Workload,
        check: Check::Object { kinds: &["Deployment", "StatefulSet"], check },
        frameworks: [],
        equivalents: ["kube-score:deployment-has-host-podantiaffinity", "kube-score:statefulset-has-host-podantiaffinity"],
        fix: false,
        default: false,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(replicas) = super::replicas(r).filter(|&n| n > 1) else {
        return;
    };
    let spec = r.root.at(&["spec", "template", "spec"]);
    let anti = spec
        .and_then(|s| s.at(&["affinity", "podAntiAffinity"]))
        .and_then(Node::as_map)
        .is_some_and(|m| !m.is_empty());
    let spread = spec
        .and_then(|s| s.get("topologySpreadConstraints"))
        .and_then(Node::as_seq)
        .is_some_and(|s| !s.is_empty());
    if anti || spread {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "template", "spec", "affinity", "podAntiAffinity"]),
        format!(
            "{} \"{}\" runs {replicas} replicas with neither podAntiAffinity nor topologySpreadConstraints; they may all land on one node",
            r.kind(),
            r.name()
        ),
    );
}
