//! The agent's Helm chart (deploy/helm/kspm): linted and rendered by the pinned helm, scanned
//! by kspm itself (nothing to report on its own workload), applied to the real kube-apiserver,
//! and run: the agent with exactly the chart's rights (its ServiceAccount's token) lists,
//! watches, writes its PolicyReports and holds its Lease.
#![cfg(feature = "agent")]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kspm_testcluster::TestCluster;
use serde_json::Value;
use support::{have_tool, json, kspm, repo_root, stderr, stdout};

const CHART: &str = "deploy/helm/kspm";

fn helm(args: &[&str]) -> String {
    let out = Command::new("helm")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {} failed:\n{}{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// `helm template` of the chart with `--set` values, CRDs included.
fn render(namespace: &str, set: &[&str]) -> String {
    let mut args = vec![
        "template",
        "kspm",
        CHART,
        "--namespace",
        namespace,
        "--include-crds",
    ];
    for s in set {
        args.extend(["--set", s]);
    }
    helm(&args)
}

const VARIANTS: [&[&str]; 3] = [
    &[],
    &[
        "replicas=2",
        "store.postgres.enabled=true",
        "store.postgres.secretName=kspm-db",
        "reports=openreports",
        "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ],
    &[
        "store.sqlite.persistence.enabled=false",
        "leaderElection.enabled=false",
        "reports=none",
        "config=rules: {}",
        "admission.enabled=true",
    ],
];

#[test]
fn the_chart_lints_renders_and_kspm_finds_nothing_in_it() {
    if !have_tool("helm") {
        return;
    }
    helm(&["lint", CHART]);
    let dir = tempfile::tempdir().unwrap();
    for (i, set) in VARIANTS.iter().enumerate() {
        let rendered = render("kspm", set);
        let file = dir.path().join(format!("chart-{i}.yaml"));
        std::fs::write(&file, &rendered).unwrap();
        let out = kspm(
            &["scan", file.to_str().unwrap(), "--format", "json"],
            dir.path(),
        );
        let report = json(&out);
        assert_eq!(
            report["findings"].as_array().map(Vec::len),
            Some(0),
            "kspm reports on its own chart ({set:?}):\n{}",
            serde_json::to_string_pretty(&report["findings"]).unwrap()
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // The hardened pod, field by field (the scan above checks the same through its rules).
        for needle in [
            "runAsNonRoot: true",
            "runAsUser: 65532",
            "readOnlyRootFilesystem: true",
            "allowPrivilegeEscalation: false",
            "drop: [ALL]",
            "type: RuntimeDefault",
            "memory: 512Mi",
        ] {
            assert!(rendered.contains(needle), "no `{needle}` in ({set:?})");
        }
    }
    let pinned = render("kspm", VARIANTS[1]);
    assert!(
        pinned.contains("image: \"kspm@sha256:0123456789abcdef"),
        "{pinned}"
    );
    assert!(pinned.contains("name: KSPM_STORE_FILE"));
    assert!(pinned.contains("kind: PodDisruptionBudget"));
    assert!(
        !pinned.contains("--store="),
        "the PostgreSQL URL is never an argument"
    );
    // The webhook (deploy/admission's objects) only when asked for, failing open by default.
    let webhook = render("kspm", VARIANTS[2]);
    assert!(webhook.contains("kind: ValidatingWebhookConfiguration"));
    assert!(webhook.contains("failurePolicy: Ignore"));
    assert!(webhook.contains("- --deny=high"));
    let closed = render(
        "kspm",
        &["admission.enabled=true", "admission.failClosed=true"],
    );
    assert!(closed.contains("failurePolicy: Fail") && closed.contains("- --fail-closed"));
    let default = render("kspm", &[]);
    assert!(!default.contains("ValidatingWebhookConfiguration"));
    assert!(default.contains("image: \"kspm:0.1.0\""));
    assert!(default.contains("kind: PersistentVolumeClaim"));
    assert!(default.contains("--leader-elect"));

    // The chart's CRDs are deploy/crds, byte for byte.
    for entry in std::fs::read_dir(repo_root().join("deploy/crds")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let copy = repo_root().join(CHART).join("crds").join(name);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::fs::read_to_string(&copy).unwrap_or_default(),
            "{} differs from deploy/crds (copy it over)",
            copy.display()
        );
    }
}

/// `kubectl apply` as the admin, of a file, with extra arguments; the output as JSON.
fn apply_json(c: &TestCluster, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["apply", "-f", file.to_str().unwrap(), "-o", "json"];
    args.extend(extra);
    let out = c.kubectl(&args);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn items(v: &Value) -> Vec<Value> {
    match v["kind"].as_str() {
        Some("List") => v["items"].as_array().cloned().unwrap_or_default(),
        _ => vec![v.clone()],
    }
}

fn rules_of(objects: &[Value], name: &str) -> Value {
    objects
        .iter()
        .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ClusterRole {name}"))["rules"]
        .clone()
}

#[test]
fn the_chart_applies_and_its_rights_are_enough_for_the_agent() {
    if !have_tool("helm") {
        return;
    }
    let Some(c) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ns = "kspm-chart";
    c.kubectl(&["create", "namespace", ns]);

    // Every variant is accepted by the server (dry run), and the read-only role is exactly
    // deploy/kspm-scanner-rbac.yaml's.
    for (i, set) in VARIANTS.iter().enumerate() {
        let file = dir.path().join(format!("chart-{i}.yaml"));
        std::fs::write(&file, render(ns, set)).unwrap();
        let applied = items(&apply_json(c, &file, &["--dry-run=server"]));
        assert!(applied.iter().any(|o| o["kind"] == "Deployment"));
        if i == 0 {
            let deploy = repo_root().join("deploy/kspm-scanner-rbac.yaml");
            // Client-side: its Namespace would not exist for a server-side dry run of the rest.
            let reference = items(&apply_json(c, &deploy, &["--dry-run=client"]));
            assert_eq!(
                rules_of(&applied, "kspm-read"),
                rules_of(&reference, "kspm-scanner"),
                "the chart's read-only ClusterRole drifted from deploy/kspm-scanner-rbac.yaml"
            );
        }
    }

    // Applied for real, then the agent runs with the chart's ServiceAccount and nothing else.
    let file = dir.path().join("chart-0.yaml");
    c.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    let token = stdout(&c.kubectl(&["create", "token", "kspm", "-n", ns]));
    let admin = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let ca = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .expect("CA in the test kubeconfig");
    let kubeconfig = dir.path().join("sa.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: sa\n  user:\n    token: {}\ncontexts:\n- name: sa\n  context: {{cluster: t, user: sa}}\ncurrent-context: sa\n",
            c.server(),
            token.trim()
        ),
    )
    .unwrap();
    let log = dir.path().join("agent.log");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["agent", "--kubeconfig"])
        .arg(&kubeconfig)
        .args([
            "--store",
            &format!("sqlite://{}", dir.path().join("kspm.db").display()),
            "--cluster-name",
            "chart",
            "--debounce",
            "300ms",
            "--no-listen",
            "--reports",
            "wgpolicyk8s",
            "--leader-elect",
            "--lease-name",
            "kspm-agent",
            "--lease-namespace",
            ns,
        ])
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: priv, namespace: {ns}}}\nspec:\n  containers:\n  - name: app\n    image: registry.example/app:1.0\n    securityContext: {{privileged: true}}\n"
    ));
    let deadline = Instant::now() + Duration::from_mins(1);
    let report = loop {
        let out = c.kubectl(&[
            "get",
            "policyreports",
            "kspm",
            "-n",
            ns,
            "-o",
            "json",
            "--ignore-not-found",
        ]);
        let r = stdout(&out);
        if !r.trim().is_empty() {
            let r: Value = serde_json::from_str(&r).unwrap();
            if r["results"]
                .as_array()
                .is_some_and(|rs| rs.iter().any(|x| x["resources"][0]["name"] == "priv"))
            {
                break r;
            }
        }
        assert!(Instant::now() < deadline, "no report:\n{}", text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        report["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kspm"
    );
    let lease = json(&c.kubectl(&["get", "lease", "kspm-agent", "-n", ns, "-o", "json"]));
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{lease:#}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &agent.id().to_string()])
        .status();
    let status = agent.wait().unwrap();
    let log = text();
    assert_eq!(status.code(), Some(0), "{log}");
    for bad in ["forbidden", "Forbidden", "cannot "] {
        assert!(!log.contains(bad), "the chart's rights fell short:\n{log}");
    }
    assert!(log.contains("released the lease"), "{log}");
    c.kubectl(&["delete", "pod", "priv", "-n", ns]);
}
