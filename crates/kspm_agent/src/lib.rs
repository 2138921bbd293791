//! `kspm agent`: keeps a cluster's findings current instead of judging it once.
//!
//! It lists every kind a scan reads, judges the whole cluster and syncs the findings into the
//! store, then watches each kind from the list's resourceVersion ([`kspm_cluster::live`]).
//! Changes land in the objects it holds (`state::Held`); once no change arrived for the
//! debounce window (or two windows passed since the first change), what the changes can
//! affect is judged again from memory and the full finding set is synced: the store writes only
//! what changed, so an object fixed or deleted resolves, and a quiet cluster writes nothing. A
//! periodic resync lists everything again and counts how far the watches (and the judgements
//! made namespace by namespace) had drifted (target 0).
//!
//! What is re-judged on a change (`state::Touched`): the objects of the namespaces whose
//! workloads, Services, ConfigMaps... changed; everything when a kind other objects are judged
//! against changed (namespaces, service accounts, RBAC, network policies, budgets, autoscalers),
//! or a cluster-scoped object, or after a relist.
//!
//! Custom policies are loaded again when they change ([`Planner`]): their files (checked every
//! [`POLICY_FILES_EVERY`]) and, with `cluster_policies: true`, the admission policies installed
//! in the cluster (ValidatingAdmissionPolicies and bindings, Kyverno policies, Gatekeeper
//! templates and constraints), which are watched like every other kind; then everything is
//! judged again with the new set. A load that fails keeps the policies the agent had.

pub mod analyses;
mod health;
mod http;
pub mod lease;
pub mod metrics;
pub mod remediation;
pub mod reports;
mod state;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kspm_cluster::live::{Change, Session};
use kspm_cluster::{ClusterError, Target};
use kspm_engine::ScanOptions;
use kspm_model::Finding;
use kspm_store::{FindingFilter, Snapshot, Status, Store, StoreError, StoreUrl};
use tokio::sync::{mpsc, watch};

pub use lease::LeaseConfig;
use lease::{Elector, Leader};
use metrics::{Metrics, add};
use reports::Publisher;
pub use reports::ReportApi;
use state::{Held, Judged};

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct Config {
    pub target: Target,
    pub store: StoreUrl,
    /// The name findings are recorded under; default: the kubeconfig context.
    pub cluster_name: Option<String>,
    /// Quiet time after a change before judging and syncing.
    pub debounce: Duration,
    /// Period of the full resync (list everything, count differences).
    pub resync: Duration,
    /// Where `/healthz`, `/readyz` and `/metrics` are served; `None`: not served.
    pub listen: Option<SocketAddr>,
    /// Which reports to keep current in the cluster; `None`: none.
    pub reports: Option<ReportApi>,
    /// Leader election: only the holder of this Lease writes; `None`: this agent always writes.
    pub lease: Option<LeaseConfig>,
    /// How long the store keeps events, daily summaries and resolved findings; compacted every
    /// hour (or every `retention`, when shorter).
    pub retention: Duration,
    /// Unattended remediation after each sync (`remediation:` in kspm.yaml); `None`: none.
    pub remediation: Option<kspm_engine::AutoRemediation>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The lease was lost while leading: the agent stopped writing at once.
    #[error("lost the leadership: {0}")]
    LeaseLost(String),
    /// The custom policies did not load at start.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// Why [`Planner::plan`] made no options (a policy file that cannot be read, a selection that
/// names no rule): the planner's own message, whole.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// Something that runs beside the agent on its runtime (the alert dispatcher): started once the
/// first store sync succeeded (so what the initial list found is already recorded), told after
/// every sync that wrote, and stopped after the agent's last sync.
pub trait Companion: Send + 'static {
    /// Prometheus text to append to `/metrics`.
    fn metrics(&self) -> Arc<dyn Fn() -> String + Send + Sync>;
    /// Runs until `stop` turns true.
    fn start(self: Box<Self>, ctx: CompanionContext) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// What a [`Companion`] is given.
pub struct CompanionContext {
    /// The agent's store (the same pool).
    pub store: Store,
    /// The cluster name findings are recorded under.
    pub cluster: String,
    /// Bumped after every store sync that wrote something.
    pub synced: watch::Receiver<u64>,
    pub stop: watch::Receiver<bool>,
}

/// Where the agent's options (rules, settings, custom policies) come from, asked again when
/// the custom policies change.
pub trait Planner: Send + Sync {
    /// Whether the admission policies installed in the cluster are evaluated too
    /// (`cluster_policies: true`).
    fn cluster_policies(&self) -> bool;
    /// A value that changes when a policy file changes (paths, sizes, modification times).
    fn fingerprint(&self) -> u64;
    /// The options to judge with, the custom policies loaded afresh; `cluster`: the policy
    /// objects read from the cluster (with [`Planner::cluster_policies`]). An error keeps the
    /// options the agent has.
    fn plan(&self, cluster: Option<&[kspm_model::Resource]>) -> Result<Planned, PlanError>;
}

/// What [`Planner::plan`] made.
pub struct Planned {
    pub opts: ScanOptions,
    /// What loading the policies said (a policy that does not compile...): logged.
    pub diagnostics: Vec<kspm_model::Diagnostic>,
}

/// Runs until SIGTERM or SIGINT, then syncs once more and returns.
pub fn run(config: &Config, planner: &dyn Planner) -> Result<(), AgentError> {
    run_with(config, planner, Vec::new())
}

/// [`run`], with companions running beside the agent.
pub fn run_with(
    config: &Config,
    planner: &dyn Planner,
    companions: Vec<Box<dyn Companion>>,
) -> Result<(), AgentError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(AgentError::Runtime)?
        .block_on(run_async(config, planner, companions))
}

/// How often the policy files are checked for changes.
pub const POLICY_FILES_EVERY: Duration = Duration::from_secs(10);

/// The RBAC and network analyses are stored after every whole sync (a whole judgement, the
/// hourly maintenance pass), and after the judgement of a few namespaces at most this often
/// (they read every object: a burst of changes in one namespace must not compute them again
/// and again).
const ANALYSES_EVERY: Duration = Duration::from_mins(1);

/// A judgement or store sync slower than this is logged with its duration.
const SLOW: Duration = Duration::from_secs(1);

fn log(message: &str) {
    eprintln!("kspm agent: {message}");
}

struct Agent<'a> {
    session: Arc<Session>,
    store: Store,
    cluster: String,
    target: kspm_cluster::Target,
    planner: &'a dyn Planner,
    opts: ScanOptions,
    /// Whether the custom policies changed since they were last loaded.
    policies_changed: bool,
    /// [`Planner::fingerprint`] when the policies were last loaded.
    fingerprint: u64,
    /// Where the watches of kinds added later send their changes.
    changes: Option<mpsc::UnboundedSender<Change>>,
    /// Rules of custom policies removed since the start: a store sync resolves their findings
    /// (it leaves the findings of rules that did not run alone).
    retired: BTreeSet<&'static str>,
    held: Held,
    /// The last judgement, which a change in a few namespaces updates.
    judged: Option<Judged>,
    metrics: Arc<Metrics>,
    /// Bumped after each sync that wrote (companions watch it).
    synced: watch::Sender<u64>,
    publisher: Option<Publisher>,
    /// Unattended remediation, when configured.
    remediator: Option<remediation::Remediator>,
    /// Reports are written again after the next sync even if it changed nothing (the first
    /// time, and after a failure).
    reports_pending: bool,
    health: health::Health,
    /// When the RBAC and network analyses were last started (`None`: not yet).
    analysed_at: Option<Instant>,
    /// The analyses being computed and stored beside the judgements, if they are.
    analyses_task: Option<tokio::task::JoinHandle<()>>,
}

/// The companions not yet started (they start after the first successful sync), and the
/// handles of those running.
struct Companions {
    waiting: Vec<Box<dyn Companion>>,
    running: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Companions {
    fn start(&mut self, agent: &Agent<'_>) {
        for c in self.waiting.drain(..) {
            let ctx = CompanionContext {
                store: agent.store.clone(),
                cluster: agent.cluster.clone(),
                synced: agent.synced.subscribe(),
                stop: self.stop.subscribe(),
            };
            self.running.push(tokio::spawn(c.start(ctx)));
        }
    }

    /// Stops the running companions, waiting up to 10 s for their last pass.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.running {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
    }
}

async fn run_async(
    config: &Config,
    planner: &dyn Planner,
    companions: Vec<Box<dyn Companion>>,
) -> Result<(), AgentError> {
    let metrics = Arc::new(Metrics::default());
    for c in &companions {
        metrics.extra.add(c.metrics());
    }
    let mut companions = Companions {
        waiting: companions,
        running: Vec::new(),
        stop: watch::channel(false).0,
    };
    // Listen first: a port in use is a configuration error worth failing on at once, and
    // `/healthz` answers while the initial list runs.
    if let Some(addr) = config.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| AgentError::Listen { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        log(&format!(
            "serving /healthz, /readyz and /metrics on http://{bound}"
        ));
        tokio::spawn(http::serve(listener, metrics.clone()));
    }
    let session =
        Arc::new(Session::connect_with(&config.target, planner.cluster_policies()).await?);
    for note in &session.notes {
        log(note);
    }
    let mut shutdown = std::pin::pin!(shutdown());
    // Only the lease holder reads on: a follower waits here (SIGTERM ends the wait).
    let mut lost = match &config.lease {
        None => None,
        Some(lease) => {
            // A standby is ready: a rolling update must be able to start a replica that waits.
            metrics.ready.store(true, Ordering::Relaxed);
            let mut elector = Elector::new(lease.clone());
            let mut waiting_for = String::new();
            loop {
                match elector.try_acquire(&session).await {
                    Ok(Leader::This) => break,
                    Ok(Leader::Other(holder)) => {
                        if holder != waiting_for {
                            log(&format!(
                                "waiting for the lease {}/{}, held by {holder}",
                                lease.namespace, lease.name
                            ));
                            waiting_for = holder;
                        }
                    }
                    Err(e) => log(&format!("leader election: {e}")),
                }
                tokio::select! {
                    () = tokio::time::sleep(lease.retry()) => {}
                    () = &mut shutdown => return Ok(()),
                }
            }
            log(&format!(
                "leading as {} (lease {}/{})",
                lease.identity, lease.namespace, lease.name
            ));
            // Ready again once the initial sync is done.
            metrics.ready.store(false, Ordering::Relaxed);
            Some(tokio::spawn(elector.keep(session.clone())))
        }
    };
    metrics.leader.store(true, Ordering::Relaxed);
    let store = Store::open(&config.store)
        .await?
        .with_retention(config.retention);
    let cluster = config.cluster_name.clone().unwrap_or_else(|| {
        session
            .label()
            .strip_prefix("cluster:")
            .unwrap_or("default")
            .to_owned()
    });
    let remediator = match &config.remediation {
        None => None,
        Some(r) => {
            let objects = kspm_cluster::objects::Objects::connect(&config.target).await?;
            let remediator = remediation::Remediator::new(r.clone(), objects);
            let counters = remediator.counters.clone();
            metrics.extra.add(Arc::new(move || counters.render()));
            log(&format!(
                "remediation: {} {} (at most {} objects an hour)",
                if r.dry_run {
                    "planning, not applying,"
                } else {
                    "applying"
                },
                r.auto.join(", "),
                r.max_per_hour
            ));
            Some(remediator)
        }
    };
    let fingerprint = planner.fingerprint();
    let cluster_policies = if planner.cluster_policies() {
        let read = kspm_cluster::read_policies(&config.target).await?;
        log_diagnostics(&read.diagnostics);
        Some(read.resources)
    } else {
        None
    };
    let planned = planner.plan(cluster_policies.as_deref())?;
    log_diagnostics(&planned.diagnostics);
    let roles = (0..session.kind_count()).map(|k| session.role(k)).collect();
    let mut agent = Agent {
        remediator,
        held: Held::new(roles, Arc::from(session.label())),
        session: session.clone(),
        store,
        cluster,
        target: config.target.clone(),
        planner,
        opts: planned.opts,
        policies_changed: false,
        fingerprint,
        changes: None,
        retired: BTreeSet::new(),
        judged: None,
        metrics: metrics.clone(),
        synced: watch::channel(0).0,
        publisher: config.reports.map(Publisher::new),
        reports_pending: true,
        health: health::Health::new(config),
        analysed_at: None,
        analyses_task: None,
    };

    // The initial list, kind by kind; each watch resumes from its own list.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut versions = Vec::new();
    for kind in 0..session.kind_count() {
        match session.list(kind).await {
            Ok(listed) => {
                agent.held.replace(kind, &listed.objects);
                versions.push(Some(listed.resource_version));
            }
            Err(e) => {
                let why = e.to_string();
                log(&format!("cannot list {}: {why}", session.kind_name(kind)));
                agent.health.unreadable(kind, &why);
                agent.held.fail(kind, why);
                versions.push(None);
            }
        }
    }
    let synced = agent.judge_and_sync().await;
    agent.heartbeat(synced).await;
    if synced {
        companions.start(&agent);
    } else {
        log("the initial store sync failed; retrying after the next change or resync");
    }
    metrics.ready.store(true, Ordering::Relaxed);
    log(&format!(
        "watching {} kinds ({} objects) of cluster `{}`",
        versions.iter().flatten().count(),
        agent.held.objects(),
        agent.cluster
    ));
    for (kind, version) in versions.into_iter().enumerate() {
        if let Some(version) = version {
            tokio::spawn(session.clone().watch(kind, version, tx.clone()));
        }
    }
    agent.changes = Some(tx.clone());
    let mut policy_files = tokio::time::interval_at(
        tokio::time::Instant::now() + POLICY_FILES_EVERY,
        POLICY_FILES_EVERY,
    );

    let mut dirty_since: Option<Instant> = None;
    let mut last_change = Instant::now();
    let mut pending = !synced;
    let mut resync =
        tokio::time::interval_at(tokio::time::Instant::now() + config.resync, config.resync);
    let every = config
        .retention
        .clamp(Duration::from_secs(1), Duration::from_hours(1));
    let mut maintenance = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let due = dirty_since.map(|first| {
            let quiet = last_change + config.debounce;
            // A cluster that never goes quiet is judged every two windows: what changed first
            // waits at most that long (1,000 changes a minute with 200 ms windows: p99 under 1 s).
            let cap = first + config.debounce * 2;
            tokio::time::Instant::from_std(quiet.min(cap))
        });
        tokio::select! {
            change = rx.recv() => {
                let Some(change) = change else { break };
                if agent.apply(change) {
                    last_change = Instant::now();
                    dirty_since.get_or_insert(last_change);
                }
            }
            () = sleep_until(due), if due.is_some() || pending => {
                dirty_since = None;
                pending = !agent.judge_and_sync().await;
                agent.heartbeat(!pending).await;
                if !pending {
                    companions.start(&agent);
                }
                if pending {
                    // Retried after one more window.
                    dirty_since = Some(Instant::now());
                    last_change = Instant::now();
                }
            }
            _ = policy_files.tick() => {
                let now = agent.planner.fingerprint();
                if now != agent.fingerprint {
                    log("the policy files changed: loading them again");
                    agent.fingerprint = now;
                    agent.policies_changed = true;
                    last_change = Instant::now();
                    dirty_since.get_or_insert(last_change);
                }
            }
            _ = resync.tick() => {
                // Changes already delivered are applied first, so they are not counted.
                while let Ok(change) = rx.try_recv() {
                    agent.apply(change);
                }
                // The params of the cluster's policies are not watched: read them again.
                agent.policies_changed |= agent.planner.cluster_policies();
                // Judged and synced first, so the resync compares with a current judgement.
                dirty_since = None;
                pending = !agent.judge_and_sync().await;
                agent.heartbeat(!pending).await;
                if !pending {
                    companions.start(&agent);
                }
                let differences = agent.resync().await;
                if differences > 0 {
                    dirty_since.get_or_insert_with(Instant::now);
                }
            }
            _ = maintenance.tick() => {
                // A whole judgement and sync records the exceptions that expired meanwhile (at
                // their expiry) and refreshes the reports; then what is older than the
                // retention goes.
                agent.held.touch_all();
                pending = !agent.judge_and_sync().await;
                agent.heartbeat(!pending).await;
                agent.compact().await;
            }
            () = &mut shutdown => {
                log("stopping: a last sync, then exit");
                break;
            }
            why = lease_lost(&mut lost) => {
                // Another agent may be writing already: stop without a last write.
                metrics.leader.store(false, Ordering::Relaxed);
                if let Some(analyses) = agent.analyses_task.take() {
                    analyses.abort();
                }
                log(&format!("stopping: {why}"));
                return Err(AgentError::LeaseLost(why));
            }
        }
    }
    while let Ok(change) = rx.try_recv() {
        if agent.apply(change) {
            dirty_since.get_or_insert_with(Instant::now);
        }
    }
    drop(rx);
    while dirty_since.is_some() || pending {
        dirty_since = None;
        pending = false;
        let synced = agent.judge_and_sync().await;
        if !synced {
            log("the last store sync failed");
        }
        agent.heartbeat(synced).await;
    }
    companions.stop().await;
    if let Some(analyses) = agent.analyses_task.take() {
        // Their last write finishes before the store closes.
        let _ = analyses.await;
    }
    agent.store.close().await;
    if let (Some(keep), Some(lease)) = (lost.take(), &config.lease) {
        keep.abort();
        match Elector::release(lease, &session).await {
            Ok(()) => log("released the lease"),
            Err(e) => log(&format!("cannot release the lease: {e}")),
        }
    }
    Ok(())
}

/// Resolves (with why) once the lease renewal task gives up; never without leader election.
async fn lease_lost(keep: &mut Option<tokio::task::JoinHandle<String>>) -> String {
    match keep {
        Some(handle) => match handle.await {
            Ok(why) => why,
            Err(e) => format!("the lease renewal stopped: {e}"),
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => tokio::time::sleep(Duration::from_secs(1)).await,
    }
}

/// SIGTERM (a pod being stopped) or SIGINT (Ctrl-C).
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn log_diagnostics(diagnostics: &[kspm_model::Diagnostic]) {
    for d in diagnostics {
        log(&format!("{}: {}", d.file, d.message));
    }
}

impl Agent<'_> {
    /// Applies one change; returns whether the objects held changed.
    fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Applied { kind, object } => {
                add(&self.metrics.events, 1);
                self.policies_changed |= self.session.is_policy(kind);
                self.held.apply(kind, &object);
                true
            }
            Change::Deleted { kind, uid } => {
                add(&self.metrics.events, 1);
                self.policies_changed |= self.session.is_policy(kind);
                self.held.delete(kind, &uid);
                true
            }
            Change::Relisted { kind, objects } => {
                add(&self.metrics.relists, 1);
                self.policies_changed |= self.session.is_policy(kind);
                self.health.readable(kind);
                let n = self.held.replace(kind, &objects);
                log(&format!(
                    "{}: the watch expired (410 Gone); listed again, {n} objects differed",
                    self.session.kind_name(kind)
                ));
                true
            }
            Change::Restarted { kind, why } => {
                add(&self.metrics.watch_restarts, 1);
                // A watch ending after its timeout is routine; say only what went wrong.
                if why != "the watch ended" {
                    log(&format!(
                        "{}: watch restarted: {why}",
                        self.session.kind_name(kind)
                    ));
                }
                false
            }
            Change::Failed { kind, why } => {
                log(&format!(
                    "{}: cannot watch any more: {why}",
                    self.session.kind_name(kind)
                ));
                self.health.unreadable(kind, &why);
                self.held.fail(kind, why);
                true
            }
        }
    }

    /// Loads the custom policies again (after their files or the cluster's policy objects
    /// changed) and makes the next judgement judge everything with them. With cluster
    /// policies, constraint kinds served since the start are listed and watched first.
    async fn reload_policies(&mut self) {
        self.policies_changed = false;
        let cluster = if self.planner.cluster_policies() {
            self.watch_new_policy_kinds().await;
            match kspm_cluster::read_policies(&self.target).await {
                Ok(read) => {
                    log_diagnostics(&read.diagnostics);
                    Some(read.resources)
                }
                Err(e) => {
                    add(&self.metrics.policy_load_errors, 1);
                    log(&format!(
                        "cannot read the cluster's admission policies ({e}): judging with the policies loaded before"
                    ));
                    return;
                }
            }
        } else {
            None
        };
        match self.planner.plan(cluster.as_deref()) {
            // A broken policy file keeps the policies loaded before: an edit in progress must
            // not resolve every finding of the policy it breaks. (A broken policy object in the
            // cluster is left out as a scan leaves it out: it is the cluster's state.)
            Ok(planned)
                if planned.diagnostics.iter().any(|d| {
                    d.level == kspm_model::DiagnosticLevel::Error && !d.file.starts_with("cluster:")
                }) =>
            {
                log_diagnostics(&planned.diagnostics);
                add(&self.metrics.policy_load_errors, 1);
                log("a policy file did not load: judging with the policies loaded before");
            }
            Ok(planned) => {
                log_diagnostics(&planned.diagnostics);
                add(&self.metrics.policy_loads, 1);
                let before = self.opts.rules.len();
                let now: BTreeSet<&str> = planned.opts.rules.iter().map(|r| r.meta.code).collect();
                self.retired.extend(
                    self.opts
                        .rules
                        .iter()
                        .map(|r| r.meta.code)
                        .filter(|code| !now.contains(code)),
                );
                self.retired.retain(|code| !now.contains(code));
                self.opts = planned.opts;
                log(&format!(
                    "policies loaded again: {} rules (were {before}); judging everything",
                    self.opts.rules.len()
                ));
                self.held.touch_all();
            }
            Err(why) => {
                add(&self.metrics.policy_load_errors, 1);
                log(&format!(
                    "the policies did not load ({why}): judging with the policies loaded before"
                ));
            }
        }
    }

    /// Lists and watches the policy kinds the server serves since the start (a Gatekeeper
    /// ConstraintTemplate creates a constraint kind).
    async fn watch_new_policy_kinds(&mut self) {
        let added = match self.session.add_policy_kinds().await {
            Ok(added) => added,
            Err(e) => {
                log(&format!("cannot discover new policy kinds: {e}"));
                return;
            }
        };
        for kind in added {
            let held = self.held.add_kind(self.session.role(kind));
            debug_assert_eq!(held, kind);
            match self.session.list(kind).await {
                Ok(listed) => {
                    self.held.replace(kind, &listed.objects);
                    log(&format!("watching {} too", self.session.kind_name(kind)));
                    if let Some(tx) = &self.changes {
                        tokio::spawn(self.session.clone().watch(
                            kind,
                            listed.resource_version,
                            tx.clone(),
                        ));
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    log(&format!(
                        "cannot list {}: {why}",
                        self.session.kind_name(kind)
                    ));
                    self.health.unreadable(kind, &why);
                    self.held.fail(kind, why);
                }
            }
        }
    }

    /// Lists every kind again and replaces what is held; returns the differences found.
    async fn resync(&mut self) -> usize {
        let mut differences = 0;
        for kind in 0..self.session.kind_count() {
            match self.session.list(kind).await {
                Ok(listed) => {
                    self.health.readable(kind);
                    differences += self.held.replace(kind, &listed.objects);
                }
                Err(why) => log(&format!(
                    "resync: cannot list {}: {why}",
                    self.session.kind_name(kind)
                )),
            }
        }
        // The resync also checks the judgements of single namespaces: judged whole, the same
        // objects must give the findings the store holds open (of the rules that ran).
        let findings = if differences == 0 {
            let full = self.held.judge(&self.session, &self.opts, None);
            let filter = FindingFilter {
                cluster: Some(self.cluster.clone()),
                ..FindingFilter::default()
            };
            if full.partial || full.has_errors() {
                0
            } else {
                match self.store.findings(&filter, kspm_store::time::now()).await {
                    Ok(mut stored) => {
                        let ran: BTreeSet<&str> = full.rules.iter().map(|r| r.meta.code).collect();
                        stored.retain(|r| ran.contains(r.rule.as_str()));
                        state::difference(&full, &stored)
                    }
                    Err(e) => {
                        log(&format!("resync: cannot read the stored findings: {e}"));
                        0
                    }
                }
            }
        } else {
            0
        };
        if findings > 0 {
            log(&format!(
                "resync: {findings} findings differed between the incremental and the full judgement"
            ));
            self.held.touch_all();
        }
        differences += findings;
        add(&self.metrics.resyncs, 1);
        add(&self.metrics.resync_differences_total, differences as u64);
        self.metrics
            .resync_differences_last
            .store(differences as u64, Ordering::Relaxed);
        log(&format!(
            "resync: {differences} objects differed from what the watches delivered"
        ));
        differences
    }

    /// Judges what changed and syncs every current finding; returns whether the store took them.
    async fn judge_and_sync(&mut self) -> bool {
        if self.policies_changed {
            self.reload_policies().await;
        }
        let started = Instant::now();
        let remediator = self.remediator.as_ref();
        let scope = self.held.judge_into(
            &mut self.judged,
            &self.session,
            &self.opts,
            &|f: &Finding| remediator.is_some_and(|r| r.wants(f)),
        );
        let judging = started.elapsed();
        self.metrics.observe_evaluation(judging.as_secs_f64());
        if judging > SLOW {
            let what = match &scope {
                state::Touched::Nothing => "nothing".to_owned(),
                state::Touched::Namespaces(ns) => format!("{} namespace(s)", ns.len()),
                state::Touched::All => "everything".to_owned(),
            };
            log(&format!(
                "judging {what} took {:.2} s ({} objects held)",
                judging.as_secs_f64(),
                self.held.objects()
            ));
        }
        self.metrics
            .objects
            .store(self.held.objects() as u64, Ordering::Relaxed);
        let Some(judged) = &self.judged else {
            return true;
        };
        self.metrics.set_open(judged.open_by_severity());
        // Nothing judged, nothing to hand over: the last judgement's findings are stored (a
        // failed sync makes the next judgement a whole one).
        let namespaces = match scope {
            state::Touched::Nothing => {
                if self.reports_pending {
                    self.publish().await;
                }
                return true;
            }
            state::Touched::Namespaces(namespaces) => Some(namespaces),
            state::Touched::All => None,
        };
        let full = namespaces.is_none();
        let started = Instant::now();
        let synced = self.sync(judged, namespaces.as_ref()).await;
        if started.elapsed() > SLOW {
            log(&format!(
                "the store sync took {:.2} s",
                started.elapsed().as_secs_f64()
            ));
        }
        match synced {
            None => {
                // What this judgement found is not stored: judge everything again, so that the
                // next sync hands over every finding.
                self.held.touch_all();
                false
            }
            Some(wrote) => {
                if let Some(judged) = &mut self.judged {
                    judged.stored();
                }
                if wrote || self.reports_pending {
                    self.publish().await;
                }
                if let (Some(remediator), Some(judged)) = (&mut self.remediator, &self.judged) {
                    remediator
                        .pass(&judged.remediable, &self.store, &self.cluster)
                        .await;
                }
                // After the sync: the findings of a change are stored before this runs.
                let due = match self.analysed_at {
                    None => true,
                    Some(_) if full => true,
                    Some(at) => at.elapsed() >= ANALYSES_EVERY,
                };
                if due {
                    self.store_analyses();
                }
                true
            }
        }
    }

    /// Computes the RBAC and network analyses of everything held on a blocking thread and
    /// stores those that changed, while judgements go on: they read every object, which at
    /// 100,000 objects takes seconds that a change must not wait for. While the last ones are
    /// still being computed they stay due: computed after the next sync (at the latest, the
    /// hourly maintenance pass), from what is held then.
    fn store_analyses(&mut self) {
        if self
            .analyses_task
            .as_ref()
            .is_some_and(|t| !t.is_finished())
        {
            self.analysed_at = None;
            return;
        }
        let input = self.held.analyses_input();
        self.analysed_at = Some(Instant::now());
        let (store, cluster, metrics) = (
            self.store.clone(),
            self.cluster.clone(),
            self.metrics.clone(),
        );
        self.analyses_task = Some(tokio::spawn(async move {
            let started = Instant::now();
            let Ok(documents) = tokio::task::spawn_blocking(move || input.documents()).await else {
                log("the RBAC and network analyses failed");
                return;
            };
            match analyses::write(&store, &cluster, documents, kspm_store::time::now()).await {
                Ok(_) => {
                    if started.elapsed() > SLOW {
                        log(&format!(
                            "the RBAC and network analyses took {:.2} s",
                            started.elapsed().as_secs_f64()
                        ));
                    }
                }
                Err(e) => {
                    add(&metrics.store_errors, 1);
                    log(&format!("cannot store the RBAC and network analyses: {e}"));
                }
            }
        }));
    }

    /// Deletes what is older than the retention from the store.
    async fn compact(&self) {
        match self.store.compact(kspm_store::time::now()).await {
            Ok(done) => {
                if done.events + done.summaries + done.findings > 0 {
                    log(&format!(
                        "compacted: {} events, {} daily summaries, {} resolved findings older than the retention",
                        done.events, done.summaries, done.findings
                    ));
                }
            }
            Err(e) => {
                add(&self.metrics.store_errors, 1);
                log(&format!("store compaction failed: {e}"));
            }
        }
    }

    /// Brings the cluster's reports in line with the store's open findings.
    async fn publish(&mut self) {
        let Some(publisher) = &mut self.publisher else {
            return;
        };
        let filter = FindingFilter {
            cluster: Some(self.cluster.clone()),
            status: Some(Status::Open),
            since: None,
        };
        let open = match self.store.findings(&filter, kspm_store::time::now()).await {
            Ok(open) => open,
            Err(e) => {
                add(&self.metrics.report_errors, 1);
                log(&format!(
                    "cannot read the open findings for the reports: {e}"
                ));
                self.reports_pending = true;
                return;
            }
        };
        match publisher.publish(&self.session, &open, log).await {
            // The report types are not served: tried again after a later sync.
            None => self.reports_pending = true,
            Some(done) => {
                add(
                    &self.metrics.reports_written,
                    (done.applied + done.deleted) as u64,
                );
                add(&self.metrics.report_errors, done.failed as u64);
                self.reports_pending = done.failed > 0;
                if done.applied + done.deleted > 0 {
                    log(&format!(
                        "reports: {} written, {} deleted",
                        done.applied, done.deleted
                    ));
                }
            }
        }
    }

    /// Syncs the last judgement's findings into the store (within `namespaces` only, when it
    /// judged only them): `None` when it failed, else whether it wrote.
    async fn sync(&self, judged: &Judged, namespaces: Option<&BTreeSet<String>>) -> Option<bool> {
        // Kinds that could not be read must not look deleted: only what was judged resolves.
        let mut snapshot = Snapshot::from_scan(
            &judged.findings,
            judged.objects.iter().map(|id| &**id),
            judged.rules.iter().chain(&self.retired).copied(),
            judged.complete,
        );
        snapshot.namespaces = namespaces.cloned();
        match self
            .store
            .sync_confined(&self.cluster, &snapshot, kspm_store::time::now())
            .await
        {
            Ok(report) => {
                add(&self.metrics.store_syncs, 1);
                if report.wrote() {
                    self.synced.send_modify(|n| *n += 1);
                    log(&format!(
                        "synced: {} opened, {} reopened, {} resolved, {} suppressed",
                        report.opened, report.reopened, report.resolved, report.suppressed
                    ));
                }
                Some(report.wrote())
            }
            Err(e) => {
                add(&self.metrics.store_errors, 1);
                log(&format!("store sync failed: {e}"));
                None
            }
        }
    }
}
