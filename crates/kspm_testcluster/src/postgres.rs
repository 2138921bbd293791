//! A real PostgreSQL server for the store's tests, started with `scripts/test-postgres` (the
//! same script people use by hand), once per test binary; each test takes a database of its own.
//!
//! The script's watchdog stops the server and removes its directory when the test process
//! exits, however it exits. Without an installed server (`scripts/test-postgres install`, run by
//! `scripts/test`), [`TestPostgres::shared`] returns `None` and tests skip with a message, unless
//! `KSPM_REQUIRE_TOOLS=1`, where it panics naming what is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{next_id, repo_root, required};

/// A running PostgreSQL on loopback (trust authentication for user `kspm`).
pub struct TestPostgres {
    dir: PathBuf,
    /// URL of the database `kspm`.
    pub url: String,
}

/// Whether a PostgreSQL server is installed where the script looks for one.
fn available() -> bool {
    let debian = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| v.path().join("bin/initdb").is_file())
    });
    debian
        || Command::new("pg_config")
            .arg("--bindir")
            .output()
            .is_ok_and(|o| {
                o.status.success()
                    && Path::new(String::from_utf8_lossy(&o.stdout).trim())
                        .join("initdb")
                        .is_file()
            })
}

impl TestPostgres {
    /// The server shared by every test of this process, started on first use.
    pub fn shared() -> Option<&'static TestPostgres> {
        static SHARED: OnceLock<Option<TestPostgres>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                if !available() {
                    assert!(
                        !required(),
                        "KSPM_REQUIRE_TOOLS=1 but PostgreSQL is not installed: run scripts/test-postgres install (as root: apt-get install -y postgresql)"
                    );
                    eprintln!(
                        "skipping PostgreSQL test: no server installed (run scripts/test-postgres install)"
                    );
                    return None;
                }
                Some(Self::start())
            })
            .as_ref()
    }

    fn start() -> TestPostgres {
        let dir = std::env::temp_dir().join(format!(
            "kspm-test-postgres-{}-{}",
            std::process::id(),
            next_id()
        ));
        let out = Command::new(repo_root().join("scripts/test-postgres"))
            .args(["up", "--dir"])
            .arg(&dir)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-postgres");
        assert!(
            out.status.success(),
            "scripts/test-postgres up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        TestPostgres { dir, url }
    }

    /// A new, empty database; returns its URL. `name` is made unique per process.
    pub fn database(&self, name: &str) -> String {
        let name = format!("{name}_{}_{}", std::process::id(), next_id());
        let out = Command::new(repo_root().join("scripts/test-postgres"))
            .arg("createdb")
            .arg(&name)
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-postgres createdb");
        assert!(
            out.status.success(),
            "scripts/test-postgres createdb failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}
