//! `kspm scan --store`, `kspm findings` and `kspm history` end to end, on the real binary and a
//! real SQLite file (and PostgreSQL from `scripts/test-postgres`, when installed).
#![cfg(feature = "store")]

mod support;

use std::path::Path;

use kspm_testcluster::TestPostgres;
use support::{json, kspm, stderr};

const INSECURE: &str = include_str!("../../../examples/insecure-deployment.yaml");

fn scan_into(dir: &Path, store: &str) -> std::process::Output {
    kspm(
        &[
            "scan",
            "deploy.yaml",
            "--store",
            store,
            "--cluster-name",
            "dev",
            "-f",
            "json",
        ],
        dir,
    )
}

fn findings(dir: &Path, store: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["findings", "--store", store, "--format", "json"];
    args.extend(extra);
    let out = kspm(&args, dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out)["findings"].as_array().unwrap().clone()
}

fn round_trip(dir: &Path, store: &str) {
    std::fs::write(dir.join("deploy.yaml"), INSECURE).unwrap();
    let first = scan_into(dir, store);
    // The scan's own exit code and report are unchanged by recording.
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let reported: Vec<String> = json(&first)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        stderr(&first).contains(&format!("{} opened", reported.len())),
        "{}",
        stderr(&first)
    );

    let second = scan_into(dir, store);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("0 opened, 0 reopened, 0 resolved, 0 suppressed"),
        "{}",
        stderr(&second)
    );

    let stored = findings(dir, store, &[]);
    let mut codes: Vec<String> = stored
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = reported.clone();
    codes.sort();
    expected.sort();
    assert_eq!(
        codes, expected,
        "one stored finding per reported finding, no duplicates"
    );
    assert!(
        stored
            .iter()
            .all(|f| f["status"] == "open" && f["cluster"] == "dev")
    );
    // The credential in the manifest is never stored.
    let text = serde_json::to_string(&stored).unwrap();
    assert!(!text.contains("hunter2"), "{text}");

    // Fix hostPID: that finding resolves (fixed), the others stay open.
    std::fs::write(
        dir.join("deploy.yaml"),
        INSECURE.replace("      hostPID: true\n", ""),
    )
    .unwrap();
    let third = scan_into(dir, store);
    assert!(stderr(&third).contains("1 resolved"), "{}", stderr(&third));
    let resolved = findings(dir, store, &["--status", "resolved"]);
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["slug"], "host-pid");
    assert_eq!(resolved[0]["resolved_reason"], "fixed");
    assert_eq!(
        findings(dir, store, &["--status", "open", "--since", "1h"]).len(),
        reported.len() - 1
    );
    assert!(findings(dir, store, &["--cluster", "other"]).is_empty());

    let out = kspm(&["history", "--store", store, "--format", "json"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let history = json(&out);
    let today = &history["rows"][0];
    let open: i64 = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| today["open"][s].as_i64().unwrap())
        .sum();
    assert_eq!(open, reported.len() as i64 - 1);
    assert_eq!(today["opened"], reported.len());
    assert_eq!(today["resolved"], 1);
    assert!(today["mean_time_to_resolve_seconds"].is_i64());
    let table = kspm(&["history", "--store", store, "--by", "week"], dir);
    assert_eq!(table.status.code(), Some(0));
    assert!(
        support::stdout(&table).starts_with("PERIOD"),
        "{}",
        support::stdout(&table)
    );
}

#[test]
fn scan_store_twice_then_findings_and_history_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state/kspm.db");
    round_trip(dir.path(), &format!("sqlite://{}", db.display()));
    // A relative URL is relative to the working directory.
    round_trip(dir.path(), "sqlite://relative.db");
    assert!(dir.path().join("relative.db").is_file());
}

#[test]
fn scan_store_on_postgres() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), &pg.database("cli"));
}

#[test]
fn store_errors_are_one_line_with_honest_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), INSECURE).unwrap();
    // Files need a cluster name: usage error, before scanning.
    let out = kspm(
        &["scan", "deploy.yaml", "--store", "sqlite://x.db"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--cluster-name"), "{}", stderr(&out));
    assert!(!dir.path().join("x.db").exists());
    // A bad URL is a usage error and names the accepted forms.
    let out = kspm(&["findings", "--store", "mysql://a:b@c/d"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("sqlite:///"), "{}", stderr(&out));
    // An unreachable store exits 2 with one line and no password.
    let out = kspm(
        &[
            "scan",
            "deploy.yaml",
            "--store",
            "postgres://kspm:s3cret@127.0.0.1:1/kspm",
            "--cluster-name",
            "dev",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the store postgres://kspm:***@127.0.0.1:1/kspm"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    // Reading a store that does not exist does not create it.
    let out = kspm(&["history", "--store", "sqlite://missing.db"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("missing.db").exists());
}

/// A live scan records under the kubeconfig context, identifies objects by uid, and a deleted
/// object's findings resolve as deleted; a namespace-limited scan leaves other namespaces alone.
#[test]
fn live_scans_record_under_the_context_by_uid() {
    let Some(cluster) = kspm_testcluster::TestCluster::shared() else {
        return;
    };
    let ns = format!("store-live-{}", std::process::id());
    let deployment = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: priv, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: priv}}}}\n  template:\n    metadata: {{labels: {{app: priv}}}}\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n        securityContext: {{privileged: true}}\n"
    );
    cluster.apply(&deployment);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("live.db").display());
    let scan = |extra: &[&str]| {
        let mut args = vec!["--store", store.as_str(), "--namespace", ns.as_str()];
        args.extend(extra);
        support::scan_live(&cluster.kubeconfig, &args)
    };
    let out = scan(&[]);
    assert!(
        stderr(&out).contains("as cluster `kspm-test`"),
        "{}",
        stderr(&out)
    );
    let stored = findings(dir.path(), &store, &["--cluster", "kspm-test"]);
    let privileged: Vec<_> = stored
        .iter()
        .filter(|f| f["slug"] == "privileged-container")
        .collect();
    assert_eq!(privileged.len(), 1, "{stored:?}");
    assert!(privileged[0]["object"]["uid"].is_string(), "{stored:?}");
    assert_eq!(privileged[0]["location"], "cluster:kspm-test");

    // Deleted: every finding of the namespace's Deployment resolves, as deleted.
    cluster.kubectl(&["delete", "deployment", "priv", "-n", &ns, "--wait=true"]);
    let out = scan(&[]);
    assert!(!stderr(&out).contains(" 0 resolved"), "{}", stderr(&out));
    let resolved = findings(dir.path(), &store, &["--status", "resolved"]);
    let gone: Vec<_> = resolved
        .iter()
        .filter(|f| f["object"]["name"] == "priv")
        .collect();
    assert!(!gone.is_empty(), "{resolved:?}\n{}", stderr(&out));
    assert!(
        gone.iter().all(|f| f["resolved_reason"] == "deleted"),
        "{gone:?}"
    );
    cluster.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}

/// A kspm.yaml exception is recorded as a suppression with the instant it ends (the start of the
/// day after `expires`, UTC).
#[test]
fn exceptions_are_recorded_as_suppressions_with_their_expiry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), INSECURE).unwrap();
    std::fs::write(
        dir.path().join("exceptions.yaml"),
        "exceptions:\n- rule: host-pid\n  reason: node agent\n  owner: ops\n  expires: 2099-12-31\n",
    )
    .unwrap();
    let store = "sqlite://k.db";
    let out = kspm(
        &[
            "scan",
            "deploy.yaml",
            "--config",
            "exceptions.yaml",
            "--store",
            store,
            "--cluster-name",
            "dev",
        ],
        dir.path(),
    );
    assert!(stderr(&out).contains("1 suppressed"), "{}", stderr(&out));
    let suppressed = findings(dir.path(), store, &["--status", "suppressed"]);
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["slug"], "host-pid");
    assert_eq!(suppressed[0]["suppressed"]["reason"], "node agent");
    assert_eq!(suppressed[0]["suppressed"]["until"], "2100-01-01T00:00:00Z");
    assert!(
        findings(dir.path(), store, &["--status", "open"])
            .iter()
            .all(|f| f["slug"] != "host-pid")
    );
}
