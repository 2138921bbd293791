//! End-to-end tests of custom policies on the command line: `kspm scan --policy`, `policies:`
//! in kspm.yaml, `--strict-policies`, and `kspm policy test`.
#![cfg(feature = "policies")]

mod support;
use support::{kspm, repo_root, stderr, stdout};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: t\nspec:\n  hostNetwork: true\n  containers:\n  - name: a\n    image: nginx:1.27\n";

const POLICY: &str = "# METADATA\n# title: No host network\n# custom:\n#   id: CLI001\n#   severity: high\n#   category: pod-security\n#   frameworks: {nsa: [host-namespaces]}\npackage cli\n\nimport rego.v1\n\ndeny contains {\"msg\": \"pod uses the host network\", \"path\": \"spec.hostNetwork\"} if input.object.spec.hostNetwork\n";

#[test]
fn scan_with_a_policy_reports_it_like_a_rule_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    std::fs::create_dir(dir.path().join("pol")).unwrap();
    std::fs::write(dir.path().join("pol/hostnet.rego"), POLICY).unwrap();
    let out = kspm(
        &[
            "scan", "pod.yaml", "--policy", "pol", "--select", "PS001", "-f", "json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "CLI001")
        .expect("the policy's finding");
    assert_eq!(f["title"], "No host network");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["category"], "pod-security");
    assert_eq!(f["path"], "spec.hostNetwork");
    assert_eq!(f["source"]["line"], 7);
    assert_eq!(f["frameworks"]["nsa"][0], "host-namespaces");

    let sarif = kspm(
        &["scan", "pod.yaml", "--policy", "pol", "-f", "sarif"],
        dir.path(),
    );
    assert!(
        stdout(&sarif).contains("\"id\": \"CLI001\""),
        "{}",
        stdout(&sarif)
    );
    let junit = kspm(
        &["scan", "pod.yaml", "--policy", "pol", "-f", "junit"],
        dir.path(),
    );
    assert!(
        stdout(&junit).contains("CLI001 no-host-network"),
        "{}",
        stdout(&junit)
    );

    // --ignore knows the policy's code, and the config may override its severity.
    let ignored = kspm(
        &[
            "scan", "pod.yaml", "--policy", "pol", "--select", "PS001", "--ignore", "CLI001",
        ],
        dir.path(),
    );
    assert_eq!(ignored.status.code(), Some(0), "{}", stdout(&ignored));
}

#[test]
fn policies_from_kspm_yaml_with_a_severity_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    std::fs::create_dir(dir.path().join("pol")).unwrap();
    std::fs::write(
        dir.path().join("pol/hostnet.rego"),
        POLICY
            .replace("CLI001", "CLI002")
            .replace("No host network", "Host network off"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kspm.yaml"),
        "rules: {select: [PS001], severity: {CLI002: low}}\npolicies: [pol]\nfail_on: medium\n",
    )
    .unwrap();
    let out = kspm(&["scan", "."], dir.path());
    let text = stdout(&out);
    assert!(text.contains("CLI002 host-network-off"), "{text}");
    assert!(
        text.contains("FINDINGS (1)") && text.contains("LOW risk"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn a_broken_policy_is_skipped_or_refused_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    std::fs::write(
        dir.path().join("bad.rego"),
        "package bad\n\ndeny contains msg if {\n",
    )
    .unwrap();
    let out = kspm(
        &[
            "scan", "pod.yaml", "--policy", "bad.rego", "--select", "PS001",
        ],
        dir.path(),
    );
    // Skipped with a diagnostic: the scan ran, and the exit code says an input was not judged.
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("bad.rego:4:1: error: Rego syntax error"),
        "{}",
        stdout(&out)
    );

    let strict = kspm(
        &[
            "scan",
            "pod.yaml",
            "--policy",
            "bad.rego",
            "--strict-policies",
        ],
        dir.path(),
    );
    assert_eq!(strict.status.code(), Some(3));
    assert!(
        stderr(&strict).contains("bad.rego:4:1"),
        "{}",
        stderr(&strict)
    );
    assert!(stdout(&strict).is_empty());
}

#[test]
fn policy_test_runs_the_examples_and_fails_on_a_broken_case() {
    let root = repo_root();
    let ok = kspm(&["policy", "test", "examples/policies"], &root);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(
        stdout(&ok).ends_with("18 passed, 0 failed\n"),
        "{}",
        stdout(&ok)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hostnet.rego"),
        POLICY.replace("CLI001", "CLI003"),
    )
    .unwrap();
    let indented: String = POD.lines().flat_map(|l| ["      ", l, "\n"]).collect();
    std::fs::write(
        dir.path().join("hostnet.tests.yaml"),
        format!(
            "cases:\n  - name: host network is found\n    manifest: |\n{indented}    expect: [{{policy: CLI003}}]\n  - name: wrongly expects nothing\n    manifest: |\n{indented}    expect: []\n"
        ),
    )
    .unwrap();
    let failed = kspm(&["policy", "test", ".", "--format", "junit"], dir.path());
    assert_eq!(failed.status.code(), Some(1));
    let xml = stdout(&failed);
    assert!(
        xml.contains("tests=\"2\"") && xml.contains("failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("unexpected violation of CLI003"), "{xml}");
}

#[test]
fn explain_shows_a_policy_page() {
    let root = repo_root();
    let out = kspm(
        &["explain", "ORG001", "--policy", "examples/policies/rego"],
        &root,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "# ORG001 `containers-must-not-run-privileged`: Containers must not run privileged"
        ),
        "{text}"
    );
    assert!(text.contains("| Severity | critical |"), "{text}");
    assert!(
        text.contains("5.2.2 (Admission of privileged containers is minimized)"),
        "{text}"
    );
    assert!(
        text.contains("## Remediation\nRemove securityContext.privileged"),
        "{text}"
    );
    let unknown = kspm(&["explain", "ORG001"], &root);
    assert_eq!(unknown.status.code(), Some(3));
}
