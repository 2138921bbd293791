//! `kspm rbac` answers as text: who can, permissions, escalation paths and their graph (DOT,
//! Mermaid). JSON is the types' own serialisation.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use kspm_rbac::escalation::{Edge, Path, Power};
use kspm_rbac::{Allowed, Permission, Request, Subject};

use crate::text::table;

pub fn who_can_table(req: &Request, allowed: &[Allowed]) -> String {
    let mut rows = Vec::new();
    for a in allowed {
        for (i, via) in a.via.iter().enumerate() {
            let first = i == 0;
            rows.push(vec![
                if first {
                    a.subject.kind.as_str().to_owned()
                } else {
                    String::new()
                },
                if first {
                    a.subject.namespace.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                if first {
                    a.subject.name.clone()
                } else {
                    String::new()
                },
                via.scope_text(),
                if via.binding.kind == "Group" {
                    "members bypass authorization".to_owned()
                } else {
                    format!(
                        "{} → {}{}",
                        via.binding,
                        via.role,
                        if via.builtin { " (built in)" } else { "" }
                    )
                },
            ]);
        }
    }
    let mut out = format!("Who can {}:\n\n", req.describe());
    out.push_str(&table(
        &["KIND", "NAMESPACE", "NAME", "WHERE", "VIA"],
        &rows,
    ));
    out.push_str(&format!("\n{} subjects.\n", allowed.len()));
    out
}

pub fn permissions_table(subject: &Subject, perms: &[Permission]) -> String {
    let rows: Vec<Vec<String>> = perms
        .iter()
        .map(|p| {
            vec![
                p.rule.to_string(),
                p.via.scope_text(),
                format!(
                    "{} → {}{}",
                    p.via.binding,
                    p.via.role,
                    p.through
                        .as_ref()
                        .map(|g| format!(" (as {g})"))
                        .unwrap_or_default()
                ),
            ]
        })
        .collect();
    let groups: Vec<String> = subject
        .implicit_groups()
        .iter()
        .map(|g| g.name.clone())
        .collect();
    let mut out = format!("Permissions of {subject}");
    if !groups.is_empty() {
        out.push_str(&format!(" (with groups {})", groups.join(", ")));
    }
    out.push_str(":\n\n");
    if perms.is_empty() {
        out.push_str("No binding among the inputs grants anything.\n");
        return out;
    }
    out.push_str(&table(&["RULE", "WHERE", "VIA"], &rows));
    out
}

pub fn paths_table(paths: &[Path]) -> String {
    if paths.is_empty() {
        return "No escalation path to cluster-admin.\n".to_owned();
    }
    let mut out = String::new();
    for (i, p) in paths.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, p.describe()));
        if !p.holders.is_empty() {
            out.push_str(&format!("   held by: {}\n", p.holders.join(", ")));
        }
    }
    out.push_str(&format!("\n{} escalation paths.\n", paths.len()));
    out
}

/// `kspm rbac permissions --format json`: the subject, its implicit groups and its rules.
pub fn permissions_json(subject: &Subject, permissions: &[Permission]) -> serde_json::Value {
    serde_json::json!({
        "subject": subject,
        "groups": subject.implicit_groups(),
        "permissions": permissions,
    })
}

fn node_label(p: &Power) -> String {
    p.to_string()
}

/// The edges of the paths as a Graphviz digraph.
pub fn graph_dot(paths: &[Path]) -> String {
    let edges = path_edges(paths);
    let mut out = String::from(
        "digraph rbac_escalation {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
    );
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for n in path_nodes(&edges) {
        let style = match n {
            Power::ClusterAdmin => ", style=filled, fillcolor=\"#f4cccc\"",
            Power::NamespaceAdmin { .. } => ", style=filled, fillcolor=\"#fce5cd\"",
            Power::Subject(_)
            | Power::AnyServiceAccount { .. }
            | Power::PodTokens { .. }
            | Power::AnyUser => "",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\"{style}];",
            esc(&n.to_string()),
            esc(&node_label(n))
        );
    }
    for e in &edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            esc(&e.from.to_string()),
            esc(&e.to.to_string()),
            esc(&edge_label(e))
        );
    }
    out.push_str("}\n");
    out
}

/// The edges of the paths as a Mermaid flowchart.
pub fn graph_mermaid(paths: &[Path]) -> String {
    let edges = path_edges(paths);
    let nodes = path_nodes(&edges);
    let ids: HashMap<&Power, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // Mermaid labels cannot hold quotes or pipes; `#quot;` is its escape for the former.
    let esc = |s: &str| s.replace('"', "#quot;").replace('|', "/");
    let mut out = String::from("flowchart LR\n");
    for (i, n) in nodes.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", esc(&node_label(n)));
    }
    for e in &edges {
        let _ = writeln!(
            out,
            "  n{} -->|\"{}\"| n{}",
            ids[&e.from],
            esc(&edge_label(e)),
            ids[&e.to]
        );
    }
    out
}

fn edge_label(e: &Edge) -> String {
    let mut label = e
        .action
        .split_once(" → ")
        .map_or(e.action.as_str(), |(act, _)| act)
        .to_owned();
    if !e.workloads.is_empty() {
        let _ = write!(label, " [{}]", e.workloads.join(", "));
    }
    label
}

fn path_edges(paths: &[Path]) -> Vec<&Edge> {
    let mut out: Vec<&Edge> = Vec::new();
    for e in paths.iter().flat_map(|p| &p.steps) {
        if !out.iter().any(|o| o.from == e.from && o.to == e.to) {
            out.push(e);
        }
    }
    out
}

fn path_nodes<'a>(edges: &[&'a Edge]) -> Vec<&'a Power> {
    let mut nodes: BTreeSet<&Power> = BTreeSet::new();
    for e in edges {
        nodes.insert(&e.from);
        nodes.insert(&e.to);
    }
    nodes.into_iter().collect()
}
