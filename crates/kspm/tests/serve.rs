//! `kspm serve` as a user runs it: a store recorded by `kspm scan --store`, the dashboard on a
//! free loopback port, SIGTERM to stop; and the bad inputs, each a clear line and exit 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn kspm() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kspm"));
    c.current_dir(repo_root());
    c
}

fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_what_scan_recorded_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let scan = kspm()
        .args([
            "scan",
            "examples",
            "--store",
            &url,
            "--cluster-name",
            "examples",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&scan.stderr).contains("recorded in"),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let mut child = kspm()
        .args(["serve", "--store", &url, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit_once("http://")
        .map(|(_, a)| a.to_owned())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let fleet = get(&addr, "/api/v1/fleet");
    assert!(fleet.starts_with("HTTP/1.1 200"), "{fleet}");
    assert!(fleet.contains("\"cluster\":\"examples\""), "{fleet}");
    let page = get(&addr, "/");
    assert!(
        page.contains("content-security-policy: default-src 'none'"),
        "{page}"
    );
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM stops it cleanly");
}

#[test]
fn bad_inputs_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    kspm()
        .args([
            "scan",
            "examples/insecure-deployment.yaml",
            "--store",
            &store,
            "--cluster-name",
            "x",
        ])
        .output()
        .unwrap();
    let short = dir.path().join("token");
    std::fs::write(&short, "short\n").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["serve", "--store", &missing, "--listen", "127.0.0.1:0"],
            "no such file",
        ),
        (
            &[
                "serve",
                "--store",
                &missing,
                "--token-file",
                short.to_str().unwrap(),
            ],
            "shorter than 16 characters",
        ),
        (
            &[
                "serve",
                "--store",
                &store,
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                "nope.crt",
                "--tls-key",
                "nope.key",
            ],
            "nope.crt",
        ),
        (
            &["serve", "--store", &missing, "--listen", "localhost"],
            "--listen localhost",
        ),
    ];
    for (args, want) in cases {
        let out = kspm().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        let expected = if want.starts_with("--listen") { 3 } else { 2 };
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {err}");
    }
    assert!(
        !dir.path().join("none.db").exists(),
        "serve created nothing"
    );
}
