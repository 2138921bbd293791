//! The finding store on the command line: `scan --store` records a scan, `findings` and
//! `history` read what was recorded. Wiring only: identity, lifecycle and rendering live in
//! `kspm_store`. A build without the `store` feature keeps the flags and says it cannot.

use anyhow::Result;
#[cfg(feature = "store")]
use anyhow::{Context, bail};
use clap::ValueEnum;

/// `kspm scan` flags that record the scan in a store.
#[derive(clap::Args)]
pub struct ScanStoreArgs {
    /// Record the findings in a finding store: sqlite:///abs/path.db, sqlite://relative.db or postgres://user@host/db (see docs/store.md).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The cluster name the findings are recorded under [default: the kubeconfig context with --cluster; required for files].
    #[arg(long, value_name = "NAME", requires = "store")]
    pub cluster_name: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Open,
    Resolved,
    Suppressed,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PeriodArg {
    Day,
    Week,
}

/// `kspm findings`.
#[derive(clap::Args)]
pub struct FindingsArgs {
    /// The store to read [default: sqlite://$XDG_STATE_HOME/kspm/kspm.db, see docs/store.md].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Only this cluster's findings.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Only findings in this state (now: an expired exception no longer suppresses).
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only findings whose state began within this span (opened, reopened, suppressed or resolved): 7d, 12h, 2w.
    #[arg(long, value_name = "SPAN")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `kspm history`.
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The store to read [default: as for `kspm findings`].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Only this cluster [default: all clusters, summed].
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// One row per day or per week (Monday to Sunday).
    #[arg(long, value_enum, default_value_t = PeriodArg::Day)]
    pub by: PeriodArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Where a scan is recorded, checked before the scan runs.
pub struct Recording {
    #[cfg(feature = "store")]
    url: kspm_store::StoreUrl,
    #[cfg(feature = "store")]
    cluster: Option<String>,
    /// `--namespace` of a live scan: the scan speaks for these namespaces only.
    #[cfg(feature = "store")]
    namespaces: Vec<String>,
}

/// Checks `--store`/`--cluster-name` before scanning; `None` when the scan is not recorded.
pub fn recording(
    args: &ScanStoreArgs,
    live: bool,
    namespaces: &[String],
) -> Result<Option<Recording>> {
    let Some(url) = &args.store else {
        return Ok(None);
    };
    #[cfg(feature = "store")]
    {
        let url = kspm_store::StoreUrl::parse(url)?;
        if let Some(name) = &args.cluster_name {
            check_name(name)?;
        }
        if !live && args.cluster_name.is_none() {
            bail!(
                "--store needs --cluster-name NAME for scans of files: the findings of one name are replaced by each scan recorded under it"
            );
        }
        Ok(Some(Recording {
            url,
            cluster: args.cluster_name.clone(),
            namespaces: namespaces.to_vec(),
        }))
    }
    #[cfg(not(feature = "store"))]
    {
        let _ = (url, live, namespaces);
        anyhow::bail!("this kspm was built without the finding store (the `store` feature)")
    }
}

#[cfg(feature = "store")]
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 253 || name.chars().any(char::is_control) {
        bail!("--cluster-name must be 1 to 253 printable characters");
    }
    Ok(())
}

/// Records a finished scan; prints one line on standard error saying what changed.
#[cfg(feature = "store")]
pub fn record(rec: &Recording, result: &kspm_engine::ScanResult) -> Result<()> {
    use kspm_store::{Snapshot, Store, block_on, time};
    // Live objects carry their source as `cluster:<context>`: the default name.
    let cluster = match &rec.cluster {
        Some(name) => name.clone(),
        None => result
            .scanned
            .iter()
            .find_map(|s| s.source.file.strip_prefix("cluster:").map(str::to_owned))
            .unwrap_or_else(|| "default".to_owned()),
    };
    // Objects that could not be read must not look deleted: an incomplete scan only resolves
    // findings of the objects it judged.
    let complete = !result.partial && !result.has_errors();
    let mut snapshot = Snapshot::from_scan(
        &result.findings,
        result.scanned.iter().map(|s| &*s.id),
        result.rules.iter().map(|r| r.meta.code),
        complete,
    );
    if !rec.namespaces.is_empty() {
        snapshot.namespaces = Some(rec.namespaces.iter().cloned().collect());
    }
    let report = block_on(async {
        let store = Store::open(&rec.url).await?;
        let report = store.sync(&cluster, &snapshot, time::now()).await;
        store.close().await;
        report
    })
    .with_context(|| format!("recording the findings of cluster `{cluster}`"))?;
    eprintln!(
        "kspm: recorded in {} as cluster `{}`: {} opened, {} reopened, {} resolved, {} suppressed{}",
        rec.url,
        kspm_report::table::sanitize(&cluster),
        report.opened,
        report.reopened,
        report.resolved,
        report.suppressed,
        if complete {
            ""
        } else {
            " (incomplete scan: only the objects read could resolve)"
        }
    );
    Ok(())
}

#[cfg(not(feature = "store"))]
pub fn record(_: &Recording, _: &kspm_engine::ScanResult) -> Result<()> {
    Ok(())
}

#[cfg(feature = "store")]
fn open(url: Option<&str>) -> Result<kspm_store::Store> {
    let url = match url {
        Some(u) => kspm_store::StoreUrl::parse(u)?,
        None => kspm_store::StoreUrl::default_sqlite(),
    };
    Ok(kspm_store::block_on(kspm_store::Store::open_existing(
        &url,
    ))?)
}

/// `kspm findings`.
#[cfg(feature = "store")]
pub fn findings(args: &FindingsArgs) -> Result<u8> {
    use kspm_store::{FindingFilter, Status, block_on, render, time};
    let now = time::now();
    let since = match &args.since {
        Some(span) => Some(now - time::parse_duration(span)?),
        None => None,
    };
    let filter = FindingFilter {
        cluster: args.cluster.clone(),
        status: args.status.map(|s| match s {
            StatusArg::Open => Status::Open,
            StatusArg::Resolved => Status::Resolved,
            StatusArg::Suppressed => Status::Suppressed,
        }),
        since,
    };
    let store = open(args.store.as_deref())?;
    let found = block_on(async {
        let found = store.findings(&filter, now).await;
        store.close().await;
        found
    })?;
    crate::print(&match args.format {
        Format::Json => super::json(&render::findings_json(&found)),
        Format::Table => sanitized(&render::findings_table(&found, now)),
    })?;
    Ok(crate::exit::OK)
}

/// `kspm history`.
#[cfg(feature = "store")]
pub fn history(args: &HistoryArgs) -> Result<u8> {
    use kspm_store::{Period, block_on, render};
    let by = match args.by {
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
    };
    let store = open(args.store.as_deref())?;
    let history = block_on(async {
        let history = store.history(args.cluster.as_deref(), by).await;
        store.close().await;
        history
    })?;
    crate::print(&match args.format {
        Format::Json => super::json(&render::history_json(&history)),
        Format::Table => sanitized(&render::history_table(&history)),
    })?;
    Ok(crate::exit::OK)
}

/// A table for the terminal: control characters in stored text (names, messages) are shown
/// escaped, line by line.
#[cfg(feature = "store")]
fn sanitized(table: &str) -> String {
    table
        .lines()
        .map(|l| kspm_report::table::sanitize(l).into_owned() + "\n")
        .collect()
}

#[cfg(not(feature = "store"))]
pub fn findings(_: &FindingsArgs) -> Result<u8> {
    anyhow::bail!("this kspm was built without the finding store (the `store` feature)")
}

#[cfg(not(feature = "store"))]
pub fn history(_: &HistoryArgs) -> Result<u8> {
    anyhow::bail!("this kspm was built without the finding store (the `store` feature)")
}
