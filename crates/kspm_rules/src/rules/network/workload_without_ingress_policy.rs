use super::selecting_policies;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags workloads whose pods no NetworkPolicy of the scanned manifests selects for
    /// ingress (a policy of the pod's namespace whose `podSelector` matches the pod template's
    /// labels and whose `policyTypes` include Ingress). Pods on the host network are skipped:
    /// NetworkPolicies do not apply to them.
    ///
    /// Cilium and Calico policies count too: a `CiliumNetworkPolicy` or
    /// `CiliumClusterwideNetworkPolicy` whose `endpointSelector` matches the pods (an empty one
    /// selects every pod of its namespace) and that has an `ingress` (or `ingressDeny`) section, or a
    /// Calico `NetworkPolicy` or `GlobalNetworkPolicy` whose `selector` matches them and whose
    /// `types` include Ingress. Calico selectors are read for `all()`, `has(k)`,
    /// `k == 'v'`, `k != 'v'`, `k in {...}`, `k not in {...}`, `!`, `&&`, `||` and
    /// parentheses; a selector using anything else, or a Cilium label of a source kspm does
    /// not model, is taken to select the pods (a gap may then be missed, never invented).
    ///
    /// ## Why is this bad?
    /// A pod that no ingress policy selects is not isolated: it accepts connections from every
    /// pod in every namespace, on every port, whatever policies protect its neighbours.
    ///
    /// ## Remediation
    /// Add a policy that selects the pods and lists who may connect to them, or a
    /// namespace-wide default-deny (`podSelector: {}`) plus policies for the allowed traffic.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: api}
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: api:1.0
    /// ---
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: db-only, namespace: shop}
    /// spec:
    ///   podSelector:
    ///     matchLabels: {app: db}
    ///   policyTypes: [Ingress]
    /// ```
    pub const RULE = {
        code: "NW009",
        slug: "workload-without-ingress-policy",
        title: "Workload is selected by no ingress NetworkPolicy",
        severity: Low,
        category: Network,
        check: Check::PodSpec(check),
        frameworks: [nsa::NETWORK_POLICIES, mitre::LATERAL_MOVEMENT],
        equivalents: ["kubescape:C-0260", "kube-score:pod-networkpolicy"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
        return;
    }
    if selecting_policies(pod, out, true) == 0 {
        out.report(
            pod.meta_path.key("labels"),
            format!(
                "no NetworkPolicy in {} (nor Cilium or Calico policy) selects these pods for ingress: they accept connections from every pod of every namespace",
                pod.resource.namespace_phrase()
            ),
        );
    }
}
