//! Helpers shared by the CLI test binaries: run the real `kspm` binary and read what it printed.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `kspm ARGS` in `cwd`, without colour.
pub fn kspm(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("kspm runs")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `kspm scan --cluster --kubeconfig FILE ARGS`, ignoring the caller's `KUBECONFIG`.
pub fn scan_live(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["scan", "--cluster", "--kubeconfig"])
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .expect("kspm runs")
}

/// Standard output as JSON; panics with both streams when it is not.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "kspm did not print JSON ({e}):\nstdout: {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

/// True when `tool` runs; with `KSPM_REQUIRE_TOOLS` set (as `scripts/test` does) a missing tool
/// fails the test instead of skipping it.
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("KSPM_REQUIRE_TOOLS").is_none(),
        "`{tool}` is not on PATH; run scripts/install-tools (scripts/test does)"
    );
    if !found {
        eprintln!("skipped: `{tool}` is not installed (scripts/install-tools builds it)");
    }
    found
}
