//! What `kspm findings` and `kspm history` print: an aligned table for people, JSON for tools.
//! Times are RFC 3339 in UTC; nothing is shown that the scan's own report would not show.

use serde_json::{Value as Json, json};

use crate::query::{History, HistoryRow};
use crate::record::FindingRecord;
use crate::time::{human, rfc3339};

/// The findings as a JSON document: `{"findings": [...]}`.
pub fn findings_json(findings: &[FindingRecord]) -> Json {
    let items: Vec<Json> = findings
        .iter()
        .map(|f| {
            let mut v = json!({
                "cluster": f.cluster,
                "rule": f.rule,
                "slug": f.slug,
                "severity": f.severity.as_str(),
                "category": f.category,
                "status": f.status.as_str(),
                "object": f.object,
                "path": f.path,
                "location": f.location,
                "message": f.message,
                "first_seen": rfc3339(f.first_seen),
                "last_seen": rfc3339(f.last_seen),
                "opened_at": rfc3339(f.opened_at),
                "reopen_count": f.reopen_count,
            });
            let map = v.as_object_mut().expect("object");
            if let Some(value) = &f.value {
                map.insert("value".into(), json!(value));
            }
            if let Some(s) = &f.suppressed {
                let mut sup = json!({"by": s.by, "reason": s.reason});
                if let Some(until) = s.until {
                    sup["until"] = json!(rfc3339(until));
                }
                map.insert("suppressed".into(), sup);
            }
            if let Some(at) = f.resolved_at {
                map.insert("resolved_at".into(), json!(rfc3339(at)));
            }
            if let Some(reason) = f.resolved_reason {
                map.insert("resolved_reason".into(), json!(reason.as_str()));
            }
            v
        })
        .collect();
    json!({ "findings": items })
}

/// The findings as an aligned table, one line each, ending with a count line.
pub fn findings_table(findings: &[FindingRecord], now: i64) -> String {
    if findings.is_empty() {
        return "no stored findings match\n".to_owned();
    }
    let header = [
        "STATUS", "SEVERITY", "CLUSTER", "RULE", "OBJECT", "PATH", "SINCE",
    ];
    let rows: Vec<[String; 7]> = findings
        .iter()
        .map(|f| {
            let since = f.resolved_at.unwrap_or(f.opened_at);
            let mut status = f.status.to_string();
            if f.reopen_count > 0 && f.status == crate::Status::Open {
                status = format!("open (reopened {}x)", f.reopen_count);
            }
            [
                status,
                f.severity.to_string(),
                f.cluster.clone(),
                format!("{} {}", f.rule, f.slug),
                f.object.to_string(),
                f.path.clone(),
                format!("{} ago", human(now - since)),
            ]
        })
        .collect();
    let mut out = table(&header, &rows);
    out.push_str(&format!("{} finding(s)\n", findings.len()));
    out
}

/// The history as JSON.
pub fn history_json(history: &History) -> Json {
    serde_json::to_value(history).unwrap_or(Json::Null)
}

/// The history as an aligned table.
pub fn history_table(history: &History) -> String {
    if history.rows.is_empty() {
        return "no history recorded yet (run `kspm scan --store ...`)\n".to_owned();
    }
    let header = [
        "PERIOD",
        "OPEN",
        "CRITICAL",
        "HIGH",
        "MEDIUM",
        "LOW",
        "INFO",
        "SUPPRESSED",
        "OPENED",
        "RESOLVED",
        "MTTR",
    ];
    let rows: Vec<[String; 11]> = history.rows.iter().map(history_cells).collect();
    let mut out = table(&header, &rows);
    if let Some(mttr) = history.mean_time_to_resolve_seconds {
        out.push_str(&format!("mean time to resolve: {}\n", human(mttr)));
    }
    out
}

fn history_cells(r: &HistoryRow) -> [String; 11] {
    [
        r.period.clone(),
        r.open.total().to_string(),
        r.open.critical.to_string(),
        r.open.high.to_string(),
        r.open.medium.to_string(),
        r.open.low.to_string(),
        r.open.info.to_string(),
        r.suppressed.to_string(),
        r.opened.to_string(),
        r.resolved.to_string(),
        r.mean_time_to_resolve_seconds
            .map_or_else(|| "-".to_owned(), human),
    ]
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < N {
                text.push_str(&" ".repeat(widths[i].saturating_sub(cell.chars().count())));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}
