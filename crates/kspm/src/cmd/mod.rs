//! Subcommands that analyse all resources at once (RBAC, network), each in its own module.
//! They get their resources from [`load`], the one place that knows where they come from.

pub mod network;
pub mod rbac;

use anyhow::Result;
use kspm_model::{Diagnostic, Resource};

/// The inputs of an analysis command: files, directories, `-`, charts, overlays.
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// What to read (default: the current directory). `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

/// Every resource of the inputs. Problems are printed to standard error (they never stop the
/// analysis); the flag says whether any was an error, for the exit code.
/// A live cluster (`--cluster`) plugs in here: the same resources, listed from the API server.
// `Result` because listing a live cluster can fail as a whole (unreachable, forbidden).
#[allow(clippy::unnecessary_wraps)]
pub fn load(inputs: &Inputs) -> Result<(Vec<Resource>, bool)> {
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
    Ok((resources, errors))
}

fn report(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("kspm: {d}");
    }
}

/// The exit code of an analysis: input errors are reported as such, answers are not failures.
pub fn exit_code(input_errors: bool) -> u8 {
    if input_errors {
        crate::exit::INPUT_ERRORS
    } else {
        crate::exit::OK
    }
}

/// Pretty JSON with a final newline.
pub fn json(value: &impl serde::Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("serializes");
    s.push('\n');
    s
}

/// A plain text table: columns padded to their widest cell, the last one free.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
