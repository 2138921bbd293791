//! The HTML report: one self-contained file (inline CSS, SVG and a little JavaScript; no
//! network) for people who do not read JSON. It shows the summary, framework scores, charts by
//! severity, category and namespace, the top risks with their reasons, every finding with its
//! evidence and fix, every control of the requested frameworks, and the input problems.
//!
//! Charts are drawn here as SVG, so the page reads the same with scripts off; the script only
//! adds a filter box over the findings table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};

use kspm_engine::ScanResult;
use kspm_engine::compliance::Status;
use kspm_model::{DiagnosticLevel, Severity};

use crate::{ReportOptions, RuleBook, shown};

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn severity_color(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "#8e24aa",
        Severity::High => "#d32f2f",
        Severity::Medium => "#f57c00",
        Severity::Low => "#1976d2",
        Severity::Info => "#00838f",
    }
}

const STYLE: &str = r"
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2125;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.8;font-size:13px}
main{padding:20px 32px;max-width:1400px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 20px;margin:0 0 20px}
h2{font-size:17px;margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e1e4e8;border-radius:8px;padding:10px 16px;min-width:110px;background:#fff}
.card .n{font-size:26px;font-weight:700}
.card .l{font-size:12px;color:#586069;text-transform:uppercase;letter-spacing:.04em}
.charts{display:flex;flex-wrap:wrap;gap:24px}
.chart h3{font-size:13px;margin:0 0 6px;color:#444}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaecef;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:4px;word-break:break-all}
.sev{color:#fff;border-radius:10px;padding:1px 8px;font-size:11px;font-weight:600;text-transform:uppercase;white-space:nowrap}
.st{border-radius:10px;padding:1px 8px;font-size:11px;font-weight:600;white-space:nowrap}
.st-pass{background:#dcfce7;color:#166534}.st-fail{background:#fee2e2;color:#991b1b}
.st-manual{background:#fef9c3;color:#854d0e}.st-not-applicable{background:#e5e7eb;color:#374151}
.score{font-size:24px;font-weight:700}
.bar{height:8px;background:#eee;border-radius:4px;overflow:hidden;margin-top:6px}
.bar>div{height:8px;background:#16a34a}
.fw{display:flex;flex-wrap:wrap;gap:12px}
.fw .card{min-width:210px}
.risk{font-weight:700}
.muted{color:#6a737d}
ol.top li{margin-bottom:10px}
input#filter{padding:6px 10px;width:320px;border:1px solid #d0d7de;border-radius:6px;margin-bottom:10px}
details summary{cursor:pointer;font-weight:600;margin:6px 0}
";

const SCRIPT: &str = r"
(function(){
  var input=document.getElementById('filter');
  var rows=Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));
  var shown=document.getElementById('shown-count');
  function apply(){
    var q=input.value.toLowerCase();var n=0;
    rows.forEach(function(r){var ok=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.style.display=ok?'':'none';if(ok)n++;});
    shown.textContent=n;
  }
  if(input){input.addEventListener('input',apply);apply();}
  document.body.setAttribute('data-ready','1');
})();
";

/// A horizontal bar chart as inline SVG.
fn bar_chart(id: &str, title: &str, bars: &[(String, usize, &str)]) -> String {
    let mut out = String::new();
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 22;
    let label_w = 150;
    let bar_w = 260;
    let height = (bars.len().max(1) * row) + 4;
    let _ = write!(
        out,
        r#"<div class="chart" id="{id}"><h3>{}</h3><svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" role="img" aria-label="{}">"#,
        esc(title),
        label_w + bar_w + 60,
        esc(title)
    );
    if bars.is_empty() {
        let _ = write!(
            out,
            r##"<text x="0" y="16" font-size="12" fill="#6a737d">nothing to show</text>"##
        );
    }
    for (i, (label, n, color)) in bars.iter().enumerate() {
        let y = i * row;
        let w = (*n * bar_w) / max;
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#24292e">{}</text><rect x="{}" y="{}" width="{}" height="14" rx="3" fill="{color}"><title>{}: {n}</title></rect><text x="{}" y="{}" font-size="12" fill="#24292e">{n}</text>"##,
            label_w - 6,
            y + 14,
            esc(label),
            label_w,
            y + 3,
            w.max(1),
            esc(label),
            label_w + w + 6,
            y + 14,
        );
    }
    out.push_str("</svg></div>");
    out
}

/// Writes the page to `out`; the findings' rows are rendered in parallel batches and written
/// as they are ready, so the page never sits in memory whole.
pub fn write(result: &ScanResult, opts: &ReportOptions, out: impl io::Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let rules = RuleBook::of(result);
    let mut out = String::new();
    let total = result.active().count();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>kspm report: {total} findings</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<header><h1>kspm security report</h1><p>{}</p><p>kspm {}</p></header><main>",
        esc(&crate::table::summary(result)),
        env!("CARGO_PKG_VERSION")
    );

    // Summary cards.
    let _ = write!(
        out,
        "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">"
    );
    let card = |out: &mut String, id: &str, n: usize, label: &str, color: &str| {
        let _ = write!(
            out,
            "<div class=\"card\"><div class=\"n\" id=\"{id}\" style=\"color:{color}\">{n}</div><div class=\"l\">{}</div></div>",
            esc(label)
        );
    };
    card(&mut out, "count-findings", total, "findings", "#1d2125");
    for sev in Severity::ALL {
        let n = result.active().filter(|f| f.severity == sev).count();
        card(
            &mut out,
            &format!("count-{sev}"),
            n,
            sev.as_str(),
            severity_color(sev),
        );
    }
    card(
        &mut out,
        "count-resources",
        result.resources,
        "resources",
        "#1d2125",
    );
    card(
        &mut out,
        "count-suppressed",
        result.suppressed(),
        "suppressed",
        "#6a737d",
    );
    card(
        &mut out,
        "count-errors",
        result.diagnostics.len(),
        "input problems",
        "#6a737d",
    );
    out.push_str("</div></section>");

    // Framework scores.
    if !result.compliance.is_empty() {
        let _ = write!(
            out,
            "<section id=\"frameworks\"><h2>Compliance</h2><div class=\"fw\">"
        );
        for fw in &result.compliance {
            let pct = fw.score.percent();
            let _ = write!(
                out,
                "<div class=\"card\" id=\"fw-{}\"><div class=\"l\">{} {}</div><div class=\"score\">{}</div><div class=\"bar\"><div style=\"width:{}%\"></div></div><div class=\"muted\">{} pass · {} fail · {} manual · {} not applicable</div></div>",
                esc(fw.framework.key()),
                esc(fw.framework.title()),
                esc(fw.framework.version()),
                crate::compliance::percent_text(fw.score),
                pct.unwrap_or(0.0),
                fw.score.pass,
                fw.score.fail,
                fw.manual,
                fw.not_applicable
            );
        }
        out.push_str("</div></section>");
    }

    // Charts.
    let sev_bars: Vec<(String, usize, &str)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                result.active().filter(|f| f.severity == *s).count(),
                severity_color(*s),
            )
        })
        .collect();
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_namespace: BTreeMap<String, usize> = BTreeMap::new();
    for f in result.active() {
        *by_category.entry(f.category).or_default() += 1;
        let ns = f
            .resource
            .namespace
            .clone()
            .unwrap_or_else(|| kspm_engine::compliance::CLUSTER_SCOPE.to_owned());
        *by_namespace.entry(ns).or_default() += 1;
    }
    let mut ns_bars: Vec<(String, usize, &str)> = by_namespace
        .into_iter()
        .map(|(k, v)| (k, v, "#4f6d8f"))
        .collect();
    ns_bars.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ns_bars.truncate(15);
    let cat_bars: Vec<(String, usize, &str)> = by_category
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v, "#5b7fa6"))
        .collect();
    let _ = write!(
        out,
        "<section id=\"charts\"><h2>Findings by severity, category and namespace</h2><div class=\"charts\">{}{}{}</div></section>",
        bar_chart("chart-severity", "By severity", &sev_bars),
        bar_chart("chart-category", "By category", &cat_bars),
        bar_chart("chart-namespace", "By namespace (top 15)", &ns_bars)
    );

    // Top risks.
    let top = crate::top_risks(result, 10);
    if !top.is_empty() {
        let _ = write!(
            out,
            "<section id=\"top-risks\"><h2>Top risks</h2><ol class=\"top\">"
        );
        for f in top {
            let _ = write!(
                out,
                "<li><span class=\"risk\">risk {}</span> <span class=\"sev\" style=\"background:{}\">{}</span> <code>{}</code> {} on <code>{}</code>: {}<br><span class=\"muted\">{}</span>",
                f.risk.score,
                severity_color(f.severity),
                f.severity,
                esc(f.code),
                esc(f.slug),
                esc(&f.resource.to_string()),
                esc(&f.message),
                esc(&crate::risk_explanation(f))
            );
            if !f.risk.factors.is_empty() {
                out.push_str("<ul>");
                for x in f.risk.factors.iter() {
                    let _ = write!(out, "<li>{}</li>", esc(&x.detail));
                }
                out.push_str("</ul>");
            }
            out.push_str("</li>");
        }
        out.push_str("</ol></section>");
    }

    // Every finding.
    let rows: Vec<_> = shown(result, opts).collect();
    let _ = write!(
        out,
        "<section><h2>Findings (<span id=\"shown-count\">{}</span> of {}), most urgent first</h2><input id=\"filter\" type=\"search\" placeholder=\"Filter: rule, namespace, file, text…\" aria-label=\"Filter findings\"><table id=\"findings\"><thead><tr><th>risk</th><th>severity</th><th>rule</th><th>resource</th><th>location</th><th>evidence</th><th>message</th><th>fix</th></tr></thead><tbody>",
        rows.len(),
        rows.len()
    );
    w.write_all(out.as_bytes())?;
    crate::write_in_batches(&mut w, &rows, |out: &mut String, _, f| row(out, f, &rules))?;
    let mut out = String::new();
    out.push_str("</tbody></table></section>");

    // Every control.
    for fw in &result.compliance {
        let _ = write!(
            out,
            "<section class=\"controls\" id=\"controls-{}\"><h2>{} {}: {}</h2><table><thead><tr><th>control</th><th>title</th><th>status</th><th>findings</th><th>notes</th></tr></thead><tbody>",
            esc(fw.framework.key()),
            esc(fw.framework.title()),
            esc(fw.framework.version()),
            crate::compliance::percent_text(fw.score)
        );
        for c in &fw.controls {
            let notes = match c.status {
                Status::Fail => c
                    .findings
                    .iter()
                    .take(5)
                    .map(|&i| {
                        let f = &result.findings[i];
                        format!(
                            "<code>{}</code> {}",
                            esc(f.code),
                            esc(&f.resource.to_string())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>"),
                _ => esc(c.reason.as_deref().unwrap_or("")),
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"st st-{}\">{}</span></td><td>{}</td><td>{}</td></tr>",
                esc(c.control.id),
                esc(c.control.title),
                c.status.as_str(),
                c.status.as_str(),
                c.findings.len(),
                notes
            );
        }
        out.push_str("</tbody></table>");
        if !fw.namespaces.is_empty() {
            out.push_str("<details><summary>Scores by namespace</summary><table><thead><tr><th>namespace</th><th>score</th><th>pass</th><th>fail</th></tr></thead><tbody>");
            for (ns, s) in &fw.namespaces {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(ns),
                    crate::compliance::percent_text(*s),
                    s.pass,
                    s.fail
                );
            }
            out.push_str("</tbody></table></details>");
        }
        out.push_str("</section>");
    }

    if !result.diagnostics.is_empty() {
        out.push_str("<section id=\"errors\"><h2>Input problems</h2><ul>");
        for d in &result.diagnostics {
            let level = if d.level == DiagnosticLevel::Error {
                "error"
            } else {
                "warning"
            };
            let _ = write!(out, "<li><b>{level}</b> {}</li>", esc(&d.to_string()));
        }
        out.push_str("</ul></section>");
    }
    let _ = writeln!(out, "</main><script>{SCRIPT}</script></body></html>");
    w.write_all(out.as_bytes())?;
    w.flush()
}

/// One finding's row in the findings table.
fn row(out: &mut String, f: &kspm_model::Finding, rules: &RuleBook) {
    let location = crate::location(f);
    let evidence = match &f.value {
        Some(v) => format!("{} = {}", f.path, v),
        None => f.path.to_string(),
    };
    let fix = crate::fix_text(f, rules);
    let suppressed = f.suppressed.as_ref().map_or_else(String::new, |s| {
        format!(
            "<br><span class=\"muted\">suppressed by {} — {}</span>",
            esc(&s.by),
            esc(&s.reason)
        )
    });
    let _ = write!(
        out,
        "<tr><td class=\"risk\">{}</td><td><span class=\"sev\" style=\"background:{}\">{}</span></td><td><code>{}</code> {}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}{suppressed}</td><td>{}</td></tr>",
        f.risk.score,
        severity_color(f.severity),
        f.severity,
        esc(f.code),
        esc(f.slug),
        esc(&f.resource.to_string()),
        esc(&location),
        esc(&evidence),
        esc(&f.message),
        esc(fix)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
    }

    #[test]
    fn charts_scale_to_the_largest_bar() {
        let svg = bar_chart(
            "c",
            "t",
            &[("a".into(), 10, "#000"), ("b".into(), 5, "#000")],
        );
        assert!(svg.contains("width=\"260\""), "{svg}");
        assert!(svg.contains("width=\"130\""), "{svg}");
    }
}
