//! What is sent: one message (a finding that opened or resolved, a digest, a start-up summary,
//! a test), and its one JSON form, `kspm.io/alert/v1`, which the webhook posts and the log sink
//! prints. Slack and Alertmanager render the same message their own way.

use kspm_model::Severity;
use kspm_store::{EventKind, FindingRecord};
use serde_json::{Value, json};

/// The schema name of the JSON payload. A change that removes or renames a field is a new
/// version; fields may be added within one.
pub const SCHEMA: &str = "kspm.io/alert/v1";

/// Findings listed in one digest or summary; the rest are counted.
pub const MAX_LISTED: usize = 50;

/// Where the rule pages live (the docs/rules/ folder of the repository).
pub const DOCS_BASE: &str = "https://example.invalid/kspm/blob/main/docs/rules";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Body {
    /// A finding's transition.
    Finding {
        status: Status,
        event_id: i64,
        event: EventKind,
        at: i64,
        finding: Box<FindingRecord>,
    },
    /// Everything a digest route collected over one period.
    Digest {
        from: i64,
        to: i64,
        /// (event kind, finding), oldest first, at most [`MAX_LISTED`].
        events: Vec<(EventKind, FindingRecord)>,
        total: usize,
        /// Findings whose reopenings were held back as flapping, with how many times.
        flapped: Vec<(FindingRecord, u32)>,
    },
    /// The findings already open when a route first ran.
    Summary {
        open: Vec<FindingRecord>,
        total: usize,
        by_severity: [usize; 5],
    },
    /// `kspm alerts test`.
    Test,
}

/// One message to one sink.
#[derive(Clone, Debug)]
pub struct Message {
    /// Stable across retries and restarts: the receiver's deduplication key.
    pub key: String,
    pub cluster: String,
    pub route: String,
    /// When it was made (seconds since the epoch).
    pub sent_at: i64,
    pub body: Body,
}

/// `sha256(parts joined by NUL)` as 32 hex digits.
pub fn key(parts: &[&str]) -> String {
    let joined = parts.join("\0");
    let digest = ring::digest::digest(&ring::digest::SHA256, joined.as_bytes());
    crate::hex(&digest.as_ref()[..16])
}

/// The rule's title, remediation (the `## Remediation` section of its page) and page link.
pub struct RuleText {
    pub title: String,
    pub remediation: Option<String>,
    pub docs_url: Option<String>,
}

pub fn rule_text(f: &FindingRecord) -> RuleText {
    match kspm_rules::find_rule(&f.rule) {
        Some(rule) => RuleText {
            title: rule.meta.title.to_owned(),
            remediation: section(rule.meta.docs, "Remediation"),
            docs_url: Some(format!("{DOCS_BASE}/{}.md", rule.meta.slug)),
        },
        None => RuleText {
            title: f.slug.clone(),
            remediation: None,
            docs_url: None,
        },
    }
}

/// The text of a `## name` section of a rule page, up to the next heading. Doc comments keep
/// the space after `///`, so lines are compared and returned without leading spaces.
fn section(docs: &str, name: &str) -> Option<String> {
    let heading = format!("## {name}");
    let mut lines = docs.lines().skip_while(|l| l.trim() != heading).skip(1);
    let body: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.trim_start().starts_with("## "))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let text = body.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// A finding as the payload shows it.
pub fn finding_json(f: &FindingRecord) -> Value {
    let text = rule_text(f);
    json!({
        "id": f.id,
        "rule": f.rule,
        "slug": f.slug,
        "title": text.title,
        "severity": f.severity.as_str(),
        "category": f.category,
        "object": {
            "apiVersion": f.object.api_version,
            "kind": f.object.kind,
            "namespace": f.object.namespace,
            "name": f.object.name,
            "uid": f.object.uid,
        },
        "path": f.path,
        "value": f.value,
        "location": f.location,
        "message": f.message,
        "remediation": text.remediation,
        "docs_url": text.docs_url,
        "status": f.status.as_str(),
        "first_seen": kspm_store::time::rfc3339(f.first_seen),
        "opened_at": kspm_store::time::rfc3339(f.opened_at),
        "resolved_at": f.resolved_at.map(kspm_store::time::rfc3339),
        "reopen_count": f.reopen_count,
    })
}

fn counts(by: &[usize; 5]) -> Value {
    let mut map = serde_json::Map::new();
    for (s, n) in Severity::ALL.iter().zip(by) {
        map.insert(s.as_str().to_owned(), json!(n));
    }
    Value::Object(map)
}

/// Counts by severity, in `Severity::ALL` order.
pub fn by_severity<'a>(findings: impl Iterator<Item = &'a FindingRecord>) -> [usize; 5] {
    let mut out = [0; 5];
    for f in findings {
        if let Some(i) = Severity::ALL.iter().position(|s| *s == f.severity) {
            out[i] += 1;
        }
    }
    out
}

impl Message {
    /// The `kspm.io/alert/v1` document (docs/alerts.md describes every field).
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "schema": SCHEMA,
            "idempotency_key": self.key,
            "cluster": self.cluster,
            "route": self.route,
            "sent_at": kspm_store::time::rfc3339(self.sent_at),
        });
        let extra = match &self.body {
            Body::Finding {
                status,
                event_id,
                event,
                at,
                finding,
            } => json!({
                "type": "finding",
                "status": status.as_str(),
                "event": {"id": event_id, "kind": event.as_str(), "at": kspm_store::time::rfc3339(*at)},
                "finding": finding_json(finding),
            }),
            Body::Digest {
                from,
                to,
                events,
                total,
                flapped,
            } => json!({
                "type": "digest",
                "period": {"from": kspm_store::time::rfc3339(*from), "to": kspm_store::time::rfc3339(*to)},
                "total": total,
                "counts": counts(&by_severity(events.iter().map(|(_, f)| f))),
                "events": events.iter().map(|(k, f)| json!({"kind": k.as_str(), "finding": finding_json(f)})).collect::<Vec<_>>(),
                "omitted": total.saturating_sub(events.len()),
                "flapped": flapped.iter().map(|(f, n)| json!({"times": n, "finding": finding_json(f)})).collect::<Vec<_>>(),
            }),
            Body::Summary {
                open,
                total,
                by_severity,
            } => json!({
                "type": "summary",
                "total": total,
                "counts": counts(by_severity),
                "findings": open.iter().map(finding_json).collect::<Vec<_>>(),
                "omitted": total.saturating_sub(open.len()),
            }),
            Body::Test => json!({"type": "test", "message": "kspm alerts test: this sink works"}),
        };
        if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
            d.extend(e);
        }
        doc
    }

    /// One line for people (Slack's text, log messages).
    pub fn headline(&self) -> String {
        match &self.body {
            Body::Finding {
                status, finding, ..
            } => {
                let verb = match status {
                    Status::Firing => "open",
                    Status::Resolved => "resolved",
                };
                format!(
                    "[{}] {} {} on {} in cluster {}: {}",
                    finding.severity.as_str().to_uppercase(),
                    finding.rule,
                    verb,
                    finding.object,
                    self.cluster,
                    finding.message
                )
            }
            Body::Digest { total, flapped, .. } => format!(
                "kspm digest for cluster {}: {total} changes, {} flapping findings",
                self.cluster,
                flapped.len()
            ),
            Body::Summary { total, .. } => format!(
                "kspm started alerting on cluster {}: {total} findings already open",
                self.cluster
            ),
            Body::Test => format!("kspm alerts test (cluster {})", self.cluster),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_remediation_section_stops_at_the_next_heading() {
        let docs = " ## What it does\n Flags.\n ## Remediation\n Add a probe.\n   indented\n\n ## Example\n ```yaml\n";
        assert_eq!(
            super::section(docs, "Remediation").as_deref(),
            Some("Add a probe.\n  indented")
        );
        let real = super::rule_text(&kspm_store_record("WL005"));
        let fix = real.remediation.unwrap();
        assert!(fix.starts_with("Add a `livenessProbe`"), "{fix}");
        assert!(!fix.contains("## "), "{fix}");
    }

    fn kspm_store_record(rule: &str) -> kspm_store::FindingRecord {
        kspm_store::FindingRecord {
            id: 1,
            cluster: "c".into(),
            rule: rule.into(),
            path: "p".into(),
            slug: "s".into(),
            severity: kspm_model::Severity::Low,
            category: "workload".into(),
            object: kspm_store::ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: None,
                name: "n".into(),
                uid: None,
            },
            location: "cluster".into(),
            message: "m".into(),
            value: None,
            status: kspm_store::Status::Open,
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
}
