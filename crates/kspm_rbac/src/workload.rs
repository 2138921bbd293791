//! Workloads and the service accounts they run as: what ties an RBAC subject to the pods that
//! hold its power.

use kspm_model::view::pod_specs;
use kspm_model::{Node, Resource};
use serde::Serialize;

use crate::model::Subject;

/// A resource with a pod spec, and the service account its pods run as.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `spec.serviceAccountName` (or the deprecated `serviceAccount`), `default` when unset.
    pub service_account: String,
    /// Whether the pods get the account's token (`automountServiceAccountToken` is not false on
    /// the pod). The ServiceAccount's own setting is not consulted: the pod's wins when set, and
    /// an account that opts out can be changed by whoever controls it.
    pub token_mounted: bool,
}

impl Workload {
    /// Every workload of the resources (any kind with a pod spec).
    pub fn collect<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Vec<Workload> {
        let mut out = Vec::new();
        for r in resources {
            for pod in pod_specs(r) {
                let sa = pod
                    .get("serviceAccountName")
                    .or_else(|| pod.get("serviceAccount"))
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("default");
                out.push(Workload {
                    kind: r.kind().to_owned(),
                    namespace: r.join_namespace().to_owned(),
                    name: r.name().to_owned(),
                    service_account: sa.to_owned(),
                    token_mounted: pod
                        .get("automountServiceAccountToken")
                        .and_then(Node::as_bool)
                        != Some(false),
                });
            }
        }
        out.sort();
        out
    }

    pub fn subject(&self) -> Subject {
        Subject::service_account(&self.namespace, &self.service_account)
    }

    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}
