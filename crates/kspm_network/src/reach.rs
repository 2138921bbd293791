//! Reachability: may this pod (or address) open a connection to that one, under every
//! NetworkPolicy of the inputs?
//!
//! The semantics are Kubernetes': a pod selected by no policy of a direction is not isolated
//! that way and allows everything; a selected pod allows what the union of the selecting
//! policies' rules allows; a connection needs the source's egress and the destination's
//! ingress. Named ports resolve on the destination pod. Pods read from manifests have no IP,
//! so an `ipBlock` matches a pod only when it covers its whole address family with no
//! exceptions (`0.0.0.0/0`, `::/0`): any pod IP is inside it whatever the CNI assigns.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use kspm_model::view::pod_specs;
use kspm_model::{Node, Resource};
use serde::Serialize;

use crate::cni::CniPolicy;
use crate::policy::{Peer, Policy, PolicyRef, PortRef, PortRule};
use kspm_model::selector::{LabelSelector, Labels, labels_at};

/// A pod (or pod template: every replica is alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    pub namespace: String,
    /// The workload it comes from (`Deployment/shop/api`), or `(a pod in NS with LABELS)` for a
    /// pod made up to answer a question about labels no workload has.
    pub name: String,
    pub labels: Labels,
    /// Container ports: name, number, protocol.
    pub ports: Vec<(String, u16, String)>,
    pub host_network: bool,
    /// Whether a container binds a port on the node (`hostPort`).
    pub host_port: bool,
}

impl Pod {
    pub fn collect(r: &Resource) -> Vec<Pod> {
        pod_specs(r)
            .into_iter()
            .map(|spec| {
                let mut ports = Vec::new();
                let mut host_port = false;
                for c in spec.containers() {
                    for p in c.get("ports").and_then(Node::as_seq).unwrap_or(&[]) {
                        host_port |= p
                            .get("hostPort")
                            .and_then(Node::as_i64)
                            .is_some_and(|n| n > 0);
                        let Some(n) = p
                            .get("containerPort")
                            .and_then(Node::as_i64)
                            .and_then(|n| u16::try_from(n).ok())
                        else {
                            continue;
                        };
                        ports.push((
                            p.get("name")
                                .and_then(Node::as_str)
                                .unwrap_or("")
                                .to_owned(),
                            n,
                            p.get("protocol")
                                .and_then(Node::as_str)
                                .unwrap_or("TCP")
                                .to_owned(),
                        ));
                    }
                }
                Pod {
                    namespace: r.join_namespace().to_owned(),
                    name: format!("{}/{}/{}", r.kind(), r.join_namespace(), r.name()),
                    labels: labels_at(spec.meta.and_then(|m| m.get("labels"))),
                    ports,
                    host_network: spec.get("hostNetwork").and_then(Node::as_bool) == Some(true),
                    host_port,
                }
            })
            .collect()
    }

    /// A pod with exactly these labels, for questions about pods that are not in the inputs.
    pub fn synthetic(namespace: &str, labels: Labels) -> Self {
        let name = if labels.is_empty() {
            format!("(any pod in {namespace})")
        } else {
            let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("(a pod in {namespace} with {})", l.join(","))
        };
        Pod {
            namespace: namespace.to_owned(),
            name,
            labels,
            ports: Vec::new(),
            host_network: false,
            host_port: false,
        }
    }
}

/// One end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Pod(Pod),
    /// An address outside the cluster's pods.
    Ip(IpAddr),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Pod(p) => f.write_str(&p.name),
            Endpoint::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Why a port or an endpoint as typed cannot be used; each message quotes the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not a port number from 1 to 65535.
    #[error("`{0}`: the port must be a number from 1 to 65535")]
    PortNumber(String),
    /// A protocol other than TCP, UDP and SCTP.
    #[error("`{0}`: the protocol must be TCP, UDP or SCTP")]
    Protocol(String),
    /// No namespace (and not an IP address).
    #[error("`{0}`: expected NAMESPACE[/LABEL=VALUE,...] or an IP address")]
    Endpoint(String),
    /// A label part without `=`.
    #[error("`{text}`: `{part}` is not LABEL=VALUE")]
    NotALabel { text: String, part: String },
    /// A label part with nothing before `=`.
    #[error("`{text}`: `{part}` has an empty label name")]
    EmptyLabel { text: String, part: String },
}

/// A port and protocol (`443/TCP`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub number: u16,
    pub protocol: String,
}

impl Port {
    /// `443`, `443/TCP`, `53/udp`.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let (num, proto) = text.split_once('/').unwrap_or((text, "TCP"));
        let number: u16 = num
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| SpecError::PortNumber(text.to_owned()))?;
        let protocol = proto.to_ascii_uppercase();
        if !["TCP", "UDP", "SCTP"].contains(&protocol.as_str()) {
            return Err(SpecError::Protocol(text.to_owned()));
        }
        Ok(Self { number, protocol })
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.protocol)
    }
}

/// One direction's answer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Side {
    pub allowed: bool,
    /// Whether some policy selects the pod for this direction (if not, everything is allowed).
    pub isolated: bool,
    /// The policies (and rule) that allow the traffic.
    pub allowed_by: Vec<PolicyRef>,
    /// The policies that select the pod this way (and so deny what none of them allows).
    pub selected_by: Vec<PolicyRef>,
    /// Cilium or Calico policies that also select the pod this way. Their rules are not
    /// modelled: `allowed` is the NetworkPolicies' answer alone, and may be wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_modelled: Vec<String>,
}

/// The answer for one connection.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub from: String,
    pub to: String,
    pub allowed: bool,
    /// The port judged: the one asked, or the first one allowed when none was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    pub egress: Side,
    pub ingress: Side,
}

/// Every pod, namespace and policy of the inputs, with the policies that select each pod.
#[derive(Debug, Default)]
pub struct NetworkModel {
    pub pods: Vec<Pod>,
    pub policies: Vec<Policy>,
    /// Namespace labels, including the automatic `kubernetes.io/metadata.name`.
    pub namespaces: BTreeMap<String, Labels>,
    /// Cilium and Calico policies: they select pods as NetworkPolicies do, but only which
    /// pods they select is modelled, not what they allow.
    pub cni: Vec<CniPolicy>,
    /// Policy indices by namespace: a pod is only ever selected by its own namespace's.
    by_namespace: BTreeMap<String, Vec<usize>>,
    /// Namespaces whose Namespace object is among the inputs (their labels are known).
    declared: BTreeSet<String>,
}

const NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl NetworkModel {
    pub fn build<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut m = Self::default();
        for r in resources {
            if let Some(p) = Policy::from_resource(r) {
                m.policies.push(p);
            } else if let Some(p) = CniPolicy::from_resource(r) {
                m.cni.push(p);
            } else if r.kind() == "Namespace" && r.api_version() == "v1" {
                m.declared.insert(r.name().to_owned());
                let mut labels = labels_at(r.root.at(&["metadata", "labels"]));
                labels.insert(NAME_LABEL.into(), r.name().to_owned());
                m.namespaces.insert(r.name().to_owned(), labels);
            } else {
                m.pods.extend(Pod::collect(r));
            }
        }
        let seen: BTreeSet<String> = m
            .pods
            .iter()
            .map(|p| p.namespace.clone())
            .chain(m.policies.iter().map(|p| p.namespace.clone()))
            .collect();
        for ns in seen {
            m.namespaces
                .entry(ns.clone())
                .or_insert_with(|| Labels::from([(NAME_LABEL.to_owned(), ns)]));
        }
        for (i, p) in m.policies.iter().enumerate() {
            m.by_namespace
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
        }
        m
    }

    fn ns_labels(&self, ns: &str) -> Cow<'_, Labels> {
        match self.namespaces.get(ns) {
            Some(labels) => Cow::Borrowed(labels),
            None => Cow::Owned(Labels::from([(NAME_LABEL.to_owned(), ns.to_owned())])),
        }
    }

    /// The labels of a namespace whose Namespace object is among the inputs.
    pub fn declared_labels(&self, ns: &str) -> Option<&Labels> {
        self.declared
            .contains(ns)
            .then(|| self.namespaces.get(ns))
            .flatten()
    }

    /// The Cilium and Calico policies that select a pod for a direction.
    pub fn cni_selecting(&self, pod: &Pod, ingress: bool) -> Vec<&CniPolicy> {
        let ns_labels = self.declared_labels(&pod.namespace);
        self.cni
            .iter()
            .filter(|c| c.selects(&pod.namespace, &pod.labels, ns_labels, ingress))
            .collect()
    }

    /// The Cilium and Calico policies that may select pods of a namespace.
    pub fn cni_covering(&self, ns: &str) -> Vec<&CniPolicy> {
        let ns_labels = self.declared_labels(ns);
        self.cni
            .iter()
            .filter(|c| c.may_cover(ns, ns_labels))
            .collect()
    }

    /// The policies that select a pod for a direction.
    pub fn selecting(&self, pod: &Pod, ingress: bool) -> Vec<usize> {
        self.by_namespace
            .get(&pod.namespace)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| {
                let p = &self.policies[i];
                (if ingress {
                    p.ingress_type
                } else {
                    p.egress_type
                }) && p.pod_selector.matches(&pod.labels)
            })
            .collect()
    }

    fn peer_matches(&self, peer: &Peer, policy_ns: &str, other: &Endpoint) -> bool {
        match (peer, other) {
            (Peer::Pods { pods, namespaces }, Endpoint::Pod(p)) => {
                let ns_ok = match namespaces {
                    Some(sel) => sel.matches(&*self.ns_labels(&p.namespace)),
                    None => p.namespace == policy_ns,
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(&p.labels))
            }
            (Peer::IpBlock { cidr, except }, Endpoint::Ip(ip)) => {
                cidr.contains(*ip) && !except.iter().any(|e| e.contains(*ip))
            }
            (Peer::IpBlock { cidr, except }, Endpoint::Pod(_)) => {
                cidr.prefix == 0 && except.is_empty()
            }
            _ => false,
        }
    }

    fn port_matches(rule: &PortRule, port: &Port, dst: &Endpoint) -> bool {
        if rule.protocol != port.protocol {
            return false;
        }
        match &rule.port {
            None => true,
            Some(PortRef::Number(n)) => match rule.end_port {
                Some(end) if end >= *n => (*n..=end).contains(&port.number),
                _ => *n == port.number,
            },
            Some(PortRef::Name(name)) => match dst {
                Endpoint::Pod(p) => p.ports.iter().any(|(pn, num, proto)| {
                    pn == name && *num == port.number && *proto == port.protocol
                }),
                Endpoint::Ip(_) => false,
            },
        }
    }

    /// One direction: `pod` is the source for egress, the destination for ingress.
    fn side(
        &self,
        pod: &Pod,
        ingress: bool,
        other: &Endpoint,
        dst: &Endpoint,
        port: &Port,
    ) -> Side {
        let selected = self.selecting(pod, ingress);
        let not_modelled: Vec<String> = self
            .cni_selecting(pod, ingress)
            .iter()
            .map(ToString::to_string)
            .collect();
        if selected.is_empty() {
            return Side {
                allowed: true,
                not_modelled,
                ..Side::default()
            };
        }
        let mut side = Side {
            isolated: true,
            not_modelled,
            ..Side::default()
        };
        for &i in &selected {
            let p = &self.policies[i];
            side.selected_by.push(p.reference(None));
            let rules = if ingress { &p.ingress } else { &p.egress };
            for (ri, rule) in rules.iter().enumerate() {
                let peer_ok = rule.peers.is_empty()
                    || rule
                        .peers
                        .iter()
                        .any(|peer| self.peer_matches(peer, &p.namespace, other));
                let port_ok = rule.ports.is_empty()
                    || rule.ports.iter().any(|r| Self::port_matches(r, port, dst));
                if peer_ok && port_ok {
                    side.allowed_by.push(p.reference(Some(ri)));
                }
            }
        }
        side.allowed = !side.allowed_by.is_empty();
        side
    }

    fn check_port(&self, from: &Endpoint, to: &Endpoint, port: &Port) -> (Side, Side) {
        let egress = match from {
            Endpoint::Pod(p) => self.side(p, false, to, to, port),
            // Traffic from outside is judged by the destination only.
            Endpoint::Ip(_) => Side {
                allowed: true,
                ..Side::default()
            },
        };
        let ingress = match to {
            Endpoint::Pod(p) => self.side(p, true, from, to, port),
            Endpoint::Ip(_) => Side {
                allowed: true,
                ..Side::default()
            },
        };
        (egress, ingress)
    }

    /// Ports worth trying when no port is asked: the allowed set of each side is a union of
    /// ranges, so if the two intersect, some range start of either side is in both.
    fn candidate_ports(&self, from: &Endpoint, to: &Endpoint) -> Vec<Port> {
        let mut set: BTreeSet<Port> = BTreeSet::new();
        for proto in ["TCP", "UDP", "SCTP"] {
            set.insert(Port {
                number: 1,
                protocol: proto.into(),
            });
        }
        if let Endpoint::Pod(p) = to {
            for (_, n, proto) in &p.ports {
                set.insert(Port {
                    number: *n,
                    protocol: proto.clone(),
                });
            }
        }
        let mut add = |pod: &Pod, ingress: bool| {
            for i in self.selecting(pod, ingress) {
                let p = &self.policies[i];
                for rule in if ingress { &p.ingress } else { &p.egress } {
                    for pr in &rule.ports {
                        if let Some(PortRef::Number(n)) = pr.port {
                            set.insert(Port {
                                number: n,
                                protocol: pr.protocol.clone(),
                            });
                        }
                    }
                }
            }
        };
        if let Endpoint::Pod(p) = from {
            add(p, false);
        }
        if let Endpoint::Pod(p) = to {
            add(p, true);
        }
        // TCP first: the port reported is the one a user most likely means.
        let rank = |p: &str| match p {
            "TCP" => 0,
            "UDP" => 1,
            _ => 2,
        };
        let mut ports: Vec<Port> = set.into_iter().collect();
        ports.sort_by_key(|p| (rank(&p.protocol), p.number));
        ports
    }

    /// Whether `from` may connect to `to` on `port` (on some port when `None`).
    pub fn check(&self, from: &Endpoint, to: &Endpoint, port: Option<&Port>) -> Verdict {
        let verdict = |port: &Port, (egress, ingress): (Side, Side)| Verdict {
            from: from.to_string(),
            to: to.to_string(),
            allowed: egress.allowed && ingress.allowed,
            port: Some(port.to_string()),
            egress,
            ingress,
        };
        if let Some(port) = port {
            return verdict(port, self.check_port(from, to, port));
        }
        let mut first = None;
        for port in self.candidate_ports(from, to) {
            let sides = self.check_port(from, to, &port);
            if sides.0.allowed && sides.1.allowed {
                return verdict(&port, sides);
            }
            first.get_or_insert(sides);
        }
        let (egress, ingress) = first.expect("candidates are never empty");
        Verdict {
            from: from.to_string(),
            to: to.to_string(),
            allowed: false,
            port: None,
            egress,
            ingress,
        }
    }

    /// The pods of a namespace matching labels; a made-up pod with exactly those labels when
    /// no workload of the inputs matches.
    pub fn endpoints(&self, namespace: &str, labels: &[(String, String)]) -> Vec<Pod> {
        let sel = LabelSelector::from_pairs(labels);
        let found: Vec<Pod> = self
            .pods
            .iter()
            .filter(|p| p.namespace == namespace && sel.matches(&p.labels))
            .cloned()
            .collect();
        if found.is_empty() {
            vec![Pod::synthetic(namespace, labels.iter().cloned().collect())]
        } else {
            found
        }
    }

    /// Distinct pods of a namespace: replicas and workloads with the same labels and ports
    /// behave alike, so the matrix judges each shape once.
    fn shapes(&self, namespace: &str) -> Vec<Pod> {
        let mut seen = BTreeSet::new();
        let mut out: Vec<Pod> = self
            .pods
            .iter()
            .filter(|p| p.namespace == namespace && seen.insert((&p.labels, &p.ports)))
            .cloned()
            .collect();
        if out.is_empty() {
            out.push(Pod::synthetic(namespace, Labels::new()));
        }
        out
    }

    /// Whether a direction allows the traffic, without collecting the deciding policies: the
    /// matrix asks this millions of times.
    fn side_allows(
        &self,
        selected: &[usize],
        ingress: bool,
        other: &Endpoint,
        dst: &Endpoint,
        port: &Port,
    ) -> bool {
        if selected.is_empty() {
            return true;
        }
        selected.iter().any(|&i| {
            let p = &self.policies[i];
            let rules = if ingress { &p.ingress } else { &p.egress };
            rules.iter().any(|rule| {
                (rule.ports.is_empty()
                    || rule.ports.iter().any(|r| Self::port_matches(r, port, dst)))
                    && (rule.peers.is_empty()
                        || rule
                            .peers
                            .iter()
                            .any(|peer| self.peer_matches(peer, &p.namespace, other)))
            })
        })
    }

    /// For every ordered pair of namespaces: whether some pod of the first can reach some pod
    /// of the second, on some port. Pods of a namespace with the same labels and ports behave
    /// alike and are judged once; each pod's selecting policies and port candidates are worked
    /// out once, not per pair.
    pub fn matrix(&self) -> Matrix {
        struct Shape {
            pod: Endpoint,
            egress: Vec<usize>,
            ingress: Vec<usize>,
            /// Range starts of the pod's egress rules (as a source).
            out_ports: Vec<Port>,
            /// Range starts of its ingress rules and its container ports (as a destination).
            in_ports: Vec<Port>,
        }
        let starts = |selected: &[usize], ingress: bool| -> Vec<Port> {
            let mut v = Vec::new();
            for &i in selected {
                let p = &self.policies[i];
                for rule in if ingress { &p.ingress } else { &p.egress } {
                    for pr in &rule.ports {
                        if let Some(PortRef::Number(n)) = pr.port {
                            v.push(Port {
                                number: n,
                                protocol: pr.protocol.clone(),
                            });
                        }
                    }
                }
            }
            v
        };
        let names: Vec<String> = self.namespaces.keys().cloned().collect();
        let shapes: Vec<Vec<Shape>> = names
            .iter()
            .map(|n| {
                self.shapes(n)
                    .into_iter()
                    .map(|pod| {
                        let egress = self.selecting(&pod, false);
                        let ingress = self.selecting(&pod, true);
                        let out_ports = starts(&egress, false);
                        let mut in_ports = starts(&ingress, true);
                        in_ports.extend(pod.ports.iter().map(|(_, n, proto)| Port {
                            number: *n,
                            protocol: proto.clone(),
                        }));
                        Shape {
                            pod: Endpoint::Pod(pod),
                            egress,
                            ingress,
                            out_ports,
                            in_ports,
                        }
                    })
                    .collect()
            })
            .collect();
        let base: Vec<Port> = ["TCP", "UDP", "SCTP"]
            .iter()
            .map(|p| Port {
                number: 1,
                protocol: (*p).into(),
            })
            .collect();
        let reach = |s: &Shape, d: &Shape| {
            base.iter()
                .chain(&s.out_ports)
                .chain(&d.in_ports)
                .any(|port| {
                    self.side_allows(&s.egress, false, &d.pod, &d.pod, port)
                        && self.side_allows(&d.ingress, true, &s.pod, &d.pod, port)
                })
        };
        let mut allowed = vec![vec![false; names.len()]; names.len()];
        for (i, srcs) in shapes.iter().enumerate() {
            for (j, dsts) in shapes.iter().enumerate() {
                allowed[i][j] = srcs.iter().any(|s| dsts.iter().any(|d| reach(s, d)));
            }
        }
        Matrix {
            namespaces: names,
            allowed,
        }
    }
}

/// Namespace-to-namespace reachability: `allowed[from][to]`.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    pub namespaces: Vec<String>,
    pub allowed: Vec<Vec<bool>>,
}

/// An endpoint as typed: `NS`, `NS/LABEL=VALUE,...`, or an IP address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointSpec {
    Pods {
        namespace: String,
        labels: Vec<(String, String)>,
    },
    Ip(IpAddr),
}

impl EndpointSpec {
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        let (ns, labels) = text.split_once('/').unwrap_or((text, ""));
        if ns.is_empty() {
            return Err(SpecError::Endpoint(text.to_owned()));
        }
        let mut pairs = Vec::new();
        for part in labels.split(',').filter(|p| !p.is_empty()) {
            let owned = || (text.to_owned(), part.to_owned());
            let Some((k, v)) = part.split_once('=') else {
                let (text, part) = owned();
                return Err(SpecError::NotALabel { text, part });
            };
            if k.is_empty() {
                let (text, part) = owned();
                return Err(SpecError::EmptyLabel { text, part });
            }
            pairs.push((k.to_owned(), v.to_owned()));
        }
        Ok(Self::Pods {
            namespace: ns.to_owned(),
            labels: pairs,
        })
    }
}

impl fmt::Display for EndpointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Pods { namespace, labels } if labels.is_empty() => f.write_str(namespace),
            Self::Pods { namespace, labels } => {
                let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{namespace}/{}", l.join(","))
            }
        }
    }
}

/// The answer to a reachability question between two endpoint specs.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Whether some pod of `from` can reach some pod of `to`.
    pub allowed: bool,
    /// Every pair judged (workloads matching each side, or a made-up pod when none does).
    pub pairs: Vec<Verdict>,
}

impl NetworkModel {
    fn resolve(&self, spec: &EndpointSpec) -> Vec<Endpoint> {
        match spec {
            EndpointSpec::Ip(ip) => vec![Endpoint::Ip(*ip)],
            EndpointSpec::Pods { namespace, labels } => self
                .endpoints(namespace, labels)
                .into_iter()
                .map(Endpoint::Pod)
                .collect(),
        }
    }

    pub fn query(&self, from: &EndpointSpec, to: &EndpointSpec, port: Option<&Port>) -> Answer {
        let srcs = self.resolve(from);
        let dsts = self.resolve(to);
        let mut pairs = Vec::new();
        for s in &srcs {
            for d in &dsts {
                pairs.push(self.check(s, d, port));
            }
        }
        Answer {
            from: from.to_string(),
            to: to.to_string(),
            port: port.map(ToString::to_string),
            allowed: pairs.iter().any(|v| v.allowed),
            pairs,
        }
    }
}
