use super::service_account;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pod specs whose `serviceAccountName` (or deprecated `serviceAccount`) names a
    /// ServiceAccount that does not exist in the pod's namespace. The account `default` is
    /// never reported: Kubernetes creates it in every namespace.
    ///
    /// In file scans an account is often created elsewhere (another chart, a platform
    /// pipeline), so a reference is judged only when the scan holds at least one
    /// ServiceAccount of the pod's namespace; objects without a namespace count as `default`,
    /// where `kubectl apply` would put them. On a live cluster every reference is judged.
    ///
    /// ## Why is this bad?
    /// The API server refuses pods whose service account does not exist: the controller keeps
    /// retrying and the workload never starts. A name mistyped in a hurry is also how a
    /// workload ends up running with rights meant for another account, once someone "fixes"
    /// the error by creating it with whatever role is at hand.
    ///
    /// ## Remediation
    /// Create the ServiceAccount in the same namespace (before the workload), or correct the
    /// name.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: web
    ///   namespace: shop
    /// ---
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: worker
    ///   namespace: shop
    /// spec:
    ///   selector:
    ///     matchLabels: {app: worker}
    ///   template:
    ///     metadata:
    ///       labels: {app: worker}
    ///     spec:
    ///       serviceAccountName: wroker
    ///       containers:
    ///       - name: worker
    ///         image: example/worker:1.0
    /// ```
    pub const RULE = {
        code: "WL020",
        slug: "missing-service-account",
        title: "Pod names a ServiceAccount that does not exist",
        severity: Medium,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [nist::CM_6, soc2::CC7_1],
        equivalents: ["kube-linter:non-existent-service-account"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let (account, path, named) = service_account(pod);
    if !named || account == "default" {
        return;
    }
    let ns = Some(pod.resource.join_namespace());
    let index = out.index();
    if !index.holds("ServiceAccount", ns) || index.find("ServiceAccount", ns, account).is_some() {
        return;
    }
    out.report(
        path,
        format!(
            "ServiceAccount \"{account}\" does not exist in {}",
            pod.resource.namespace_phrase()
        ),
    );
}
