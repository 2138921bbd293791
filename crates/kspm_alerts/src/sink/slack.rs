//! Slack incoming webhooks: a readable message (severity, object, evidence, fix) as `text` plus
//! blocks. Slack allows about one message per second per webhook; the dispatcher spaces
//! messages to a Slack sink by that, and honours `Retry-After` on 429.

use serde_json::{Value, json};

use super::SinkError;
use super::http::Client;
use crate::message::{Body, Message, Status, rule_text};

pub async fn send(client: &Client, url: &str, message: &Message) -> Result<(), SinkError> {
    let body = payload(message).to_string().into_bytes();
    client.post_ok(url, &[], body).await.map(drop)
}

/// The JSON posted to Slack.
pub fn payload(message: &Message) -> Value {
    let mut lines = vec![format!("*{}*", escape(&message.headline()))];
    match &message.body {
        Body::Finding {
            status, finding, ..
        } => {
            let text = rule_text(finding);
            lines.push(format!(
                "*Rule:* {} `{}` {}",
                finding.rule,
                finding.slug,
                escape(&text.title)
            ));
            lines.push(format!(
                "*Object:* `{}`  *Field:* `{}`",
                finding.object, finding.path
            ));
            if let Some(v) = &finding.value {
                lines.push(format!("*Value:* `{}`", escape(v)));
            }
            if let (Status::Firing, Some(fix)) = (status, &text.remediation) {
                lines.push(format!("*Fix:* {}", escape(fix)));
            }
            if let Some(url) = &text.docs_url {
                lines.push(format!("<{url}|Rule documentation>"));
            }
        }
        Body::Digest {
            events,
            total,
            flapped,
            ..
        } => {
            for (kind, f) in events.iter().take(20) {
                lines.push(format!(
                    "• {} {} {} on `{}`",
                    f.severity.as_str(),
                    f.rule,
                    kind.as_str(),
                    f.object
                ));
            }
            if *total > 20 {
                lines.push(format!("… and {} more", total - 20));
            }
            for (f, n) in flapped.iter().take(10) {
                lines.push(format!("• flapped {n}×: {} on `{}`", f.rule, f.object));
            }
        }
        Body::Summary {
            open, by_severity, ..
        } => {
            lines.push(format!(
                "critical {}, high {}, medium {}, low {}, info {}",
                by_severity[0], by_severity[1], by_severity[2], by_severity[3], by_severity[4]
            ));
            for f in open.iter().take(10) {
                lines.push(format!(
                    "• {} {} on `{}`: {}",
                    f.severity.as_str(),
                    f.rule,
                    f.object,
                    escape(&f.message)
                ));
            }
        }
        Body::Test => {}
    }
    let text = lines.join("\n");
    json!({
        "text": message.headline(),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}

/// Slack's three control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
