//! `kspm node`: the CIS control-plane and node checks (sections 1-4) on the node kspm runs on,
//! from its static pod manifests, kubelet configuration and flags, and the modes and owners of
//! its files. `--root` reads another root filesystem (a mounted node image, a test tree).

use std::path::PathBuf;

use anyhow::{Result, bail};
use kspm_engine::{ScanOptions, Selection, scan, select_rules};
use kspm_model::Severity;

use crate::cmd::output::{OutputArgs, finish};

#[derive(clap::Args)]
pub struct NodeArgs {
    /// The node's root filesystem.
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
    /// Compliance frameworks to report; repeatable or comma-separated.
    #[arg(long = "framework", value_delimiter = ',', default_value = "cis")]
    pub frameworks: Vec<String>,
    /// Rules to run [default: the control-plane and node categories].
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules to skip.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: &NodeArgs) -> Result<u8> {
    if !args.root.is_dir() {
        bail!("--root {}: not a directory", args.root.display());
    }
    let frameworks = args
        .frameworks
        .iter()
        .map(|f| crate::cmd::frameworks::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let selection = Selection {
        select: Some(if args.select.is_empty() {
            vec!["control-plane".to_owned(), "node".to_owned()]
        } else {
            args.select.clone()
        }),
        ignore: args.ignore.clone(),
    };
    let rules = select_rules(&selection)?;
    let node = kspm_node::collect(&args.root);
    eprintln!(
        "kspm node: {}: {} layout; {} input{} to check",
        args.root.display(),
        node.distribution.as_str(),
        node.inputs.len(),
        if node.inputs.len() == 1 { "" } else { "s" }
    );
    if node.inputs.is_empty() {
        eprintln!(
            "kspm node: nothing Kubernetes-related found under {}: is this a node (or the right --root)?",
            args.root.display()
        );
    }
    let opts = ScanOptions {
        inputs: node.inputs,
        rules,
        frameworks,
        not_seen: node.not_seen,
        ..ScanOptions::default()
    };
    let mut result = scan(&opts);
    result.diagnostics.extend(node.diagnostics);
    kspm_node::name_node_files(&mut result);
    finish(
        &result,
        &args.output,
        args.output.fail_on.unwrap_or(Severity::Low),
    )
}
