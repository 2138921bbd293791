//! `kspm admission` registered with a real kube-apiserver (scripts/test-cluster) at an https URL
//! on loopback with its caBundle: what kubectl sees when objects are created through it.

#[path = "support/webhook.rs"]
mod webhook;

use std::time::Duration;

use kspm_testcluster::TestCluster;
use webhook::{Webhook, certs, fail_open_count, kubectl, namespace, register};

const NS: &str = "adm-a";

/// A hardened pod (only low findings), then altered by `extra` under `spec` and its container.
fn pod(name: &str, spec_extra: &str, image: &str) -> String {
    format!(
        r"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {NS}}}
spec:
  automountServiceAccountToken: false
  {spec_extra}
  securityContext: {{runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {{type: RuntimeDefault}}}}
  containers:
  - name: c
    image: {image}
    securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
    resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
"
    )
}

const DIGEST: &str =
    "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn exists(cluster: &TestCluster, name: &str) -> bool {
    kubectl(cluster, &["get", "pod", "-n", NS, name], None)
        .status
        .success()
}

#[test]
fn the_webhook_denies_warns_and_admits_on_a_real_apiserver() {
    let Some(cluster) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let config = dir.path().join("kspm.yaml");
    std::fs::write(
        &config,
        "exceptions:\n  - rule: host-pid\n    name: excepted\n    reason: the test excepts it\n",
    )
    .unwrap();
    let store = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let mut hook = Webhook::start(
        dir.path(),
        &certs,
        &[
            "--config",
            config.to_str().unwrap(),
            "--store",
            &store,
            "--cluster-name",
            "test",
            "--reload",
            "1s",
        ],
    );
    register(cluster, "kspm-admission-a", hook.port, &certs.ca_pem);
    namespace(cluster, NS);

    // A privileged pod is denied, with the finding's message.
    let privileged = pod(
        "privileged",
        "hostPID: true",
        "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    )
    .replace(
        "allowPrivilegeEscalation: false,",
        "privileged: true, allowPrivilegeEscalation: true,",
    );
    let out = kubectl(cluster, &["apply", "-f", "-"], Some(&privileged));
    let (_, err) = text(&out);
    assert!(!out.status.success(), "admitted: {err}");
    assert!(err.contains("denied the request"), "{err}");
    assert!(err.contains("privileged-container"), "{err}");
    assert!(
        err.contains("spec.containers[0].securityContext.privileged"),
        "{err}"
    );
    assert!(!exists(cluster, "privileged"));

    // A warn-level finding (a `latest` image, medium) shows as a kubectl warning; admitted.
    let out = kubectl(
        cluster,
        &["apply", "-f", "-"],
        Some(&pod("warned", "", "nginx:latest")),
    );
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Warning: kspm: WL007 image-latest-tag (medium)"),
        "{err}"
    );
    assert!(exists(cluster, "warned"));

    // An excepted object is admitted; the same object under another name is not.
    let out = kubectl(
        cluster,
        &["apply", "-f", "-"],
        Some(&pod("excepted", "hostPID: true", DIGEST)),
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let out = kubectl(
        cluster,
        &["apply", "-f", "-"],
        Some(&pod("not-excepted", "hostPID: true", DIGEST)),
    );
    let (_, err) = text(&out);
    assert!(!out.status.success() && err.contains("host-pid"), "{err}");

    // A server-side dry-run apply is judged (denied) but not recorded.
    let dry = pod("dry", "hostPID: true", DIGEST);
    let out = kubectl(
        cluster,
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&dry),
    );
    let (_, err) = text(&out);
    assert!(!out.status.success() && err.contains("host-pid"), "{err}");
    let out = kubectl(
        cluster,
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&pod("dry-ok", "", DIGEST)),
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(!exists(cluster, "dry-ok"));

    // What was judged: every request answered, nothing unjudged; the audit lines say which
    // were dry runs, the store holds only the others.
    assert!(hook.metric("kspm_admission_requests_total{outcome=\"denied\"}") >= 3.0);
    assert!(hook.metric("kspm_admission_requests_total{outcome=\"warned\"}") >= 1.0);
    for reason in ["timeout", "internal", "unreadable_object", "bad_request"] {
        let series = format!("kspm_admission_unjudged_total{{reason=\"{reason}\"}}");
        assert!(hook.metric(&series) < 1.0, "{series}");
    }
    assert!(hook.metric("kspm_admission_dry_run_requests_total") >= 2.0);
    let lines = hook.audit_lines();
    let dry_line = lines
        .iter()
        .find(|l| l["name"] == "dry")
        .expect("an audit line for the dry run");
    assert_eq!(dry_line["dry_run"], true);
    assert_eq!(dry_line["decision"], "denied");
    assert_eq!(dry_line["findings"][0]["rule"], "PS001");
    let denied = lines
        .iter()
        .find(|l| l["name"] == "privileged")
        .expect("an audit line for the privileged pod");
    assert_eq!(denied["user"], "kspm-admin");

    // The serving pair rotates on disk (a new CA, too): the webhook serves it without a restart,
    // and the API server, trusting only the new CA, reaches it.
    let rotated = webhook::certs(dir.path());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while hook.metric("kspm_admission_certificate_reloads_total") < 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the new pair was not loaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    register(cluster, "kspm-admission-a", hook.port, &rotated.ca_pem);
    let out = kubectl(
        cluster,
        &["apply", "-f", "-"],
        Some(&pod("after-rotation", "hostPID: true", DIGEST)),
    );
    let (_, err) = text(&out);
    assert!(!out.status.success() && err.contains("host-pid"), "{err}");

    // Stopped, with `failurePolicy: Ignore`: objects are admitted, and the API server counts
    // the calls that failed open (the webhook cannot count what never reached it).
    hook.stop();
    let records = kspm_store::block_on(async {
        let store = kspm_store::Store::open(&kspm_store::StoreUrl::parse(&store).unwrap())
            .await
            .unwrap();
        store.admissions("test").await.unwrap()
    });
    assert!(
        records
            .iter()
            .any(|r| r.name == "privileged" && r.decision == "denied")
    );
    assert!(
        records
            .iter()
            .any(|r| r.name == "warned" && r.decision == "warned")
    );
    assert!(
        !records
            .iter()
            .any(|r| r.name == "dry" || r.name == "dry-ok"),
        "dry runs were recorded: {records:?}"
    );
    let before = fail_open_count(cluster, "kspm-admission-a.kspm.io");
    let out = kubectl(
        cluster,
        &["apply", "-f", "-"],
        Some(&pod("while-down", "hostPID: true", DIGEST)),
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(exists(cluster, "while-down"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        fail_open_count(cluster, "kspm-admission-a.kspm.io") > before,
        "the API server did not count a fail-open call"
    );
    kubectl(
        cluster,
        &[
            "delete",
            "validatingwebhookconfiguration",
            "kspm-admission-a",
        ],
        None,
    );
}

/// The deploy/ manifests are accepted by a real API server (server-side dry run), and kspm
/// loads the pair scripts/admission-certs makes with openssl.
#[test]
fn the_deploy_manifests_and_the_certificate_script_work() {
    let Some(cluster) = TestCluster::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out =
        std::process::Command::new(kspm_testcluster::repo_root().join("scripts/admission-certs"))
            .arg(dir.path().join("certs"))
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let certs = webhook::Certs {
        ca_pem: std::fs::read_to_string(dir.path().join("certs/ca.crt")).unwrap(),
        cert: dir.path().join("certs/tls.crt"),
        key: dir.path().join("certs/tls.key"),
    };
    let hook = Webhook::start(dir.path(), &certs, &[]);
    assert!(hook.metric("kspm_admission_ready") > 0.5);
    let generated = std::fs::read_to_string(dir.path().join("certs/webhook.yaml")).unwrap();
    assert!(!generated.contains("caBundle: \"\""));
    let _ = kubectl(cluster, &["create", "namespace", "kspm"], None);
    for file in [
        dir.path().join("certs/webhook.yaml"),
        dir.path().join("certs/secret.yaml"),
    ] {
        let out = kubectl(
            cluster,
            &["apply", "--dry-run=server", "-f", file.to_str().unwrap()],
            None,
        );
        assert!(out.status.success(), "{}: {}", file.display(), text(&out).1);
    }
}
