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
pub use model::{
    Binding, BindingRef, Grant, PolicyRule, Problem, RbacModel, RoleKey, RoleKind, Subject,
    SubjectKind,
};
pub use query::{Allowed, Permission, Request, Scope, Via, is_cluster_scoped, resource_group};
pub use workload::Workload;
