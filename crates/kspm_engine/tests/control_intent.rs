//! Every control is judged right in a default scan, whichever rule catches the violation.
//!
//! The fixtures are the rules' own `fail:` cases (`kspm_rules/src/rules/*/*.cases.yaml`): each is
//! a resource that violates what its rule checks. Each is scanned as `kspm scan --framework ...`
//! scans: the default rule set plus the rules behind the framework, with compliance evaluated.
//!
//! 1. **Mapped controls fail.** For every rule and every fail case, each control the rule
//!    declares (for a component rule: each control its findings name) must come out `fail` in
//!    the compliance section. This checks the whole path from finding to control, per framework.
//! 2. **Controls with the same intent fail together.** [`INTENT`] says, control by control, that
//!    violating one is violating another (a container adding `SYS_ADMIN` violates the Pod
//!    Security Standards' baseline capabilities *and* CIS 5.2.9). For each pair, every fail case
//!    of every rule mapping the first control must fail the second in a default scan, however
//!    the rules are split. This is what caught `seccompProfile: Unconfined` passing CIS 5.7.2.

use std::path::{Path, PathBuf};

use kspm_engine::compliance::Status;
use kspm_engine::{Input, ScanOptions, ScanResult, framework_rules, scan};
use kspm_frameworks::{Control, Framework, cis, nsa, pss};
use kspm_model::Node;
use kspm_model::yaml::{Limits, parse_stream};
use kspm_rules::{KubeVersion, Rule, Settings, rules};

/// `(a, b)`: a resource that violates `a` violates `b`. Kept to pairs whose definitions make it
/// true by construction: each PSS control and the CIS item that asks for the same field, and the
/// NSA-CISA pod security item that covers it.
const INTENT: &[(&Control, &Control)] = &[
    // PSS → CIS 5.2 / 5.7
    (&pss::BASELINE_PRIVILEGED, &cis::C5_2_2),
    (&pss::BASELINE_CAPABILITIES, &cis::C5_2_9),
    (&pss::BASELINE_HOST_PROCESS, &cis::C5_2_11),
    (&pss::BASELINE_HOST_PATH_VOLUMES, &cis::C5_2_12),
    (&pss::BASELINE_HOST_PORTS, &cis::C5_2_13),
    (&pss::BASELINE_SECCOMP, &cis::C5_7_2),
    (&pss::RESTRICTED_SECCOMP, &cis::C5_7_2),
    (&pss::RESTRICTED_PRIVILEGE_ESCALATION, &cis::C5_2_6),
    (&pss::RESTRICTED_RUNNING_AS_NON_ROOT, &cis::C5_2_7),
    (&pss::RESTRICTED_RUNNING_AS_NON_ROOT_USER, &cis::C5_2_7),
    // CIS 5.2 / 5.7 → PSS
    (&cis::C5_2_2, &pss::BASELINE_PRIVILEGED),
    (&cis::C5_2_3, &pss::BASELINE_HOST_NAMESPACES),
    (&cis::C5_2_4, &pss::BASELINE_HOST_NAMESPACES),
    (&cis::C5_2_5, &pss::BASELINE_HOST_NAMESPACES),
    (&cis::C5_2_6, &pss::RESTRICTED_PRIVILEGE_ESCALATION),
    (&cis::C5_2_11, &pss::BASELINE_HOST_PROCESS),
    (&cis::C5_2_12, &pss::BASELINE_HOST_PATH_VOLUMES),
    (&cis::C5_2_13, &pss::BASELINE_HOST_PORTS),
    (&cis::C5_7_2, &pss::RESTRICTED_SECCOMP),
    // PSS / CIS → NSA-CISA's pod security items, which ask the same of every pod
    (&pss::BASELINE_PRIVILEGED, &nsa::PRIVILEGED),
    (&cis::C5_2_2, &nsa::PRIVILEGED),
    (&pss::BASELINE_HOST_NAMESPACES, &nsa::HOST_NAMESPACES),
    (&cis::C5_2_3, &nsa::HOST_NAMESPACES),
    (&cis::C5_2_4, &nsa::HOST_NAMESPACES),
    (&cis::C5_2_5, &nsa::HOST_NAMESPACES),
    (&pss::BASELINE_HOST_PATH_VOLUMES, &nsa::HOST_PATH),
    (&cis::C5_2_12, &nsa::HOST_PATH),
    (
        &pss::RESTRICTED_PRIVILEGE_ESCALATION,
        &nsa::PRIVILEGE_ESCALATION,
    ),
    (&cis::C5_2_6, &nsa::PRIVILEGE_ESCALATION),
    (&pss::BASELINE_SECCOMP, &nsa::SECCOMP),
    (&pss::RESTRICTED_SECCOMP, &nsa::SECCOMP),
    (&cis::C5_7_2, &nsa::SECCOMP),
    (&pss::BASELINE_CAPABILITIES, &nsa::CAPABILITIES),
    (&cis::C5_2_9, &nsa::CAPABILITIES),
    (&pss::RESTRICTED_RUNNING_AS_NON_ROOT, &nsa::NON_ROOT),
    (&cis::C5_2_7, &nsa::NON_ROOT),
];

struct Case {
    rule: &'static Rule,
    name: String,
    manifest: String,
    settings: Settings,
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kspm_rules/src/rules")
}

/// Every rule's fail cases.
fn fail_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for &rule in rules() {
        let stem = rule.meta.slug.replace('-', "_");
        let file = std::fs::read_dir(rules_dir())
            .unwrap()
            .map(|e| e.unwrap().path().join(format!("{stem}.cases.yaml")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{}: no cases file", rule.meta.code));
        let text = std::fs::read_to_string(&file).unwrap();
        let (docs, errors) = parse_stream(&text, &Limits::default());
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        for c in docs[0]
            .root
            .get("fail")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
        {
            // Cases judged as on a live cluster (every kind read whole) have no file-scan
            // equivalent; the rule harness covers them.
            if c.get("live").and_then(Node::as_bool) == Some(true) {
                continue;
            }
            let s = |k: &str| c.get(k).and_then(Node::as_str).map(str::to_owned);
            let mut settings = Settings::default();
            if let Some(v) = s("k8s_version") {
                settings.k8s_version = v.parse::<KubeVersion>().unwrap();
            }
            out.push(Case {
                rule,
                name: s("name").unwrap(),
                manifest: s("manifest").unwrap(),
                settings,
            });
        }
    }
    out
}

/// A default scan plus the rules of `frameworks`, with their compliance sections.
fn scan_case(case: &Case, frameworks: &[Framework]) -> ScanResult {
    let mut selected: Vec<&'static Rule> = rules()
        .iter()
        .copied()
        .filter(|r| r.meta.default_enabled)
        .collect();
    for &fw in frameworks {
        for r in framework_rules(fw) {
            if !selected.iter().any(|s| s.meta.code == r.meta.code) {
                selected.push(r);
            }
        }
    }
    scan(&ScanOptions {
        inputs: vec![Input::Text {
            name: "case.yaml".into(),
            text: case.manifest.clone(),
        }],
        rules: selected,
        settings: case.settings.clone(),
        frameworks: frameworks.to_vec(),
        ..ScanOptions::default()
    })
}

fn status(result: &ScanResult, control: &Control) -> Option<Status> {
    result
        .compliance
        .iter()
        .find(|f| f.framework == control.framework)?
        .controls
        .iter()
        .find(|c| c.control.id == control.id)
        .map(|c| c.status)
}

fn same(a: &Control, b: &Control) -> bool {
    a.framework == b.framework && a.id == b.id
}

#[test]
fn every_violation_fails_its_controls_and_those_of_the_same_intent() {
    let cases = fail_cases();
    assert!(cases.len() > 200, "only {} fail cases", cases.len());
    let mut problems = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let meta = &case.rule.meta;
        // Controls this case must fail: its rule's, and those of the same intent.
        let mut expected: Vec<(&Control, String)> = Vec::new();
        let mut frameworks: Vec<Framework> = Vec::new();
        for c in meta.frameworks {
            if !frameworks.contains(&c.framework) {
                frameworks.push(c.framework);
            }
        }
        for (a, b) in INTENT {
            if meta.frameworks.iter().any(|c| same(c, a)) && !frameworks.contains(&b.framework) {
                frameworks.push(b.framework);
            }
        }
        if frameworks.is_empty() {
            continue;
        }
        let result = scan_case(case, &frameworks);
        // What the rule found, reported on its own or folded into a stronger finding (which
        // still fails the folded rule's controls).
        let own: Vec<Option<&'static [&'static Control]>> = result
            .findings
            .iter()
            .flat_map(|f| {
                let mine = (f.code == meta.code).then_some(f.controls);
                mine.into_iter().chain(
                    f.folded
                        .iter()
                        .filter(|x| x.code == meta.code)
                        .map(|x| x.controls),
                )
            })
            .collect();
        if own.is_empty() {
            problems.push(format!(
                "{} `{}`: its rule found nothing in a default scan",
                meta.code, case.name
            ));
            continue;
        }
        // A component rule fails only the items its findings name; others fail all they declare.
        let failed_by_rule: Vec<&Control> = match own.iter().find_map(|c| *c) {
            Some(_) => own
                .iter()
                .flat_map(|c| c.unwrap_or(&[]).iter().copied())
                .collect(),
            None => meta.frameworks.to_vec(),
        };
        for c in &failed_by_rule {
            expected.push((c, format!("{} declares it", meta.code)));
        }
        for (a, b) in INTENT {
            if failed_by_rule.iter().any(|c| same(c, a)) {
                expected.push((
                    *b,
                    format!("{} {} violated, same intent", a.framework.key(), a.id),
                ));
            }
        }
        for (control, why) in expected {
            checked += 1;
            let got = status(&result, control);
            if got != Some(Status::Fail) {
                problems.push(format!(
                    "{} `{}`: {} {} is {:?}, expected fail ({why})",
                    meta.code,
                    case.name,
                    control.framework.key(),
                    control.id,
                    got.map(Status::as_str)
                ));
            }
        }
    }
    assert!(checked > 1000, "only {checked} control checks");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The two cases issue 15 reported by hand, pinned on their own.
#[test]
fn seccomp_unconfined_fails_cis_5_7_2_and_sys_admin_fails_5_2_9() {
    let unconfined = Case {
        rule: rules()[0],
        name: "unconfined".into(),
        manifest: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  securityContext:\n    seccompProfile: {type: Unconfined}\n  containers:\n  - name: a\n    image: nginx:1.27\n".into(),
        settings: Settings::default(),
    };
    let r = scan_case(&unconfined, &[Framework::Cis]);
    assert_eq!(status(&r, &cis::C5_7_2), Some(Status::Fail));
    let sys_admin = Case {
        manifest: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n    securityContext:\n      capabilities: {add: [SYS_ADMIN]}\n".into(),
        ..unconfined
    };
    // In a default scan (no framework rules added), the finding itself names CIS 5.2.9.
    let r = scan_case(&sys_admin, &[]);
    assert!(
        r.findings.iter().any(|f| f.code == "PS005"
            && kspm_rules::find_rule("PS005").is_some_and(|rule| rule
                .meta
                .frameworks
                .iter()
                .any(|c| same(c, &cis::C5_2_9)))),
        "PS005 does not map CIS 5.2.9"
    );
    let r = scan_case(&sys_admin, &[Framework::Cis]);
    assert_eq!(status(&r, &cis::C5_2_9), Some(Status::Fail));
}
