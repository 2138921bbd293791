//! `kspm admission`: a ValidatingAdmissionWebhook that judges every object at the door with the
//! same rules, custom policies and exceptions as `kspm scan`, prepared once
//! ([`kspm_engine::ObjectJudge`]), and denies, warns about or audits what it finds by severity
//! ([`review`]).
//!
//! Two listeners: the webhook over HTTPS ([`tls`]: rustls on ring, the certificate read again
//! when it changes on disk) and `/metrics`, `/healthz`, `/readyz` over plain HTTP for the
//! kubelet and Prometheus. Everything a client sends is bounded: connections, header and body
//! time, body size, and the time spent judging.
//!
//! Audited decisions are written as one JSON line each on standard output and, when a store is
//! configured, queued to it by a writer task (a full queue drops records and counts them: the
//! answer to the API server never waits for a database). Dry-run requests are judged and
//! answered but never recorded.

pub mod metrics;
pub mod review;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use kspm_engine::ObjectJudge;
use kspm_store::{AdmissionDecision, Store, StoreUrl};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use metrics::{Metrics, Unjudged, add};
use review::{Action, Outcome, Policy, Verdict};

/// How the webhook runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The HTTPS address of the webhook (`/validate`).
    pub listen: SocketAddr,
    /// Plain HTTP `/metrics`, `/healthz`, `/readyz`; `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
    pub cert: tls::CertFiles,
    /// How often the certificate files are looked at.
    pub reload: Duration,
    pub policy: Policy,
    /// Time budget for judging one object; over it the request is unjudged.
    pub timeout: Duration,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Where audited decisions are recorded besides the log.
    pub store: Option<StoreUrl>,
    /// The cluster name decisions are recorded under.
    pub cluster_name: String,
}

impl Config {
    /// Defaults for everything but the addresses and files.
    pub fn new(listen: SocketAddr, cert: tls::CertFiles) -> Self {
        Self {
            listen,
            metrics_listen: None,
            cert,
            reload: Duration::from_secs(10),
            policy: Policy::default(),
            timeout: Duration::from_secs(2),
            // etcd refuses objects over 1.5 MiB; the review carries the object, maybe twice.
            max_body: 4 << 20,
            max_connections: 512,
            store: None,
            cluster_name: "default".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("certificate: {0}")]
    Certificate(#[from] tls::CertError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] kspm_store::StoreError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

pub(crate) fn log(message: &str) {
    eprintln!("kspm admission: {message}");
}

/// Runs until SIGTERM or SIGINT.
pub fn run(config: Config, judge: ObjectJudge) -> Result<(), AdmissionError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AdmissionError::Runtime)?
        .block_on(async {
            let server = Server::start(config, judge).await?;
            shutdown_signal().await;
            log("stopping");
            server.stop().await;
            Ok(())
        })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A running webhook (in a runtime the caller owns).
pub struct Server {
    /// Where the webhook listens (the port chosen when 0 was asked for).
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    records: Option<tokio::task::JoinHandle<()>>,
}

struct Shared {
    judge: ObjectJudge,
    policy: Policy,
    timeout: Duration,
    max_body: usize,
    metrics: Arc<Metrics>,
    records: Option<mpsc::Sender<AdmissionDecision>>,
}

impl Server {
    /// Loads the certificate, binds both listeners, opens the store, and serves.
    pub async fn start(config: Config, judge: ObjectJudge) -> Result<Self, AdmissionError> {
        let metrics = Arc::new(Metrics::default());
        let cert = tls::Reloading::load(config.cert.clone())?;
        let tls_config = cert.server_config()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| AdmissionError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().unwrap_or(config.listen);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        let mut metrics_addr = None;
        if let Some(at) = config.metrics_listen {
            let plain = TcpListener::bind(at)
                .await
                .map_err(|source| AdmissionError::Listen { addr: at, source })?;
            metrics_addr = Some(plain.local_addr().unwrap_or(at));
            let app = Router::new()
                .route("/metrics", get(serve_metrics))
                .route("/healthz", get(|| async { "ok\n" }))
                .route("/readyz", get(readyz))
                .with_state(metrics.clone());
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(plain, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        let (records, writer) = match &config.store {
            Some(url) => {
                let store = Store::open(url).await?;
                let (tx, rx) = mpsc::channel(4096);
                let writer = tokio::spawn(write_records(
                    store,
                    config.cluster_name.clone(),
                    rx,
                    metrics.clone(),
                ));
                (Some(tx), Some(writer))
            }
            None => (None, None),
        };
        let rules = judge.rules().len();
        let shared = Arc::new(Shared {
            judge,
            policy: config.policy.clone(),
            timeout: config.timeout,
            max_body: config.max_body,
            metrics: metrics.clone(),
            records,
        });
        let app = Router::new()
            .route("/validate", post(validate))
            .with_state(shared);
        tasks.push(tokio::spawn(tls::watch(
            cert,
            config.reload,
            metrics.clone(),
        )));
        tasks.push(tokio::spawn(accept(
            listener,
            tokio_rustls::TlsAcceptor::from(Arc::new(tls_config)),
            app,
            config.max_connections,
            metrics.clone(),
            stopped,
        )));
        metrics
            .ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        log(&format!(
            "judging with {rules} rules on https://{addr}/validate{}",
            metrics_addr
                .map(|m| format!(", metrics on http://{m}/metrics"))
                .unwrap_or_default()
        ));
        Ok(Self {
            addr,
            metrics_addr,
            metrics,
            stop,
            tasks,
            records: writer,
        })
    }

    /// Stops accepting, lets the record writer drain, and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        if let Some(w) = self.records {
            // The senders are gone with the router: the writer drains its queue and ends.
            let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
        }
    }
}

async fn accept(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    max_connections: usize,
    metrics: Arc<Metrics>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                log(&format!("accept: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            add(&metrics.connections_refused);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

async fn readyz(State(metrics): State<Arc<Metrics>>) -> Response {
    if metrics.ready.load(std::sync::atomic::Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, text).into_response()
}

async fn validate(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let started = Instant::now();
    let metrics = &shared.metrics;
    let unreadable = |why: Unjudged, status: StatusCode, text: String| {
        metrics.unjudged(why);
        metrics.observe(Outcome::Unjudged, started.elapsed().as_secs_f64());
        plain(status, text)
    };
    // The body within the size limit and the time budget (a client that trickles it is cut).
    let bytes = match tokio::time::timeout(
        shared.timeout.max(Duration::from_secs(5)),
        axum::body::to_bytes(body, shared.max_body),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return unreadable(
                Unjudged::TooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {} bytes\n", shared.max_body),
            );
        }
        Err(_) => {
            return unreadable(
                Unjudged::SlowBody,
                StatusCode::REQUEST_TIMEOUT,
                "request body too slow\n".to_owned(),
            );
        }
    };
    let request = match review::parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return unreadable(
                Unjudged::BadRequest,
                StatusCode::BAD_REQUEST,
                format!("{e}\n"),
            );
        }
    };
    let uid = request.uid.clone();
    if request.dry_run {
        add(&metrics.dry_runs);
    }
    let verdict = if review::skip_reason(&request, &shared.policy).is_some() {
        Verdict {
            outcome: Outcome::Skipped,
            allowed: true,
            message: None,
            warnings: Vec::new(),
            judged: Vec::new(),
            object: review::object_name(&request),
        }
    } else {
        let sh = shared.clone();
        let job = tokio::task::spawn_blocking(move || {
            let verdict = review::judge(&sh.judge, &request, &sh.policy);
            (request, verdict)
        });
        match tokio::time::timeout(shared.timeout, job).await {
            Ok(Ok((request, verdict))) => {
                if verdict.outcome == Outcome::Unjudged {
                    metrics.unjudged(Unjudged::Object);
                }
                record(&shared, &request, &verdict);
                verdict
            }
            Ok(Err(_)) => {
                metrics.unjudged(Unjudged::Internal);
                review::unjudged(
                    &shared.policy,
                    review::ObjectName::default(),
                    "internal error while judging",
                )
            }
            Err(_) => {
                metrics.unjudged(Unjudged::Timeout);
                review::unjudged(
                    &shared.policy,
                    review::ObjectName::default(),
                    &format!("judging took longer than {} ms", shared.timeout.as_millis()),
                )
            }
        }
    };
    metrics.observe(verdict.outcome, started.elapsed().as_secs_f64());
    axum::Json(review::response(&uid, &verdict)).into_response()
}

/// Logs the decision as one JSON line and queues it for the store (never for a dry run).
fn record(shared: &Shared, request: &review::Request, verdict: &Verdict) {
    if verdict.judged.is_empty() {
        return;
    }
    let decision = match verdict.outcome {
        Outcome::Denied => "denied",
        Outcome::Warned => "warned",
        _ if verdict.judged.iter().any(|j| j.action == Action::Audit) => "audited",
        _ => return,
    };
    let at = kspm_store::time::now();
    let findings = review::findings_json(&verdict.judged);
    let line = serde_json::json!({
        "time": kspm_store::time::rfc3339(at),
        "decision": decision,
        "dry_run": request.dry_run,
        "uid": request.uid,
        "operation": request.operation,
        "user": request.username,
        "apiVersion": verdict.object.api_version,
        "kind": verdict.object.kind,
        "namespace": verdict.object.namespace,
        "name": verdict.object.name,
        "findings": findings,
    });
    println!("{line}");
    if request.dry_run {
        return;
    }
    if let Some(tx) = &shared.records {
        let record = AdmissionDecision {
            at,
            request_uid: request.uid.clone(),
            operation: request.operation.clone(),
            api_version: verdict.object.api_version.clone(),
            kind: verdict.object.kind.clone(),
            namespace: verdict.object.namespace.clone(),
            name: verdict.object.name.clone(),
            username: request.username.clone(),
            decision: decision.to_owned(),
            findings: findings.to_string(),
        };
        if tx.try_send(record).is_err() {
            add(&shared.metrics.records_dropped);
        }
    }
}

/// Writes queued decisions in batches.
async fn write_records(
    store: Store,
    cluster: String,
    mut rx: mpsc::Receiver<AdmissionDecision>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 256).await > 0 {
        if let Err(e) = store.record_admissions(&cluster, &batch).await {
            add(&metrics.store_errors);
            log(&format!(
                "cannot record {} admission decisions: {e}",
                batch.len()
            ));
        }
        batch.clear();
    }
    store.close().await;
}
