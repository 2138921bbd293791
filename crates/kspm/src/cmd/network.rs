//! `kspm network`: reachability under NetworkPolicies, the namespace matrix, coverage gaps and
//! exposed workloads.

use anyhow::{Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use kspm_network::coverage::{self, Gap};
use kspm_network::exposure::{self, Exposed};
use kspm_network::{Answer, EndpointSpec, Matrix, NetworkModel, Port, Side};

use super::{Inputs, exit_code, json, load, table};

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
                    Format::Table => matrix_table(&m),
                })?;
                return Ok(exit_code(errors));
            }
            let (Some(from), Some(to)) = (from, to) else {
                bail!("--from and --to are required without --matrix");
            };
            let from = EndpointSpec::parse(&from).map_err(|e| anyhow!(e))?;
            let to = EndpointSpec::parse(&to).map_err(|e| anyhow!(e))?;
            let port = port
                .map(|p| Port::parse(&p))
                .transpose()
                .map_err(|e| anyhow!(e))?;
            let (resources, errors) = load(&inputs)?;
            let model = NetworkModel::build(&resources);
            problems(&model);
            let answer = model.query(&from, &to, port.as_ref());
            crate::print(&match format {
                Format::Json => json(&answer),
                Format::Table => answer_text(&answer),
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
                Format::Table => gaps_table(&gaps),
            })?;
            Ok(exit_code(errors))
        }
        NetworkCommand::Exposure { inputs, format } => {
            let (resources, errors) = load(&inputs)?;
            let exposed = exposure::exposed(&resources);
            crate::print(&match format {
                Format::Json => json(&exposed),
                Format::Table => exposure_table(&exposed),
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

fn answer_text(a: &Answer) -> String {
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

fn matrix_table(m: &Matrix) -> String {
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

fn gaps_table(gaps: &[Gap]) -> String {
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

fn exposure_table(exposed: &[Exposed]) -> String {
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
