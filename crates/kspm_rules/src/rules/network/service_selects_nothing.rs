use kspm_model::index::CONTROLLER_LABELS;
use kspm_model::selector::LabelSelector;

use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Services with a `spec.selector` that selects the pods of no workload in their
    /// namespace (no pod's, or pod template's, labels contain every pair of the selector).
    /// Services without a selector (endpoints managed by hand or by a controller) and
    /// `ExternalName` Services are not judged.
    ///
    /// Judged on live clusters only, once every object was read, against the controllers' pod
    /// templates and the standalone pods: in manifests, operators' pods (Prometheus,
    /// Longhorn's instance managers...) are created at run time from objects no file shows,
    /// and the real-world review found nothing but those. Labels that controllers add to
    /// their pods (`statefulset.kubernetes.io/pod-name`, `pod-template-hash`...) are taken
    /// to match.
    ///
    /// ## Why is this bad?
    /// The Service has no endpoints: clients get connection errors, and an Ingress, a
    /// NetworkPolicy exception or a monitoring rule written for it protects or routes nothing.
    /// A selector that matches nothing today can match whatever pod someone labels that way
    /// tomorrow, and receive its traffic.
    ///
    /// ## Remediation
    /// Make the selector a subset of the labels of the pods it should reach, or remove the
    /// Service.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector:
    ///     matchLabels: {app: web}
    ///   template:
    ///     metadata:
    ///       labels: {app: web}
    ///     spec:
    ///       containers:
    ///       - name: web
    ///         image: example/web:1.0
    /// ---
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector: {app: frontend}
    ///   ports:
    ///   - port: 80
    /// ```
    pub const RULE = {
        code: "NW015",
        slug: "service-selects-nothing",
        title: "Service selects no pod",
        severity: Low,
        category: Network,
        check: Check::AfterWorkloads { kinds: &["Service"], check },
        frameworks: [nist::CM_6, soc2::CC7_1],
        equivalents: ["kube-linter:dangling-service", "kube-score:service-targets-pod"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1" {
        return;
    }
    let spec = r.root.get("spec");
    if spec.and_then(|s| s.get("type")).and_then(Node::as_str) == Some("ExternalName") {
        return;
    }
    let Some(selector) = spec
        .and_then(|s| s.get("selector"))
        .and_then(Node::as_map)
        .filter(|m| !m.is_empty())
    else {
        return;
    };
    let ns = Some(r.join_namespace());
    let found = {
        let index = out.index();
        let Some(mut workloads) = index.workloads(ns) else {
            return;
        };
        // Operators create pods at run time from objects no manifest shows (the real-world
        // review found nothing else in files): judged where every pod was read.
        if !index.complete("Pod") {
            return;
        }
        // Against a pod template, the labels its controller adds to each pod are taken as there.
        let wanted = LabelSelector::from_map(spec.and_then(|s| s.get("selector")));
        let wanted_of_template = wanted.without(|k| CONTROLLER_LABELS.contains(&k));
        workloads.any(|w| {
            if w.is_template() {
                wanted_of_template.matches(&w.labels)
            } else {
                wanted.matches(&w.labels)
            }
        })
    };
    if found {
        return;
    }
    let wanted: Vec<String> = selector
        .iter()
        .map(|e| format!("{}={}", e.key, e.value.as_str().unwrap_or("?")))
        .collect();
    out.report(
        FieldPath::root().keys(&["spec", "selector"]),
        format!(
            "no pod in {} has the labels {}: the Service has no endpoints",
            r.namespace_phrase(),
            wanted.join(", ")
        ),
    );
}
