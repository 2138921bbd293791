//! `kspm network`: reachability under NetworkPolicies, the namespace matrix, coverage gaps and
//! exposed workloads.

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};
use kspm_network::coverage;
use kspm_network::exposure;
use kspm_network::{EndpointSpec, NetworkModel, Port};

use super::{Inputs, exit_code, json, load};

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// May pods of one namespace (and labels) connect to pods of another? Or, with
    /// `--matrix`, the namespace-to-namespace matrix.
    Reachability {
        #[command(flatten)]
        inputs: Inputs,
        /// Source: NAMESPACE[/LABEL=VALUE,...] or an IP address.
        #[arg(long, required_unless_present = "matrix")]
        from: Option<String>,
        /// Destination: NAMESPACE[/LABEL=VALUE,...] or an IP address.
        #[arg(long, required_unless_present = "matrix")]
        to: Option<String>,
        /// PORT[/PROTOCOL] (TCP by default); without it, any port.
        #[arg(long)]
        port: Option<String>,
        /// Print the namespace-to-namespace matrix instead.
        #[arg(long, conflicts_with_all = ["from", "to", "port"])]
        matrix: bool,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What NetworkPolicies leave open: namespaces without any, workloads no policy
    /// selects, rules that allow everything, default-deny isolation undone.
    Coverage {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Workloads reachable from outside the cluster, and how.
    Exposure {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn run(command: NetworkCommand) -> Result<u8> {
    match command {
        NetworkCommand::Reachability {
            inputs,
            from,
            to,
            port,
            matrix,
            format,
        } => {
            if matrix {
                let (resources, errors) = load(&inputs)?;
                let model = NetworkModel::build(&resources);
                problems(&model);
                let m = model.matrix();
                crate::print(&match format {
                    Format::Json => json(&m),
                    Format::Table => kspm_report::network::matrix_table(&m),
                })?;
                return Ok(exit_code(errors));
            }
            let (Some(from), Some(to)) = (from, to) else {
                bail!("--from and --to are required without --matrix");
            };
            let from = EndpointSpec::parse(&from)?;
            let to = EndpointSpec::parse(&to)?;
            let port = port.map(|p| Port::parse(&p)).transpose()?;
            let (resources, errors) = load(&inputs)?;
            let model = NetworkModel::build(&resources);
            problems(&model);
            let answer = model.query(&from, &to, port.as_ref());
            crate::print(&match format {
                Format::Json => json(&answer),
                Format::Table => kspm_report::network::answer_text(&answer),
            })?;
            Ok(exit_code(errors))
        }
        NetworkCommand::Coverage { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let model = NetworkModel::build(&resources);
            problems(&model);
            let gaps = coverage::gaps(&model);
            crate::print(&match format {
                Format::Json => json(&gaps),
                Format::Table => kspm_report::network::gaps_table(&gaps),
            })?;
            Ok(exit_code(errors))
        }
        NetworkCommand::Exposure { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let exposed = exposure::exposed(&resources);
            crate::print(&match format {
                Format::Json => json(&exposed),
                Format::Table => kspm_report::network::exposure_table(&exposed),
            })?;
            Ok(exit_code(errors))
        }
    }
}

/// Invalid parts of policies, which match nothing, on standard error.
fn problems(model: &NetworkModel) {
    for p in &model.policies {
        for problem in &p.problems {
            eprintln!(
                "kspm: warning: {}: NetworkPolicy {}/{}: {problem}; it matches nothing",
                p.file, p.namespace, p.name
            );
        }
    }
}
