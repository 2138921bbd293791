//! End-to-end tests of the `kspm` binary: what a user types, what they get, and the exit code.

mod support;
use support::have_tool;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn kspm(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("kspm runs")
}

fn kspm_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kspm runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: t\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n";

#[test]
fn scans_the_shipped_examples() {
    let out = kspm(&["scan", "examples"], &repo_root());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PS004 privileged-container"), "{text}");
    assert!(
        text.contains("examples/insecure-deployment.yaml:"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().contains("findings"), "{text}");
}

#[test]
fn reads_stdin_and_points_at_the_line() {
    let out = kspm_stdin(
        &[
            "scan",
            "-",
            "--format",
            "json",
            "--select",
            "privileged-container",
        ],
        PRIVILEGED_POD,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "PS004");
    assert_eq!(f["source"]["file"], "-");
    assert_eq!(f["source"]["line"], 11);
    assert_eq!(f["path"], "spec.containers[0].securityContext.privileged");
    assert_eq!(f["resource"]["kind"], "Pod");
    assert_eq!(f["value"], "true");
    assert_eq!(f["fix"]["patch"][0]["op"], "add");
    assert_eq!(v["summary"]["by_severity"]["critical"], 1);
}

#[test]
fn exit_codes_tell_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let clean =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\ndata: {a: b}\n";
    std::fs::write(dir.path().join("clean.yaml"), clean).unwrap();
    let out = kspm(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Broken input next to good input: the good one is still scanned, and the exit code is 2.
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: [unclosed\n",
    )
    .unwrap();
    let out = kspm(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["summary"]["resources"], 1);
    assert_eq!(v["errors"][0]["file"], "./broken.yaml");
    assert!(v["errors"][0]["line"].as_u64().is_some());

    // Input errors win over findings: the scan is incomplete, whatever it found (exit 2), so CI
    // can tell "findings" from "findings, and part of the input was never judged".
    std::fs::write(dir.path().join("bad.yaml"), PRIVILEGED_POD).unwrap();
    let out = kspm(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = kspm(
        &["scan", ".", "--select", "PS004", "--fail-on", "critical"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    // Without the broken file: findings at or above --fail-on give 1.
    let out = kspm(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = kspm(
        &["scan", ".", "--select", "host-pid", "--fail-on", "critical"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));

    // Usage errors: 3.
    assert_eq!(
        kspm(&["scan", "--select", "no-such-rule"], dir.path())
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        kspm(&["scan", "--format", "xml"], dir.path()).status.code(),
        Some(3)
    );
    assert_eq!(
        kspm(&["explain", "nope"], dir.path()).status.code(),
        Some(3)
    );
}

#[test]
fn wrong_types_and_bad_documents_are_diagnostics() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    securityContext:\n      privileged: \"yes\"\n---\n- just\n- a list\n---\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  hostPID: true\n  containers: []\n";
    let out = kspm_stdin(&["scan", "-", "--format", "json"], input);
    let v = json(&out);
    let errors = v["errors"].as_array().unwrap();
    let messages: Vec<&str> = errors
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("privileged") && m.contains("must be a boolean")),
        "{messages:?}"
    );
    // A list document has neither apiVersion nor kind: not a manifest, a notice says so.
    assert!(
        errors.iter().any(|e| e["level"] == "notice"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("neither apiVersion nor kind")),
        "{errors:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("missing `apiVersion`")),
        "{messages:?}"
    );
    // The valid document after them is still judged.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "PS001")
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exceptions_from_config_and_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let annotated = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: agent\n  namespace: ops\n  annotations:\n    kspm.io/ignore: host-pid\n    kspm.io/ignore-reason: node agent\nspec:\n  hostPID: true\n  containers: [{name: a, image: x:1}]\n";
    std::fs::write(
        dir.path().join("pods.yaml"),
        format!("{PRIVILEGED_POD}---\n{annotated}"),
    )
    .unwrap();
    let config = "rules:\n  select: [host-pid, privileged-container]\nexceptions:\n  - rule: PS004\n    namespace: t\n    reason: legacy\n    owner: team-a\n    expires: 2099-01-01\n  - rule: host-pid\n    kind: Deployment\n    reason: old\n    expires: 2001-01-01\n";
    std::fs::write(dir.path().join("kspm.yaml"), config).unwrap();

    let out = kspm(&["scan", ".", "--format", "json"], dir.path());
    let v = json(&out);
    assert_eq!(v["summary"]["findings"], 0, "{v}");
    assert_eq!(v["summary"]["suppressed"], 2);
    // The expired exception is reported, with its line in the config file.
    let expired = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message"].as_str().unwrap().contains("expired"));
    assert_eq!(expired.expect("expired exception reported")["line"], 9);
    assert_eq!(out.status.code(), Some(0));

    // Owners cannot waive their own findings when annotations are switched off.
    let out = kspm(
        &["scan", ".", "--format", "json", "--no-inline-exceptions"],
        dir.path(),
    );
    let v = json(&out);
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(v["findings"][0]["rule"], "PS001");
    assert_eq!(out.status.code(), Some(1));

    let out = kspm(
        &["scan", ".", "--show-suppressed", "--format", "json"],
        dir.path(),
    );
    let v = json(&out);
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    assert!(v["findings"][0]["suppressed"]["reason"].is_string());
}

#[test]
fn reports_go_to_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    for (format, check) in [
        ("json", "\"rule\": \"PS004\""),
        ("table", "PS004 privileged-container"),
    ] {
        let name = format!("report.{format}");
        let out = kspm(
            &[
                "scan", "pod.yaml", "--select", "PS004", "-f", format, "-o", &name,
            ],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).is_empty(), "{format}: stdout must stay empty");
        let written = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        assert!(written.contains(check), "{format}: {written}");
    }
}

#[test]
fn bad_config_is_a_usage_error_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kspm.yaml"), "rules:\n  selectt: [all]\n").unwrap();
    let out = kspm(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("kspm.yaml:2:3: unknown key `selectt`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cluster_policies_belong_to_live_scans() {
    let dir = tempfile::tempdir().unwrap();
    let out = kspm(&["scan", "--cluster-policies", "."], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the following required arguments were not provided:\n  --cluster"),
        "{}",
        stderr(&out)
    );
    // In kspm.yaml it is for live scans; a file scan with the same configuration ignores it.
    std::fs::write(dir.path().join("kspm.yaml"), "cluster_policies: true\n").unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\ndata: {k: v}\n",
    )
    .unwrap();
    let out = kspm(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let out = kspm(
        &["scan", "examples", "--format", "sarif", "--select", "all"],
        &repo_root(),
    );
    let v = json(&out);
    let schema: serde_json::Value = serde_json::from_str(include_str!(
        "../../kspm_report/tests/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some()
    );
    let rule_count = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .len();
    assert!(rule_count >= 2);
}

#[test]
fn junit_has_a_case_per_rule_and_resource() {
    let out = kspm_stdin(
        &["scan", "-", "--format", "junit", "--select", "PS001,PS004"],
        PRIVILEGED_POD,
    );
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains("privileged-container"));
}

#[test]
fn rules_and_explain() {
    let root = repo_root();
    let out = kspm(&["rules", "--format", "json"], &root);
    let v = json(&out);
    let list = v.as_array().unwrap();
    assert!(
        list.iter()
            .all(|r| r["frameworks"]["cis"].is_array() && r["code"].is_string())
    );
    let out = kspm(&["explain", "host-pid"], &root);
    let text = stdout(&out);
    assert!(
        text.contains("## Why is this bad?") && text.contains("5.2.3"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn kustomize_directories_are_rendered() {
    if !have_tool("kustomize") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [pod.yaml]\nnamespace: rendered\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = kspm(
        &["scan", ".", "--format", "json", "--select", "PS004"],
        dir.path(),
    );
    let v = json(&out);
    // Rendered: the overlay's namespace is applied, so the finding comes from the render.
    assert_eq!(v["findings"][0]["resource"]["namespace"], "rendered", "{v}");
    assert_eq!(v["summary"]["resources"], 1);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn kustomize_without_a_renderer_names_the_missing_tools() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [pod.yaml]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["scan", ".", "--format", "json"])
        .current_dir(dir.path())
        .env("PATH", "")
        .output()
        .unwrap();
    let v = json(&out);
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("kustomize or kubectl"), "{v}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn helm_chart_without_helm_names_the_missing_tool() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(dir.path().join("other.yaml"), PRIVILEGED_POD).unwrap();
    // An empty PATH: helm cannot be found, the rest of the scan goes on.
    let out = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["scan", ".", "--format", "json", "--select", "PS004"])
        .current_dir(dir.path())
        .env("PATH", "")
        .output()
        .unwrap();
    let v = json(&out);
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("helm"),
        "{v}"
    );
    assert_eq!(v["errors"][0]["file"], "./chart");
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn credential_like_values_never_reach_a_report() {
    // No rule means to print this value (it is an image name here), but it looks like a GitHub
    // token, so the evidence safety net must drop it from every format.
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: t}}\nspec:\n  containers:\n  - name: a\n    image: {token}\n"
    );
    // And in a diagnostic quoting a wrongly typed field.
    let pod = format!("{pod}    securityContext: {{privileged: {token}}}\n");
    for format in ["json", "table", "sarif", "junit"] {
        let out = kspm_stdin(&["scan", "-", "--format", format, "--select", "all"], &pod);
        // The wrongly typed field is an input error: exit 2.
        assert!(out.status.code() == Some(2), "{format}: {}", stderr(&out));
        assert!(
            !stdout(&out).contains(token),
            "{format} output leaks the value"
        );
        assert!(!stderr(&out).contains(token));
    }
}

#[test]
fn helm_charts_are_rendered_and_findings_name_the_template() {
    if !have_tool("helm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "privileged: true\nimage: nginx:1.27\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\n  namespace: shop\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image }}\n        securityContext:\n          privileged: {{ .Values.privileged }}\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n",
    )
    .unwrap();
    let out = kspm(
        &["scan", "chart", "--format", "json", "--select", "PS004"],
        dir.path(),
    );
    let v = json(&out);
    assert_eq!(v["summary"]["resources"], 2, "{v}");
    let f = &v["findings"][0];
    assert_eq!(f["resource"]["name"], "kspm-web");
    assert_eq!(f["source"]["file"], "chart");
    assert_eq!(f["source"]["template"], "demo/templates/deployment.yaml");
    assert!(f["source"]["line"].as_u64().is_some());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn folded_findings_are_named_listed_in_json_and_shown_on_request() {
    let table = kspm_stdin(
        &["scan", "-", "--select", "PS004,PS006,PS009,PS019"],
        PRIVILEGED_POD,
    );
    let text = stdout(&table);
    assert!(text.contains("PS004 privileged-container"), "{text}");
    // Implied by privileged: named in the message, not reported on their own.
    assert!(
        text.contains("(also: PS006 capabilities-not-dropped, PS009 net-raw-not-dropped, PS019 privilege-escalation-allowed)"),
        "{text}"
    );
    assert!(
        !text.contains("PS006 capabilities-not-dropped  Pod"),
        "{text}"
    );
    assert!(!text.contains("folded:"), "{text}");
    assert!(
        text.contains("1 finding (1 critical, 0 high, 0 medium, 0 low, 0 info) in 1 resource from 1 source; 3 more folded into them (--show-folded lists them)"),
        "{text}"
    );
    let shown = kspm_stdin(
        &[
            "scan",
            "-",
            "--select",
            "PS004,PS006,PS009,PS019",
            "--show-folded",
        ],
        PRIVILEGED_POD,
    );
    let text = stdout(&shown);
    for line in [
        "folded: PS006 capabilities-not-dropped  spec.containers[0].securityContext.capabilities.drop",
        "folded: PS019 privilege-escalation-allowed  spec.containers[0].securityContext.allowPrivilegeEscalation",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let out = kspm_stdin(
        &[
            "scan",
            "-",
            "--select",
            "PS004,PS006,PS009,PS019",
            "--format",
            "json",
        ],
        PRIVILEGED_POD,
    );
    let v = json(&out);
    assert_eq!(v["summary"]["findings"], 1);
    let folded: Vec<&str> = v["findings"][0]["folded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap())
        .collect();
    assert_eq!(folded, ["PS006", "PS009", "PS019"]);
    assert_eq!(
        v["findings"][0]["folded"][0]["path"],
        "spec.containers[0].securityContext.capabilities.drop"
    );
}

/// Two unrelated projects whose files name no namespace: one's deny-all policy does not cover
/// the other's workloads, and neither is taken to be in `default`.
#[test]
fn namespace_less_objects_of_other_directories_are_not_joined() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for sub in ["a", "b", "c"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
    let web = |ns: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web{ns}}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: a, image: nginx:1.27}}]\n"
        )
    };
    std::fs::write(dir.join("a/policy.yaml"), deny).unwrap();
    std::fs::write(dir.join("a/web.yaml"), web("")).unwrap();
    std::fs::write(dir.join("b/web.yaml"), web("")).unwrap();
    // c's deployment is explicitly in `default`: no namespace-less policy covers it either.
    std::fs::write(dir.join("c/web.yaml"), web(", namespace: default")).unwrap();
    let out = kspm(&["scan", ".", "--select", "NW009", "--format", "json"], dir);
    let v = json(&out);
    let mut flagged: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"]["file"].as_str().unwrap().replace('\\', "/"))
        .collect();
    flagged.sort();
    // a's policy covers a's deployment only (same directory, no namespace).
    assert_eq!(
        flagged,
        ["./b/web.yaml", "./c/web.yaml"],
        "{}",
        stdout(&out)
    );
}

#[test]
fn namespaces_whose_pods_all_use_the_host_network_need_no_network_policy() {
    let dir = tempfile::tempdir().unwrap();
    let ns =
        |name: &str| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n---\n");
    let ds = |ns: &str, host: bool| {
        format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: agent, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: a}}}}\n  template:\n    metadata: {{labels: {{app: a}}}}\n    spec:\n      hostNetwork: {host}\n      containers: [{{name: a, image: 'x:1'}}]\n---\n"
        )
    };
    std::fs::write(
        dir.path().join("all.yaml"),
        format!(
            "{}{}{}{}{}",
            ns("cni"),
            ds("cni", true),
            ns("apps"),
            ds("apps", false),
            ns("empty")
        ),
    )
    .unwrap();
    let out = kspm(
        &["scan", ".", "--select", "NW008", "-f", "json"],
        dir.path(),
    );
    let v = json(&out);
    let mut flagged: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"]["name"].as_str().unwrap())
        .collect();
    flagged.sort_unstable();
    // `cni` runs only host-network pods: policies cannot apply there.
    assert_eq!(flagged, ["apps", "empty"], "{v}");
}

#[test]
fn file_scans_judge_references_against_the_whole_input() {
    let input = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api-server}
  maxReplicas: 5
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api-svc, port: {number: 80}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: example/api:1.0
        envFrom: [{configMapRef: {name: api-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api-settings, namespace: shop}
";
    let out = kspm_stdin(
        &[
            "scan",
            "-",
            "--format",
            "json",
            "--select",
            "WL021,WL026,NW014,NW015",
        ],
        input,
    );
    let v = json(&out);
    let mut got: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "NW014".to_owned(),
                "spec.rules[0].http.paths[0].backend.service.name".to_owned()
            ),
            (
                "WL021".to_owned(),
                "spec.template.spec.containers[0].envFrom[0].configMapRef.name".to_owned()
            ),
            ("WL026".to_owned(), "spec.scaleTargetRef.name".to_owned()),
        ],
        "{v:#}"
    );
}
