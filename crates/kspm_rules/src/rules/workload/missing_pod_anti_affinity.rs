use kspm_model::selector::selector_matches;

use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Deployments and StatefulSets with more than one replica (a missing `replicas` means
    /// one) whose pod template spreads its pods neither with a `podAntiAffinity` term (required
    /// or preferred) nor with a `topologySpreadConstraints` entry whose `labelSelector` selects
    /// the template's own labels. A term that selects other pods only keeps the replicas away
    /// from those, not from each other, and does not count. Neither does an anti-affinity term
    /// that looks only in other namespaces: as in Kubernetes, a term with no `namespaces` and
    /// no `namespaceSelector` applies to the pod's own namespace, `namespaceSelector: {}` to
    /// every namespace, and otherwise to the listed namespaces plus those the selector matches
    /// (judged on the Namespace's labels when it is scanned, else on
    /// `kubernetes.io/metadata.name`, the one label every namespace has; a selector that
    /// needs labels kspm cannot see counts as spreading). Off by default.
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
        frameworks: [
            soc2::A1_2,
        ],
        equivalents: ["kube-score:deployment-has-host-podantiaffinity", "kube-score:statefulset-has-host-podantiaffinity"],
        fix: false,
        default: false,
    }
}

/// The items of a list field; empty when it is missing or not a list.
fn seq(node: Option<&Node>) -> &[Node] {
    node.and_then(Node::as_seq).unwrap_or(&[])
}

/// Whether an affinity term's namespaces (`namespaces` and `namespaceSelector`) include the
/// workload's own namespace `own` (`None`: not written in the manifest, so unknown).
fn term_covers_namespace(term: &Node, own: Option<&str>, out: &Reporter<'_>) -> bool {
    let names: Vec<&str> = seq(term.get("namespaces"))
        .iter()
        .filter_map(Node::as_str)
        .collect();
    let selector = term.get("namespaceSelector").filter(|n| !n.is_null());
    if names.is_empty() && selector.is_none() {
        return true; // the pod's own namespace
    }
    let Some(own) = own else {
        return true; // cannot tell where the workload will run: give it the benefit of the doubt
    };
    if names.contains(&own) {
        return true;
    }
    let Some(selector) = selector else {
        return false;
    };
    match out.index().find("Namespace", None, own) {
        Some(ns) => selector_matches(Some(selector), ns.root.at(&["metadata", "labels"])),
        None => {
            // Only the label the API server puts on every namespace is known.
            let known = Node::from_json(&serde_json::json!({ "kubernetes.io/metadata.name": own }));
            let keys = selector
                .get("matchLabels")
                .and_then(Node::as_map)
                .map(|m| m.iter().map(|e| &*e.key).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain(
                    seq(selector.get("matchExpressions"))
                        .iter()
                        .filter_map(|e| e.get("key").and_then(Node::as_str)),
                )
                .collect::<Vec<_>>();
            if keys.iter().all(|k| *k == "kubernetes.io/metadata.name") {
                selector_matches(Some(selector), Some(&known))
            } else {
                true
            }
        }
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(replicas) = super::replicas(r).filter(|&n| n > 1) else {
        return;
    };
    let template = r.root.at(&["spec", "template"]);
    let labels = template.and_then(|t| t.at(&["metadata", "labels"]));
    let spec = template.and_then(|t| t.get("spec"));
    let own_namespace = r.namespace();
    // Spread constraints always count pods of the pod's own namespace.
    let spreads_own = |term: &Node| selector_matches(term.get("labelSelector"), labels);
    let selects_own = |term: Option<&Node>| {
        term.is_some_and(|t| spreads_own(t) && term_covers_namespace(t, own_namespace, out))
    };
    let anti = spec.and_then(|s| s.at(&["affinity", "podAntiAffinity"]));
    let required = seq(anti.and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution")));
    let preferred =
        seq(anti.and_then(|a| a.get("preferredDuringSchedulingIgnoredDuringExecution")));
    let spread = seq(spec.and_then(|s| s.get("topologySpreadConstraints")));
    let spreads = required.iter().any(|t| selects_own(Some(t)))
        || preferred
            .iter()
            .any(|t| selects_own(t.get("podAffinityTerm")))
        || spread.iter().any(spreads_own);
    if spreads {
        return;
    }
    let declared = !required.is_empty() || !preferred.is_empty() || !spread.is_empty();
    let message = if declared {
        format!(
            "{} \"{}\" runs {replicas} replicas, but none of its podAntiAffinity terms or topologySpreadConstraints selects its own pods; they may all land on one node",
            r.kind(),
            r.name()
        )
    } else {
        format!(
            "{} \"{}\" runs {replicas} replicas with neither podAntiAffinity nor topologySpreadConstraints; they may all land on one node",
            r.kind(),
            r.name()
        )
    };
    out.report(
        FieldPath::root().keys(&["spec", "template", "spec", "affinity", "podAntiAffinity"]),
        message,
    );
}
