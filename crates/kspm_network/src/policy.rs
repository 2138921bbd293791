//! NetworkPolicy objects read into their semantic parts: selectors, peers, ports.

use std::fmt;
use std::net::IpAddr;

use kspm_model::selector::LabelSelector;
use kspm_model::{Node, Pos, Resource};
use serde::Serialize;

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One entry of `from` / `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `podSelector` and/or `namespaceSelector`: with only `podSelector`, pods of the
    /// policy's own namespace; with only `namespaceSelector`, every pod of those namespaces;
    /// with both, the selected pods of the selected namespaces.
    Pods {
        pods: Option<LabelSelector>,
        namespaces: Option<LabelSelector>,
    },
    IpBlock {
        cidr: Cidr,
        except: Vec<Cidr>,
    },
    /// A peer the API server would reject (no selector, bad CIDR): matches nothing.
    Invalid,
}

/// A `ports` entry. No port means every port of the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortRule {
    pub protocol: String,
    pub port: Option<PortRef>,
    pub end_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    /// A container port name, resolved on the destination pod.
    Name(String),
}

/// One ingress or egress rule: traffic matching any peer AND any port. An empty peer list
/// (field absent or `[]`) means every source or destination; an empty port list, every port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficRule {
    pub peers: Vec<Peer>,
    pub ports: Vec<PortRule>,
}

/// A NetworkPolicy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: LabelSelector,
    /// Whether the policy isolates the selected pods for ingress / egress (`policyTypes`, or
    /// its default: Ingress always, Egress when the policy has an `egress` section).
    pub ingress_type: bool,
    pub egress_type: bool,
    pub ingress: Vec<TrafficRule>,
    pub egress: Vec<TrafficRule>,
    pub file: String,
    pub pos: Pos,
    /// What makes parts of the policy invalid (reported; those parts match nothing).
    pub problems: Vec<String>,
}

/// A policy and one of its rules, as named in answers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PolicyRef {
    pub namespace: String,
    pub name: String,
    /// The index of the rule in `ingress` / `egress` that allows; absent for a policy that
    /// only isolates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if let Some(i) = self.rule {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

fn read_port(node: &Node, problems: &mut Vec<String>) -> PortRule {
    let protocol = node
        .get("protocol")
        .and_then(Node::as_str)
        .unwrap_or("TCP")
        .to_owned();
    let port = match node.get("port") {
        None => None,
        Some(p) => match (p.as_i64(), p.as_str()) {
            (Some(n), _) if (1..=65535).contains(&n) => Some(PortRef::Number(n as u16)),
            (_, Some(s)) if !s.is_empty() => Some(PortRef::Name(s.to_owned())),
            _ => {
                problems.push(format!("port {} at {} is not valid", p.evidence(), p.pos));
                Some(PortRef::Name(String::new()))
            }
        },
    };
    let end_port = node
        .get("endPort")
        .and_then(Node::as_i64)
        .and_then(|n| u16::try_from(n).ok());
    PortRule {
        protocol,
        port,
        end_port,
    }
}

fn read_peer(node: &Node, problems: &mut Vec<String>) -> Peer {
    if let Some(block) = node.get("ipBlock") {
        let cidr = block
            .get("cidr")
            .and_then(Node::as_str)
            .and_then(Cidr::parse);
        let Some(cidr) = cidr else {
            problems.push(format!("ipBlock at {} has no valid cidr", block.pos));
            return Peer::Invalid;
        };
        let except = block
            .get("except")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| e.as_str().and_then(Cidr::parse))
            .collect();
        return Peer::IpBlock { cidr, except };
    }
    let pods = node.get("podSelector").map(LabelSelector::from_node);
    let namespaces = node.get("namespaceSelector").map(LabelSelector::from_node);
    if pods.is_none() && namespaces.is_none() {
        problems.push(format!(
            "peer at {} has neither podSelector, namespaceSelector nor ipBlock",
            node.pos
        ));
        return Peer::Invalid;
    }
    Peer::Pods { pods, namespaces }
}

fn read_rules(node: Option<&Node>, peer_key: &str, problems: &mut Vec<String>) -> Vec<TrafficRule> {
    node.and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .map(|r| TrafficRule {
            peers: r
                .get(peer_key)
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .map(|p| read_peer(p, problems))
                .collect(),
            ports: r
                .get("ports")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .map(|p| read_port(p, problems))
                .collect(),
        })
        .collect()
}

impl Policy {
    /// Reads a `networking.k8s.io` NetworkPolicy; `None` for any other resource.
    pub fn from_resource(r: &Resource) -> Option<Self> {
        if r.kind() != "NetworkPolicy" || r.group() != "networking.k8s.io" {
            return None;
        }
        let spec = r.spec();
        let mut problems = Vec::new();
        let pod_selector = match spec.and_then(|s| s.get("podSelector")) {
            Some(sel) => LabelSelector::from_node(sel),
            // Required by the API; an omitted one decodes as `{}`.
            None => LabelSelector::default(),
        };
        let egress_node = spec.and_then(|s| s.get("egress"));
        let types: Option<Vec<&str>> = spec
            .and_then(|s| s.get("policyTypes"))
            .and_then(Node::as_seq)
            .map(|t| t.iter().filter_map(Node::as_str).collect());
        let (ingress_type, egress_type) = match &types {
            Some(t) => (t.contains(&"Ingress"), t.contains(&"Egress")),
            None => (true, egress_node.is_some()),
        };
        Some(Self {
            namespace: r.join_namespace().to_owned(),
            name: r.name().to_owned(),
            pod_selector,
            ingress_type,
            egress_type,
            ingress: read_rules(spec.and_then(|s| s.get("ingress")), "from", &mut problems),
            egress: read_rules(egress_node, "to", &mut problems),
            file: r.source.file.to_string(),
            pos: r.root.pos,
            problems,
        })
    }

    pub fn reference(&self, rule: Option<usize>) -> PolicyRef {
        PolicyRef {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            rule,
        }
    }

    /// A default-deny for a direction: selects every pod and allows nothing that way.
    pub fn is_default_deny_ingress(&self) -> bool {
        self.pod_selector.is_empty() && self.ingress_type && self.ingress.is_empty()
    }

    pub fn is_default_deny_egress(&self) -> bool {
        self.pod_selector.is_empty() && self.egress_type && self.egress.is_empty()
    }
}

/// Why a rule admits traffic from everywhere, if it does: no peers at all, a peer that
/// selects every pod of every namespace, or an ipBlock of the whole address space.
pub fn allows_everyone(rule: &TrafficRule) -> Option<&'static str> {
    if rule.peers.is_empty() {
        return Some("it lists no peers, so every source or destination matches");
    }
    rule.peers.iter().find_map(|p| match p {
        Peer::Pods {
            pods,
            namespaces: Some(ns),
        } if ns.is_empty() && pods.as_ref().is_none_or(LabelSelector::is_empty) => {
            Some("`namespaceSelector: {}` selects every pod of every namespace")
        }
        Peer::IpBlock { cidr, except } if cidr.prefix == 0 && except.is_empty() => {
            Some("its ipBlock covers every address")
        }
        _ => None,
    })
}
