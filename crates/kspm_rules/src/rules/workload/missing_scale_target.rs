use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags HorizontalPodAutoscalers whose `spec.scaleTargetRef` names a workload (kind and
    /// name) that does not exist in the autoscaler's namespace.
    ///
    /// Judged once every object of the scan was read. In file scans a reference is judged
    /// only when the scan holds at least one workload of the target's kind in the namespace;
    /// objects without a namespace count as `default`. On a live cluster every reference to a
    /// kind kspm reads is judged.
    ///
    /// ## Why is this bad?
    /// The autoscaler scales nothing: the workload it was meant for (renamed, or of another
    /// kind) stays at its replica count under load, and the autoscaler reports errors nobody
    /// reads.
    ///
    /// ## Remediation
    /// Point `scaleTargetRef` at the workload's kind and name, or remove the autoscaler.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: api
    /// spec:
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
    /// apiVersion: autoscaling/v2
    /// kind: HorizontalPodAutoscaler
    /// metadata:
    ///   name: api
    /// spec:
    ///   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api-server}
    ///   minReplicas: 2
    ///   maxReplicas: 10
    /// ```
    pub const RULE = {
        code: "WL026",
        slug: "missing-scale-target",
        title: "HorizontalPodAutoscaler targets a workload that does not exist",
        severity: Low,
        category: Workload,
        check: Check::AfterWorkloads { kinds: &["HorizontalPodAutoscaler"], check },
        frameworks: [soc2::A1_1, nist::CM_6],
        equivalents: ["kube-linter:dangling-horizontalpodautoscaler", "kube-score:horizontalpodautoscaler-has-target"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.group() != "autoscaling" {
        return;
    }
    let target = r.root.at(&["spec", "scaleTargetRef"]);
    let field = |k: &str| target.and_then(|t| t.get(k)).and_then(Node::as_str);
    let (Some(kind), Some(name)) = (field("kind"), field("name")) else {
        return;
    };
    let ns = Some(r.join_namespace());
    let found = {
        let index = out.index();
        let Some(mut workloads) = index.workloads(ns) else {
            return;
        };
        if !index.holds_workloads(Some(kind), ns) {
            return;
        }
        workloads.any(|w| w.kind == kind && w.name == name)
    };
    if found {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "scaleTargetRef", "name"]),
        format!(
            "{kind} \"{name}\" does not exist in {}: the autoscaler scales nothing",
            r.namespace_phrase()
        ),
    );
}
