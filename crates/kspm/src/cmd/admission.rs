//! `kspm admission`: wiring only. The same planning as `kspm scan` (config, selection, custom
//! policies, exceptions), prepared once into an `ObjectJudge`, then `kspm_admission` serves the
//! webhook until SIGTERM or SIGINT (see docs/admission.md).

use std::path::PathBuf;

use anyhow::Result;

/// `kspm admission`.
#[derive(clap::Args)]
pub struct AdmissionArgs {
    /// Serving certificate (PEM, leaf first); read again when it changes on disk.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// HTTPS address of the webhook (POST /validate).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: String,
    /// Plain HTTP address of /metrics, /healthz and /readyz (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9090")]
    pub metrics_listen: String,
    /// Serve no metrics or health endpoint.
    #[arg(long, conflicts_with = "metrics_listen")]
    pub no_metrics: bool,
    /// Deny objects with a finding of this severity or worse; `none` never denies.
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub deny: String,
    /// Admit with a warning (shown by kubectl) from this severity; `none`: no warnings.
    #[arg(long, value_name = "SEVERITY", default_value = "medium")]
    pub warn: String,
    /// Only record (log line, store) from this severity; `none`: no audit records.
    #[arg(long, value_name = "SEVERITY", default_value = "info")]
    pub audit: String,
    /// Namespaces whose requests are admitted unjudged; comma-separated, empty for none.
    #[arg(
        long,
        value_name = "NS",
        value_delimiter = ',',
        default_value = "kube-system"
    )]
    pub exclude_namespaces: Vec<String>,
    /// Deny requests that reach the webhook but cannot be judged (default: admit them and count them).
    #[arg(long)]
    pub fail_closed: bool,
    /// Time budget to judge one object: 500ms, 2s.
    #[arg(long, value_name = "SPAN", default_value = "2s")]
    pub timeout: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_body: usize,
    /// How often the certificate files are looked at for a rotation: 10s, 1m.
    #[arg(long, value_name = "SPAN", default_value = "10s")]
    pub reload: String,
    /// Also record audited decisions (not dry runs) in this finding store (see docs/store.md).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The cluster name decisions are recorded under.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub cluster_name: String,
    /// Configuration file (as for `kspm scan`), trusted as written.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run only these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Ignore `kspm.io/ignore` annotations (so owners cannot waive their own findings).
    #[arg(long)]
    pub no_inline_exceptions: bool,
    #[command(flatten)]
    pub policy: super::policy::PolicyFlags,
}

#[cfg(feature = "admission")]
fn threshold(text: &str, flag: &str) -> Result<Option<kspm_model::Severity>> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e| anyhow::anyhow!("--{flag}: {e} or none"))
}

#[cfg(feature = "admission")]
pub fn run(args: &AdmissionArgs) -> Result<u8> {
    use kspm_admission::review::{Actions, Policy};
    use kspm_engine::{ObjectJudge, Overrides, ScanPlan};

    let addr = |text: &str, flag: &str| {
        text.parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("--{flag} {text}: {e}"))
    };
    let mut config = kspm_admission::Config::new(
        addr(&args.listen, "listen")?,
        kspm_admission::tls::CertFiles {
            cert: args.cert.clone(),
            key: args.key.clone(),
        },
    );
    config.metrics_listen = if args.no_metrics {
        None
    } else {
        Some(addr(&args.metrics_listen, "metrics-listen")?)
    };
    config.policy = Policy {
        actions: Actions {
            deny: threshold(&args.deny, "deny")?,
            warn: threshold(&args.warn, "warn")?,
            audit: threshold(&args.audit, "audit")?,
        },
        excluded_namespaces: args
            .exclude_namespaces
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect(),
        fail_closed: args.fail_closed,
    };
    config.timeout = super::span(&args.timeout, "timeout")?;
    config.reload = super::span(&args.reload, "reload")?;
    config.max_body = args.max_body;
    config.cluster_name.clone_from(&args.cluster_name);
    config.store = args
        .store
        .as_deref()
        .map(kspm_store::StoreUrl::parse)
        .transpose()?;

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
        eprintln!("kspm admission: {}: {}", d.file, d.message);
    }
    let rules = plan.rules(policies.rules)?;
    let judge = ObjectJudge::new(plan.options(Vec::new(), rules, policies.set));
    kspm_admission::run(config, judge)?;
    Ok(crate::exit::OK)
}

#[cfg(not(feature = "admission"))]
pub fn run(_: &AdmissionArgs) -> Result<u8> {
    anyhow::bail!("this kspm was built without the admission webhook (the `admission` feature)")
}
