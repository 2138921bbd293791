//! Exceptions: every suppressed finding, grouped by the exception that suppresses it (who,
//! why, until when). Those expiring in the next 14 days come first, then those already expired
//! (flagged: their findings count as open again), then the rest, then those without expiry.

use std::collections::BTreeMap;

use kspm_store::time::{human, rfc3339};
use kspm_store::{FindingRecord, Store};
use serde_json::{Value as Json, json};

use super::{PageError, layout, severity_badge};
use crate::html::{Href, Html};

/// How far ahead an expiry counts as soon.
pub const SOON_SECONDS: i64 = 14 * 86_400;

/// At most this many suppressed findings are read.
pub const LIMIT: i64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expiry {
    /// Expires within [`SOON_SECONDS`].
    Soon,
    /// Has expired: its findings are open again.
    Expired,
    Later,
    Never,
}

impl Expiry {
    pub const fn as_str(self) -> &'static str {
        match self {
            Expiry::Soon => "expiring",
            Expiry::Expired => "expired",
            Expiry::Later => "active",
            Expiry::Never => "no-expiry",
        }
    }

    pub fn of(until: Option<i64>, now: i64) -> Self {
        match until {
            None => Expiry::Never,
            Some(t) if t <= now => Expiry::Expired,
            Some(t) if t - now <= SOON_SECONDS => Expiry::Soon,
            Some(_) => Expiry::Later,
        }
    }
}

pub struct Exception {
    pub by: String,
    pub reason: String,
    pub until: Option<i64>,
    pub expiry: Expiry,
    pub findings: Vec<FindingRecord>,
}

pub struct ExceptionsView {
    pub now: i64,
    pub exceptions: Vec<Exception>,
    /// Whether [`LIMIT`] cut the list short.
    pub truncated: bool,
}

pub async fn load(store: &Store, now: i64) -> Result<ExceptionsView, PageError> {
    let mut records = store.suppressed_findings(LIMIT + 1).await?;
    let truncated = records.len() > usize::try_from(LIMIT).unwrap_or(usize::MAX);
    records.truncate(usize::try_from(LIMIT).unwrap_or(usize::MAX));
    // Grouped by (who, why, until); a map, since every annotation can be its own exception.
    let mut groups: BTreeMap<(String, String, Option<i64>), Vec<FindingRecord>> = BTreeMap::new();
    for f in records {
        if let Some(s) = f.suppressed.clone() {
            groups.entry((s.by, s.reason, s.until)).or_default().push(f);
        }
    }
    let mut exceptions: Vec<Exception> = groups
        .into_iter()
        .map(|((by, reason, until), findings)| Exception {
            expiry: Expiry::of(until, now),
            by,
            reason,
            until,
            findings,
        })
        .collect();
    exceptions.sort_by(|a, b| {
        (a.expiry, a.until, &a.by, &a.reason).cmp(&(b.expiry, b.until, &b.by, &b.reason))
    });
    Ok(ExceptionsView {
        now,
        exceptions,
        truncated,
    })
}

pub fn json(v: &ExceptionsView) -> Json {
    json!({
        "generated_at": super::time_json(Some(v.now)),
        "truncated": v.truncated,
        "exceptions": v.exceptions.iter().map(|e| json!({
            "suppressed_by": e.by,
            "reason": e.reason,
            "suppressed_until": super::time_json(e.until),
            "expiry": e.expiry.as_str(),
            "findings": super::findings::items(&e.findings),
        })).collect::<Vec<_>>(),
    })
}

pub fn html(v: &ExceptionsView) -> String {
    let mut h = Html::new();
    h.raw("<h1>Exceptions</h1>");
    h.raw("<p class=\"muted\">Every suppressed finding, by the exception that suppresses it. Expiring within 14 days first, then expired ones (their findings count as open again).</p>");
    if v.truncated {
        h.raw("<p class=\"warn\">Only the first ")
            .text(LIMIT)
            .raw(" suppressed findings are shown.</p>");
    }
    if v.exceptions.is_empty() {
        h.raw("<p class=\"muted\">No suppressed findings.</p>");
    }
    h.raw("<table id=\"exceptions\"><thead><tr><th>expiry</th><th>suppressed by</th>")
        .raw("<th>reason</th><th>findings</th></tr></thead><tbody>");
    for e in &v.exceptions {
        h.raw("<tr")
            .attr(
                "class",
                format!("exception exception-{}", e.expiry.as_str()),
            )
            .raw("><td>");
        match e.until {
            None => {
                h.raw("<span class=\"muted\">never</span>");
            }
            Some(t) => {
                let label = if t <= v.now {
                    format!("expired {} ago", human(v.now - t))
                } else {
                    format!("in {}", human(t - v.now))
                };
                h.raw("<span")
                    .attr("class", format!("expiry-{}", e.expiry.as_str()))
                    .raw("><time")
                    .attr("datetime", rfc3339(t))
                    .attr("title", rfc3339(t))
                    .raw(">")
                    .text(label)
                    .raw("</time></span>");
            }
        }
        h.raw("</td><td>")
            .text(&e.by)
            .raw("</td><td>")
            .text(&e.reason)
            .raw("</td><td><ul>");
        for f in &e.findings {
            h.raw("<li>");
            severity_badge(&mut h, f.severity);
            h.raw(" ")
                .link(&Href::to("/rule", &[("id", &f.rule)]), &f.rule)
                .raw(" on ")
                .link(&super::findings::object_href(f), &f.object)
                .raw(" in ")
                .link(&Href::to("/cluster", &[("name", &f.cluster)]), &f.cluster)
                .raw("</li>");
        }
        h.raw("</ul></td></tr>");
    }
    h.raw("</tbody></table>");
    layout("Exceptions", h)
}
