//! `kspm fix`: applies the findings' fixes to the files they came from (see `kspm_fix`).
//! Wiring only: the scan plan as for `scan`, then the fix plan, diff or write, and the report.

use anyhow::{Result, bail};
use kspm_engine::{Input, Overrides, ScanPlan};
use kspm_fix::{FixOptions, Written};
use kspm_model::{DiagnosticLevel, Severity};

use crate::exit;

#[derive(clap::Args)]
pub struct FixArgs {
    /// Files and directories to fix (default: the current directory). Helm charts and Kustomize
    /// directories are scanned and reported with where to change them, not edited; standard
    /// input (`-`) is refused.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Print a unified diff of what would change and write nothing; exit 1 if anything would.
    #[arg(long)]
    pub dry_run: bool,
    /// Only fix the findings of these rules: codes, slugs, categories or `all`; repeatable or
    /// comma-separated [default: the rules `kspm scan` runs].
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules not to fix.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Only fix findings at least this severe: critical, high, medium, low or info.
    #[arg(long, value_name = "LEVEL")]
    pub severity: Option<Severity>,
    /// Configuration file [default: kspm.yaml at the root of the first directory].
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<std::path::PathBuf>,
    /// Ignore any discovered kspm.yaml.
    #[arg(long)]
    pub no_config: bool,
}

pub fn run(args: &FixArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![".".to_owned()]
    } else {
        args.paths.clone()
    };
    if paths.iter().any(|p| p == "-") {
        bail!(
            "kspm fix edits files in place: standard input cannot be edited (save it to a file, or use `kspm scan -` to see the fixes)"
        );
    }
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    let mut plan = ScanPlan::resolve(
        &inputs,
        &Overrides {
            config: args.config.clone(),
            no_config: args.no_config,
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            ..Overrides::default()
        },
    )?;
    let rules = plan.rules(Vec::new())?;
    let mut opts = plan.options(inputs, rules, None);
    let fix = FixOptions {
        min_severity: args.severity,
        ..FixOptions::default()
    };
    let fixes = kspm_fix::plan(&mut opts, &fix);
    for d in fixes
        .diagnostics
        .iter()
        .filter(|d| d.level == DiagnosticLevel::Error)
    {
        eprintln!("kspm fix: {d}");
    }
    if args.dry_run {
        for file in fixes.changed() {
            crate::print(&file.diff())?;
        }
        eprint!("{}", kspm_fix::report::summary(&fixes, &fixes.left, true));
        return Ok(if fixes.changed().next().is_some() {
            exit::FINDINGS
        } else {
            exit::OK
        });
    }
    let mut code = exit::OK;
    for (file, written) in kspm_fix::write(&fixes) {
        match written {
            Written::Ok => {}
            Written::ChangedMeanwhile => {
                eprintln!(
                    "kspm fix: {}: changed on disk while kspm fix ran: not written (run it again)",
                    file.name
                );
                code = exit::INPUT_ERRORS;
            }
            Written::Failed(why) => {
                eprintln!("kspm fix: {}: not written: {why}", file.name);
                code = exit::INPUT_ERRORS;
            }
        }
    }
    let (left, _) = kspm_fix::report::rescan(&opts, &fixes);
    crate::print(&kspm_fix::report::summary(&fixes, &left, false))?;
    Ok(code)
}
