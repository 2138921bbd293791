//! A real Kubernetes API server (and, in [`postgres`], a real PostgreSQL) for tests, started with `scripts/test-cluster` (the same script
//! people use by hand), once per test binary.
//!
//! Nothing is left running: the script's watchdog stops the servers and removes their state when
//! the test process exits, however it exits (a failed assertion, a panic, or a kill), and an
//! owned [`TestCluster`] also stops its servers when dropped.
//!
//! Without the binaries (`scripts/install-testbin`, which needs Go), [`TestCluster::shared`]
//! returns `None` and tests skip with a message, unless `KSPM_REQUIRE_TOOLS=1` (set by the
//! README's test command), where it panics naming what is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod alertmanager;
pub mod postgres;
pub use alertmanager::TestAlertmanager;
pub use postgres::TestPostgres;

/// A running test cluster: etcd + kube-apiserver on loopback, RBAC on, an admin kubeconfig.
pub struct TestCluster {
    pub dir: PathBuf,
    /// Kubeconfig of `kspm-admin` (group `system:masters`).
    pub kubeconfig: PathBuf,
    /// Stop on drop (owned clusters); the shared one is stopped by the watchdog at exit.
    owned: bool,
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crate lives in crates/")
        .to_path_buf()
}

/// Directory of the built kube-apiserver, etcd and kubectl.
pub fn testbin() -> PathBuf {
    repo_root().join(".tools/testbin")
}

fn available() -> bool {
    ["kube-apiserver", "etcd", "kubectl"]
        .iter()
        .all(|b| testbin().join(b).is_file())
}

fn required() -> bool {
    std::env::var_os("KSPM_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

impl TestCluster {
    /// The cluster shared by every test of this process, started on first use.
    pub fn shared() -> Option<&'static TestCluster> {
        static SHARED: OnceLock<Option<TestCluster>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                if !available() {
                    assert!(
                        !required(),
                        "KSPM_REQUIRE_TOOLS=1 but kube-apiserver/etcd/kubectl are missing from {}: run scripts/install-testbin (needs Go)",
                        testbin().display()
                    );
                    eprintln!(
                        "skipping live-cluster test: no test cluster binaries in {} (run scripts/install-testbin)",
                        testbin().display()
                    );
                    return None;
                }
                Some(Self::start(false, &[]))
            })
            .as_ref()
    }

    /// A cluster of its own, stopped when the returned value is dropped; `args` go to
    /// `scripts/test-cluster up` (e.g. `["--compaction-interval", "1s"]`).
    pub fn owned(args: &[&str]) -> Option<TestCluster> {
        if !available() {
            assert!(
                !required(),
                "KSPM_REQUIRE_TOOLS=1 but the test cluster binaries are missing"
            );
            return None;
        }
        Some(Self::start(true, args))
    }

    fn start(owned: bool, args: &[&str]) -> TestCluster {
        let base = std::env::temp_dir().join(format!(
            "kspm-test-cluster-{}-{}",
            std::process::id(),
            next_id()
        ));
        let out = Command::new(repo_root().join("scripts/test-cluster"))
            .args(["up", "--dir"])
            .arg(&base)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-cluster");
        assert!(
            out.status.success(),
            "scripts/test-cluster up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestCluster {
            kubeconfig: base.join("kubeconfig"),
            dir: base,
            owned,
        }
    }

    /// Stops the API server and starts it again on the same port, etcd untouched
    /// (`scripts/test-cluster restart-apiserver`): down for `downtime`, then waits until ready.
    pub fn restart_apiserver(&self, downtime: std::time::Duration) {
        self.restart_apiserver_as(downtime, false);
    }

    /// [`Self::restart_apiserver`]; with `crash`, the server is killed (SIGKILL) rather than
    /// stopped: no graceful shutdown, so watchers get no last bookmark.
    pub fn restart_apiserver_as(&self, downtime: std::time::Duration, crash: bool) {
        let out = Command::new(repo_root().join("scripts/test-cluster"))
            .args(["restart-apiserver", "--dir"])
            .arg(&self.dir)
            .env(
                "KSPM_TEST_DOWNTIME",
                format!("{:.1}", downtime.as_secs_f64()),
            )
            .env("KSPM_TEST_CRASH", if crash { "1" } else { "0" })
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-cluster");
        assert!(
            out.status.success(),
            "scripts/test-cluster restart-apiserver failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs the built kubectl as the admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as(&self.kubeconfig, args, None)
    }

    /// Runs kubectl with a kubeconfig and optional standard input; panics when it fails.
    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write as _;
        let mut child = Command::new(testbin().join("kubectl"))
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write kubectl stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `kubectl apply -f -` of a YAML stream, as the admin.
    pub fn apply(&self, yaml: &str) {
        self.kubectl_as(&self.kubeconfig, &["apply", "-f", "-"], Some(yaml));
    }

    /// A kubeconfig for a user authenticated by a client certificate (CN=name, O=groups).
    pub fn user(&self, name: &str, groups: &[&str]) -> PathBuf {
        let out = Command::new(repo_root().join("scripts/test-cluster"))
            .arg("user")
            .arg(name)
            .args(groups)
            .arg("--dir")
            .arg(&self.dir)
            .output()
            .expect("run scripts/test-cluster user");
        assert!(
            out.status.success(),
            "test-cluster user failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// The API server's audit log so far (one JSON event per line).
    pub fn audit_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("audit.log")).unwrap_or_default()
    }

    /// The server's URL.
    pub fn server(&self) -> String {
        let port = std::fs::read_to_string(self.dir.join("port")).expect("port file");
        format!("https://127.0.0.1:{}", port.trim())
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new(repo_root().join("scripts/test-cluster"))
                .args(["down", "--dir"])
                .arg(&self.dir)
                .status();
        }
    }
}

fn next_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
