//! The `kspm` command line. Thin by design: it parses arguments, builds scan options, and hands
//! the result to a report format. Everything else lives in the library crates.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kspm_engine::{Config, Input, ScanOptions, Selection, config, scan, select_rules};
use kspm_model::Severity;
use kspm_report::ReportOptions;
use kspm_rules::{KubeVersion, Settings, find_rule, rules};

mod cmd;

/// Exit codes, documented in the README.
mod exit {
    /// Nothing at or above `--fail-on`.
    pub const OK: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Some input could not be read or judged (after reporting everything else).
    pub const INPUT_ERRORS: u8 = 2;
    /// Usage or internal error.
    pub const USAGE: u8 = 3;
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
    /// Scan manifests: files, directories, `-` for stdin, Helm charts, Kustomize directories.
    Scan(ScanArgs),
    /// List the rule catalogue.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one rule's documentation: what, why, remediation, example, frameworks.
    Explain {
        /// A rule code (PS001) or slug (host-pid).
        rule: String,
        /// Custom policies to look the rule up in (a policy's code or slug); repeatable.
        #[arg(long = "policy", value_name = "PATH")]
        policies: Vec<PathBuf>,
    },
    /// Custom policies: test them against the cases kept beside them.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// What to scan (default: the current directory). `-` reads standard input.
    paths: Vec<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to a file instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low, or `fail_on` in kspm.yaml].
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Run only these rules (codes, slugs, categories, two-letter code prefixes, or `all`); repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Skip these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Configuration file [default: kspm.yaml at the root of the first path].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Kubernetes version the manifests target, for deprecated and removed APIs.
    #[arg(long, value_parser = parse_version)]
    k8s_version: Option<KubeVersion>,
    /// Ignore `kspm.io/ignore` annotations, so workload owners cannot waive their own findings.
    #[arg(long)]
    no_inline_exceptions: bool,
    /// Also list suppressed findings (marked as such).
    #[arg(long)]
    show_suppressed: bool,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(flatten)]
    policy: cmd::policy::PolicyFlags,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_version(s: &str) -> Result<KubeVersion, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
            eprintln!("kspm: error: {e:#}");
            ExitCode::from(exit::USAGE)
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
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules { format } => {
            let text = match format {
                ListFormat::Json => rules_json(),
                ListFormat::Table => rules_table(),
            };
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Explain { rule, policies } => {
            cmd::policy::register(&policies)?;
            let Some(r) = find_rule(&rule) else {
                bail!("no rule `{rule}` (see `kspm rules`)");
            };
            print(&kspm_report::docs::rule_page(r))?;
            Ok(exit::OK)
        }
        Command::Policy(cmd) => cmd::policy::run(&cmd),
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
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();

    let config_path = match &args.config {
        Some(p) => Some(p.clone()),
        None => inputs.iter().find_map(|i| match i {
            Input::Path(p) => config::discover(p),
            Input::Stdin => None,
        }),
    };
    let config = match &config_path {
        Some(p) => Config::load(p).map_err(|e| anyhow::anyhow!("invalid configuration:\n{e}"))?,
        None => Config::default(),
    };

    let selection = Selection {
        select: if args.select.is_empty() {
            config.select.clone()
        } else {
            Some(args.select.clone())
        },
        ignore: config.ignore.iter().chain(&args.ignore).cloned().collect(),
    };
    // Policies first: their codes become names that selection and severity overrides know.
    let policies = cmd::policy::load_for_scan(&args.policy, &config, &selection.ignore)?;
    let mut selected = select_rules(&selection)?;
    selected.extend(policies.rules);
    for name in config.severity.keys() {
        if find_rule(name).is_none() {
            bail!("invalid configuration: rules.severity names unknown rule `{name}`");
        }
    }
    let settings = Settings {
        k8s_version: args
            .k8s_version
            .or(config.k8s_version)
            .unwrap_or(KubeVersion::LATEST),
    };
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(Severity::Low);
    let inline = !args.no_inline_exceptions && config.inline_exceptions.unwrap_or(true);
    let opts = ScanOptions {
        inputs,
        rules: selected,
        policies: policies.set,
        settings,
        limits: config.limits.clone().unwrap_or_default(),
        inline_exceptions: inline,
        config,
        today: None,
    };
    let mut result = scan(&opts);
    if !policies.diagnostics.is_empty() {
        result.diagnostics.splice(0..0, policies.diagnostics);
    }

    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let ropts = ReportOptions {
        show_suppressed: args.show_suppressed,
        color,
    };
    let emit = |out: &mut dyn Write| -> std::io::Result<()> {
        let text = match args.format {
            // JSON is streamed: a large scan's report never sits in memory as one string.
            Format::Json => return kspm_report::json::write(&result, &ropts, out),
            Format::Table => kspm_report::table::render(&result, &ropts),
            Format::Sarif => kspm_report::sarif::render(&result, &ropts),
            Format::Junit => kspm_report::junit::render(&result, &ropts),
        };
        out.write_all(text.as_bytes())?;
        out.flush()
    };
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("writing {}", path.display()))?;
            emit(&mut file).with_context(|| format!("writing {}", path.display()))?;
        }
        None => match emit(&mut std::io::stdout().lock()) {
            // A closed pipe (`kspm scan | head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.context("writing to standard output")?,
        },
    }
    if args.format != Format::Table {
        if args.output.is_some() {
            eprintln!("{}", kspm_report::table::summary(&result));
        } else {
            // Machine formats keep stdout clean; input problems still reach a human on stderr.
            for d in &result.diagnostics {
                eprintln!("kspm: {d}");
            }
        }
    }

    if result.worst().is_some_and(|w| w >= fail_on) {
        Ok(exit::FINDINGS)
    } else if result.has_errors() {
        Ok(exit::INPUT_ERRORS)
    } else {
        Ok(exit::OK)
    }
}

fn rules_json() -> String {
    let list: Vec<serde_json::Value> = rules()
        .iter()
        .map(|r| {
            let m = &r.meta;
            serde_json::json!({
                "code": m.code,
                "slug": m.slug,
                "title": m.title,
                "severity": m.severity,
                "category": m.category.as_str(),
                "target": r.check.target(),
                "default": m.default_enabled,
                "has_fix": m.has_fix,
                "frameworks": kspm_report::frameworks_json(r),
                "equivalents": m.equivalents,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).expect("serializes");
    s.push('\n');
    s
}

fn rules_table() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:<36} {:<9} {:<16} {:<8} {:<4} TITLE",
        "CODE", "SLUG", "SEVERITY", "CATEGORY", "DEFAULT", "FIX"
    );
    for r in rules() {
        let m = &r.meta;
        let _ = writeln!(
            out,
            "{:<6} {:<36} {:<9} {:<16} {:<8} {:<4} {}",
            m.code,
            m.slug,
            m.severity.as_str(),
            m.category.as_str(),
            if m.default_enabled { "yes" } else { "no" },
            if m.has_fix { "yes" } else { "-" },
            m.title
        );
    }
    let _ = writeln!(
        out,
        "\n{} rules; `kspm explain <code|slug>` shows one.",
        rules().len()
    );
    out
}
