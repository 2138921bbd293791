//! What the user sees, one snapshot per output format: every scan [`Format`] on one small scan,
//! and the text and JUnit outputs of `kspm policy test`.
//!
//! The scan runs a fixed handful of built-in rules on an inline manifest, so that a new rule
//! elsewhere does not move these snapshots; the version is masked, so a release does not either.

use std::time::Duration;

use kspm_engine::policy::{CaseResult, TestReport};
use kspm_engine::{Input, ScanOptions, scan};
use kspm_model::Diagnostic;
use kspm_report::{Format, ReportOptions, policy_test};

const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostPID: true
      containers:
      - name: web
        image: nginx:1.27
        securityContext:
          privileged: true
";

fn scan_result() -> kspm_engine::ScanResult {
    let rules = ["host-pid", "privileged-container", "host-network"]
        .map(|slug| kspm_rules::find_rule(slug).expect("a built-in rule"));
    scan(&ScanOptions {
        inputs: vec![Input::Text {
            name: "web.yaml".into(),
            text: MANIFEST.into(),
        }],
        rules: rules.to_vec(),
        ..ScanOptions::default()
    })
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    format
        .write(&scan_result(), &ReportOptions::default(), &mut out)
        .unwrap();
    String::from_utf8(out)
        .unwrap()
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn every_scan_format() {
    for format in Format::ALL {
        let name = format!("{format:?}").to_lowercase();
        insta::assert_snapshot!(format!("scan_{name}"), render(format));
    }
}

fn test_report() -> TestReport {
    let case = |file: &str, name: &str, line, failures: &[&str]| CaseResult {
        file: file.into(),
        name: name.into(),
        line,
        failures: failures.iter().map(|f| (*f).to_owned()).collect(),
        duration: Duration::from_millis(3),
    };
    TestReport {
        cases: vec![
            case(
                "policies/p.tests.yaml",
                "privileged pod is reported",
                2,
                &[],
            ),
            case(
                "policies/p.tests.yaml",
                "unprivileged pod passes",
                8,
                &[
                    "unexpected violation of T001 on Pod/x: privileged",
                    "expected message containing \"hostNetwork\", not reported",
                ],
            ),
            case("policies/q.tests.yaml", "names are checked", 2, &[]),
        ],
        diagnostics: vec![Diagnostic::error(
            "policies/broken.rego",
            "rego parse error: unexpected token",
        )],
    }
}

#[test]
fn policy_test_outputs() {
    let report = test_report();
    insta::assert_snapshot!("policy_test_text", policy_test::text(&report));
    insta::assert_snapshot!("policy_test_junit", policy_test::junit(&report));
    let empty = TestReport::default();
    insta::assert_snapshot!("policy_test_text_empty", policy_test::text(&empty));
}
