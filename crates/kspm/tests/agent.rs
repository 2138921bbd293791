//! `kspm agent` against the real kube-apiserver (scripts/test-cluster) and a real SQLite store:
//! the real binary runs in the background; the tests change the cluster with kubectl and poll
//! the store (`kspm findings --format json`) with a bounded wait.
#![cfg(feature = "agent")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kspm_testcluster::TestCluster;
use serde_json::Value;
use support::{json, kspm, stderr};

/// How long a change may take to reach the store (debounce 300 ms; the test server is local).
const WAIT: Duration = Duration::from_mins(1);

/// A running `kspm agent`, stopped with SIGTERM when dropped.
struct Agent {
    child: Child,
    log: PathBuf,
    addr: String,
}

impl Agent {
    fn start(c: &TestCluster, dir: &Path, store: &str, extra: &[&str]) -> Agent {
        let log = dir.join(format!(
            "agent-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let child = Command::new(env!("CARGO_BIN_EXE_kspm"))
            .args(["agent", "--kubeconfig"])
            .arg(&c.kubeconfig)
            .args([
                "--store",
                store,
                "--cluster-name",
                "test",
                "--debounce",
                "300ms",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start kspm agent");
        let mut agent = Agent {
            child,
            log,
            addr: String::new(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let text = agent.log_text();
            if let Some(rest) = text.split("on http://").nth(1) {
                rest.lines()
                    .next()
                    .unwrap()
                    .trim()
                    .clone_into(&mut agent.addr);
                break;
            }
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("the agent exited ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "the agent never listened:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let deadline = Instant::now() + WAIT;
        while get(&agent.addr, "/readyz").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "never ready:\n{}",
                agent.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        agent
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> Option<i32> {
        let code = self.terminate();
        std::mem::forget(self);
        code
    }

    fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A GET on the agent's endpoint: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: kspm\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn findings(dir: &Path, store: &str) -> Vec<Value> {
    let out = kspm(
        &[
            "findings",
            "--store",
            store,
            "--cluster",
            "test",
            "--format",
            "json",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out)["findings"].as_array().unwrap().clone()
}

/// The status of `rule` on `kind namespace/name` (`None` when never recorded).
fn status(found: &[Value], rule: &str, kind: &str, ns: &str, name: &str) -> Option<String> {
    found
        .iter()
        .find(|f| {
            f["rule"] == rule
                && f["object"]["kind"] == kind
                && f["object"]["namespace"] == ns
                && f["object"]["name"] == name
        })
        .map(|f| f["status"].as_str().unwrap().to_owned())
}

/// Waits until every `(rule, name)` of Deployments in `ns` has `want` as its status.
fn wait_for(agent: &Agent, dir: &Path, store: &str, ns: &str, expect: &[(&str, &str, &str)]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = findings(dir, store);
        let now: Vec<_> = expect
            .iter()
            .map(|(rule, name, _)| status(&found, rule, "Deployment", ns, name))
            .collect();
        if expect
            .iter()
            .zip(&now)
            .all(|((_, _, want), got)| got.as_deref() == Some(*want))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {expect:?}, got {now:?}\nagent log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn deployment(ns: &str, name: &str, privileged: bool) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        securityContext: {{privileged: {privileged}}}
"
    )
}

const DENY_ALL: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: kspm-agent}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
";

fn events(store_path: &Path) -> usize {
    kspm_store::block_on(async {
        let url =
            kspm_store::StoreUrl::parse(&format!("sqlite://{}", store_path.display())).unwrap();
        let store = kspm_store::Store::open_existing(&url).await.unwrap();
        let n = store.events("test").await.unwrap().len();
        store.close().await;
        n
    })
}

#[test]
fn the_agent_keeps_the_store_current_as_the_cluster_changes() {
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kspm.db");
    let store = format!("sqlite://{}", db.display());
    let ns = "kspm-agent";
    // Resyncs every 2 s: once the cluster is quiet, the judgements made namespace by namespace
    // must equal a whole judgement of the same objects.
    let agent = Agent::start(c, dir.path(), &store, &["--resync", "2s"]);
    assert_eq!(get(&agent.addr, "/healthz").0, 200);

    // A new privileged Deployment: its finding opens, with the namespace's coverage finding
    // (NW009; NW010, egress, is off by default).
    c.kubectl(&["create", "namespace", ns]);
    c.apply(&deployment(ns, "priv", true));
    wait_for(
        &agent,
        dir.path(),
        &store,
        ns,
        &[("PS004", "priv", "open"), ("NW009", "priv", "open")],
    );

    // Patched clean: resolved.
    c.apply(&deployment(ns, "priv", false));
    wait_for(
        &agent,
        dir.path(),
        &store,
        ns,
        &[("PS004", "priv", "resolved")],
    );

    // A default-deny policy in the namespace re-judges its workloads: covered, resolved...
    c.apply(DENY_ALL);
    wait_for(
        &agent,
        dir.path(),
        &store,
        ns,
        &[("NW009", "priv", "resolved")],
    );
    // ...and removing it reopens them.
    c.kubectl(&["delete", "networkpolicy", "deny-all", "-n", ns]);
    wait_for(&agent, dir.path(), &store, ns, &[("NW009", "priv", "open")]);
    let reopened = findings(dir.path(), &store)
        .into_iter()
        .find(|f| f["rule"] == "NW009" && f["object"]["name"] == "priv")
        .unwrap();
    assert_eq!(reopened["reopen_count"], 1, "{reopened:#}");

    // Deleting the object resolves every finding on it.
    c.apply(&deployment(ns, "gone", true));
    wait_for(&agent, dir.path(), &store, ns, &[("PS004", "gone", "open")]);
    c.kubectl(&["delete", "deployment", "gone", "-n", ns]);
    wait_for(
        &agent,
        dir.path(),
        &store,
        ns,
        &[("PS004", "gone", "resolved"), ("NW009", "gone", "resolved")],
    );

    let (code, metrics) = get(&agent.addr, "/metrics");
    assert_eq!(code, 200);
    let counter = |name: &str| counter_in(&metrics, name);
    assert!(counter("kspm_agent_events_total") >= 6, "{metrics}");
    assert_eq!(counter("kspm_agent_ready"), 1);
    assert_eq!(counter("kspm_agent_store_errors_total"), 0);
    assert!(
        counter("kspm_agent_evaluation_seconds_count") >= 5,
        "{metrics}"
    );
    assert!(
        metrics.contains("kspm_agent_open_findings{severity=\"high\"}"),
        "{metrics}"
    );

    // Two resyncs after the changes: the last one compared the incremental judgement with a
    // full one and found nothing different.
    let start = counter("kspm_agent_resyncs_total");
    let deadline = Instant::now() + WAIT;
    let metrics = loop {
        let (_, m) = get(&agent.addr, "/metrics");
        if counter_in(&m, "kspm_agent_resyncs_total") >= start + 2 {
            break m;
        }
        assert!(Instant::now() < deadline, "no resync\n{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        counter_in(&metrics, "kspm_agent_resync_differences"),
        0,
        "{}",
        agent.log_text()
    );

    // SIGTERM: a last sync, exit 0.
    assert_eq!(agent.stop(), Some(0));
    let before = events(&db);

    // A change while no agent runs is picked up by the next one; the rest of the state
    // resumes without a single new event.
    c.apply(&deployment(ns, "late", true));
    // This one also resyncs every second: with nothing changing, it must find no difference.
    let agent = Agent::start(c, dir.path(), &store, &["--resync", "1s"]);
    wait_for(
        &agent,
        dir.path(),
        &store,
        ns,
        &[("PS004", "late", "open"), ("PS004", "priv", "resolved")],
    );
    std::thread::sleep(Duration::from_secs(2));
    let after = events(&db);
    let late = findings(dir.path(), &store)
        .iter()
        .filter(|f| f["object"]["name"] == "late")
        .count();
    assert_eq!(
        after,
        before + late,
        "the restart added events beyond the new Deployment's {late} findings\n{}",
        agent.log_text()
    );
    let (_, metrics) = get(&agent.addr, "/metrics");
    assert!(
        counter_in(&metrics, "kspm_agent_resyncs_total") >= 1,
        "{metrics}"
    );
    assert_eq!(
        counter_in(&metrics, "kspm_agent_resync_differences_total"),
        0,
        "{}",
        agent.log_text()
    );
    assert_eq!(agent.stop(), Some(0));
}

fn counter_in(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}
