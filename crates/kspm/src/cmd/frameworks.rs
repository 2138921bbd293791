//! `kspm frameworks` (the catalogues, their versions and control counts) and the framework
//! filter of `kspm rules`. The framework → rules view is derived from the rules' declarations.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use kspm_frameworks::{Assessment, Control, Framework};
use kspm_rules::{Rule, rules};
use serde_json::json;

/// A framework by key or alias, or a usage error listing the keys.
pub fn parse(name: &str) -> Result<Framework> {
    match Framework::from_key(name) {
        Some(f) => Ok(f),
        None => bail!(
            "unknown framework `{name}` (one of: {})",
            Framework::ALL.map(Framework::key).join(", ")
        ),
    }
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

pub fn table() -> String {
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

pub fn json() -> String {
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

/// The rules that declare a control of `fw`.
pub fn rules_for(fw: Framework) -> Vec<&'static Rule> {
    rules()
        .iter()
        .copied()
        .filter(|r| r.meta.frameworks.iter().any(|c| c.framework == fw))
        .collect()
}

/// The control ids of `fw` a rule declares, for the rules table.
pub fn control_ids(rule: &Rule, fw: Framework) -> String {
    rule.meta.controls(fw).collect::<Vec<_>>().join(", ")
}
