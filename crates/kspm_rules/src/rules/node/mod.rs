//! Nodes: the kubelet's configuration, kube-proxy, and the ownership and permissions of the
//! files on control-plane and worker nodes (CIS Kubernetes Benchmark sections 1.1 and 4).

pub mod kube_proxy_metrics_exposed;
pub mod kubelet_insecure_setting;
pub mod node_file_ownership;
pub mod node_file_permissions;

pub(crate) static RULES: &[&crate::Rule] = &[
    &kubelet_insecure_setting::RULE,
    &kube_proxy_metrics_exposed::RULE,
    &node_file_permissions::RULE,
    &node_file_ownership::RULE,
];
