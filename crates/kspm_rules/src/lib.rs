//! The built-in rule library.
//!
//! A rule is one file under `src/rules/<category>/<slug>.rs`: a `declare_rule!` block whose doc
//! comment is the rule's documentation page, and a check function. Its test cases sit beside it
//! in `<slug>.cases.yaml`. The registry in `registry.rs` lists every rule explicitly; tests check
//! that it matches the files on disk and that every rule's metadata is complete.
//!
//! Rules are infallible and do no I/O. They see one resource at a time (through a target view:
//! the whole object, each pod spec, or each container) plus an index of the other resources.

pub mod component;
pub mod fold;
pub mod registry;
mod rule;
pub mod rules;
mod run;

pub use component::{Component, ComponentView};
pub use fold::{fold, fold_in_place};
pub use registry::{RegisterError, custom_rules, find_rule, register, rules};
pub use rule::{
    Category, Check, KubeVersion, NotAVersion, Reporter, Rule, RuleMeta, Settings, finding,
};
pub use run::{Outcome, RuleSet, check_after_workloads, check_resource, check_resource_into};

/// What a rule file imports.
#[allow(unused_imports)]
pub(crate) mod prelude {
    pub use crate::component::{Component, ComponentView};
    pub use crate::declare_rule;
    pub use crate::rule::{Category, Check, Reporter, Rule, RuleMeta};
    pub use kspm_frameworks::{
        Control, cis, gdpr, hipaa, iso27001, mitre, nist, nsa, pci, pss, soc2,
    };
    pub use kspm_model::{Container, FieldPath, Fix, Node, PodSpec, Resource, Severity, Value};
    pub use serde_json::json;
}
