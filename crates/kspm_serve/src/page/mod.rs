//! The pages. Each page is one module with three parts: a typed model read from the store
//! (`load`), its JSON form for `/api/v1/...` (`json`), and its HTML form (`html`). The HTML and
//! the API are therefore the same data by construction.

pub mod chart;
pub mod cluster;
pub mod compliance;
pub mod exceptions;
pub mod findings;
pub mod fleet;
pub mod markdown;
pub mod network;
pub mod object;
pub mod rbac;
pub mod rule;

use std::collections::BTreeMap;

use kspm_model::Severity;
use kspm_store::SeverityCounts;
use kspm_store::time::{human, rfc3339};

use crate::html::{Href, Html};

/// The query string of a request, decoded; later duplicates win.
#[derive(Clone, Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A parameter's value, trimmed; `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// Why a request cannot be answered with a page.
#[derive(Debug)]
pub enum PageError {
    /// A parameter is missing or malformed (400), with the message to show.
    BadRequest(String),
    /// What was asked for is not in the store (404).
    NotFound(String),
    Store(kspm_store::StoreError),
}

impl From<kspm_store::StoreError> for PageError {
    fn from(e: kspm_store::StoreError) -> Self {
        PageError::Store(e)
    }
}

/// The whole document around a page's body.
pub fn layout(title: &str, body: Html) -> String {
    let mut h = Html::new();
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · kspm</title>")
        .raw("<link rel=\"stylesheet\" href=\"/assets/kspm.css\">")
        .raw("<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">")
        .raw("</head><body><header class=\"top\"><a class=\"brand\" href=\"/\">kspm</a>")
        .raw("<a href=\"/\">Fleet</a><a href=\"/findings\">Findings</a><a href=\"/exceptions\">Exceptions</a></header><main>")
        .append(body)
        .raw("</main></body></html>\n");
    h.into_string()
}

/// A severity badge.
pub fn severity_badge(h: &mut Html, s: Severity) {
    h.raw("<span class=\"sev sev-")
        .text(s.as_str())
        .raw("\">")
        .text(s.as_str())
        .raw("</span>");
}

/// One `<td class="num">` per severity, worst first; each a link to those findings when the
/// count is not zero.
pub fn severity_cells(h: &mut Html, counts: &SeverityCounts, base: &[(&str, &str)]) {
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let n = count(counts, s);
        h.raw("<td class=\"num\">");
        if n > 0 {
            let mut q: Vec<(&str, &str)> = base.to_vec();
            q.push(("severity", s.as_str()));
            q.push(("status", "open"));
            h.link(&Href::to("/findings", &q), n);
        } else {
            h.text(0);
        }
        h.raw("</td>");
    }
}

pub fn severity_headers(h: &mut Html) {
    h.raw(
        "<th class=\"num\">critical</th><th class=\"num\">high</th><th class=\"num\">medium</th>",
    )
    .raw("<th class=\"num\">low</th><th class=\"num\">info</th>");
}

pub fn count(c: &SeverityCounts, s: Severity) -> i64 {
    match s {
        Severity::Critical => c.critical,
        Severity::High => c.high,
        Severity::Medium => c.medium,
        Severity::Low => c.low,
        Severity::Info => c.info,
    }
}

/// `+3`, `-2`, `0`, or `n/a` without history.
pub fn change(h: &mut Html, change: Option<i64>) {
    match change {
        Some(n) if n > 0 => h.raw("<span class=\"up\">+").text(n).raw("</span>"),
        Some(n) if n < 0 => h.raw("<span class=\"down\">").text(n).raw("</span>"),
        Some(_) => h.text(0),
        None => h.raw("<span class=\"muted\">n/a</span>"),
    };
}

pub fn time_json(t: Option<i64>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| rfc3339(t).into())
}

/// "3d 4h ago" with the exact time as its title.
pub fn ago(h: &mut Html, t: i64, now: i64) {
    h.raw("<time")
        .attr("datetime", rfc3339(t))
        .attr("title", rfc3339(t))
        .raw(">")
        .text(format!("{} ago", human(now - t)))
        .raw("</time>");
}
