//! The compliance section every format shows when `--framework` is given: per framework a
//! score, and per control its status, its findings, and what to check or why it does not
//! apply. The judging itself is in `kspm_engine::compliance`; this module only shapes it.

use std::collections::HashMap;
use std::fmt::Write as _;

use kspm_engine::ScanResult;
use kspm_engine::compliance::{FrameworkResult, Score, Status};
use serde_json::{Value, json};

use crate::ReportOptions;

/// Finding index in the scan → its position in the report's `findings` list.
pub fn positions(result: &ScanResult, opts: &ReportOptions) -> HashMap<usize, usize> {
    let mut map = HashMap::new();
    let mut shown_i = 0;
    for (i, f) in result.findings.iter().enumerate() {
        if opts.show_suppressed || f.suppressed.is_none() {
            map.insert(i, shown_i);
            shown_i += 1;
        }
    }
    map
}

fn score_json(s: Score) -> Value {
    json!({ "score": s.percent(), "pass": s.pass, "fail": s.fail })
}

/// `{"cis": {"title", "version", "score", "pass", "fail", "manual", "not_applicable",
/// "controls": [...], "namespaces": {...}}, ...}`, or `None` without `--framework`.
pub fn json(result: &ScanResult, opts: &ReportOptions) -> Option<Value> {
    if result.compliance.is_empty() {
        return None;
    }
    let pos = positions(result, opts);
    let mut out = serde_json::Map::new();
    for fw in &result.compliance {
        out.insert(
            fw.framework.key().to_owned(),
            framework_json(result, fw, &pos),
        );
    }
    Some(Value::Object(out))
}

fn framework_json(result: &ScanResult, fw: &FrameworkResult, pos: &HashMap<usize, usize>) -> Value {
    let controls: Vec<Value> = fw
        .controls
        .iter()
        .map(|c| {
            let findings: Vec<Value> = c
                .findings
                .iter()
                .map(|&i| {
                    let f = &result.findings[i];
                    json!({
                        "index": pos.get(&i),
                        "rule": f.code,
                        "resource": f.resource.to_string(),
                        "path": f.path.to_string(),
                        "message": f.message,
                    })
                })
                .collect();
            let mut v = json!({
                "id": c.control.id,
                "title": c.control.title,
                "status": c.status.as_str(),
                "rules": c.rules,
                "findings": findings,
            });
            if let Some(r) = &c.reason {
                v["reason"] = json!(r);
            }
            if c.suppressed > 0 {
                v["suppressed"] = json!(c.suppressed);
            }
            v
        })
        .collect();
    let namespaces: serde_json::Map<String, Value> = fw
        .namespaces
        .iter()
        .map(|(ns, s)| (ns.clone(), score_json(*s)))
        .collect();
    json!({
        "title": fw.framework.title(),
        "version": fw.framework.version(),
        "score": fw.score.percent(),
        "pass": fw.score.pass,
        "fail": fw.score.fail,
        "manual": fw.manual,
        "not_applicable": fw.not_applicable,
        "controls": controls,
        "namespaces": namespaces,
    })
}

/// `72.5%`, or `n/a` when nothing was judged.
pub fn percent_text(s: Score) -> String {
    s.percent()
        .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%"))
}

/// One line per framework and its failing controls, for the table.
pub fn table(result: &ScanResult) -> String {
    let mut out = String::new();
    if result.compliance.is_empty() {
        return out;
    }
    let _ = writeln!(out, "COMPLIANCE");
    for fw in &result.compliance {
        let _ = writeln!(
            out,
            "  {} {}: {} ({} pass, {} fail, {} manual, {} not applicable)",
            fw.framework.title(),
            fw.framework.version(),
            percent_text(fw.score),
            fw.score.pass,
            fw.score.fail,
            fw.manual,
            fw.not_applicable
        );
        for c in fw.controls.iter().filter(|c| c.status == Status::Fail) {
            let _ = writeln!(
                out,
                "    FAIL {} {} ({} finding{})",
                c.control.id,
                c.control.title,
                c.findings.len(),
                if c.findings.len() == 1 { "" } else { "s" }
            );
        }
        if !fw.namespaces.is_empty() {
            let per_ns: Vec<String> = fw
                .namespaces
                .iter()
                .map(|(ns, s)| format!("{ns} {}", percent_text(*s)))
                .collect();
            let _ = writeln!(out, "    by namespace: {}", per_ns.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "  (every control with its status, manual checks and reasons: --format json, html or markdown)\n"
    );
    out
}
