//! Policies read from a live cluster loaded together with policy files
//! (`kspm_policy::load_with_cluster`): one set, references across both, clashes reported, the
//! cluster's objects named as `cluster:Kind/name`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kspm_engine::{Input, ScanOptions, scan};
use kspm_model::{Node, Resource, Source};
use kspm_policy::{Limits, load_with_cluster};
use serde_json::{Value, json};

/// An object as kspm_cluster hands it over: from JSON, its source naming the cluster object.
fn live(obj: &Value) -> Resource {
    let kind = obj["kind"].as_str().unwrap();
    let name = obj["metadata"]["name"].as_str().unwrap();
    let file = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("cluster:{kind}/{ns}/{name}"),
        None => format!("cluster:{kind}/{name}"),
    };
    Resource::from_node(
        Node::from_json(obj),
        Source {
            file: file.into(),
            doc: 0,
            origin: None,
        },
    )
    .unwrap()
}

fn vap(name: &str, expression: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["pods"]}]},
            "validations": [{"expression": expression, "message": format!("{name} says no")}]
        }
    })
}

fn binding(name: &str, policy: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": policy, "validationActions": ["Audit"]}
    })
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn messages(loaded: &kspm_policy::Loaded) -> String {
    loaded
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn codes(loaded: &kspm_policy::Loaded) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = loaded
        .set
        .sources()
        .map(|(r, f)| (r.meta.code.to_owned(), f.to_owned()))
        .collect();
    out.sort();
    out
}

/// Names of the pods a loaded set reports, by rule code.
fn reported(loaded: kspm_policy::Loaded, dir: &Path, pods: &str) -> Vec<(String, String)> {
    let manifests = write(dir, "pods.yaml", pods);
    let set = Arc::new(loaded.set);
    let opts = ScanOptions {
        inputs: vec![Input::Path(manifests)],
        rules: kspm_engine::Policies::rules(&*set),
        policies: Some(set),
        ..ScanOptions::default()
    };
    let mut out: Vec<(String, String)> = scan(&opts)
        .findings
        .iter()
        .map(|f| (f.code.to_owned(), f.resource.name.clone()))
        .collect();
    out.sort();
    out
}

const PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: latest}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: pinned, labels: {team: a}}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n";

#[test]
fn bindings_in_files_and_policies_in_the_cluster_meet_in_one_set() {
    let dir = tempfile::tempdir().unwrap();
    // A binding in a file for a policy of the cluster, and a binding of the cluster for a policy
    // in a file.
    let file = write(
        dir.path(),
        "local.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: local-binding}\nspec: {policyName: no-latest, validationActions: [Deny]}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: team-label}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  validations:\n    - expression: \"has(object.metadata.labels) && 'team' in object.metadata.labels\"\n      message: no team label\n",
    );
    let cluster = [
        live(&vap(
            "no-latest",
            "object.spec.containers.all(c, !c.image.endsWith(':latest'))",
        )),
        live(&binding("team-label-audit", "team-label")),
    ];
    let loaded = load_with_cluster(std::slice::from_ref(&file), &cluster, Limits::default());
    assert!(loaded.diagnostics.is_empty(), "{}", messages(&loaded));
    assert_eq!(
        codes(&loaded),
        [
            (
                "vap:no-latest".to_owned(),
                "cluster:ValidatingAdmissionPolicy/no-latest".to_owned()
            ),
            ("vap:team-label".to_owned(), file.display().to_string()),
        ]
    );
    // The file binding says Deny: high; the rule's page names the cluster object.
    let rule = kspm_rules::find_rule("vap:no-latest").unwrap();
    assert_eq!(rule.meta.severity, kspm_model::Severity::High);
    assert!(
        rule.meta
            .docs
            .contains("`cluster:ValidatingAdmissionPolicy/no-latest`"),
        "{}",
        rule.meta.docs
    );
    assert_eq!(
        reported(loaded, dir.path(), PODS),
        [
            ("vap:no-latest".to_owned(), "latest".to_owned()),
            ("vap:team-label".to_owned(), "latest".to_owned()),
        ]
    );
}

#[test]
fn a_policy_both_in_a_file_and_in_the_cluster_is_loaded_once_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "twice.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: twice}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  validations:\n    - expression: \"object.metadata.name != 'pinned'\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: twice}\nspec: {policyName: twice, validationActions: [Warn]}\n",
    );
    let cluster = [
        live(&vap("twice", "object.metadata.name != 'latest'")),
        live(&binding("twice", "twice")),
        live(&binding("twice-audit", "twice")),
    ];
    let loaded = load_with_cluster(std::slice::from_ref(&file), &cluster, Limits::default());
    let text = messages(&loaded);
    assert!(
        text.contains(&format!(
            "cluster:ValidatingAdmissionPolicy/twice: warning: ValidatingAdmissionPolicy twice is installed in the cluster and also given in {}: the policy file's ValidatingAdmissionPolicy twice is used, the cluster's is skipped",
            file.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "cluster:ValidatingAdmissionPolicyBinding/twice: warning: ValidatingAdmissionPolicyBinding twice is installed in the cluster"
        ),
        "{text}"
    );
    assert!(!loaded.has_errors(), "{text}");
    // The file's policy, once per binding: the file's own and the cluster's other one.
    let got = codes(&loaded);
    assert_eq!(
        got.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["vap:twice:twice", "vap:twice:twice-audit"],
        "{got:?}"
    );
    assert!(got.iter().all(|(_, f)| *f == file.display().to_string()));
    // The file's expression, not the cluster's, and each binding once.
    assert_eq!(
        reported(loaded, dir.path(), PODS),
        [
            ("vap:twice:twice".to_owned(), "pinned".to_owned()),
            ("vap:twice:twice-audit".to_owned(), "pinned".to_owned()),
        ]
    );
}

#[test]
fn an_unbound_policy_of_the_cluster_is_not_evaluated() {
    let cluster = [live(&vap("idle", "false"))];
    let loaded = load_with_cluster(&[], &cluster, Limits::default());
    assert!(loaded.set.is_empty());
    assert_eq!(
        messages(&loaded),
        "cluster:ValidatingAdmissionPolicy/idle: warning: ValidatingAdmissionPolicy idle has no binding in the cluster or the policy files: it enforces nothing, so it is not evaluated"
    );
}

#[test]
fn errors_in_cluster_policies_name_the_cluster_object() {
    let mut broken = vap("broken", "object.spec.containers.all(c, ");
    broken["metadata"]["name"] = json!("broken");
    let cluster = [
        live(&broken),
        live(&binding("broken", "broken")),
        live(&binding("orphan", "gone")),
        live(&json!({
            "apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": "K8sNothing",
            "metadata": {"name": "lonely"},
            "spec": {}
        })),
    ];
    let loaded = kspm_policy::load_resources(&cluster, Limits::default());
    let text = messages(&loaded);
    for want in [
        "cluster:ValidatingAdmissionPolicy/broken: error: ",
        "cluster:ValidatingAdmissionPolicyBinding/orphan: error: ValidatingAdmissionPolicyBinding orphan names policy `gone`, which is not among the loaded policies; binding skipped",
        "cluster:K8sNothing/lonely: error: constraint lonely is of kind K8sNothing, whose ConstraintTemplate is not among the loaded policies; skipped",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(loaded.set.is_empty());
}

#[test]
fn a_template_of_the_cluster_defining_a_kind_a_file_defines_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let template = |name: &str, message: &str| {
        json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
            "metadata": {"name": name},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sNoLatest"}}},
              "targets": [{"target": "admission.k8s.gatekeeper.sh", "code": [{
                "engine": "K8sNativeValidation",
                "source": {"validations": [{
                    "expression": "object.spec.containers.all(c, !c.image.endsWith(':latest'))",
                    "message": message}]}}]}]}})
    };
    let file = write(
        dir.path(),
        "template.json",
        &template("k8snolatest", "from the file").to_string(),
    );
    let cluster = [
        live(&template("k8snolatest-v2", "from the cluster")),
        live(
            &json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sNoLatest",
            "metadata": {"name": "no-latest-tags"}, "spec": {}}),
        ),
    ];
    let loaded = load_with_cluster(std::slice::from_ref(&file), &cluster, Limits::default());
    let text = messages(&loaded);
    assert!(
        text.contains(&format!(
            "cluster:ConstraintTemplate/k8snolatest-v2: warning: ConstraintTemplate k8snolatest-v2 is installed in the cluster and also given in {}: the policy file's ConstraintTemplate k8snolatest is used",
            file.display()
        )),
        "{text}"
    );
    let manifests = write(dir.path(), "pods.yaml", PODS);
    let set = Arc::new(loaded.set);
    let opts = ScanOptions {
        inputs: vec![Input::Path(manifests)],
        rules: kspm_engine::Policies::rules(&*set),
        policies: Some(set),
        ..ScanOptions::default()
    };
    let messages: Vec<String> = scan(&opts)
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.code, f.resource.name, f.message))
        .collect();
    assert_eq!(
        messages,
        ["gk:K8sNoLatest:no-latest-tags latest from the file"]
    );
}
