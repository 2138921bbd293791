//! Markdown for pull-request comments: the summary, compliance scores, the top risks with
//! their reasons, and the findings as a table, most urgent first. Long reports are cut to
//! stay under the comment size code hosts accept (GitHub: 65,536 characters), saying so.

use std::fmt::Write as _;

use kspm_engine::ScanResult;
use kspm_engine::compliance::Status;
use kspm_model::Severity;

use crate::{ReportOptions, RuleBook, shown};

/// Findings listed in the table before the rest are summarised.
const MAX_ROWS: usize = 150;

/// Text safe inside a table cell: no pipes or line breaks, no stray HTML.
/// Untrusted text in Markdown: every character Markdown gives a meaning to is escaped (so a
/// name cannot become a link, an image, emphasis or HTML), URLs lose the `://` that would
/// autolink them, and control characters (ESC...) become visible escapes.
fn cell(text: &str) -> String {
    let text = crate::table::sanitize(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' | '"' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.replace("://", ":&#47;&#47;")
        .replace("www.", "www&#46;")
}

/// A value shown as code: nothing inside a code span is rendered, but a backtick would end it
/// (they are replaced) and a control character would reach the terminal of whoever reads the
/// raw text (they are escaped).
fn code(text: &str) -> String {
    // In a table, GitHub needs `\|` even inside a code span.
    let clean = crate::table::sanitize(text)
        .replace('`', "'")
        .replace('|', "\\|");
    format!("`{clean}`")
}

pub fn render(result: &ScanResult, opts: &ReportOptions) -> String {
    let rules = RuleBook::of(result);
    let mut out = String::new();
    let total = result.active().count();
    let _ = writeln!(out, "## kspm security report\n");
    let _ = writeln!(out, "{}\n", cell(&crate::table::summary(result)));
    let _ = writeln!(out, "| severity | findings |\n|---|---:|");
    for sev in Severity::ALL {
        let n = result.active().filter(|f| f.severity == sev).count();
        let _ = writeln!(out, "| {sev} | {n} |");
    }
    out.push('\n');

    if !result.compliance.is_empty() {
        let _ = writeln!(out, "### Compliance\n");
        let _ = writeln!(
            out,
            "| framework | version | score | pass | fail | manual | not applicable |\n|---|---|---:|---:|---:|---:|---:|"
        );
        for fw in &result.compliance {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(fw.framework.title()),
                cell(fw.framework.version()),
                crate::compliance::percent_text(fw.score),
                fw.score.pass,
                fw.score.fail,
                fw.manual,
                fw.not_applicable
            );
        }
        out.push('\n');
        for fw in result
            .compliance
            .iter()
            .filter(|fw| !fw.namespaces.is_empty())
        {
            let _ = writeln!(
                out,
                "<details><summary>{}: scores by namespace</summary>\n",
                cell(fw.framework.title())
            );
            let _ = writeln!(
                out,
                "| namespace | score | pass | fail |\n|---|---:|---:|---:|"
            );
            for (ns, s) in &fw.namespaces {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    cell(ns),
                    crate::compliance::percent_text(*s),
                    s.pass,
                    s.fail
                );
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        for fw in &result.compliance {
            let failing: Vec<_> = fw
                .controls
                .iter()
                .filter(|c| c.status == Status::Fail)
                .collect();
            if failing.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "<details><summary>{}: {} failing control{}</summary>\n",
                cell(fw.framework.title()),
                failing.len(),
                if failing.len() == 1 { "" } else { "s" }
            );
            let _ = writeln!(out, "| control | title | findings |\n|---|---|---:|");
            for c in failing {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    cell(c.control.id),
                    cell(c.control.title),
                    c.findings.len()
                );
            }
            let _ = writeln!(out, "\n</details>\n");
        }
    }

    let top: Vec<_> = crate::top_risks(result, 5)
        .into_iter()
        .filter(|f| !f.risk.factors.is_empty())
        .collect();
    if !top.is_empty() {
        let _ = writeln!(out, "### Top risks\n");
        for (i, f) in top.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **risk {}** {} {} on {}: {}",
                i + 1,
                f.risk.score,
                code(f.code),
                cell(f.slug),
                code(&f.resource.to_string()),
                cell(&f.message)
            );
            let _ = writeln!(out, "   - score: {}", cell(&crate::risk_explanation(f)));
            for x in f.risk.factors.iter() {
                let _ = writeln!(out, "   - {}", cell(&x.detail));
            }
        }
        out.push('\n');
    }

    if total > 0 || opts.show_suppressed {
        let _ = writeln!(out, "### Findings\n");
        let _ = writeln!(
            out,
            "| risk | severity | rule | resource | location | evidence | message | fix |\n|---:|---|---|---|---|---|---|---|"
        );
        let mut rows = 0;
        let mut rest = 0;
        for f in shown(result, opts) {
            if rows == MAX_ROWS {
                rest += 1;
                continue;
            }
            rows += 1;
            let mut location = f.source.file.to_string();
            if f.pos.is_known() {
                let _ = write!(location, ":{}", f.pos);
            }
            let evidence = match &f.value {
                Some(v) => format!("{} = {}", f.path, v),
                None => f.path.to_string(),
            };
            let fix = crate::fix_text(f, &rules);
            let suppressed = if f.suppressed.is_some() {
                " (suppressed)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| {} | {}{suppressed} | {} {} | {} | {} | {} | {} | {} |",
                f.risk.score,
                f.severity,
                code(f.code),
                cell(f.slug),
                code(&f.resource.to_string()),
                code(&location),
                code(&evidence),
                cell(&f.message),
                cell(fix)
            );
            if opts.show_folded {
                for x in &f.folded {
                    let _ = writeln!(
                        out,
                        "| | {} (folded into {}) | {} {} | {} | {} | {} | {} | |",
                        x.severity,
                        code(f.code),
                        code(x.code),
                        cell(x.slug),
                        code(&f.resource.to_string()),
                        code(&location),
                        code(&x.path.to_string()),
                        cell(&x.message)
                    );
                }
            }
        }
        if rest > 0 {
            let _ = writeln!(
                out,
                "\n…and {rest} more finding{} (the JSON or HTML report lists every one).",
                if rest == 1 { "" } else { "s" }
            );
        }
        out.push('\n');
    }
    if !result.diagnostics.is_empty() {
        let _ = writeln!(out, "### Input problems\n");
        for d in &result.diagnostics {
            let _ = writeln!(out, "- {}", cell(&d.to_string()));
        }
        out.push('\n');
    }
    out
}
