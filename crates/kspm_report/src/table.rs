//! The human report: worst first, grouped by severity, each finding with its resource, its
//! place in the file, the evidence, and the fix.

use std::fmt::Write as _;
use std::io::{self, Write as _};

use anstyle::{AnsiColor, Effects, Style};
use kspm_engine::ScanResult;
use kspm_model::{DiagnosticLevel, Severity};

use crate::{ReportOptions, RuleBook, shown};

fn severity_style(sev: Severity) -> Style {
    let color = match sev {
        Severity::Critical => AnsiColor::Magenta,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Blue,
        Severity::Info => AnsiColor::Cyan,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

const DIM: Style = Style::new().effects(Effects::DIMMED);
const BOLD: Style = Style::new().effects(Effects::BOLD);

struct Painter(bool);

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

/// Untrusted text (object, container and file names, values, messages) as the terminal should
/// show it: control characters (ESC, BEL, CR, newlines...) become visible escapes, so a name
/// cannot clear the screen, move the cursor or forge a line of the report.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes the report to `out`; findings are rendered in parallel batches and written as they
/// are ready, so the report never sits in memory whole.
pub fn write(result: &ScanResult, opts: &ReportOptions, out: impl io::Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let rules = RuleBook::of(result);
    let p = Painter(opts.color);
    let mut out = String::new();
    // The few findings to fix first, and why they come first.
    let top: Vec<_> = crate::top_risks(result, 5)
        .into_iter()
        .filter(|f| !f.risk.factors.is_empty())
        .collect();
    if !top.is_empty() {
        let _ = writeln!(out, "{}", p.paint(BOLD, "TOP RISKS"));
        for (i, f) in top.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}. risk {}  {} {}  {}",
                i + 1,
                f.risk.score,
                p.paint(BOLD, f.code),
                f.slug,
                p.paint(BOLD, &sanitize(&f.resource.to_string()))
            );
            let _ = writeln!(out, "     {}", sanitize(&f.message));
            let _ = writeln!(
                out,
                "     {}",
                p.paint(DIM, &sanitize(&crate::risk_explanation(f)))
            );
            for x in f.risk.factors.iter() {
                let _ = writeln!(out, "     - {}", sanitize(&x.detail));
            }
        }
        out.push('\n');
    }
    let shown: Vec<_> = shown(result, opts).collect();
    let shown_count = shown.len();
    if shown_count > 0 {
        let heading = format!("FINDINGS ({shown_count}), most urgent first");
        let _ = writeln!(out, "{}", p.paint(BOLD, &heading));
    }
    w.write_all(out.as_bytes())?;
    crate::write_in_batches(&mut w, &shown, |out: &mut String, _, f| {
        finding(out, f, &rules, &p, opts);
    })?;
    let mut out = String::new();
    if shown_count > 0 {
        out.push('\n');
    }
    out.push_str(&crate::compliance::table(result));
    if !result.diagnostics.is_empty() {
        let problems = result
            .diagnostics
            .iter()
            .filter(|d| d.level != DiagnosticLevel::Notice)
            .count();
        let notices = result.diagnostics.len() - problems;
        let heading = match (problems, notices) {
            (0, n) => format!("NOTICES ({n})"),
            (p, 0) => format!("INPUT PROBLEMS ({p})"),
            (p, n) => format!("INPUT PROBLEMS ({p}) AND NOTICES ({n})"),
        };
        let _ = writeln!(out, "{}", p.paint(BOLD, &heading));
        for d in &result.diagnostics {
            let style = match d.level {
                DiagnosticLevel::Error => severity_style(Severity::High),
                DiagnosticLevel::Warning => severity_style(Severity::Medium),
                DiagnosticLevel::Notice => Style::new().effects(Effects::DIMMED),
            };
            let _ = writeln!(out, "  {}", p.paint(style, &sanitize(&d.to_string())));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(result));
    w.write_all(out.as_bytes())?;
    w.flush()
}

/// One finding: its rule and object, where it is, the evidence, the message and the fix.
fn finding(
    out: &mut String,
    f: &kspm_model::Finding,
    rules: &RuleBook,
    p: &Painter,
    opts: &ReportOptions,
) {
    let sev = p.paint(
        severity_style(f.severity),
        &f.severity.as_str().to_uppercase(),
    );
    let _ = writeln!(
        out,
        "  {sev} risk {}  {} {}  {}",
        f.risk.score,
        p.paint(BOLD, f.code),
        f.slug,
        p.paint(BOLD, &sanitize(&f.resource.to_string()))
    );
    let location = crate::location(f);
    let evidence = f
        .value
        .as_ref()
        .map_or_else(String::new, |v| format!(" = {v}"));
    let _ = writeln!(
        out,
        "    {}  {}{}",
        p.paint(DIM, &sanitize(&location)),
        sanitize(&f.path.to_string()),
        sanitize(&evidence)
    );
    let _ = writeln!(out, "    {}", sanitize(&f.message));
    let fix = crate::fix_text(f, rules);
    if !fix.is_empty() {
        let _ = writeln!(out, "    {} {}", p.paint(DIM, "fix:"), sanitize(fix));
    }
    if opts.show_folded {
        for x in &f.folded {
            let _ = writeln!(
                out,
                "    {} {} {}  {}  {}",
                p.paint(DIM, "folded:"),
                x.code,
                x.slug,
                sanitize(&x.path.to_string()),
                sanitize(&x.message)
            );
        }
    }
    if let Some(s) = &f.suppressed {
        let _ = writeln!(
            out,
            "    {} {} — {}",
            p.paint(DIM, "suppressed by"),
            sanitize(&s.by),
            sanitize(&s.reason)
        );
    }
}

/// One line: "12 findings (1 critical, 2 high, ...) in 40 resources from 10 sources; ...".
pub fn summary(result: &ScanResult) -> String {
    let total = result.active().count();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                result.active().filter(|f| f.severity == *s).count(),
                s
            )
        })
        .collect();
    let mut line = format!(
        "{total} finding{} ({}) in {} resource{} from {} source{}",
        if total == 1 { "" } else { "s" },
        counts.join(", "),
        result.resources,
        if result.resources == 1 { "" } else { "s" },
        result.sources,
        if result.sources == 1 { "" } else { "s" },
    );
    let folded: usize = result.active().map(|f| f.folded.len()).sum();
    if folded > 0 {
        let _ = write!(
            line,
            "; {folded} more folded into them (--show-folded lists them)"
        );
    }
    let suppressed = result.suppressed();
    if suppressed > 0 {
        let _ = write!(
            line,
            "; {suppressed} suppressed (--show-suppressed lists them)"
        );
    }
    let errors = result
        .diagnostics
        .iter()
        .filter(|d| d.level == DiagnosticLevel::Error)
        .count();
    if errors > 0 {
        let _ = write!(
            line,
            "; {errors} input error{} (the scan is incomplete)",
            if errors == 1 { "" } else { "s" }
        );
    }
    if let Some(config) = &result.config {
        let _ = write!(line, "; {}", config.summary());
    }
    sanitize(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use crate::{Format, ReportOptions};

    /// What manifests wrote (messages, paths, names) reaches the terminal with its control
    /// characters made visible, folded findings' included.
    #[test]
    fn control_characters_never_reach_the_terminal() {
        let result = kspm_engine::ScanResult {
            findings: crate::json::tests::findings(),
            ..kspm_engine::ScanResult::default()
        };
        let opts = ReportOptions {
            show_suppressed: true,
            show_folded: true,
            ..ReportOptions::default()
        };
        let text = Format::Table.render(&result, &opts);
        assert!(text.contains("folded:"), "{text}");
        assert!(!text.contains('\u{1}'), "{text:?}");
        assert!(text.contains("\\u{1} control"), "{text}");
    }
}
