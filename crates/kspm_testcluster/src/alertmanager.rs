//! A real Prometheus Alertmanager (built by `scripts/install-alertmanager` from the version
//! pinned in tools/alertmanager/go.mod) for the alert tests: kspm posts to its v2 API, the tests
//! read `/api/v2/alerts` back, and its own notifications go to a webhook receiver the test runs.
//!
//! Started per test (it holds state the test inspects); stopped with SIGKILL and started again on
//! the same port to test an outage; killed and its directory removed when dropped. Without the
//! binary, [`TestAlertmanager::start`] returns `None` and the test skips, unless
//! `KSPM_REQUIRE_TOOLS=1`, where it panics naming what is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{next_id, repo_root, required};

/// A running Alertmanager on loopback, without clustering.
pub struct TestAlertmanager {
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

fn binary() -> PathBuf {
    repo_root().join(".tools/bin/alertmanager")
}

impl TestAlertmanager {
    /// Starts Alertmanager with one route to a webhook receiver at `receiver_url` (resolved
    /// notifications on, grouping by alert, one-second waits so notifications come quickly).
    pub fn start(receiver_url: &str) -> Option<TestAlertmanager> {
        if !binary().is_file() {
            assert!(
                !required(),
                "KSPM_REQUIRE_TOOLS=1 but {} is missing: run scripts/install-alertmanager (needs Go)",
                binary().display()
            );
            eprintln!("skipped: Alertmanager is not built (scripts/install-alertmanager)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "kspm-alertmanager-{}-{}",
            std::process::id(),
            next_id()
        ));
        std::fs::create_dir_all(dir.join("data")).expect("alertmanager dir");
        std::fs::write(
            dir.join("alertmanager.yml"),
            format!(
                "route:
  receiver: test
  group_by: [alertname, cluster, namespace, kind, name, path]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: {receiver_url}
        send_resolved: true
"
            ),
        )
        .expect("alertmanager config");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut am = TestAlertmanager {
            dir,
            port,
            child: None,
        };
        am.resume();
        Some(am)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL): connections are refused until [`TestAlertmanager::resume`].
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again) on the same port and waits until it is ready.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join(format!("log-{}", next_id()))).expect("log");
        let child = Command::new(binary())
            .arg(format!(
                "--config.file={}",
                self.dir.join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start alertmanager");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_mins(1);
        while self.get("/-/ready").0 != 200 {
            assert!(Instant::now() < deadline, "Alertmanager never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A GET: (status, body); (0, "") when nothing answers.
    pub fn get(&self, path: &str) -> (u16, String) {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
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

    /// The body of `GET /api/v2/alerts` (a JSON array).
    pub fn alerts(&self) -> String {
        self.get("/api/v2/alerts").1
    }
}

impl Drop for TestAlertmanager {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
