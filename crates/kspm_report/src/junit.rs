//! JUnit XML for CI systems: one test suite per rule, one test case per (rule, resource) the
//! rule judged; a finding is a failure.

use std::collections::BTreeMap;

use kspm_engine::ScanResult;
use kspm_engine::compliance::Status;
use kspm_model::{Finding, ResourceId};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{ReportOptions, shown};

/// Findings of one rule, by the object they are on (file, document, id).
type ByResource<'a> = BTreeMap<(&'a str, usize, &'a ResourceId), Vec<&'a Finding>>;

pub fn render(result: &ScanResult, opts: &ReportOptions) -> String {
    let mut by_rule: BTreeMap<&str, ByResource<'_>> = BTreeMap::new();
    for f in shown(result, opts) {
        // A rule whose finding was folded into another's still failed on that object.
        for code in std::iter::once(f.code).chain(f.folded.iter().map(|x| x.code)) {
            by_rule
                .entry(code)
                .or_default()
                .entry((&f.source.file, f.source.doc, &f.resource))
                .or_default()
                .push(f);
        }
    }
    let mut report = Report::new("kspm");
    for rule in &result.rules {
        let m = &rule.meta;
        let mut suite = TestSuite::new(format!("{} {}", m.code, m.slug));
        let failures = by_rule.get(m.code);
        for s in &result.scanned {
            let applies = s.judged_by(rule);
            let found = failures.and_then(|m| m.get(&(&*s.source.file, s.source.doc, &s.id)));
            if !applies && found.is_none() {
                continue;
            }
            let name = format!("{} ({}#{})", s.id, s.source.file, s.source.doc + 1);
            let status = match found {
                None => TestCaseStatus::success(),
                Some(fs) => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let first = fs[0];
                    st.set_message(format!("[{}] {}", first.severity, first.message));
                    st.set_type(m.slug);
                    let detail: Vec<String> = fs
                        .iter()
                        .map(|f| format!("{}:{} {} — {}", f.source.file, f.pos, f.path, f.message))
                        .collect();
                    st.set_description(detail.join("\n"));
                    st
                }
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(format!("{}.{}", m.category.as_str(), m.slug));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    // With --framework: one suite per framework, one case per control. Manual and
    // not-applicable controls are skipped with the reason, so CI shows them without failing.
    for fw in &result.compliance {
        let mut suite = TestSuite::new(format!(
            "{} {} ({})",
            fw.framework.title(),
            fw.framework.version(),
            crate::compliance::percent_text(fw.score)
        ));
        for c in &fw.controls {
            let status = match c.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(format!("{} finding(s)", c.findings.len()));
                    st.set_type("control-failed");
                    let detail: Vec<String> = c
                        .findings
                        .iter()
                        .map(|&i| {
                            let f = &result.findings[i];
                            format!("{} {} {} — {}", f.code, f.resource, f.path, f.message)
                        })
                        .collect();
                    st.set_description(detail.join("\n"));
                    st
                }
                Status::Manual | Status::NotApplicable => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(format!(
                        "{}: {}",
                        c.status.as_str(),
                        c.reason.as_deref().unwrap_or("")
                    ));
                    st
                }
            };
            let mut case = TestCase::new(format!("{} {}", c.control.id, c.control.title), status);
            case.set_classname(format!("compliance.{}", fw.framework.key()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    if !result.diagnostics.is_empty() || result.config.is_some() {
        // What could not be read is an error of the run, not a finding: CI shows it apart.
        let mut suite = TestSuite::new("kspm inputs");
        if let Some(config) = &result.config {
            // What the configuration did is part of the run's record, and passes.
            let mut case = TestCase::new(config.summary(), TestCaseStatus::success());
            case.set_classname("kspm.config");
            suite.add_test_case(case);
        }
        for d in &result.diagnostics {
            let status = if d.level == kspm_model::DiagnosticLevel::Error {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(d.message.clone());
                st.set_type(if result.partial {
                    "partial-scan"
                } else {
                    "input-error"
                });
                st
            } else {
                // A warning (duplicate key, expired exception) does not fail the run.
                let mut st = TestCaseStatus::skipped();
                st.set_message(d.message.clone());
                st
            };
            let mut case = TestCase::new(d.to_string(), status);
            case.set_classname("kspm.inputs");
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialization failed: {e} -->\n"))
}
