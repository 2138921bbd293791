//! Kyverno policies as they are: which rules are evaluated, which are skipped and why, and how
//! `match`/`exclude`, namespaced `Policy` objects and auto-generation decide what is judged.

use kspm_engine::PolicyOutput;
use kspm_model::index::Index;
use kspm_model::yaml::{Limits as YamlLimits, parse_stream};
use kspm_model::{Resource, Source};
use kspm_policy::{Limits, load_sources};

fn limits() -> Limits {
    Limits {
        memory: None,
        ..Limits::default()
    }
}

fn resources(text: &str) -> Vec<Resource> {
    let (docs, errors) = parse_stream(text, &YamlLimits::default());
    assert!(errors.is_empty(), "{errors:?}");
    docs.into_iter()
        .enumerate()
        .map(|(i, d)| {
            let source = Source {
                file: "objects.yaml".into(),
                doc: i,
                origin: None,
            };
            Resource::from_node(d.root, source).unwrap()
        })
        .collect()
}

/// `(rule code, kind/name)` of every finding of `policy` on `objects`, and the load diagnostics.
fn judge(policy: &str, objects: &str) -> (Vec<String>, Vec<String>) {
    let loaded = load_sources(&[("kyverno.yaml".to_owned(), policy.to_owned())], limits());
    let diags: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    let objects = resources(objects);
    let index = Index::build(&objects);
    let run = loaded.set.run(&objects);
    let mut out = PolicyOutput::default();
    for r in &objects {
        let ns = r.namespace().and_then(|n| index.find("Namespace", None, n));
        run.check(r, ns, &mut out);
    }
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let mut found: Vec<String> = out
        .findings
        .iter()
        .map(|f| format!("{} {}/{}", f.code, f.resource.kind, f.resource.name))
        .collect();
    found.sort();
    (found, diags)
}

const HOSTNET: &str = "expressions:\n            - expression: \"!(has(object.spec.hostNetwork) && object.spec.hostNetwork)\"\n              message: no host network";

fn policy(kind: &str, meta: &str, rules: &str) -> String {
    format!(
        "apiVersion: kyverno.io/v1\nkind: {kind}\nmetadata:\n{meta}\nspec:\n  validationFailureAction: Audit\n  rules:\n{rules}"
    )
}

fn hostnet_rule(name: &str, matching: &str) -> String {
    format!("    - name: {name}\n{matching}\n      validate:\n        cel:\n          {HOSTNET}\n")
}

const OBJECTS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: pod, namespace: shop}\nspec: {hostNetwork: true, containers: [{name: a, image: x}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deploy, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: d}}\n    spec: {hostNetwork: true, containers: [{name: a, image: x}]}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cron, namespace: other}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: c}}\n        spec: {hostNetwork: true, containers: [{name: a, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: quiet, namespace: shop}\nspec: {containers: [{name: a, image: x}]}\n";

const ANY_POD: &str = "      match:\n        any:\n        - resources:\n            kinds: [Pod]";

#[test]
fn pod_rules_also_judge_controllers_unless_told_otherwise() {
    let meta = "  name: hostnet";
    let (found, diags) = judge(
        &policy("ClusterPolicy", meta, &hostnet_rule("r", ANY_POD)),
        OBJECTS,
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        found,
        [
            "kyverno:hostnet CronJob/cron",
            "kyverno:hostnet Deployment/deploy",
            "kyverno:hostnet Pod/pod"
        ]
    );
    let only_deployments =
        "  name: hostnet\n  annotations: {pod-policies.kyverno.io/autogen-controllers: Deployment}";
    let (found, _) = judge(
        &policy(
            "ClusterPolicy",
            only_deployments,
            &hostnet_rule("r", ANY_POD),
        ),
        OBJECTS,
    );
    assert_eq!(
        found,
        [
            "kyverno:hostnet Deployment/deploy",
            "kyverno:hostnet Pod/pod"
        ]
    );
    let none =
        "  name: hostnet\n  annotations: {pod-policies.kyverno.io/autogen-controllers: none}";
    let (found, _) = judge(
        &policy("ClusterPolicy", none, &hostnet_rule("r", ANY_POD)),
        OBJECTS,
    );
    assert_eq!(found, ["kyverno:hostnet Pod/pod"]);
    // As in Kyverno, a filter that names objects or selects them by labels, or Pods mixed with
    // other kinds, anywhere in the policy, turns generation off.
    for filter in [
        "            selector: {matchLabels: {app: x}}",
        "            names: [\"*\"]",
    ] {
        let matching = format!("{ANY_POD}\n{filter}");
        let (found, _) = judge(
            &policy(
                "ClusterPolicy",
                "  name: hostnet",
                &hostnet_rule("r", &matching),
            ),
            OBJECTS,
        );
        assert!(
            !found
                .iter()
                .any(|f| f.contains("Deployment") || f.contains("CronJob")),
            "{filter}: {found:?}"
        );
    }
    let mixed =
        "      match:\n        any:\n        - resources:\n            kinds: [Pod, Deployment]";
    let (found, _) = judge(
        &policy(
            "ClusterPolicy",
            "  name: hostnet",
            &hostnet_rule("r", mixed),
        ),
        OBJECTS,
    );
    // The Deployment is judged by the rule itself (its `object.spec` has no hostNetwork), so
    // only the Pod is reported; no CronJob either.
    assert_eq!(found, ["kyverno:hostnet Pod/pod"]);
}

#[test]
fn match_exclude_and_namespaced_policies() {
    // A namespaced Policy judges its own namespace only.
    let (found, _) = judge(
        &policy(
            "Policy",
            "  name: hostnet\n  namespace: other",
            &hostnet_rule("r", ANY_POD),
        ),
        OBJECTS,
    );
    assert_eq!(found, ["kyverno:hostnet CronJob/cron"]);
    // exclude.any by namespace; group/version/kind forms; a filter for UPDATE only never matches.
    let matching = "      match:\n        any:\n        - resources:\n            kinds: [v1/Pod]\n        - resources:\n            kinds: [apps/v1/Deployment]\n        - resources:\n            kinds: [batch/v1/CronJob]\n            operations: [UPDATE]\n      exclude:\n        any:\n        - resources:\n            namespaces: [other]";
    let (found, _) = judge(
        &policy(
            "ClusterPolicy",
            "  name: hostnet",
            &hostnet_rule("r", matching),
        ),
        OBJECTS,
    );
    assert_eq!(
        found,
        [
            "kyverno:hostnet Deployment/deploy",
            "kyverno:hostnet Pod/pod"
        ]
    );
    // match.all: every filter must hold (kinds and a name pattern).
    let all = "      match:\n        all:\n        - resources:\n            kinds: [Pod]\n        - resources:\n            names: [\"p?d\"]";
    let (found, _) = judge(
        &policy("ClusterPolicy", "  name: hostnet", &hostnet_rule("r", all)),
        OBJECTS,
    );
    assert!(
        found.contains(&"kyverno:hostnet Pod/pod".to_owned()),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.contains("quiet")), "{found:?}");
}

#[test]
fn rules_kspm_cannot_evaluate_are_skipped_with_the_reason() {
    let rules = "    - name: pattern\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate:\n        pattern: {spec: {hostNetwork: false}}\n    - name: mutate\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      mutate: {patchStrategicMerge: {metadata: {labels: {a: b}}}}\n    - name: who\n      match: {any: [{subjects: [{kind: User, name: bob}], resources: {kinds: [Pod]}}]}\n      validate: {cel: {expressions: [{expression: 'true'}]}}\n    - name: jmespath\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      preconditions: {all: [{key: '{{ request.operation }}', operator: NotEquals, value: DELETE}]}\n      validate: {cel: {expressions: [{expression: 'true'}]}}\n";
    let text = policy("ClusterPolicy", "  name: mixed", rules);
    let loaded = load_sources(&[("kyverno.yaml".to_owned(), text)], limits());
    let diags: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(!loaded.has_errors(), "skips are warnings: {diags:#?}");
    for (line, why) in [
        (8, "validates with `pattern`"),
        (12, "is a `mutate` rule"),
        (15, "filters on who makes the request (`subjects`)"),
        (18, "uses JMESPath `preconditions`"),
    ] {
        let want = format!("kyverno.yaml:{line}:7: warning:");
        assert!(
            diags
                .iter()
                .any(|d| d.starts_with(&want) && d.contains(why)),
            "{want} {why}: {diags:#?}"
        );
    }
    assert!(loaded.set.is_empty());
}

#[test]
fn a_cel_error_in_a_kyverno_rule_names_its_line() {
    let rules = "    - name: broken\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate:\n        cel:\n          expressions:\n            - expression: \"object.spec.hostNetwork ==\"\n";
    let text = policy("ClusterPolicy", "  name: broken", rules);
    let loaded = load_sources(&[("kyverno.yaml".to_owned(), text)], limits());
    let diags: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("kyverno.yaml:13:27: error: CEL syntax error")),
        "{diags:#?}"
    );
}

#[test]
fn validating_policies_are_evaluated_like_admission_policies() {
    let policy = "apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: no-host-network
  annotations: {policies.kyverno.io/title: No host network}
spec:
  validationActions: [Deny]
  autogen: {podControllers: {controllers: [deployments]}}
  matchConstraints:
    resourceRules:
    - apiGroups: ['', apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods, deployments]
  variables:
  - name: spec
    expression: \"object.kind == 'Pod' ? object.spec : object.spec.template.spec\"
  validations:
  - expression: \"!(has(variables.spec.hostNetwork) && variables.spec.hostNetwork)\"
    message: no host network
";
    let (found, diags) = judge(policy, OBJECTS);
    assert_eq!(
        found,
        [
            "kyverno:no-host-network Deployment/deploy",
            "kyverno:no-host-network Pod/pod"
        ]
    );
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("kyverno.yaml:8:12: warning:")
                && d.contains("does not apply its auto-generation")),
        "{diags:#?}"
    );
    let loaded = load_sources(&[("kyverno.yaml".to_owned(), policy.to_owned())], limits());
    let (rule, _) = loaded.set.sources().next().unwrap();
    assert_eq!(rule.meta.severity, kspm_model::Severity::High);
    assert_eq!(rule.meta.title, "No host network");
}

#[test]
fn cel_params_come_from_the_objects_loaded_with_the_policy() {
    let rule = "    - name: r
      match: {any: [{resources: {kinds: [Deployment]}}]}
      validate:
        cel:
          paramKind: {apiVersion: v1, kind: ConfigMap}
          paramRef: {name: limits, namespace: policy-params, parameterNotFoundAction: Deny}
          expressions:
          - expression: \"!has(object.spec.replicas) || object.spec.replicas <= int(params.data.max)\"
            messageExpression: \"'at most ' + params.data.max + ' replicas'\"
";
    let params = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: policy-params}\ndata: {max: \"2\"}\n";
    let objects = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big, namespace: shop}\nspec:\n  replicas: 5\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: small, namespace: shop}\nspec:\n  replicas: 1\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}\n";
    let text = policy("ClusterPolicy", "  name: replicas", rule) + params;
    let (found, diags) = judge(&text, objects);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(found, ["kyverno:replicas Deployment/big"]);
    // Without the params object, Deny reports every object it matches, with a warning.
    let text = policy("ClusterPolicy", "  name: replicas", rule);
    let (found, diags) = judge(&text, objects);
    assert_eq!(
        found,
        [
            "kyverno:replicas Deployment/big",
            "kyverno:replicas Deployment/small"
        ]
    );
    assert!(
        diags.iter().any(|d| d.contains(
            "no ConfigMap params object named limits among the loaded policies for Kyverno rule replicas/r"
        )),
        "{diags:?}"
    );
}

#[test]
fn params_of_a_kyverno_rule_in_the_cluster_are_not_guessed() {
    let text = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: replicas}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Deployment]}}]}\n    validate:\n      cel:\n        paramKind: {apiVersion: v1, kind: ConfigMap}\n        paramRef: {name: limits, namespace: p, parameterNotFoundAction: Deny}\n        expressions: [{expression: 'object.spec.replicas <= int(params.data.max)'}]\n";
    let (docs, _) = parse_stream(text, &YamlLimits::default());
    let source = Source {
        file: "cluster:ClusterPolicy/replicas".into(),
        doc: 0,
        origin: None,
    };
    let live = Resource::from_node(docs.into_iter().next().unwrap().root, source).unwrap();
    let loaded = kspm_policy::load_resources(&[live], limits());
    let diags: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(loaded.set.is_empty(), "{diags:?}");
    assert!(
        diags
            .iter()
            .any(|d| d.contains("takes params, which kspm does not read from the cluster")),
        "{diags:?}"
    );
}
