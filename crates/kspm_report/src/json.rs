//! The JSON report, schema `kspm.io/scan/v1` (documented in docs/json-schema.md). Additive
//! changes keep the version; anything that renames or removes a field bumps it.

use kspm_engine::ScanResult;
use kspm_model::{Finding, Severity};
use serde_json::{Value, json};

use crate::{ReportOptions, frameworks_json, remediation, rule_of, shown};

pub const SCHEMA: &str = "kspm.io/scan/v1";

pub fn finding_json(f: &Finding) -> Value {
    let rule = rule_of(f);
    let mut source = json!({ "file": &*f.source.file, "document": f.source.doc });
    if f.pos.is_known() {
        source["line"] = json!(f.pos.line);
        source["column"] = json!(f.pos.col);
    }
    if let Some(origin) = &f.source.origin {
        source["template"] = json!(&**origin);
    }
    let mut out = json!({
        "rule": f.code,
        "slug": f.slug,
        "title": rule.meta.title,
        "severity": f.severity,
        "category": f.category,
        "resource": {
            "apiVersion": f.resource.api_version,
            "kind": f.resource.kind,
            "namespace": f.resource.namespace,
            "name": f.resource.name,
        },
        "source": source,
        "path": f.path.to_string(),
        "message": f.message,
        "remediation": remediation(rule),
        "frameworks": frameworks_json(rule),
    });
    if let Some(v) = &f.value {
        out["value"] = json!(v);
    }
    if let Some(fix) = &f.fix {
        let patch: Vec<Value> = fix
            .ops
            .iter()
            .map(kspm_model::PatchOp::to_json_patch)
            .collect();
        out["fix"] = json!({ "description": fix.description, "patch": patch });
    }
    if let Some(s) = &f.suppressed {
        out["suppressed"] = json!({ "by": s.by, "reason": s.reason });
    }
    out
}

pub fn render(result: &ScanResult, opts: &ReportOptions) -> String {
    let findings: Vec<Value> = shown(result, opts).map(finding_json).collect();
    let mut by_severity = serde_json::Map::new();
    for sev in Severity::ALL {
        let n = result.active().filter(|f| f.severity == sev).count();
        by_severity.insert(sev.as_str().to_owned(), json!(n));
    }
    let doc = json!({
        "schema": SCHEMA,
        "tool": { "name": "kspm", "version": env!("CARGO_PKG_VERSION") },
        "summary": {
            "resources": result.resources,
            "sources": result.sources,
            "rules": result.rules.len(),
            "findings": result.active().count(),
            "suppressed": result.suppressed(),
            "by_severity": by_severity,
            "errors": result.diagnostics.len(),
        },
        "findings": findings,
        "errors": result.diagnostics,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    text.push('\n');
    text
}
