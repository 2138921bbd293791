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
    /// The finding store to keep current [default: $KSPM_STORE, else the URL in the file $KSPM_STORE_FILE, else sqlite://$XDG_STATE_HOME/kspm/kspm.db, see docs/store.md].
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
    /// How long the store keeps finding events, daily summaries and resolved findings: 90d, 12w;
    /// compacted every hour.
    #[arg(long, value_name = "SPAN", default_value = "90d")]
    pub retention: String,
    /// Which reports to keep current in the cluster: wgpolicyk8s (PolicyReport and
    /// ClusterPolicyReport), openreports (Report and ClusterReport) or none. Their CRDs are in
    /// deploy/crds/; without them the agent warns once and goes on.
    #[arg(long, value_name = "API", default_value = "wgpolicyk8s", value_parser = ["wgpolicyk8s", "openreports", "none"])]
    pub reports: String,
    /// Run as one of several replicas: only the holder of a coordination.k8s.io Lease writes.
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, value_name = "NAME", default_value = "kspm-agent")]
    pub lease_name: String,
    /// Namespace of the Lease [default: the pod's namespace in a pod, else `default`].
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// How long a Lease that is not renewed stays held: a follower takes over after it.
    #[arg(long, value_name = "SPAN", default_value = "15s")]
    pub lease_duration: String,
    /// Run only these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Ignore `kspm.io/ignore` annotations.
    #[arg(long)]
    pub no_inline_exceptions: bool,
    /// Also evaluate the admission policies installed in the cluster (ValidatingAdmissionPolicies with their bindings and params, Gatekeeper templates and constraints, Kyverno policies), watched and loaded again when they change [or `cluster_policies: true` in kspm.yaml].
    #[arg(long)]
    pub cluster_policies: bool,
    #[command(flatten)]
    pub policy: super::policy::PolicyFlags,
}

/// The agent's options, planned as for `kspm scan` and planned again when the custom policies
/// change (their files, or the cluster's policy objects).
#[cfg(feature = "agent")]
struct Planner<'a> {
    plan: std::sync::Mutex<kspm_engine::ScanPlan>,
    flags: &'a super::policy::PolicyFlags,
    cluster_policies: bool,
    /// The policy files and directories (`--policy` and `policies:`).
    paths: Vec<PathBuf>,
}

#[cfg(feature = "agent")]
impl kspm_agent::Planner for Planner<'_> {
    fn cluster_policies(&self) -> bool {
        self.cluster_policies
    }

    fn fingerprint(&self) -> u64 {
        #[cfg(feature = "policies")]
        return kspm_policy::fingerprint(&self.paths);
        #[cfg(not(feature = "policies"))]
        return 0;
    }

    fn plan(
        &self,
        cluster: Option<&[kspm_model::Resource]>,
    ) -> Result<kspm_agent::Planned, kspm_agent::PlanError> {
        let mut plan = self
            .plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let policies =
            super::policy::load_for_scan(self.flags, &plan.config, &plan.selection.ignore, cluster)
                .map_err(|e| kspm_agent::PlanError(format!("{e:#}")))?;
        let rules = plan
            .rules(policies.rules)
            .map_err(|e| kspm_agent::PlanError(e.to_string()))?;
        let mut diagnostics = std::mem::take(&mut plan.diagnostics);
        diagnostics.extend(policies.diagnostics);
        Ok(kspm_agent::Planned {
            opts: plan.options(Vec::new(), rules, policies.set),
            diagnostics,
        })
    }
}

#[cfg(feature = "agent")]
pub fn run(args: &AgentArgs) -> Result<u8> {
    use kspm_engine::{Overrides, ScanPlan};
    let debounce = super::span(&args.debounce, "debounce")?;
    let resync = super::span(&args.resync, "resync")?;
    let retention = super::span(&args.retention, "retention")?;
    let listen = if args.no_listen {
        None
    } else {
        Some(
            args.listen
                .parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("--listen {}: {e}", args.listen))?,
        )
    };
    let reports = match args.reports.as_str() {
        "openreports" => Some(kspm_agent::ReportApi::OpenReports),
        "none" => None,
        _ => Some(kspm_agent::ReportApi::PolicyReport),
    };
    let lease = if args.leader_elect {
        let duration = super::span(&args.lease_duration, "lease-duration")?;
        if duration < std::time::Duration::from_secs(1) {
            anyhow::bail!(
                "--lease-duration must be at least 1s (got `{}`)",
                args.lease_duration
            );
        }
        Some(kspm_agent::LeaseConfig {
            name: args.lease_name.clone(),
            namespace: args
                .lease_namespace
                .clone()
                .or_else(kspm_agent::lease::pod_namespace)
                .unwrap_or_else(|| "default".to_owned()),
            identity: kspm_agent::lease::default_identity(),
            duration,
        })
    } else {
        None
    };
    // `$KSPM_STORE`, or the file `$KSPM_STORE_FILE` names, keeps a PostgreSQL password out of
    // the command line (the Helm chart mounts it from a Secret as a file).
    let from_file = match std::env::var_os("KSPM_STORE_FILE").filter(|f| !f.is_empty()) {
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .map(|url| url.trim().to_owned())
                .map_err(|e| {
                    anyhow::anyhow!(
                        "KSPM_STORE_FILE {}: cannot read it: {e}",
                        std::path::Path::new(&path).display()
                    )
                })?,
        ),
        None => None,
    };
    let store = match args
        .store
        .clone()
        .or_else(|| std::env::var("KSPM_STORE").ok().filter(|s| !s.is_empty()))
        .or(from_file)
    {
        Some(url) => kspm_store::StoreUrl::parse(&url)?,
        None => kspm_store::StoreUrl::default_sqlite(),
    };
    let plan = ScanPlan::resolve(
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
    let remediation = plan.config.remediation.clone();
    #[cfg(feature = "alerts")]
    let alerts = super::alerts::load(&plan.config)?;
    let planner = Planner {
        cluster_policies: args.cluster_policies || plan.config.cluster_policies == Some(true),
        paths: super::policy::policy_paths(&args.policy, &plan.config),
        plan: std::sync::Mutex::new(plan),
        flags: &args.policy,
    };
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
        reports,
        lease,
        retention,
        remediation,
    };
    #[cfg(feature = "alerts")]
    let companions: Vec<Box<dyn kspm_agent::Companion>> = match alerts {
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
    match kspm_agent::run_with(&config, &planner, companions) {
        Ok(()) => Ok(crate::exit::OK),
        // Not a failure but a hand-over: said in the agent's own voice, like its other log
        // lines. Another replica writes now: this one stopped without a last write. Exit 2, so the
        // pod restarts and waits as a follower.
        Err(e @ kspm_agent::AgentError::LeaseLost(_)) => {
            eprintln!("kspm agent: {e}");
            Ok(crate::exit::INPUT_ERRORS)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(feature = "agent"))]
pub fn run(_: &AgentArgs) -> Result<u8> {
    anyhow::bail!(
        "this kspm was built without the agent (the `agent` feature, which needs `cluster` and `store`)"
    )
}
