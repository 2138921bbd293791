//! Reports describe the rules the scan ran (`ScanResult::rules`), not the process-wide registry:
//! a rule that was never registered (as a custom policy of another process, or a long-running
//! server that unregistered it) is still described by its title, remediation and controls.

use kspm_engine::{Input, ScanOptions, scan};
use kspm_model::{FieldPath, Resource, Severity};
use kspm_report::ReportOptions;
use kspm_rules::{Category, Check, Reporter, Rule, RuleMeta, find_rule};

fn check(resource: &Resource, out: &mut Reporter<'_>) {
    if resource.name() == "flagged" {
        out.report(FieldPath::parse("metadata.name"), "this one is flagged");
    }
}

static UNREGISTERED: Rule = Rule {
    meta: RuleMeta {
        code: "ZZ900",
        slug: "flagged-by-name",
        title: "Object is named flagged",
        severity: Severity::High,
        category: Category::Custom,
        docs: "## What it does\n Flags objects named `flagged`.\n## Remediation\n Rename the\n object.\n",
        frameworks: &[&kspm_frameworks::nsa::NAMESPACES],
        equivalents: &[],
        has_fix: false,
        default_enabled: true,
    },
    check: Check::Object {
        kinds: &["ConfigMap"],
        check,
    },
};

fn result() -> kspm_engine::ScanResult {
    assert!(
        find_rule("ZZ900").is_none(),
        "the rule must not be registered"
    );
    scan(&ScanOptions {
        inputs: vec![Input::Text {
            name: "cm.yaml".into(),
            text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flagged, namespace: a}\n"
                .into(),
        }],
        rules: vec![&UNREGISTERED],
        ..ScanOptions::default()
    })
}

#[test]
fn every_format_describes_a_rule_only_the_result_knows() {
    let result = result();
    assert_eq!(result.findings.len(), 1, "{:?}", result.findings);
    let opts = ReportOptions::default();

    let mut json = Vec::new();
    kspm_report::json::write(&result, &opts, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["title"], "Object is named flagged");
    assert_eq!(finding["remediation"], "Rename the object.");
    assert_eq!(
        finding["frameworks"]["nsa"],
        serde_json::json!(["namespace-separation"])
    );

    for (format, text) in [
        ("table", kspm_report::Format::Table.render(&result, &opts)),
        ("markdown", kspm_report::markdown::render(&result, &opts)),
        ("html", kspm_report::Format::Html.render(&result, &opts)),
    ] {
        assert!(
            text.contains("Rename the object."),
            "{format} lacks the remediation:\n{text}"
        );
    }
    let sarif = kspm_report::Format::Sarif.render(&result, &opts);
    assert!(sarif.contains("Object is named flagged"), "{sarif}");
    let junit = kspm_report::Format::Junit.render(&result, &opts);
    assert!(junit.contains("ZZ900"), "{junit}");
}

#[test]
fn a_finding_whose_rule_the_result_does_not_list_still_renders() {
    let mut result = result();
    result.rules.clear();
    let opts = ReportOptions::default();
    let mut json = Vec::new();
    kspm_report::json::write(&result, &opts, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    // The finding's slug stands in for the title; nothing is invented.
    assert_eq!(json["findings"][0]["title"], "flagged-by-name");
    assert_eq!(json["findings"][0]["remediation"], "");
    let table = kspm_report::Format::Table.render(&result, &opts);
    assert!(table.contains("this one is flagged"), "{table}");
}
