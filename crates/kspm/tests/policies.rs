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
        stdout(&ok).ends_with("26 passed, 0 failed\n"),
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

/// The findings and errors of a JSON report, in a comparable form.
fn findings_and_errors(out: &std::process::Output) -> (Vec<String>, Vec<String>) {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)));
    let mut findings: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}:{} {}",
                f["rule"],
                f["resource"],
                f["path"],
                f["source"]["file"],
                f["source"]["line"],
                f["message"]
            )
        })
        .collect();
    findings.sort();
    let mut errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    errors.sort();
    (findings, errors)
}

#[test]
fn policies_judge_the_same_in_worker_processes_as_in_process() {
    let root = repo_root();
    let args = |memory: &str| {
        kspm(
            &[
                "scan",
                "examples",
                "--policy",
                "examples/policies",
                "--policy-memory",
                memory,
                "-f",
                "json",
            ],
            &root,
        )
    };
    let isolated = args("256");
    let here = args("0");
    assert_eq!(isolated.status.code(), here.status.code());
    let (fi, ei) = findings_and_errors(&isolated);
    let (fh, eh) = findings_and_errors(&here);
    // The example policies find something: Rego, cross-resource Rego (ORG003 reads data.kspm),
    // CEL and a Gatekeeper constraint.
    for code in ["ORG001", "ORG003", "ORG102", "gk:K8sRequiredLabels"] {
        assert!(
            fh.iter().any(|f| f.contains(code)),
            "{code} not found: {fh:#?}"
        );
    }
    assert_eq!(fi, fh);
    assert_eq!(ei, eh);
}

const GOOD: &str = "# METADATA\n# title: Needs a team label\n# custom: {id: MEM100, severity: low}\npackage mem.good\n\ndeny contains {\"msg\": \"no team label\", \"path\": \"metadata.labels\"} if not input.object.metadata.labels.team\n";

/// A Rego policy that asks for billions of elements in one builtin call.
const REGO_BOMB: &str = "# METADATA\n# title: Rego memory bomb\n# custom: {id: MEM101, severity: low}\npackage mem.bomb\n\ndeny contains \"never\" if {\n  xs := numbers.range(1, 4000000000)\n  count(xs) == 0\n}\n";

/// A CEL policy whose nested comprehensions build 50^5 values.
fn cel_policy(id: &str, expression: &str) -> String {
    let xs: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    format!(
        "apiVersion: kspm.io/v1alpha1\nkind: CELPolicy\nmetadata: {{name: {id}}}\nspec:\n  id: {id}\n  severity: low\n  match: {{kinds: [Pod]}}\n  variables:\n    - name: xs\n      expression: \"[{}]\"\n  validations:\n    - expression: \"{expression}\"\n      message: never\n",
        xs.join(",")
    )
}

#[test]
fn a_policy_over_its_memory_budget_is_stopped_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let pods: Vec<String> = (0..3)
        .map(|i| POD.replace("name: p\n", &format!("name: p{i}\n")))
        .collect();
    std::fs::write(dir.path().join("pods.yaml"), pods.join("---\n")).unwrap();
    std::fs::create_dir(dir.path().join("pol")).unwrap();
    std::fs::write(dir.path().join("pol/good.rego"), GOOD).unwrap();
    std::fs::write(dir.path().join("pol/bomb.rego"), REGO_BOMB).unwrap();
    let bomb = "variables.xs.map(a, variables.xs.map(b, variables.xs.map(c, variables.xs.map(d, variables.xs.map(e, a + b + c + d + e))))).size() == 0";
    std::fs::write(dir.path().join("pol/bomb.yaml"), cel_policy("MEM102", bomb)).unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "pods.yaml",
            "-f",
            "json",
            "--policy-timeout",
            "120000",
        ];
        args.extend_from_slice(extra);
        kspm(&args, dir.path())
    };
    let out = scan(&["--policy", "pol", "--policy-memory", "64"]);
    // The stopped policies leave the scan incomplete: 2 wins over the findings.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (findings, errors) = findings_and_errors(&out);
    for code in ["MEM101", "MEM102"] {
        let said: Vec<&String> = errors.iter().filter(|e| e.contains(code)).collect();
        assert_eq!(said.len(), 1, "{code} stopped once: {errors:#?}");
        assert!(
            said[0].contains("needed more than its 64 MiB memory limit on Pod/t/p"),
            "{said:?}"
        );
        assert!(
            said[0].contains("skipped for the rest of the scan"),
            "{said:?}"
        );
    }
    // Every other result stands: the good policy on every pod, and the built-in rules.
    assert_eq!(findings.iter().filter(|f| f.contains("MEM100")).count(), 3);
    let (baseline, _) = findings_and_errors(&scan(&[]));
    let builtin: Vec<&String> = findings.iter().filter(|f| !f.contains("MEM10")).collect();
    assert_eq!(builtin, baseline.iter().collect::<Vec<_>>());
}

#[test]
fn a_cel_policy_that_never_ends_is_killed_at_its_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    std::fs::create_dir(dir.path().join("pol")).unwrap();
    std::fs::write(dir.path().join("pol/good.rego"), GOOD).unwrap();
    // 50^6 steps, constant memory: hours, if nothing stops it.
    let endless = "variables.xs.all(a, variables.xs.all(b, variables.xs.all(c, variables.xs.all(d, variables.xs.all(e, variables.xs.all(f, a + b + c + d + e + f >= 0))))))";
    std::fs::write(
        dir.path().join("pol/endless.yaml"),
        cel_policy("MEM103", endless),
    )
    .unwrap();
    let out = kspm(
        &[
            "scan",
            "pod.yaml",
            "--policy",
            "pol",
            "--policy-timeout",
            "200",
            "-f",
            "json",
        ],
        dir.path(),
    );
    let (findings, errors) = findings_and_errors(&out);
    let said: Vec<&String> = errors.iter().filter(|e| e.contains("MEM103")).collect();
    assert_eq!(said.len(), 1, "{errors:#?}");
    assert!(said[0].contains("over its 200 ms limit"), "{said:?}");
    assert_eq!(findings.iter().filter(|f| f.contains("MEM100")).count(), 1);
}

#[test]
fn rules_lists_loaded_policies_after_the_built_in_ones() {
    let root = repo_root();
    let out = kspm(
        &["rules", "--format", "json", "--policy", "examples/policies"],
        &root,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = rules.as_array().unwrap();
    let org001 = rules
        .iter()
        .find(|r| r["code"] == "ORG001")
        .expect("the Rego example is listed");
    assert_eq!(org001["target"], "policy");
    assert!(rules.iter().any(|r| r["code"] == "vap:replica-limit"));
    assert!(rules.iter().any(|r| r["code"] == "ORG101"));
    // Built-in rules first, policies after.
    let first_policy = rules.iter().position(|r| r["target"] == "policy").unwrap();
    assert!(
        rules[first_policy..]
            .iter()
            .all(|r| r["target"] == "policy")
    );
    assert!(first_policy > 80, "{first_policy}");
    let table = kspm(&["rules", "--policy", "examples/policies"], &root);
    assert!(stdout(&table).contains("ORG002"), "{}", stdout(&table));
    let plain = kspm(&["rules"], &root);
    assert!(!stdout(&plain).contains("ORG002"));
}

#[test]
fn violations_past_the_cap_are_counted_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    std::fs::write(
        dir.path().join("many.rego"),
        "# METADATA\n# custom: {id: MANY001, severity: low}\npackage many\n\ndeny contains sprintf(\"violation %d\", [i]) if some i in numbers.range(1, 50)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kspm.yaml"),
        "policy_limits: {max_violations: 5}\n",
    )
    .unwrap();
    for memory in ["64", "0"] {
        let out = kspm(
            &[
                "scan",
                "pod.yaml",
                "--policy",
                "many.rego",
                "--policy-memory",
                memory,
                "-f",
                "json",
                // A file named alone brings no configuration from its folder.
                "--config",
                "kspm.yaml",
            ],
            dir.path(),
        );
        let (findings, errors) = findings_and_errors(&out);
        assert_eq!(
            findings.iter().filter(|f| f.contains("MANY001")).count(),
            5,
            "{memory}: {findings:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("reported 50 violations on Pod/t/p; only the first 5 are kept")),
            "{memory}: {errors:#?}"
        );
    }
}

/// Issue 15: a ValidatingAdmissionPolicy guarding with `namespaceObject == null || ...` judges an
/// object whose Namespace is not among the scanned files (Kubernetes binds the variable to null),
/// instead of failing with "undeclared reference" and exit code 2.
#[test]
fn vap_namespace_object_is_null_without_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vap.yaml"),
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: labelled-namespaces}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
  - expression: \"namespaceObject == null || has(namespaceObject.metadata.labels)\"
  - expression: \"object.spec.hostNetwork != true\"
    message: no host network
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: labelled-namespaces}
spec:
  policyName: labelled-namespaces
  validationActions: [Deny]
",
    )
    .unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    let out = kspm(
        &[
            "scan",
            "pod.yaml",
            "--policy",
            "vap.yaml",
            "--select",
            "vap:labelled-namespaces",
            "--format",
            "json",
        ],
        dir.path(),
    );
    let (findings, errors) = findings_and_errors(&out);
    assert!(errors.is_empty(), "{errors:?}\n{}", stdout(&out));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(findings.len(), 1, "{findings:?}");
}
