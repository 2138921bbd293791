//! Every output kspm writes, and only output: each module turns a [`ScanResult`] (or another
//! command's answer: [`rbac`], [`network`], [`policy_test`], the [`catalog`] of rules and
//! frameworks) into bytes; none of them decides what was found, only how it is shown. The CLI
//! picks a module and writes what it returns.
//!
//! A scan report comes in one of the [`Format`]s, written by [`Format::write`]: that list is the
//! one place a new scan format is added. Reports describe the rules the scan ran
//! ([`ScanResult::rules`]), never the process-wide registry.

pub mod catalog;
pub mod compliance;
pub mod docs;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod network;
pub mod policy_test;
pub mod rbac;
pub mod sarif;
pub mod table;
pub mod text;

use kspm_engine::ScanResult;
use kspm_frameworks::Framework;
use kspm_model::Finding;
use kspm_rules::Rule;

/// The formats of a scan report: [`table`] for a terminal, [`json`] (schema `kspm.io/scan/v1`,
/// streamed), [`sarif`] 2.1.0 for code scanning, [`junit`] for CI, [`html`] and [`markdown`].
/// With the `clap` feature it is the CLI's `--format` itself; the variants' doc comments are its
/// help text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    /// One self-contained page (no network needed to open it).
    Html,
    /// For pull-request comments.
    Markdown,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Html,
        Format::Markdown,
    ];

    /// Writes the report of `result` to `out`. Every format but Markdown (a pull-request
    /// comment, capped in size) is streamed: a large scan's report never sits in memory as one
    /// string.
    pub fn write(
        self,
        result: &ScanResult,
        opts: &ReportOptions,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let text = match self {
            Format::Json => return json::write(result, opts, out),
            Format::Junit => return junit::write(result, opts, out),
            Format::Table => return table::write(result, opts, out),
            Format::Sarif => return sarif::write(result, opts, out),
            Format::Html => return html::write(result, opts, out),
            Format::Markdown => markdown::render(result, opts),
        };
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// The report of `result` as one string (for tests and small results; the CLI writes it
    /// with [`Format::write`]).
    pub fn render(self, result: &ScanResult, opts: &ReportOptions) -> String {
        let mut out = Vec::new();
        self.write(result, opts, &mut out)
            .expect("writing to memory cannot fail");
        String::from_utf8(out).expect("every report is UTF-8")
    }
}

/// What every format needs besides the result itself.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Include suppressed findings (marked as such).
    pub show_suppressed: bool,
    /// Use ANSI colours (table only; the CLI decides from the terminal).
    pub color: bool,
    /// List the findings folded into stronger ones as lines of their own (table, Markdown);
    /// JSON always carries them in each finding's `folded` list.
    pub show_folded: bool,
}

/// The findings a report shows.
pub fn shown<'a>(
    result: &'a ScanResult,
    opts: &'a ReportOptions,
) -> impl Iterator<Item = &'a Finding> {
    result
        .findings
        .iter()
        .filter(move |f| opts.show_suppressed || f.suppressed.is_none())
}

/// Where a finding is, as the table and the HTML page show it: `file:line:column`, and the
/// template a rendered document came from.
pub(crate) fn location(f: &Finding) -> String {
    use std::fmt::Write as _;
    let mut location = f.source.file.to_string();
    if f.pos.is_known() {
        let _ = write!(location, ":{}", f.pos);
    }
    if let Some(t) = &f.source.origin {
        let _ = write!(location, " ({t})");
    }
    location
}

/// What to do about a finding: its fix's description, or else its rule's remediation.
pub(crate) fn fix_text<'a>(f: &'a Finding, rules: &'a RuleBook) -> &'a str {
    f.fix.as_ref().map_or_else(
        || rules.get(f.code).remediation.as_str(),
        |fx| fx.description.as_str(),
    )
}

/// Items a task of [`write_in_batches`] renders.
pub(crate) const BATCH: usize = 256;
/// Batches [`write_in_batches`] holds at a time.
pub(crate) const WINDOW: usize = 8;

/// Writes `items` rendered by `render` in order, rendering them in parallel: in batches of
/// [`BATCH`] (one task each), a window of [`WINDOW`] batches held at a time, so that a report's
/// memory stays flat however many findings it lists. `render` gets each item's index among
/// `items`.
pub(crate) fn write_in_batches<T, B, W>(
    out: &mut W,
    items: &[T],
    render: impl Fn(&mut B, usize, &T) + Sync,
) -> std::io::Result<()>
where
    T: Sync,
    B: Default + AsRef<[u8]> + Send,
    W: std::io::Write + ?Sized,
{
    use rayon::prelude::*;
    for (w, window) in items.chunks(BATCH * WINDOW).enumerate() {
        let batches: Vec<B> = window
            .par_chunks(BATCH)
            .enumerate()
            .map(|(b, batch)| {
                let mut buf = B::default();
                let start = w * BATCH * WINDOW + b * BATCH;
                for (i, item) in batch.iter().enumerate() {
                    render(&mut buf, start + i, item);
                }
                buf
            })
            .collect();
        for batch in batches {
            out.write_all(batch.as_ref())?;
        }
    }
    Ok(())
}

/// The rules a report describes: exactly those the scan ran ([`ScanResult::rules`]), built-in
/// rules and custom policies alike, never the process-wide registry (which may hold rules this
/// scan did not run, or lack the policies it did). What every finding of a rule repeats is
/// computed here once per rule rather than once per finding (a large scan has hundreds of
/// thousands of findings).
pub(crate) struct RuleBook {
    by_code: std::collections::HashMap<&'static str, RuleInfo>,
    /// For a finding whose rule the result does not list (a result assembled by hand): the
    /// report still renders, with what the finding itself carries.
    unknown: RuleInfo,
}

/// What a report says about one rule.
pub(crate) struct RuleInfo {
    /// `None` for a rule the result does not list: the finding's slug stands in.
    pub title: Option<&'static str>,
    pub remediation: String,
    pub frameworks: serde_json::Value,
}

impl RuleBook {
    pub(crate) fn of(result: &ScanResult) -> Self {
        Self {
            by_code: result
                .rules
                .iter()
                .map(|r| {
                    (
                        r.meta.code,
                        RuleInfo {
                            title: Some(r.meta.title),
                            remediation: remediation(r),
                            frameworks: frameworks_json(r),
                        },
                    )
                })
                .collect(),
            unknown: RuleInfo {
                title: None,
                remediation: String::new(),
                frameworks: controls_json(&[]),
            },
        }
    }

    /// The rule behind findings with this code.
    pub(crate) fn get(&self, code: &str) -> &RuleInfo {
        self.by_code.get(code).unwrap_or(&self.unknown)
    }
}

/// `{"cis": [...], "pss": [...], "nsa": [...], ...}` for a rule.
pub fn frameworks_json(rule: &Rule) -> serde_json::Value {
    controls_json(rule.meta.frameworks)
}

/// `{"cis": [...], ...}` for a list of controls, one key per framework.
pub fn controls_json(controls: &[&kspm_frameworks::Control]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for fw in Framework::ALL {
        let ids: Vec<&str> = controls
            .iter()
            .filter(|c| c.framework == fw)
            .map(|c| c.id)
            .collect();
        map.insert(fw.key().to_owned(), serde_json::json!(ids));
    }
    serde_json::Value::Object(map)
}

/// The findings a report shows, most urgent first, with the number of factors explained.
pub fn top_risks(result: &ScanResult, n: usize) -> Vec<&Finding> {
    // Findings are already ordered by risk.
    result.active().take(n).collect()
}

/// "high 45 + exposed 20 + kube-system 10 = 75".
pub fn risk_explanation(f: &Finding) -> String {
    let mut parts = vec![format!(
        "{} {}",
        f.severity,
        kspm_engine::risk::base(f.severity)
    )];
    for x in f.risk.factors.iter() {
        parts.push(format!("{} {}", x.factor, x.points));
    }
    let sum: u32 = u32::from(kspm_engine::risk::base(f.severity))
        + f.risk
            .factors
            .iter()
            .map(|x| u32::from(x.points))
            .sum::<u32>();
    let capped = if sum > 100 { " (capped at 100)" } else { "" };
    format!("{} = {}{capped}", parts.join(" + "), f.risk.score)
}

/// The remediation section of a rule's documentation, as one paragraph.
pub fn remediation(rule: &Rule) -> String {
    rule.meta
        .doc_section("Remediation")
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
