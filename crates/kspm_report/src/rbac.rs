//! `kspm rbac` answers as text: who can, permissions, escalation paths. JSON is the types'
//! own serialisation; the graphs (DOT, Mermaid) are drawn by `kspm_rbac::escalation`.

use kspm_rbac::escalation::Path;
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
