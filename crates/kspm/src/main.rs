//! The `kspm` command line. Thin by design: it parses arguments, builds scan options, and hands
//! the result to a report format (`kspm_report`). Everything else lives in the library crates,
//! which return typed errors; [`exit::of_error`] is the one place they become exit codes.

mod cmd;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use kspm_engine::{Input, Overrides, ScanOptions, ScanPlan, scan};
use kspm_rules::{KubeVersion, find_rule, rules};

use cmd::output::OutputArgs;

/// mimalloc on every target: musl's allocator serialises parallel scans behind one lock, and
/// glibc's keeps the memory of a burst (the agent's first sync of every finding) resident.
/// `--features system-alloc` keeps the system's, for heap profilers that hook malloc.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_purge_delay` (its position in `mi_option_t`; the bindings name only
/// mimalloc 2's options): milliseconds before freed memory is returned to the system.
#[cfg(not(feature = "system-alloc"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed memory to the system after 10 ms (mimalloc 2's default) instead of mimalloc 3's
/// second: a scan frees its parts' findings while it joins them, and the agent frees a sync's
/// burst; with a second's delay both stayed resident at the peak. Measured in
/// docs/BENCHMARKS.md ("The allocator").
/// `MIMALLOC_PURGE_DELAY` in the environment, read by mimalloc itself, still decides (the
/// benchmark of the delays sets it).
#[cfg(not(feature = "system-alloc"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it takes no
    // pointer, is thread-safe, and may be called at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
    kspm_engine::memory::set_release(release_memory);
}

/// Hands memory freed in bulk back to the system now ([`kspm_engine::memory`]): the scan calls
/// it while it joins its parallel parts' findings, whose freed lists would otherwise still be
/// resident when the joined list is full.
#[cfg(not(feature = "system-alloc"))]
#[allow(unsafe_code)]
fn release_memory() {
    // SAFETY: `mi_collect` takes no pointer: it collects the calling thread's free pages and
    // purges the freed pages of mimalloc's arenas; it may be called at any time, from any
    // thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(feature = "system-alloc")]
fn tune_allocator() {}

#[cfg(all(test, not(feature = "system-alloc")))]
mod allocator_tests {
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an integer from mimalloc's option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        // mimalloc 3's default for the purge delay, and no other option's: the position is the
        // one meant (a mimalloc update that moved it fails here).
        assert_eq!(get(), 1000);
        super::tune_allocator();
        assert_eq!(get(), 10);
    }
}

/// Exit codes, documented in the README.
pub(crate) mod exit {
    /// Nothing at or above `--fail-on`.
    pub const OK: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Some input could not be read or judged (after reporting everything else).
    pub const INPUT_ERRORS: u8 = 2;
    /// Usage or internal error.
    pub const USAGE: u8 = 3;

    /// A live scan could not read some kinds (permissions): the findings cover only what was
    /// read. Wins over 1 and 2, since a partial result can neither pass nor fail a cluster.
    pub const PARTIAL: u8 = 4;

    /// The exit code of a command that stopped with `e`: the one place where the libraries'
    /// typed errors become codes. Something outside kspm that could not be read or reached (a
    /// cluster, the finding store, a file the dashboard serves) is an input error; anything
    /// else (flags, configuration, a store URL) is a usage error.
    pub fn of_error(e: &anyhow::Error) -> u8 {
        e.chain().find_map(input_error).unwrap_or(USAGE)
    }

    /// `Some(INPUT_ERRORS)` for an error about input, `Some(USAGE)` for one that says so
    /// itself, `None` to look further down the chain.
    fn input_error(e: &(dyn std::error::Error + 'static)) -> Option<u8> {
        #[cfg(feature = "cluster")]
        if e.is::<kspm_cluster::ClusterError>() {
            return Some(INPUT_ERRORS);
        }
        #[cfg(feature = "store")]
        if let Some(s) = e.downcast_ref::<kspm_store::StoreError>() {
            return Some(store(s));
        }
        #[cfg(feature = "serve")]
        if let Some(s) = e.downcast_ref::<kspm_serve::ServeError>() {
            return Some(match s {
                kspm_serve::ServeError::Store(s) => store(s),
                // A token or TLS file that cannot be read, an address that cannot be bound.
                _ => INPUT_ERRORS,
            });
        }
        #[cfg(feature = "admission")]
        if let Some(a) = e.downcast_ref::<kspm_admission::AdmissionError>() {
            return Some(match a {
                kspm_admission::AdmissionError::Store(s) => store(s),
                kspm_admission::AdmissionError::Runtime(_) => USAGE,
                // A certificate that cannot be loaded, an address that cannot be bound.
                _ => INPUT_ERRORS,
            });
        }
        #[cfg(feature = "agent")]
        if let Some(a) = e.downcast_ref::<kspm_agent::AgentError>() {
            return match a {
                kspm_agent::AgentError::Cluster(_) => Some(INPUT_ERRORS),
                kspm_agent::AgentError::Store(s) => Some(store(s)),
                _ => Some(USAGE),
            };
        }
        let _ = e;
        None
    }

    /// A store that cannot be reached, opened or written is an input problem, like an
    /// unreachable cluster; a bad URL is a usage error.
    #[cfg(feature = "store")]
    fn store(e: &kspm_store::StoreError) -> u8 {
        if matches!(e, kspm_store::StoreError::Url { .. }) {
            USAGE
        } else {
            INPUT_ERRORS
        }
    }

    /// The error and its causes on one line, each cause once: a typed error that names its
    /// source in its own message is not repeated by the cause after it.
    pub fn message(e: &anyhow::Error) -> String {
        let mut text = String::new();
        for cause in e.chain() {
            let part = cause.to_string();
            if text.contains(&part) {
                continue;
            }
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        text
    }
}

#[derive(Parser)]
#[command(
    name = "kspm",
    version,
    about = "Kubernetes Security Posture Management: finds risky settings in manifests, with the evidence and the fix."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan manifests (files, directories, `-` for stdin, Helm charts, Kustomize directories) or,
    /// with `--cluster`, a live cluster.
    Scan(ScanArgs),
    /// List the rule catalogue.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Only the rules behind one framework's controls (`kspm frameworks` lists the keys).
        #[arg(long)]
        framework: Option<String>,
        /// Custom policies to list after the built-in rules (file or directory); repeatable.
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// List the compliance frameworks with their versions and control counts.
    Frameworks {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Apply the findings' fixes to the manifest files, keeping comments and formatting.
    Fix(cmd::fix::FixArgs),
    /// Check the node kspm runs on: control-plane flags, kubelet settings, file permissions (CIS 1-4).
    Node(cmd::node::NodeArgs),
    /// Show one rule's documentation: what, why, remediation, example, frameworks.
    Explain {
        /// A rule code (PS001) or slug (host-pid).
        rule: String,
        /// Custom policies to look the rule up in (a policy's code or slug); repeatable.
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// RBAC analysis: who-can, permissions, escalation paths and their graph.
    Rbac {
        #[command(subcommand)]
        command: cmd::rbac::RbacCommand,
    },
    /// Network analysis: reachability under NetworkPolicies, coverage, exposure.
    Network {
        #[command(subcommand)]
        command: cmd::network::NetworkCommand,
    },
    /// Custom policies: test them against the cases kept beside them.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Findings recorded in the finding store (`kspm scan --store`), with their state: open, resolved or suppressed.
    Findings(cmd::store::FindingsArgs),
    /// Counts by severity over time and mean time to resolve, from the finding store.
    History(cmd::store::HistoryArgs),
    /// Watch a live cluster and keep its findings current in the finding store; serves /healthz, /readyz and /metrics (see docs/agent.md).
    Agent(cmd::agent::AgentArgs),
    /// Alerts sent by the agent (routes and sinks in kspm.yaml, see docs/alerts.md): test the sinks.
    #[command(subcommand)]
    Alerts(cmd::alerts::AlertsCommand),
    /// Serve a validating admission webhook that judges objects with the scan's rules: deny, warn or audit by severity (see docs/admission.md).
    Admission(cmd::admission::AdmissionArgs),
    /// Fix a live cluster: patch the owners of findings (dry run first, never forcing a concurrent edit), record and undo (see docs/remediate.md).
    Remediate(cmd::remediate::RemediateArgs),
    /// Serve the dashboard over the finding store: fleet, clusters, findings, objects, rules, and a JSON API under /api/v1/ (see docs/serve.md).
    Serve(cmd::serve::ServeArgs),
    /// Show the version, the git commit it was built from, and the Kubernetes and framework versions it knows.
    Version {
        #[arg(long, value_enum, default_value_t = VersionFormat::Text)]
        format: VersionFormat,
    },
    /// Print a shell completion script (e.g. `source <(kspm completion bash)`).
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (one per command) into a directory; docs/man/ holds them, generated.
    #[command(hide = true)]
    GenerateMan { dir: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum VersionFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// What to scan (default: the current directory). `-` reads standard input.
    paths: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Add a compliance section for this framework (and run its rules); repeatable or comma-separated.
    #[arg(long = "framework", value_delimiter = ',')]
    frameworks: Vec<String>,
    /// Run only these rules (codes, slugs, categories, two-letter code prefixes, or `all`); repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Skip these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Configuration file, trusted as written [default: kspm.yaml at the root of the first directory scanned, applied with the limits of a discovered file: see docs/security.md].
    #[arg(long, conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore any kspm.yaml found in the scanned tree (for CI on code others wrote) [env: KSPM_NO_CONFIG=1].
    #[arg(long)]
    no_config: bool,
    /// Let Kustomize fetch the remote resources and bases a kustomization names (off by default: kspm fetches nothing).
    #[arg(long)]
    allow_remote: bool,
    /// Kubernetes version the manifests target, for deprecated and removed APIs.
    #[arg(long, value_parser = parse_version)]
    k8s_version: Option<KubeVersion>,
    /// Ignore `kspm.io/ignore` annotations, so workload owners cannot waive their own findings.
    #[arg(long)]
    no_inline_exceptions: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    policy: cmd::policy::PolicyFlags,
    #[command(flatten)]
    store: cmd::store::ScanStoreArgs,
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// Scan the live cluster of the current kubeconfig context (or the in-cluster service account).
    #[arg(long)]
    cluster: bool,
    /// Kubeconfig context to use [default: the current context].
    #[arg(long, requires = "cluster")]
    context: Option<String>,
    /// Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, requires = "cluster")]
    kubeconfig: Option<PathBuf>,
    /// Only these namespaces (repeatable); cluster-scoped kinds other than these Namespaces are then not read.
    #[arg(long = "namespace", short = 'n', requires = "cluster")]
    namespaces: Vec<String>,
    /// Objects per list request.
    #[arg(long, default_value_t = 500, requires = "cluster", hide = true)]
    page_size: u32,
    /// Print where the time of a live scan went (listing vs evaluating) on standard error.
    #[arg(long, requires = "cluster")]
    stats: bool,
    /// Also evaluate the admission policies installed in the cluster: ValidatingAdmissionPolicies with their bindings and params, Gatekeeper ConstraintTemplates and constraints (with any --policy, as one set). Needs `list` on them [or `cluster_policies: true` in kspm.yaml].
    #[arg(long, requires = "cluster")]
    cluster_policies: bool,
}

fn parse_version(s: &str) -> Result<KubeVersion, kspm_rules::NotAVersion> {
    s.parse()
}

/// The command line, named `kubectl kspm` in usage and help when run as the kubectl plugin
/// (installed or linked as `kubectl-kspm`: kubectl runs plugins with that path as argv[0]).
fn command() -> clap::Command {
    let cmd = Cli::command();
    if invoked_as_kubectl_plugin() {
        cmd.bin_name("kubectl kspm")
    } else {
        cmd
    }
}

fn invoked_as_kubectl_plugin() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .is_some_and(|p| p.file_stem().is_some_and(|s| s == "kubectl-kspm"))
}

fn parse() -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let mut matches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let outcome = std::panic::catch_unwind(|| run(cli));
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("kspm: error: {}", exit::message(&e));
            ExitCode::from(exit::of_error(&e))
        }
        Err(_) => {
            eprintln!(
                "kspm: internal error (a bug: please report it with the input that caused it)"
            );
            ExitCode::from(exit::USAGE)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    cmd::policy::install_worker();
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules {
            format,
            framework,
            policies,
        } => {
            cmd::policy::register(&policies)?;
            let framework = framework
                .as_deref()
                .map(cmd::frameworks::parse)
                .transpose()?;
            let text = match format {
                ListFormat::Json => kspm_report::catalog::rules_json(&listed(framework)),
                ListFormat::Table => {
                    kspm_report::catalog::rules_table(&listed(framework), framework)
                }
            };
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Frameworks { format } => {
            print(&match format {
                ListFormat::Json => kspm_report::catalog::frameworks_json(),
                ListFormat::Table => kspm_report::catalog::frameworks_table(),
            })?;
            Ok(exit::OK)
        }
        Command::Fix(args) => cmd::fix::run(&args),
        Command::Node(args) => cmd::node::run(&args),
        Command::Explain { rule, policies } => {
            cmd::policy::register(&policies)?;
            let Some(r) = find_rule(&rule) else {
                bail!("no rule `{rule}` (see `kspm rules`)");
            };
            print(&kspm_report::docs::rule_page(r))?;
            Ok(exit::OK)
        }
        Command::Rbac { command } => cmd::rbac::run(command),
        Command::Network { command } => cmd::network::run(command),
        Command::Policy(cmd) => cmd::policy::run(&cmd),
        Command::Findings(args) => cmd::store::findings(&args),
        Command::History(args) => cmd::store::history(&args),
        Command::Agent(args) => cmd::agent::run(&args),
        Command::Alerts(command) => cmd::alerts::run(&command),
        Command::Admission(args) => cmd::admission::run(&args),
        Command::Remediate(args) => cmd::remediate::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Version { format } => {
            print(&match format {
                VersionFormat::Json => cmd::version::json(),
                VersionFormat::Text => cmd::version::text(),
            })?;
            Ok(exit::OK)
        }
        Command::Completion { shell } => {
            // For `kspm`: kubectl completes plugins through its own `kubectl_complete-*` helpers.
            print(&cmd::completion::script(shell, Cli::command(), "kspm"))?;
            Ok(exit::OK)
        }
        Command::GenerateMan { dir } => {
            // Always named `kspm`: the pages are committed, whatever name this binary runs under.
            cmd::completion::man_pages(Cli::command(), &dir)?;
            Ok(exit::OK)
        }
    }
}

pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`kspm rules | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

fn run_scan(args: &ScanArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![".".to_owned()]
    } else {
        args.paths.clone()
    };
    if args.cluster.cluster && !args.paths.is_empty() {
        bail!("--cluster scans the live cluster: leave out paths, or scan them in a second run");
    }
    let recording =
        cmd::store::recording(&args.store, args.cluster.cluster, &args.cluster.namespaces)?;
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    let frameworks = args
        .frameworks
        .iter()
        .map(|f| cmd::frameworks::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let mut plan = ScanPlan::resolve(
        &inputs,
        &Overrides {
            config: args.config.clone(),
            no_config: args.no_config,
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            frameworks,
            k8s_version: args.k8s_version,
            fail_on: args.output.fail_on,
            no_inline_exceptions: args.no_inline_exceptions,
            allow_remote: args.allow_remote,
        },
    )?;
    // The admission policies installed in the cluster, read first: they load with the files.
    let from_cluster = if args.cluster.cluster
        && (args.cluster.cluster_policies || plan.config.cluster_policies == Some(true))
    {
        Some(read_cluster_policies(&args.cluster)?)
    } else {
        None
    };
    // Policies first: their codes become names that selection and severity overrides know.
    let policies = cmd::policy::load_for_scan(
        &args.policy,
        &plan.config,
        &plan.selection.ignore,
        from_cluster.as_ref().map(|c| c.resources.as_slice()),
    )?;
    let rules = plan.rules(policies.rules)?;
    let opts = plan.options(inputs, rules, policies.set);
    let mut result = if args.cluster.cluster {
        scan_cluster(&args.cluster, &opts)?
    } else {
        scan(&opts)
    };
    let mut early = plan.diagnostics;
    early.extend(policies.diagnostics);
    if !early.is_empty() {
        result.diagnostics.splice(0..0, early);
    }
    if let Some(read) = from_cluster {
        // A policy kind that could not be read leaves the scan as partial as a workload kind.
        result.partial |= read.partial;
        result.diagnostics.splice(0..0, read.diagnostics);
    }

    let code = cmd::output::finish(&result, &args.output, plan.fail_on)?;
    if let Some(recording) = &recording {
        cmd::store::record(recording, &result)?;
    }
    // The process ends next: freeing hundreds of thousands of findings one by one would cost a
    // tenth of a large scan, and the system takes the memory back at once.
    std::mem::forget(result);
    Ok(code)
}

/// The policy objects installed in a cluster (`--cluster-policies`), and what could not be read.
struct ClusterPolicies {
    resources: Vec<kspm_model::Resource>,
    diagnostics: Vec<kspm_model::Diagnostic>,
    partial: bool,
}

#[cfg(feature = "cluster")]
fn target(args: &ClusterArgs) -> kspm_cluster::Target {
    kspm_cluster::Target {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespaces: args.namespaces.clone(),
        page_size: args.page_size,
        ..kspm_cluster::Target::default()
    }
}

/// Reads the admission policies installed in the cluster.
#[cfg(feature = "cluster")]
fn read_cluster_policies(args: &ClusterArgs) -> Result<ClusterPolicies> {
    let read = kspm_cluster::load_policies(&target(args))?;
    Ok(ClusterPolicies {
        resources: read.resources,
        diagnostics: read.diagnostics,
        partial: read.partial,
    })
}

#[cfg(not(feature = "cluster"))]
fn read_cluster_policies(_: &ClusterArgs) -> Result<ClusterPolicies> {
    bail!("this kspm was built without live-cluster support (the `cluster` feature)")
}

/// Scans the live cluster.
#[cfg(feature = "cluster")]
fn scan_cluster(args: &ClusterArgs, opts: &ScanOptions) -> Result<kspm_engine::ScanResult> {
    let (result, stats) = kspm_cluster::scan(&target(args), opts)?;
    if args.stats {
        let secs = |d: std::time::Duration| d.as_secs_f64();
        eprintln!(
            "kspm: read {} objects in {} requests ({} retries, {} restarted lists); judged {}, {} on their controller; listing {:.2} s, evaluating {:.2} s",
            stats.objects,
            stats.requests,
            stats.retries,
            stats.restarts,
            stats.checked,
            stats.on_owner,
            secs(stats.listing),
            secs(stats.evaluating),
        );
    }
    Ok(result)
}

#[cfg(not(feature = "cluster"))]
fn scan_cluster(_: &ClusterArgs, _: &ScanOptions) -> Result<kspm_engine::ScanResult> {
    bail!("this kspm was built without live-cluster support (the `cluster` feature)")
}

fn listed(framework: Option<kspm_frameworks::Framework>) -> Vec<&'static kspm_rules::Rule> {
    match framework {
        Some(fw) => kspm_engine::framework_rules(fw),
        None => {
            let mut all = rules().to_vec();
            all.extend(kspm_rules::custom_rules());
            all
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exit;

    #[test]
    fn errors_about_input_exit_2_and_the_rest_3() {
        let plain = anyhow::anyhow!("--foo takes a number");
        assert_eq!(exit::of_error(&plain), exit::USAGE);
        #[cfg(feature = "cluster")]
        {
            let e = anyhow::Error::new(kspm_cluster::ClusterError::Unreachable("refused".into()))
                .context("scanning");
            assert_eq!(
                exit::of_error(&e),
                exit::INPUT_ERRORS,
                "found down the chain"
            );
        }
        #[cfg(feature = "serve")]
        {
            let e = anyhow::Error::new(kspm_serve::ServeError::Token {
                path: "t".into(),
                reason: kspm_serve::TokenError::TooShort,
            });
            assert_eq!(exit::of_error(&e), exit::INPUT_ERRORS);
        }
    }

    #[test]
    fn a_cause_the_message_already_names_is_not_repeated() {
        let e = anyhow::anyhow!("address in use").context("cannot listen on 127.0.0.1:80");
        assert_eq!(
            exit::message(&e),
            "cannot listen on 127.0.0.1:80: address in use"
        );
        #[cfg(feature = "admission")]
        {
            // thiserror puts the source in the message and in the chain: said once.
            let e = anyhow::Error::new(kspm_admission::AdmissionError::Listen {
                addr: "127.0.0.1:80".parse().unwrap(),
                source: std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
            });
            assert_eq!(
                exit::message(&e),
                "cannot listen on 127.0.0.1:80: address in use"
            );
            assert_eq!(exit::of_error(&e), exit::INPUT_ERRORS);
        }
    }
}
