//! End-to-end tests of the compliance features: `kspm frameworks`, `rules --framework`,
//! `scan --framework` in every format, risk ordering, and `kspm node` on node trees built in a
//! temporary directory (real files with real modes).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;
use support::{kspm, repo_root, stdout};

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn control<'a>(v: &'a serde_json::Value, fw: &str, id: &str) -> &'a serde_json::Value {
    v["compliance"][fw]["controls"]
        .as_array()
        .unwrap_or_else(|| panic!("no compliance.{fw}: {v}"))
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no control {fw} {id}"))
}

#[test]
fn frameworks_lists_every_catalogue_with_counts() {
    let out = kspm(&["frameworks", "--format", "json"], &repo_root());
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    for k in [
        "cis",
        "pss",
        "nsa",
        "mitre",
        "soc2",
        "pci-dss",
        "hipaa",
        "gdpr",
        "iso27001",
        "nist-800-53",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let cis = &v[0];
    assert_eq!(cis["version"], "1.10.0");
    let counts = &cis["counts"];
    assert_eq!(
        counts["controls"].as_u64().unwrap(),
        counts["automated"].as_u64().unwrap()
            + counts["manual"].as_u64().unwrap()
            + counts["not_applicable"].as_u64().unwrap()
    );
    // Every control is mapped to rules, or says what to check or why it does not apply.
    for fw in v.as_array().unwrap() {
        for c in fw["controls"].as_array().unwrap() {
            let mapped = !c["rules"].as_array().unwrap().is_empty();
            let noted = c["note"].as_str().is_some_and(|n| !n.is_empty());
            assert!(mapped ^ noted, "{} {}: {c}", fw["key"], c["id"]);
        }
    }
    let table = stdout(&kspm(&["frameworks"], &repo_root()));
    assert!(
        table.contains("CIS Kubernetes Benchmark") && table.contains("1.10.0"),
        "{table}"
    );
}

#[test]
fn rules_filtered_by_framework() {
    let out = kspm(
        &["rules", "--framework", "pci", "--format", "json"],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let list = v.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(
        list.iter()
            .all(|r| !r["frameworks"]["pci-dss"].as_array().unwrap().is_empty())
    );
    let all = json(&kspm(&["rules", "--format", "json"], &repo_root()));
    assert!(list.len() < all.as_array().unwrap().len());
    let out = kspm(&["rules", "--framework", "nope"], &repo_root());
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown framework `nope`"));
}

#[test]
fn scan_adds_a_compliance_section_with_scores_per_framework_and_namespace() {
    let out = kspm(
        &[
            "scan",
            "examples",
            "--framework",
            "cis,soc2",
            "--framework",
            "pss",
            "--format",
            "json",
        ],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let cis = &v["compliance"]["cis"];
    assert_eq!(cis["version"], "1.10.0");
    // Privileged pods in the examples fail 5.2.2, and the finding is linked.
    let c = control(&v, "cis", "5.2.2");
    assert_eq!(c["status"], "fail");
    let idx = c["findings"][0].as_u64().unwrap() as usize;
    assert_eq!(v["findings"][idx]["rule"], "PS004");
    // A manual control says what to check; an item about the API server is judged from the
    // shipped static pod.
    let manual = control(&v, "cis", "3.2.2");
    assert_eq!(manual["status"], "manual");
    assert!(manual["reason"].as_str().unwrap().contains("audit"));
    // 3.2.1 is judged on the flag naming the audit policy: the shipped API server has none.
    assert_eq!(control(&v, "cis", "3.2.1")["status"], "fail");
    // RBAC items are judged by the RBAC rules.
    assert_ne!(control(&v, "cis", "5.1.1")["status"], "manual");
    assert_eq!(control(&v, "cis", "1.2.16")["status"], "fail");
    assert_eq!(control(&v, "cis", "1.2.2")["status"], "pass");
    // Scores: pass / (pass + fail), overall and per namespace.
    let (pass, fail) = (cis["pass"].as_f64().unwrap(), cis["fail"].as_f64().unwrap());
    let score = cis["score"].as_f64().unwrap();
    assert!((score - (pass * 1000.0 / (pass + fail)).round() / 10.0).abs() < 1e-9);
    assert!(
        cis["namespaces"]["shop"]["score"].is_number(),
        "{}",
        cis["namespaces"]
    );
    assert!(
        v["compliance"]["soc2"]["controls"]
            .as_array()
            .unwrap()
            .len()
            >= 10
    );
    assert!(v["compliance"]["pss"].is_object());
    // Findings carry a risk and come most urgent first.
    let risks: Vec<u64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["risk"]["score"].as_u64().unwrap())
        .collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
    let first = &v["findings"][0];
    assert!(
        first["risk"]["factors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["factor"] == "exposed"),
        "{first}"
    );
    // A table-driven finding names only the benchmark item it fails.
    let audit = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("--audit-log-path"))
        .unwrap();
    assert_eq!(audit["frameworks"]["cis"], serde_json::json!(["1.2.16"]));
}

#[test]
fn unseen_control_plane_is_not_applicable_never_failed() {
    // Workload manifests only, as on a managed cluster: no API server, no kubelet.
    let out = kspm(
        &[
            "scan",
            "examples/insecure-deployment.yaml",
            "--framework",
            "cis",
            "--format",
            "json",
        ],
        &repo_root(),
    );
    let v = json(&out);
    for c in v["compliance"]["cis"]["controls"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        if ["1.", "2.", "4."].iter().any(|s| id.starts_with(s)) {
            assert_ne!(c["status"], "fail", "{c}");
        }
    }
    let c = control(&v, "cis", "1.2.16");
    assert_eq!(c["status"], "not-applicable");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("managed control planes"),
        "{c}"
    );
}

#[test]
fn every_format_carries_the_compliance_section() {
    let root = repo_root();
    let args = ["scan", "examples", "--framework", "cis", "--format"];
    let table = stdout(&kspm(&[&args[..], &["table"]].concat(), &root));
    assert!(
        table.contains("COMPLIANCE") && table.contains("CIS Kubernetes Benchmark 1.10.0"),
        "{table}"
    );
    assert!(table.contains("TOP RISKS"), "{table}");
    let junit = stdout(&kspm(&[&args[..], &["junit"]].concat(), &root));
    assert!(junit.contains("CIS Kubernetes Benchmark 1.10.0"), "{junit}");
    assert!(junit.contains("compliance.cis"), "{junit}");
    assert!(
        junit.contains("<skipped"),
        "manual controls are skipped: {junit}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&stdout(&kspm(&[&args[..], &["sarif"]].concat(), &root))).unwrap();
    assert!(sarif["runs"][0]["properties"]["compliance"]["cis"]["score"].is_number());
    assert!(sarif["runs"][0]["results"][0]["properties"]["risk"]["score"].is_number());
    let md = stdout(&kspm(&[&args[..], &["markdown"]].concat(), &root));
    assert!(
        md.contains("### Compliance") && md.contains("### Top risks"),
        "{md}"
    );
    assert!(md.contains("| CIS Kubernetes Benchmark | 1.10.0 |"), "{md}");
    assert!(
        md.contains("scores by namespace") && md.contains("| shop |"),
        "{md}"
    );
}

#[test]
fn sarif_with_compliance_is_still_valid_sarif() {
    let out = kspm(
        &[
            "scan",
            "examples",
            "--format",
            "sarif",
            "--framework",
            "cis,nist",
        ],
        &repo_root(),
    );
    let v = json(&out);
    let schema: serde_json::Value = serde_json::from_str(include_str!(
        "../../kspm_report/tests/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn write(root: &Path, rel: &str, text: &str, mode: u32) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

const APISERVER: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.31.0\n    command: [kube-apiserver, \"--authorization-mode=Node,RBAC\", --profiling=true]\n";
const ETCD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd, namespace: kube-system}\nspec:\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.15-0\n    command: [etcd, --data-dir=/var/lib/etcd, --cert-file=/a, --key-file=/b, --client-cert-auth=true, --peer-cert-file=/c, --peer-key-file=/d, --peer-client-cert-auth=true]\n";
const KUBELET: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous: {enabled: false}\n  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}\nauthorization: {mode: Webhook}\n";

#[test]
fn node_checks_files_flags_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644);
    write(root, "etc/group", "root:x:0:\n", 0o644);
    let apiserver = write(
        root,
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        APISERVER,
        0o644,
    );
    write(root, "etc/kubernetes/manifests/etcd.yaml", ETCD, 0o600);
    std::fs::create_dir_all(root.join("var/lib/etcd")).unwrap();
    std::fs::set_permissions(
        root.join("var/lib/etcd"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    write(root, "etc/kubernetes/admin.conf", "kind: Config\n", 0o600);
    // A broken manifest is reported with its place; the rest is still checked.
    write(
        root,
        "etc/kubernetes/manifests/broken.yaml",
        "apiVersion: v1\nkind: [Pod\n",
        0o600,
    );
    write(root, "etc/kubernetes/pki/ca.crt", "cert\n", 0o600);
    write(root, "etc/kubernetes/pki/ca.key", "key\n", 0o644);
    write(root, "var/lib/kubelet/config.yaml", KUBELET, 0o644);
    // Flags win over the file, as in the kubelet.
    write(
        root,
        "var/lib/kubelet/kubeadm-flags.env",
        "KUBELET_KUBEADM_ARGS=\"--anonymous-auth=true --read-only-port=10255\"\n",
        0o644,
    );
    let root_str = root.to_str().unwrap();
    let out = kspm(&["node", "--root", root_str, "--format", "json"], root);
    assert_eq!(
        out.status.code(),
        // The unreadable manifest makes the check incomplete: 2 wins over findings.
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let status = |id: &str| {
        control(&v, "cis", id)["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("1.1.1"), "fail"); // kube-apiserver.yaml is 0644
    assert_eq!(status("1.1.7"), "pass"); // etcd.yaml is 0600
    assert_eq!(status("1.1.11"), "pass"); // /var/lib/etcd is 0700
    assert_eq!(status("1.1.13"), "pass"); // admin.conf 0600
    assert_eq!(status("1.1.21"), "fail"); // ca.key 0644
    assert_eq!(status("4.1.9"), "fail"); // config.yaml 0644
    assert_eq!(status("1.2.15"), "fail"); // --profiling=true
    assert_eq!(status("1.2.8"), "pass"); // RBAC
    assert_eq!(status("2.2"), "pass"); // etcd client cert auth
    assert_eq!(status("4.2.1"), "fail"); // --anonymous-auth=true overrides the file
    assert_eq!(status("4.2.4"), "fail"); // --read-only-port=10255
    assert_eq!(status("4.2.3"), "pass"); // client CA from the file
    // Ownership: the test's files belong to whoever runs it.
    let uid = std::fs::metadata(&apiserver).unwrap().uid();
    assert_eq!(status("1.1.2"), if uid == 0 { "pass" } else { "fail" });
    // Not on this node: no controller manager; workload controls are for `kspm scan`.
    let cm = control(&v, "cis", "1.3.2");
    assert_eq!(cm["status"], "not-applicable");
    assert!(
        cm["reason"]
            .as_str()
            .unwrap()
            .contains("kube-controller-manager"),
        "{cm}"
    );
    assert_eq!(control(&v, "cis", "5.2.2")["status"], "not-applicable");
    // The finding points into the real manifest.
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "CP001" && f["message"].as_str().unwrap().contains("--profiling"))
        .unwrap();
    assert!(
        f["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("etc/kubernetes/manifests/kube-apiserver.yaml")
    );
    assert_eq!(f["source"]["line"], 8);
    let perm = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ND003" && f["resource"]["name"] == "/etc/kubernetes/pki/ca.key")
        .unwrap();
    assert_eq!(perm["value"], "0644");
    // A file finding names the file, with no line: the NodeFile text is kspm's, not the user's.
    assert_eq!(perm["source"]["file"], "/etc/kubernetes/pki/ca.key");
    assert!(perm["source"]["line"].is_null(), "{perm}");
    let err = &v["errors"][0];
    assert!(
        err["file"]
            .as_str()
            .unwrap()
            .ends_with("manifests/broken.yaml"),
        "{err}"
    );
    assert!(err["line"].as_u64().is_some(), "{err}");
}

#[test]
fn node_on_k3s_reports_the_control_plane_as_not_applicable() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "etc/rancher/k3s/config.yaml",
        "write-kubeconfig-mode: \"0600\"\n",
        0o600,
    );
    std::fs::create_dir_all(root.join("var/lib/rancher/k3s/agent")).unwrap();
    let out = kspm(
        &["node", "--root", root.to_str().unwrap(), "--format", "json"],
        root,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("k3s"));
    let v = json(&out);
    for c in v["compliance"]["cis"]["controls"].as_array().unwrap() {
        assert_ne!(c["status"], "fail", "{c}");
    }
    let c = control(&v, "cis", "1.2.16");
    assert_eq!(c["status"], "not-applicable");
    assert!(c["reason"].as_str().unwrap().contains("k3s"), "{c}");
    let kubelet = control(&v, "cis", "4.2.1");
    assert!(
        kubelet["reason"]
            .as_str()
            .unwrap()
            .contains("no kubelet configuration"),
        "{kubelet}"
    );
}

#[test]
fn node_with_a_bad_root_is_a_usage_error() {
    let out = kspm(&["node", "--root", "/definitely/not/here"], &repo_root());
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}
