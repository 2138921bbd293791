//! One exception mechanism: configured exceptions (rule, resource match, reason, owner, expiry)
//! and inline `kspm.io/ignore` annotations, which a platform team can switch off so workload
//! owners cannot waive their own findings.

use std::fmt;

use globset::{Glob, GlobMatcher};
use kspm_model::{Diagnostic, Finding, Pos, Resource, Suppression};

/// The annotation that waives rules on one object: a comma-separated list of codes or slugs.
pub const IGNORE_ANNOTATION: &str = "kspm.io/ignore";
pub const IGNORE_REASON_ANNOTATION: &str = "kspm.io/ignore-reason";

/// A calendar date (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::from_days((secs / 86_400) as i64)
    }

    /// Days since 1970-01-01 of this civil date (Howard Hinnant's algorithm, the inverse of
    /// [`Date::from_days`]).
    pub fn to_days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An exception from the configuration file.
#[derive(Clone, Debug)]
pub struct Exception {
    pub rules: Vec<String>,
    pub kind: Option<GlobMatcher>,
    pub namespace: Option<GlobMatcher>,
    pub name: Option<GlobMatcher>,
    pub reason: String,
    pub owner: Option<String>,
    pub expires: Option<Date>,
    pub pos: Pos,
}

/// An exception's `kind`, `namespace` or `name` that is not a glob pattern.
#[derive(Debug, thiserror::Error)]
#[error("exception {field}: bad pattern `{pattern}`: {source}")]
pub struct BadPattern {
    pub field: &'static str,
    pub pattern: String,
    pub source: globset::Error,
}

impl Exception {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rules: Vec<String>,
        kind: Option<String>,
        namespace: Option<String>,
        name: Option<String>,
        reason: String,
        owner: Option<String>,
        expires: Option<Date>,
        pos: Pos,
    ) -> Result<Self, BadPattern> {
        let glob = |field: &'static str,
                    pattern: Option<String>|
         -> Result<Option<GlobMatcher>, BadPattern> {
            pattern
                .map(|p| match Glob::new(&p) {
                    Ok(g) => Ok(g.compile_matcher()),
                    Err(source) => Err(BadPattern {
                        field,
                        pattern: p,
                        source,
                    }),
                })
                .transpose()
        };
        Ok(Self {
            rules,
            kind: glob("kind", kind)?,
            namespace: glob("namespace", namespace)?,
            name: glob("name", name)?,
            reason,
            owner,
            expires,
            pos,
        })
    }

    fn names_rule(&self, finding: &Finding) -> bool {
        self.rules.iter().any(|r| {
            r == "*" || r.eq_ignore_ascii_case(finding.code) || r.eq_ignore_ascii_case(finding.slug)
        })
    }

    fn matches(&self, finding: &Finding) -> bool {
        let m = |g: &Option<GlobMatcher>, v: &str| g.as_ref().is_none_or(|g| g.is_match(v));
        self.names_rule(finding)
            && m(&self.kind, &finding.resource.kind)
            && m(
                &self.namespace,
                finding.resource.namespace.as_deref().unwrap_or(""),
            )
            && m(&self.name, &finding.resource.name)
    }

    fn describe(&self) -> String {
        let mut s = format!("exception for {}", self.rules.join(", "));
        if let Some(owner) = &self.owner {
            s.push_str(&format!(" (owner {owner})"));
        }
        s
    }
}

/// Checks that every rule an exception names exists; a typo would otherwise waive nothing.
pub fn validate_rule_names(exceptions: &[Exception], file: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for e in exceptions {
        for r in &e.rules {
            if r != "*" && kspm_rules::find_rule(r).is_none() {
                out.push(
                    Diagnostic::error(file, format!("exception names unknown rule `{r}`"))
                        .at(e.pos)
                        .warning(),
                );
            }
        }
    }
    out
}

/// Looks up the inline exception annotations (`kspm.io/ignore` list, reason) of a finding's object.
pub type AnnotationLookup<'a> = dyn Fn(&Finding) -> Option<(String, Option<String>)> + 'a;

/// Marks suppressed findings; returns diagnostics for expired exceptions (which no longer
/// suppress anything).
pub fn apply(
    findings: &mut [Finding],
    exceptions: &[Exception],
    config_file: &str,
    today: Date,
    resource_annotations: &AnnotationLookup<'_>,
    inline: bool,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for e in exceptions {
        if let Some(expired) = e.expires.filter(|d| *d < today) {
            let hits = findings.iter().filter(|f| e.matches(f)).count();
            diags.push(
                Diagnostic::error(
                    config_file,
                    format!(
                        "{} expired on {expired}; it no longer suppresses anything ({hits} finding(s) it matched are reported again)",
                        e.describe()
                    ),
                )
                .at(e.pos)
                .warning(),
            );
        }
    }
    for f in findings.iter_mut() {
        if let Some(e) = exceptions
            .iter()
            .find(|e| e.expires.is_none_or(|d| d >= today) && e.matches(f))
        {
            let mut by = format!("{config_file}:{}", e.pos.line);
            if let Some(owner) = &e.owner {
                by.push_str(&format!(" (owner {owner})"));
            }
            f.suppressed = Some(Box::new(Suppression {
                by,
                reason: e.reason.clone(),
                // An exception holds through its `expires` day (UTC).
                until: e.expires.map(|d| (d.to_days() + 1) * 86_400),
            }));
            continue;
        }
        if inline && let Some((list, reason)) = resource_annotations(f) {
            let waived = list.split(',').map(str::trim).any(|r| {
                r == "*" || r.eq_ignore_ascii_case(f.code) || r.eq_ignore_ascii_case(f.slug)
            });
            if waived {
                f.suppressed = Some(Box::new(Suppression {
                    by: format!("annotation {IGNORE_ANNOTATION}"),
                    reason: reason.unwrap_or_else(|| "no reason given".to_owned()),
                    until: None,
                }));
            }
        }
    }
    diags
}

/// The inline exception annotations of a resource.
pub fn inline_annotations(resource: &Resource) -> Option<(String, Option<String>)> {
    let list = resource.annotation(IGNORE_ANNOTATION)?;
    Some((
        list.to_owned(),
        resource
            .annotation(IGNORE_REASON_ANNOTATION)
            .map(str::to_owned),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_454).to_string(), "2026-01-01");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("2026-02-03").unwrap() < Date::parse("2026-10-01").unwrap());
    }

    #[test]
    fn days_round_trip() {
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_454, 2_932_896] {
            assert_eq!(Date::from_days(days).to_days(), days, "{days}");
        }
        assert_eq!(Date::parse("2026-01-01").unwrap().to_days(), 20_454);
    }
}
