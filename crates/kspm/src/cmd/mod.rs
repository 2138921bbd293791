//! Subcommands beyond `scan`, `rules` and `explain`, one module each: those that analyse all
//! resources at once (RBAC, network) get them from [`load`], the one place that knows where they
//! come from; `output` is the report output every scanning command shares; `policy` loads and
//! tests custom policies; `store` records scans in the finding store and reads them back.

pub mod admission;
pub mod agent;
pub mod alerts;
pub mod completion;
pub mod fix;
pub mod frameworks;
pub mod network;
pub mod node;
pub mod output;
pub mod policy;
pub mod rbac;
pub mod remediate;
pub mod serve;
pub mod store;
pub mod version;

use anyhow::Result;
use kspm_model::{Diagnostic, Resource};

/// The inputs of an analysis command: files, directories, `-`, charts, overlays, or a live
/// cluster.
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// What to read (default: the current directory). `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Read the live cluster of the current kubeconfig context instead of files.
    #[arg(long, conflicts_with = "paths")]
    pub cluster: bool,
    /// Kubeconfig context to use with --cluster [default: the current context].
    #[arg(long, requires = "cluster")]
    pub context: Option<String>,
    /// Kubeconfig file to use with --cluster [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, requires = "cluster")]
    pub kubeconfig: Option<std::path::PathBuf>,
}

/// What went wrong reading the inputs, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problems {
    None,
    /// Some input could not be read (reported on standard error).
    Errors,
    /// A live cluster could not be read in full (the kinds are named on standard error).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    Partial,
}

/// Every resource of the inputs. Problems are printed to standard error (they never stop the
/// analysis) and returned for the exit code. `Err` when a live cluster cannot be read at all.
pub fn load(inputs: &Inputs) -> Result<(Vec<Resource>, Problems)> {
    if inputs.cluster {
        return load_cluster(inputs);
    }
    let paths = if inputs.paths.is_empty() {
        vec![".".to_owned()]
    } else {
        inputs.paths.clone()
    };
    let inputs: Vec<kspm_engine::Input> = paths
        .iter()
        .map(|p| kspm_engine::Input::from_arg(p))
        .collect();
    let (resources, diagnostics) = kspm_engine::load(&inputs, &kspm_model::yaml::Limits::default());
    report(&diagnostics);
    let errors = diagnostics
        .iter()
        .any(|d| d.level == kspm_model::DiagnosticLevel::Error);
    Ok((
        resources,
        if errors {
            Problems::Errors
        } else {
            Problems::None
        },
    ))
}

#[cfg(feature = "cluster")]
fn load_cluster(inputs: &Inputs) -> Result<(Vec<Resource>, Problems)> {
    let target = kspm_cluster::Target {
        kubeconfig: inputs.kubeconfig.clone(),
        context: inputs.context.clone(),
        ..kspm_cluster::Target::default()
    };
    let loaded = kspm_cluster::load(&target)?;
    report(&loaded.diagnostics);
    let problems = if loaded.partial {
        Problems::Partial
    } else {
        Problems::None
    };
    Ok((loaded.resources, problems))
}

#[cfg(not(feature = "cluster"))]
fn load_cluster(_: &Inputs) -> Result<(Vec<Resource>, Problems)> {
    anyhow::bail!("this kspm was built without live-cluster support (the `cluster` feature)")
}

fn report(diagnostics: &[Diagnostic]) {
    let mut diagnostics = diagnostics.to_vec();
    kspm_engine::source::collapse_notices(&mut diagnostics);
    for d in &diagnostics {
        eprintln!("kspm: {}", kspm_report::table::sanitize(&d.to_string()));
    }
}

/// The exit code of an analysis: input problems are reported as such, answers are not failures.
pub fn exit_code(problems: Problems) -> u8 {
    match problems {
        Problems::None => crate::exit::OK,
        Problems::Errors => crate::exit::INPUT_ERRORS,
        Problems::Partial => crate::exit::PARTIAL,
    }
}

pub use kspm_report::text::json;

/// `500ms`, `2s`, `30m`, `6h`, `1d`.
#[cfg(feature = "store")]
pub fn span(text: &str, flag: &str) -> Result<std::time::Duration> {
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.parse::<u64>().ok().map(std::time::Duration::from_millis)
    } else {
        kspm_store::time::parse_duration(text)
            .ok()
            .and_then(|s| u64::try_from(s).ok())
            .map(std::time::Duration::from_secs)
    };
    match parsed {
        Some(d) if !d.is_zero() => Ok(d),
        _ => anyhow::bail!(
            "--{flag} takes a positive span such as 500ms, 2s, 30m, 6h (got `{text}`)"
        ),
    }
}
