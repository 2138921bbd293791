//! The compliance section every format shows when `--framework` is given: per framework a
//! score, and per control its status, its findings, and what to check or why it does not
//! apply. The judging itself is in `kspm_engine::compliance`; this module only shapes it.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::SerializeMap;

use kspm_engine::ScanResult;
use kspm_engine::compliance::{FrameworkResult, Score, Status};
use serde_json::Value;

use crate::ReportOptions;

/// Finding index in the scan → its position in the report's `findings` list (`None` for a
/// suppressed finding the report leaves out).
fn positions(result: &ScanResult, opts: &ReportOptions) -> Vec<Option<usize>> {
    let mut shown_i = 0;
    result
        .findings
        .iter()
        .map(|f| {
            (opts.show_suppressed || f.suppressed.is_none()).then(|| {
                shown_i += 1;
                shown_i - 1
            })
        })
        .collect()
}

/// The compliance object of the JSON report (and of SARIF's run properties), serialized from
/// borrowed results: with every framework asked for, a large scan links each finding to many
/// controls, so the links are positions in `findings`, not copies of the findings.
pub struct Compliance<'a> {
    result: &'a ScanResult,
    positions: Vec<Option<usize>>,
}

/// `None` without `--framework`.
pub fn compliance<'a>(result: &'a ScanResult, opts: &ReportOptions) -> Option<Compliance<'a>> {
    (!result.compliance.is_empty()).then(|| Compliance {
        result,
        positions: positions(result, opts),
    })
}

/// The same object as a JSON value (SARIF builds its document as values).
pub fn json(result: &ScanResult, opts: &ReportOptions) -> Option<Value> {
    compliance(result, opts).map(|c| serde_json::to_value(&c).expect("serializes"))
}

impl Serialize for Compliance<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.result.compliance.len()))?;
        for fw in &self.result.compliance {
            map.serialize_entry(fw.framework.key(), &FrameworkOut { fw, c: self })?;
        }
        map.end()
    }
}

struct FrameworkOut<'a> {
    fw: &'a FrameworkResult,
    c: &'a Compliance<'a>,
}

impl Serialize for FrameworkOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fw = self.fw;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("title", fw.framework.title())?;
        m.serialize_entry("version", fw.framework.version())?;
        m.serialize_entry("score", &fw.score.percent())?;
        m.serialize_entry("pass", &fw.score.pass)?;
        m.serialize_entry("fail", &fw.score.fail)?;
        m.serialize_entry("manual", &fw.manual)?;
        m.serialize_entry("not_applicable", &fw.not_applicable)?;
        let controls: Vec<ControlOut<'_>> = fw
            .controls
            .iter()
            .map(|c| ControlOut {
                id: c.control.id,
                title: c.control.title,
                status: c.status.as_str(),
                rules: &c.rules,
                findings: c
                    .findings
                    .iter()
                    .filter_map(|&i| self.c.positions.get(i).copied().flatten())
                    .collect(),
                reason: c.reason.as_deref(),
                suppressed: c.suppressed,
            })
            .collect();
        m.serialize_entry("controls", &controls)?;
        let namespaces: std::collections::BTreeMap<&str, ScoreOut> = fw
            .namespaces
            .iter()
            .map(|(ns, s)| {
                (
                    ns.as_str(),
                    ScoreOut {
                        score: s.percent(),
                        pass: s.pass,
                        fail: s.fail,
                    },
                )
            })
            .collect();
        m.serialize_entry("namespaces", &namespaces)?;
        m.end()
    }
}

#[derive(Serialize)]
struct ControlOut<'a> {
    id: &'static str,
    title: &'static str,
    status: &'static str,
    rules: &'a [&'static str],
    /// Positions in the report's `findings`.
    findings: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero")]
    suppressed: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct ScoreOut {
    score: Option<f64>,
    pass: usize,
    fail: usize,
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
