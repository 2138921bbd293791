//! The JSON report, schema `kspm.io/scan/v1` (documented in docs/json-schema.md). Additive
//! changes keep the version; anything that renames or removes a field bumps it.
//!
//! Serialized straight from borrowed structs: a large scan has hundreds of thousands of
//! findings, and building a `serde_json::Value` tree first costs several times the memory.

use kspm_engine::ScanResult;
use kspm_model::{Diagnostic, Finding, PatchOp, RiskFactor, Severity};
use std::io::Write as _;

use serde::Serialize;

use crate::{ReportOptions, RuleBook, shown};

pub const SCHEMA: &str = "kspm.io/scan/v1";

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    tool: Tool,
    summary: Summary<'a>,
    findings: Findings<'a>,
    errors: &'a [Diagnostic],
    #[serde(skip_serializing_if = "Option::is_none")]
    compliance: Option<crate::compliance::Compliance<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary<'a> {
    resources: usize,
    sources: usize,
    rules: usize,
    findings: usize,
    suppressed: usize,
    by_severity: BySeverity,
    errors: usize,
    /// Some objects could not be read (see `errors`): the findings cover only what was read.
    partial: bool,
    /// The configuration file applied and what it changed (rules off, severities lowered,
    /// findings suppressed); absent when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a kspm_engine::AppliedConfig>,
}

#[derive(Serialize, Default)]
struct BySeverity {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceOut<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_version: Option<&'a str>,
}

#[derive(Serialize)]
struct SourceOut<'a> {
    file: &'a str,
    document: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<&'a str>,
}

#[derive(Serialize)]
struct FixOut<'a> {
    description: &'a str,
    patch: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct SuppressedOut<'a> {
    by: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'static str,
    slug: &'static str,
    title: &'static str,
    severity: Severity,
    category: &'static str,
    resource: ResourceOut<'a>,
    source: SourceOut<'a>,
    path: String,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    remediation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixOut<'a>>,
    frameworks: std::borrow::Cow<'a, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<SuppressedOut<'a>>,
    risk: RiskOut<'a>,
    /// Findings of other rules this one implies or repeats on the same object.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    folded: Vec<FoldedOut<'a>>,
}

#[derive(Serialize)]
struct FoldedOut<'a> {
    rule: &'static str,
    slug: &'static str,
    severity: Severity,
    path: String,
    message: &'a str,
}

#[derive(Serialize)]
struct RiskOut<'a> {
    score: u8,
    factors: &'a [RiskFactor],
}

fn finding_out<'a>(f: &'a Finding, rules: &'a RuleBook) -> FindingOut<'a> {
    let info = rules.get(f.code);
    let known = f.pos.is_known();
    FindingOut {
        rule: f.code,
        slug: f.slug,
        title: info.title.unwrap_or(f.slug),
        severity: f.severity,
        category: f.category,
        resource: ResourceOut {
            api_version: &f.resource.api_version,
            kind: &f.resource.kind,
            namespace: f.resource.namespace.as_deref(),
            name: &f.resource.name,
            uid: f.resource.uid.as_deref(),
            resource_version: f.resource.resource_version.as_deref(),
        },
        source: SourceOut {
            file: &f.source.file,
            document: f.source.doc,
            line: known.then_some(f.pos.line),
            column: known.then_some(f.pos.col),
            template: f.source.origin.as_deref(),
        },
        path: f.path.to_string(),
        message: &f.message,
        value: f.value.as_deref(),
        remediation: &info.remediation,
        fix: f.fix.as_ref().map(|fix| FixOut {
            description: &fix.description,
            patch: fix.ops.iter().map(PatchOp::to_json_patch).collect(),
        }),
        // A table-driven rule's finding names only the controls it fails.
        frameworks: f
            .controls
            .map_or(std::borrow::Cow::Borrowed(&info.frameworks), |c| {
                std::borrow::Cow::Owned(crate::controls_json(c))
            }),
        risk: RiskOut {
            score: f.risk.score,
            factors: &f.risk.factors,
        },
        folded: f
            .folded
            .iter()
            .map(|x| FoldedOut {
                rule: x.code,
                slug: x.slug,
                severity: x.severity,
                path: x.path.to_string(),
                message: &x.message,
            })
            .collect(),
        suppressed: f.suppressed.as_ref().map(|s| SuppressedOut {
            by: &s.by,
            reason: &s.reason,
        }),
    }
}

fn report<'a>(result: &'a ScanResult, opts: &'a ReportOptions, rules: &'a RuleBook) -> Report<'a> {
    let mut by_severity = BySeverity::default();
    for f in result.active() {
        *match f.severity {
            Severity::Critical => &mut by_severity.critical,
            Severity::High => &mut by_severity.high,
            Severity::Medium => &mut by_severity.medium,
            Severity::Low => &mut by_severity.low,
            Severity::Info => &mut by_severity.info,
        } += 1;
    }
    Report {
        schema: SCHEMA,
        tool: Tool {
            name: "kspm",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            resources: result.resources,
            sources: result.sources,
            rules: result.rules.len(),
            findings: result.active().count(),
            suppressed: result.suppressed(),
            by_severity,
            errors: result.diagnostics.len(),
            partial: result.partial,
            config: result.config.as_ref(),
        },
        findings: Findings {
            result,
            opts,
            rules,
        },
        errors: &result.diagnostics,
        compliance: crate::compliance::compliance(result, opts),
    }
}

/// The findings, serialized one by one as they are written rather than collected first.
struct Findings<'a> {
    result: &'a ScanResult,
    opts: &'a ReportOptions,
    rules: &'a RuleBook,
}

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(shown(self.result, self.opts).map(|f| finding_out(f, self.rules)))
    }
}

/// Writes the report to `out` as it is serialized; memory stays flat however many findings.
pub fn write(
    result: &ScanResult,
    opts: &ReportOptions,
    out: impl std::io::Write,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let rules = RuleBook::of(result);
    serde_json::to_writer_pretty(&mut out, &report(result, opts, &rules))
        .map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}
