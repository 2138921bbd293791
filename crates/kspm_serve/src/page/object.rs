//! One object of one cluster: every finding it has or had, with its evidence, the fix, the
//! command that applies it, and its history.

use std::collections::BTreeMap;

use kspm_store::time::rfc3339;
use kspm_store::{FindingEvent, FindingQuery, FindingRecord, ObjectRef, Store};
use serde_json::{Value as Json, json};

use super::{PageError, Params, layout, severity_badge};
use crate::html::{Href, Html};

pub struct ObjectView {
    pub now: i64,
    pub cluster: String,
    pub key: String,
    pub object: ObjectRef,
    pub findings: Vec<FindingRecord>,
    /// Events by finding id, oldest first.
    pub events: BTreeMap<i64, Vec<FindingEvent>>,
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<ObjectView, PageError> {
    let need = |k: &str| {
        params
            .get(k)
            .map(str::to_owned)
            .ok_or_else(|| PageError::BadRequest(format!("parameter `{k}` is required")))
    };
    let (cluster, key) = (need("cluster")?, need("key")?);
    let page = store
        .finding_page(
            &FindingQuery {
                cluster: Some(cluster.clone()),
                object_key: Some(key.clone()),
                limit: 1_000,
                ..FindingQuery::default()
            },
            now,
        )
        .await?;
    let object = page
        .findings
        .first()
        .map(|f| f.object.clone())
        .ok_or_else(|| PageError::NotFound(format!("no object `{key}` in cluster `{cluster}`")))?;
    let mut events: BTreeMap<i64, Vec<FindingEvent>> = BTreeMap::new();
    for e in store.object_events(&cluster, &key).await? {
        events.entry(e.finding_id).or_default().push(e);
    }
    Ok(ObjectView {
        now,
        cluster,
        key,
        object,
        findings: page.findings,
        events,
    })
}

/// Quotes a value for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command that applies this finding's fix: `kspm fix` on the file it came from, or
/// `kspm remediate` on the live cluster.
pub fn fix_command(f: &FindingRecord) -> String {
    let file = f
        .location
        .rsplit_once(':')
        .filter(|(_, line)| line.chars().all(|c| c.is_ascii_digit()) && !line.is_empty())
        .map_or(f.location.as_str(), |(file, _)| file);
    let from_file = [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| file.ends_with(ext));
    if from_file {
        format!(
            "kspm fix {} --select {}",
            shell_quote(file),
            shell_quote(&f.rule)
        )
    } else {
        let ns = f
            .object
            .namespace
            .as_deref()
            .map(|n| format!(" -n {}", shell_quote(n)))
            .unwrap_or_default();
        format!(
            "kspm remediate --cluster{ns} --select {}",
            shell_quote(&f.rule)
        )
    }
}

/// The `## Remediation` section of the rule's documentation, when the rule is known.
pub fn remediation(rule: &str) -> Option<String> {
    let docs = kspm_report::docs::rule_page(kspm_rules::find_rule(rule)?);
    let start = docs.find("## Remediation")?;
    let body = &docs[start + "## Remediation".len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    Some(body[..end].trim().to_owned()).filter(|s| !s.is_empty())
}

pub fn json(o: &ObjectView) -> Json {
    let items = super::findings::items(&o.findings);
    let items: Vec<Json> = items
        .as_array()
        .into_iter()
        .flatten()
        .zip(&o.findings)
        .map(|(item, f)| {
            let mut item = item.clone();
            // The stored fix (description and patch, when the rule has one), with the command
            // that applies it and the rule's remediation text.
            let mut fix = item["fix"].take();
            if !fix.is_object() {
                fix = json!({});
            }
            fix["command"] = json!(fix_command(f));
            fix["remediation"] = json!(remediation(&f.rule));
            item["fix"] = fix;
            item["events"] = o
                .events
                .get(&f.id)
                .map(|es| {
                    es.iter()
                        .map(|e| json!({"kind": e.kind, "at": rfc3339(e.at), "detail": e.detail}))
                        .collect()
                })
                .unwrap_or_else(|| json!([]));
            item
        })
        .collect();
    json!({
        "generated_at": super::time_json(Some(o.now)),
        "cluster": o.cluster,
        "object_key": o.key,
        "object": o.object,
        "findings": items,
    })
}

pub fn html(o: &ObjectView) -> String {
    let mut h = Html::new();
    h.raw("<h1>").text(&o.object).raw("</h1>");
    h.raw("<p>cluster ")
        .link(&Href::to("/cluster", &[("name", &o.cluster)]), &o.cluster)
        .raw(" · <code>")
        .text(&o.object.api_version)
        .raw("</code>");
    if let Some(uid) = &o.object.uid {
        h.raw(" · uid <code>").text(uid).raw("</code>");
    }
    h.raw("</p>");
    for f in &o.findings {
        h.raw("<section class=\"finding\"><h2>");
        severity_badge(&mut h, f.severity);
        h.raw(" ")
            .link(&Href::to("/rule", &[("id", &f.rule)]), &f.rule)
            .raw(" ")
            .text(&f.slug)
            .raw(" · ")
            .text(f.status.as_str())
            .raw("</h2><table><tbody>");
        let row = |h: &mut Html, k: &'static str, v: &str, code: bool| {
            h.raw("<tr><th>").text(k).raw("</th><td>");
            if code {
                h.raw("<code>").text(v).raw("</code>");
            } else {
                h.text(v);
            }
            h.raw("</td></tr>");
        };
        row(&mut h, "message", &f.message, false);
        row(&mut h, "path", &f.path, true);
        if let Some(v) = &f.value {
            row(&mut h, "value", v, true);
        }
        row(&mut h, "location", &f.location, true);
        row(&mut h, "risk", &f.risk.to_string(), false);
        row(&mut h, "first seen", &rfc3339(f.first_seen), false);
        row(&mut h, "last seen", &rfc3339(f.last_seen), false);
        if let Some(s) = &f.suppressed {
            let until = s
                .until
                .map(rfc3339)
                .unwrap_or_else(|| "no expiry".to_owned());
            row(
                &mut h,
                "exception",
                &format!("{} ({}), until {until}", s.by, s.reason),
                false,
            );
        }
        h.raw("</tbody></table>");
        h.raw("<h3>Fix</h3>");
        if let Some(fix) = f.fix.as_ref().map(kspm_store::StoredFix::json) {
            if let Some(d) = fix["description"].as_str() {
                h.raw("<p>").text(d).raw("</p>");
            }
            if fix["patch"].as_array().is_some_and(|p| !p.is_empty()) {
                let patch = serde_json::to_string_pretty(&fix["patch"]).unwrap_or_default();
                h.raw("<pre class=\"patch\">").text(patch).raw("</pre>");
            }
        }
        if let Some(text) = remediation(&f.rule) {
            h.raw("<div class=\"doc\">");
            super::markdown::render(&mut h, &text);
            h.raw("</div>");
        }
        h.raw("<pre class=\"command\">")
            .text(fix_command(f))
            .raw("</pre>");
        h.raw("<h3>History</h3><ul class=\"events\">");
        for e in o.events.get(&f.id).into_iter().flatten() {
            h.raw("<li><time>")
                .text(rfc3339(e.at))
                .raw("</time> ")
                .text(e.kind.as_str());
            if let Some(d) = &e.detail {
                h.raw(" <span class=\"muted\">").text(d).raw("</span>");
            }
            h.raw("</li>");
        }
        h.raw("</ul></section>");
    }
    layout(&o.object.to_string(), h)
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("deploy/app.yaml"), "deploy/app.yaml");
        assert_eq!(shell_quote("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
