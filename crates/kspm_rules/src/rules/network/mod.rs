//! Network exposure and isolation: Services, Ingresses and ports that reach outside the
//! cluster, and NetworkPolicies that leave namespaces and workloads open to each other.
//!
//! The helper shared by several rules of this folder lives here; every other `.rs` file is a
//! rule.

use std::collections::HashMap;
use std::sync::Arc;

use kspm_model::PodSpec;

use crate::rule::Reporter;
use kspm_model::selector::{Labels, labels_at};
use kspm_network::{CniPolicy, Policy};

pub mod ingress_wildcard_host;
pub mod ingress_without_tls;
pub mod missing_service_backend;
pub mod namespace_without_network_policy;
pub mod network_isolation_undone;
pub mod network_policy_allows_all;
pub mod network_policy_selects_nothing;
pub mod privileged_container_port;
pub mod sensitive_namespace_reachable;
pub mod service_external_ips;
pub mod service_selects_nothing;
pub mod service_type_loadbalancer;
pub mod service_type_nodeport;
pub mod ssh_port_exposed;
pub mod workload_without_egress_policy;
pub mod workload_without_ingress_policy;

pub(crate) static RULES: &[&crate::Rule] = &[
    &service_type_loadbalancer::RULE,
    &service_type_nodeport::RULE,
    &ingress_without_tls::RULE,
    &service_external_ips::RULE,
    &ingress_wildcard_host::RULE,
    &privileged_container_port::RULE,
    &ssh_port_exposed::RULE,
    &namespace_without_network_policy::RULE,
    &workload_without_ingress_policy::RULE,
    &workload_without_egress_policy::RULE,
    &network_policy_allows_all::RULE,
    &network_isolation_undone::RULE,
    &sensitive_namespace_reachable::RULE,
    &missing_service_backend::RULE,
    &service_selects_nothing::RULE,
    &network_policy_selects_nothing::RULE,
];

/// Every NetworkPolicy of the scan, read once, by namespace.
pub(crate) struct PoliciesByNamespace(HashMap<String, Vec<Policy>>);

pub(crate) fn policies(out: &Reporter<'_>) -> Arc<PoliciesByNamespace> {
    out.index().derived(|index| {
        let mut map: HashMap<String, Vec<Policy>> = HashMap::new();
        for p in index.all("NetworkPolicy").filter_map(Policy::from_resource) {
            map.entry(p.namespace.clone()).or_default().push(p);
        }
        // The index is a hash map: messages naming a policy must not depend on its order.
        for list in map.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        PoliciesByNamespace(map)
    })
}

impl PoliciesByNamespace {
    pub(crate) fn in_namespace(&self, ns: &str) -> &[Policy] {
        self.0.get(ns).map_or(&[], Vec::as_slice)
    }
}

/// Every Cilium and Calico policy of the scan, read once (they isolate pods too).
pub(crate) struct CniPolicies(pub Vec<CniPolicy>);

pub(crate) fn cni_policies(out: &Reporter<'_>) -> Arc<CniPolicies> {
    out.index().derived(|index| {
        let mut list: Vec<CniPolicy> = kspm_network::cni::KINDS
            .iter()
            .flat_map(|kind| index.all(kind))
            .filter_map(CniPolicy::from_resource)
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        CniPolicies(list)
    })
}

/// The labels of a namespace whose Namespace object the scan holds.
pub(crate) fn namespace_labels(out: &Reporter<'_>, ns: &str) -> Option<Labels> {
    out.index()
        .find("Namespace", None, ns)
        .map(|n| labels_at(n.root.at(&["metadata", "labels"])))
}

/// How many policies select the pod's pods for a direction: NetworkPolicies of its namespace,
/// and Cilium or Calico policies (namespaced or cluster-wide).
pub(crate) fn selecting_policies(pod: &PodSpec<'_>, out: &Reporter<'_>, ingress: bool) -> usize {
    let labels = labels_at(pod.meta.and_then(|m| m.get("labels")));
    let ns = pod.resource.join_namespace();
    let own = policies(out)
        .in_namespace(ns)
        .iter()
        .filter(|p| {
            (if ingress {
                p.ingress_type
            } else {
                p.egress_type
            }) && p.pod_selector.matches(&labels)
        })
        .count();
    let ns_labels = namespace_labels(out, ns);
    let cni = cni_policies(out)
        .0
        .iter()
        .filter(|c| c.selects(ns, &labels, ns_labels.as_ref(), ingress))
        .count();
    own + cni
}
