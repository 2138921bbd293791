//! One folder per category, one file per rule, its `.cases.yaml` beside it.

pub mod deprecation;
pub mod network;
pub mod pod_security;
pub mod rbac;
pub mod secrets;
pub mod workload;
