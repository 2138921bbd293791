//! `kspm remediate --cluster` against a real kube-apiserver (scripts/test-cluster), with the real
//! `kspm admission` webhook registered: the plan, the dry run that admission answers, a
//! concurrent edit, the applied fix, and its undo.

#[path = "support/webhook.rs"]
mod webhook;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kspm_testcluster::TestCluster;
use serde_json::Value;
use webhook::{LABEL, Webhook, certs, kubectl, register};

const NS: &str = "rem-a";

/// A pod spec, hardened but for `privileged: true` and `allowPrivilegeEscalation: true`.
const POD_SPEC: &str = "automountServiceAccountToken: false
securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
containers:
- name: c
  image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
  securityContext: {privileged: true, allowPrivilegeEscalation: true, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
";

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(&pad);
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A Deployment or ReplicaSet of `spec`.
fn workload(kind: &str, name: &str, owner: &str, spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {name}, namespace: {NS}{owner}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{}",
        indent(spec, 6)
    )
}

fn owner(kind: &str, name: &str, uid: &str) -> String {
    format!(
        ", ownerReferences: [{{apiVersion: {}, kind: {kind}, name: {name}, uid: {uid}, controller: true}}]",
        if kind == "Deployment" || kind == "ReplicaSet" {
            "apps/v1"
        } else {
            "v1"
        }
    )
}

fn uid(cluster: &TestCluster, kind: &str, name: &str) -> String {
    let out = kubectl(
        cluster,
        &[
            "get",
            kind,
            name,
            "-n",
            NS,
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn remediate(cluster: &TestCluster, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["remediate", "--cluster", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .args(["-n", NS, "--format", "json"])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kspm remediate")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn security_context(cluster: &TestCluster) -> Value {
    let out = kubectl(
        cluster,
        &[
            "get",
            "deployment",
            "web",
            "-n",
            NS,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].securityContext}",
        ],
        None,
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The change of Deployment `web`.
fn only_change(report: &Value) -> &Value {
    let changes = report["changes"].as_array().unwrap();
    changes
        .iter()
        .find(|c| c["object"]["name"] == "web")
        .unwrap_or_else(|| panic!("no change of web in {report:#}"))
}

#[test]
fn remediation_plans_dry_runs_applies_and_undoes_on_a_real_apiserver() {
    let Some(cluster) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());

    // A privileged Deployment, with a ReplicaSet and a Pod it controls (no controller manager
    // runs here, so they are made by hand with their owner references).
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"
    ));
    cluster.apply(&workload("Deployment", "web", "", POD_SPEC));
    // Only privilege escalation allowed: a fix declared safe.
    let api = POD_SPEC.replace("privileged: true, ", "");
    cluster.apply(&workload("Deployment", "api", "", &api));
    let deployment = uid(cluster, "deployment", "web");
    cluster.apply(&workload(
        "ReplicaSet",
        "web-1",
        &owner("Deployment", "web", &deployment),
        POD_SPEC,
    ));
    let rs = uid(cluster, "replicaset", "web-1");
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-1-a, namespace: {NS}, labels: {{app: web}}{}}}\nspec:\n{}",
        owner("ReplicaSet", "web-1", &rs),
        indent(POD_SPEC, 2)
    ));

    // The webhook judges the namespace from now on.
    let certs = certs(dir.path());
    let hook = Webhook::start(dir.path(), &certs, &[]);
    register(cluster, "kspm-admission-r", hook.port, &certs.ca_pem);
    kubectl(
        cluster,
        &["label", "namespace", NS, &format!("{LABEL}=on")],
        None,
    );

    // Plan with the safe fixes only: the owners (not the ReplicaSet or Pod) are planned; `api`'s
    // safe fix is chosen, its diff shown and its dry run admitted by the webhook; `web`'s
    // privileged container (with the privilege escalation it implies) needs --select.
    let out = remediate(cluster, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let changes = report["changes"].as_array().unwrap();
    let names: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["object"]["kind"].as_str().unwrap(),
                c["object"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("Deployment", "api"), ("Deployment", "web")],
        "{report:#}"
    );
    let (api, web) = (&changes[0], &changes[1]);
    let fix = |change: &Value, rule: &str| {
        change["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} fix in {change:#}"))
            .clone()
    };
    assert_eq!(fix(api, "PS019")["safe"], true);
    assert_eq!(fix(api, "PS019")["chosen"], true);
    assert_eq!(api["outcome"], "planned", "{api:#}");
    assert_eq!(
        api["diff"],
        serde_json::json!([
            "- spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation: true",
            "+ spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation: false"
        ])
    );
    assert_eq!(fix(web, "PS004")["safe"], false);
    assert_eq!(fix(web, "PS004")["chosen"], false);
    assert_eq!(fix(web, "PS004")["also"], serde_json::json!(["PS019"]));
    assert_eq!(web["outcome"], "nothing-chosen", "{web:#}");
    assert_eq!(security_context(cluster)["privileged"], true);

    // Selected, the plan fixes both fields of `web`; the dry run is admitted; nothing changes yet.
    let select = [
        "--select",
        "privileged-container,privilege-escalation-allowed",
    ];
    let out = remediate(cluster, &select, &[]);
    let report = json(&out);
    let change = only_change(&report);
    assert_eq!(change["outcome"], "planned", "{change:#}");
    assert_eq!(change["diff"].as_array().unwrap().len(), 4, "{change:#}");
    assert_eq!(security_context(cluster)["privileged"], true);

    // A concurrent edit between the read and the apply is a conflict, never overwritten. (The
    // webhook is taken off the namespace meanwhile: it would deny any edit of the privileged
    // Deployment, the concurrent one included.)
    kubectl(
        cluster,
        &["label", "namespace", NS, &format!("{LABEL}-")],
        None,
    );
    let log = dir.path().join("conflict.err");
    let child = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["remediate", "--cluster", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .args(["-n", NS, "--format", "json", "--apply"])
        .args(select)
        .env("KSPM_TEST_PAUSE_BEFORE_APPLY_MS", "3000")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("pausing before applying to Deployment/rem-a/web")
    {
        assert!(Instant::now() < deadline, "remediate never paused");
        std::thread::sleep(Duration::from_millis(50));
    }
    let edit = kubectl(
        cluster,
        &[
            "annotate",
            "deployment",
            "web",
            "-n",
            NS,
            "edited-by=someone-else",
        ],
        None,
    );
    assert!(
        edit.status.success(),
        "{}",
        String::from_utf8_lossy(&edit.stderr)
    );
    let out = child.wait_with_output().unwrap();
    let report = json(&out);
    let change = only_change(&report);
    assert_eq!(change["outcome"], "conflict", "{change:#}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(security_context(cluster)["privileged"], true);
    kubectl(
        cluster,
        &["label", "namespace", NS, &format!("{LABEL}=on")],
        None,
    );

    // Applied: the Deployment is fixed, through the webhook (which admits the fixed object).
    let denied_before = hook.metric("kspm_admission_requests_total{outcome=\"denied\"}");
    let mut args = select.to_vec();
    args.extend(["--apply", "--store", &store]);
    let out = remediate(cluster, &args, &[]);
    let report = json(&out);
    let change = only_change(&report);
    assert_eq!(change["outcome"], "applied", "{change:#}");
    assert!(out.status.success());
    let record = &change["change"];
    let id = record["id"].as_str().unwrap().to_owned();
    assert_eq!(record["user"], "kspm-admin");
    assert_eq!(record["rules"], serde_json::json!(["PS004", "PS019"]));
    assert_eq!(
        record["before"]["fields"]["/spec/template/spec/containers/0/securityContext/privileged"],
        true
    );
    assert_eq!(
        record["after"]["fields"]["/spec/template/spec/containers/0/securityContext/privileged"],
        false
    );
    let sc = security_context(cluster);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert!(
        hook.metric("kspm_admission_requests_total{outcome=\"denied\"}") - denied_before < 0.5,
        "the webhook denied the fixed Deployment"
    );
    let updates: Vec<Value> = hook
        .audit_lines()
        .into_iter()
        .filter(|l| l["name"] == "web" && l["operation"] == "UPDATE" && l["dry_run"] == false)
        .collect();
    assert!(
        updates.iter().any(|l| l["decision"] == "audited"),
        "the fixed Deployment was not judged and admitted: {updates:?}"
    );
    // Its ReplicaSet and Pod were left to their owner.
    let rs = kubectl(
        cluster,
        &[
            "get",
            "replicaset",
            "web-1",
            "-n",
            NS,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].securityContext.privileged}",
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&rs.stdout), "true");

    // Undo restores the before-state (out of the webhook's reach: it would deny it).
    kubectl(
        cluster,
        &["label", "namespace", NS, &format!("{LABEL}-")],
        None,
    );
    let out = remediate(cluster, &["--undo", &id, "--store", &store], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sc = security_context(cluster);
    assert_eq!(sc["privileged"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], true);
    let again = remediate(cluster, &["--undo", &id, "--store", &store], &[]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already undone"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    kubectl(
        cluster,
        &[
            "delete",
            "validatingwebhookconfiguration",
            "kspm-admission-r",
        ],
        None,
    );
}
