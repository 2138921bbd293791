//! Escalation paths: chains of rights by which a subject ends up with cluster-admin's power
//! although none of its own bindings grants it.
//!
//! The graph's nodes are subjects, "full rights in namespace N" and "cluster-admin". An edge
//! says that whoever holds the source can act as, or obtain, the target:
//!
//! - create (or update/patch) pods or workloads in N → run a pod as any service account of N;
//! - exec into or attach to pods in N → act as the service account of a workload running there;
//!   `nodes/proxy` (the kubelet API), the same for every workload of the cluster;
//! - create `serviceaccounts/token` in N → act as those service accounts; read a legacy token
//!   Secret (`kubernetes.io/service-account-token`) → act as its service account;
//! - impersonate service accounts, users, or groups (`system:masters` is a group);
//! - create role bindings with `bind` on a role → full rights in N, or cluster-wide with
//!   cluster role bindings; `escalate` with update on roles, the same;
//! - full rights in N → every service account of N; any subject bound cluster-wide to every
//!   verb on everything → cluster-admin.
//!
//! Paths are the shortest ones, found by one breadth-first search backwards from cluster-admin,
//! so the cost is linear in the graph whatever the number of subjects.
//!
//! The graph itself is linear in the input: a right that reaches every service account of a
//! namespace (creating pods there, minting any token) is one edge to a *fan* node standing for
//! "any service account of N", which has one edge to each of them; the same for "the token of
//! any pod in N" (exec, attach, `nodes/proxy`) and "any user" (impersonation). A RoleBinding
//! with 3,000 service accounts as subjects makes 6,000 edges, not 9 million. Fan edges cost
//! nothing in the search and are folded into the hop before them in the paths reported.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

use serde::Serialize;

use crate::model::{PolicyRule, RbacModel, Subject, SubjectKind};
use crate::query::{Request, Scope, Via};
use crate::workload::Workload;

/// A node of the escalation graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Power {
    Subject(Subject),
    /// Every right in one namespace.
    NamespaceAdmin {
        namespace: String,
    },
    /// Every right everywhere.
    ClusterAdmin,
    /// Fan node: any service account of one namespace.
    AnyServiceAccount {
        namespace: String,
    },
    /// Fan node: the token of any pod (with a mounted token) in one namespace, or anywhere.
    PodTokens {
        namespace: Option<String>,
    },
    /// Fan node: any user named by a binding.
    AnyUser,
}

impl Power {
    /// Fan nodes stand for "any of these"; their edges cost nothing in the search.
    fn is_fan(&self) -> bool {
        matches!(
            self,
            Power::AnyServiceAccount { .. } | Power::PodTokens { .. } | Power::AnyUser
        )
    }
}

impl fmt::Display for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Power::Subject(s) => write!(f, "{s}"),
            Power::NamespaceAdmin { namespace } => {
                write!(f, "full rights in namespace {namespace}")
            }
            Power::ClusterAdmin => f.write_str("cluster-admin"),
            Power::AnyServiceAccount { namespace } => {
                write!(f, "any service account of namespace {namespace}")
            }
            Power::PodTokens {
                namespace: Some(namespace),
            } => write!(f, "the token of any pod in namespace {namespace}"),
            Power::PodTokens { namespace: None } => f.write_str("the token of any pod"),
            Power::AnyUser => f.write_str("any user"),
        }
    }
}

/// One hop: holding `from` lets one `action`, which yields `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: Power,
    pub to: Power,
    /// What the source can do (`create pods in prod`).
    pub action: String,
    /// The binding and role that grant it (none for the structural hops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The workloads the hop goes through or lands on (`Deployment/prod/api`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<String>,
}

impl Edge {
    /// The hop as a phrase: `can create pods in prod → a pod can run as ServiceAccount prod/x`.
    pub fn describe(&self) -> String {
        let via = self
            .via
            .as_ref()
            .map(|v| format!(" ({} → {})", v.binding, v.role))
            .unwrap_or_default();
        match &self.to {
            Power::ClusterAdmin if self.action.starts_with("is ") => {
                format!("which {}{via}", self.action)
            }
            to => {
                let lead = if matches!(self.from, Power::NamespaceAdmin { .. }) {
                    "which"
                } else {
                    "can"
                };
                match self.action.split_once(" → ") {
                    Some((act, result)) => format!("{lead} {act}{via} → {result} {to}"),
                    None => format!("{lead} {}{via} → {to}", self.action),
                }
            }
        }
    }
}

/// A chain from a subject to cluster-admin.
#[derive(Clone, Debug, Serialize)]
pub struct Path {
    pub start: Subject,
    pub steps: Vec<Edge>,
    /// Workloads that run as a service account on the path and mount its token: the pods that
    /// hold the power.
    pub holders: Vec<String>,
}

impl Path {
    pub fn describe(&self) -> String {
        let mut text = self.start.to_string();
        for e in &self.steps {
            text.push(' ');
            text.push_str(&e.describe());
        }
        text
    }
}

const WORKLOAD_RESOURCES: &[&str] = &[
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
];

fn req(verb: &str, target: &str, scope: &Scope, name: Option<&str>) -> Request {
    let mut r = Request::parse(verb, target, None)
        .expect("built-in request")
        .named(name);
    if !matches!(r.scope, Scope::Cluster) {
        r.scope = scope.clone();
    }
    r
}

/// A request checked in a namespace even for a cluster-scoped resource: the authorizer checks
/// `bind` on a ClusterRole referenced by a RoleBinding in the binding's namespace.
fn req_in(verb: &str, target: &str, namespace: &str, name: Option<&str>) -> Request {
    let mut r = req(verb, target, &Scope::Any, name);
    r.scope = Scope::Namespace(namespace.to_owned());
    r
}

/// Whether a rule is about any resource the namespace questions of [`edges`] ask about (any verb,
/// group or name: a superset, so that a rule about none of them surely answers them all "no").
fn asked_in_namespaces(rule: &PolicyRule) -> bool {
    const ASKED: &[(&str, &str)] = &[
        ("pods", "exec"),
        ("pods", "attach"),
        ("serviceaccounts", "token"),
        ("serviceaccounts", ""),
        ("secrets", ""),
        ("rolebindings", ""),
        ("clusterroles", ""),
        ("roles", ""),
    ];
    WORKLOAD_RESOURCES.iter().any(|r| rule.has_resource(r, ""))
        || ASKED.iter().any(|(r, sub)| rule.has_resource(r, sub))
}

/// Builds the escalation graph's edges.
pub fn edges(model: &RbacModel, workloads: &[Workload]) -> Vec<Edge> {
    let mut sas: BTreeMap<&str, BTreeSet<Subject>> = BTreeMap::new();
    for s in &model.service_accounts {
        if let Some(ns) = &s.namespace {
            sas.entry(ns).or_default().insert(s.clone());
        }
    }
    let mut by_ns: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for w in workloads {
        sas.entry(&w.namespace).or_default().insert(w.subject());
        by_ns.entry(&w.namespace).or_default().push(w);
    }
    let mut namespaces: BTreeSet<&str> = model.namespaces.iter().map(String::as_str).collect();
    namespaces.extend(sas.keys().copied());

    let mut subjects = model.subjects();
    subjects.extend(workloads.iter().map(Workload::subject));
    subjects.insert(Subject::group("system:masters"));

    let users: Vec<&Subject> = subjects
        .iter()
        .filter(|u| u.kind == SubjectKind::User)
        .collect();
    let mut fans: BTreeSet<Power> = BTreeSet::new();
    let mut out = Vec::new();
    for s in &subjects {
        let from = Power::Subject(s.clone());
        if *s == Subject::group("system:masters") {
            out.push(Edge {
                from: from.clone(),
                to: Power::ClusterAdmin,
                action: "is the group whose members bypass authorization".into(),
                via: None,
                workloads: Vec::new(),
            });
            continue;
        }
        if let Some(via) = model.is_cluster_admin(s) {
            out.push(Edge {
                from: from.clone(),
                to: Power::ClusterAdmin,
                action: format!("is bound to {}", via.role.name),
                via: Some(via),
                workloads: Vec::new(),
            });
            continue;
        }
        let grants: Vec<_> = model.grants_of(s).collect();
        if grants.is_empty() {
            continue;
        }
        // Every question below is about `s`: its grants are looked up once, not per question
        // (a cluster-wide subject is asked dozens of questions in every namespace).
        let can = |request: &Request| crate::query::can_among(&grants, request);
        let named = grants
            .iter()
            .any(|g| g.rules.iter().any(|r| !r.resource_names.is_empty()));
        let cluster_wide = grants.iter().any(|g| g.namespace.is_none());
        let scoped: BTreeSet<&str> = grants
            .iter()
            .filter_map(|g| g.namespace.as_deref())
            .collect();
        // Cluster-wide grants answer in every namespace, but only about what their rules name:
        // most subjects hold cluster-wide only what every authenticated identity holds
        // (discovery, self-reviews), which answers every namespace question below "no". Then
        // only the namespaces of their namespaced grants can give edges.
        let wide_asked = grants
            .iter()
            .any(|g| g.namespace.is_none() && g.rules.iter().any(asked_in_namespaces));
        let check_ns: Vec<&str> = if cluster_wide && wide_asked {
            namespaces.iter().copied().collect()
        } else {
            scoped.into_iter().collect()
        };
        let cluster = Scope::Cluster;
        // Cluster-wide bindings and impersonation.
        if cluster_wide {
            if let Some(via) = can(&req("create", "clusterrolebindings", &cluster, None))
                && can(&req(
                    "bind",
                    "clusterroles",
                    &cluster,
                    Some("cluster-admin"),
                ))
                .is_some()
            {
                out.push(Edge {
                    from: from.clone(),
                    to: Power::ClusterAdmin,
                    action: "create cluster role bindings and bind cluster-admin".into(),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            }
            if let Some(via) = can(&req("escalate", "clusterroles", &cluster, None))
                && can(&req("update", "clusterroles", &cluster, None)).is_some()
            {
                out.push(Edge {
                    from: from.clone(),
                    to: Power::ClusterAdmin,
                    action: "escalate and update cluster roles, so add any right to them".into(),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            }
            if let Some(via) = can(&req("impersonate", "groups", &cluster, None)) {
                out.push(Edge {
                    from: from.clone(),
                    to: Power::Subject(Subject::group("system:masters")),
                    action: "impersonate groups → act as".into(),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            }
            // The kubelet API runs commands in any container of the node; `get` suffices over
            // WebSocket on many versions.
            let proxy = can(&req("create", "nodes/proxy", &cluster, None))
                .or_else(|| can(&req("get", "nodes/proxy", &cluster, None)));
            if let Some(via) = proxy {
                fans.insert(Power::PodTokens { namespace: None });
                out.push(Edge {
                    from: from.clone(),
                    to: Power::PodTokens { namespace: None },
                    action: "run commands in any pod through nodes/proxy → the token of".into(),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            }
            if let Some(via) = can(&req("impersonate", "users", &cluster, None)) {
                fans.insert(Power::AnyUser);
                out.push(Edge {
                    from: from.clone(),
                    to: Power::AnyUser,
                    action: "impersonate users → act as".into(),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            } else if named {
                for u in users.iter().filter(|u| **u != s) {
                    if let Some(via) = can(&req("impersonate", "users", &cluster, Some(&u.name))) {
                        out.push(Edge {
                            from: from.clone(),
                            to: Power::Subject((*u).clone()),
                            action: "impersonate users → act as".into(),
                            via: Some(via),
                            workloads: Vec::new(),
                        });
                    }
                }
            }
        }
        for ns in check_ns {
            let scope = Scope::Namespace(ns.to_owned());
            let targets = sas.get(ns);
            let any_sa = Power::AnyServiceAccount {
                namespace: ns.to_owned(),
            };
            let to_all =
                |out: &mut Vec<Edge>, fans: &mut BTreeSet<Power>, action: String, via: Via| {
                    fans.insert(any_sa.clone());
                    out.push(Edge {
                        from: from.clone(),
                        to: any_sa.clone(),
                        action,
                        via: Some(via),
                        workloads: Vec::new(),
                    });
                };
            let create = WORKLOAD_RESOURCES.iter().find_map(|r| {
                ["create", "update", "patch"]
                    .iter()
                    .find_map(|v| can(&req(v, r, &scope, None)).map(|via| (*v, *r, via)))
            });
            if let Some((verb, what, via)) = create {
                to_all(
                    &mut out,
                    &mut fans,
                    format!("{verb} {what} in {ns} → a pod can run as"),
                    via,
                );
            }
            for sub in ["exec", "attach"] {
                let via = can(&req("create", &format!("pods/{sub}"), &scope, None))
                    .or_else(|| can(&req("get", &format!("pods/{sub}"), &scope, None)));
                if let Some(via) = via {
                    if by_ns
                        .get(ns)
                        .is_some_and(|ws| ws.iter().any(|w| w.token_mounted))
                    {
                        let to = Power::PodTokens {
                            namespace: Some(ns.to_owned()),
                        };
                        fans.insert(to.clone());
                        out.push(Edge {
                            from: from.clone(),
                            to,
                            action: format!("{sub} into pods in {ns} → the token of"),
                            via: Some(via),
                            workloads: Vec::new(),
                        });
                    }
                    break;
                }
            }
            if let Some(via) = can(&req("create", "serviceaccounts/token", &scope, None)) {
                to_all(
                    &mut out,
                    &mut fans,
                    format!("create service account tokens in {ns} → a token of"),
                    via,
                );
            } else if let Some(via) = can(&req("impersonate", "serviceaccounts", &scope, None)) {
                to_all(
                    &mut out,
                    &mut fans,
                    format!("impersonate service accounts in {ns} → act as"),
                    via,
                );
            } else if named {
                // Rights limited to named service accounts (`resourceNames`): one edge each.
                for t in targets.into_iter().flatten().filter(|t| *t != s) {
                    if let Some(via) = can(&req(
                        "create",
                        "serviceaccounts/token",
                        &scope,
                        Some(&t.name),
                    )) {
                        out.push(Edge {
                            from: from.clone(),
                            to: Power::Subject(t.clone()),
                            action: format!("create service account tokens in {ns} → a token of"),
                            via: Some(via),
                            workloads: Vec::new(),
                        });
                    } else if let Some(via) = can(&req(
                        "impersonate",
                        "serviceaccounts",
                        &scope,
                        Some(&t.name),
                    )) {
                        out.push(Edge {
                            from: from.clone(),
                            to: Power::Subject(t.clone()),
                            action: format!("impersonate service accounts in {ns} → act as"),
                            via: Some(via),
                            workloads: Vec::new(),
                        });
                    }
                }
            }
            for (_, secret, sa) in model.token_secrets.iter().filter(|(n, _, _)| n == ns) {
                let t = Subject::service_account(ns, sa);
                if t == *s {
                    continue;
                }
                if let Some(via) = can(&req("get", "secrets", &scope, Some(secret))) {
                    out.push(Edge {
                        from: from.clone(),
                        to: Power::Subject(t),
                        action: format!("read Secret {ns}/{secret} → the legacy token of"),
                        via: Some(via),
                        workloads: Vec::new(),
                    });
                }
            }
            let admin = Power::NamespaceAdmin {
                namespace: ns.to_owned(),
            };
            if let Some(via) = can(&req("create", "rolebindings", &scope, None))
                && (can(&req_in("bind", "clusterroles", ns, Some("admin"))).is_some()
                    || can(&req_in("bind", "clusterroles", ns, Some("cluster-admin"))).is_some())
            {
                out.push(Edge {
                    from: from.clone(),
                    to: admin.clone(),
                    action: format!("create role bindings in {ns} and bind any role → gain"),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            } else if let Some(via) = can(&req("escalate", "roles", &scope, None))
                && can(&req("update", "roles", &scope, None)).is_some()
            {
                out.push(Edge {
                    from: from.clone(),
                    to: admin.clone(),
                    action: format!("escalate and update roles in {ns} → gain"),
                    via: Some(via),
                    workloads: Vec::new(),
                });
            }
        }
    }
    // Full rights in a namespace include creating pods there.
    let admins: BTreeSet<String> = out
        .iter()
        .filter_map(|e| match &e.to {
            Power::NamespaceAdmin { namespace } => Some(namespace.clone()),
            _ => None,
        })
        .collect();
    for ns in admins {
        let any_sa = Power::AnyServiceAccount {
            namespace: ns.clone(),
        };
        fans.insert(any_sa.clone());
        out.push(Edge {
            from: Power::NamespaceAdmin { namespace: ns },
            to: any_sa,
            action: "include creating pods → a pod can run as".into(),
            via: None,
            workloads: Vec::new(),
        });
    }
    // Each fan node, once, to what it stands for.
    for fan in fans {
        match &fan {
            Power::AnyServiceAccount { namespace } => {
                for t in sas.get(namespace.as_str()).into_iter().flatten() {
                    out.push(fan_edge(&fan, Power::Subject(t.clone()), Vec::new()));
                }
            }
            Power::PodTokens { namespace } => {
                let mut held: BTreeMap<Subject, Vec<String>> = BTreeMap::new();
                for w in workloads.iter().filter(|w| {
                    w.token_mounted && namespace.as_ref().is_none_or(|n| *n == w.namespace)
                }) {
                    held.entry(w.subject()).or_default().push(w.id());
                }
                for (t, ws) in held {
                    out.push(fan_edge(&fan, Power::Subject(t), ws));
                }
            }
            Power::AnyUser => {
                for u in &users {
                    out.push(fan_edge(&fan, Power::Subject((*u).clone()), Vec::new()));
                }
            }
            _ => {}
        }
    }
    // Name the workloads that land on each service account.
    let mut runs_as: HashMap<Subject, Vec<String>> = HashMap::new();
    for w in workloads.iter().filter(|w| w.token_mounted) {
        runs_as.entry(w.subject()).or_default().push(w.id());
    }
    for e in &mut out {
        if e.workloads.is_empty()
            && let Power::Subject(t) = &e.to
            && let Some(ws) = runs_as.get(t)
        {
            e.workloads.clone_from(ws);
        }
    }
    out
}

fn fan_edge(fan: &Power, to: Power, workloads: Vec<String>) -> Edge {
    Edge {
        from: fan.clone(),
        to,
        action: String::new(),
        via: None,
        workloads,
    }
}

/// The shortest path to cluster-admin of every subject that is not cluster-admin by its own
/// bindings and not a Kubernetes system identity (which is expected to be powerful).
pub fn paths(model: &RbacModel, workloads: &[Workload]) -> Vec<Path> {
    paths_from_edges(&edges(model, workloads), workloads)
}

pub fn paths_from_edges(edges: &[Edge], workloads: &[Workload]) -> Vec<Path> {
    let mut incoming: HashMap<&Power, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        incoming.entry(&e.to).or_default().push(i);
    }
    // Backwards 0-1 BFS: next[node] is the first edge of a shortest path from node to the
    // target; edges out of fan nodes cost nothing.
    let target = Power::ClusterAdmin;
    let mut next: HashMap<&Power, usize> = HashMap::new();
    let mut dist: HashMap<&Power, usize> = HashMap::from([(&target, 0)]);
    let mut queue = VecDeque::from([&target]);
    while let Some(node) = queue.pop_front() {
        let d = dist[node];
        for &i in incoming.get(node).into_iter().flatten() {
            let from = &edges[i].from;
            let w = usize::from(!from.is_fan());
            if dist.get(from).is_none_or(|&old| d + w < old) {
                dist.insert(from, d + w);
                next.insert(from, i);
                if w == 0 {
                    queue.push_front(from);
                } else {
                    queue.push_back(from);
                }
            }
        }
    }
    let mut runs_as: HashMap<Subject, Vec<String>> = HashMap::new();
    for w in workloads.iter().filter(|w| w.token_mounted) {
        runs_as.entry(w.subject()).or_default().push(w.id());
    }
    let mut out = Vec::new();
    for (node, &first) in &next {
        let Power::Subject(start) = node else {
            continue;
        };
        // A subject that is cluster-admin by its own bindings has no path to report; one that
        // reaches it in one hop of its own doing (create a cluster role binding and bind
        // cluster-admin, escalate cluster roles) has, as `kspm rbac paths` and RB014 both say.
        if start.is_system() || (edges[first].to == target && holds(&edges[first])) {
            continue;
        }
        let mut steps: Vec<Edge> = Vec::new();
        let mut at: &Power = node;
        while let Some(&i) = next.get(at) {
            let e = &edges[i];
            match steps.last_mut() {
                // A fan edge completes the hop into its fan node.
                Some(last) if e.from.is_fan() => {
                    last.to = e.to.clone();
                    if !e.workloads.is_empty() {
                        last.workloads.clone_from(&e.workloads);
                    }
                }
                _ => steps.push(e.clone()),
            }
            at = &e.to;
        }
        let mut holders: BTreeSet<String> = BTreeSet::new();
        for e in &steps {
            if let Power::Subject(s) = &e.from
                && s != start
            {
                holders.extend(runs_as.get(s).into_iter().flatten().cloned());
            }
        }
        out.push(Path {
            start: start.clone(),
            steps,
            holders: holders.into_iter().collect(),
        });
    }
    out.sort_by(|a, b| {
        a.steps
            .len()
            .cmp(&b.steps.len())
            .then_with(|| a.start.cmp(&b.start))
    });
    out
}

/// Whether an edge says its source already holds its target (`is bound to cluster-admin`,
/// `is the group whose members bypass authorization`) rather than can obtain it.
fn holds(e: &Edge) -> bool {
    e.action.starts_with("is ")
}
