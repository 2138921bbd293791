//! Custom policies on the command line: `kspm scan --policy PATH` and `policies:` in kspm.yaml
//! load them for a scan (with `--cluster-policies`, together with the cluster's own); `kspm policy test PATH` runs the test cases kept beside them.
//!
//! Without the `policies` feature the flags still parse, and asking for a policy is a clear
//! error rather than a silent no-op.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use kspm_engine::{Config, Policies};
use kspm_model::{Diagnostic, Resource};
use kspm_rules::Rule;

/// Scan flags about custom policies.
#[derive(clap::Args, Debug, Default)]
pub struct PolicyFlags {
    /// Custom policy file or directory (Rego, CEL, ValidatingAdmissionPolicy + binding, Gatekeeper template + constraints); repeatable. Added to `policies:` in kspm.yaml.
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Refuse to scan when a policy does not load (syntax or type error), instead of skipping it with a diagnostic.
    #[arg(long)]
    pub strict_policies: bool,
    /// Time budget for one policy on one resource, in milliseconds [default: 1000, or `policy_limits.timeout_ms`].
    #[arg(long, value_name = "MS")]
    pub policy_timeout: Option<u64>,
    /// Memory budget for one policy on one resource, in MiB; policies then run in worker processes that enforce it. 0 turns the bound off [default: 512, or `policy_limits.memory_mb`].
    #[arg(long, value_name = "MIB")]
    pub policy_memory: Option<u64>,
}

/// Policies loaded for a scan.
#[derive(Default)]
pub struct ForScan {
    pub set: Option<Arc<dyn Policies>>,
    /// Their rules, already filtered by `--ignore`.
    pub rules: Vec<&'static Rule>,
    /// Load problems, reported with the scan's other input problems.
    pub diagnostics: Vec<Diagnostic>,
}

#[cfg(feature = "policies")]
fn limits(flags: &PolicyFlags, config: &Config) -> kspm_policy::Limits {
    let mut l = kspm_policy::Limits::default();
    if let Some(ms) = flags.policy_timeout.or(config.policy_timeout_ms) {
        l.timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(n) = config.policy_max_violations {
        l.max_violations = n;
    }
    if let Some(mib) = flags.policy_memory.or(config.policy_memory_mb) {
        l.memory = memory(mib);
    }
    l
}

/// MiB on the command line to the bound in bytes; 0 is no bound.
#[cfg(feature = "policies")]
fn memory(mib: u64) -> Option<u64> {
    (mib > 0).then(|| mib.saturating_mul(1 << 20))
}

/// Makes this binary the policy worker: `kspm policy worker` (hidden) serves the protocol of
/// `kspm_policy::worker` on its standard streams.
#[cfg(feature = "policies")]
pub fn install_worker() {
    if let Ok(path) = std::env::current_exe() {
        kspm_policy::worker::install(kspm_policy::worker::Program {
            path,
            args: vec!["policy".into(), "worker".into()],
        });
    }
}

#[cfg(not(feature = "policies"))]
pub fn install_worker() {}

/// Loads the policies named on the command line and in the configuration, and with
/// `--cluster-policies` the policy objects read from the cluster (`cluster`), into one set. Must
/// run before rule selection: the policies' codes become known names for `--ignore` and
/// `rules.severity`.
pub fn load_for_scan(
    flags: &PolicyFlags,
    config: &Config,
    ignore: &[String],
    cluster: Option<&[Resource]>,
) -> Result<ForScan> {
    let paths = policy_paths(flags, config);
    if paths.is_empty() && cluster.is_none() {
        return Ok(ForScan::default());
    }
    load_paths(&paths, cluster.unwrap_or_default(), flags, config, ignore)
}

/// The policy files and directories of a scan: `--policy`, then `policies:` in kspm.yaml.
pub fn policy_paths(flags: &PolicyFlags, config: &Config) -> Vec<PathBuf> {
    flags
        .policies
        .iter()
        .chain(&config.policies)
        .cloned()
        .collect()
}

#[cfg(feature = "policies")]
fn load_paths(
    paths: &[PathBuf],
    cluster: &[Resource],
    flags: &PolicyFlags,
    config: &Config,
    ignore: &[String],
) -> Result<ForScan> {
    let loaded = kspm_policy::load_with_cluster(paths, cluster, limits(flags, config));
    if flags.strict_policies && loaded.has_errors() {
        let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        bail!(
            "policies did not load (--strict-policies):\n{}",
            text.join("\n")
        );
    }
    let set: Arc<dyn Policies> = Arc::new(loaded.set);
    let rules = set
        .rules()
        .into_iter()
        .filter(|r| !ignore.iter().any(|n| kspm_engine::rule_matches(r, n)))
        .collect();
    Ok(ForScan {
        set: Some(set),
        rules,
        diagnostics: loaded.diagnostics,
    })
}

#[cfg(not(feature = "policies"))]
fn load_paths(
    _: &[PathBuf],
    _: &[Resource],
    _: &PolicyFlags,
    _: &Config,
    _: &[String],
) -> Result<ForScan> {
    bail!("this kspm was built without custom policy support (cargo feature `policies`)")
}

/// Loads policies only to make their rules known (`kspm explain CODE --policy PATH`).
pub fn register(paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let flags = PolicyFlags::default();
    let loaded = load_paths(paths, &[], &flags, &Config::default(), &[])?;
    for d in &loaded.diagnostics {
        eprintln!("kspm: {d}");
    }
    Ok(())
}

/// `kspm policy ...`
#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Run the test cases kept beside policies (`<name>.tests.yaml`); exits 1 when one fails.
    Test(TestArgs),
    /// Evaluate policies for a scan in a separate, memory-bounded process (started by kspm itself).
    #[command(hide = true)]
    Worker,
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// Policy files or directories whose test cases to run (default: the current directory).
    paths: Vec<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = TestFormat::Text)]
    format: TestFormat,
    /// Write the report to a file instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Time budget for one policy on one resource, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    policy_timeout: u64,
    /// Memory budget for one policy on one resource, in MiB (0: no bound, evaluate in this process).
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    policy_memory: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TestFormat {
    Text,
    Junit,
}

/// Runs `kspm policy ...`; returns the exit code (0 all passed, 1 a case failed or a policy did
/// not load).
#[cfg(feature = "policies")]
pub fn run(cmd: &PolicyCommand) -> Result<u8> {
    let args = match cmd {
        PolicyCommand::Test(args) => args,
        PolicyCommand::Worker => {
            kspm_policy::worker::serve(std::io::stdin().lock(), std::io::stdout().lock())?;
            return Ok(0);
        }
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let limits = kspm_policy::Limits {
        timeout: std::time::Duration::from_millis(args.policy_timeout),
        memory: memory(args.policy_memory),
        ..kspm_policy::Limits::default()
    };
    let report = kspm_policy::testing::run(&paths, limits);
    let text = match args.format {
        TestFormat::Text => kspm_report::policy_test::text(&report),
        TestFormat::Junit => kspm_report::policy_test::junit(&report),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            eprintln!("{} passed, {} failed", report.passed(), report.failed());
        }
        None => crate::print(&text)?,
    }
    Ok(u8::from(!report.ok()))
}

#[cfg(not(feature = "policies"))]
pub fn run(_: &PolicyCommand) -> Result<u8> {
    bail!("this kspm was built without custom policy support (cargo feature `policies`)")
}
