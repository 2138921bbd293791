//! Outbox benchmarks on a real SQLite store and a keep-alive webhook receiver on loopback.
//! Run: `cargo bench -p kspm_alerts --bench outbox`.
//!
//! - `deliver_1000`: 1,000 findings opened by one sync, then one dispatcher pass delivers their
//!   1,000 webhook alerts (each: read from the events table, matched, rendered, POSTed, cursor
//!   written). Alerts per second = 1,000 / the time.
//! - `window_17`: what the outbox adds to one agent window at 1,000 changes a minute (about 17
//!   changes per second, one debounce window): the pass the agent's sync wakes, delivering 17
//!   alerts. The finding-to-alert latency is the agent's debounce plus its judgement plus this.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kspm_alerts::{AlertsConfig, Dispatcher, Sinks};
use kspm_model::Severity;
use kspm_model::yaml::{Limits, parse_stream};
use kspm_store::{ObjectRef, Observation, Snapshot, Store, StoreUrl};

/// Answers 200 to every request, keeping connections open.
fn receiver() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    port
}

fn serve(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((_, v)) = h
                .split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

fn finding(i: usize) -> Observation {
    Observation {
        rule: "PS004".into(),
        slug: "privileged-container".into(),
        severity: Severity::Critical,
        category: "pod-security".into(),
        object: ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(format!("ns-{}", i % 50)),
            name: format!("app-{i}"),
            uid: None,
        },
        path: "spec.template.spec.containers[0].securityContext.privileged".into(),
        location: "cluster".into(),
        message: format!("container app of app-{i} is privileged"),
        value: Some("true".into()),
        suppressed: None,
        fix: None,
        risk: 0,
    }
}

struct Bench {
    rt: tokio::runtime::Runtime,
    store: Store,
    dispatcher: Dispatcher,
    next: usize,
    now: i64,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let port = receiver();
        let secret = dir.path().join("hmac");
        std::fs::write(&secret, "bench-secret").unwrap();
        let yaml = format!(
            "alerts:
  on_start: silent
  routes: [{{match: {{min_severity: high}}, to: [hook]}}]
  sinks:
    hook: {{type: webhook, url: \"http://127.0.0.1:{port}/kspm\", hmac_secret_file: \"{}\"}}
",
            secret.display()
        );
        let (docs, _) = parse_stream(&yaml, &Limits::default());
        let config = AlertsConfig::parse(docs[0].root.get("alerts").unwrap(), "kspm.yaml").unwrap();
        let (sinks, errors) = Sinks::build(&config);
        assert!(errors.is_empty(), "{errors:?}");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = StoreUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("kspm.db").display()
        ))
        .unwrap();
        let store = rt.block_on(Store::open(&url)).unwrap();
        let mut dispatcher = Dispatcher::new(config, sinks, store.clone(), "bench".into());
        let now = 1_800_000_000;
        rt.block_on(dispatcher.pump(now)).unwrap();
        Bench {
            rt,
            store,
            dispatcher,
            next: 0,
            now,
            _dir: dir,
        }
    }

    /// Opens `n` new findings (untimed), then times the pass that delivers them.
    fn round(&mut self, n: usize) -> Duration {
        let new: Vec<Observation> = (self.next..self.next + n).map(finding).collect();
        self.next += n;
        self.now += 1;
        // Incomplete: only these objects were judged, so earlier findings stay as they are.
        let snapshot = Snapshot {
            objects: new.iter().map(|f| f.object.key()).collect(),
            observations: new,
            complete: false,
            namespaces: None,
            rules: None,
        };
        self.rt
            .block_on(self.store.sync("bench", &snapshot, self.now))
            .unwrap();
        let started = Instant::now();
        let delivered = self.rt.block_on(self.dispatcher.pump(self.now)).unwrap();
        let took = started.elapsed();
        assert_eq!(delivered, n);
        took
    }
}

fn outbox(c: &mut Criterion) {
    let mut group = c.benchmark_group("outbox");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let mut bench = Bench::new();
    group.bench_function("deliver_1000", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bench.round(1000)).sum());
    });
    let mut bench = Bench::new();
    group.bench_function("window_17", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bench.round(17)).sum());
    });
    group.finish();
}

criterion_group!(benches, outbox);
criterion_main!(benches);
