//! How policies behave when they are wrong, slow or failing, and how their findings travel
//! through a scan like built-in rules' findings.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kspm_engine::{Config, Input, ScanOptions, scan};
use kspm_policy::{Limits, load};

/// These tests judge policies in this process: the memory bound needs worker processes, which
/// the kspm binary provides (crates/kspm/tests/policies.rs tests it).
fn in_process() -> Limits {
    Limits {
        memory: None,
        ..Limits::default()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

fn messages(d: &[kspm_model::Diagnostic]) -> Vec<String> {
    d.iter().map(ToString::to_string).collect()
}

const PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns}\nspec:\n  containers: [{name: c, image: nginx}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: ns}\nspec:\n  replicas: 3\n  containers: [{name: c, image: nginx}]\n";

#[test]
fn a_syntax_error_names_file_line_column_and_only_that_policy_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.rego",
        "# METADATA\n# custom: {id: BAD001}\npackage bad\n\ndeny contains msg if {\n  msg := \n}\n",
    );
    write(
        dir.path(),
        "good.rego",
        "# METADATA\n# custom: {id: GOOD001}\npackage good\n\ndeny contains \"x\" if input.object.kind == \"Pod\"\n",
    );
    let loaded = load(&[dir.path().to_path_buf()], in_process());
    assert!(loaded.has_errors());
    let text = messages(&loaded.diagnostics).join("\n");
    // Where the parser gave up: after `msg := `.
    let prefix = format!("{}:6:7: error: Rego syntax error", bad.display());
    assert!(text.contains(&prefix), "{text}");
    let codes: Vec<&str> = loaded.set.sources().map(|(r, _)| r.meta.code).collect();
    assert_eq!(codes, ["GOOD001"]);
}

#[test]
fn v0_syntax_needs_to_be_declared() {
    let dir = tempfile::tempdir().unwrap();
    let src = "package old\n\ndeny[msg] {\n  msg := \"x\"\n}\n";
    write(dir.path(), "old.rego", src);
    let loaded = load(&[dir.path().to_path_buf()], in_process());
    let text = messages(&loaded.diagnostics).join("\n");
    assert!(text.contains("rego_version: v0"), "{text}");
    assert!(loaded.set.is_empty());

    let declared = format!("# METADATA\n# custom:\n#   id: OLD001\n#   rego_version: v0\n{src}");
    write(dir.path(), "old.rego", &declared);
    let loaded = load(&[dir.path().to_path_buf()], in_process());
    assert!(!loaded.has_errors(), "{:?}", messages(&loaded.diagnostics));
    assert_eq!(loaded.set.len(), 1);
}

#[test]
fn bad_metadata_and_cel_syntax_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let rego = write(
        dir.path(),
        "meta.rego",
        "# METADATA\n# custom:\n#   id: M001\n#   severity: severe\npackage m\n\ndeny contains \"x\" if true\n",
    );
    let cel = write(
        dir.path(),
        "cel.yaml",
        "apiVersion: kspm.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: broken}\nspec:\n  validations:\n    - expression: \"object.spec.replicas >\"\n",
    );
    let loaded = load(&[dir.path().to_path_buf()], in_process());
    let text = messages(&loaded.diagnostics).join("\n");
    assert!(
        text.contains(&format!(
            "{}:4:15: error: severity: unknown severity `severe`",
            rego.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}:6:19: error: CEL syntax error in validations[0].expression",
            cel.display()
        )),
        "{text}"
    );
    assert!(loaded.set.is_empty());
}

fn scan_with(
    dir: &Path,
    policies: &[PathBuf],
    limits: Limits,
    config: &str,
) -> kspm_engine::ScanResult {
    scan_text(dir, PODS, policies, limits, config)
}

fn scan_text(
    dir: &Path,
    text: &str,
    policies: &[PathBuf],
    limits: Limits,
    config: &str,
) -> kspm_engine::ScanResult {
    let manifests = write(dir, "pods.yaml", text);
    let loaded = load(policies, limits);
    assert!(!loaded.has_errors(), "{:?}", messages(&loaded.diagnostics));
    let set = Arc::new(loaded.set);
    let rules = kspm_engine::Policies::rules(&*set);
    let opts = ScanOptions {
        inputs: vec![Input::Path(manifests)],
        rules,
        policies: Some(set),
        config: Config::parse(config, "kspm.yaml").unwrap(),
        inline_exceptions: true,
        ..ScanOptions::default()
    };
    scan(&opts)
}

#[test]
fn a_runaway_policy_is_stopped_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let slow = write(
        dir.path(),
        "slow.rego",
        "# METADATA\n# custom: {id: SLOW001}\npackage slow\n\ndeny contains \"never\" if {\n  some a in numbers.range(1, 100000)\n  some b in numbers.range(1, 100000)\n  a * b == -1\n}\n",
    );
    let quick = write(
        dir.path(),
        "quick.rego",
        "# METADATA\n# custom: {id: QUICK001, severity: high}\npackage quick\n\ndeny contains \"pod seen\" if input.object.kind == \"Pod\"\n",
    );
    let limits = Limits {
        timeout: Duration::from_millis(100),
        ..in_process()
    };
    let result = scan_with(dir.path(), &[slow, quick], limits, "");
    let text = messages(&result.diagnostics).join("\n");
    assert!(text.contains("policy SLOW001"), "{text}");
    assert!(text.contains("over its 100 ms limit: stopped"), "{text}");
    // Stopped once, not once per resource.
    assert_eq!(text.matches("SLOW001").count(), 1, "{text}");
    let quick_findings = result
        .findings
        .iter()
        .filter(|f| f.code == "QUICK001")
        .count();
    assert_eq!(quick_findings, 2);
}

#[test]
fn an_evaluation_error_is_reported_for_that_resource_only() {
    let dir = tempfile::tempdir().unwrap();
    let cel = write(
        dir.path(),
        "cel.yaml",
        "apiVersion: kspm.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: replicas}\nspec:\n  id: CEL900\n  severity: low\n  match: {kinds: [Pod]}\n  validations:\n    - expression: \"object.spec.replicas < 2\"\n      message: too many\n      fieldPath: spec.replicas\n",
    );
    let result = scan_with(dir.path(), &[cel], in_process(), "");
    let errors: Vec<String> = messages(&result.diagnostics);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("pods.yaml:1:1 (document 1)"),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("policy CEL900 failed on Pod/ns/a"),
        "{errors:?}"
    );
    let f: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.code == "CEL900")
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].resource.name, "b");
    assert_eq!(f[0].path.to_string(), "spec.replicas");
    assert_eq!((f[0].pos.line, f[0].pos.col), (11, 3));
    assert_eq!(f[0].value.as_deref(), Some("3"));
}

#[test]
fn policy_findings_take_exceptions_and_severity_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let rego = write(
        dir.path(),
        "image.rego",
        "# METADATA\n# title: Images are pinned\n# custom:\n#   id: PIN001\n#   severity: low\n#   kinds: [Pod]\npackage pin\n\ndeny contains {\"msg\": \"image is not pinned\", \"path\": [\"spec\", \"containers\", i, \"image\"]} if {\n  some i, c in input.object.spec.containers\n  not contains(c.image, \"@sha256:\")\n}\n",
    );
    let config = "rules:\n  severity: {PIN001: critical}\nexceptions:\n  - rule: PIN001\n    name: a\n    reason: pinned by the deploy pipeline\n";
    let result = scan_with(dir.path(), &[rego], in_process(), config);
    let pin: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.code == "PIN001")
        .collect();
    assert_eq!(pin.len(), 2);
    let a = pin.iter().find(|f| f.resource.name == "a").unwrap();
    let b = pin.iter().find(|f| f.resource.name == "b").unwrap();
    assert!(a.suppressed.is_some());
    assert!(b.suppressed.is_none());
    assert_eq!(b.severity, kspm_model::Severity::Critical);
    assert_eq!(b.slug, "images-are-pinned");
    assert_eq!(b.path.to_string(), "spec.containers[0].image");
    assert_eq!((b.pos.line, b.pos.col), (12, 26));
}

#[test]
fn a_failing_policy_test_fails_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.rego",
        "# METADATA\n# custom: {id: T001}\npackage t\n\ndeny contains \"has hostNetwork\" if input.object.spec.hostNetwork\n",
    );
    write(
        dir.path(),
        "p.tests.yaml",
        "cases:\n  - name: wrong expectation\n    manifest: {apiVersion: v1, kind: Pod, metadata: {name: x}, spec: {hostNetwork: true}}\n    expect: []\n  - name: missed violation\n    manifest: {apiVersion: v1, kind: Pod, metadata: {name: y}, spec: {}}\n    expect: [{message: hostNetwork}]\n  - name: right\n    manifest: {apiVersion: v1, kind: Pod, metadata: {name: z}, spec: {hostNetwork: true}}\n    expect: [{policy: T001, message: hostNetwork}]\n",
    );
    let report = kspm_policy::testing::run(&[dir.path().join("p.rego")], in_process());
    assert!(!report.ok());
    assert_eq!((report.passed(), report.failed()), (1, 2));
    let text = kspm_report::policy_test::text(&report);
    assert!(
        text.contains("unexpected violation of T001 on Pod/x"),
        "{text}"
    );
    assert!(
        text.contains("expected message containing \"hostNetwork\", not reported"),
        "{text}"
    );
    assert!(text.ends_with("1 passed, 2 failed\n"), "{text}");
    let junit = kspm_report::policy_test::junit(&report);
    assert!(
        junit.contains("<testcase name=\"wrong expectation\""),
        "{junit}"
    );
    assert!(junit.contains("failures=\"2\""), "{junit}");
}

#[test]
fn gatekeeper_inventory_sees_the_other_objects() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "unique-host.yaml",
        r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8suniqueingresshost}
spec:
  crd: {spec: {names: {kind: K8sUniqueIngressHost}}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniqueingresshost

        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          other := data.inventory.namespace[ns][_]["Ingress"][name]
          not same(other, ns, name)
          other.spec.rules[_].host == host
          msg := sprintf("host %v is also used by ingress %v/%v", [host, ns, name])
        }

        same(obj, ns, name) {
          ns == input.review.namespace
          name == input.review.object.metadata.name
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueIngressHost
metadata: {name: unique-hosts}
spec:
  enforcementAction: dryrun
  match: {kinds: [{apiGroups: [networking.k8s.io], kinds: [Ingress]}]}
"#,
    );
    write(
        dir.path(),
        "unique-host.tests.yaml",
        "cases:\n  - name: two ingresses share a host\n    manifest: |\n      apiVersion: networking.k8s.io/v1\n      kind: Ingress\n      metadata: {name: a, namespace: shop}\n      spec: {rules: [{host: shop.example.com}]}\n      ---\n      apiVersion: networking.k8s.io/v1\n      kind: Ingress\n      metadata: {name: b, namespace: web}\n      spec: {rules: [{host: shop.example.com}]}\n      ---\n      apiVersion: networking.k8s.io/v1\n      kind: Ingress\n      metadata: {name: c, namespace: web}\n      spec: {rules: [{host: other.example.com}]}\n    expect:\n      - message: host shop.example.com is also used by ingress web/b\n      - message: host shop.example.com is also used by ingress shop/a\n",
    );
    let report = kspm_policy::testing::run(&[dir.path().to_path_buf()], in_process());
    assert!(report.ok(), "{}", kspm_report::policy_test::text(&report));
    let loaded = load(&[dir.path().to_path_buf()], in_process());
    let (rule, _) = loaded.set.sources().next().unwrap();
    // dryrun: recorded, not blocking.
    assert_eq!(rule.meta.severity, kspm_model::Severity::Low);
    assert_eq!(rule.meta.code, "gk:K8sUniqueIngressHost:unique-hosts");
}

#[test]
fn vap_bindings_set_severity_and_unknown_references_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "vap.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: no-latest}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  validations:\n    - expression: \"object.spec.containers.all(c, !c.image.endsWith(':latest'))\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: warn-only}\nspec: {policyName: no-latest, validationActions: [Warn, Audit]}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: orphan}\nspec: {policyName: not-here, validationActions: [Deny]}\n",
    );
    let loaded = load(std::slice::from_ref(&file), in_process());
    let text = messages(&loaded.diagnostics).join("\n");
    assert!(
        text.contains(&format!(
            "{}:18:7: error: ValidatingAdmissionPolicyBinding orphan names policy `not-here`",
            file.display()
        )),
        "{text}"
    );
    let (rule, _) = loaded.set.sources().next().unwrap();
    assert_eq!(rule.meta.code, "vap:no-latest");
    assert_eq!(rule.meta.severity, kspm_model::Severity::Medium);
}

#[test]
fn a_cel_policy_over_its_budget_is_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    // CEL cannot be interrupted mid-expression; the overrun is caught when it returns, and the
    // policy is not evaluated on the remaining objects.
    let cel = write(
        dir.path(),
        "slow.yaml",
        "apiVersion: kspm.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: slow-cel}\nspec:\n  id: CELSLOW\n  validations:\n    - expression: \"lists.range(300000).all(x, x >= 0) && false\"\n      message: never mind\n",
    );
    let limits = Limits {
        timeout: Duration::from_millis(1),
        ..in_process()
    };
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n---\n";
    let pods = pod.repeat(20);
    let result = scan_text(dir.path(), &pods, &[cel], limits, "");
    let text = messages(&result.diagnostics).join("\n");
    assert!(text.contains("policy CELSLOW"), "{text}");
    assert!(text.contains("over its 1 ms limit: stopped"), "{text}");
    // The evaluations already running when it overran finish (one per worker thread, with
    // their verdicts); the other objects are skipped.
    let findings = result
        .findings
        .iter()
        .filter(|f| f.code == "CELSLOW")
        .count();
    assert!(
        findings >= 1 && findings <= rayon_threads(),
        "{findings}: {text}"
    );
    assert_eq!(result.resources, 20);
}
