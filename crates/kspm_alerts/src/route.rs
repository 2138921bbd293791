//! Which findings a route takes: severity, namespace globs, rules (code, slug or category),
//! frameworks and controls, clusters. Every list is an "any of"; the fields are "all of".

use globset::{Glob, GlobMatcher};
use kspm_model::{Node, Pos, Severity};
use kspm_store::FindingRecord;

/// A route's `match:`. Empty matches everything.
#[derive(Clone, Debug, Default)]
pub struct Match {
    pub min_severity: Option<Severity>,
    pub namespaces: Vec<Pattern>,
    pub exclude_namespaces: Vec<Pattern>,
    /// Codes, slugs or categories.
    pub rules: Vec<String>,
    pub exclude_rules: Vec<String>,
    /// Framework keys (`cis`) or `key:control` (`cis:5.2.2`).
    pub frameworks: Vec<String>,
    pub clusters: Vec<Pattern>,
}

/// A glob with the text it was written as (for equality and the route key).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    glob: GlobMatcher,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PartialEq for Match {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Match {
    pub(crate) fn parse(
        node: &Node,
        what: &str,
        problem: &mut dyn FnMut(Pos, String),
    ) -> Option<Self> {
        let allowed = [
            "min_severity",
            "namespaces",
            "exclude_namespaces",
            "rules",
            "exclude_rules",
            "frameworks",
            "clusters",
        ];
        let Some(entries) = node.as_map() else {
            problem(
                node.pos,
                format!("{what} must be a mapping, found {}", node.type_name()),
            );
            return None;
        };
        let mut m = Match::default();
        for e in entries {
            let field = format!("{what}.{}", e.key);
            let strings = |problem: &mut dyn FnMut(Pos, String)| -> Vec<(String, Pos)> {
                if let Some(s) = e.value.as_str() {
                    return vec![(s.to_owned(), e.value.pos)];
                }
                match e.value.as_seq() {
                    Some(items) => items
                        .iter()
                        .filter_map(|i| match i.as_str() {
                            Some(s) => Some((s.to_owned(), i.pos)),
                            None => {
                                problem(i.pos, format!("{field}: expected a string"));
                                None
                            }
                        })
                        .collect(),
                    None => {
                        problem(e.value.pos, format!("{field}: expected a list of strings"));
                        Vec::new()
                    }
                }
            };
            let globs = |problem: &mut dyn FnMut(Pos, String)| -> Vec<Pattern> {
                strings(problem)
                    .into_iter()
                    .filter_map(|(text, pos)| match Glob::new(&text) {
                        Ok(g) => Some(Pattern {
                            glob: g.compile_matcher(),
                            text,
                        }),
                        Err(err) => {
                            problem(pos, format!("{field}: bad glob `{text}`: {}", err.kind()));
                            None
                        }
                    })
                    .collect()
            };
            let rules = |problem: &mut dyn FnMut(Pos, String)| -> Vec<String> {
                strings(problem)
                    .into_iter()
                    .filter_map(|(text, pos)| {
                        let known = kspm_rules::find_rule(&text).is_some()
                            || kspm_rules::rules()
                                .iter()
                                .any(|r| r.meta.category.as_str().eq_ignore_ascii_case(&text));
                        if known {
                            Some(text)
                        } else {
                            problem(
                                pos,
                                format!("{field}: `{text}` is not a rule code, slug or category"),
                            );
                            None
                        }
                    })
                    .collect()
            };
            match &*e.key {
                "min_severity" => match e.value.as_str().map(str::parse::<Severity>) {
                    Some(Ok(s)) => m.min_severity = Some(s),
                    Some(Err(msg)) => problem(e.value.pos, format!("{field}: {msg}")),
                    None => problem(e.value.pos, format!("{field}: expected a severity name")),
                },
                "namespaces" => m.namespaces = globs(problem),
                "exclude_namespaces" => m.exclude_namespaces = globs(problem),
                "clusters" => m.clusters = globs(problem),
                "rules" => m.rules = rules(problem),
                "exclude_rules" => m.exclude_rules = rules(problem),
                "frameworks" => {
                    for (text, pos) in strings(problem) {
                        let key = text.split(':').next().unwrap_or("");
                        if kspm_frameworks_known(key) {
                            m.frameworks.push(text);
                        } else {
                            problem(pos, format!("{field}: `{key}` is not a framework key"));
                        }
                    }
                }
                other => problem(
                    e.key_pos,
                    format!(
                        "unknown key `{other}` in `{what}` (expected one of: {})",
                        allowed.join(", ")
                    ),
                ),
            }
        }
        Some(m)
    }

    /// Whether the finding belongs to this route.
    pub fn matches(&self, f: &FindingRecord) -> bool {
        if self.min_severity.is_some_and(|min| f.severity < min) {
            return false;
        }
        let ns = f.object.namespace.as_deref().unwrap_or("");
        if !self.namespaces.is_empty() && !self.namespaces.iter().any(|p| p.glob.is_match(ns)) {
            return false;
        }
        if self.exclude_namespaces.iter().any(|p| p.glob.is_match(ns)) {
            return false;
        }
        if !self.clusters.is_empty() && !self.clusters.iter().any(|p| p.glob.is_match(&f.cluster)) {
            return false;
        }
        let names_rule = |name: &String| {
            name.eq_ignore_ascii_case(&f.rule)
                || name.eq_ignore_ascii_case(&f.slug)
                || name.eq_ignore_ascii_case(&f.category)
        };
        if !self.rules.is_empty() && !self.rules.iter().any(names_rule) {
            return false;
        }
        if self.exclude_rules.iter().any(names_rule) {
            return false;
        }
        if !self.frameworks.is_empty() {
            let Some(rule) = kspm_rules::find_rule(&f.rule) else {
                return false;
            };
            let hit = self.frameworks.iter().any(|want| {
                let (key, control) = match want.split_once(':') {
                    Some((k, c)) => (k, Some(c)),
                    None => (want.as_str(), None),
                };
                rule.meta.frameworks.iter().any(|c| {
                    c.framework.key().eq_ignore_ascii_case(key)
                        && control.is_none_or(|want| want == c.id)
                })
            });
            if !hit {
                return false;
            }
        }
        true
    }
}

fn kspm_frameworks_known(key: &str) -> bool {
    kspm_rules::rules()
        .iter()
        .flat_map(|r| r.meta.frameworks.iter())
        .any(|c| c.framework.key().eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::Match;
    use kspm_model::yaml::{Limits, parse_stream};
    use kspm_model::{Pos, Severity};
    use kspm_store::{FindingRecord, ObjectRef, Status};

    fn parse(text: &str) -> (Option<Match>, Vec<(Pos, String)>) {
        let (docs, _) = parse_stream(text, &Limits::default());
        let mut problems = Vec::new();
        let m = Match::parse(&docs[0].root, "match", &mut |pos, msg| {
            problems.push((pos, msg));
        });
        (m, problems)
    }

    fn record(rule: &str, severity: Severity, ns: Option<&str>) -> FindingRecord {
        let meta = &kspm_rules::find_rule(rule).unwrap().meta;
        FindingRecord {
            id: 1,
            cluster: "prod-eu".into(),
            rule: rule.into(),
            path: "p".into(),
            slug: meta.slug.into(),
            severity,
            category: meta.category.as_str().into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: ns.map(str::to_owned),
                name: "api".into(),
                uid: None,
            },
            location: "cluster".into(),
            message: "m".into(),
            value: None,
            status: Status::Open,
            suppressed: None,
            first_seen: 0,
            last_seen: 0,
            opened_at: 0,
            resolved_at: None,
            resolved_reason: None,
            reopen_count: 0,
            fix: None,
            risk: 0,
        }
    }

    #[test]
    fn every_field_narrows_the_match() {
        let privileged = record("PS004", Severity::Critical, Some("prod-eu"));
        let probe = record("WL005", Severity::Low, Some("prod-eu"));
        let cases: &[(&str, bool, bool)] = &[
            ("{}", true, true),
            ("{min_severity: high}", true, false),
            ("{namespaces: [\"prod-*\"]}", true, true),
            ("{namespaces: [\"dev-*\"]}", false, false),
            ("{exclude_namespaces: [prod-eu]}", false, false),
            ("{rules: [privileged-container]}", true, false),
            ("{rules: [workload]}", false, true),
            ("{exclude_rules: [PS004]}", false, true),
            ("{frameworks: [cis]}", true, false),
            ("{frameworks: [\"cis:5.2.2\"]}", true, false),
            ("{frameworks: [\"cis:5.2.3\"]}", false, false),
            ("{clusters: [\"prod-*\"]}", true, true),
            ("{clusters: [staging]}", false, false),
        ];
        for (text, a, b) in cases {
            let (m, problems) = parse(text);
            assert!(problems.is_empty(), "{text}: {problems:?}");
            let m = m.unwrap();
            assert_eq!(m.matches(&privileged), *a, "{text} on PS004");
            assert_eq!(m.matches(&probe), *b, "{text} on WL005");
        }
        let cluster_scoped = record("PS004", Severity::Critical, None);
        assert!(
            !parse("{namespaces: [\"prod-*\"]}")
                .0
                .unwrap()
                .matches(&cluster_scoped)
        );
    }

    #[test]
    fn unknown_rules_and_frameworks_are_named() {
        let (_, problems) = parse("{rules: [no-such-rule], frameworks: [cjs], min_severity: huge}");
        let text: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("`no-such-rule` is not a rule code, slug or category"));
        assert!(text[1].contains("`cjs` is not a framework key"));
        assert!(text[2].starts_with("match.min_severity:"));
    }
}
