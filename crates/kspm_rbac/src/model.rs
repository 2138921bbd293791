//! The RBAC objects, read from resources into owned, resolved form.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use kspm_model::selector::{LabelSelector, Labels, labels_at};
use kspm_model::{Node, Pos, Resource};
use serde::Serialize;

use crate::ParseError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl SubjectKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "User",
            SubjectKind::Group => "Group",
            SubjectKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// A user, group or service account, as a binding names it and as the API server sees it.
/// A `User` named `system:serviceaccount:NS:NAME` is that service account, and is stored as one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    /// Service accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    pub fn user(name: &str) -> Self {
        if let Some(rest) = name.strip_prefix("system:serviceaccount:")
            && let Some((ns, sa)) = rest.split_once(':')
            && !ns.is_empty()
            && !sa.is_empty()
        {
            return Self::service_account(ns, sa);
        }
        Self {
            kind: SubjectKind::User,
            name: name.to_owned(),
            namespace: None,
        }
    }

    pub fn group(name: &str) -> Self {
        Self {
            kind: SubjectKind::Group,
            name: name.to_owned(),
            namespace: None,
        }
    }

    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            kind: SubjectKind::ServiceAccount,
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
        }
    }

    /// Parses what a user types: `system:serviceaccount:NS:NAME`, `serviceaccount:NS/NAME`
    /// (`sa:` for short), `user:NAME`, `group:NAME` (kinds case-insensitive).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        if text.starts_with("system:serviceaccount:") {
            let s = Self::user(text);
            if s.kind == SubjectKind::ServiceAccount {
                return Ok(s);
            }
            return Err(ParseError::ServiceAccountUser(text.to_owned()));
        }
        let Some((kind, name)) = text.split_once(':') else {
            return Err(ParseError::Subject(text.to_owned()));
        };
        if name.is_empty() {
            return Err(ParseError::EmptyName(text.to_owned()));
        }
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(Self::user(name)),
            "group" => Ok(Self::group(name)),
            "serviceaccount" | "sa" => match name.split_once('/') {
                Some((ns, sa)) if !ns.is_empty() && !sa.is_empty() => {
                    Ok(Self::service_account(ns, sa))
                }
                _ => Err(ParseError::ServiceAccount(text.to_owned())),
            },
            other => Err(ParseError::SubjectKind {
                text: text.to_owned(),
                kind: other.to_owned(),
            }),
        }
    }

    /// The groups the API server adds to every request of this subject.
    pub fn implicit_groups(&self) -> Vec<Subject> {
        match self.kind {
            SubjectKind::Group => Vec::new(),
            SubjectKind::User if self.name == "system:anonymous" => {
                vec![Self::group("system:unauthenticated")]
            }
            SubjectKind::User => vec![Self::group("system:authenticated")],
            SubjectKind::ServiceAccount => vec![
                Self::group("system:serviceaccounts"),
                Self::group(&format!(
                    "system:serviceaccounts:{}",
                    self.namespace.as_deref().unwrap_or("")
                )),
                Self::group("system:authenticated"),
            ],
        }
    }

    /// Whether Kubernetes itself runs as this subject (control-plane users and groups, and
    /// service accounts of `kube-system`).
    pub fn is_system(&self) -> bool {
        match self.kind {
            SubjectKind::ServiceAccount => self.namespace.as_deref() == Some("kube-system"),
            _ => {
                self.name.starts_with("system:")
                    && !matches!(
                        self.name.as_str(),
                        "system:authenticated"
                            | "system:unauthenticated"
                            | "system:anonymous"
                            | "system:serviceaccounts"
                    )
            }
        }
    }

    /// Anonymous or every authenticated user: rights granted here are granted to the world.
    pub fn is_public(&self) -> bool {
        match self.kind {
            SubjectKind::User => self.name == "system:anonymous",
            SubjectKind::Group => matches!(
                self.name.as_str(),
                "system:unauthenticated" | "system:authenticated"
            ),
            SubjectKind::ServiceAccount => false,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind.as_str(), ns, self.name),
            None => write!(f, "{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// One entry of a role's `rules`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    #[serde(rename = "apiGroups", skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(rename = "resourceNames", skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

fn strings(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| match &n.value {
            kspm_model::Value::Str(s) => Some(s.to_string()),
            // `apiGroups: [""]` is often written `[ ]`-less as `- ""`; YAML null means "" too.
            kspm_model::Value::Null => Some(String::new()),
            _ => None,
        })
        .collect()
}

impl PolicyRule {
    pub fn from_node(node: &Node) -> Self {
        Self {
            verbs: strings(node.get("verbs")),
            api_groups: strings(node.get("apiGroups")),
            resources: strings(node.get("resources")),
            resource_names: strings(node.get("resourceNames")),
            non_resource_urls: strings(node.get("nonResourceURLs")),
        }
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| g == "*" || g == group)
    }

    /// RBAC's `ResourceMatches`: `*`, the exact `resource[/sub]`, or `*/sub`.
    pub fn has_resource(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            if r == "*" {
                return true;
            }
            if subresource.is_empty() {
                return r == resource;
            }
            r.strip_prefix(resource)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|s| s == subresource)
                || r.strip_prefix("*/").is_some_and(|s| s == subresource)
        })
    }

    pub fn has_name(&self, name: Option<&str>) -> bool {
        self.resource_names.is_empty()
            || name.is_some_and(|n| self.resource_names.iter().any(|r| r == n))
    }

    /// RBAC's `NonResourceURLMatches`: exact, `*`, or a prefix ending in `*`.
    pub fn has_url(&self, url: &str) -> bool {
        self.non_resource_urls.iter().any(|u| {
            u == "*"
                || u == url
                || u.strip_suffix('*')
                    .is_some_and(|prefix| url.starts_with(prefix))
        })
    }

    /// Every verb on every resource of every group: cluster-admin's shape.
    pub fn is_full_wildcard(&self) -> bool {
        self.verbs.iter().any(|v| v == "*")
            && self.api_groups.iter().any(|g| g == "*")
            && self.resources.iter().any(|r| r == "*")
            && self.resource_names.is_empty()
    }
}

impl fmt::Display for PolicyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verbs = self.verbs.join(",");
        if !self.non_resource_urls.is_empty() {
            return write!(f, "{verbs} on {}", self.non_resource_urls.join(","));
        }
        let resources: Vec<String> = self
            .resources
            .iter()
            .flat_map(|r| {
                self.api_groups.iter().map(move |g| {
                    if g.is_empty() {
                        r.clone()
                    } else {
                        format!("{r}.{g}")
                    }
                })
            })
            .collect();
        write!(f, "{verbs} on {}", resources.join(","))?;
        if !self.resource_names.is_empty() {
            write!(f, " (names: {})", self.resource_names.join(","))?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RoleKind {
    Role,
    ClusterRole,
}

impl RoleKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
        }
    }
}

/// A Role (namespaced) or ClusterRole (namespace `None`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RoleKey {
    pub kind: RoleKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for RoleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind.as_str(), ns, self.name),
            None => write!(f, "{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A RoleBinding (namespaced) or ClusterRoleBinding (namespace `None`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BindingRef {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for BindingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Binding {
    pub id: BindingRef,
    pub role: RoleKey,
    pub subjects: Vec<Subject>,
}

/// One subject's share of one binding: the role's rules, in the binding's scope.
#[derive(Clone, Debug)]
pub struct Grant {
    pub subject: Subject,
    pub binding: Arc<BindingRef>,
    pub role: Arc<RoleKey>,
    /// The binding's namespace; `None` for a ClusterRoleBinding (everywhere).
    pub namespace: Option<String>,
    pub rules: Arc<[PolicyRule]>,
    /// The role is built into Kubernetes and was not among the inputs (`cluster-admin`).
    pub builtin: bool,
}

/// Something the model could not resolve; reported, never fatal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    #[serde(skip)]
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.is_known() {
            write!(f, "{}:{}: {}", self.file, self.pos, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

struct RawRole {
    key: RoleKey,
    labels: Labels,
    rules: Vec<PolicyRule>,
    aggregation: Option<Vec<LabelSelector>>,
}

/// Every RBAC object of the inputs, resolved.
#[derive(Debug, Default)]
pub struct RbacModel {
    /// Roles with aggregated rules resolved.
    pub roles: HashMap<RoleKey, Arc<[PolicyRule]>>,
    pub bindings: Vec<Binding>,
    pub grants: Vec<Grant>,
    /// Grant indices by subject.
    pub by_subject: HashMap<Subject, Vec<usize>>,
    /// Bindings that refer to roles absent from the inputs, and malformed objects.
    pub problems: Vec<Problem>,
    /// Service accounts known to exist: ServiceAccount objects and binding subjects.
    pub service_accounts: BTreeSet<Subject>,
    /// Namespaces seen on any object.
    pub namespaces: BTreeSet<String>,
    /// Legacy service account token Secrets (`type: kubernetes.io/service-account-token`):
    /// namespace, Secret name, the service account it holds a token of. Only metadata and
    /// type are read, never the data.
    pub token_secrets: Vec<(String, String, String)>,
}

/// The ClusterRoles every cluster has whatever the inputs say; used when the inputs bind them
/// without defining them. Only `cluster-admin` is exact and short enough to carry here.
fn builtin_role(key: &RoleKey) -> Option<Vec<PolicyRule>> {
    if key.kind == RoleKind::ClusterRole && key.name == "cluster-admin" {
        return Some(vec![
            PolicyRule {
                verbs: vec!["*".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                ..PolicyRule::default()
            },
            PolicyRule {
                verbs: vec!["*".into()],
                non_resource_urls: vec!["*".into()],
                ..PolicyRule::default()
            },
        ]);
    }
    None
}

impl RbacModel {
    /// Builds the model from any resources; kinds other than the RBAC ones only contribute
    /// namespaces and service accounts.
    pub fn build<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut model = Self::default();
        let mut raw: Vec<RawRole> = Vec::new();
        let mut bindings: Vec<(Binding, &'a Resource)> = Vec::new();
        for r in resources {
            // Namespace-less objects are in a namespace of their own per directory, not in
            // `default` (see `kspm_model::resource::join_namespace`).
            if !r.join_namespace().is_empty() {
                model.namespaces.insert(r.join_namespace().to_owned());
            }
            let rbac = r.group() == "rbac.authorization.k8s.io";
            match r.kind() {
                "Namespace" if r.api_version() == "v1" => {
                    model.namespaces.insert(r.name().to_owned());
                }
                "Secret" if r.api_version() == "v1" => {
                    if r.root.get("type").and_then(Node::as_str)
                        == Some("kubernetes.io/service-account-token")
                        && let Some(sa) = r.annotation("kubernetes.io/service-account.name")
                    {
                        model.token_secrets.push((
                            r.join_namespace().to_owned(),
                            r.name().to_owned(),
                            sa.to_owned(),
                        ));
                    }
                }
                "ServiceAccount" if r.api_version() == "v1" => {
                    let ns = r.join_namespace();
                    model
                        .service_accounts
                        .insert(Subject::service_account(ns, r.name()));
                }
                "Role" | "ClusterRole" if rbac => {
                    let cluster = r.kind() == "ClusterRole";
                    if let Some(rules) = r
                        .root
                        .get("rules")
                        .filter(|n| n.as_seq().is_none() && !n.is_null())
                    {
                        model.problem(
                            r,
                            rules.pos,
                            &format!(
                                "`rules` must be a list, found {}; the role grants nothing here",
                                rules.type_name()
                            ),
                        );
                    }
                    raw.push(RawRole {
                        key: RoleKey {
                            kind: if cluster {
                                RoleKind::ClusterRole
                            } else {
                                RoleKind::Role
                            },
                            namespace: if cluster {
                                None
                            } else {
                                Some(r.join_namespace().to_owned())
                            },
                            name: r.name().to_owned(),
                        },
                        labels: labels_at(r.root.at(&["metadata", "labels"])),
                        rules: r
                            .root
                            .get("rules")
                            .and_then(Node::as_seq)
                            .unwrap_or(&[])
                            .iter()
                            .map(PolicyRule::from_node)
                            .collect(),
                        aggregation: r
                            .root
                            .at(&["aggregationRule", "clusterRoleSelectors"])
                            .and_then(Node::as_seq)
                            .filter(|_| cluster)
                            .map(|s| s.iter().map(LabelSelector::from_node).collect()),
                    });
                }
                "RoleBinding" | "ClusterRoleBinding" if rbac => {
                    if let Some(b) = model.read_binding(r) {
                        bindings.push((b, r));
                    }
                }
                _ => {}
            }
        }
        model.resolve_roles(raw);
        // Inputs may come in any order (the scan index is a hash map): answers and messages
        // must not depend on it.
        bindings.sort_by(|(a, _), (b, _)| a.id.cmp(&b.id));
        for (b, r) in bindings {
            model.add_binding(b, r);
        }
        model.token_secrets.sort();
        for (ns, _, sa) in &model.token_secrets {
            model
                .service_accounts
                .insert(Subject::service_account(ns, sa));
        }
        for s in model.bindings.iter().flat_map(|b| &b.subjects) {
            if s.kind == SubjectKind::ServiceAccount {
                model.service_accounts.insert(s.clone());
            }
        }
        for s in &model.service_accounts {
            if let Some(ns) = &s.namespace {
                model.namespaces.insert(ns.clone());
            }
        }
        model
            .problems
            .sort_by(|a, b| (&a.file, a.pos, &a.message).cmp(&(&b.file, b.pos, &b.message)));
        model
    }

    fn problem(&mut self, r: &Resource, pos: Pos, message: &str) {
        self.problems.push(Problem {
            file: r.source.file.to_string(),
            pos,
            message: format!("{}: {message}", r.id),
        });
    }

    fn read_binding(&mut self, r: &Resource) -> Option<Binding> {
        let cluster = r.kind() == "ClusterRoleBinding";
        let namespace = (!cluster).then(|| r.join_namespace().to_owned());
        let Some(role_ref) = r.root.get("roleRef") else {
            self.problem(r, r.root.pos, "has no roleRef");
            return None;
        };
        let role_kind = match role_ref.get("kind").and_then(Node::as_str) {
            Some("ClusterRole") => RoleKind::ClusterRole,
            Some("Role") if !cluster => RoleKind::Role,
            other => {
                self.problem(
                    r,
                    role_ref.pos,
                    &format!(
                        "roleRef.kind {} is not {}",
                        other.map_or_else(|| "(missing)".to_owned(), |k| format!("`{k}`")),
                        if cluster {
                            "ClusterRole"
                        } else {
                            "Role or ClusterRole"
                        }
                    ),
                );
                return None;
            }
        };
        let Some(role_name) = role_ref.get("name").and_then(Node::as_str) else {
            self.problem(r, role_ref.pos, "roleRef.name is missing");
            return None;
        };
        let mut subjects = Vec::new();
        for s in r.root.get("subjects").and_then(Node::as_seq).unwrap_or(&[]) {
            let name = s.get("name").and_then(Node::as_str).unwrap_or("");
            if name.is_empty() {
                self.problem(r, s.pos, "a subject has no name");
                continue;
            }
            match s.get("kind").and_then(Node::as_str) {
                Some("User") => subjects.push(Subject::user(name)),
                Some("Group") => subjects.push(Subject::group(name)),
                Some("ServiceAccount") => {
                    // The API server requires the namespace; `kubectl create rolebinding`
                    // fills in the binding's, which is what an omitted one most likely means.
                    let ns = s
                        .get("namespace")
                        .and_then(Node::as_str)
                        .or(namespace.as_deref());
                    match ns {
                        Some(ns) => subjects.push(Subject::service_account(ns, name)),
                        None => self.problem(
                            r,
                            s.pos,
                            &format!("service account subject `{name}` has no namespace"),
                        ),
                    }
                }
                other => self.problem(
                    r,
                    s.pos,
                    &format!(
                        "subject kind {} is not User, Group or ServiceAccount",
                        other.map_or_else(|| "(missing)".to_owned(), |k| format!("`{k}`"))
                    ),
                ),
            }
        }
        Some(Binding {
            id: BindingRef {
                kind: if cluster {
                    "ClusterRoleBinding"
                } else {
                    "RoleBinding"
                },
                namespace: namespace.clone(),
                name: r.name().to_owned(),
            },
            role: RoleKey {
                kind: role_kind,
                namespace: if role_kind == RoleKind::Role {
                    namespace
                } else {
                    None
                },
                name: role_name.to_owned(),
            },
            subjects,
        })
    }

    /// The aggregation controller's fixpoint: an aggregated ClusterRole holds the rules of every
    /// ClusterRole its selectors match (including other aggregated ones), plus its own.
    fn resolve_roles(&mut self, mut raw: Vec<RawRole>) {
        let mut rules: Vec<Vec<PolicyRule>> = raw
            .iter_mut()
            .map(|r| std::mem::take(&mut r.rules))
            .collect();
        let sources: Vec<Vec<usize>> = raw
            .iter()
            .enumerate()
            .map(|(i, role)| match &role.aggregation {
                Some(selectors) => raw
                    .iter()
                    .enumerate()
                    .filter(|(j, other)| {
                        *j != i
                            && other.key.kind == RoleKind::ClusterRole
                            && selectors.iter().any(|s| s.matches(&other.labels))
                    })
                    .map(|(j, _)| j)
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        // Bounded by the number of aggregated roles: each pass settles at least one level.
        let rounds = sources.iter().filter(|s| !s.is_empty()).count();
        for _ in 0..rounds {
            let mut changed = false;
            for (i, srcs) in sources.iter().enumerate() {
                for &j in srcs {
                    let add: Vec<PolicyRule> = rules[j]
                        .iter()
                        .filter(|rule| !rules[i].contains(rule))
                        .cloned()
                        .collect();
                    if !add.is_empty() {
                        rules[i].extend(add);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for (role, rules) in raw.into_iter().zip(rules) {
            self.roles.insert(role.key, rules.into());
        }
    }

    fn add_binding(&mut self, b: Binding, r: &Resource) {
        let (rules, builtin) = if let Some(rules) = self.roles.get(&b.role) {
            (rules.clone(), false)
        } else if let Some(rules) = builtin_role(&b.role) {
            (rules.into(), true)
        } else {
            let pos = r.root.get("roleRef").map_or(r.root.pos, |n| n.pos);
            self.problem(
                r,
                pos,
                &format!(
                    "refers to {}, which is not among the inputs; its subjects get nothing from it here",
                    b.role
                ),
            );
            (Arc::from(Vec::new()), false)
        };
        let binding = Arc::new(b.id.clone());
        let role = Arc::new(b.role.clone());
        for s in &b.subjects {
            self.by_subject
                .entry(s.clone())
                .or_default()
                .push(self.grants.len());
            self.grants.push(Grant {
                subject: s.clone(),
                binding: binding.clone(),
                role: role.clone(),
                namespace: b.id.namespace.clone(),
                rules: rules.clone(),
                builtin,
            });
        }
        self.bindings.push(b);
    }

    /// The bindings that refer to a role.
    pub fn bindings_of(&self, role: &RoleKey) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| &b.role == role)
    }

    /// The grants a subject holds: its own and those of its implicit groups.
    pub fn grants_of(&self, subject: &Subject) -> impl Iterator<Item = &Grant> {
        let mut who = vec![subject.clone()];
        who.extend(subject.implicit_groups());
        who.into_iter()
            .filter_map(|s| self.by_subject.get(&s))
            .flatten()
            .map(|&i| &self.grants[i])
    }

    /// Every subject named by a binding, and every known service account.
    pub fn subjects(&self) -> BTreeSet<Subject> {
        let mut all: BTreeSet<Subject> = self.by_subject.keys().cloned().collect();
        all.extend(self.service_accounts.iter().cloned());
        all
    }
}
