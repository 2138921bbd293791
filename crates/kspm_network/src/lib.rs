//! Who can talk to whom, from NetworkPolicies.
//!
//! [`NetworkModel`] reads pods (from every workload kind), Namespaces and NetworkPolicies and
//! answers reachability questions under Kubernetes' NetworkPolicy semantics ([`reach`]); the
//! [`coverage`] module finds what no policy protects and policies that protect nothing; the
//! [`exposure`] module marks workloads reachable from outside the cluster. Nothing here does
//! I/O: resources come from files or a live cluster alike.

pub mod cni;
pub mod coverage;
pub mod exposure;
pub mod policy;
pub mod reach;

pub use cni::CniPolicy;
pub use policy::{Cidr, Peer, Policy, PolicyRef, TrafficRule};
pub use reach::{
    Answer, Endpoint, EndpointSpec, Matrix, NetworkModel, Pod, Port, Side, SpecError, Verdict,
};
