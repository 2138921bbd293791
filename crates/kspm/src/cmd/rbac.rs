//! `kspm rbac`: who can do what, what a subject can do, and escalation paths.

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use kspm_rbac::escalation::{self, Path};
use kspm_rbac::{RbacModel, Request, Subject, Workload};

use super::{Inputs, exit_code, json, load};

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
            let req =
                Request::parse(&verb, &resource, namespace.as_deref())?.named(name.as_deref());
            let (resources, errors) = load(&inputs)?;
            let model = model(&resources);
            let allowed = model.who_can(&req);
            crate::print(&match format {
                Format::Json => json(&allowed),
                Format::Table => kspm_report::rbac::who_can_table(&req, &allowed),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Permissions {
            subject,
            inputs,
            format,
        } => {
            let subject = Subject::parse(&subject)?;
            let (resources, errors) = load(&inputs)?;
            let model = model(&resources);
            let perms = model.permissions(&subject);
            crate::print(&match format {
                Format::Json => json(&kspm_report::rbac::permissions_json(&subject, &perms)),
                Format::Table => kspm_report::rbac::permissions_table(&subject, &perms),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Paths { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let paths = paths(&resources);
            crate::print(&match format {
                Format::Json => json(&paths),
                Format::Table => kspm_report::rbac::paths_table(&paths),
            })?;
            Ok(exit_code(errors))
        }
        RbacCommand::Graph { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let paths = paths(&resources);
            crate::print(&match format {
                GraphFormat::Dot => kspm_report::rbac::graph_dot(&paths),
                GraphFormat::Mermaid => kspm_report::rbac::graph_mermaid(&paths),
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
