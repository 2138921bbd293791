//! Alertmanager's v2 API (`POST /api/v2/alerts`). One alert per finding, labelled so that
//! Alertmanager's own routing, grouping and silences work on kspm's fields:
//! `alertname` (the rule slug), `severity`, `cluster`, `namespace` (when namespaced), `kind`,
//! `name`, `rule` (the code) and `path` (two findings of one rule on one object differ by it).
//! Firing alerts carry `endsAt` four keep-alive periods ahead and are re-posted every period while
//! the finding stays open, so Alertmanager never resolves them on its own timeout; a resolved
//! finding is posted once more with `endsAt` = when it resolved.

use serde_json::{Map, Value, json};

use super::SinkError;
use super::http::Client;
use crate::message::{Body, Message, Status, rule_text};
use kspm_store::FindingRecord;

pub async fn send(client: &Client, base: &str, alerts: Vec<Value>) -> Result<(), SinkError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let url = format!("{}/api/v2/alerts", base.trim_end_matches('/'));
    let body = Value::Array(alerts).to_string().into_bytes();
    client.post_ok(&url, &[], body).await.map(drop)
}

/// The labels that identify a finding's alert.
pub fn labels(cluster: &str, f: &FindingRecord) -> Map<String, Value> {
    let mut l = Map::new();
    l.insert("alertname".into(), json!(f.slug));
    l.insert("severity".into(), json!(f.severity.as_str()));
    l.insert("cluster".into(), json!(cluster));
    if let Some(ns) = &f.object.namespace {
        l.insert("namespace".into(), json!(ns));
    }
    l.insert("kind".into(), json!(f.object.kind));
    l.insert("name".into(), json!(f.object.name));
    l.insert("rule".into(), json!(f.rule));
    l.insert("path".into(), json!(f.path));
    l
}

/// One alert: firing until `ends_at`, or resolved at `ends_at`.
pub fn alert(cluster: &str, f: &FindingRecord, starts_at: i64, ends_at: i64) -> Value {
    let text = rule_text(f);
    let mut annotations = Map::new();
    annotations.insert("summary".into(), json!(text.title));
    annotations.insert("description".into(), json!(f.message));
    if let Some(fix) = text.remediation {
        annotations.insert("remediation".into(), json!(fix));
    }
    if let Some(url) = &text.docs_url {
        annotations.insert("runbook_url".into(), json!(url));
    }
    json!({
        "labels": labels(cluster, f),
        "annotations": annotations,
        "startsAt": kspm_store::time::rfc3339(starts_at),
        "endsAt": kspm_store::time::rfc3339(ends_at),
    })
}

/// The alerts a message becomes (a summary or digest is not an Alertmanager alert: Alertmanager
/// receives the open findings themselves through the keep-alive).
pub fn alerts_of(message: &Message, keepalive: i64) -> Vec<Value> {
    match &message.body {
        Body::Finding {
            status,
            finding,
            at,
            ..
        } => {
            let ends = match status {
                Status::Firing => message.sent_at + 4 * keepalive,
                Status::Resolved => *at,
            };
            let starts = finding.opened_at.min(*at);
            vec![alert(&message.cluster, finding, starts, ends.max(starts))]
        }
        Body::Test => vec![json!({
            "labels": {"alertname": "KspmAlertsTest", "cluster": message.cluster, "severity": "info"},
            "annotations": {"summary": "kspm alerts test: this sink works"},
            "startsAt": kspm_store::time::rfc3339(message.sent_at),
            "endsAt": kspm_store::time::rfc3339(message.sent_at + 300),
        })],
        Body::Digest { .. } | Body::Summary { .. } => Vec::new(),
    }
}
