//! The outbox end to end on a real SQLite store and real HTTP receivers on loopback (the
//! Alertmanager sink against the real Alertmanager is in crates/kspm/tests/alerts.rs): delivery
//! through an outage, deduplication across restarts, the start-up summary, flapping and digests,
//! the webhook's signature, Slack's payload, and no credential anywhere it could leak.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kspm_alerts::{AlertsConfig, Dispatcher, Sinks};
use kspm_model::Severity;
use kspm_model::yaml::{Limits, parse_stream};
use kspm_store::{ObjectRef, Observation, Snapshot, Store, StoreUrl};
use serde_json::Value;

/// One request a receiver took.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A loopback HTTP receiver: answers each request with the next scripted status (200 when the
/// script is empty) and records the requests it answered with 2xx.
#[derive(Clone)]
struct Receiver {
    port: u16,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    taken: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    /// A port nothing listens on yet.
    fn reserve() -> Receiver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Receiver {
            port,
            script: Arc::default(),
            taken: Arc::default(),
        }
    }

    fn start() -> Receiver {
        let r = Receiver::reserve();
        r.listen();
        r
    }

    fn listen(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        let me = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                me.answer(stream);
            }
        });
    }

    fn answer(&self, mut stream: TcpStream) {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.trim().split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let (status, answer) = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or((200, "ok".to_owned()));
        if (200..300).contains(&status) {
            self.taken.lock().unwrap().push(Request {
                path,
                headers,
                body: String::from_utf8(body).unwrap(),
            });
        }
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
    }

    fn then(&self, status: u16, answer: &str) {
        self.script
            .lock()
            .unwrap()
            .push_back((status, answer.to_owned()));
    }

    fn taken(&self) -> Vec<Request> {
        self.taken.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn config(yaml: &str) -> AlertsConfig {
    let (docs, errors) = parse_stream(yaml, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    AlertsConfig::parse(docs[0].root.get("alerts").unwrap(), "kspm.yaml").unwrap()
}

fn dispatcher(yaml: &str, store: &Store) -> Dispatcher {
    let config = config(yaml);
    let (sinks, errors) = Sinks::build(&config);
    assert!(errors.is_empty(), "{errors:?}");
    Dispatcher::new(config, sinks, store.clone(), "prod".to_owned())
}

fn finding(ns: &str, name: &str, rule: &str, severity: Severity) -> Observation {
    Observation {
        rule: rule.into(),
        slug: kspm_rules::find_rule(rule)
            .map_or_else(|| rule.to_owned(), |r| r.meta.slug.to_owned()),
        severity,
        category: "pod-security".into(),
        object: ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(ns.into()),
            name: name.into(),
            uid: None,
        },
        path: "spec.template.spec.containers[0].securityContext.privileged".into(),
        location: "cluster".into(),
        message: format!("{rule} on {ns}/{name}"),
        value: Some("true".into()),
        suppressed: None,
        fix: None,
        risk: 0,
    }
}

fn snapshot(findings: Vec<Observation>) -> Snapshot {
    Snapshot {
        objects: findings.iter().map(|f| f.object.key()).collect(),
        observations: findings,
        complete: true,
        namespaces: None,
        rules: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn open_store(dir: &Path) -> Store {
    let url = StoreUrl::parse(&format!("sqlite://{}", dir.join("kspm.db").display())).unwrap();
    Store::open(&url).await.unwrap()
}

fn verify(secret: &[u8], r: &Request) {
    let ts = r.header("x-kspm-timestamp").expect("timestamp header");
    let sig = r.header("x-kspm-signature").expect("signature header");
    let hex = sig.strip_prefix("sha256=").expect("sha256= prefix");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, format!("{ts}.{}", r.body).as_bytes(), &bytes)
        .expect("the signature verifies with the shared secret");
    let wrong = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another secret");
    assert!(ring::hmac::verify(&wrong, format!("{ts}.{}", r.body).as_bytes(), &bytes).is_err());
}

const SECRET: &str = "hmac-secret-value-7f3a";

#[test]
fn every_alert_arrives_through_an_outage_signed_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("kspm.db").display()
    ))
    .unwrap();
    outage(dir.path(), &url);
    // The secret is nowhere in the store (nor its WAL).
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "hmac" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SECRET),
            "{} holds the secret",
            path.display()
        );
        assert!(
            !text.contains("127.0.0.1"),
            "{} holds the sink URL",
            path.display()
        );
    }
}

#[test]
fn every_alert_arrives_through_an_outage_on_postgres() {
    let Some(pg) = kspm_testcluster::TestPostgres::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    outage(
        dir.path(),
        &StoreUrl::parse(&pg.database("alerts_outbox")).unwrap(),
    );
}

/// Refused, then 503s, then 429: everything arrives once, signed; a restart repeats nothing.
fn outage(dir: &Path, url: &StoreUrl) {
    std::fs::write(dir.join("hmac"), format!("{SECRET}\n")).unwrap();
    let hook = Receiver::reserve(); // nothing listens yet: connections are refused
    let yaml = format!(
        "alerts:
  routes:
    - match: {{min_severity: high, namespaces: [\"prod-*\"]}}
      to: [siem]
      resolved: true
  sinks:
    siem: {{type: webhook, url: \"{}\", hmac_secret_file: \"{}\"}}
",
        hook.url("/kspm"),
        dir.join("hmac").display()
    );
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(url).await.unwrap();
        let t0 = 1_800_000_000;
        let existing = finding("prod-eu", "api", "PS004", Severity::Critical);
        let minor = finding("prod-eu", "api", "WL008", Severity::Low);
        store
            .sync("prod", &snapshot(vec![existing.clone(), minor.clone()]), t0)
            .await
            .unwrap();

        // First start while the receiver is down: the summary cannot go, nothing is recorded.
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0 + 1).await.unwrap(), 0);
        assert_eq!(d.metrics().counts("siem"), (0, 1, 0));
        let err_text = d.metrics().render();
        assert!(!err_text.contains(SECRET));

        // The receiver comes up answering 503 twice, then recovers: the summary goes.
        hook.listen();
        hook.then(503, "busy");
        hook.then(503, "busy");
        let mut delivered = 0;
        for _ in 0..4 {
            d.retry_now();
            delivered += d.pump(t0 + 2).await.unwrap();
        }
        assert_eq!(delivered, 1);
        // A new finding while the receiver is failing again.
        hook.then(503, "busy");
        hook.then(429, "slow down");
        let new = finding("prod-us", "pay", "PS004", Severity::High);
        store
            .sync(
                "prod",
                &snapshot(vec![existing.clone(), minor.clone(), new.clone()]),
                t0 + 10,
            )
            .await
            .unwrap();
        for _ in 0..4 {
            d.retry_now();
            delivered += d.pump(t0 + 11).await.unwrap();
        }
        assert_eq!(delivered, 2, "the summary, then the new finding");
        let taken = hook.taken();
        assert_eq!(taken.len(), 2, "{taken:#?}");
        let summary = taken[0].json();
        assert_eq!(summary["schema"], "kspm.io/alert/v1");
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["total"], 1, "the low finding is not on this route");
        assert_eq!(summary["findings"][0]["object"]["name"], "api");
        let alert = taken[1].json();
        assert_eq!(alert["type"], "finding");
        assert_eq!(alert["status"], "firing");
        assert_eq!(alert["event"]["kind"], "opened");
        assert_eq!(alert["finding"]["rule"], "PS004");
        assert_eq!(alert["finding"]["object"]["name"], "pay");
        assert!(
            alert["finding"]["remediation"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert_eq!(
            taken[1].header("idempotency-key"),
            alert["idempotency_key"].as_str()
        );
        for r in &taken {
            verify(SECRET.as_bytes(), r);
        }
        assert_eq!(d.metrics().counts("siem"), (2, 5, 0));

        // A restart (a new dispatcher on the same store) sends nothing again.
        let mut again = dispatcher(&yaml, &store);
        assert_eq!(again.pump(t0 + 20).await.unwrap(), 0);
        assert_eq!(hook.taken().len(), 2);

        // Fixed: one resolved notice.
        let mut judged = snapshot(vec![existing.clone(), minor.clone()]);
        judged.objects.insert(new.object.key());
        store.sync("prod", &judged, t0 + 40).await.unwrap();
        assert_eq!(again.pump(t0 + 41).await.unwrap(), 1);
        let resolved = hook.taken()[2].json();
        assert_eq!(resolved["status"], "resolved");
        assert_eq!(resolved["finding"]["object"]["name"], "pay");

        store.close().await;
    });
}

#[test]
fn a_first_start_sends_one_summary_per_route_and_a_flapping_finding_alerts_once() {
    let dir = tempfile::tempdir().unwrap();
    let now_hook = Receiver::start();
    let digest_hook = Receiver::start();
    let yaml = format!(
        "alerts:
  flap_window: 10m
  routes:
    - match: {{min_severity: high}}
      to: [now]
    - match: {{min_severity: low}}
      to: [later]
      digest: 1h
  sinks:
    now: {{type: webhook, url: \"{}\"}}
    later: {{type: webhook, url: \"{}\"}}
",
        now_hook.url("/now"),
        digest_hook.url("/digest")
    );
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(dir.path()).await;
        let t0 = 1_800_000_000;
        let existing: Vec<Observation> = (0..5000)
            .map(|i| {
                let sev = if i % 2 == 0 {
                    Severity::High
                } else {
                    Severity::Low
                };
                finding("shop", &format!("app-{i}"), "PS004", sev)
            })
            .collect();
        store
            .sync("prod", &snapshot(existing.clone()), t0)
            .await
            .unwrap();
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0 + 1).await.unwrap(), 2, "one summary per route");
        let now_taken = now_hook.taken();
        assert_eq!(now_taken.len(), 1);
        assert_eq!(now_taken[0].json()["type"], "summary");
        assert_eq!(now_taken[0].json()["total"], 2500);
        assert_eq!(now_taken[0].json()["counts"]["high"], 2500);
        assert_eq!(
            now_taken[0].json()["findings"].as_array().unwrap().len(),
            50
        );
        let digest_taken = digest_hook.taken();
        assert_eq!(digest_taken.len(), 1);
        assert_eq!(digest_taken[0].json()["total"], 5000);

        // One finding toggled ten times within a minute.
        let flappy = finding("shop", "flappy", "PS004", Severity::Critical);
        let mut with = existing.clone();
        with.push(flappy.clone());
        let mut without = snapshot(existing.clone());
        without.objects.insert(flappy.object.key());
        for i in 0..10 {
            let at = t0 + 100 + i * 6;
            let snap = if i % 2 == 0 {
                snapshot(with.clone())
            } else {
                without.clone()
            };
            store.sync("prod", &snap, at).await.unwrap();
            d.pump(at).await.unwrap();
        }
        let now_taken = now_hook.taken();
        assert_eq!(
            now_taken.len(),
            2,
            "the summary and one alert: {now_taken:#?}"
        );
        assert_eq!(now_taken[1].json()["finding"]["object"]["name"], "flappy");
        assert_eq!(now_taken[1].json()["event"]["kind"], "opened");
        assert_eq!(
            digest_hook.taken().len(),
            1,
            "the digest waits for its hour"
        );

        // The hour is up: one digest, which names the flapping finding once.
        assert_eq!(d.pump(t0 + 3700).await.unwrap(), 1);
        let digest = digest_hook.taken()[1].json();
        assert_eq!(digest["type"], "digest");
        assert_eq!(
            digest["total"], 1,
            "the first opening; the reopenings are flapping"
        );
        let flapped = digest["flapped"].as_array().unwrap();
        assert_eq!(flapped.len(), 1);
        assert_eq!(flapped[0]["finding"]["object"]["name"], "flappy");
        assert_eq!(flapped[0]["times"], 4);
        // Nothing more: the next period has nothing to say.
        assert_eq!(d.pump(t0 + 7400).await.unwrap(), 0);
        store.close().await;
    });
}

#[test]
fn slack_gets_a_readable_message_and_its_url_never_shows() {
    // Slack itself cannot be reached from here: its payload goes to a local server instead.
    let dir = tempfile::tempdir().unwrap();
    let slack = Receiver::start();
    let token_url = slack.url("/services/T000/B000/XXXXTOKENXXXX");
    std::fs::write(dir.path().join("slack-url"), &token_url).unwrap();
    let yaml = format!(
        "alerts:
  routes: [{{match: {{min_severity: high}}, to: [slack]}}]
  on_start: silent
  sinks:
    slack: {{type: slack, webhook_url_file: \"{}\"}}
",
        dir.path().join("slack-url").display()
    );
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(dir.path()).await;
        let t0 = 1_800_000_000;
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0).await.unwrap(), 0, "silent: no summary");
        let f = finding("prod", "api", "PS004", Severity::Critical);
        store
            .sync("prod", &snapshot(vec![f]), t0 + 5)
            .await
            .unwrap();
        assert_eq!(d.pump(t0 + 6).await.unwrap(), 1);
        let taken = slack.taken();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].path, "/services/T000/B000/XXXXTOKENXXXX");
        let body = taken[0].json();
        let text = body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .starts_with("[CRITICAL] PS004 open on Deployment/prod/api"),
            "{body}"
        );
        assert!(text.contains("*Object:* `Deployment/prod/api`"), "{text}");
        assert!(text.contains("*Value:* `true`"), "{text}");
        assert!(text.contains("*Fix:*"), "{text}");

        // Slack's own error comes back exactly; the URL (its token) does not.
        let config = config(&yaml);
        let (sinks, _) = Sinks::build(&config);
        let sink = &sinks.0["slack"];
        slack.then(404, "no_service");
        let err = kspm_alerts::test_sink(sink, "prod", 60).await.unwrap_err();
        assert_eq!(err.to_string(), "HTTP 404: no_service");
        assert!(!format!("{sink:?} {} {err:?}", sink.shown).contains("TOKEN"));
        assert_eq!(sink.shown, format!("slack http://127.0.0.1:{}", slack.port));
        store.close().await;
    });
}

#[test]
fn a_missing_credential_is_named_without_its_value() {
    let config = config(
        "alerts:
  routes: [{to: [a, b]}]
  sinks:
    a: {type: webhook, url: \"http://127.0.0.1:9/x\", hmac_secret_file: /nonexistent/hmac}
    b: {type: slack, webhook_url_env: KSPM_TEST_SURELY_UNSET_VARIABLE}
",
    );
    let (sinks, errors) = Sinks::build(&config);
    assert!(sinks.0.is_empty());
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "alert sink `a`: cannot read /nonexistent/hmac: No such file or directory (os error 2)",
            "alert sink `b`: environment variable KSPM_TEST_SURELY_UNSET_VARIABLE is not set (or not UTF-8)",
        ]
    );
}

#[test]
fn suppressed_findings_are_not_alerted_until_their_exception_expires() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let yaml = format!(
        "alerts:
  on_start: silent
  routes: [{{to: [siem], resolved: true}}]
  sinks:
    siem: {{type: webhook, url: \"{}\"}}
",
        hook.url("/kspm")
    );
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(dir.path()).await;
        let t0 = 1_800_000_000;
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0).await.unwrap(), 0);
        let mut waived = finding("prod", "api", "PS004", Severity::Critical);
        waived.suppressed = Some(kspm_store::Suppressed {
            by: "kspm.yaml".into(),
            reason: "migration".into(),
            until: Some(t0 + 50),
        });
        store
            .sync("prod", &snapshot(vec![waived.clone()]), t0 + 10)
            .await
            .unwrap();
        assert_eq!(
            d.pump(t0 + 11).await.unwrap(),
            0,
            "suppressed from the start: silent"
        );
        // The exception expires: the scan reports the finding plainly again, and it alerts.
        waived.suppressed = None;
        store
            .sync("prod", &snapshot(vec![waived]), t0 + 100)
            .await
            .unwrap();
        assert_eq!(d.pump(t0 + 101).await.unwrap(), 1);
        let alert = hook.taken()[0].json();
        assert_eq!(alert["status"], "firing");
        assert_eq!(alert["event"]["kind"], "unsuppressed");
        store.close().await;
    });
}

#[test]
fn an_alert_undeliverable_past_max_age_is_dead_lettered_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let yaml = format!(
        "alerts:
  on_start: silent
  max_age: 1h
  routes: [{{to: [siem]}}]
  sinks:
    siem: {{type: webhook, url: \"{}\"}}
",
        hook.url("/kspm")
    );
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(dir.path()).await;
        let t0 = 1_800_000_000;
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0).await.unwrap(), 0);
        let a = finding("prod", "a", "PS004", Severity::Critical);
        store
            .sync("prod", &snapshot(vec![a.clone()]), t0 + 10)
            .await
            .unwrap();
        // Within max_age a failure keeps the alert.
        hook.then(500, "down");
        assert_eq!(d.pump(t0 + 20).await.unwrap(), 0);
        assert_eq!(d.metrics().counts("siem"), (0, 1, 0));
        // Past it, the next failure dead-letters it; the next alert goes through.
        let b = finding("prod", "b", "PS004", Severity::Critical);
        store
            .sync("prod", &snapshot(vec![a, b]), t0 + 3700)
            .await
            .unwrap();
        hook.then(500, "still down");
        d.retry_now();
        assert_eq!(d.pump(t0 + 3700).await.unwrap(), 1);
        assert_eq!(d.metrics().counts("siem"), (1, 2, 1));
        let taken = hook.taken();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].json()["finding"]["object"]["name"], "b");
        let metrics = d.metrics().render();
        assert!(
            metrics.contains("kspm_alerts_dead_lettered_total{sink=\"siem\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("kspm_alerts_queued{sink=\"siem\""),
            "{metrics}"
        );
        store.close().await;
    });
}

#[test]
fn a_flapping_burst_that_ends_open_is_told_once_the_window_passes() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let yaml = format!(
        "alerts:
  on_start: silent
  flap_window: 10m
  routes: [{{to: [siem], resolved: true}}]
  sinks:
    siem: {{type: webhook, url: \"{}\"}}
",
        hook.url("/kspm")
    );
    let rt = runtime();
    rt.block_on(async {
        let store = open_store(dir.path()).await;
        let t0 = 1_800_000_000;
        let mut d = dispatcher(&yaml, &store);
        assert_eq!(d.pump(t0).await.unwrap(), 0);
        let f = finding("prod", "api", "PS004", Severity::Critical);
        let mut gone = snapshot(Vec::new());
        gone.objects.insert(f.object.key());
        // open, resolved, reopened, resolved, reopened: 6 s apart.
        for (i, snap) in [
            snapshot(vec![f.clone()]),
            gone.clone(),
            snapshot(vec![f.clone()]),
            gone.clone(),
            snapshot(vec![f.clone()]),
        ]
        .iter()
        .enumerate()
        {
            let at = t0 + 10 + 6 * i as i64;
            store.sync("prod", snap, at).await.unwrap();
            d.pump(at).await.unwrap();
        }
        let statuses = |h: &Receiver| -> Vec<String> {
            h.taken()
                .iter()
                .map(|r| r.json()["status"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(statuses(&hook), ["firing", "resolved"]);
        // Still inside the window: nothing yet.
        assert_eq!(d.pump(t0 + 300).await.unwrap(), 0);
        // The window passed and the finding is still open: the receiver hears it, once.
        assert_eq!(d.pump(t0 + 700).await.unwrap(), 1);
        assert_eq!(d.pump(t0 + 800).await.unwrap(), 0);
        assert_eq!(statuses(&hook), ["firing", "resolved", "firing"]);
        store.close().await;
    });
}
