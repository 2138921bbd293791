//! What every scanning command (`scan`, `node`) does with a result: write it in the chosen
//! format, to stdout or a file, and turn it into an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use kspm_engine::ScanResult;
use kspm_model::Severity;
use kspm_report::{Format, ReportOptions};

use crate::exit;

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
    /// Write the report to a file instead of standard output (`-` is standard output).
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

fn parse_severity(s: &str) -> Result<Severity, kspm_model::UnknownSeverity> {
    Severity::parse(s)
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
    let emit = |out: &mut dyn Write| args.format.write(result, &ropts, out);
    let file = args.output.as_ref().filter(|p| p.as_os_str() != "-");
    match file {
        Some(path) => {
            write_atomically(path, &emit)?;
        }
        None => {
            stdout_open()?;
            match emit(&mut std::io::stdout().lock()) {
                // A closed pipe (`kspm scan | head`) is the reader's choice: the exit code is
                // the scan's own, whatever the format.
                Err(e) if is_broken_pipe(&e) => {}
                other => other.context("writing to standard output")?,
            }
        }
    }
    if args.format != Format::Table {
        if file.is_some() {
            eprintln!("{}", kspm_report::table::summary(result));
        } else {
            // Machine formats keep stdout clean; input problems still reach a human on stderr.
            for d in &result.diagnostics {
                eprintln!("kspm: {}", kspm_report::table::sanitize(&d.to_string()));
            }
        }
    }

    Ok(exit_code(result, fail_on))
}

/// The exit code of a scan: an incomplete scan (a live scan that could not read some kinds,
/// then input that could not be read or judged) wins over findings, so CI can tell "findings"
/// from "findings, and part of the input was never judged".
pub fn exit_code(result: &ScanResult, fail_on: Severity) -> u8 {
    if result.partial {
        exit::PARTIAL
    } else if result.has_errors() {
        exit::INPUT_ERRORS
    } else if result.worst().is_some_and(|w| w >= fail_on) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// A report that cannot reach standard output is an error, not a silent success. When the
/// shell closed descriptor 1 (`>&-`), Rust's runtime reopens it on `/dev/null` for reading and
/// writing before `main`; a shell's own `> /dev/null` opens it write-only. Only the first is
/// refused, so `kspm scan > /dev/null` for the exit code alone still works.
pub fn stdout_open() -> Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::{FileType, OFlags};
        let fd = std::io::stdout();
        let reopened = rustix::fs::fstat(&fd).is_ok_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                && rustix::fs::major(st.st_rdev) == 1
                && rustix::fs::minor(st.st_rdev) == 3
        }) && rustix::fs::fcntl_getfl(&fd)
            .is_ok_and(|fl| fl & OFlags::RWMODE == OFlags::RDWR);
        if reopened {
            anyhow::bail!("standard output is closed: nowhere to write the report (use -o FILE)");
        }
    }
    Ok(())
}

fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
            .is_some_and(|i| i.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes the report next to its destination and renames it into place, so that a failed or
/// interrupted run never leaves half a report where the last good one was. Only a regular file
/// (or a new one) is replaced that way: `-o /dev/null`, a FIFO or `/dev/stdout` are written to
/// as they are (renaming over them would replace the device itself), and a symbolic link is
/// followed to the file it names. A replaced file keeps its permissions.
fn write_atomically(
    path: &std::path::Path,
    emit: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .with_context(context)?;
        return emit(&mut f).with_context(context);
    }
    let target = if existing.is_some() {
        path.canonicalize().with_context(context)?
    } else {
        path.to_path_buf()
    };
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = target
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.kspm-{}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            if let Some(m) = &existing {
                f.set_permissions(m.permissions())?;
            }
            emit(&mut f).and_then(|()| f.sync_all())
        })
        .and_then(|()| std::fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(context)
}
