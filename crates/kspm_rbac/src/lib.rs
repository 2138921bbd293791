//! Who may do what in a cluster, from its RBAC objects.
//!
//! [`RbacModel`] reads Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (from files or a
//! live cluster: it only sees [`kspm_model::Resource`]s), resolves aggregated ClusterRoles, and
//! answers the questions users ask: who can do this ([`RbacModel::who_can`]), what can this
//! subject do ([`RbacModel::permissions`]), and which subjects can become more powerful than
//! their own rules say ([`escalation::paths`]). Matching follows the Kubernetes RBAC authorizer
//! (`rbac/v1` `RuleAllows`): wildcards, `resourceNames`, `*/subresource`, non-resource URLs with a
//! trailing `*`, RoleBindings scoped to their namespace. Nothing here does I/O.

mod danger;
pub mod escalation;
mod model;
mod query;
pub mod workload;

pub use danger::dangerous_service_accounts;

/// Why a subject or a request as typed cannot be used; each message quotes the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `system:serviceaccount:` not followed by `NAMESPACE:NAME`.
    #[error("`{0}`: expected system:serviceaccount:NAMESPACE:NAME")]
    ServiceAccountUser(String),
    /// No `KIND:` prefix.
    #[error(
        "`{0}`: name a subject as user:NAME, group:NAME, serviceaccount:NAMESPACE/NAME or system:serviceaccount:NAMESPACE:NAME"
    )]
    Subject(String),
    /// Nothing after `KIND:`.
    #[error("`{0}`: the name is empty")]
    EmptyName(String),
    /// `serviceaccount:` not followed by `NAMESPACE/NAME`.
    #[error("`{0}`: a service account is serviceaccount:NAMESPACE/NAME")]
    ServiceAccount(String),
    /// A kind other than user, group and serviceaccount.
    #[error("`{text}`: unknown subject kind `{kind}` (user, group, serviceaccount)")]
    SubjectKind { text: String, kind: String },
    /// An empty verb or one with spaces.
    #[error("`{0}` is not a verb (get, list, create, ...)")]
    Verb(String),
    /// No resource name before `.GROUP` or `/SUBRESOURCE`.
    #[error("`{0}`: expected RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods/exec")]
    Resource(String),
}
pub use model::{
    Binding, BindingRef, Grant, PolicyRule, Problem, RbacModel, RoleKey, RoleKind, Subject,
    SubjectKind,
};
pub use query::{Allowed, Permission, Request, Scope, Via, is_cluster_scoped, resource_group};
pub use workload::Workload;
