//! `kspm scan --cluster --cluster-policies` against a real kube-apiserver + etcd
//! (scripts/test-cluster): the admission policies installed in the cluster are read and
//! evaluated on what already runs there; kspm's ValidatingAdmissionPolicy semantics agree with
//! the server's own admission chain; Gatekeeper constraints are read through their CRDs; and the
//! least-privilege role of deploy/ is enough to read them.
#![cfg(all(feature = "cluster", feature = "policies"))]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use kspm_testcluster::TestCluster;
use serde_json::Value;
use support::{json, repo_root, scan_live, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/live_policies")
        .join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shared cluster, with the least-privilege role of deploy/ bound to user `kspm-scanner`,
/// and a lock: the tests install cluster-wide policies, so they run one at a time.
fn cluster() -> Option<(&'static TestCluster, MutexGuard<'static, ()>)> {
    static SERIAL: Mutex<()> = Mutex::new(());
    static RBAC: Once = Once::new();
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let c = TestCluster::shared()?;
    RBAC.call_once(|| {
        c.apply(&read(&repo_root().join("deploy/kspm-scanner-rbac.yaml")));
        c.apply(
            "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-scanner-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-scanner}
subjects:
- {kind: User, name: kspm-scanner, apiGroup: rbac.authorization.k8s.io}
",
        );
        // Before any test installs a policy or Gatekeeper's CRDs: nothing to read is no error.
        let out = scan_live(&c.kubeconfig, &["--cluster-policies", "-f", "json"]);
        let report = json(&out);
        assert_eq!(report["summary"]["partial"], false, "{}", stderr(&out));
        assert_eq!(report["errors"], serde_json::json!([]), "{}", stderr(&out));
    });
    Some((c, guard))
}

/// The objects of audit-objects.yaml, then (only then) the Audit-mode policy that judges them.
fn install_audit_policy(c: &TestCluster) {
    static DONE: Once = Once::new();
    DONE.call_once(|| {
        c.apply(&read(&fixture("audit-objects.yaml")));
        c.apply(&read(&fixture("audit-policy.yaml")));
    });
}

/// Gatekeeper's CRDs (no controller runs here), the required-labels template and constraint of
/// examples/policies/gatekeeper/, and namespaces with and without a valid `owner` label.
fn install_gatekeeper(c: &TestCluster) {
    static DONE: Once = Once::new();
    DONE.call_once(|| {
        c.apply(&read(&fixture("gatekeeper-crds.yaml")));
        for crd in [
            "crd/constrainttemplates.templates.gatekeeper.sh",
            "crd/k8srequiredlabels.constraints.gatekeeper.sh",
        ] {
            c.kubectl(&["wait", "--for=condition=Established", crd, "--timeout=60s"]);
        }
        let examples = repo_root().join("examples/policies/gatekeeper");
        let first = |file: &str| -> String {
            let text = read(&examples.join(file));
            let doc = text.split("\n---\n").next().unwrap().to_owned();
            assert!(doc.contains("K8sRequiredLabels"), "{file}: {doc}");
            doc
        };
        c.apply(&first("templates.yaml"));
        c.apply(&first("constraints.yaml"));
        c.apply(
            "apiVersion: v1
kind: Namespace
metadata: {name: kspm-gk-good, labels: {owner: team-a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: kspm-gk-missing}
---
apiVersion: v1
kind: Namespace
metadata: {name: kspm-gk-bad-value, labels: {owner: bob}}
",
        );
    });
}

/// (kind, namespace, name) of the findings of rules whose code starts with `prefix`.
fn reported(report: &Value, prefix: &str) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"].as_str().unwrap_or("").starts_with(prefix))
        .map(|f| {
            let r = &f["resource"];
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (s(&r["kind"]), s(&r["namespace"]), s(&r["name"]))
        })
        .collect()
}

/// A live scan with `args`, repeated for up to 20 s until a rule whose code starts with `prefix`
/// reports something: discovery may lag a just-established CRD.
fn scan_until_reported(c: &TestCluster, args: &[&str], prefix: &str) -> Value {
    let started = Instant::now();
    loop {
        let report = json(&scan_live(&c.kubeconfig, args));
        if !reported(&report, prefix).is_empty() || started.elapsed() > Duration::from_secs(20) {
            return report;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn key(kind: &str, ns: &str, name: &str) -> (String, String, String) {
    (kind.to_owned(), ns.to_owned(), name.to_owned())
}

#[test]
fn installed_policies_judge_what_already_runs() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    install_audit_policy(c);
    let out = scan_live(&c.kubeconfig, &["--cluster-policies", "-f", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        report["summary"]["partial"], false,
        "{:#}",
        report["errors"]
    );
    let want: BTreeSet<_> = [
        key("Deployment", "kspm-vap-audit", "too-many"),
        key("Pod", "kspm-vap-audit", "latest"),
    ]
    .into();
    assert_eq!(reported(&report, "vap:kspm-audit-caps"), want);
    let findings = report["findings"].as_array().unwrap();
    let on = |name: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f["rule"] == "vap:kspm-audit-caps" && f["resource"]["name"] == name)
            .collect()
    };
    // The params ConfigMap (another namespace) was read: its value is in the message.
    let too_many = on("too-many");
    assert_eq!(too_many.len(), 1, "{too_many:#?}");
    assert_eq!(
        too_many[0]["message"], "replicas 5 exceed the cap of 3",
        "{:#}",
        too_many[0]
    );
    // An Audit binding: low.
    assert_eq!(too_many[0]["severity"], "low");
    assert_eq!(on("latest")[0]["message"], "an image is tagged :latest");
    // Evaluated without trouble, in the memory-bounded worker processes (the default) that
    // load the cluster's policies again from what the scan hands them.
    let errors = report["errors"].to_string();
    for word in ["kspm-audit-caps", "worker", "could not be evaluated"] {
        assert!(!errors.contains(word), "{word}: {errors}");
    }

    // Without the flag, the cluster's policies are not evaluated.
    let plain = json(&scan_live(&c.kubeconfig, &["-f", "json"]));
    assert!(reported(&plain, "vap:").is_empty());
    assert!(reported(&plain, "gk:").is_empty());

    // Policies hold for the whole cluster: -n limits the objects judged, not the policies (nor
    // their params, in a namespace outside -n).
    let scoped = json(&scan_live(
        &c.kubeconfig,
        &["--cluster-policies", "-n", "kspm-vap-audit", "-f", "json"],
    ));
    assert_eq!(reported(&scoped, "vap:kspm-audit-caps"), want);

    // The policy kinds are listed page by page like every other kind.
    let paged = json(&scan_live(
        &c.kubeconfig,
        &[
            "--cluster-policies",
            "-n",
            "kspm-vap-audit",
            "--page-size",
            "1",
            "-f",
            "json",
        ],
    ));
    assert_eq!(reported(&paged, "vap:kspm-audit-caps"), want);
    assert!(reported(&paged, "vap:kspm-audit-names").is_empty());
    let continued = |resource: &str| {
        c.audit_log().lines().any(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|e| {
                let uri = e["requestURI"].as_str().unwrap_or("");
                e["objectRef"]["resource"] == resource
                    && uri.contains("limit=1")
                    && uri.contains("continue=")
            })
        })
    };
    assert!(continued("validatingadmissionpolicies"));
    assert!(continued("validatingadmissionpolicybindings"));

    // The params were asked for by name, in their namespace only.
    let uris: Vec<String> = c
        .audit_log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["objectRef"]["resource"] == "configmaps")
        .filter_map(|e| e["requestURI"].as_str().map(str::to_owned))
        .collect();
    assert!(
        uris.iter().any(|u| {
            u.starts_with("/api/v1/namespaces/kspm-vap-params/configmaps?")
                && u.contains("fieldSelector=metadata.name%3Dreplica-cap&limit=500")
        }),
        "no narrow params read among {uris:#?}"
    );

    // The policy's rule page names where it came from (SARIF help, like `kspm explain`).
    let sarif = json(&scan_live(
        &c.kubeconfig,
        &["--cluster-policies", "-n", "kspm-vap-audit", "-f", "sarif"],
    ));
    let rule = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "vap:kspm-audit-caps")
        .expect("the policy's rule in SARIF")
        .clone();
    assert!(
        rule["help"]["text"]
            .as_str()
            .unwrap()
            .contains("`cluster:ValidatingAdmissionPolicy/kspm-audit-caps`"),
        "{rule:#}"
    );
}

/// `kubectl ARGS` as the admin with `stdin`, not failing the test when kubectl fails.
fn kubectl_try(c: &TestCluster, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(kspm_testcluster::testbin().join("kubectl"))
        .args(args)
        .env("KUBECONFIG", &c.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The server's denial of creating `manifest` (`kubectl apply --dry-run=server`), `None` when it
/// allows it. Anything but an allowance or the policy's denial fails the test.
fn server_denial(c: &TestCluster, manifest: &str, what: &str) -> Option<String> {
    let out = kubectl_try(c, &["apply", "--dry-run=server", "-f", "-"], manifest);
    if out.status.success() {
        return None;
    }
    let err = stderr(&out);
    assert!(
        err.contains("ValidatingAdmissionPolicy 'kspm-fidelity'") && err.contains("denied request"),
        "{what}: kubectl failed for another reason than the policy:\n{err}"
    );
    Some(err)
}

#[test]
fn kspm_reports_exactly_what_the_servers_admission_denies() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    let dir = fixture("fidelity");
    c.apply(&read(&dir.join("namespaces.yaml")));
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: kspm-vap-params}\n");
    c.apply(&read(&dir.join("policy.yaml")));

    let candidates = dir.join("candidates");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&candidates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let name_of = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();

    // The policy is enforced a moment after it is created: wait for a known-bad candidate.
    let known_bad = read(&candidates.join("deploy-many.yaml"));
    let started = Instant::now();
    while server_denial(c, &known_bad, "deploy-many").is_none() {
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "the policy was not enforced within 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let mut denials = std::collections::BTreeMap::new();
    for f in &files {
        if let Some(why) = server_denial(c, &read(f), &name_of(f)) {
            denials.insert(name_of(f), why);
        }
    }
    let denied: BTreeSet<String> = denials.keys().cloned().collect();

    // The same manifests as files, with the same policy, binding and params.
    let out = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["scan", "-f", "json", "--policy"])
        .arg(dir.join("policy.yaml"))
        .arg(dir.join("namespaces.yaml"))
        .arg(&candidates)
        .output()
        .unwrap();
    let report = json(&out);
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        report["errors"]
    );
    let kspm_says: BTreeSet<String> = reported(&report, "vap:kspm-fidelity")
        .into_iter()
        .map(|(_, _, name)| name)
        .collect();
    assert_eq!(
        kspm_says, denied,
        "kspm (left) and the API server's admission (right) disagree"
    );
    assert!(
        denied.len() >= 4 && files.len() - denied.len() >= 4,
        "both sides of the policy are exercised: {denied:?} of {}",
        files.len()
    );
    // The server's message is one of kspm's for that object (CEL messageExpression included).
    for (name, why) in &denials {
        let messages: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "vap:kspm-fidelity" && f["resource"]["name"] == **name)
            .filter_map(|f| f["message"].as_str())
            .collect();
        assert!(
            messages.iter().any(|m| why.contains(m)),
            "{name}: the server said {why}, kspm {messages:?}"
        );
    }
    // Every candidate was judged by both: nothing failed for another reason.
    assert_eq!(
        report["summary"]["resources"].as_u64().unwrap() as usize,
        files.len() + 2
    );
}

#[test]
fn gatekeeper_constraints_in_the_cluster_are_evaluated() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    install_gatekeeper(c);
    // Which namespaces the constraint must report: no `owner` label matching ^team-[a-z]+$,
    // kube-* excluded.
    let namespaces: Value =
        serde_json::from_slice(&c.kubectl(&["get", "namespaces", "-o", "json"]).stdout).unwrap();
    let want: BTreeSet<_> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|ns| {
            let name = ns["metadata"]["name"].as_str().unwrap();
            let owner = ns["metadata"]["labels"]["owner"].as_str().unwrap_or("");
            let valid = owner
                .strip_prefix("team-")
                .is_some_and(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase()));
            (!name.starts_with("kube-") && !valid).then(|| key("Namespace", "", name))
        })
        .collect();
    assert!(want.contains(&key("Namespace", "", "kspm-gk-missing")));
    assert!(want.contains(&key("Namespace", "", "kspm-gk-bad-value")));
    assert!(!want.contains(&key("Namespace", "", "kspm-gk-good")));

    // Discovery may lag the constraint CRD by a moment.
    let report = scan_until_reported(c, &["--cluster-policies", "-f", "json"], "gk:");
    assert_eq!(
        report["summary"]["partial"], false,
        "{:#}",
        report["errors"]
    );
    assert_eq!(
        reported(&report, "gk:K8sRequiredLabels:namespaces-have-owner"),
        want
    );
    let bad_value = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "gk:K8sRequiredLabels:namespaces-have-owner"
                && f["resource"]["name"] == "kspm-gk-bad-value"
        })
        .unwrap();
    assert_eq!(
        bad_value["message"],
        "label owner=bob does not match ^team-[a-z]+$"
    );
}

#[test]
fn the_least_privilege_role_reads_the_policies_and_a_role_without_them_is_partial() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    install_audit_policy(c);
    install_gatekeeper(c);
    let admin = scan_live(&c.kubeconfig, &["--cluster-policies", "-f", "json"]);
    let scanner = c.user("kspm-scanner", &[]);
    let least = scan_live(&scanner, &["--cluster-policies", "-f", "json"]);
    let (admin, least_report) = (json(&admin), json(&least));
    assert_eq!(
        least_report["summary"]["partial"], false,
        "{:#}",
        least_report["errors"]
    );
    assert_eq!(least.status.code(), Some(1), "{}", stderr(&least));
    for prefix in ["vap:kspm-audit-caps", "gk:K8sRequiredLabels"] {
        let seen = reported(&least_report, prefix);
        assert!(!seen.is_empty(), "{prefix}: nothing reported");
        assert_eq!(seen, reported(&admin, prefix), "{prefix}");
    }
    assert_eq!(reported(&least_report, ""), reported(&admin, ""));

    // The same role without the Gatekeeper constraints: the scan says what it could not read.
    let rbac = read(&repo_root().join("deploy/kspm-scanner-rbac.yaml"));
    let role = rbac
        .split("\n---\n")
        .find(|d| d.contains("kind: ClusterRole\n"))
        .unwrap();
    let constraints_rule = "- apiGroups: [\"constraints.gatekeeper.sh\"]\n  resources: [\"*\"]\n  verbs: [\"list\", \"watch\"]\n";
    assert!(role.contains(constraints_rule), "{role}");
    let partial_role = role.replace(constraints_rule, "").replace(
        "name: kspm-scanner\n",
        "name: kspm-scanner-no-constraints\n",
    );
    c.apply(&partial_role);
    c.apply(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kspm-scanner-no-constraints}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kspm-scanner-no-constraints}
subjects:
- {kind: User, name: kspm-no-constraints, apiGroup: rbac.authorization.k8s.io}
",
    );
    let user = c.user("kspm-no-constraints", &[]);
    // Without --cluster-policies that role reads everything it needs.
    let plain = scan_live(&user, &["-f", "json"]);
    assert_eq!(
        json(&plain)["summary"]["partial"],
        false,
        "{}",
        stderr(&plain)
    );
    let out = scan_live(&user, &["--cluster-policies", "-f", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["summary"]["partial"], true);
    let errors = report["errors"].to_string();
    assert!(
        errors
            .contains("could not read k8srequiredlabels.constraints.gatekeeper.sh: 403 Forbidden")
            && errors.contains("the policies in them are not evaluated"),
        "{errors}"
    );
    // What it could read is still evaluated.
    assert_eq!(
        reported(&report, "vap:kspm-audit-caps"),
        reported(&admin, "vap:kspm-audit-caps")
    );
    // And the table names it too.
    let table = scan_live(&user, &["--cluster-policies"]);
    assert_eq!(table.status.code(), Some(4));
    assert!(
        stdout(&table).contains("could not read k8srequiredlabels.constraints.gatekeeper.sh"),
        "{}",
        stdout(&table)
    );
}

#[test]
fn policy_files_and_cluster_policies_are_one_set() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    install_audit_policy(c);
    let dir = tempfile::tempdir().unwrap();
    // Before switching the cluster's Audit binding to Deny: a Deny binding in a file for the
    // policy installed in the cluster.
    let deny = dir.path().join("deny-binding.yaml");
    std::fs::write(
        &deny,
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: kspm-audit-caps-deny}
spec:
  policyName: kspm-audit-caps
  validationActions: [Deny]
  paramRef: {name: replica-cap, namespace: kspm-vap-params, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector:
      matchLabels: {kspm-test/audit: \"on\"}
",
    )
    .unwrap();
    let deny_arg = deny.display().to_string();
    let out = scan_live(
        &c.kubeconfig,
        &[
            "--cluster-policies",
            "--policy",
            &deny_arg,
            "-n",
            "kspm-vap-audit",
            "-f",
            "json",
        ],
    );
    let report = json(&out);
    let severities: BTreeSet<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["rule"]
                .as_str()
                .unwrap()
                .starts_with("vap:kspm-audit-caps")
        })
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (s(&f["rule"]), s(&f["resource"]["name"]), s(&f["severity"]))
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("vap:kspm-audit-caps:kspm-audit-caps", "too-many", "low"),
        ("vap:kspm-audit-caps:kspm-audit-caps", "latest", "low"),
        (
            "vap:kspm-audit-caps:kspm-audit-caps-deny",
            "too-many",
            "high",
        ),
        ("vap:kspm-audit-caps:kspm-audit-caps-deny", "latest", "high"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(severities, want, "{}", stderr(&out));

    // The policy both in a file and in the cluster: the file's, once, and a warning.
    let policy = fixture("audit-policy.yaml").display().to_string();
    let out = scan_live(
        &c.kubeconfig,
        &[
            "--cluster-policies",
            "--policy",
            &policy,
            "-n",
            "kspm-vap-audit",
            "-f",
            "json",
        ],
    );
    let report = json(&out);
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "vap:kspm-audit-caps")
        .collect();
    assert_eq!(findings.len(), 2, "not doubled: {findings:#?}");
    let errors = report["errors"].to_string();
    for kind in [
        "ValidatingAdmissionPolicy kspm-audit-caps",
        "ValidatingAdmissionPolicyBinding kspm-audit-caps",
        "ConfigMap replica-cap",
    ] {
        assert!(
            errors.contains(&format!(
                "{kind} is installed in the cluster and also given in {policy}"
            )),
            "{kind}: {errors}"
        );
    }

    // `cluster_policies: true` in kspm.yaml does what the flag does.
    let config = dir.path().join("kspm.yaml");
    std::fs::write(&config, "cluster_policies: true\n").unwrap();
    let config_arg = config.display().to_string();
    let by_config = json(&scan_live(
        &c.kubeconfig,
        &[
            "--config",
            &config_arg,
            "-n",
            "kspm-vap-audit",
            "-f",
            "json",
        ],
    ));
    assert_eq!(
        reported(&by_config, "vap:kspm-audit-caps"),
        [
            key("Deployment", "kspm-vap-audit", "too-many"),
            key("Pod", "kspm-vap-audit", "latest"),
        ]
        .into()
    );
}

#[test]
fn secret_params_are_never_read() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: kspm-vap-secret}
---
apiVersion: v1
kind: Secret
metadata: {name: kspm-param-secret, namespace: kspm-vap-secret}
stringData: {token: never-read-4d3c2b1a}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: kspm-secret-params}
spec:
  paramKind: {apiVersion: v1, kind: Secret}
  matchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  validations:
    - expression: \"false\"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: kspm-secret-params}
spec:
  policyName: kspm-secret-params
  validationActions: [Audit]
  paramRef: {name: kspm-param-secret, namespace: kspm-vap-secret, parameterNotFoundAction: Deny}
",
    );
    let before = c.audit_log().lines().count();
    let out = scan_live(&c.kubeconfig, &["--cluster-policies", "-f", "json"]);
    let report = json(&out);
    assert_eq!(report["summary"]["partial"], false);
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("cluster:ValidatingAdmissionPolicy/kspm-secret-params")
            && errors.contains(
                "takes its params from Secrets (paramKind v1 Secret): kspm does not read Secret data, so it is not evaluated (bindings: kspm-secret-params)"
            ),
        "{errors}"
    );
    // Not evaluated: parameterNotFoundAction Deny would otherwise report every ConfigMap.
    assert!(reported(&report, "vap:kspm-secret-params").is_empty());
    assert!(!stdout(&out).contains("never-read-4d3c2b1a"));
    // The scan's only requests on Secrets are its metadata lists everywhere: none for the
    // params, by name or in their namespace.
    let mut lists = 0;
    for line in c.audit_log().lines().skip(before) {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["objectRef"]["resource"] == "secrets" && event["user"]["username"] == "kspm-admin"
        {
            let uri = event["requestURI"].as_str().unwrap();
            assert!(
                !uri.contains("kspm-param-secret") && !uri.contains("kspm-vap-secret"),
                "{uri}"
            );
            assert_eq!(event["verb"], "list", "{uri}");
            lists += 1;
        }
    }
    assert!(
        lists > 0,
        "the scan's own Secret lists are in the audit log"
    );
}

#[test]
fn kyverno_policies_in_the_cluster_are_evaluated() {
    let Some((c, _serial)) = cluster() else {
        return;
    };
    c.apply(&read(&fixture("kyverno-crds.yaml")));
    for crd in [
        "crd/clusterpolicies.kyverno.io",
        "crd/policies.kyverno.io",
        "crd/validatingpolicies.policies.kyverno.io",
    ] {
        c.kubectl(&["wait", "--for=condition=Established", crd, "--timeout=60s"]);
    }
    c.apply(
        "apiVersion: v1
kind: Namespace
metadata: {name: kspm-kyverno}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: on-host, namespace: kspm-kyverno}
spec:
  selector: {matchLabels: {app: on-host}}
  template:
    metadata: {labels: {app: on-host, team: a}}
    spec:
      hostNetwork: true
      containers: [{name: a, image: \"registry.example/a:1.0\"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: isolated, namespace: kspm-kyverno}
spec:
  selector: {matchLabels: {app: isolated}}
  template:
    metadata: {labels: {app: isolated, team: a}}
    spec:
      containers: [{name: a, image: \"registry.example/a:1.0\"}]
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: kspm-kyverno}
spec:
  externalIPs: [203.0.113.7]
  ports: [{port: 80}]
",
    );
    // The example policies of examples/policies/kyverno/, installed as they are.
    c.apply(&read(
        &repo_root().join("examples/policies/kyverno/host-namespaces.yaml"),
    ));
    // And a Kyverno ValidatingPolicy (a VAP with its own validationActions).
    c.apply(
        "apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: services-have-one-port}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [services]}
  validations:
  - expression: size(object.spec.ports) == 1 && has(object.spec.ports[0].name)
    message: a Service has one named port
",
    );
    let report = scan_until_reported(
        c,
        &["--cluster-policies", "-n", "kspm-kyverno", "-f", "json"],
        "kyverno:",
    );
    assert_eq!(
        report["summary"]["partial"], false,
        "{:#}",
        report["errors"]
    );
    assert_eq!(
        reported(&report, "kyverno:no-host-namespaces"),
        BTreeSet::from([key("Deployment", "kspm-kyverno", "on-host")])
    );
    assert_eq!(
        reported(&report, "kyverno:workload-hygiene:services-not-external"),
        BTreeSet::from([key("Service", "kspm-kyverno", "external")])
    );
    assert_eq!(
        reported(&report, "kyverno:services-have-one-port"),
        BTreeSet::from([key("Service", "kspm-kyverno", "external")])
    );
    // Pods of those Deployments are judged on them (owner deduplication), never twice.
    assert!(reported(&report, "kyverno:workload-hygiene:team-label").is_empty());
    // The least-privilege role of deploy/ reads them too.
    let scanner = c.user("kspm-scanner", &[]);
    let out = scan_live(
        &scanner,
        &["--cluster-policies", "-n", "kspm-kyverno", "-f", "json"],
    );
    let limited = json(&out);
    assert_eq!(
        limited["summary"]["partial"], false,
        "{:#}",
        limited["errors"]
    );
    assert_eq!(
        reported(&limited, "kyverno:"),
        reported(&report, "kyverno:")
    );
}
