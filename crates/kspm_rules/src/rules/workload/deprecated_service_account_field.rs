use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pod specs that set the deprecated `serviceAccount` field without
    /// `serviceAccountName`, or with a different name than `serviceAccountName`. The two being
    /// equal is not reported: the API server fills `serviceAccount` in itself, so every pod
    /// read from a cluster has both.
    ///
    /// ## Why is this bad?
    /// `serviceAccount` has been a deprecated alias since Kubernetes 1.0 and tools disagree on
    /// it: some read only `serviceAccountName`, so a review, a policy engine or an RBAC
    /// analysis may believe the pod runs as `default`. When the two differ, the pod runs as
    /// `serviceAccountName` and the other name misleads whoever reads the manifest about
    /// which rights the pod holds.
    ///
    /// ## Remediation
    /// Name the account in `serviceAccountName` and remove `serviceAccount`.
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
    ///       serviceAccount: web
    ///       containers:
    ///       - name: web
    ///         image: example/web:1.0
    /// ```
    pub const RULE = {
        code: "WL027",
        slug: "deprecated-service-account-field",
        title: "Pod names its service account in the deprecated serviceAccount field",
        severity: Low,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [nsa::RBAC, nist::CM_6],
        equivalents: ["kube-linter:deprecated-service-account-field"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let Some(old) = pod
        .get("serviceAccount")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let old_path = pod.path_to(&["serviceAccount"]);
    let name = pod
        .get("serviceAccountName")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty());
    match name {
        None => {
            out.report(
                old_path.clone(),
                format!(
                    "the pod names its service account \"{old}\" only in the deprecated serviceAccount field"
                ),
            )
            .with_fix(
                Fix::new("move the name to serviceAccountName")
                    .set(pod.path_to(&["serviceAccountName"]), json!(old))
                    .remove(old_path),
            );
        }
        Some(name) if name != old => {
            out.report(
                old_path.clone(),
                format!(
                    "the deprecated serviceAccount field says \"{old}\" but the pod runs as serviceAccountName \"{name}\""
                ),
            )
            .with_fix(Fix::new("remove the deprecated serviceAccount field").remove(old_path));
        }
        Some(_) => {}
    }
}
