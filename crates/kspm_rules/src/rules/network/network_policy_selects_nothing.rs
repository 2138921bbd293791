use crate::prelude::*;
use kspm_model::selector::Labels;
use kspm_network::Policy;

declare_rule! {
    /// ## What it does
    /// Flags NetworkPolicies whose `podSelector` is not empty and selects the pods of no
    /// workload in the policy's namespace. An empty `podSelector` (every pod) is not judged.
    ///
    /// Judged on live clusters only, once every object was read, against the controllers' pod
    /// templates and the standalone pods: in manifests, operators' pods are created at run
    /// time from objects no file shows, and the real-world review found nothing but those.
    /// Labels that controllers add to their pods (`statefulset.kubernetes.io/pod-name`,
    /// `pod-template-hash`...) are taken to match.
    ///
    /// ## Why is this bad?
    /// The policy isolates nothing: the pods it was written for (a typo in a label, a label
    /// renamed in the Deployment) accept connections from every pod of the cluster, while
    /// the manifests suggest they are protected.
    ///
    /// ## Remediation
    /// Correct the `podSelector` to the labels of the pods it should protect, or remove the
    /// policy.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: db
    ///   labels: {app: postgres}
    /// spec:
    ///   containers:
    ///   - name: db
    ///     image: postgres:16
    /// ---
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: db
    /// spec:
    ///   podSelector:
    ///     matchLabels: {app: postgresql}
    ///   policyTypes: [Ingress]
    /// ```
    pub const RULE = {
        code: "NW016",
        slug: "network-policy-selects-nothing",
        title: "NetworkPolicy selects no pod",
        severity: Medium,
        category: Network,
        check: Check::AfterWorkloads { kinds: &["NetworkPolicy"], check },
        frameworks: [nsa::NETWORK_POLICIES, nist::AC_4, nist::CM_6],
        equivalents: ["kube-linter:dangling-networkpolicy", "kube-score:networkpolicy-targets-pod"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(policy) = Policy::from_resource(r) else {
        return;
    };
    if policy.pod_selector.is_empty() {
        return;
    }
    let ns = Some(policy.namespace.as_str());
    let found = {
        let index = out.index();
        let Some(mut workloads) = index.workloads(ns) else {
            return;
        };
        // As for Services: operators create pods no manifest shows; judged live only.
        if !index.complete("Pod") {
            return;
        }
        workloads.any(|w| {
            let labels: Labels = w.labels.clone();
            policy
                .pod_selector
                .without(|k| w.added_by_controller(k))
                .matches(&labels)
        })
    };
    if found {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "podSelector"]),
        format!(
            "no pod in namespace {} matches podSelector {}: the policy isolates nothing",
            policy.namespace, policy.pod_selector
        ),
    );
}
