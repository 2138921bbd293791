//! `kspm alerts test`, and the alert dispatcher handed to `kspm agent`: wiring only (the alerts
//! themselves live in `kspm_alerts`).

use std::path::PathBuf;

use anyhow::Result;

/// `kspm alerts`.
#[derive(clap::Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert through each configured sink (or one) and print success or the sink's exact error.
    Test(TestArgs),
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// The configuration file holding `alerts:` (as for `kspm agent --config`).
    #[arg(long)]
    pub config: PathBuf,
    /// Only this sink.
    #[arg(long, value_name = "NAME")]
    pub sink: Option<String>,
    /// The cluster name the test alert carries.
    #[arg(long, value_name = "NAME", default_value = "kspm-test")]
    pub cluster_name: String,
}

/// Reads and validates the `alerts:` section of a configuration; `None` when it has none.
#[cfg(feature = "alerts")]
pub fn load(config: &kspm_engine::Config) -> Result<Option<kspm_alerts::AlertsConfig>> {
    let Some(node) = &config.alerts else {
        return Ok(None);
    };
    let file = config
        .path
        .as_ref()
        .map_or_else(|| "kspm.yaml".to_owned(), |p| p.display().to_string());
    Ok(Some(kspm_alerts::AlertsConfig::parse(node, &file)?))
}

/// Builds every sink; any that cannot be built (a credential file missing) is an error.
#[cfg(feature = "alerts")]
pub fn sinks(config: &kspm_alerts::AlertsConfig) -> Result<kspm_alerts::Sinks> {
    let (sinks, errors) = kspm_alerts::Sinks::build(config);
    if let Some(first) = errors.first() {
        let rest: Vec<String> = errors.iter().skip(1).map(ToString::to_string).collect();
        if rest.is_empty() {
            anyhow::bail!("{first}");
        }
        anyhow::bail!("{first}\n{}", rest.join("\n"));
    }
    Ok(sinks)
}

#[cfg(feature = "alerts")]
pub fn run(command: &AlertsCommand) -> Result<u8> {
    let AlertsCommand::Test(args) = command;
    let config = kspm_engine::Config::load(&args.config)?;
    let Some(alerts) = load(&config)? else {
        anyhow::bail!("{}: no `alerts:` section", args.config.display());
    };
    if let Some(name) = args
        .sink
        .as_ref()
        .filter(|n| !alerts.sinks.contains_key(*n))
    {
        anyhow::bail!(
            "no sink named `{name}` (sinks: {})",
            alerts.sinks.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let (sinks, errors) = kspm_alerts::Sinks::build(&alerts);
    let mut failed = 0;
    for e in errors
        .iter()
        .filter(|e| args.sink.as_ref().is_none_or(|s| *s == e.sink))
    {
        eprintln!("sink `{}`: cannot be built: {}", e.sink, e.problem);
        failed += 1;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for sink in sinks
        .0
        .values()
        .filter(|s| args.sink.as_ref().is_none_or(|n| *n == s.name))
    {
        match runtime.block_on(kspm_alerts::test_sink(
            sink,
            &args.cluster_name,
            alerts.keepalive,
        )) {
            Ok(()) => eprintln!("sink `{}` ({}): ok", sink.name, sink.shown),
            Err(e) => {
                eprintln!("sink `{}` ({}): failed: {e}", sink.name, sink.shown);
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        crate::exit::OK
    } else {
        crate::exit::INPUT_ERRORS
    })
}

#[cfg(not(feature = "alerts"))]
pub fn run(_: &AlertsCommand) -> Result<u8> {
    anyhow::bail!("this kspm was built without alerts (the `alerts` feature)")
}

/// The dispatcher as the agent's companion.
#[cfg(feature = "alerts")]
pub struct Companion {
    pub config: kspm_alerts::AlertsConfig,
    pub sinks: Option<kspm_alerts::Sinks>,
    pub metrics:
        std::sync::Arc<std::sync::OnceLock<std::sync::Arc<kspm_alerts::metrics::AlertMetrics>>>,
}

#[cfg(feature = "alerts")]
impl kspm_agent::Companion for Companion {
    fn metrics(&self) -> std::sync::Arc<dyn Fn() -> String + Send + Sync> {
        let cell = self.metrics.clone();
        std::sync::Arc::new(move || cell.get().map(|m| m.render()).unwrap_or_default())
    }

    fn start(
        mut self: Box<Self>,
        ctx: kspm_agent::CompanionContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let sinks = self.sinks.take().unwrap_or_default();
        let dispatcher = kspm_alerts::Dispatcher::new(self.config, sinks, ctx.store, ctx.cluster);
        let _ = self.metrics.set(dispatcher.metrics());
        Box::pin(dispatcher.run(ctx.synced, ctx.stop))
    }
}
