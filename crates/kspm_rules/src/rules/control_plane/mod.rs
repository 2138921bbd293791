//! Control plane: the API server, controller manager, scheduler and etcd, judged by the flags
//! of their static pods (CIS Kubernetes Benchmark sections 1.2-1.4 and 2).

pub mod apiserver_insecure_setting;
pub mod controller_manager_insecure_setting;
pub mod etcd_insecure_setting;
pub mod scheduler_insecure_setting;

pub(crate) static RULES: &[&crate::Rule] = &[
    &apiserver_insecure_setting::RULE,
    &controller_manager_insecure_setting::RULE,
    &scheduler_insecure_setting::RULE,
    &etcd_insecure_setting::RULE,
];
