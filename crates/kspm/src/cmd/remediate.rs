//! `kspm remediate --cluster`: wiring only. A live scan planned as `kspm scan --cluster` plans
//! it, then `kspm_remediate` plans, dry-runs, applies, records or undoes (see docs/remediate.md).

use std::path::PathBuf;

use anyhow::Result;

/// `kspm remediate`.
#[derive(clap::Args)]
pub struct RemediateArgs {
    /// Remediate the live cluster of the current kubeconfig context (files are fixed by `kspm fix`).
    #[arg(long, required = true)]
    pub cluster: bool,
    /// Kubeconfig context to use [default: the current context].
    #[arg(long)]
    pub context: Option<String>,
    /// Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Only these namespaces; repeatable or comma-separated.
    #[arg(short = 'n', long = "namespace", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Apply exactly these rules' fixes (codes, slugs, categories), safe or not [default: the fixes declared safe].
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Apply the changes (each after its server-side dry run); without it, only plan and dry-run.
    #[arg(long, conflicts_with = "undo")]
    pub apply: bool,
    /// Restore the before-state of a change recorded by `--apply --store` (its change id).
    #[arg(long, value_name = "CHANGE_ID")]
    pub undo: Option<String>,
    /// Record applied changes in this finding store, and find changes to undo there [default for --undo: sqlite://$XDG_STATE_HOME/kspm/kspm.db].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Configuration file (as for `kspm scan`): severity overrides and exceptions apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[cfg(feature = "remediate")]
pub fn run(args: &RemediateArgs) -> Result<u8> {
    use kspm_engine::{Overrides, ScanPlan};
    let target = kspm_cluster::Target {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespaces: args.namespaces.clone(),
        ..kspm_cluster::Target::default()
    };
    let store_url = match &args.store {
        Some(url) => Some(kspm_store::StoreUrl::parse(url)?),
        None if args.undo.is_some() => Some(kspm_store::StoreUrl::default_sqlite()),
        None => None,
    };
    let print = |text: String| -> Result<u8> {
        crate::print(&text)?;
        Ok(crate::exit::OK)
    };

    if let Some(id) = &args.undo {
        let url = store_url.expect("set for --undo");
        let change = kspm_store::block_on(async {
            let objects = kspm_cluster::objects::Objects::connect(&target).await?;
            let store = kspm_store::Store::open_existing(&url).await?;
            let change = kspm_remediate::undo(&objects, &store, id).await;
            store.close().await;
            anyhow::Ok(change?)
        })?;
        return match args.format {
            Format::Json => print(super::json(&kspm_remediate::change_json(&change))),
            Format::Table => print(kspm_report::text::undone(id, &change.object, &change.diff)),
        };
    }

    let mut plan = ScanPlan::resolve(
        &[],
        &Overrides {
            config: args.config.clone(),
            no_config: args.config.is_none(),
            select: args.select.clone(),
            ..Overrides::default()
        },
    )?;
    let rules = plan.rules(Vec::new())?;
    let opts = plan.options(Vec::new(), rules, None);
    let (result, _) = kspm_cluster::scan(&target, &opts)?;
    for d in &result.diagnostics {
        eprintln!("kspm remediate: {}: {}", d.file, d.message);
    }
    let options = kspm_remediate::Options {
        select: args.select.clone(),
        apply: args.apply,
        pause_before_apply: std::env::var("KSPM_TEST_PAUSE_BEFORE_APPLY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis),
    };
    let report = kspm_store::block_on(async {
        let objects = kspm_cluster::objects::Objects::connect(&target).await?;
        let store = match &store_url {
            Some(url) => Some(kspm_store::Store::open(url).await?),
            None => None,
        };
        let cluster = objects
            .label()
            .strip_prefix("cluster:")
            .unwrap_or("default")
            .to_owned();
        let report = kspm_remediate::remediate(
            &objects,
            &result.findings,
            &options,
            store.as_ref(),
            &cluster,
        )
        .await;
        if let Some(store) = store {
            store.close().await;
        }
        anyhow::Ok(report)
    })?;
    match args.format {
        Format::Json => crate::print(&super::json(&kspm_remediate::report_json(&report)))?,
        Format::Table => crate::print(&kspm_remediate::report_text(&report))?,
    }
    Ok(if report.has_failures() {
        crate::exit::FINDINGS
    } else if result.partial {
        crate::exit::PARTIAL
    } else {
        crate::exit::OK
    })
}

#[cfg(not(feature = "remediate"))]
pub fn run(_: &RemediateArgs) -> Result<u8> {
    anyhow::bail!("this kspm was built without cluster remediation (the `remediate` feature)")
}
