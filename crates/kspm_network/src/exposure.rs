//! Workloads reachable from outside the cluster: behind a LoadBalancer or NodePort Service,
//! a Service with external IPs, an Ingress, or on the host's network or ports. Later risk
//! ranking weighs a finding on an exposed workload higher.

use std::collections::BTreeMap;

use kspm_model::{Node, Resource};
use serde::Serialize;

use crate::reach::Pod;
use kspm_model::selector::{LabelSelector, Labels};

/// A workload and every way it is exposed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposed {
    pub workload: String,
    pub namespace: String,
    pub reasons: Vec<String>,
}

struct Service {
    namespace: String,
    name: String,
    /// `spec.selector`; a Service without one (or with an empty one) selects no pods.
    selector: Option<LabelSelector>,
    kind: String,
    external_ips: bool,
}

/// Every exposed workload of the resources, ordered by name.
pub fn exposed<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Vec<Exposed> {
    let mut pods: Vec<Pod> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    let mut ingresses: Vec<(String, String, Vec<String>, bool)> = Vec::new();
    for r in resources {
        match (r.kind(), r.api_version()) {
            ("Service", "v1") => services.push(Service {
                namespace: r.join_namespace().to_owned(),
                name: r.name().to_owned(),
                selector: r
                    .root
                    .at(&["spec", "selector"])
                    .map(|n| kspm_model::selector::labels_at(Some(n)))
                    .filter(|l| !l.is_empty())
                    .map(|l: Labels| LabelSelector::from_pairs(&l.into_iter().collect::<Vec<_>>())),
                kind: r
                    .root
                    .at(&["spec", "type"])
                    .and_then(Node::as_str)
                    .unwrap_or("ClusterIP")
                    .to_owned(),
                external_ips: r
                    .root
                    .at(&["spec", "externalIPs"])
                    .and_then(Node::as_seq)
                    .is_some_and(|s| !s.is_empty()),
            }),
            ("Ingress", _) if r.group() == "networking.k8s.io" || r.group() == "extensions" => {
                let mut backends = Vec::new();
                collect_backends(&r.root, &mut backends);
                let tls = r
                    .root
                    .at(&["spec", "tls"])
                    .and_then(Node::as_seq)
                    .is_some_and(|s| !s.is_empty());
                ingresses.push((
                    r.join_namespace().to_owned(),
                    r.name().to_owned(),
                    backends,
                    tls,
                ));
            }
            _ => pods.extend(Pod::collect(r)),
        }
    }
    let mut by_workload: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let selects = |svc: &Service, pod: &Pod| {
        svc.namespace == pod.namespace
            && svc
                .selector
                .as_ref()
                .is_some_and(|sel| sel.matches(&pod.labels))
    };
    for pod in &pods {
        let mut reasons = Vec::new();
        for svc in services.iter().filter(|s| selects(s, pod)) {
            if svc.kind == "LoadBalancer" || svc.kind == "NodePort" {
                reasons.push(format!(
                    "Service {}/{} is of type {}",
                    svc.namespace, svc.name, svc.kind
                ));
            }
            if svc.external_ips {
                reasons.push(format!(
                    "Service {}/{} has external IPs",
                    svc.namespace, svc.name
                ));
            }
            for (ns, name, backends, tls) in &ingresses {
                if *ns == svc.namespace && backends.contains(&svc.name) {
                    reasons.push(format!(
                        "Ingress {ns}/{name} routes to Service {}{}",
                        svc.name,
                        if *tls { "" } else { " without TLS" }
                    ));
                }
            }
        }
        if pod.host_network {
            reasons.push("runs on the host's network (hostNetwork: true)".to_owned());
        }
        if pod.host_port {
            reasons.push("binds a port on the node (hostPort)".to_owned());
        }
        if !reasons.is_empty() {
            by_workload
                .entry((pod.name.clone(), pod.namespace.clone()))
                .or_default()
                .extend(reasons);
        }
    }
    by_workload
        .into_iter()
        .map(|((workload, namespace), mut reasons)| {
            reasons.dedup();
            Exposed {
                workload,
                namespace,
                reasons,
            }
        })
        .collect()
}

/// Service names an Ingress routes to (`service.name` in v1, `serviceName` in v1beta1).
fn collect_backends(node: &Node, out: &mut Vec<String>) {
    if let Some(name) = node.at(&["service", "name"]).and_then(Node::as_str) {
        out.push(name.to_owned());
    }
    if let Some(name) = node.get("serviceName").and_then(Node::as_str) {
        out.push(name.to_owned());
    }
    match &node.value {
        kspm_model::Value::Map(entries) => {
            for e in entries {
                collect_backends(&e.value, out);
            }
        }
        kspm_model::Value::Seq(items) => {
            for i in items {
                collect_backends(i, out);
            }
        }
        _ => {}
    }
}
