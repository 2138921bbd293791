//! `kspm agent`: wiring only. The same planning as `kspm scan` (config, selection, frameworks,
//! custom policies), then `kspm_agent` runs until SIGTERM or SIGINT.

use std::path::PathBuf;

use anyhow::Result;

/// `kspm agent`.
#[derive(clap::Args)]
pub struct AgentArgs {
    /// Configuration file (as for `kspm scan`), trusted as written.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Kubeconfig context to use [default: the current context, or the in-cluster service account].
    #[arg(long)]
    pub context: Option<String>,
    /// Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The finding store to keep current [default: sqlite://$XDG_STATE_HOME/kspm/kspm.db, see docs/store.md].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The cluster name the findings are recorded under [default: the kubeconfig context].
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Period of the full resync that relists everything and counts differences: 6h, 30m, 90s.
    #[arg(long, value_name = "SPAN", default_value = "6h")]
    pub resync: String,
    /// Quiet time after a change before judging and syncing: 2s, 500ms.
    #[arg(long, value_name = "SPAN", default_value = "2s")]
    pub debounce: String,
    /// Serve /healthz, /readyz and /metrics on this address (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub listen: String,
    /// Serve no HTTP endpoint.
    #[arg(long, conflicts_with = "listen")]
    pub no_listen: bool,
    /// Run only these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Ignore `kspm.io/ignore` annotations.
    #[arg(long)]
    pub no_inline_exceptions: bool,
    #[command(flatten)]
    pub policy: super::policy::PolicyFlags,
}

#[cfg(feature = "agent")]
pub fn run(args: &AgentArgs) -> Result<u8> {
    use kspm_engine::{Overrides, ScanPlan};
    let debounce = super::span(&args.debounce, "debounce")?;
    let resync = super::span(&args.resync, "resync")?;
    let listen = if args.no_listen {
        None
    } else {
        Some(
            args.listen
                .parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("--listen {}: {e}", args.listen))?,
        )
    };
    let store = match &args.store {
        Some(url) => kspm_store::StoreUrl::parse(url)?,
        None => kspm_store::StoreUrl::default_sqlite(),
    };
    let mut plan = ScanPlan::resolve(
        &[],
        &Overrides {
            config: args.config.clone(),
            no_config: args.config.is_none(),
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            no_inline_exceptions: args.no_inline_exceptions,
            ..Overrides::default()
        },
    )?;
    let policies =
        super::policy::load_for_scan(&args.policy, &plan.config, &plan.selection.ignore, None)?;
    for d in plan.diagnostics.iter().chain(&policies.diagnostics) {
        eprintln!("kspm agent: {}: {}", d.file, d.message);
    }
    let rules = plan.rules(policies.rules)?;
    let opts = plan.options(Vec::new(), rules, policies.set);
    let config = kspm_agent::Config {
        target: kspm_cluster::Target {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            ..kspm_cluster::Target::default()
        },
        store,
        cluster_name: args.cluster_name.clone(),
        debounce,
        resync,
        listen,
    };
    #[cfg(feature = "alerts")]
    let companions: Vec<Box<dyn kspm_agent::Companion>> = match super::alerts::load(&plan.config)? {
        Some(alerts) => {
            let sinks = super::alerts::sinks(&alerts)?;
            vec![Box::new(super::alerts::Companion {
                config: alerts,
                sinks: Some(sinks),
                metrics: std::sync::Arc::default(),
            })]
        }
        None => Vec::new(),
    };
    #[cfg(not(feature = "alerts"))]
    let companions = Vec::new();
    match kspm_agent::run_with(&config, &opts, companions) {
        Ok(()) => Ok(crate::exit::OK),
        Err(kspm_agent::AgentError::Cluster(e)) => Err(e.into()),
        Err(kspm_agent::AgentError::Store(e)) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(feature = "agent"))]
pub fn run(_: &AgentArgs) -> Result<u8> {
    anyhow::bail!(
        "this kspm was built without the agent (the `agent` feature, which needs `cluster` and `store`)"
    )
}
