//! What a policy says about itself (id, title, severity, category, frameworks, remediation), and
//! how that becomes a rule the rest of kspm knows.
//!
//! Built-in rules are `&'static Rule` constants; a policy is loaded at run time, so its rule is
//! built here and registered with [`kspm_rules::register`], which leaks it once. Strings are
//! interned, so loading the same policy files again (a long-running process rescanning) does not
//! grow memory: the registry hands back the rule already there.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use kspm_frameworks::{Control, Framework};
use kspm_model::{Node, Pos, Severity};
use kspm_rules::{Category, Check, Rule, RuleMeta};

use crate::Problems;

/// The metadata every policy carries, whatever its language.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The stable code (`custom.id`, a VAP's `kspm.io/id` annotation...).
    pub code: String,
    /// Kebab-case name.
    pub slug: String,
    pub title: String,
    pub description: String,
    pub remediation: String,
    pub severity: Option<Severity>,
    pub category: Option<Category>,
    pub frameworks: Vec<&'static Control>,
    /// Kinds the policy judges; empty means every kind.
    pub kinds: Vec<String>,
}

/// Interns a string for the life of the process.
pub(crate) fn intern(s: &str) -> &'static str {
    static STRINGS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = STRINGS.lock().unwrap_or_else(PoisonError::into_inner);
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(s) = set.get(s) {
        return s;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

fn intern_list<T: Copy + PartialEq + Send + Sync + 'static>(items: &[T]) -> &'static [T] {
    // Lists are few and short (frameworks, kinds): a linear interner is enough.
    static LISTS: Mutex<Vec<&'static (dyn std::any::Any + Send + Sync)>> = Mutex::new(Vec::new());
    let mut lists = LISTS.lock().unwrap_or_else(PoisonError::into_inner);
    for l in lists.iter() {
        if let Some(existing) = l.downcast_ref::<&'static [T]>()
            && *existing == items
        {
            return existing;
        }
    }
    let leaked: &'static [T] = Box::leak(items.to_vec().into_boxed_slice());
    let boxed: &'static (dyn std::any::Any + Send + Sync) = Box::leak(Box::new(leaked));
    lists.push(boxed);
    leaked
}

/// `Some Title: with words` → `some-title-with-words`.
pub fn kebab(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// Reads the metadata keys shared by Rego `custom:` blocks, sidecar files and CEL policy specs.
/// `node` is a mapping; unknown keys are reported so that a typo does not silently drop a
/// severity.
pub(crate) fn read_fields(node: &Node, meta: &mut Meta, p: &mut Problems, allowed_extra: &[&str]) {
    let Some(entries) = node.as_map() else {
        p.error(
            node.pos,
            format!("metadata must be a mapping, found {}", node.type_name()),
        );
        return;
    };
    for e in entries {
        let v = &e.value;
        match &*e.key {
            "id" => {
                if let Some(s) = p.string(v, "id") {
                    meta.code = s;
                }
            }
            "slug" => {
                if let Some(s) = p.string(v, "slug") {
                    meta.slug = kebab(&s);
                }
            }
            "title" => {
                if let Some(s) = p.string(v, "title") {
                    meta.title = s;
                }
            }
            "description" => {
                if let Some(s) = p.string(v, "description") {
                    meta.description = s;
                }
            }
            "remediation" => {
                if let Some(s) = p.string(v, "remediation") {
                    meta.remediation = s;
                }
            }
            "severity" => match p.string(v, "severity").map(|s| s.parse::<Severity>()) {
                Some(Ok(s)) => meta.severity = Some(s),
                Some(Err(msg)) => p.error(v.pos, format!("severity: {msg}")),
                None => {}
            },
            "category" => {
                if let Some(s) = p.string(v, "category") {
                    match Category::parse(&s) {
                        Some(c) => meta.category = Some(c),
                        None => p.error(
                            v.pos,
                            format!(
                                "category `{s}` is not one of: {}",
                                Category::ALL.map(Category::as_str).join(", ")
                            ),
                        ),
                    }
                }
            }
            "frameworks" => read_frameworks(v, meta, p),
            "kinds" => meta.kinds = p.strings(v, "kinds"),
            key if allowed_extra.contains(&key) => {}
            key => p.warning(
                e.key_pos,
                format!(
                    "unknown metadata key `{key}` (known: id, slug, title, description, remediation, severity, category, frameworks, kinds{}{})",
                    if allowed_extra.is_empty() { "" } else { ", " },
                    allowed_extra.join(", ")
                ),
            ),
        }
    }
}

/// `frameworks: {cis: ["5.2.2"], nsa: [...]}` or `frameworks: ["cis:5.2.2", ...]`.
fn read_frameworks(node: &Node, meta: &mut Meta, p: &mut Problems) {
    let mut pairs: Vec<(String, String, Pos)> = Vec::new();
    if let Some(entries) = node.as_map() {
        for e in entries {
            for id in p.strings(&e.value, "frameworks") {
                pairs.push((e.key.to_string(), id, e.value.pos));
            }
        }
    } else if let Some(items) = node.as_seq() {
        for item in items {
            match item.as_str().and_then(|s| s.split_once(':')) {
                Some((fw, id)) => {
                    pairs.push((fw.trim().to_owned(), id.trim().to_owned(), item.pos));
                }
                None => p.error(
                    item.pos,
                    "frameworks: expected `framework:control`, e.g. `cis:5.2.2`",
                ),
            }
        }
    } else {
        p.error(
            node.pos,
            "frameworks: expected a mapping of framework to control ids",
        );
        return;
    }
    for (fw, id, pos) in pairs {
        let Some(framework) = Framework::ALL
            .into_iter()
            .find(|f| f.key().eq_ignore_ascii_case(&fw))
        else {
            p.warning(
                pos,
                format!("unknown framework `{fw}` (known: cis, pss, nsa, mitre); mapping ignored"),
            );
            continue;
        };
        match framework
            .controls()
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(&id))
        {
            Some(c) => meta.frameworks.push(c),
            None => p.warning(
                pos,
                format!("{fw} has no control `{id}` in kspm's catalogue; mapping ignored"),
            ),
        }
    }
}

/// The rule a policy reports as. `language` and `file` go into its documentation page.
pub(crate) fn to_rule(meta: &Meta, language: &str, file: &str) -> Rule {
    let code = if meta.code.is_empty() {
        &meta.slug
    } else {
        &meta.code
    };
    let slug = if meta.slug.is_empty() {
        kebab(code)
    } else {
        meta.slug.clone()
    };
    let title = if meta.title.is_empty() {
        slug.clone()
    } else {
        meta.title.clone()
    };
    let what = if meta.description.is_empty() {
        &title
    } else {
        &meta.description
    };
    let mut docs = format!(" ## What it does\n {what}\n");
    if !meta.remediation.is_empty() {
        docs.push_str(&format!(" ## Remediation\n {}\n", meta.remediation));
    }
    docs.push_str(&format!(
        " ## Source\n A custom {language} policy loaded from `{file}`.\n"
    ));
    let kinds: Vec<&'static str> = meta.kinds.iter().map(|k| intern(k)).collect();
    Rule {
        meta: RuleMeta {
            code: intern(code),
            slug: intern(&slug),
            title: intern(&title),
            severity: meta.severity.unwrap_or(Severity::Medium),
            category: meta.category.unwrap_or(Category::Custom),
            docs: intern(&docs),
            frameworks: intern_list(&meta.frameworks),
            equivalents: &[],
            has_fix: false,
            default_enabled: true,
        },
        check: Check::Policy {
            kinds: intern_list(&kinds),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case() {
        assert_eq!(
            kebab("Containers must not run Privileged!"),
            "containers-must-not-run-privileged"
        );
        assert_eq!(kebab("k8s_required_labels"), "k8s-required-labels");
    }

    #[test]
    fn interning_reuses_memory() {
        let a = intern("some-policy-title");
        let b = intern(&String::from("some-policy-title"));
        assert!(std::ptr::eq(a, b));
        let x = intern_list(&["A", "B"]);
        let y = intern_list(&["A", "B"]);
        assert!(std::ptr::eq(x, y));
    }
}
