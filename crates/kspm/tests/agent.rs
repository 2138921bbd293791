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

/// Every test here watches the whole shared cluster (and some count every event), so they take
/// turns: one test's objects must not land in another's store mid-test.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
        let agent = Agent::spawn(c, dir, store, extra);
        agent.wait_ready();
        agent
    }

    /// Started and listening, not necessarily ready (a follower waiting for the lease).
    fn spawn(c: &TestCluster, dir: &Path, store: &str, extra: &[&str]) -> Agent {
        Agent::spawn_as(&c.kubeconfig, dir, store, extra)
    }

    /// [`Agent::spawn`] with another user's kubeconfig.
    fn spawn_as(kubeconfig: &Path, dir: &Path, store: &str, extra: &[&str]) -> Agent {
        let log = dir.join(format!(
            "agent-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let child = Command::new(env!("CARGO_BIN_EXE_kspm"))
            .args(["agent", "--kubeconfig"])
            .arg(kubeconfig)
            .args([
                "--store",
                store,
                "--debounce",
                "300ms",
                "--listen",
                "127.0.0.1:0",
            ])
            // Defaults a test can override: the cluster name, and no reports (tests that run at
            // once on the shared cluster must not write each other's reports).
            .args(if extra.contains(&"--cluster-name") {
                &[][..]
            } else {
                &["--cluster-name", "test"][..]
            })
            .args(if extra.contains(&"--reports") {
                &[][..]
            } else {
                &["--reports", "none"][..]
            })
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
        agent
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + WAIT;
        while get(&self.addr, "/readyz").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "never ready:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
        // Already reaped: never signal a pid that may belong to another process by now.
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.code();
        }
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
    findings_of(dir, store, "test")
}

fn findings_of(dir: &Path, store: &str, cluster: &str) -> Vec<Value> {
    let out = kspm(
        &[
            "findings",
            "--store",
            store,
            "--cluster",
            cluster,
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
    events_of(&format!("sqlite://{}", store_path.display()), "test").len()
}

/// `(finding id, event kind)` of every event of `cluster`, in order.
fn events_of(store: &str, cluster: &str) -> Vec<(i64, String)> {
    kspm_store::block_on(async {
        let url = kspm_store::StoreUrl::parse(store).unwrap();
        let store = kspm_store::Store::open_existing(&url).await.unwrap();
        let events = store.events(cluster).await.unwrap();
        store.close().await;
        events
            .into_iter()
            .map(|e| (e.finding_id, e.kind.as_str().to_owned()))
            .collect()
    })
}

#[test]
fn the_agent_keeps_the_store_current_as_the_cluster_changes() {
    let _turn = serial();
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

/// `kubectl get KIND kspm -n NS -o json`, `None` while it does not exist.
fn report(c: &TestCluster, kind: &str, ns: Option<&str>) -> Option<Value> {
    let mut args = vec![
        "get",
        kind,
        "kspm",
        "-o",
        "json",
        "--ignore-not-found",
        "--show-managed-fields",
    ];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    let out = c.kubectl(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    (!text.trim().is_empty()).then(|| serde_json::from_str(&text).unwrap())
}

/// Results of a report on the object `kind/name` for the rule slug `policy`.
fn results_on(report: &Value, policy: &str, kind: &str, name: &str) -> usize {
    report["results"].as_array().map_or(0, |rs| {
        rs.iter()
            .filter(|r| {
                r["policy"] == policy
                    && r["resources"][0]["kind"] == kind
                    && r["resources"][0]["name"] == name
            })
            .count()
    })
}

/// Waits until `check` holds of the report (or of its absence), returning how long it took.
fn wait_report(
    agent: &Agent,
    c: &TestCluster,
    kind: &str,
    ns: Option<&str>,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let r = report(c, kind, ns);
        if check(r.as_ref()) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < WAIT,
            "waited {WAIT:?} for {what}; the report is {r:#?}\nagent log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pod(ns: &str, name: &str, privileged: bool) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}}}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    env: [{{name: DB_PASSWORD, value: hunter2-never-in-a-report}}]
    securityContext: {{privileged: {privileged}}}
"
    )
}

#[test]
fn the_agent_keeps_policy_reports_current() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let crds = kspm_testcluster::repo_root().join("deploy/crds");
    c.kubectl(&["apply", "-f", crds.to_str().unwrap()]);
    for crd in [
        "policyreports.wgpolicyk8s.io",
        "clusterpolicyreports.wgpolicyk8s.io",
        "reports.openreports.io",
        "clusterreports.openreports.io",
    ] {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = c.kubectl(&["get", "crd", crd, "-o", "json"]);
            let established = json(&out)["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                });
            if established {
                break;
            }
            assert!(Instant::now() < deadline, "{crd} never established");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-reports";
    c.kubectl(&["create", "namespace", ns]);
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--reports", "wgpolicyk8s", "--cluster-name", "reports"],
    );

    // A privileged pod: its namespace's PolicyReport gains the result within seconds.
    c.apply(&pod(ns, "priv", true));
    let took = wait_report(
        &agent,
        c,
        "policyreports",
        Some(ns),
        "the PS004 result",
        |r| r.is_some_and(|r| results_on(r, "privileged-container", "Pod", "priv") == 1),
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let r = report(c, "policyreports", Some(ns)).unwrap();
    let result = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "privileged-container")
        .unwrap();
    assert_eq!(result["rule"], "PS004", "{result:#}");
    assert_eq!(result["result"], "fail");
    assert_eq!(result["source"], "kspm");
    assert!(
        ["critical", "high"].contains(&result["severity"].as_str().unwrap()),
        "{result:#}"
    );
    assert_eq!(result["resources"][0]["namespace"], ns);
    assert!(
        result["resources"][0]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(
        result["properties"]["path"]
            .as_str()
            .unwrap()
            .contains("privileged"),
        "{result:#}"
    );
    let id = result["properties"]["kspm.io/finding-id"].as_str().unwrap();
    assert!(id.parse::<i64>().is_ok(), "{result:#}");
    // The fix, in words and as a JSON patch that sets privileged to false.
    assert!(
        result["properties"]["fix"]
            .as_str()
            .is_some_and(|f| !f.is_empty()),
        "{result:#}"
    );
    let patch: Value =
        serde_json::from_str(result["properties"]["kspm.io/patch"].as_str().unwrap()).unwrap();
    assert!(
        patch.as_array().unwrap().iter().any(|op| op["path"]
            .as_str()
            .unwrap()
            .ends_with("/privileged")
            && op["value"] == false),
        "{patch:#}"
    );
    assert!(
        result["properties"]["kspm.io/risk"]
            .as_str()
            .unwrap()
            .parse::<u8>()
            .is_ok_and(|r| r > 0),
        "{result:#}"
    );
    assert_eq!(
        r["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kspm"
    );
    assert_eq!(r["scope"]["kind"], "Namespace");
    let results = r["results"].as_array().unwrap().len();
    assert_eq!(r["summary"]["fail"], results, "{r:#}");
    assert!(
        !r.to_string().contains("hunter2"),
        "a secret value reached the report"
    );
    // Written by server-side apply, as kspm.
    let managers = r["metadata"]["managedFields"].to_string();
    assert!(managers.contains("\"manager\":\"kspm\""), "{managers}");
    assert!(managers.contains("\"operation\":\"Apply\""), "{managers}");

    // What `kubectl get policyreports` shows: the report, its scope and its fail count.
    let table = String::from_utf8_lossy(
        &c.kubectl(&["get", "policyreports", "-n", ns, "-o", "wide"])
            .stdout,
    )
    .into_owned();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "KIND", "NAME", "PASS", "FAIL", "WARN", "ERROR", "SKIP", "AGE"
        ],
        "{table}"
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["kspm", "Namespace", ns, "0"], "{table}");
    assert_eq!(row[4], results.to_string(), "{table}");
    // Cluster-scoped objects (ClusterRoles...) have their ClusterPolicyReport.
    wait_report(
        &agent,
        c,
        "clusterpolicyreports",
        None,
        "the cluster report",
        |r| r.is_some_and(|r| r["summary"]["fail"].as_u64().unwrap_or(0) > 0),
    );

    // Only changed reports are written: a finding in another namespace writes that namespace's
    // report and leaves this one (its resourceVersion) alone.
    let version = r["metadata"]["resourceVersion"].clone();
    let other = "kspm-reports-other";
    c.kubectl(&["create", "namespace", other]);
    c.apply(&pod(other, "elsewhere", true));
    wait_report(
        &agent,
        c,
        "policyreports",
        Some(other),
        "the other report",
        |r| r.is_some_and(|r| results_on(r, "privileged-container", "Pod", "elsewhere") == 1),
    );
    assert_eq!(
        report(c, "policyreports", Some(ns)).unwrap()["metadata"]["resourceVersion"],
        version,
        "an unchanged report was written again"
    );
    c.kubectl(&["delete", "pod", "elsewhere", "-n", other]);
    wait_report(
        &agent,
        c,
        "policyreports",
        Some(other),
        "the other report deleted",
        |r| r.is_none(),
    );

    // Fixed (a pod's security context is immutable: replaced by a clean one): the result goes.
    c.kubectl(&["delete", "pod", "priv", "-n", ns, "--wait=false"]);
    c.apply(&pod(ns, "clean", false));
    wait_report(&agent, c, "policyreports", Some(ns), "PS004 gone", |r| {
        r.is_some_and(|r| {
            results_on(r, "privileged-container", "Pod", "priv") == 0
                && results_on(r, "privileged-container", "Pod", "clean") == 0
                && r["results"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().all(|x| x["resources"][0]["name"] != "priv"))
        })
    });
    // Nothing left in the namespace: its report is deleted.
    c.kubectl(&["delete", "pod", "clean", "-n", ns, "--wait=false"]);
    wait_report(
        &agent,
        c,
        "policyreports",
        Some(ns),
        "the report deleted",
        |r| r.is_none(),
    );
    assert_eq!(agent.stop(), Some(0));

    // The newer API, on request: openreports.io Reports, same results.
    c.apply(&pod(ns, "again", true));
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--reports", "openreports", "--cluster-name", "reports"],
    );
    wait_report(
        &agent,
        c,
        "reports.openreports.io",
        Some(ns),
        "the Report",
        |r| {
            r.is_some_and(|r| {
                r["source"] == "kspm" && results_on(r, "privileged-container", "Pod", "again") == 1
            })
        },
    );
    assert_eq!(agent.stop(), Some(0));
    // The namespace stays (the test server runs no namespace controller to finalize it).
    c.kubectl(&["delete", "pod", "again", "-n", ns]);
}

#[test]
fn two_agents_elect_one_leader_and_the_other_takes_over() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-lease";
    c.kubectl(&["create", "namespace", ns]);
    c.apply(&deployment(ns, "priv", true));
    let lease_secs = 3;
    let args = [
        "--cluster-name",
        "lease",
        "--leader-elect",
        "--lease-name",
        "kspm-test-lease",
        "--lease-namespace",
        ns,
        "--lease-duration",
        "3s",
    ];
    let mut a = Agent::spawn(c, dir.path(), &store, &args);
    let mut b = Agent::spawn(c, dir.path(), &store, &args);

    // Exactly one leads; the other waits for the lease (ready as a standby, so that a rolling
    // update can start it) and never reads on.
    let leads = |agent: &Agent| {
        let (code, metrics) = get(&agent.addr, "/metrics");
        code == 200 && counter_in(&metrics, "kspm_agent_leader") == 1
    };
    let deadline = Instant::now() + WAIT;
    let a_leads = loop {
        match (leads(&a), leads(&b)) {
            (true, false) => break true,
            (false, true) => break false,
            (true, true) => panic!("two leaders\n{}\n{}", a.log_text(), b.log_text()),
            (false, false) => {}
        }
        assert!(
            Instant::now() < deadline,
            "nobody leads\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let (leader, follower) = if a_leads {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    leader.wait_ready();
    std::thread::sleep(Duration::from_secs(lease_secs + 1));
    assert_eq!(
        get(&follower.addr, "/readyz").0,
        200,
        "{}",
        follower.log_text()
    );
    assert!(
        !follower.log_text().contains("synced"),
        "{}",
        follower.log_text()
    );
    let leader_metric =
        |agent: &Agent| counter_in(&get(&agent.addr, "/metrics").1, "kspm_agent_leader");
    assert_eq!(leader_metric(leader), 1);
    assert_eq!(leader_metric(follower), 0);
    assert!(
        follower.log_text().contains("waiting for the lease"),
        "{}",
        follower.log_text()
    );
    let lease = json(&c.kubectl(&["get", "lease", "kspm-test-lease", "-n", ns, "-o", "json"]));
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap().to_owned();
    assert!(
        holder.ends_with(&format!("-{}", leader.child.id())),
        "holder {holder}, leader pid {}",
        leader.child.id()
    );
    let opened = |store: &str| {
        let found = findings_of(dir.path(), store, "lease");
        status(&found, "PS004", "Deployment", ns, "priv")
    };
    let deadline = Instant::now() + WAIT;
    while opened(&store).as_deref() != Some("open") {
        assert!(Instant::now() < deadline, "{}", leader.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = events_of(&store, "lease");

    // The leader dies without a word (SIGKILL): the follower takes over within the lease
    // duration (plus one retry period), then lists, judges and syncs.
    leader.child.kill().unwrap();
    leader.child.wait().unwrap();
    let killed = Instant::now();
    let deadline = killed + WAIT;
    while !follower.log_text().contains("leading as") {
        assert!(Instant::now() < deadline, "{}", follower.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = killed.elapsed();
    // Not before the lease expired (renewed at most one retry period, 600 ms, before the
    // kill), and not much after.
    assert!(
        took >= Duration::from_secs(2)
            && took <= Duration::from_secs(lease_secs) + Duration::from_millis(1500),
        "took over after {took:?}"
    );
    follower.wait_ready();
    // The same cluster, the same findings: the new leader's first sync adds no event.
    assert_eq!(
        events_of(&store, "lease"),
        before,
        "{}",
        follower.log_text()
    );

    // And it keeps the store current: a change is recorded once.
    c.apply(&deployment(ns, "priv", false));
    let deadline = Instant::now() + WAIT;
    while opened(&store).as_deref() != Some("resolved") {
        assert!(Instant::now() < deadline, "{}", follower.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let after = events_of(&store, "lease");
    let mut per_finding: std::collections::HashMap<(i64, &str), usize> =
        std::collections::HashMap::new();
    for (id, kind) in &after {
        *per_finding.entry((*id, kind.as_str())).or_default() += 1;
    }
    assert!(
        per_finding.values().all(|n| *n == 1),
        "an event recorded twice: {after:?}"
    );
    assert!(after.len() > before.len());

    // SIGTERM: the leader releases the lease on its way out.
    assert_eq!(follower.terminate(), Some(0));
    let lease = json(&c.kubectl(&["get", "lease", "kspm-test-lease", "-n", ns, "-o", "json"]));
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{lease:#}"
    );
    c.kubectl(&["delete", "deployment", "priv", "-n", ns]);
}

/// Waits until `rule` on `kind ns/name` has the status `want` in the store.
fn wait_status(
    agent: &Agent,
    dir: &Path,
    store: &str,
    cluster: &str,
    (rule, kind, ns, name): (&str, &str, &str, &str),
    want: &str,
) -> Duration {
    let start = Instant::now();
    loop {
        let found = findings_of(dir, store, cluster);
        let got = status(&found, rule, kind, ns, name);
        if got.as_deref() == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < WAIT,
            "waited {WAIT:?} for {rule} on {kind} {ns}/{name} to be {want}, got {got:?}\nagent log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn binding_a_workloads_account_to_cluster_admin_opens_and_unbinding_resolves() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-rbac";
    c.kubectl(&["create", "namespace", ns]);
    c.apply(&format!(
        "apiVersion: v1
kind: ServiceAccount
metadata: {{name: operator, namespace: {ns}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: op, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: op}}}}
  template:
    metadata: {{labels: {{app: op}}}}
    spec:
      serviceAccountName: operator
      containers: [{{name: app, image: registry.example/op:1.0}}]
---
apiVersion: v1
kind: Service
metadata: {{name: op, namespace: {ns}}}
spec:
  type: LoadBalancer
  selector: {{app: op}}
  ports: [{{port: 443}}]
"
    ));
    let agent = Agent::start(c, dir.path(), &store, &["--cluster-name", "rbac"]);
    let workload = ("RB019", "Deployment", ns, "op");
    let found = findings_of(dir.path(), &store, "rbac");
    assert_eq!(status(&found, "RB019", "Deployment", ns, "op"), None);
    // The dashboard's analyses are in the store: the RBAC paths, and the workload the
    // LoadBalancer exposes.
    let analysis = |kind| {
        kspm_store::block_on(async {
            let url = kspm_store::StoreUrl::parse(&store).unwrap();
            let db = kspm_store::Store::open_existing(&url).await.unwrap();
            let found = db.analysis("rbac", kind).await.unwrap();
            db.close().await;
            found.map(|a| a.document)
        })
    };
    let deadline = Instant::now() + WAIT;
    let network = loop {
        if let Some(doc) = analysis(kspm_store::AnalysisKind::Network) {
            break doc;
        }
        assert!(Instant::now() < deadline, "{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        network["exposed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["namespace"] == ns && e["workload"].as_str().unwrap().contains("op")),
        "{network:#}"
    );
    let rbac = analysis(kspm_store::AnalysisKind::Rbac).expect("stored with the network one");
    assert!(rbac["paths"].is_array(), "{rbac:#}");

    // The account is bound to cluster-admin: the workload's finding opens (the binding's too).
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: kspm-test-operator-admin}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}
subjects: [{{kind: ServiceAccount, name: operator, namespace: {ns}}}]
"
    ));
    let took = wait_status(&agent, dir.path(), &store, "rbac", workload, "open");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let found = findings_of(dir.path(), &store, "rbac");
    let finding = found
        .iter()
        .find(|f| f["rule"] == "RB019" && f["object"]["name"] == "op")
        .unwrap();
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("kspm-test-operator-admin"),
        "{finding:#}"
    );

    // Unbound: it resolves, as fixed (the Deployment is still there).
    c.kubectl(&["delete", "clusterrolebinding", "kspm-test-operator-admin"]);
    wait_status(&agent, dir.path(), &store, "rbac", workload, "resolved");
    let found = findings_of(dir.path(), &store, "rbac");
    let finding = found
        .iter()
        .find(|f| f["rule"] == "RB019" && f["object"]["name"] == "op")
        .unwrap();
    assert_eq!(finding["resolved_reason"], "fixed", "{finding:#}");
    assert_eq!(agent.stop(), Some(0));
    c.kubectl(&["delete", "deployment", "op", "-n", ns]);
}

#[test]
fn two_clusters_share_one_postgresql_each_under_its_name() {
    let _turn = serial();
    let Some(pg) = kspm_testcluster::TestPostgres::shared() else {
        return;
    };
    let Some(east) = TestCluster::shared() else {
        return;
    };
    let Some(west) = TestCluster::owned(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = pg.database("agents");
    let ns = "kspm-pg";
    for (c, name) in [(east, "only-east"), (&west, "only-west")] {
        c.kubectl(&["create", "namespace", ns]);
        c.apply(&deployment(ns, name, true));
    }
    let a = Agent::start(east, dir.path(), &store, &["--cluster-name", "east"]);
    // West has no report CRDs: its agent warns once and goes on.
    let b = Agent::start(
        &west,
        dir.path(),
        &store,
        &["--cluster-name", "west", "--reports", "wgpolicyk8s"],
    );
    let ps004 = |name| ("PS004", "Deployment", ns, name);
    wait_status(&a, dir.path(), &store, "east", ps004("only-east"), "open");
    wait_status(&b, dir.path(), &store, "west", ps004("only-west"), "open");
    let names = |cluster: &str| -> Vec<String> {
        findings_of(dir.path(), &store, cluster)
            .iter()
            .map(|f| {
                assert_eq!(f["cluster"], cluster, "{f:#}");
                f["object"]["name"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let (e, w) = (names("east"), names("west"));
    assert!(e.contains(&"only-east".to_owned()) && !e.contains(&"only-west".to_owned()));
    assert!(w.contains(&"only-west".to_owned()) && !w.contains(&"only-east".to_owned()));

    // A change in one cluster moves only that cluster's findings.
    let west_before = findings_of(dir.path(), &store, "west");
    east.apply(&deployment(ns, "only-east", false));
    wait_status(
        &a,
        dir.path(),
        &store,
        "east",
        ps004("only-east"),
        "resolved",
    );
    assert_eq!(findings_of(dir.path(), &store, "west"), west_before);
    assert_eq!(
        b.log_text().matches("not writing reports").count(),
        1,
        "{}",
        b.log_text()
    );
    // Each agent reported its health under its own name: synced, holding objects, all read.
    let health = kspm_store::block_on(async {
        let url = kspm_store::StoreUrl::parse(&store).unwrap();
        let reader = kspm_store::Store::open_read_only(&url).await.unwrap();
        reader.agent_health().await.unwrap()
    });
    let clusters: Vec<&str> = health.iter().map(|h| h.cluster.as_str()).collect();
    assert_eq!(clusters, ["east", "west"]);
    for h in &health {
        assert!(h.sync_ok && h.objects > 0, "{h:?}");
        assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
        assert!(!h.stale(kspm_store::time::now()), "{h:?}");
    }
    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));
    east.kubectl(&["delete", "deployment", "only-east", "-n", ns]);
}

/// An agent that may not read every kind says which in its health, and still syncs what it read.
#[test]
fn the_agents_health_names_the_kinds_it_could_not_read() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    c.apply(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kspm-agent-pods-only}
rules:
- {apiGroups: [''], resources: [pods, namespaces, serviceaccounts], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-agent-pods-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-agent-pods-only}
subjects:
- {kind: User, name: agent-pods-only, apiGroup: rbac.authorization.k8s.io}
",
    );
    let user = c.user("agent-pods-only", &[]);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let agent = Agent::spawn_as(&user, dir.path(), &store, &[]);
    agent.wait_ready();
    let health = kspm_store::block_on(async {
        let url = kspm_store::StoreUrl::parse(&store).unwrap();
        let reader = kspm_store::Store::open_read_only(&url).await.unwrap();
        reader.agent_health().await.unwrap()
    });
    assert_eq!(health.len(), 1, "{}", agent.log_text());
    let h = &health[0];
    assert!(h.sync_ok, "{h:?}");
    assert!(
        h.unreadable
            .iter()
            .any(|u| u.starts_with("deployments.apps") && u.contains("403")),
        "{h:?}"
    );
    assert!(!h.unreadable.iter().any(|u| u.starts_with("pods")), "{h:?}");
    assert_eq!(agent.stop(), Some(0));
}

#[test]
fn the_agent_compacts_what_is_older_than_the_retention() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-retention";
    c.kubectl(&["create", "namespace", ns]);
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--cluster-name", "retention", "--retention", "3s"],
    );
    c.apply(&deployment(ns, "gone", true));
    let ps004 = ("PS004", "Deployment", ns, "gone");
    wait_status(&agent, dir.path(), &store, "retention", ps004, "open");
    c.kubectl(&["delete", "deployment", "gone", "-n", ns]);
    wait_status(&agent, dir.path(), &store, "retention", ps004, "resolved");
    assert!(!events_of(&store, "retention").is_empty());

    // Compaction runs every `retention` (3 s): the events go, and the resolved finding with
    // them; the open findings stay.
    let deadline = Instant::now() + WAIT;
    loop {
        let found = findings_of(dir.path(), &store, "retention");
        let gone = status(&found, "PS004", "Deployment", ns, "gone").is_none();
        if gone && events_of(&store, "retention").is_empty() {
            assert!(
                found.iter().any(|f| f["status"] == "open"),
                "open findings were compacted"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        agent.log_text().contains("compacted:"),
        "{}",
        agent.log_text()
    );
    assert_eq!(agent.stop(), Some(0));
}

/// The labelled counter `kspm_agent_remediations_total{outcome="..."}` from `/metrics`.
fn remediations(agent: &Agent, outcome: &str) -> u64 {
    counter_in(
        &get(&agent.addr, "/metrics").1,
        &format!("kspm_agent_remediations_total{{outcome=\"{outcome}\"}}"),
    )
}

/// `allowPrivilegeEscalation` of a Deployment's first container, as the server has it.
fn escalation(c: &TestCluster, ns: &str, name: &str) -> String {
    let out = c.kubectl(&[
        "get",
        "deployment",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation}",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `remediation:` in kspm.yaml: a dry run plans and changes nothing; applying fixes the listed
/// rule on the owner in the listed namespace only, the finding resolves, and the change is
/// recorded in the store (undoable with `kspm remediate --undo`).
#[test]
fn the_agent_remediates_the_listed_rules_when_told() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (ns, other) = ("kspm-autofix", "kspm-autofix-other");
    c.kubectl(&["create", "namespace", ns]);
    c.kubectl(&["create", "namespace", other]);
    c.apply(&deployment(ns, "web", false));
    c.apply(&deployment(other, "web", false));
    let config = |dry_run: bool| {
        let path = dir.path().join(format!("kspm-{dry_run}.yaml"));
        std::fs::write(
            &path,
            format!("remediation: {{auto: [PS019], namespaces: [{ns}], dry_run: {dry_run}}}\n"),
        )
        .unwrap();
        path.display().to_string()
    };
    let ps019 = ("PS019", "Deployment", ns, "web");

    // Dry run (the default spelled out): planned once, nothing changed.
    let dry = config(true);
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--cluster-name", "autofix", "--config", &dry],
    );
    wait_status(&agent, dir.path(), &store, "autofix", ps019, "open");
    let deadline = Instant::now() + WAIT;
    while remediations(&agent, "planned") < 1 {
        assert!(Instant::now() < deadline, "{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        remediations(&agent, "planned"),
        1,
        "planned once, not every sync"
    );
    assert_eq!(remediations(&agent, "applied"), 0);
    assert_eq!(escalation(c, ns, "web"), "");
    assert_eq!(agent.stop(), Some(0));

    // Applying: the Deployment in the listed namespace is fixed, the other one is not.
    let apply = config(false);
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--cluster-name", "autofix", "--config", &apply],
    );
    wait_status(&agent, dir.path(), &store, "autofix", ps019, "resolved");
    assert_eq!(escalation(c, ns, "web"), "false");
    assert_eq!(
        escalation(c, other, "web"),
        "",
        "outside the listed namespaces"
    );
    assert!(remediations(&agent, "applied") >= 1);
    let found = findings_of(dir.path(), &store, "autofix");
    assert_eq!(
        status(&found, "PS019", "Deployment", other, "web").as_deref(),
        Some("open")
    );
    assert_eq!(agent.stop(), Some(0));
    c.kubectl(&["delete", "deployment", "web", "-n", ns]);
    c.kubectl(&["delete", "deployment", "web", "-n", other]);
}

/// The API server stops and starts again under the agent (an upgrade, a crash): the agent
/// keeps running, and what changed while it was down — and after — reaches the store.
#[test]
fn the_agent_recovers_when_the_api_server_restarts() {
    let _turn = serial();
    let Some(c) = TestCluster::owned(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-restart";
    c.kubectl(&["create", "namespace", ns]);
    c.apply(&deployment(ns, "before", true));
    let agent = Agent::start(
        &c,
        dir.path(),
        &store,
        &["--cluster-name", "restart", "--resync", "4s"],
    );
    let before = ("PS004", "Deployment", ns, "before");
    wait_status(&agent, dir.path(), &store, "restart", before, "open");

    c.restart_apiserver(Duration::from_secs(3));
    // Changes right after the restart, while the agent's watches are reconnecting.
    c.apply(&deployment(ns, "before", false));
    c.apply(&deployment(ns, "after", true));
    wait_status(&agent, dir.path(), &store, "restart", before, "resolved");
    let after = ("PS004", "Deployment", ns, "after");
    wait_status(&agent, dir.path(), &store, "restart", after, "open");
    // Nothing missed: a full resync after the changes arrived (every 4 s here) finds the store
    // and the cluster agree. (A resync that ran while the watches were still reconnecting may
    // have found the changes first: that is what resyncs are for, so only the last one counts.)
    let resyncs =
        |agent: &Agent| counter_in(&get(&agent.addr, "/metrics").1, "kspm_agent_resyncs_total");
    let seen = resyncs(&agent);
    let deadline = Instant::now() + WAIT;
    // Two more: one may have started before the changes were delivered.
    while resyncs(&agent) <= seen + 1 {
        assert!(
            Instant::now() < deadline,
            "no resync:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = get(&agent.addr, "/metrics").1;
    assert_eq!(
        counter_in(&metrics, "kspm_agent_resync_differences"),
        0,
        "{metrics}"
    );
    assert!(
        counter_in(&metrics, "kspm_agent_watch_restarts_total") >= 1,
        "the watches never noticed the restart: {metrics}"
    );
    assert_eq!(
        agent.stop(),
        Some(0),
        "the agent ran on through the restart"
    );
}

/// A watch that resumes from a revision etcd has compacted away gets 410 Gone: the agent lists
/// that kind again and reconciles, so a change made meanwhile is neither missed nor counted
/// twice. The API server here compacts etcd every second and crashes (SIGKILL: a graceful stop
/// would send each watcher a last bookmark at the current revision) after the revision moved on
/// through objects the agent does not watch, so the watches resume from a compacted revision.
#[test]
fn a_watch_that_expired_relists_and_misses_nothing() {
    let _turn = serial();
    let Some(c) = TestCluster::owned(&["--compaction-interval", "1s"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let ns = "kspm-gone";
    c.kubectl(&["create", "namespace", ns]);
    c.apply(&deployment(ns, "first", true));
    let agent = Agent::start(&c, dir.path(), &store, &["--cluster-name", "gone"]);
    let first = ("PS004", "Deployment", ns, "first");
    wait_status(&agent, dir.path(), &store, "gone", first, "open");

    // Move the revision on with Leases (not a kind the agent watches) and let compaction pass.
    let mut leases = String::new();
    for i in 0..20 {
        leases.push_str(&format!(
            "---\napiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: churn-{i}, namespace: {ns}}}\nspec: {{holderIdentity: x}}\n"
        ));
    }
    c.apply(&leases);
    std::thread::sleep(Duration::from_secs(3));
    c.restart_apiserver_as(Duration::from_secs(1), true);
    c.apply(&deployment(ns, "first", false));
    c.apply(&deployment(ns, "second", true));
    wait_status(&agent, dir.path(), &store, "gone", first, "resolved");
    let second = ("PS004", "Deployment", ns, "second");
    wait_status(&agent, dir.path(), &store, "gone", second, "open");
    let metrics = get(&agent.addr, "/metrics").1;
    assert!(
        counter_in(&metrics, "kspm_agent_relists_total") >= 1,
        "no watch expired (410 Gone): {metrics}\n{}",
        agent.log_text()
    );
    assert!(
        agent.log_text().contains("410 Gone"),
        "{}",
        agent.log_text()
    );
    // Counted once: one open finding for `second`, and `first` opened once and resolved once.
    let found = findings_of(dir.path(), &store, "gone");
    let of = |name: &str| {
        found
            .iter()
            .filter(|f| f["rule"] == "PS004" && f["object"]["name"] == name)
            .count()
    };
    assert_eq!((of("first"), of("second")), (1, 1));
    assert_eq!(agent.stop(), Some(0));
}

/// Waits until `check` holds for the store's findings of cluster `test`.
fn wait_until(
    agent: &Agent,
    dir: &Path,
    store: &str,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = findings(dir, store);
        if check(&found) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {what}\nagent log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The status of `rule` on the object named `name` (any kind, any namespace).
fn status_on(found: &[Value], rule: &str, name: &str) -> Option<String> {
    found
        .iter()
        .find(|f| f["rule"] == rule && f["object"]["name"] == name)
        .map(|f| f["status"].as_str().unwrap().to_owned())
}

/// A CELPolicy file that flags Deployments carrying the label `label`.
fn label_policy(id: &str, label: &str) -> String {
    format!(
        "apiVersion: kspm.io/v1alpha1
kind: CELPolicy
metadata: {{name: {id}}}
spec:
  id: {id}
  title: No {label} label
  severity: medium
  match: {{kinds: [Deployment]}}
  validations:
    - expression: \"!has(object.metadata.labels) || !('{label}' in object.metadata.labels)\"
      message: the deployment carries {label}
"
    )
}

const AGENT_VAP: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: kspm-agent-replicas}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: \"!has(object.spec.replicas) || object.spec.replicas <= 2\"
      message: more than two replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: kspm-agent-replicas}
spec:
  policyName: kspm-agent-replicas
  validationActions: [Audit]
  matchResources:
    namespaceSelector:
      matchLabels: {kspm-test/agent-policies: \"on\"}
";

#[test]
fn the_agent_loads_policies_again_when_their_files_or_the_clusters_change() {
    let _turn = serial();
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let policy_file = policies.join("labels.yaml");
    std::fs::write(&policy_file, label_policy("ORGT1", "kspm-test/flag")).unwrap();
    let ns = "kspm-agent-pol";
    c.apply(&format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {ns}, labels: {{kspm-test/agent-policies: \"on\"}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: wide, namespace: {ns}, labels: {{kspm-test/flag: \"yes\", kspm-test/other: \"yes\"}}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: wide}}}}
  template:
    metadata: {{labels: {{app: wide}}}}
    spec:
      containers: [{{name: app, image: registry.example/app:1.0}}]
"
    ));
    let policy_arg = policies.display().to_string();
    let agent = Agent::start(
        c,
        dir.path(),
        &store,
        &["--policy", &policy_arg, "--cluster-policies"],
    );
    // The file's policy judges from the start; no VAP is installed yet.
    wait_until(&agent, dir.path(), &store, "ORGT1 open", |f| {
        status_on(f, "ORGT1", "wide").as_deref() == Some("open")
    });
    assert_eq!(
        status_on(
            &findings(dir.path(), &store),
            "vap:kspm-agent-replicas",
            "wide"
        ),
        None
    );

    // A ValidatingAdmissionPolicy and its binding installed in the cluster: judged at once.
    c.apply(AGENT_VAP);
    wait_until(&agent, dir.path(), &store, "the VAP's finding open", |f| {
        status_on(f, "vap:kspm-agent-replicas", "wide").as_deref() == Some("open")
    });
    // Removed: its finding resolves.
    c.kubectl(&[
        "delete",
        "validatingadmissionpolicybinding/kspm-agent-replicas",
        "validatingadmissionpolicy/kspm-agent-replicas",
    ]);
    wait_until(
        &agent,
        dir.path(),
        &store,
        "the VAP's finding resolved",
        |f| status_on(f, "vap:kspm-agent-replicas", "wide").as_deref() == Some("resolved"),
    );

    // The policy file rewritten: the old rule's finding resolves, the new one's opens.
    std::fs::write(&policy_file, label_policy("ORGT2", "kspm-test/other")).unwrap();
    wait_until(
        &agent,
        dir.path(),
        &store,
        "ORGT1 resolved, ORGT2 open",
        |f| {
            status_on(f, "ORGT1", "wide").as_deref() == Some("resolved")
                && status_on(f, "ORGT2", "wide").as_deref() == Some("open")
        },
    );
    // A file that does not load keeps the policies the agent had (never a silent turn-off).
    std::fs::write(
        &policy_file,
        "apiVersion: kspm.io/v1alpha1\nkind: CELPolicy\nspec: [",
    )
    .unwrap();
    let deadline = Instant::now() + WAIT;
    while !agent
        .log_text()
        .contains("a policy file did not load: judging with the policies loaded before")
    {
        assert!(Instant::now() < deadline, "{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = get(&agent.addr, "/metrics").1;
    assert!(
        counter_in(&metrics, "kspm_agent_policy_loads_total") >= 3,
        "{metrics}"
    );
    assert!(
        counter_in(&metrics, "kspm_agent_policy_load_errors_total") >= 1,
        "{metrics}"
    );
    assert_eq!(
        status_on(&findings(dir.path(), &store), "ORGT2", "wide").as_deref(),
        Some("open"),
        "the broken file must not resolve its policy's findings"
    );
    // Mended: loads again (and so do the cluster's policy changes, which waited meanwhile).
    std::fs::write(&policy_file, label_policy("ORGT2", "kspm-test/other")).unwrap();

    // Gatekeeper installed while the agent runs: its CRDs are seen, the constraint kind is
    // watched, and the constraint's findings appear.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live_policies");
    c.apply(&std::fs::read_to_string(fixtures.join("gatekeeper-crds.yaml")).unwrap());
    for crd in [
        "crd/constrainttemplates.templates.gatekeeper.sh",
        "crd/k8srequiredlabels.constraints.gatekeeper.sh",
    ] {
        c.kubectl(&["wait", "--for=condition=Established", crd, "--timeout=60s"]);
    }
    let examples = support::repo_root().join("examples/policies/gatekeeper");
    let first = |file: &str| -> String {
        let text = std::fs::read_to_string(examples.join(file)).unwrap();
        text.split("\n---\n").next().unwrap().to_owned()
    };
    c.apply(&first("templates.yaml"));
    c.apply(&first("constraints.yaml"));
    let rule = "gk:K8sRequiredLabels:namespaces-have-owner";
    wait_until(
        &agent,
        dir.path(),
        &store,
        "the constraint's finding open",
        |f| status_on(f, rule, ns).as_deref() == Some("open"),
    );
    // Labelled as the constraint asks: resolved.
    c.kubectl(&["label", "namespace", ns, "owner=team-a"]);
    wait_until(
        &agent,
        dir.path(),
        &store,
        "the constraint's finding resolved",
        |f| status_on(f, rule, ns).as_deref() == Some("resolved"),
    );
    c.kubectl(&["delete", "namespace", ns, "--wait=false"]);
    c.kubectl(&["delete", "k8srequiredlabels/namespaces-have-owner"]);
    drop(agent);
}
