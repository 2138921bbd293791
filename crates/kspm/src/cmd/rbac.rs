//! `kspm rbac`: who can do what, what a subject can do, and escalation paths.

use anyhow::{Result, anyhow};
use clap::{Subcommand, ValueEnum};
use kspm_rbac::escalation::{self, Path};
use kspm_rbac::{Allowed, Permission, RbacModel, Request, Subject, Workload};

use super::{Inputs, exit_code, json, load, table};

#[derive(Subcommand, Debug)]
pub enum RbacCommand {
    /// Which subjects may make a request: `kspm rbac who-can create pods -n prod`.
    WhoCan {
        /// The verb: get, list, watch, create, update, patch, delete, impersonate, bind...
        verb: String,
        /// RESOURCE[.GROUP][/SUBRESOURCE] (`pods/exec`, `deployments.apps`), or a
        /// non-resource URL starting with `/`.
        resource: String,
        /// The namespace of the request. Without it, grants in any namespace count, each shown
        /// with the namespace it applies in.
        #[arg(long, short = 'n')]
        namespace: Option<String>,
        /// The object's name, for rules limited by `resourceNames`.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every rule a subject holds: `user:NAME`, `group:NAME`, `serviceaccount:NS/NAME` or
    /// `system:serviceaccount:NS:NAME`; with the implicit groups (system:authenticated...).
    Permissions {
        subject: String,
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Escalation paths: subjects that can become cluster-admin in several steps, and the
    /// workloads that hold the power on the way.
    Paths {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The escalation paths as a graph: Graphviz DOT or Mermaid.
    Graph {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn run(command: RbacCommand) -> Result<u8> {
    match command {
        RbacCommand::WhoCan {
            verb,
            resource,
            namespace,
            name,
            inputs,
            format,
        } => {
            let req = Request::parse(&verb, &resource, namespace.as_deref())
                .map_err(|e| anyhow!(e))?
                .named(name.as_deref());
            let (resources, errors) = load(&inputs)?;
            let model = model(&resources);
            let allowed = model.who_can(&req);
            crate::print(&match format {
                Format::Json => json(&allowed),
                Format::Table => who_can_table(&req, &allowed),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Permissions {
            subject,
            inputs,
            format,
        } => {
            let subject = Subject::parse(&subject).map_err(|e| anyhow!(e))?;
            let (resources, errors) = load(&inputs)?;
            let model = model(&resources);
            let perms = model.permissions(&subject);
            crate::print(&match format {
                Format::Json => json(&serde_json::json!({
                    "subject": subject,
                    "groups": subject.implicit_groups(),
                    "permissions": perms,
                })),
                Format::Table => permissions_table(&subject, &perms),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Paths { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let paths = paths(&resources);
            crate::print(&match format {
                Format::Json => json(&paths),
                Format::Table => paths_table(&paths),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Graph { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let paths = paths(&resources);
            crate::print(&match format {
                GraphFormat::Dot => escalation::to_dot(&paths),
                GraphFormat::Mermaid => escalation::to_mermaid(&paths),
            })?;
            Ok(exit_code(errors))
        }
    }
}

/// The model, with its problems (bindings to missing roles...) reported on standard error.
fn model(resources: &[kspm_model::Resource]) -> RbacModel {
    let model = RbacModel::build(resources);
    for p in &model.problems {
        eprintln!("kspm: warning: {p}");
    }
    model
}

fn paths(resources: &[kspm_model::Resource]) -> Vec<Path> {
    let model = model(resources);
    escalation::paths(&model, &Workload::collect(resources))
}

fn who_can_table(req: &Request, allowed: &[Allowed]) -> String {
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

fn permissions_table(subject: &Subject, perms: &[Permission]) -> String {
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

fn paths_table(paths: &[Path]) -> String {
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
