//! The trend charts, drawn on the server as inline SVG: no script, no external asset, and
//! only presentation attributes (never `style=`), which the Content-Security-Policy allows.

use kspm_model::Severity;
use kspm_store::HistoryRow;

use super::count;
use crate::html::Html;

const W: f64 = 720.0;
const H: f64 = 200.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;

fn color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8e1b1b",
        Severity::High => "#c2410c",
        Severity::Medium => "#b7791f",
        Severity::Low => "#2f6f9f",
        Severity::Info => "#6b7280",
    }
}

fn x_of(i: usize, n: usize) -> f64 {
    if n <= 1 {
        PAD_L + (W - PAD_L - PAD_R) / 2.0
    } else {
        PAD_L + (W - PAD_L - PAD_R) * i as f64 / (n - 1) as f64
    }
}

fn y_of(v: i64, max: i64) -> f64 {
    let max = max.max(1) as f64;
    PAD_T + (H - PAD_T - PAD_B) * (1.0 - v as f64 / max)
}

fn frame(h: &mut Html, id: &'static str, label: &str, rows: &[HistoryRow], max: i64) {
    h.raw("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"")
        .attr("id", id)
        .attr("viewBox", format!("0 0 {W} {H}"))
        .attr("width", W)
        .attr("height", H)
        .attr("aria-label", label)
        .raw(">");
    h.raw("<title>").text(label).raw("</title>");
    // Axis, and the maximum and zero on it.
    h.raw("<line stroke=\"#9aa3af\"")
        .attr("x1", PAD_L)
        .attr("y1", H - PAD_B)
        .attr("x2", W - PAD_R)
        .attr("y2", H - PAD_B)
        .raw("/>");
    for v in [0, max] {
        h.raw("<text font-size=\"11\" text-anchor=\"end\" fill=\"#5b6473\"")
            .attr("x", PAD_L - 6.0)
            .attr("y", y_of(v, max) + 4.0)
            .raw(">")
            .text(v)
            .raw("</text>");
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        h.raw("<text font-size=\"11\" fill=\"#5b6473\"")
            .attr("x", PAD_L)
            .attr("y", H - 8.0)
            .raw(">")
            .text(&first.period)
            .raw("</text>");
        if rows.len() > 1 {
            h.raw("<text font-size=\"11\" text-anchor=\"end\" fill=\"#5b6473\"")
                .attr("x", W - PAD_R)
                .attr("y", H - 8.0)
                .raw(">")
                .text(&last.period)
                .raw("</text>");
        }
    }
}

/// Open findings per day, one line per severity and one point per day of history.
pub fn open_by_severity(h: &mut Html, rows: &[HistoryRow]) {
    let max = rows
        .iter()
        .flat_map(|r| Severity::ALL.map(|s| count(&r.open, s)))
        .max()
        .unwrap_or(0);
    frame(
        h,
        "trend-open",
        "Open findings per day, by severity",
        rows,
        max,
    );
    let n = rows.len();
    for s in Severity::ALL.into_iter().rev() {
        if rows.iter().all(|r| count(&r.open, s) == 0) {
            continue;
        }
        let points: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{:.1},{:.1}", x_of(i, n), y_of(count(&r.open, s), max)))
            .collect();
        h.raw("<polyline fill=\"none\" stroke-width=\"2\"")
            .attr("stroke", color(s))
            .attr("points", points.join(" "))
            .raw("/>");
    }
    // One point per day: the total open, with the day's numbers as its tooltip.
    let total_max = max;
    for (i, r) in rows.iter().enumerate() {
        let worst = Severity::ALL
            .into_iter()
            .rev()
            .find(|s| count(&r.open, *s) > 0)
            .unwrap_or(Severity::Info);
        h.raw("<circle class=\"pt\" r=\"3\"")
            .attr("data-day", &r.period)
            .attr("cx", format!("{:.1}", x_of(i, n)))
            .attr(
                "cy",
                format!("{:.1}", y_of(count(&r.open, worst), total_max)),
            )
            .attr("fill", color(worst))
            .raw("><title>")
            .text(format!(
                "{}: {} critical, {} high, {} medium, {} low, {} info open",
                r.period, r.open.critical, r.open.high, r.open.medium, r.open.low, r.open.info
            ))
            .raw("</title></circle>");
    }
    h.raw("</svg>");
}

/// Findings opened and resolved per day, as paired bars.
pub fn opened_resolved(h: &mut Html, rows: &[HistoryRow]) {
    let max = rows
        .iter()
        .map(|r| r.opened.max(r.resolved))
        .max()
        .unwrap_or(0);
    frame(
        h,
        "trend-flow",
        "Findings opened and resolved per day",
        rows,
        max,
    );
    let n = rows.len();
    let slot = (W - PAD_L - PAD_R) / n.max(1) as f64;
    let bar = (slot / 3.0).clamp(1.0, 14.0);
    for (i, r) in rows.iter().enumerate() {
        let cx = if n <= 1 {
            x_of(0, 1)
        } else {
            PAD_L + slot * (i as f64 + 0.5)
        };
        for (v, dx, fill, what) in [
            (r.opened, -bar, "#c2410c", "opened"),
            (r.resolved, 0.0, "#1d7a3a", "resolved"),
        ] {
            let y = y_of(v, max);
            h.raw("<rect class=\"bar\"")
                .attr("data-day", &r.period)
                .attr("x", format!("{:.1}", cx + dx))
                .attr("y", format!("{y:.1}"))
                .attr("width", format!("{bar:.1}"))
                .attr("height", format!("{:.1}", (H - PAD_B - y).max(0.0)))
                .attr("fill", fill)
                .raw("><title>")
                .text(format!("{}: {v} {what}", r.period))
                .raw("</title></rect>");
        }
    }
    h.raw("</svg>");
}
