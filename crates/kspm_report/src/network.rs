//! `kspm network` answers as text: reachability, the namespace matrix, coverage gaps, exposure.
//! JSON is the types' own serialisation.

use kspm_network::coverage::Gap;
use kspm_network::exposure::Exposed;
use kspm_network::{Answer, Matrix, Side};

use crate::text::table;

fn side_text(name: &str, side: &Side) -> String {
    let text = side_verdict(name, side);
    if side.not_modelled.is_empty() {
        return text;
    }
    format!(
        "{text}; also selected by {}, whose rules are not modelled: the answer may differ",
        side.not_modelled.join(", ")
    )
}

fn side_verdict(name: &str, side: &Side) -> String {
    if !side.isolated {
        return format!("{name}: allowed (no NetworkPolicy selects the pod for {name})");
    }
    let selected: Vec<String> = side.selected_by.iter().map(ToString::to_string).collect();
    if side.allowed {
        let by: Vec<String> = side.allowed_by.iter().map(ToString::to_string).collect();
        format!("{name}: allowed by {}", by.join(", "))
    } else {
        format!(
            "{name}: denied (selected by {}, none of whose rules match)",
            selected.join(", ")
        )
    }
}

pub fn answer_text(a: &Answer) -> String {
    let port = a
        .port
        .as_deref()
        .map(|p| format!(" on {p}"))
        .unwrap_or_default();
    let mut out = format!(
        "{} → {}{port}: {}\n",
        a.from,
        a.to,
        if a.allowed { "ALLOWED" } else { "DENIED" }
    );
    for v in &a.pairs {
        let on = v
            .port
            .as_deref()
            .map(|p| format!(" (on {p})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n  {} → {}: {}{on}\n    {}\n    {}\n",
            v.from,
            v.to,
            if v.allowed { "allowed" } else { "denied" },
            side_text("egress", &v.egress),
            side_text("ingress", &v.ingress)
        ));
    }
    out
}

pub fn matrix_table(m: &Matrix) -> String {
    let mut header: Vec<&str> = vec!["FROM \\ TO"];
    header.extend(m.namespaces.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = m
        .namespaces
        .iter()
        .zip(&m.allowed)
        .map(|(ns, row)| {
            let mut r = vec![ns.clone()];
            r.extend(row.iter().map(|a| if *a { "yes" } else { "-" }.to_owned()));
            r
        })
        .collect();
    let mut out = table(&header, &rows);
    out.push_str(
        "\nyes: some pod of the row's namespace can connect to some pod of the column's.\n",
    );
    out
}

pub fn gaps_table(gaps: &[Gap]) -> String {
    if gaps.is_empty() {
        return "No coverage gap.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = gaps
        .iter()
        .map(|g| vec![g.kind.to_owned(), g.object.clone(), g.message.clone()])
        .collect();
    let mut out = table(&["GAP", "OBJECT", "DETAIL"], &rows);
    out.push_str(&format!("\n{} gaps.\n", gaps.len()));
    out
}

pub fn exposure_table(exposed: &[Exposed]) -> String {
    if exposed.is_empty() {
        return "No workload is exposed outside the cluster.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = exposed
        .iter()
        .map(|e| vec![e.workload.clone(), e.reasons.join("; ")])
        .collect();
    let mut out = table(&["WORKLOAD", "EXPOSED BY"], &rows);
    out.push_str(&format!("\n{} exposed workloads.\n", exposed.len()));
    out
}
