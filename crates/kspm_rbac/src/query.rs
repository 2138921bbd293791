//! Questions asked of the model: who can do this, and what can this subject do.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::ParseError;
use crate::model::{BindingRef, Grant, PolicyRule, RbacModel, RoleKey, Subject};

/// Where a request applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One namespace: RoleBindings there and every ClusterRoleBinding apply.
    Namespace(String),
    /// Cluster-scoped objects, or all namespaces at once: only ClusterRoleBindings apply.
    Cluster,
    /// Anywhere: each grant in the scope it has (a RoleBinding in its namespace).
    Any,
}

/// An API request, as the authorizer sees it.
#[derive(Clone, Debug)]
pub struct Request {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    /// The object's name, when the request names one (`get`, `update`...).
    pub name: Option<String>,
    /// A non-resource URL (`/metrics`); then group and resource are ignored.
    pub url: Option<String>,
    pub scope: Scope,
}

/// Resources whose group is not `""` and that users name without it.
const GROUPS: &[(&str, &str)] = &[
    ("deployments", "apps"),
    ("daemonsets", "apps"),
    ("statefulsets", "apps"),
    ("replicasets", "apps"),
    ("controllerrevisions", "apps"),
    ("jobs", "batch"),
    ("cronjobs", "batch"),
    ("roles", "rbac.authorization.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("rolebindings", "rbac.authorization.k8s.io"),
    ("clusterrolebindings", "rbac.authorization.k8s.io"),
    ("networkpolicies", "networking.k8s.io"),
    ("ingresses", "networking.k8s.io"),
    ("ingressclasses", "networking.k8s.io"),
    ("certificatesigningrequests", "certificates.k8s.io"),
    ("signers", "certificates.k8s.io"),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    (
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
    ),
    (
        "validatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
    ),
    ("customresourcedefinitions", "apiextensions.k8s.io"),
    ("storageclasses", "storage.k8s.io"),
    ("csidrivers", "storage.k8s.io"),
    ("csinodes", "storage.k8s.io"),
    ("volumeattachments", "storage.k8s.io"),
    ("poddisruptionbudgets", "policy"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("priorityclasses", "scheduling.k8s.io"),
    ("leases", "coordination.k8s.io"),
    ("tokenreviews", "authentication.k8s.io"),
    ("subjectaccessreviews", "authorization.k8s.io"),
    ("selfsubjectaccessreviews", "authorization.k8s.io"),
    ("runtimeclasses", "node.k8s.io"),
    ("endpointslices", "discovery.k8s.io"),
];

/// The group of a resource named without one (`deployments` → `apps`; core resources and
/// unknown ones → `""`).
pub fn resource_group(resource: &str) -> &'static str {
    GROUPS
        .iter()
        .find(|(r, _)| *r == resource)
        .map_or("", |(_, g)| g)
}

const CLUSTER_SCOPED: &[&str] = &[
    "nodes",
    "namespaces",
    "persistentvolumes",
    "clusterroles",
    "clusterrolebindings",
    "certificatesigningrequests",
    "signers",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "customresourcedefinitions",
    "storageclasses",
    "csidrivers",
    "csinodes",
    "volumeattachments",
    "priorityclasses",
    "runtimeclasses",
    "ingressclasses",
    "tokenreviews",
    "subjectaccessreviews",
    "selfsubjectaccessreviews",
    "apiservices",
    // Impersonation of users, groups, user ids and extra fields is authorized without a
    // namespace, so only cluster-wide grants allow it (service accounts are namespaced).
    "users",
    "groups",
    "uids",
    "userextras",
];

/// Whether a built-in resource exists outside namespaces (RoleBindings cannot grant it).
pub fn is_cluster_scoped(resource: &str) -> bool {
    CLUSTER_SCOPED.contains(&resource)
}

impl Request {
    /// Parses `VERB RESOURCE[.GROUP][/SUBRESOURCE]` or `VERB /url`.
    pub fn parse(verb: &str, target: &str, namespace: Option<&str>) -> Result<Self, ParseError> {
        if verb.is_empty() || verb.contains(char::is_whitespace) {
            return Err(ParseError::Verb(verb.to_owned()));
        }
        if target.starts_with('/') {
            return Ok(Self {
                verb: verb.to_owned(),
                group: String::new(),
                resource: String::new(),
                subresource: String::new(),
                name: None,
                url: Some(target.to_owned()),
                scope: Scope::Cluster,
            });
        }
        let (res, sub) = target.split_once('/').unwrap_or((target, ""));
        let (resource, group) = match res.split_once('.') {
            Some((r, g)) => (r.to_owned(), g.to_owned()),
            None => (res.to_owned(), resource_group(res).to_owned()),
        };
        if resource.is_empty() {
            return Err(ParseError::Resource(target.to_owned()));
        }
        let scope = if verb == "bind" && resource == "clusterroles" {
            // Creating a RoleBinding in N that references a ClusterRole is authorized by `bind`
            // on that ClusterRole *in N*; a ClusterRoleBinding by `bind` cluster-wide.
            match namespace {
                Some(ns) => Scope::Namespace(ns.to_owned()),
                None => Scope::Any,
            }
        } else if is_cluster_scoped(&resource) {
            Scope::Cluster
        } else {
            match namespace {
                Some(ns) => Scope::Namespace(ns.to_owned()),
                None => Scope::Any,
            }
        };
        Ok(Self {
            verb: verb.to_owned(),
            group,
            resource,
            subresource: sub.to_owned(),
            name: None,
            url: None,
            scope,
        })
    }

    #[must_use]
    pub fn named(mut self, name: Option<&str>) -> Self {
        self.name = name.map(str::to_owned);
        self
    }

    /// Whether a rule allows this request (the scope is the binding's business).
    pub fn allowed_by(&self, rule: &PolicyRule) -> bool {
        if !rule.has_verb(&self.verb) {
            return false;
        }
        match &self.url {
            Some(url) => rule.has_url(url),
            None => {
                rule.has_group(&self.group)
                    && rule.has_resource(&self.resource, &self.subresource)
                    && rule.has_name(self.name.as_deref())
            }
        }
    }

    /// Whether a grant's binding applies in this request's scope.
    fn in_scope(&self, grant: &Grant) -> bool {
        match (&self.scope, &grant.namespace) {
            (_, None) => true,
            // Non-resource URLs and cluster-scoped objects are only granted cluster-wide.
            (Scope::Cluster, Some(_)) => false,
            (Scope::Namespace(ns), Some(b)) => ns == b,
            (Scope::Any, Some(_)) => self.url.is_none(),
        }
    }

    pub fn describe(&self) -> String {
        let what = match &self.url {
            Some(url) => url.clone(),
            None => {
                let mut s = self.resource.clone();
                if !self.group.is_empty() {
                    s = format!("{s}.{}", self.group);
                }
                if !self.subresource.is_empty() {
                    s = format!("{s}/{}", self.subresource);
                }
                if let Some(n) = &self.name {
                    s = format!("{s} named {n}");
                }
                s
            }
        };
        let scope = match &self.scope {
            Scope::Namespace(ns) => format!(" in namespace {ns}"),
            Scope::Cluster => " cluster-wide".to_owned(),
            Scope::Any => " in any namespace".to_owned(),
        };
        format!("{} {what}{scope}", self.verb)
    }
}

/// [`RbacModel::can`] over grants already looked up (a subject's, from
/// [`RbacModel::grants_of`]): the first that allows `req`.
pub(crate) fn can_among(grants: &[&Grant], req: &Request) -> Option<Via> {
    grants
        .iter()
        .find(|g| req.in_scope(g) && g.rules.iter().any(|r| req.allowed_by(r)))
        .map(|g| Via::of(g))
}

/// How a subject gets a permission: a binding, the role it binds, and where it applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Via {
    pub binding: BindingRef,
    pub role: RoleKey,
    /// The namespace the grant applies in; `None` means cluster-wide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The role was not among the inputs and is Kubernetes' own (`cluster-admin`), or the
    /// subject is `system:masters`, which the API server lets do anything.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub builtin: bool,
}

impl Via {
    fn of(g: &Grant) -> Self {
        Self {
            binding: (*g.binding).clone(),
            role: (*g.role).clone(),
            namespace: g.namespace.clone(),
            builtin: g.builtin,
        }
    }

    pub fn scope_text(&self) -> String {
        self.namespace
            .as_ref()
            .map_or_else(|| "cluster-wide".to_owned(), |ns| format!("in {ns}"))
    }
}

/// A subject allowed by [`RbacModel::who_can`], with every way it is allowed.
#[derive(Clone, Debug, Serialize)]
pub struct Allowed {
    #[serde(flatten)]
    pub subject: Subject,
    pub via: Vec<Via>,
}

/// One rule a subject holds, and how.
#[derive(Clone, Debug, Serialize)]
pub struct Permission {
    pub rule: PolicyRule,
    #[serde(flatten)]
    pub via: Via,
    /// The group through which the subject holds it, when not its own binding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through: Option<Subject>,
}

fn masters_via() -> Via {
    Via {
        binding: BindingRef {
            kind: "Group",
            namespace: None,
            name: "system:masters".into(),
        },
        role: RoleKey {
            kind: crate::RoleKind::ClusterRole,
            namespace: None,
            name: "(authorization bypassed)".into(),
        },
        namespace: None,
        builtin: true,
    }
}

impl RbacModel {
    /// The subjects a binding allows to make the request, ordered by kind and name. Members
    /// of `system:masters` bypass authorization, so that group is always listed.
    pub fn who_can(&self, req: &Request) -> Vec<Allowed> {
        let mut by_subject: BTreeMap<&Subject, Vec<Via>> = BTreeMap::new();
        for g in &self.grants {
            if req.in_scope(g) && g.rules.iter().any(|r| req.allowed_by(r)) {
                by_subject.entry(&g.subject).or_default().push(Via::of(g));
            }
        }
        let masters = Subject::group("system:masters");
        let mut out: Vec<Allowed> = by_subject
            .into_iter()
            .filter(|(s, _)| **s != masters)
            .map(|(s, mut via)| {
                via.sort();
                via.dedup();
                Allowed {
                    subject: s.clone(),
                    via,
                }
            })
            .collect();
        out.push(Allowed {
            subject: masters,
            via: vec![masters_via()],
        });
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        out
    }

    /// Whether a subject (with its implicit groups) may make the request, and through what.
    pub fn can(&self, subject: &Subject, req: &Request) -> Option<Via> {
        if *subject == Subject::group("system:masters") {
            return Some(masters_via());
        }
        self.grants_of(subject)
            .find(|g| req.in_scope(g) && g.rules.iter().any(|r| req.allowed_by(r)))
            .map(Via::of)
    }

    /// Every rule a subject holds, through its own bindings and its implicit groups.
    pub fn permissions(&self, subject: &Subject) -> Vec<Permission> {
        let mut out = Vec::new();
        for g in self.grants_of(subject) {
            for rule in g.rules.iter() {
                out.push(Permission {
                    rule: rule.clone(),
                    via: Via::of(g),
                    through: (g.subject != *subject).then(|| g.subject.clone()),
                });
            }
        }
        out
    }

    /// The grants whose rules satisfy `pred`, for rules that judge roles by what they allow.
    pub fn grants_matching<'a>(
        &'a self,
        pred: &'a dyn Fn(&PolicyRule) -> bool,
    ) -> impl Iterator<Item = &'a Grant> + 'a {
        self.grants.iter().filter(move |g| g.rules.iter().any(pred))
    }

    /// Whether a subject holds cluster-admin's power: every verb on everything, cluster-wide
    /// (or is `system:masters`).
    pub fn is_cluster_admin(&self, subject: &Subject) -> Option<Via> {
        if *subject == Subject::group("system:masters") {
            return Some(masters_via());
        }
        self.grants_of(subject)
            .find(|g| g.namespace.is_none() && g.rules.iter().any(PolicyRule::is_full_wildcard))
            .map(Via::of)
    }

    /// Shared for callers that keep the rules of a role (findings name them).
    pub fn role_rules(&self, role: &RoleKey) -> Option<Arc<[PolicyRule]>> {
        self.roles.get(role).cloned()
    }
}
