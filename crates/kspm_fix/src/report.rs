//! What `kspm fix` tells the user: what it fixed, and for what is left, why.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use kspm_engine::{ScanOptions, scan};

use crate::{Left, Plan, Reason, key};

/// Scans the inputs again as they are on disk now; each finding keeps the reason the plan
/// gave it (a finding the plan did not see is `NotReached`).
pub fn rescan(opts: &ScanOptions, plan: &Plan) -> (Vec<Left>, Vec<kspm_model::Diagnostic>) {
    let mut reasons: HashMap<_, _> = plan
        .left
        .iter()
        .map(|l| (key(&l.finding), l.reason.clone()))
        .collect();
    let result = scan(opts);
    let left = result
        .findings
        .into_iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| {
            let reason = reasons.remove(&key(&f)).unwrap_or(if f.fix.is_none() {
                Reason::NoFix
            } else {
                Reason::NotReached
            });
            Left { finding: f, reason }
        })
        .collect();
    (left, result.diagnostics)
}

/// Most findings listed one by one per reason; the rest are counted.
const LISTED: usize = 50;

/// The summary: counts, then the findings left with their reasons. Those without an automatic
/// fix are counted by rule (they are what `kspm scan` reports anyway); the others are listed.
pub fn summary(plan: &Plan, left: &[Left], dry_run: bool) -> String {
    let mut out = String::new();
    let files = plan.changed().count();
    let verb = if dry_run { "would fix" } else { "fixed" };
    let _ = writeln!(
        out,
        "kspm fix: {verb} {} finding{} in {files} file{} ({} round{} of scan and fix); {} finding{} left",
        plan.fixed.len(),
        plural(plan.fixed.len()),
        plural(files),
        plan.passes,
        plural(plan.passes),
        left.len(),
        plural(left.len()),
    );
    let mut by_file: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &plan.fixed {
        by_file.entry(&f.file).or_default().push(f.code);
    }
    for (file, mut codes) in by_file {
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        let _ = writeln!(
            out,
            "  {file}: {n} fix{} ({})",
            if n == 1 { "" } else { "es" },
            codes.join(", ")
        );
    }
    if !plan.conflicts.is_empty() {
        let n = plan.conflicts.len();
        let _ = writeln!(
            out,
            "  {n} fix{} waited for a fix of the same field (first wins; the next round judged again)",
            if n == 1 { "" } else { "es" }
        );
    }
    let mut no_fix: BTreeMap<&str, usize> = BTreeMap::new();
    let mut listed: BTreeMap<&'static str, Vec<&Left>> = BTreeMap::new();
    for l in left {
        let group = match &l.reason {
            Reason::NoFix => {
                *no_fix.entry(l.finding.code).or_default() += 1;
                continue;
            }
            Reason::BelowSeverity => "below --severity",
            Reason::Conflict { .. } => "conflicting fixes",
            Reason::Refused(_) => "not editable here",
            Reason::Failed(_) => "could not be applied",
            Reason::NotReached => "still found",
        };
        listed.entry(group).or_default().push(l);
    }
    if !no_fix.is_empty() {
        let total: usize = no_fix.values().sum();
        let rules: Vec<String> = no_fix.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let _ = writeln!(
            out,
            "  {total} without an automatic fix (change by hand; `kspm explain CODE`): {}",
            rules.join(", ")
        );
    }
    for (group, items) in listed {
        let _ = writeln!(out, "  {} {group}:", items.len());
        for l in items.iter().take(LISTED) {
            let f = &l.finding;
            let _ = writeln!(
                out,
                "    {}:{} {} {} {} ({}): {}",
                f.source.file, f.pos, f.code, f.slug, f.resource, f.path, l.reason
            );
        }
        if items.len() > LISTED {
            let _ = writeln!(out, "    … and {} more", items.len() - LISTED);
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
