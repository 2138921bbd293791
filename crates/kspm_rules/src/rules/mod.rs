//! One folder per category, one file per rule, its `.cases.yaml` beside it.

pub mod control_plane;
pub mod deprecation;
pub mod network;
pub mod node;
pub mod pod_security;
pub mod rbac;
pub mod secrets;
pub mod workload;
