//! The example policies under `examples/policies/` (Rego, CEL, a ValidatingAdmissionPolicy with
//! binding and params, four Gatekeeper templates with constraints, Kyverno CEL policies) load without a problem and
//! pass the test cases kept beside them.

use std::path::PathBuf;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

#[test]
fn example_policies_load_cleanly() {
    let loaded = kspm_policy::load(
        &[examples()],
        kspm_policy::Limits {
            memory: None,
            ..kspm_policy::Limits::default()
        },
    );
    let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let mut codes: Vec<&str> = loaded.set.sources().map(|(r, _)| r.meta.code).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "ORG001",
            "ORG002",
            "ORG003",
            "ORG101",
            "ORG102",
            "gk:K8sAllowedRepos:images-from-registry",
            "gk:K8sPSPHostNamespace:no-host-namespaces",
            "gk:K8sPSPPrivilegedContainer:no-privileged",
            "gk:K8sRequiredLabels:namespaces-have-owner",
            "kyverno:no-host-namespaces",
            "kyverno:workload-hygiene:services-not-external",
            "kyverno:workload-hygiene:team-label",
            "vap:replica-limit",
        ]
    );
}

#[test]
fn example_policy_tests_pass() {
    let report = kspm_policy::testing::run(
        &[examples()],
        kspm_policy::Limits {
            memory: None,
            ..kspm_policy::Limits::default()
        },
    );
    let text = kspm_report::policy_test::text(&report);
    assert!(report.ok(), "{text}");
    assert_eq!(report.cases.len(), 26, "{text}");
}
