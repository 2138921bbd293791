use crate::prelude::*;
use kspm_model::selector::selector_matches;

declare_rule! {
    /// ## What it does
    /// Flags Deployments, StatefulSets, DaemonSets and ReplicaSets whose `spec.selector` does
    /// not select the labels of their own pod template (`spec.template.metadata.labels`), or
    /// that have no selector (`extensions/v1beta1` and `apps/v1beta1` defaulted it to the
    /// template's labels; a fragment with neither selector nor labels, such as a Kustomize
    /// base, is not judged); ReplicationControllers whose `spec.selector` map does not (an
    /// absent one defaults to the template's labels); and Jobs with `manualSelector: true`
    /// whose selector does not.
    ///
    /// ## Why is this bad?
    /// The API server rejects such objects (`selector does not match template labels`), so a
    /// manifest with this mistake fails at deploy time, usually in the pipeline that should
    /// have shipped a fix. Older API versions accepted it and left a controller that never
    /// sees its own pods and keeps creating new ones.
    ///
    /// ## Remediation
    /// Make the selector a subset of the template's labels. Selectors of Deployments,
    /// StatefulSets and DaemonSets cannot be changed after creation: fix the labels, or
    /// recreate the object.
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
    ///       labels: {app: frontend}
    ///     spec:
    ///       containers:
    ///       - name: web
    ///         image: example/web:1.0
    /// ```
    pub const RULE = {
        code: "WL022",
        slug: "selector-mismatch",
        title: "Workload selector does not match its pod template",
        severity: Medium,
        category: Workload,
        check: Check::Object { kinds: KINDS, check },
        frameworks: [nist::CM_6, soc2::CC7_1],
        equivalents: ["kube-linter:mismatching-selector"],
        fix: false,
        default: true,
    }
}

const KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
];

/// API versions whose defaulting filled a missing selector from the template's labels.
const DEFAULTED: &[&str] = &["extensions/v1beta1", "apps/v1beta1"];

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let spec = r.root.get("spec");
    let Some(template) = spec
        .and_then(|s| s.get("template"))
        .filter(|t| !t.is_null())
    else {
        return;
    };
    let labels = template.at(&["metadata", "labels"]);
    let selector = spec
        .and_then(|s| s.get("selector"))
        .filter(|n| !n.is_null());
    let path = FieldPath::root().keys(&["spec", "selector"]);
    let matches = match r.kind() {
        "ReplicationController" => match selector.and_then(Node::as_map) {
            // A plain label map; absent, it defaults to the template's labels.
            None => true,
            Some(entries) => entries.iter().all(|e| {
                labels.and_then(|l| l.get(&e.key)).and_then(Node::as_str) == e.value.as_str()
            }),
        },
        "Job" => {
            // Without manualSelector the API server generates the selector and the label.
            let manual = spec
                .and_then(|s| s.get("manualSelector"))
                .and_then(Node::as_bool);
            manual != Some(true) || selector_matches(selector, labels)
        }
        _ => {
            if selector.is_none() && labels.is_none() {
                // A fragment (a Kustomize base whose labels are added later): nothing to
                // compare.
                return;
            }
            if selector.is_none() && DEFAULTED.contains(&r.api_version()) {
                // These versions defaulted the selector to the template's labels.
                return;
            }
            if selector.is_none() {
                out.report(
                    path,
                    format!("{} has no spec.selector (required)", r.kind()),
                );
                return;
            }
            selector_matches(selector, labels)
        }
    };
    if !matches {
        out.report(
            path,
            format!(
                "the selector does not select the pod template's labels ({})",
                describe_labels(labels)
            ),
        );
    }
}

fn describe_labels(labels: Option<&Node>) -> String {
    let pairs: Vec<String> = labels
        .and_then(Node::as_map)
        .unwrap_or(&[])
        .iter()
        .map(|e| format!("{}={}", e.key, e.value.as_str().unwrap_or("?")))
        .collect();
    if pairs.is_empty() {
        "the template has no labels".to_owned()
    } else {
        pairs.join(", ")
    }
}
