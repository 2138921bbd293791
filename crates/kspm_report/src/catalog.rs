//! The catalogues as text and JSON: `kspm rules`, `kspm frameworks` and `kspm version`.

use std::fmt::Write as _;

use kspm_frameworks::{Assessment, Control, Framework};
use kspm_rules::{KubeVersion, Rule, rules};
use serde_json::json;

/// `kspm rules --format json`.
pub fn rules_json(list: &[&Rule]) -> String {
    let list: Vec<serde_json::Value> = list
        .iter()
        .map(|r| {
            let m = &r.meta;
            json!({
                "code": m.code,
                "slug": m.slug,
                "title": m.title,
                "severity": m.severity,
                "category": m.category.as_str(),
                "target": r.check.target(),
                "default": m.default_enabled,
                "has_fix": m.has_fix,
                "frameworks": crate::frameworks_json(r),
                "equivalents": m.equivalents,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).expect("serializes");
    s.push('\n');
    s
}

pub fn rules_table(list: &[&Rule], framework: Option<Framework>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:<36} {:<9} {:<16} {:<8} {:<4} TITLE",
        "CODE", "SLUG", "SEVERITY", "CATEGORY", "DEFAULT", "FIX"
    );
    for r in list {
        let m = &r.meta;
        let title = match framework {
            Some(fw) => format!("{} [{}]", m.title, control_ids(r, fw)),
            None => m.title.to_owned(),
        };
        let _ = writeln!(
            out,
            "{:<6} {:<36} {:<9} {:<16} {:<8} {:<4} {}",
            m.code,
            m.slug,
            m.severity.as_str(),
            m.category.as_str(),
            if m.default_enabled { "yes" } else { "no" },
            if m.has_fix { "yes" } else { "-" },
            title
        );
    }
    let _ = writeln!(
        out,
        "\n{} rules; `kspm explain <code|slug>` shows one.",
        list.len()
    );
    out
}

/// The control ids of `fw` a rule declares, for the rules table.
fn control_ids(rule: &Rule, fw: Framework) -> String {
    rule.meta.controls(fw).collect::<Vec<_>>().join(", ")
}

fn rules_of(control: &Control) -> Vec<&'static Rule> {
    rules()
        .iter()
        .copied()
        .filter(|r| r.meta.frameworks.contains(&control))
        .collect()
}

fn counts(fw: Framework) -> (usize, usize, usize) {
    let mut automated = 0;
    let mut manual = 0;
    let mut na = 0;
    for c in fw.controls() {
        match c.assessment {
            Assessment::Automated => automated += 1,
            Assessment::Manual(_) => manual += 1,
            Assessment::NotApplicable(_) => na += 1,
        }
    }
    (automated, manual, na)
}

/// `kspm frameworks`: the catalogues, their versions and control counts.
pub fn frameworks_table() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<38} {:<28} {:>8} {:>9} {:>6} {:>4} {:>5}",
        "KEY", "TITLE", "VERSION", "CONTROLS", "AUTOMATED", "MANUAL", "N/A", "RULES"
    );
    for fw in Framework::ALL {
        let (a, m, n) = counts(fw);
        let rule_count = rules()
            .iter()
            .filter(|r| r.meta.frameworks.iter().any(|c| c.framework == fw))
            .count();
        let _ = writeln!(
            out,
            "{:<12} {:<38} {:<28} {:>8} {:>9} {:>6} {:>4} {:>5}",
            fw.key(),
            fw.title(),
            fw.version(),
            fw.controls().len(),
            a,
            m,
            n,
            rule_count
        );
    }
    let _ = writeln!(
        out,
        "\n`kspm rules --framework KEY` lists the rules behind one; `kspm scan --framework KEY` adds its compliance section."
    );
    out
}

/// `kspm frameworks --format json`, every control with its rules.
pub fn frameworks_json() -> String {
    let list: Vec<serde_json::Value> = Framework::ALL
        .iter()
        .map(|&fw| {
            let (a, m, n) = counts(fw);
            let controls: Vec<serde_json::Value> = fw
                .controls()
                .iter()
                .map(|c| {
                    let (assessment, note) = match c.assessment {
                        Assessment::Automated => ("automated", None),
                        Assessment::Manual(t) => ("manual", Some(t)),
                        Assessment::NotApplicable(t) => ("not-applicable", Some(t)),
                    };
                    let mut v = json!({
                        "id": c.id,
                        "title": c.title,
                        "assessment": assessment,
                        "rules": rules_of(c).iter().map(|r| r.meta.code).collect::<Vec<_>>(),
                    });
                    if let Some(t) = note {
                        v["note"] = json!(t);
                    }
                    v
                })
                .collect();
            json!({
                "key": fw.key(),
                "title": fw.title(),
                "version": fw.version(),
                "counts": {"controls": fw.controls().len(), "automated": a, "manual": m, "not_applicable": n},
                "controls": controls,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).expect("serializes");
    s.push('\n');
    s
}

/// What `kspm version` says about a build; the binary knows it, the catalogue renders it.
pub struct Build<'a> {
    pub version: &'a str,
    /// The git commit it was built from, or "unknown".
    pub commit: &'a str,
    /// The optional parts compiled in (cargo features of the `kspm` crate).
    pub features: Vec<&'a str>,
}

/// `kspm version --format json`.
pub fn version_json(build: &Build<'_>) -> String {
    let frameworks: Vec<serde_json::Value> = Framework::ALL
        .iter()
        .map(|fw| json!({ "key": fw.key(), "title": fw.title(), "version": fw.version() }))
        .collect();
    let v = json!({
        "version": build.version,
        "commit": build.commit,
        "kubernetes": {
            "latest": KubeVersion::LATEST.to_string(),
            "default_target": KubeVersion::LATEST.to_string(),
        },
        "frameworks": frameworks,
        "features": build.features,
    });
    crate::text::json(&v)
}

/// `kspm version`.
pub fn version_text(build: &Build<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "kspm {}", build.version);
    let _ = writeln!(out, "commit:     {}", build.commit);
    let _ = writeln!(
        out,
        "kubernetes: up to {} (the default --k8s-version)",
        KubeVersion::LATEST
    );
    let features = &build.features;
    let _ = writeln!(
        out,
        "features:   {}",
        if features.is_empty() {
            "none (files only)".to_owned()
        } else {
            features.join(", ")
        }
    );
    let _ = writeln!(out, "frameworks:");
    for fw in Framework::ALL {
        let _ = writeln!(
            out,
            "  {:<12} {:<38} {}",
            fw.key(),
            fw.title(),
            fw.version()
        );
    }
    out
}
