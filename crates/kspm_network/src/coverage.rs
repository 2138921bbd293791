//! What NetworkPolicies leave open: namespaces without any, pods no policy isolates, rules
//! that admit everyone, and default-deny isolation that another policy undoes. Cilium and
//! Calico policies count as isolating the pods they select (see [`crate::cni`]); their rules
//! are not judged.

use serde::Serialize;

use crate::policy::allows_everyone;
use crate::reach::NetworkModel;

/// One coverage gap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// `namespace-without-policy`, `pod-without-ingress-policy`, `pod-without-egress-policy`,
    /// `policy-allows-all`, `isolation-undone`.
    pub kind: &'static str,
    /// The namespace, workload or policy concerned (`shop`, `Deployment/shop/api`,
    /// `NetworkPolicy/shop/allow-all`).
    pub object: String,
    pub message: String,
}

pub fn gaps(model: &NetworkModel) -> Vec<Gap> {
    let mut out = Vec::new();
    for ns in model.namespaces.keys() {
        if !model.policies.iter().any(|p| &p.namespace == ns) && model.cni_covering(ns).is_empty() {
            out.push(Gap {
                kind: "namespace-without-policy",
                object: ns.clone(),
                message: format!(
                    "namespace {ns} has no NetworkPolicy: every pod in it accepts and opens connections from and to anywhere"
                ),
            });
        }
    }
    for pod in &model.pods {
        if pod.host_network {
            continue;
        }
        let has_any = model.policies.iter().any(|p| p.namespace == pod.namespace)
            || !model.cni_covering(&pod.namespace).is_empty();
        if !has_any {
            continue;
        }
        if model.selecting(pod, true).is_empty() && model.cni_selecting(pod, true).is_empty() {
            out.push(Gap {
                kind: "pod-without-ingress-policy",
                object: pod.name.clone(),
                message: format!(
                    "{} is selected by no ingress policy: it accepts connections from anywhere",
                    pod.name
                ),
            });
        }
        if model.selecting(pod, false).is_empty() && model.cni_selecting(pod, false).is_empty() {
            out.push(Gap {
                kind: "pod-without-egress-policy",
                object: pod.name.clone(),
                message: format!(
                    "{} is selected by no egress policy: it may connect anywhere",
                    pod.name
                ),
            });
        }
    }
    for p in &model.policies {
        let object = format!("NetworkPolicy/{}/{}", p.namespace, p.name);
        for (dir, rules) in [("ingress", &p.ingress), ("egress", &p.egress)] {
            for (i, rule) in rules.iter().enumerate() {
                // A rule limited to ports deliberately publishes a service.
                if !rule.ports.is_empty() {
                    continue;
                }
                if let Some(why) = allows_everyone(rule) {
                    out.push(Gap {
                        kind: "policy-allows-all",
                        object: object.clone(),
                        message: format!("{dir}[{i}] allows all traffic: {why}"),
                    });
                }
            }
        }
        if p.ingress_type
            && !p.is_default_deny_ingress()
            && p.ingress.iter().any(|r| allows_everyone(r).is_some())
            && model
                .policies
                .iter()
                .any(|d| d.namespace == p.namespace && d.is_default_deny_ingress())
        {
            out.push(Gap {
                kind: "isolation-undone",
                object: object.clone(),
                message: format!(
                    "namespace {} denies ingress by default, and this policy opens it again to every namespace",
                    p.namespace
                ),
            });
        }
    }
    out
}
