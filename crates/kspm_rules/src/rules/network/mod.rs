//! Network exposure: Services, Ingresses and ports that reach outside the cluster.

pub mod ingress_wildcard_host;
pub mod ingress_without_tls;
pub mod namespace_without_network_policy;
pub mod privileged_container_port;
pub mod service_external_ips;
pub mod service_type_loadbalancer;
pub mod service_type_nodeport;
pub mod ssh_port_exposed;

pub(crate) static RULES: &[&crate::Rule] = &[
    &service_type_loadbalancer::RULE,
    &service_type_nodeport::RULE,
    &ingress_without_tls::RULE,
    &service_external_ips::RULE,
    &ingress_wildcard_host::RULE,
    &privileged_container_port::RULE,
    &ssh_port_exposed::RULE,
    &namespace_without_network_policy::RULE,
];
