//! SARIF 2.1.0, for GitHub code scanning and other SARIF consumers. Rule metadata carries the
//! rule's documentation as help; levels come from severity; `security-severity` lets GitHub rank
//! the alerts.

use std::collections::HashMap;
use std::io::{self, Write};

use kspm_engine::ScanResult;
use kspm_model::{DiagnosticLevel, Severity};
use serde_json::{Value, json};

use crate::{ReportOptions, frameworks_json, shown};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's 0.0-10.0 scale: over 9 critical, 7-8.9 high, 4-6.9 medium, under 4 low.
fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn pascal(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        })
        .collect()
}

/// Writes the report to `out` as it is rendered: results are rendered in parallel batches and
/// a window of batches is held at a time, so memory stays flat however many findings.
pub fn write(result: &ScanResult, opts: &ReportOptions, out: impl Write) -> io::Result<()> {
    let mut rule_index = HashMap::new();
    let mut rules = Vec::new();
    for (i, rule) in result.rules.iter().enumerate() {
        let m = &rule.meta;
        rule_index.insert(m.code, i);
        let fw = frameworks_json(rule);
        let mut tags = vec![
            json!("security"),
            json!("kubernetes"),
            json!(m.category.as_str()),
        ];
        for (key, ids) in fw.as_object().into_iter().flatten() {
            for id in ids.as_array().into_iter().flatten() {
                tags.push(json!(format!("{key}:{}", id.as_str().unwrap_or(""))));
            }
        }
        rules.push(json!({
            "id": m.code,
            "name": pascal(m.slug),
            "shortDescription": { "text": m.title },
            "fullDescription": { "text": m.doc_section("What it does").unwrap_or_default() },
            "help": { "text": m.docs_text(), "markdown": m.docs_text() },
            "defaultConfiguration": { "level": level(m.severity) },
            "properties": {
                "tags": tags,
                "precision": "very-high",
                "problem.severity": level(m.severity),
                "security-severity": security_severity(m.severity),
                "slug": m.slug,
                "frameworks": fw,
            },
        }));
    }
    // One result at a time, rendered straight into the text (below): a value tree of every
    // result was ten times the report's size.
    let result_json = |f: &kspm_model::Finding| -> Value {
        let mut region = json!({});
        if f.pos.is_known() {
            region = json!({ "startLine": f.pos.line, "startColumn": f.pos.col });
        }
        let mut physical = json!({ "artifactLocation": { "uri": uri(&f.source.file) } });
        if f.pos.is_known() {
            physical["region"] = region;
        }
        let mut r = json!({
            "ruleId": f.code,
            "level": level(f.severity),
            "message": { "text": format!("{}: {}", f.resource, f.message) },
            "locations": [{
                "physicalLocation": physical,
                "logicalLocations": [{
                    "fullyQualifiedName": format!("{}.{}", f.resource, f.path),
                    "kind": "member",
                }],
            }],
            "partialFingerprints": {
                "kspmFinding/v1": format!("{}|{}|{}", f.code, f.resource, f.path),
            },
            "properties": {
                "severity": f.severity,
                "path": f.path.to_string(),
                "security-severity": security_severity(f.severity),
                "risk": { "score": f.risk.score, "factors": &*f.risk.factors },
            },
        });
        if let Some(i) = rule_index.get(f.code) {
            r["ruleIndex"] = json!(i);
        }
        if let Some(s) = &f.suppressed {
            r["suppressions"] = json!([{ "kind": "external", "justification": format!("{} ({})", s.reason, s.by) }]);
        }
        r
    };
    let notifications: Vec<Value> = result
        .diagnostics
        .iter()
        .map(|d| {
            let mut loc =
                json!({ "physicalLocation": { "artifactLocation": { "uri": uri(&d.file) } } });
            if let Some(line) = d.line {
                loc["physicalLocation"]["region"] =
                    json!({ "startLine": line, "startColumn": d.column.unwrap_or(1) });
            }
            json!({
                "level": match d.level {
                    DiagnosticLevel::Error => "error",
                    DiagnosticLevel::Warning => "warning",
                    DiagnosticLevel::Notice => "note",
                },
                "message": { "text": d.message },
                "locations": [loc],
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kspm",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/kspm",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": !result.has_errors(),
                "toolExecutionNotifications": notifications,
            }],
            "results": RESULTS,
        }],
    });
    let mut doc = doc;
    if let Some(c) = crate::compliance::json(result, opts) {
        // Run-level property bag: SARIF has no notion of controls; consumers that know kspm
        // read the same compliance object as the JSON report.
        doc["runs"][0]["properties"] = json!({ "compliance": c });
    }
    if let Some(config) = &result.config {
        // What the configuration did to the scan, next to the results it shaped.
        doc["runs"][0]["invocations"][0]["properties"] = json!({
            "config": config,
            "configSummary": config.summary(),
        });
    }
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    // The results go where the placeholder is, each pretty-printed at its depth (serde_json's
    // pretty layout: two spaces a level; strings never hold a raw newline, so the
    // placeholder's line cannot be faked by any text in the document).
    let marker = format!("\n      \"results\": \"{RESULTS}\"");
    let at = text
        .find(&marker)
        .expect("the results placeholder is in the document");
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(&text.as_bytes()[..at])?;
    out.write_all(b"\n      \"results\": [")?;
    let shown: Vec<&kspm_model::Finding> = shown(result, opts).collect();
    crate::write_in_batches(&mut out, &shown, |buf: &mut Vec<u8>, i, f| {
        buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        buf.extend_from_slice(b"        ");
        crate::json::write_at(&mut *buf, RESULT_LEVEL, &result_json(f)).expect("writing to memory");
    })?;
    out.write_all(if shown.is_empty() { b"]" } else { b"\n      ]" })?;
    out.write_all(&text.as_bytes()[at + marker.len()..])?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The nesting level of a result (`{"runs": [{"results": [ {...} ]}]}`).
const RESULT_LEVEL: usize = 4;

/// Where the results go in the document until they are written.
const RESULTS: &str = "kspm:results";

/// A relative path stays relative (code scanning resolves it against the repository root).
fn uri(file: &str) -> String {
    let f = file.strip_prefix("./").unwrap_or(file);
    f.replace(' ', "%20")
}
