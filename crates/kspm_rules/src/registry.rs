//! Every built-in rule. Adding a rule: create `<slug>.rs` and `<slug>.cases.yaml` under
//! `src/rules/<category>/`, and list it in that folder's `mod.rs` (`pub mod` and `RULES`). The
//! tests in `tests/cases.rs` fail when the lists and the files disagree.
//!
//! Custom policies are registered at run time with [`register`] and found by [`find_rule`] too.

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

/// Finds a rule by code or slug (case-insensitive): a built-in rule, or a custom policy
/// registered with [`register`].
pub fn find_rule(name: &str) -> Option<&'static Rule> {
    let hit = |r: &&'static Rule| {
        r.meta.code.eq_ignore_ascii_case(name) || r.meta.slug.eq_ignore_ascii_case(name)
    };
    rules().iter().copied().find(hit).or_else(|| {
        DYNAMIC
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .find(hit)
    })
}

/// Rules registered at run time: custom policies. Leaked once per distinct rule, so the registry
/// grows with the number of policy files loaded, not with the number of scans (registering an
/// identical rule again returns the one already there).
static DYNAMIC: std::sync::RwLock<Vec<&'static Rule>> = std::sync::RwLock::new(Vec::new());

/// Why a custom rule could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The code or slug is a built-in rule's.
    Builtin(String),
    /// Another custom rule, with different metadata, already has this code or slug.
    Taken(String),
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Builtin(n) => write!(f, "`{n}` is a built-in rule's code or slug"),
            RegisterError::Taken(n) => write!(f, "`{n}` is already used by another policy"),
        }
    }
}

fn same_meta(a: &Rule, b: &Rule) -> bool {
    let (x, y) = (&a.meta, &b.meta);
    x.code == y.code
        && x.slug == y.slug
        && x.title == y.title
        && x.severity == y.severity
        && x.category == y.category
        && x.docs == y.docs
        && x.frameworks == y.frameworks
        && x.default_enabled == y.default_enabled
        && a.check.target() == b.check.target()
}

/// The custom rules registered so far (loaded policies), in registration order.
pub fn custom_rules() -> Vec<&'static Rule> {
    DYNAMIC
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Registers a custom rule so that `find_rule`, exceptions, severity overrides and every report
/// know it like a built-in one. Codes and slugs must not collide with built-in rules; a code
/// registered again with other metadata replaces the earlier entry only when the slug is also
/// the same (a policy file edited between two scans of a long-running process).
pub fn register(rule: Rule) -> Result<&'static Rule, RegisterError> {
    let m = &rule.meta;
    for name in [m.code, m.slug] {
        if rules().iter().any(|r| {
            r.meta.code.eq_ignore_ascii_case(name) || r.meta.slug.eq_ignore_ascii_case(name)
        }) {
            return Err(RegisterError::Builtin(name.to_owned()));
        }
    }
    let mut dynamic = DYNAMIC
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(existing) = dynamic.iter().find(|r| same_meta(r, &rule)) {
        return Ok(existing);
    }
    let clash = |r: &&&'static Rule| {
        r.meta.code.eq_ignore_ascii_case(m.code)
            || r.meta.slug.eq_ignore_ascii_case(m.slug)
            || r.meta.code.eq_ignore_ascii_case(m.slug)
            || r.meta.slug.eq_ignore_ascii_case(m.code)
    };
    if let Some(other) = dynamic.iter().find(clash)
        && !(other.meta.code == m.code && other.meta.slug == m.slug)
    {
        {
            let name = if other.meta.code.eq_ignore_ascii_case(m.code) {
                m.code
            } else {
                m.slug
            };
            return Err(RegisterError::Taken(name.to_owned()));
        }
    }
    dynamic.retain(|r| r.meta.code != m.code);
    let leaked: &'static Rule = Box::leak(Box::new(rule));
    dynamic.push(leaked);
    Ok(leaked)
}
