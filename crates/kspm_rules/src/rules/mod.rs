//! One folder per category, one file per rule, its `.cases.yaml` beside it.

pub mod control_plane;
pub mod deprecation;
pub mod network;
pub mod node;
pub mod pod_security;
pub mod rbac;
pub mod secrets;
pub mod workload;

use kspm_model::Resource;

/// Whether the control plane itself writes and keeps this object, so that nothing about it is
/// the user's to fix: the Endpoints and EndpointSlice the API server keeps for the `kubernetes`
/// Service in `default` (the Endpoints carry `endpointslice.kubernetes.io/skip-mirror: "true"`,
/// the EndpointSlice `kubernetes.io/service-name: kubernetes`), and EndpointSlices that the
/// EndpointSlice controllers derive from a Service (`endpointslice.kubernetes.io/managed-by`).
/// Recognised by what they are (kind, labels), not by name alone.
pub(crate) fn maintained_by_control_plane(r: &Resource) -> bool {
    let api_server_own = r.namespace() == Some("default") && r.name() == "kubernetes";
    match (r.group(), r.kind()) {
        ("", "Endpoints") => {
            api_server_own && r.label("endpointslice.kubernetes.io/skip-mirror") == Some("true")
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            (api_server_own && r.label("kubernetes.io/service-name") == Some("kubernetes"))
                || matches!(
                    r.label("endpointslice.kubernetes.io/managed-by"),
                    Some(
                        "endpointslice-controller.k8s.io"
                            | "endpointslicemirroring-controller.k8s.io"
                    )
                )
        }
        _ => false,
    }
}
