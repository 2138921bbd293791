//! Every built-in rule. Adding a rule: create `<slug>.rs` and `<slug>.cases.yaml` under
//! `src/rules/<category>/`, and list it in that folder's `mod.rs` (`pub mod` and `RULES`). The
//! tests in `tests/cases.rs` fail when the lists and the files disagree.

use std::sync::LazyLock;

use crate::rule::Rule;
use crate::rules::{
    control_plane, deprecation, network, node, pod_security, rbac, secrets, workload,
};

static ALL: LazyLock<Vec<&'static Rule>> = LazyLock::new(|| {
    let mut all: Vec<&'static Rule> = [
        pod_security::RULES,
        workload::RULES,
        network::RULES,
        secrets::RULES,
        rbac::RULES,
        deprecation::RULES,
        control_plane::RULES,
        node::RULES,
    ]
    .concat();
    all.sort_by_key(|r| r.meta.code);
    all
});

/// Every built-in rule, ordered by code.
pub fn rules() -> &'static [&'static Rule] {
    &ALL
}

/// Finds a rule by code or slug (case-insensitive).
pub fn find_rule(name: &str) -> Option<&'static Rule> {
    rules()
        .iter()
        .copied()
        .find(|r| r.meta.code.eq_ignore_ascii_case(name) || r.meta.slug.eq_ignore_ascii_case(name))
}
