//! What every scanning command (`scan`, `node`) does with a result: write it in the chosen
//! format, to stdout or a file, and turn it into an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use kspm_engine::ScanResult;
use kspm_model::Severity;
use kspm_report::ReportOptions;

use crate::exit;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    /// One self-contained page (no network needed to open it).
    Html,
    /// For pull-request comments.
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
pub struct OutputArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to a file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low, or `fail_on` in kspm.yaml].
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Also list suppressed findings (marked as such).
    #[arg(long)]
    pub show_suppressed: bool,
    /// Also list the findings folded into stronger ones on the same object (a privileged
    /// container's "capabilities not dropped"), each on a line of its own.
    #[arg(long)]
    pub show_folded: bool,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Writes the report and returns the exit code.
pub fn finish(result: &ScanResult, args: &OutputArgs, fail_on: Severity) -> Result<u8> {
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
        show_folded: args.show_folded,
    };
    let emit = |out: &mut dyn Write| -> std::io::Result<()> {
        let text = match args.format {
            // JSON is streamed: a large scan's report never sits in memory as one string.
            Format::Json => return kspm_report::json::write(result, &ropts, out),
            Format::Table => kspm_report::table::render(result, &ropts),
            Format::Sarif => kspm_report::sarif::render(result, &ropts),
            Format::Junit => kspm_report::junit::render(result, &ropts),
            Format::Html => kspm_report::html::render(result, &ropts),
            Format::Markdown => kspm_report::markdown::render(result, &ropts),
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
            eprintln!("{}", kspm_report::table::summary(result));
        } else {
            // Machine formats keep stdout clean; input problems still reach a human on stderr.
            for d in &result.diagnostics {
                eprintln!("kspm: {d}");
            }
        }
    }

    if result.partial {
        Ok(exit::PARTIAL)
    } else if result.worst().is_some_and(|w| w >= fail_on) {
        Ok(exit::FINDINGS)
    } else if result.has_errors() {
        Ok(exit::INPUT_ERRORS)
    } else {
        Ok(exit::OK)
    }
}
