//! End-to-end tests of `kspm rbac` and `kspm network` on the shipped examples: what a user
//! types, what they read, and the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn kspm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("kspm runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

const RBAC: &str = "examples/rbac-escalation.yaml";
const NET: &str = "examples/network-policies.yaml";

#[test]
fn who_can_lists_subjects_with_binding_and_role() {
    let out = kspm(&[
        "rbac",
        "who-can",
        "create",
        "deployments",
        "-n",
        "prod",
        RBAC,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    let subjects: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["namespace"].as_str().unwrap_or("").to_owned(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        vec![
            ("Group".into(), String::new(), "system:masters".into()),
            ("ServiceAccount".into(), "ci".into(), "builder".into()),
            ("ServiceAccount".into(), "prod".into(), "deployer".into()),
        ]
    );
    let builder = &list[1]["via"][0];
    assert_eq!(builder["binding"]["kind"], "RoleBinding");
    assert_eq!(builder["binding"]["name"], "ci-deploys");
    assert_eq!(builder["role"]["name"], "deployer");
    assert_eq!(builder["namespace"], "prod");
    // The binding to a role that is not in the file is reported, not fatal.
    assert!(
        stderr(&out).contains("RoleBinding/team-a/leftover: refers to Role team-a/removed-role"),
        "{}",
        stderr(&out)
    );

    // Another namespace: the RoleBinding in prod does not apply.
    let out = kspm(&[
        "rbac",
        "who-can",
        "create",
        "deployments",
        "-n",
        "staging",
        RBAC,
    ]);
    let text = stdout(&out);
    assert!(text.starts_with("Who can create deployments.apps in namespace staging:"));
    assert!(!text.contains("builder"), "{text}");
    assert!(
        text.contains("ClusterRoleBinding deployer-admin → ClusterRole cluster-admin (built in)")
    );
}

#[test]
fn who_can_keeps_subresources_and_resource_names_apart() {
    let exec = kspm(&[
        "rbac",
        "who-can",
        "create",
        "pods/exec",
        "-n",
        "prod",
        RBAC,
        "-f",
        "json",
    ]);
    let names: Vec<String> = json(&exec)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["oncall", "system:masters", "deployer"]);

    let secret = |name: Option<&str>| {
        let mut args = vec![
            "rbac", "who-can", "get", "secrets", "-n", "team-a", RBAC, "-f", "json",
        ];
        if let Some(n) = name {
            args.extend(["--name", n]);
        }
        json(&kspm(&args))
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(!secret(None).contains(&"alice".to_owned()));
    assert!(secret(Some("app-config")).contains(&"alice".to_owned()));
    assert!(secret(Some("app-config")).contains(&"dev".to_owned()));
}

#[test]
fn permissions_of_a_service_account_include_its_groups() {
    let out = kspm(&[
        "rbac",
        "permissions",
        "system:serviceaccount:ci:builder",
        RBAC,
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["subject"]["name"], "builder");
    let groups: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        vec![
            "system:serviceaccounts",
            "system:serviceaccounts:ci",
            "system:authenticated"
        ]
    );
    let perms = v["permissions"].as_array().unwrap();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0]["rule"]["resources"][0], "deployments");
    assert_eq!(perms[0]["namespace"], "prod");

    let table = stdout(&kspm(&["rbac", "permissions", "user:alice", RBAC]));
    assert!(table.contains("get,list,watch on pods,pods/log"), "{table}");
    assert!(
        table.contains("get on secrets (names: app-config)"),
        "{table}"
    );

    let bad = kspm(&["rbac", "permissions", "alice", RBAC]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(stderr(&bad).contains("name a subject as user:NAME"));
}

#[test]
fn escalation_paths_name_the_workloads_and_draw_as_graphs() {
    let out = kspm(&["rbac", "paths", RBAC]);
    let text = stdout(&out);
    assert!(
        text.contains("ServiceAccount ci/builder can create deployments in prod (RoleBinding prod/ci-deploys → Role prod/deployer) → a pod can run as ServiceAccount prod/deployer which is bound to cluster-admin"),
        "{text}"
    );
    assert!(
        text.contains("User oncall can exec into pods in prod"),
        "{text}"
    );
    assert!(text.contains("held by: Deployment/prod/api"), "{text}");
    assert!(text.ends_with("2 escalation paths.\n"), "{text}");

    let paths = json(&kspm(&["rbac", "paths", RBAC, "-f", "json"]));
    assert_eq!(paths.as_array().unwrap().len(), 2);

    let dot = stdout(&kspm(&["rbac", "graph", RBAC]));
    assert!(dot.starts_with("digraph rbac_escalation {"), "{dot}");
    assert!(
        dot.contains("\"ServiceAccount prod/deployer\" -> \"cluster-admin\""),
        "{dot}"
    );
    let mermaid = stdout(&kspm(&["rbac", "graph", "--format", "mermaid", RBAC]));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("|\"create deployments in prod [Deployment/prod/api]\"|"),
        "{mermaid}"
    );
}

#[test]
fn reachability_answers_with_the_deciding_policies() {
    let out = kspm(&[
        "network",
        "reachability",
        NET,
        "--from",
        "front/app=web",
        "--to",
        "payments/app=api",
        "--port",
        "8080",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["allowed"], true);
    assert_eq!(
        v["pairs"][0]["ingress"]["allowed_by"][0]["name"],
        "from-front"
    );

    // Another port: the named port `http` is 8080 only.
    let v = json(&kspm(&[
        "network",
        "reachability",
        NET,
        "--from",
        "front/app=web",
        "--to",
        "payments/app=api",
        "--port",
        "443/TCP",
        "-f",
        "json",
    ]));
    assert_eq!(v["allowed"], false);

    let text = stdout(&kspm(&[
        "network",
        "reachability",
        NET,
        "--from",
        "shop",
        "--to",
        "payments/app=api",
    ]));
    assert!(
        text.starts_with("shop → payments/app=api: DENIED"),
        "{text}"
    );
    assert!(
        text.contains("ingress: denied (selected by payments/default-deny, payments/from-front"),
        "{text}"
    );

    let bad = kspm(&[
        "network",
        "reachability",
        NET,
        "--from",
        "a",
        "--to",
        "b",
        "--port",
        "http",
    ]);
    assert_eq!(bad.status.code(), Some(3));
    let missing = kspm(&["network", "reachability", "--from", "a"]);
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn matrix_coverage_and_exposure() {
    let m = json(&kspm(&[
        "network",
        "reachability",
        NET,
        "--matrix",
        "-f",
        "json",
    ]));
    assert_eq!(
        m["namespaces"],
        serde_json::json!(["front", "payments", "shop"])
    );
    // payments only admits front's web pods; everything else is open.
    assert_eq!(
        m["allowed"],
        serde_json::json!([[true, true, true], [true, false, true], [true, false, true]])
    );
    let table = stdout(&kspm(&["network", "reachability", NET, "--matrix"]));
    assert!(table.contains("payments   yes    -         yes"), "{table}");

    let gaps = json(&kspm(&["network", "coverage", NET, "-f", "json"]));
    let kinds: Vec<(&str, &str)> = gaps
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["kind"].as_str().unwrap(), g["object"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("namespace-without-policy", "shop")),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|(_, o)| *o == "payments"), "{kinds:?}");

    let exposed = json(&kspm(&["network", "exposure", NET, "-f", "json"]));
    assert_eq!(exposed[0]["workload"], "Deployment/front/web");
    let reasons = exposed[0]["reasons"].to_string();
    assert!(
        reasons.contains("Service front/web is of type LoadBalancer"),
        "{reasons}"
    );
    assert!(
        reasons.contains("Ingress front/web routes to Service web without TLS"),
        "{reasons}"
    );
}

#[test]
fn unreadable_input_is_reported_and_the_rest_is_analysed() {
    let out = kspm(&[
        "rbac",
        "who-can",
        "get",
        "pods",
        "-n",
        "team-a",
        RBAC,
        "no-such-file.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such-file.yaml"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("alice"));
}

#[test]
fn stdin_works_like_a_file() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args([
            "rbac", "who-can", "list", "secrets", "-n", "x", "-", "-f", "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\nsubjects: [{kind: Group, name: \"system:authenticated\"}]\nroleRef: {kind: ClusterRole, name: cluster-admin}\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let names: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["system:authenticated", "system:masters"]);
}

#[test]
fn bad_input_is_located_and_the_rest_is_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.yaml");
    std::fs::write(
        &file,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: a}\nrules: not-a-list\n---\nkind: [unclosed\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: a}\nsubjects: [{kind: Robot, name: x}, {kind: User, name: carol}]\nroleRef: {kind: ClusterRole, name: cluster-admin}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: not-a-cidr}}]}]\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = kspm(&[
        "rbac", "who-can", "delete", "pods", "-n", "a", path, "-f", "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("mixed.yaml:6:"), "{err}");
    assert!(
        err.contains("mixed.yaml:4:8: Role/a/r: `rules` must be a list, found a string"),
        "{err}"
    );
    assert!(
        err.contains("subject kind `Robot` is not User, Group or ServiceAccount"),
        "{err}"
    );
    let names: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["carol", "system:masters"]);

    let out = kspm(&[
        "network",
        "reachability",
        path,
        "--from",
        "b",
        "--to",
        "a",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ipBlock at 19:31 has no valid cidr"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&out)["allowed"], false);
}
