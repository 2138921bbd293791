//! `kspm scan --cluster` against a real kube-apiserver + etcd (scripts/test-cluster), driving the
//! real binary. One cluster per test binary; every test works in namespaces of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kspm_testcluster::TestCluster;
use serde_json::Value;

fn kspm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/live")
        .join(name)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `kspm scan --cluster` with a kubeconfig and extra arguments.
fn scan_live(kubeconfig: &Path, args: &[&str]) -> Output {
    kspm()
        .args(["scan", "--cluster", "--kubeconfig"])
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kspm")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kspm did not print JSON ({e}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (rule, kind, namespace, name, path) of every finding.
fn finding_keys(report: &Value) -> BTreeSet<(String, String, String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let r = &f["resource"];
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (
                s(&f["rule"]),
                s(&r["kind"]),
                s(&r["namespace"]),
                s(&r["name"]),
                s(&f["path"]),
            )
        })
        .collect()
}

/// The shared cluster, with the fixtures applied, and a lock: the tests compare whole-cluster
/// scans, so they run one at a time (a failed test releases the lock too).
fn cluster() -> Option<(&'static TestCluster, std::sync::MutexGuard<'static, ()>)> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    static APPLIED: std::sync::Once = std::sync::Once::new();
    let guard = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let c = TestCluster::shared()?;
    APPLIED.call_once(|| {
        c.apply(&std::fs::read_to_string(fixture("workloads.yaml")).unwrap());
        let rbac = std::fs::read_to_string(
            kspm_testcluster::repo_root().join("deploy/kspm-scanner-rbac.yaml"),
        )
        .unwrap();
        c.apply(&rbac);
        // The least-privilege user of deploy/: bound only to the kspm-scanner ClusterRole.
        c.apply(
            "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-scanner-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-scanner}
subjects:
- {kind: User, name: kspm-scanner, apiGroup: rbac.authorization.k8s.io}
---
# As deploy/ says: custom resources that embed pods are added to the role by group.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kspm-scanner-demo}
rules:
- {apiGroups: [demo.kspm.io], resources: [rollouts], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-scanner-demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-scanner-demo}
subjects:
- {kind: User, name: kspm-scanner, apiGroup: rbac.authorization.k8s.io}
",
        );
    });
    Some((c, guard))
}

#[test]
fn live_scan_reports_what_the_file_scan_reports() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let files = kspm()
        .args(["scan", "--format", "json"])
        .arg(fixture("workloads.yaml"))
        .output()
        .unwrap();
    let live = scan_live(&c.kubeconfig, &["-n", "kspm-live", "--format", "json"]);
    assert_eq!(live.status.code(), Some(1), "{:?}", text(&live));
    let (file_report, live_report) = (json(&files), json(&live));
    let (want, got) = (finding_keys(&file_report), finding_keys(&live_report));
    assert!(want.len() > 20, "the fixture has many findings: {want:#?}");
    // A reference to a missing ConfigMap: the live scan lists ConfigMaps before it judges
    // workloads, so it reports it as the file scan does.
    assert!(
        got.iter()
            .any(|k| k.0 == "WL021" && k.4.ends_with("envFrom[0].configMapRef.name")),
        "{got:#?}"
    );
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "live and file scans differ\nonly in files: {missing:#?}\nonly live: {extra:#?}"
    );
    // Live findings name the cluster, and carry the object's uid and resourceVersion.
    let f = &live_report["findings"][0];
    assert!(
        f["source"]["file"]
            .as_str()
            .unwrap()
            .starts_with("cluster:")
    );
    assert!(
        f["source"].get("line").is_none(),
        "no line numbers for live objects"
    );
    assert_eq!(f["resource"]["uid"].as_str().unwrap().len(), 36, "{f}");
    assert!(f["resource"]["resourceVersion"].as_str().is_some(), "{f}");
    assert_eq!(live_report["summary"]["partial"], false);
}

#[test]
fn pods_of_a_controller_are_judged_once_on_the_controller() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    // No controller-manager runs, so the ReplicaSet and pods a Deployment would get are made
    // by hand, with the owner references a controller sets.
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: kspm-owners}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: kspm-owners}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: nginx:1.27, securityContext: {privileged: true}}]
",
    );
    let uid_of = |kind: &str, name: &str| {
        let out = c.kubectl(&[
            "get",
            kind,
            name,
            "-n",
            "kspm-owners",
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        String::from_utf8(out.stdout).unwrap()
    };
    let deploy = uid_of("deployment", "api");
    c.apply(&format!(
        "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-5d4f
  namespace: kspm-owners
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: api, uid: {deploy}, controller: true}}]
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers: [{{name: api, image: nginx:1.27, securityContext: {{privileged: true}}}}]
"
    ));
    let rs = uid_of("replicaset", "api-5d4f");
    let mut pods = String::new();
    for i in 0..3 {
        pods.push_str(&format!(
            "---
apiVersion: v1
kind: Pod
metadata:
  name: api-5d4f-{i}
  namespace: kspm-owners
  labels: {{app: api}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: api-5d4f, uid: {rs}, controller: true}}]
spec:
  containers: [{{name: api, image: nginx:1.27, securityContext: {{privileged: true}}}}]
"
        ));
    }
    pods.push_str(
        "---
apiVersion: v1
kind: Pod
metadata: {name: standalone, namespace: kspm-owners}
spec:
  containers: [{name: sh, image: busybox:1.36, securityContext: {privileged: true}}]
",
    );
    c.apply(&pods);

    let out = scan_live(
        &c.kubeconfig,
        &[
            "-n",
            "kspm-owners",
            "--format",
            "json",
            "--select",
            "PS004",
            "--stats",
        ],
    );
    let report = json(&out);
    let on: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["resource"]["kind"].as_str().unwrap().to_owned(),
                f["resource"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [("Deployment", "api"), ("Pod", "standalone")]
        .iter()
        .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
        .collect();
    assert_eq!(
        on, want,
        "privileged reported on the owner and the standalone pod only"
    );
    let (_, stderr) = text(&out);
    assert!(stderr.contains("4 on their controller"), "{stderr}");
}

#[test]
fn secrets_are_read_as_metadata_only_and_never_shown() {
    const VALUE: &str = "s3cr3t-V4lue-that-must-never-leak-9f8e7d";
    let Some((c, _serial)) = cluster() else {
        return;
    };
    // `kubectl apply` also copies the whole Secret into an annotation: kspm must drop it.
    c.apply(&format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: kspm-secrets}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: kspm-secrets}}
stringData:
  password: {VALUE}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: legacy, namespace: kspm-secrets}}
---
apiVersion: v1
kind: Secret
metadata:
  name: legacy-token
  namespace: kspm-secrets
  annotations: {{kubernetes.io/service-account.name: legacy}}
type: kubernetes.io/service-account-token
"
    ));
    let scanner = c.user("kspm-scanner", &[]);
    let mut outputs = String::new();
    for format in ["table", "json", "sarif", "junit"] {
        let out = scan_live(
            &scanner,
            &["--format", format, "--select", "all", "--show-suppressed"],
        );
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.code() == Some(1),
            "{format}: exit {:?}\n{stderr}",
            out.status.code()
        );
        outputs.push_str(&stdout);
        outputs.push_str(&stderr);
    }
    assert!(
        !outputs.contains(VALUE),
        "the Secret's value reached kspm's output"
    );
    // The token Secret was recognised from its metadata (type via a field selector).
    assert!(
        outputs.contains("legacy-token"),
        "service-account token Secret not reported"
    );

    // What kspm asked for, as the API server recorded it.
    let log = c.audit_log();
    let mut secret_requests = 0;
    for line in log.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["user"]["username"] != "kspm-scanner"
            || event["objectRef"]["resource"] != "secrets"
        {
            continue;
        }
        secret_requests += 1;
        assert_eq!(event["verb"], "list", "only lists of Secrets: {event}");
        if event["stage"] == "ResponseComplete" && event["responseStatus"]["code"] == 200 {
            assert_eq!(
                event["responseObject"]["kind"], "PartialObjectMetadataList",
                "Secrets must be requested as metadata: {}",
                event["requestURI"]
            );
        }
    }
    assert!(
        secret_requests >= 8,
        "the scans listed Secrets ({secret_requests} requests)"
    );
}

#[test]
fn the_least_privilege_role_sees_everything_an_admin_sees() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let scanner = c.user("kspm-scanner", &[]);
    let admin = scan_live(&c.kubeconfig, &["--format", "json"]);
    let least = scan_live(&scanner, &["--format", "json"]);
    let (admin, least_report) = (json(&admin), json(&least));
    assert_eq!(
        least_report["summary"]["partial"], false,
        "{:#}",
        least_report["errors"]
    );
    assert_eq!(least_report["errors"], serde_json::json!([]));
    assert_eq!(finding_keys(&admin), finding_keys(&least_report));
    assert!(least_report["summary"]["resources"].as_u64().unwrap() > 50);
    assert_eq!(least.status.code(), Some(1));
}

#[test]
fn service_account_tokens_and_exec_plugins_authenticate() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let token = c.kubectl(&[
        "create",
        "token",
        "kspm-scanner",
        "-n",
        "kspm",
        "--duration",
        "1h",
    ]);
    let token = String::from_utf8(token.stdout).unwrap();
    let kubeconfig = c.dir.join("sa-token.kubeconfig");
    write_kubeconfig(c, &kubeconfig, &format!("{{token: {}}}", token.trim()));
    let out = scan_live(&kubeconfig, &["-n", "kspm-live", "--format", "json"]);
    let report = json(&out);
    assert_eq!(
        report["summary"]["partial"], false,
        "{:#}",
        report["errors"]
    );
    assert!(report["summary"]["findings"].as_u64().unwrap() > 20);

    // The same token handed over by an exec credential plugin, as EKS/GKE/OIDC helpers do.
    let plugin = c.dir.join("credential-plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{}\"}}}}'\n",
            token.trim()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&plugin)
        .status()
        .unwrap();
    let exec_config = c.dir.join("exec.kubeconfig");
    write_kubeconfig(
        c,
        &exec_config,
        &format!(
            "{{exec: {{apiVersion: client.authentication.k8s.io/v1, command: '{}', interactiveMode: Never}}}}",
            plugin.display()
        ),
    );
    let via_plugin = json(&scan_live(
        &exec_config,
        &["-n", "kspm-live", "--format", "json"],
    ));
    assert_eq!(
        via_plugin["summary"]["partial"], false,
        "{:#}",
        via_plugin["errors"]
    );
    assert_eq!(finding_keys(&via_plugin), finding_keys(&report));
}

#[test]
fn missing_permissions_give_a_partial_scan_that_says_what_is_missing() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kspm-test-pods-only}
rules:
- {apiGroups: [''], resources: [pods, namespaces, serviceaccounts], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-test-pods-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-test-pods-only}
subjects:
- {kind: User, name: pods-only, apiGroup: rbac.authorization.k8s.io}
",
    );
    let user = c.user("pods-only", &[]);
    let out = scan_live(&user, &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "partial scans exit 4: {:?}",
        text(&out)
    );
    let report = json(&out);
    assert_eq!(report["summary"]["partial"], true);
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("could not read deployments.apps in all namespaces: 403 Forbidden"),
        "{errors}"
    );
    assert!(errors.contains("could not read secrets"), "{errors}");
    // The pods it could read are still judged.
    assert!(
        finding_keys(&report)
            .iter()
            .any(|k| k.1 == "Pod" && k.3 == "debug")
    );

    let table = scan_live(&user, &[]);
    let (stdout, _) = text(&table);
    assert!(
        stdout.contains("could not read deployments.apps"),
        "{stdout}"
    );
    assert_eq!(table.status.code(), Some(4));
    let sarif: Value =
        serde_json::from_slice(&scan_live(&user, &["--format", "sarif"]).stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    assert!(
        sarif
            .to_string()
            .contains("could not read clusterroles.rbac.authorization.k8s.io")
    );
    let junit = String::from_utf8(scan_live(&user, &["--format", "junit"]).stdout).unwrap();
    assert!(
        junit.contains("partial-scan") && junit.contains("could not read jobs.batch"),
        "{junit}"
    );
}

#[test]
fn unreachable_untrusted_and_unauthenticated_clusters_fail_in_one_line() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let admin = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let port = c.server().rsplit(':').next().unwrap().to_owned();

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = dir.path().join("refused");
    std::fs::write(&refused, admin.replace(&port, &closed_port.to_string())).unwrap();

    // A certificate authority that did not sign the server's certificate.
    let other_ca = dir.path().join("ca.pem");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(dir.path().join("ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let ca_line = admin
        .lines()
        .find(|l| l.contains("certificate-authority-data"))
        .unwrap()
        .to_owned();
    let untrusted = dir.path().join("untrusted");
    std::fs::write(
        &untrusted,
        admin.replace(
            &ca_line,
            &format!(
                "    certificate-authority-data: {}",
                b64(&std::fs::read(&other_ca).unwrap())
            ),
        ),
    )
    .unwrap();

    // A bearer token the server does not accept (as an expired one).
    let bad_token = dir.path().join("bad-token");
    write_kubeconfig(c, &bad_token, "{token: expired.or.forged}");

    for (kubeconfig, expect) in [
        (&refused, "cannot reach https://127.0.0.1:"),
        (&untrusted, "TLS with https://127.0.0.1:"),
        (&bad_token, "rejected the credentials (401 Unauthorized)"),
        (&dir.path().join("missing"), "cannot read kubeconfig"),
    ] {
        let out = scan_live(kubeconfig, &[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{expect}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with("kspm: error: ") && stderr.contains(expect),
            "{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Error {"),
            "{stderr}"
        );
    }
}

#[test]
fn small_pages_give_the_same_result_as_large_ones() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let big = scan_live(&c.kubeconfig, &["--format", "json", "--stats"]);
    let small = scan_live(
        &c.kubeconfig,
        &["--format", "json", "--page-size", "2", "--stats"],
    );
    assert_eq!(finding_keys(&json(&big)), finding_keys(&json(&small)));
    let requests = |out: &Output| -> u64 {
        let (_, stderr) = text(out);
        let at = stderr.find(" requests").expect("stats line");
        stderr[..at].rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        requests(&small) > requests(&big) + 20,
        "page size 2 needs many more requests: {} vs {}",
        requests(&small),
        requests(&big)
    );
    let log = c.audit_log();
    assert!(
        log.contains("limit=2") && log.contains("continue="),
        "the server saw paginated lists"
    );
}

#[test]
fn custom_resources_that_embed_pods_are_scanned() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: rollouts.demo.kspm.io}
spec:
  group: demo.kspm.io
  scope: Namespaced
  names: {plural: rollouts, singular: rollout, kind: Rollout}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              template:
                type: object
                properties:
                  spec:
                    type: object
                    properties:
                      containers:
                        type: array
                        items: {type: object, x-kubernetes-preserve-unknown-fields: true}
",
    );
    c.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/rollouts.demo.kspm.io",
        "--timeout=60s",
    ]);
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: kspm-crd}
---
apiVersion: demo.kspm.io/v1
kind: Rollout
metadata: {name: canary, namespace: kspm-crd}
spec:
  template:
    spec:
      containers: [{name: app, image: nginx:1.27, securityContext: {privileged: true}}]
",
    );
    // Discovery may lag the CRD by a moment.
    let mut last = String::new();
    for _ in 0..20 {
        let out = scan_live(&c.kubeconfig, &["--format", "json", "--select", "PS004"]);
        let report = json(&out);
        if finding_keys(&report)
            .iter()
            .any(|k| k.1 == "Rollout" && k.3 == "canary")
        {
            return;
        }
        last = report.to_string();
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("privileged Rollout not reported: {last}");
}

#[test]
fn namespaces_limit_what_is_read() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let out = scan_live(
        &c.kubeconfig,
        &["-n", "kspm-live", "-n", "kspm-owners", "--format", "json"],
    );
    let report = json(&out);
    let namespaces: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["resource"]["namespace"]
                .as_str()
                .or(f["resource"]["name"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(namespaces.contains("kspm-live"), "{namespaces:?}");
    assert!(
        namespaces
            .iter()
            .all(|n| n == "kspm-live" || n == "kspm-owners"),
        "{namespaces:?}"
    );
}

/// A kubeconfig for the test cluster (its server and CA) with `user` (a YAML flow mapping: a
/// token, an exec plugin...) as the only user.
fn write_kubeconfig(c: &TestCluster, path: &Path, user: &str) {
    let ca = std::fs::read(c.dir.join("pki/ca.crt")).unwrap();
    std::fs::write(
        path,
        format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: '{}', certificate-authority-data: {}}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: u, context: {{cluster: c, user: u}}}}]
current-context: u
",
            c.server(),
            b64(&ca),
        ),
    )
    .unwrap();
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A subject as the API server sees a request: user name and groups (implicit ones included).
struct Probe {
    /// How `kspm rbac who-can` names it, or the group that stands for it.
    kind: &'static str,
    name: &'static str,
    namespace: Option<&'static str>,
    user: String,
    groups: Vec<String>,
}

fn probes() -> Vec<Probe> {
    let user = |name: &'static str| Probe {
        kind: "User",
        name,
        namespace: None,
        user: name.to_owned(),
        groups: vec!["system:authenticated".to_owned()],
    };
    let member = |group: &'static str| Probe {
        kind: "Group",
        name: group,
        namespace: None,
        user: format!("member-of-{group}"),
        groups: vec![group.to_owned(), "system:authenticated".to_owned()],
    };
    let sa = |ns: &'static str, name: &'static str| Probe {
        kind: "ServiceAccount",
        name,
        namespace: Some(ns),
        user: format!("system:serviceaccount:{ns}:{name}"),
        groups: vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".to_owned(),
        ],
    };
    vec![
        user("alice"),
        user("bob"),
        user("carol"),
        user("dave"),
        user("eve"),
        member("dev"),
        member("ops"),
        sa("rbac-a", "debugger"),
        sa("rbac-a", "nobody"),
        sa("rbac-b", "ci"),
        sa("rbac-b", "other"),
    ]
}

/// Whether a who-can answer (JSON list of subjects) lets the probe do it: the subject itself is
/// listed, or one of the groups it belongs to.
fn answer_allows(answer: &Value, p: &Probe) -> bool {
    answer.as_array().unwrap().iter().any(|s| {
        let (kind, name) = (s["kind"].as_str().unwrap(), s["name"].as_str().unwrap());
        (kind == p.kind && name == p.name && s["namespace"].as_str() == p.namespace)
            || (kind == "Group" && p.groups.iter().any(|g| g == name))
    })
}

#[test]
fn who_can_agrees_with_the_servers_subject_access_reviews() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(&std::fs::read_to_string(fixture("rbac.yaml")).unwrap());
    // The RBAC objects as the server holds them (bootstrap roles included), for fast who-can runs.
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("rbac.yaml");
    let out = c.kubectl(&[
        "get",
        "roles,clusterroles,rolebindings,clusterrolebindings",
        "-A",
        "-o",
        "yaml",
    ]);
    std::fs::write(&snapshot, &out.stdout).unwrap();

    let verbs = ["get", "list", "create", "delete", "patch"];
    let resources = [
        ("pods", "", ""),
        ("pods/exec", "", "exec"),
        ("secrets", "", ""),
        ("deployments.apps", "apps", ""),
        ("configmaps", "", ""),
        ("serviceaccounts/token", "", "token"),
    ];
    let namespaces = ["rbac-a", "rbac-b"];
    let probes = probes();
    let mut reviews = Vec::new();
    let mut expected = Vec::new();
    for verb in verbs {
        for (resource, group, sub) in resources {
            for ns in namespaces {
                let out = kspm()
                    .args([
                        "rbac", "who-can", verb, resource, "-n", ns, "--format", "json",
                    ])
                    .arg(&snapshot)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{:?}", text(&out));
                let answer = json(&out);
                let plain = resource
                    .split('/')
                    .next()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap();
                for p in &probes {
                    expected.push((
                        format!("{} {verb} {resource} -n {ns}", p.user),
                        answer_allows(&answer, p),
                    ));
                    reviews.push(serde_json::json!({
                        "apiVersion": "authorization.k8s.io/v1",
                        "kind": "SubjectAccessReview",
                        "spec": {
                            "user": p.user,
                            "groups": p.groups,
                            "resourceAttributes": {
                                "namespace": ns, "verb": verb, "group": group,
                                "resource": plain, "subresource": sub,
                            }
                        }
                    }));
                }
            }
        }
    }
    // All reviews in one kubectl run: one POST each, answered by the server's RBAC authorizer.
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": reviews});
    let out = c.kubectl_as(
        &c.kubeconfig,
        &["create", "-f", "-", "-o", "json"],
        Some(&list.to_string()),
    );
    // kubectl prints one JSON object per review, one after the other.
    let answers: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(answers.len(), expected.len());
    let mut disagreements = Vec::new();
    let mut allowed = 0;
    for ((case, kspm_says), review) in expected.iter().zip(&answers) {
        let server_says = review["status"]["allowed"].as_bool().unwrap_or(false);
        allowed += usize::from(server_says);
        if server_says != *kspm_says {
            disagreements.push(format!("{case}: server {server_says}, kspm {kspm_says}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        expected.len(),
        disagreements.join("\n")
    );
    assert!(
        expected.len() >= 600 && allowed >= 50,
        "{allowed} allowed of {}",
        expected.len()
    );

    // The live read gives the same answer as the snapshot.
    let live = scan_args(
        &c.kubeconfig,
        &[
            "rbac",
            "who-can",
            "create",
            "pods/exec",
            "-n",
            "rbac-a",
            "--format",
            "json",
        ],
    );
    let file = kspm()
        .args([
            "rbac",
            "who-can",
            "create",
            "pods/exec",
            "-n",
            "rbac-a",
            "--format",
            "json",
        ])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_eq!(json(&live), json(&file));
}

/// Runs a kspm command with `--cluster --kubeconfig FILE` appended.
/// Issue 15: `who-can` answers impersonation and binding as the server decides them, checked by
/// making the requests for real. Impersonating a user is authorized without a namespace, so a
/// RoleBinding does not grant it; creating a RoleBinding to a ClusterRole in a namespace is
/// authorized by `bind` on that ClusterRole in that namespace, so a Role there does. (The
/// ClusterRole is the test's own: with no controller manager, the aggregated `view` has no rules
/// and anyone may bind it.)
#[test]
fn who_can_impersonate_and_bind_agree_with_real_requests() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: i15-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: i15-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: i15-impersonator}
rules:
- {apiGroups: [\"\"], resources: [users, groups], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: i15-local-impersonator, namespace: i15-a}
subjects: [{kind: User, name: i15-alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: i15-impersonator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: i15-impersonator}
subjects: [{kind: User, name: i15-carol, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: i15-impersonator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: i15-rolebinding-writer}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: i15-writer, namespace: i15-a}
subjects: [{kind: User, name: i15-dave, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: i15-rolebinding-writer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: i15-writer, namespace: i15-b}
subjects: [{kind: User, name: i15-dave, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: i15-rolebinding-writer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: i15-binder, namespace: i15-a}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], resourceNames: [i15-secret-reader], verbs: [bind]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: i15-secret-reader}
rules:
- {apiGroups: [\"\"], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: i15-binder, namespace: i15-a}
subjects: [{kind: User, name: i15-dave, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: i15-binder}
",
    );
    // The server's answer: make the request and see whether it is refused.
    let server_allows = |user: &str, args: &[&str]| {
        let kubeconfig = c.user(user, &[]);
        Command::new(kspm_testcluster::testbin().join("kubectl"))
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .expect("run kubectl")
            .status
            .success()
    };
    let impersonate = ["--as=i15-someone", "get", "--raw", "/api"];
    assert!(!server_allows("i15-alice", &impersonate));
    assert!(server_allows("i15-carol", &impersonate));
    let bind_reader = |ns: &str| {
        server_allows(
            "i15-dave",
            &[
                "create",
                "rolebinding",
                "i15-read",
                "--clusterrole=i15-secret-reader",
                "--user=i15-x",
                "-n",
                ns,
            ],
        )
    };
    assert!(bind_reader("i15-a"));
    assert!(!bind_reader("i15-b"));

    let users = |args: &[&str]| -> Vec<String> {
        let out = scan_args(&c.kubeconfig, args);
        assert!(out.status.success(), "{:?}", text(&out));
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "User")
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .filter(|n| n.starts_with("i15-"))
            .collect()
    };
    let who = [
        "rbac",
        "who-can",
        "impersonate",
        "users",
        "-n",
        "i15-a",
        "--format",
        "json",
    ];
    assert_eq!(users(&who), vec!["i15-carol"]);
    let bind = |ns: &'static str| {
        users(&[
            "rbac",
            "who-can",
            "bind",
            "clusterroles",
            "--name",
            "i15-secret-reader",
            "-n",
            ns,
            "--format",
            "json",
        ])
    };
    assert_eq!(bind("i15-a"), vec!["i15-dave"]);
    assert!(bind("i15-b").is_empty());
}

fn scan_args(kubeconfig: &Path, args: &[&str]) -> Output {
    kspm()
        .args(args)
        .args(["--cluster", "--kubeconfig"])
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kspm")
}

#[test]
fn cross_resource_policies_see_the_whole_cluster() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let manifests = "apiVersion: v1
kind: Namespace
metadata: {name: kspm-quota-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: kspm-quota-b}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: kspm-quota-a}
spec: {hard: {pods: \"10\"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: kspm-quota-a}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: \"registry.example/api:1.0\"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: kspm-quota-b}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: \"registry.example/api:1.0\"}]}
";
    c.apply(manifests);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("quota.yaml");
    std::fs::write(&file, manifests).unwrap();
    // The example policy reads data.kspm.resources: a Deployment's namespace needs a quota.
    let policy = kspm_testcluster::repo_root().join("examples/policies/rego/namespace-quota.rego");
    let policy = policy.to_str().unwrap();
    let org003 = |out: &Output| -> Vec<String> {
        let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let report = json(out);
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "ORG003")
            .map(|f| {
                format!(
                    "{}/{}",
                    s(&f["resource"]["namespace"]),
                    s(&f["resource"]["name"])
                )
            })
            .collect()
    };
    let live = scan_live(
        &c.kubeconfig,
        &[
            "-n",
            "kspm-quota-a",
            "-n",
            "kspm-quota-b",
            "--policy",
            policy,
            "--format",
            "json",
        ],
    );
    assert_eq!(org003(&live), ["kspm-quota-b/api"], "{:?}", text(&live));
    let files = kspm()
        .args(["scan", "--format", "json", "--policy", policy])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(org003(&files), org003(&live));
}

/// On a live cluster every workload is read before Services, NetworkPolicies and autoscalers
/// are judged against them, and every reference is judged (in files most are not).
#[test]
fn references_are_judged_against_every_workload_of_the_cluster() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: kspm-refs}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis, namespace: kspm-refs}
spec:
  serviceName: redis
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers: [{name: redis, image: redis:7}]
---
apiVersion: v1
kind: Service
metadata: {name: redis-0, namespace: kspm-refs}
spec:
  selector: {app: redis, statefulset.kubernetes.io/pod-name: redis-0}
  ports: [{port: 6379}]
---
apiVersion: v1
kind: Service
metadata: {name: dangling, namespace: kspm-refs}
spec:
  selector: {app: gone}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dangling, namespace: kspm-refs}
spec:
  podSelector: {matchLabels: {app: gone}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: redis, namespace: kspm-refs}
spec:
  podSelector: {matchLabels: {app: redis}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: kspm-refs}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  maxReplicas: 3
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: redis, namespace: kspm-refs}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: redis}
  minReplicas: 2
  maxReplicas: 3
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: kspm-refs}
spec:
  serviceAccountName: nobody
  containers:
  - name: app
    image: busybox:1.36
    envFrom:
    - secretRef: {name: absent}
",
    );
    let out = scan_live(
        &c.kubeconfig,
        &[
            "-n",
            "kspm-refs",
            "--format",
            "json",
            "--select",
            "NW015,NW016,WL026,WL020,WL021",
        ],
    );
    let report = json(&out);
    let got: BTreeSet<(String, String)> = finding_keys(&report)
        .into_iter()
        .map(|k| (k.0, k.3))
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("NW015", "dangling"),
        ("NW016", "dangling"),
        ("WL026", "api"),
        // No ServiceAccount of the namespace exists (no controller creates `default` here):
        // judged all the same, since every ServiceAccount was read.
        ("WL020", "app"),
        // Secret references are judged on live clusters.
        ("WL021", "app"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(got, want, "{:#}", report["findings"]);
}

/// Installed as `kubectl-kspm` on PATH, the binary is a kubectl plugin: `kubectl kspm scan
/// --cluster` (run by the test cluster's kubectl, which passes the plugin its own environment)
/// reports what `kspm scan --cluster` reports.
#[test]
fn kubectl_kspm_plugin_scans_the_cluster() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let bin = tempfile::tempdir().unwrap();
    let plugin = bin.path().join("kubectl-kspm");
    std::fs::copy(env!("CARGO_BIN_EXE_kspm"), &plugin).unwrap();
    let path = std::env::join_paths(std::iter::once(bin.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let kubectl = |args: &[&str]| {
        Command::new(kspm_testcluster::testbin().join("kubectl"))
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", &c.kubeconfig)
            .output()
            .expect("run kubectl")
    };
    let listed = kubectl(&["plugin", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("kubectl-kspm"),
        "{:?}",
        text(&listed)
    );
    let via_kubectl = kubectl(&[
        "kspm",
        "scan",
        "--cluster",
        "-n",
        "kspm-live",
        "--format",
        "json",
    ]);
    assert_eq!(
        via_kubectl.status.code(),
        Some(1),
        "{:?}",
        text(&via_kubectl)
    );
    let direct = scan_live(&c.kubeconfig, &["-n", "kspm-live", "--format", "json"]);
    let (want, got) = (
        finding_keys(&json(&direct)),
        finding_keys(&json(&via_kubectl)),
    );
    assert!(want.len() > 20, "{want:#?}");
    assert_eq!(want, got);
    // Usage errors name the command as the user typed it.
    let usage = kubectl(&["kspm", "scan", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(3), "{:?}", text(&usage));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("Usage: kubectl kspm scan"),
        "{:?}",
        text(&usage)
    );
}
