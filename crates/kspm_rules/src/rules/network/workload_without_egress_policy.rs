use super::selecting_policies;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags workloads whose pods no NetworkPolicy of the scanned manifests selects for
    /// egress (a policy of the pod's namespace matching the pod template's labels with
    /// `Egress` in its `policyTypes`, or with an `egress` section and no `policyTypes`).
    /// Off by default: many teams restrict ingress first.
    ///
    /// Cilium and Calico policies count too: a `CiliumNetworkPolicy` or
    /// `CiliumClusterwideNetworkPolicy` whose `endpointSelector` matches the pods (an empty one
    /// selects every pod of its namespace) and that has an `egress` (or `egressDeny`) section, or a
    /// Calico `NetworkPolicy` or `GlobalNetworkPolicy` whose `selector` matches them and whose
    /// `types` include Egress. Calico selectors are read for `all()`, `has(k)`,
    /// `k == 'v'`, `k != 'v'`, `k in {...}`, `k not in {...}`, `!`, `&&`, `||` and
    /// parentheses; a selector using anything else, or a Cilium label of a source kspm does
    /// not model, is taken to select the pods (a gap may then be missed, never invented).
    ///
    /// ## Why is this bad?
    /// A pod that no egress policy selects may open connections to every pod of the cluster
    /// and to the internet: a compromised pod scans the cluster, reaches the cloud metadata
    /// endpoint and exfiltrates data freely.
    ///
    /// ## Remediation
    /// Add a default-deny egress policy to the namespace and policies that allow the
    /// destinations the pods need (DNS, their databases, named external addresses).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: api
    ///   namespace: shop
    ///   labels: {app: api}
    /// spec:
    ///   containers:
    ///   - name: api
    ///     image: api:1.0
    /// ```
    pub const RULE = {
        code: "NW010",
        slug: "workload-without-egress-policy",
        title: "Workload is selected by no egress NetworkPolicy",
        severity: Low,
        category: Network,
        check: Check::PodSpec(check),
        frameworks: [nsa::NETWORK_POLICIES, mitre::LATERAL_MOVEMENT],
        equivalents: [],
        fix: false,
        default: false,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if pod.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
        return;
    }
    if selecting_policies(pod, out, false) == 0 {
        out.report(
            pod.meta_path.key("labels"),
            format!(
                "no NetworkPolicy in {} (nor Cilium or Calico policy) selects these pods for egress: they may connect to any pod and any address",
                pod.resource.namespace_phrase()
            ),
        );
    }
}
