//! The outputs of `kspm policy test`: plain text for a terminal and JUnit XML for CI. The cases
//! are run by kspm_policy, which returns a [`TestReport`] and renders nothing.

use std::fmt::Write as _;

use kspm_engine::policy::TestReport;
use kspm_model::DiagnosticLevel;

/// Plain text: one line per case, failures explained, a closing count.
pub fn text(report: &TestReport) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        let _ = writeln!(out, "{d}");
    }
    for c in &report.cases {
        let status = if c.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "{status} {}:{} {}", c.file, c.line, c.name);
        for f in &c.failures {
            let _ = writeln!(out, "     {f}");
        }
    }
    if report.cases.is_empty() {
        let _ = writeln!(
            out,
            "no test cases found (`<name>.tests.yaml` beside the policies)"
        );
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    out
}

/// JUnit XML: one suite per test file, one test case per case, and a `loading` suite with an
/// errored case per policy or test file that did not load.
pub fn junit(report: &TestReport) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut out = Report::new("kspm policy test");
    let mut files: Vec<&str> = report.cases.iter().map(|c| c.file.as_str()).collect();
    files.dedup();
    for file in files {
        let mut suite = TestSuite::new(file);
        for c in report.cases.iter().filter(|c| c.file == file) {
            let status = if c.passed() {
                TestCaseStatus::success()
            } else {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(c.failures[0].clone());
                st.set_description(c.failures.join("\n"));
                st
            };
            let mut case = TestCase::new(c.name.clone(), status);
            case.set_classname(format!("{file}:{}", c.line));
            case.set_time(c.duration);
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    if !report.diagnostics.is_empty() {
        let mut suite = TestSuite::new("loading");
        for d in &report.diagnostics {
            if d.level != DiagnosticLevel::Error {
                continue;
            }
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(d.to_string());
            suite.add_test_case(TestCase::new(d.file.to_string(), st));
        }
        out.add_test_suite(suite);
    }
    out.to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialization failed: {e} -->\n"))
}
