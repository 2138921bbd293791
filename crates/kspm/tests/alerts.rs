//! Alerts end to end with real parts: `kspm agent` on the real kube-apiserver, a real
//! Alertmanager (v0.35.0, scripts/install-alertmanager) whose own webhook notifications come to a
//! receiver this test runs, a signed webhook sink, a Slack sink (Slack itself cannot be reached
//! from here: its payload goes to the same local receiver) and the log sink on standard output.
#![cfg(feature = "alerts")]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kspm_testcluster::{TestAlertmanager, TestCluster};
use serde_json::Value;
use support::{kspm, stderr, stdout};

const WAIT: Duration = Duration::from_secs(90);
const HMAC: &str = "hmac-secret-0f9e8d7c";
const SLACK_TOKEN: &str = "SLACKTOKEN4b3a29";

/// One request a receiver took: (path, idempotency key, body).
type Taken = (String, Option<String>, Value);

/// A loopback receiver that answers 200 and keeps what it took.
#[derive(Clone, Default)]
struct Receiver {
    port: u16,
    taken: Arc<Mutex<Vec<Taken>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let r = Receiver::reserve();
        r.listen();
        r
    }

    /// A port nothing listens on yet (connections are refused until [`Receiver::listen`]).
    fn reserve() -> Receiver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Receiver {
            port,
            taken: Arc::default(),
        }
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
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        let (mut len, mut key) = (0, None);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.trim().split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.taken.lock().unwrap().push((path, key, json));
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn at(&self, prefix: &str) -> Vec<(Option<String>, Value)> {
        self.taken
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p.starts_with(prefix))
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A running agent; its standard output (the log sink) and error go to files.
struct Agent {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Agent {
    fn start(c: &TestCluster, dir: &Path, run: usize) -> Agent {
        let out = dir.join(format!("agent-{run}.out"));
        let err = dir.join(format!("agent-{run}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_kspm"))
            .args(["agent", "--kubeconfig"])
            .arg(&c.kubeconfig)
            .arg("--config")
            .arg(dir.join("kspm.yaml"))
            .arg("--store")
            .arg(format!("sqlite://{}", dir.join("kspm.db").display()))
            .args([
                "--cluster-name",
                "test",
                "--debounce",
                "300ms",
                "--no-listen",
            ])
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start kspm agent");
        let agent = Agent { child, out, err };
        // Changes made before the initial list is judged would be summarised as already open.
        wait("the agent's first sync", &agent, || {
            agent.logs().1.contains("kspm agent: watching")
        });
        agent
    }

    fn logs(&self) -> (String, String) {
        (
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }

    fn stop(mut self) -> (String, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.logs()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(what: &str, agent: &Agent, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        let (out, err) = agent.logs();
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {what}\nagent stderr:\n{err}\nagent stdout:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn deployment(name: &str, privileged: bool) -> String {
    deployment_in("kspm-alerts", name, privileged)
}

fn deployment_in(ns: &str, name: &str, privileged: bool) -> String {
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

/// Alertmanager's current alerts for the Deployment `name`.
fn am_alerts(am: &TestAlertmanager, name: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(&am.alerts())
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["name"] == name)
        .collect()
}

/// Alertmanager's own notifications about `name` with `status`.
fn notified(hook: &Receiver, name: &str, status: &str) -> bool {
    hook.at("/am").iter().any(|(_, n)| {
        n["alerts"].as_array().is_some_and(|alerts| {
            alerts
                .iter()
                .any(|a| a["labels"]["name"] == name && a["status"] == status)
        })
    })
}

/// The kspm webhook's finding messages about `name`: (idempotency key, status).
fn hooked(hook: &Receiver, name: &str) -> Vec<(String, String)> {
    hook.at("/hook")
        .into_iter()
        .filter(|(_, v)| v["type"] == "finding" && v["finding"]["object"]["name"] == name)
        .map(|(k, v)| {
            (
                k.unwrap_or_default(),
                v["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn findings_reach_alertmanager_webhooks_slack_and_the_log_and_nothing_is_lost_or_repeated() {
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let hook = Receiver::start();
    let Some(mut am) = TestAlertmanager::start(&hook.url("/am")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hmac"), HMAC).unwrap();
    std::fs::write(
        dir.path().join("slack-url"),
        hook.url(&format!("/slack/T0/B0/{SLACK_TOKEN}")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kspm.yaml"),
        format!(
            "alerts:
  keepalive: 2s
  routes:
    - match: {{min_severity: high, namespaces: [kspm-alerts]}}
      to: [am, hook, slack]
      resolved: true
    - match: {{namespaces: [kspm-alerts], rules: [missing-liveness-probe]}}
      to: [log]
      digest: 3s
  sinks:
    am: {{type: alertmanager, url: \"{}\"}}
    hook: {{type: webhook, url: \"{}\", hmac_secret_file: \"{}\"}}
    slack: {{type: slack, webhook_url_file: \"{}\"}}
    log: {{type: log}}
",
            am.url(),
            hook.url("/hook"),
            dir.path().join("hmac").display(),
            dir.path().join("slack-url").display()
        ),
    )
    .unwrap();

    // `kspm alerts test` goes through every sink and says so.
    let out = kspm(
        &[
            "alerts",
            "test",
            "--config",
            dir.path().join("kspm.yaml").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for sink in ["am", "hook", "slack", "log"] {
        assert!(
            stderr(&out).contains(&format!("sink `{sink}` (")),
            "{}",
            stderr(&out)
        );
    }
    assert!(
        stdout(&out).contains("\"type\":\"test\""),
        "{}",
        stdout(&out)
    );
    assert!(am.alerts().contains("KspmAlertsTest"));

    let agent = Agent::start(c, dir.path(), 1);
    // A privileged Deployment: one alert in Alertmanager with kspm's labels, and Alertmanager's
    // own notification reaches its receiver.
    c.kubectl(&["create", "namespace", "kspm-alerts"]);
    c.apply(&deployment("priv", true));
    wait("the alert in Alertmanager", &agent, || {
        am_alerts(&am, "priv").len() == 1
    });
    let alert = &am_alerts(&am, "priv")[0];
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "privileged-container");
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["cluster"], "test");
    assert_eq!(labels["namespace"], "kspm-alerts");
    assert_eq!(labels["kind"], "Deployment");
    assert_eq!(labels["rule"], "PS004");
    assert!(
        alert["annotations"]["remediation"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(
        alert["annotations"]["runbook_url"]
            .as_str()
            .unwrap()
            .ends_with("/privileged-container.md")
    );
    assert_eq!(alert["status"]["state"], "active");
    wait("Alertmanager's firing notification", &agent, || {
        notified(&hook, "priv", "firing")
    });
    let slack_about = |name: &str| -> Option<String> {
        hook.at("/slack/").into_iter().find_map(|(_, v)| {
            let text = v["blocks"][0]["text"]["text"].as_str()?.to_owned();
            text.contains(&format!("Deployment/kspm-alerts/{name}"))
                .then_some(text)
        })
    };
    wait("the webhook and Slack", &agent, || {
        hooked(&hook, "priv").len() == 1 && slack_about("priv").is_some()
    });
    let slack_text = slack_about("priv").unwrap();
    assert!(slack_text.contains("*Fix:*"), "{slack_text}");
    assert!(
        slack_text
            .contains("*Field:* `spec.template.spec.containers[0].securityContext.privileged`"),
        "{slack_text}"
    );

    // Kept alive: past the first post's endsAt (4 keep-alive periods of 2 s) it is still active.
    let first_ends = alert["endsAt"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_secs(9));
    let now = am_alerts(&am, "priv");
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["status"]["state"], "active");
    assert_ne!(
        now[0]["endsAt"].as_str().unwrap(),
        first_ends,
        "re-posted with a later endsAt"
    );

    // Fixed: resolved in Alertmanager (by endsAt), and a resolved notice on the webhook.
    c.apply(&deployment("priv", false));
    wait("the resolution", &agent, || {
        notified(&hook, "priv", "resolved")
            && hooked(&hook, "priv").iter().any(|(_, s)| s == "resolved")
    });
    wait("no active alert left in Alertmanager", &agent, || {
        am_alerts(&am, "priv")
            .iter()
            .all(|a| a["status"]["state"] != "active")
    });

    // Alertmanager down while a finding opens; up again: the alert arrives.
    am.kill();
    c.apply(&deployment("late", true));
    wait("the webhook (Alertmanager is down)", &agent, || {
        hooked(&hook, "late").len() == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(am.get("/-/ready").0 == 0);
    am.resume();
    wait("the alert after Alertmanager's outage", &agent, || {
        am_alerts(&am, "late").len() == 1
    });

    // The low-severity finding goes to the digest only.
    wait("the digest", &agent, || {
        agent.logs().0.lines().any(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| {
                v["type"] == "digest"
                    && v["events"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|e| e["finding"]["rule"] == "WL005"))
            })
        })
    });
    let (out1, err1) = agent.stop();
    for line in out1.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["schema"], "kspm.io/alert/v1");
        assert_ne!(v["type"], "finding", "the log route is a digest: {line}");
    }

    // A restart: nothing already delivered is sent again.
    let before = hook.at("/hook").len();
    let agent = Agent::start(c, dir.path(), 2);
    c.apply(&deployment("third", true));
    wait("an alert after the restart", &agent, || {
        hooked(&hook, "third").len() == 1
    });
    let (out2, err2) = agent.stop();
    let after = hook.at("/hook");
    assert_eq!(after.len(), before + 1, "only `third` is new");
    let keys: BTreeSet<_> = after.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys.len(), after.len(), "no idempotency key twice");
    assert_eq!(
        hooked(&hook, "priv").len(),
        2,
        "opened and resolved, once each"
    );
    assert_eq!(hooked(&hook, "late").len(), 1);

    // Credentials appear in no output, no log and not in the store.
    let store = std::fs::read(dir.path().join("kspm.db")).unwrap();
    for text in [
        out1,
        err1,
        out2,
        err2,
        String::from_utf8_lossy(&store).into_owned(),
    ] {
        assert!(
            !text.contains(HMAC) && !text.contains(SLACK_TOKEN),
            "a credential leaked:\n{text}"
        );
    }
    let _ = c.kubectl(&["delete", "namespace", "kspm-alerts", "--wait=false"]);
}

#[test]
fn alerts_test_reports_the_sinks_exact_error_and_a_bad_config_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slack-url"),
        format!("http://127.0.0.1:9/services/{SLACK_TOKEN}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kspm.yaml"),
        format!(
            "alerts:
  routes: [{{to: [slack]}}]
  sinks:
    slack: {{type: slack, webhook_url_file: \"{}\"}}
",
            dir.path().join("slack-url").display()
        ),
    )
    .unwrap();
    let cfg = dir.path().join("kspm.yaml");
    let out = kspm(
        &["alerts", "test", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("sink `slack` (slack http://127.0.0.1:9): failed: client error (Connect)"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(SLACK_TOKEN));

    std::fs::write(&cfg, "alerts:\n  routes: [{to: [nowhere]}]\n  sinks: {}\n").unwrap();
    let out = kspm(
        &["alerts", "test", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains(
            "kspm.yaml:2:17: alerts.routes[0].to: no sink named `nowhere` (no sinks are defined)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn alerts_pending_when_the_agent_is_killed_are_delivered_after_its_restart() {
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let down = Receiver::reserve();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kspm.yaml"),
        format!(
            "alerts:
  routes: [{{match: {{min_severity: high, namespaces: [kspm-kill]}}, to: [hook]}}]
  sinks:
    hook: {{type: webhook, url: \"{}\"}}
",
            down.url("/hook")
        ),
    )
    .unwrap();
    let mut agent = Agent::start(c, dir.path(), 1);
    c.kubectl(&["create", "namespace", "kspm-kill"]);
    c.apply(&deployment_in("kspm-kill", "priv", true));
    wait("a failed delivery", &agent, || {
        agent
            .logs()
            .1
            .contains("sink `hook` (webhook http://127.0.0.1:")
            && agent.logs().1.contains("delivery failed")
    });
    // kill -9: no last pass, the alert is only in the store.
    agent.child.kill().unwrap();
    agent.child.wait().unwrap();
    down.listen();
    let agent = Agent::start(c, dir.path(), 2);
    wait("the alert after the restart", &agent, || {
        hooked(&down, "priv").len() == 1
    });
    let (_, err) = agent.stop();
    let got = hooked(&down, "priv");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "firing");
    assert!(!err.contains("delivery failed"), "{err}");
    let _ = c.kubectl(&["delete", "namespace", "kspm-kill", "--wait=false"]);
}
