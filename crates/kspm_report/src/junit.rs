//! JUnit XML for CI systems: one test suite per rule, one test case per (rule, resource) the
//! rule judged; a finding is a failure.

use std::collections::BTreeMap;

use kspm_engine::ScanResult;
use kspm_model::{Finding, ResourceId};
use kspm_rules::Check;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{ReportOptions, shown};

/// Findings of one rule, by the object they are on (file, document, id).
type ByResource<'a> = BTreeMap<(&'a str, usize, &'a ResourceId), Vec<&'a Finding>>;

pub fn render(result: &ScanResult, opts: &ReportOptions) -> String {
    let mut by_rule: BTreeMap<&str, ByResource<'_>> = BTreeMap::new();
    for f in shown(result, opts) {
        by_rule
            .entry(f.code)
            .or_default()
            .entry((&f.source.file, f.source.doc, &f.resource))
            .or_default()
            .push(f);
    }
    let mut report = Report::new("kspm");
    for rule in &result.rules {
        let m = &rule.meta;
        let mut suite = TestSuite::new(format!("{} {}", m.code, m.slug));
        let failures = by_rule.get(m.code);
        for s in &result.scanned {
            let applies = match rule.check {
                Check::Object { kinds, .. } | Check::Policy { kinds } => {
                    kinds.is_empty() || kinds.contains(&s.id.kind.as_str())
                }
                Check::PodSpec(_) | Check::Container(_) => s.has_pod_spec,
            };
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
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialization failed: {e} -->\n"))
}
