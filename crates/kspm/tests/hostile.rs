//! Hostile repositories: what an attacker can put in a tree that kspm scans in CI. Each case is
//! written here (small inputs; the blow-ups come from structure, not size), runs the real binary
//! under a data-segment cap (`ulimit -d`: bounded memory) and a time limit (a hang guard, not a
//! benchmark), and asserts the exit code, the diagnostics and what the report must not contain.
//! The threat model and each defence: docs/security.md.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{stderr, stdout};

/// Runs `kspm ARGS` in `cwd` with at most `data_mib` MiB of data segment and `secs` seconds.
fn capped(args: &[&str], cwd: &Path, data_mib: u64, secs: u64, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -d {}; exec \"$0\" \"$@\"", data_mib * 1024))
        .arg(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("KSPM_NO_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sh runs");
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kspm {args:?} ran past {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn run(args: &[&str], cwd: &Path) -> Output {
    capped(args, cwd, 512, 120, &[])
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}), exit {:?}:\n{}\n{}",
            o.status.code(),
            stdout(o),
            stderr(o)
        )
    })
}

fn messages(v: &serde_json::Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e["level"], e["message"]))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n  containers:\n  - {name: a, image: 'nginx:1.27', securityContext: {privileged: true}}\n";

#[test]
fn a_binding_with_thousands_of_service_accounts_stays_linear() {
    let dir = tempfile::tempdir().unwrap();
    let mut subjects = String::new();
    for i in 0..3000 {
        subjects.push_str(&format!(
            "- {{kind: ServiceAccount, name: sa{i}, namespace: ci}}\n"
        ));
    }
    write(
        dir.path(),
        "rbac.yaml",
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: deployer, namespace: ci}}\nrules:\n- {{apiGroups: [''], resources: [pods], verbs: [create]}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: all, namespace: ci}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}}\nsubjects:\n{subjects}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: admin-sa}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects:\n- {{kind: ServiceAccount, name: sa0, namespace: ci}}\n"
        ),
    );
    // 5.8 GB before the graph had fan nodes; now well inside 512 MiB.
    let out = run(
        &["scan", ".", "--select", "RB014", "-f", "json"],
        dir.path(),
    );
    let v = json(&out);
    let paths = v["findings"].as_array().unwrap();
    // Every other service account of `ci` can create a pod as sa0, which is cluster-admin: the
    // findings on the one binding stop at the per-resource cap, which says so (exit 2).
    assert_eq!(paths.len(), 1000);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        messages(&v)
            .iter()
            .any(|m| m.contains("limits.max_findings_per_resource")),
        "{:#?}",
        messages(&v)
    );
    assert!(
        paths[0]["message"].as_str().unwrap().contains("sa0"),
        "{}",
        paths[0]
    );
}

#[test]
fn thousands_of_network_policies_in_one_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: n}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n",
    );
    for i in 0..4000 {
        text.push_str(&format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: n}}\nspec:\n  podSelector: {{matchLabels: {{app: a{i}}}}}\n  ingress: [{{}}]\n"));
    }
    write(dir.path(), "np.yaml", &text);
    let out = run(
        &["scan", ".", "--select", "NW012", "-f", "json"],
        dir.path(),
    );
    let v = json(&out);
    assert_eq!(v["findings"].as_array().unwrap().len(), 4000);
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NetworkPolicy deny")
    );
}

#[test]
fn containers_past_the_cap_are_not_judged_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // An aliased container repeated 20,000 times: 60 KB of YAML.
    let mut aliased = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: alias, namespace: t}\nspec:\n  containers:\n  - &c {name: a, image: x, securityContext: {privileged: true}}\n",
    );
    for _ in 0..20_000 {
        aliased.push_str("  - *c\n");
    }
    write(dir.path(), "alias.yaml", &aliased);
    // 250,000 inline containers in flow style (5 MB).
    let mut inline = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: inline, namespace: t}\nspec:\n  containers: [",
    );
    for _ in 0..250_000 {
        inline.push_str("{name: a, image: x},");
    }
    inline.push_str("]\n");
    write(dir.path(), "inline.yaml", &inline);
    write(dir.path(), "ok.yaml", POD);
    let out = capped(
        &["scan", ".", "-f", "json", "--select", "all"],
        dir.path(),
        400,
        120,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = json(&out);
    let said = messages(&v);
    // The aliased one is stopped by the alias-node limit already, the inline one by the
    // container cap.
    assert!(said.iter().any(|m| m.contains("alias bomb")), "{said:#?}");
    assert!(
        said.iter()
            .any(|m| m.contains("Pod/t/inline") && m.contains("limits.max_containers")),
        "{said:#?}"
    );
    // The good pod is still judged, and the report is complete JSON.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resource"]["name"] == "p")
    );
}

#[test]
fn findings_past_the_scan_cap_are_cut_with_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&POD.replace("name: p,", &format!("name: p{i},")));
        text.push_str("---\n");
    }
    write(dir.path(), "pods.yaml", &text);
    write(dir.path(), "limits.yaml", "limits: {max_findings: 100}\n");
    let out = run(
        &["scan", "pods.yaml", "--config", "limits.yaml", "-f", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    // The cap counts findings as rules report them; folding implied ones afterwards may leave
    // fewer in the report.
    let kept = v["findings"].as_array().unwrap().len();
    assert!(kept > 0 && kept <= 100, "{kept}");
    assert!(
        messages(&v)
            .iter()
            .any(|m| m.contains("limits.max_findings (100)")),
        "{:#?}",
        messages(&v)
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_manifest_does_not_hang_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    let fifo = dir.path().join("x.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = capped(&["scan", ".", "-f", "json"], dir.path(), 512, 30, &[]);
    let v = json(&out);
    assert!(
        messages(&v)
            .iter()
            .any(|m| m.contains("not a regular file")),
        "{:#?}",
        messages(&v)
    );
    assert_eq!(v["summary"]["resources"], 1);
    // Named explicitly, it is refused the same way.
    let out = capped(&["scan", "x.yaml"], dir.path(), 512, 30, &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn a_chart_with_a_symlink_out_of_it_is_not_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("outside-secret.txt");
    std::fs::write(&secret, "s3cr3t-from-outside\n").unwrap();
    let chart = dir.path().join("repo/chart");
    write(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        &chart,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Files.Get \"files/data\" | trim | quote }}\n",
    );
    std::fs::create_dir_all(chart.join("files")).unwrap();
    std::os::unix::fs::symlink(&secret, chart.join("files/data")).unwrap();
    for format in ["json", "table", "sarif", "markdown"] {
        let out = run(&["scan", "repo", "-f", format], dir.path());
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains("s3cr3t-from-outside"), "{format}: {all}");
        assert!(all.contains("symbolic link"), "{format}: {all}");
    }
}

#[test]
fn remote_kustomize_resources_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "overlay/kustomization.yaml",
        "resources:\n- pod.yaml\n- http://127.0.0.1:9/evil.yaml\n- github.com/example/repo//deploy?ref=main\n",
    );
    write(dir.path(), "overlay/pod.yaml", POD);
    write(dir.path(), "overlay/unlisted.yaml", POD);
    let out = run(&["scan", "overlay", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = messages(&json(&out));
    assert!(
        said.iter().any(|m| m.contains("remote")
            && m.contains("http://127.0.0.1:9/evil.yaml")
            && m.contains("--allow-remote")),
        "{said:#?}"
    );
    // A discovered configuration cannot allow it.
    write(
        dir.path(),
        "overlay/kspm.yaml",
        "allow_remote_resources: true\n",
    );
    let out = run(&["scan", "overlay", "-f", "json"], dir.path());
    let said = messages(&json(&out));
    assert!(
        said.iter().any(|m| m.contains("allow_remote_resources")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|m| m.contains("remote resources")),
        "{said:#?}"
    );
}

#[test]
fn a_discovered_config_cannot_switch_the_scan_off_unseen() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    write(
        dir.path(),
        "kspm.yaml",
        "rules: {ignore: [all]}\npolicies: [/dev/zero]\nlimits: {max_file_bytes: 999999999999}\n",
    );
    // The command line wins: --select all still runs every rule.
    let out = run(&["scan", ".", "--select", "all", "-f", "json"], dir.path());
    let v = json(&out);
    assert!(v["summary"]["findings"].as_u64().unwrap() > 0, "{v}");
    let said = messages(&v);
    for what in [
        "--select on the command line wins",
        "/dev/zero",
        "max_file_bytes",
    ] {
        assert!(said.iter().any(|m| m.contains(what)), "{what}: {said:#?}");
    }
    assert_eq!(v["summary"]["config"]["origin"], "discovered");
    // Without --select it applies, and every summary says what it did.
    let out = run(&["scan", "."], dir.path());
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("config ./kspm.yaml (discovered):")
            && text.contains("rules off")
            && text.contains("no rule was run"),
        "{text}"
    );
    let out = run(&["scan", ".", "-f", "markdown"], dir.path());
    assert!(stdout(&out).contains("discovered\\)"), "{}", stdout(&out));
    // --no-config and KSPM_NO_CONFIG ignore it.
    let out = run(&["scan", ".", "--no-config"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = capped(
        &["scan", "."],
        dir.path(),
        512,
        60,
        &[("KSPM_NO_CONFIG", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // Named explicitly, a policy path that is not a regular file is refused, not read forever.
    write(dir.path(), "trusted.yaml", "policies: [/dev/zero]\n");
    let out = capped(
        &["scan", ".", "--config", "trusted.yaml", "-f", "json"],
        dir.path(),
        512,
        60,
        &[],
    );
    assert!(
        messages(&json(&out))
            .iter()
            .any(|m| m.contains("/dev/zero") || m.contains("not a regular file")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_index_prefilter_cannot_be_fooled_by_yaml_syntax() {
    let dir = tempfile::tempdir().unwrap();
    for (i, kind) in [
        "kind: !!str ClusterRoleBinding",
        "kind: &k ClusterRoleBinding",
        "kind: >-\n  ClusterRoleBinding",
    ]
    .iter()
    .enumerate()
    {
        write(
            dir.path(),
            &format!("crb{i}.yaml"),
            &format!(
                "apiVersion: rbac.authorization.k8s.io/v1\n{kind}\nmetadata: {{name: ci-admin{i}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects:\n- {{kind: ServiceAccount, name: builder, namespace: ci}}\n"
            ),
        );
    }
    write(
        dir.path(),
        "role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: pods, namespace: ci}\nrules:\n- {apiGroups: [''], resources: [pods], verbs: [create]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: pods, namespace: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods}\nsubjects:\n- {kind: ServiceAccount, name: dev, namespace: ci}\n",
    );
    let out = run(
        &["scan", ".", "--select", "RB014", "-f", "json"],
        dir.path(),
    );
    let v = json(&out);
    // ci/dev can create pods in ci, as ci/builder, which one of the bindings makes cluster-admin.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("builder")),
        "{v}"
    );
}

#[test]
fn skipped_files_are_said_and_an_empty_scan_is_not_clean() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".hidden/pod.yaml", POD);
    write(dir.path(), "node_modules/pkg/pod.yaml", POD);
    let out = run(&["scan", ".", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let said = messages(&json(&out));
    for what in ["hidden", "node_modules", "nothing was judged"] {
        assert!(said.iter().any(|m| m.contains(what)), "{what}: {said:#?}");
    }
    // A repository root with non-manifest YAML just works: one notice, no input error.
    write(
        dir.path(),
        "docker-compose.yml",
        "services:\n  web: {image: nginx}\n",
    );
    write(dir.path(), "mkdocs.yml", "site_name: x\nnav: [a, b]\n");
    write(dir.path(), "deploy/pod.yaml", POD);
    let out = run(&["scan", ".", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json(&out);
    let said = messages(&v);
    assert!(
        said.iter()
            .any(|m| m.contains("\"notice\"") && m.contains("2 in all")),
        "{said:#?}"
    );
}

#[test]
fn names_cannot_inject_terminal_or_markdown() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: \"evil\\e[2J\\u0007\\rfake 0 findings\\n![img](https://x.example/a.png)[link](https://x.example)\", namespace: t}\nspec:\n  containers:\n  - {name: a, image: 'nginx:1.27', securityContext: {privileged: true}}\n";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", pod);
    let out = run(&["scan", ".", "--color", "never"], dir.path());
    let text = stdout(&out);
    assert!(text.contains("evil"), "{text}");
    for c in ['\u{1b}', '\u{7}', '\r'] {
        assert!(!text.contains(c), "raw {c:?} in the table");
    }
    assert!(!text.contains("\nfake 0 findings"));
    let out = run(&["scan", ".", "-f", "markdown"], dir.path());
    let md = stdout(&out);
    assert!(md.contains("evil"));
    assert!(!md.contains('\u{1b}'));
    // Outside code spans (where nothing renders), no link or image syntax survives.
    let outside: String = md.split('`').step_by(2).collect();
    assert!(!outside.contains("](https://"), "{md}");
    assert!(!outside.contains("![img]"), "{md}");
}

#[test]
fn a_credential_in_a_type_error_is_never_printed() {
    let secret = "hunter2-Sup3rSecret";
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: t}}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n    env: \"DB_PASSWORD={secret}\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", &pod);
    for format in ["table", "json", "sarif", "junit", "markdown", "html"] {
        let out = run(&["scan", ".", "-f", format, "--select", "all"], dir.path());
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(secret), "{format} prints the value:\n{all}");
        assert!(all.contains("DB_PASSWORD"), "{format}: {all}");
    }
}

#[test]
fn the_report_of_the_last_run_does_not_change_the_next() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    let first = run(
        &["scan", ".", "-f", "json", "-o", "report.json"],
        dir.path(),
    );
    let sarif = run(
        &["scan", ".", "-f", "sarif", "-o", "report.sarif.json"],
        dir.path(),
    );
    let again = run(&["scan", ".", "-f", "json"], dir.path());
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(sarif.status.code(), Some(1));
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    let v = json(&again);
    assert_eq!(v["summary"]["resources"], 1);
    assert!(
        messages(&v)
            .iter()
            .any(|m| m.contains("report written by kspm")),
        "{:#?}",
        messages(&v)
    );
}

#[cfg(unix)]
#[test]
fn output_edge_cases_tell_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    // `-o -` is standard output.
    let out = run(&["scan", ".", "-f", "json", "-o", "-"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    json(&out);
    assert!(!dir.path().join("-").exists());
    // A device is written to, never replaced (renaming a report over /dev/null would replace
    // the device with a file), and an existing report keeps its permissions.
    let out = run(&["scan", ".", "-f", "json", "-o", "/dev/null"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(
            &std::fs::metadata("/dev/null").unwrap().file_type()
        ),
        "/dev/null is no longer a device"
    );
    let report = dir.path().join("r.json");
    std::fs::write(&report, "old").unwrap();
    std::fs::set_permissions(&report, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    run(&["scan", ".", "-f", "json", "-o", "r.json"], dir.path());
    let meta = std::fs::metadata(&report).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o640
    );
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("kspm.io/scan/v1")
    );
    // Standard output closed: an error, not a silent success.
    let closed = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" scan . >&-")
        .arg(env!("CARGO_BIN_EXE_kspm"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(3));
    assert!(stderr(&closed).contains("standard output is closed"));
    // A reader that stops early: the scan's own exit code, in every format.
    let mut big = String::new();
    for i in 0..3000 {
        big.push_str(&POD.replace("name: p,", &format!("name: p{i},")));
        big.push_str("---\n");
    }
    write(dir.path(), "pod.yaml", &big);
    for format in ["table", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kspm"))
            .args(["scan", ".", "-f", format])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        std::io::Read::read_exact(&mut out, &mut first).unwrap();
        drop(out);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{format}");
    }
}

#[test]
fn a_recursive_rego_function_in_process_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    write(
        dir.path(),
        "pol/rec.rego",
        "# METADATA\n# custom: {id: REC001, severity: low}\npackage rec\n\nf(x) := y if { y := f(x + 1) }\n\ndeny contains \"boom\" if { f(1) > 0 }\n",
    );
    let out = run(
        &[
            "scan",
            "pod.yaml",
            "--policy",
            "pol",
            "--policy-memory",
            "0",
            "-f",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        messages(&json(&out))
            .iter()
            .any(|m| m.contains("calls itself")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn utf16_and_concatenated_json_are_read_like_kubectl_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in POD.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::File::create(dir.path().join("utf16.yaml"))
        .unwrap()
        .write_all(&utf16)
        .unwrap();
    let obj = |name: &str| {
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"t\"}},\"spec\":{{\"hostPID\":true,\"containers\":[{{\"name\":\"a\",\"image\":\"x:1\"}}]}}}}"
        )
    };
    write(
        dir.path(),
        "stream.json",
        &format!("{}{}\n{}", obj("j1"), obj("j2"), obj("j3")),
    );
    let out = run(&["scan", ".", "-f", "json"], dir.path());
    let v = json(&out);
    assert_eq!(v["summary"]["resources"], 4, "{:#?}", messages(&v));
    assert_eq!(v["summary"]["errors"], 0, "{:#?}", messages(&v));
}

#[test]
fn deep_documents_at_the_depth_cap_do_not_overflow_with_policies() {
    let dir = tempfile::tempdir().unwrap();
    let d = 995;
    write(
        dir.path(),
        "deep.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: deep, namespace: t}}\nspec:\n  containers: [{{name: c, image: x}}]\n  x: {}{}\n",
            "[".repeat(d),
            "]".repeat(d)
        ),
    );
    write(dir.path(), "cfg.yaml", "limits: {max_depth: 1000}\n");
    let policies = support::repo_root().join("examples/policies");
    let out = run(
        &[
            "scan",
            "deep.yaml",
            "--config",
            "cfg.yaml",
            "--policy",
            policies.to_str().unwrap(),
            "--policy-memory",
            "0",
            "-f",
            "json",
        ],
        dir.path(),
    );
    let v = json(&out);
    assert_eq!(v["summary"]["resources"], 1);
    // Deeper than the cap is refused in the configuration itself.
    write(dir.path(), "cfg.yaml", "limits: {max_depth: 100000}\n");
    let out = run(&["scan", "deep.yaml", "--config", "cfg.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("at most 1000"));
}

#[test]
fn renderers_get_a_time_limit_and_an_output_cap() {
    if !support::have_tool("helm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    // 10^10 iterations in little memory: it would run for hours.
    write(
        dir.path(),
        "slow/Chart.yaml",
        "apiVersion: v2\nname: slow\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "slow/templates/x.yaml",
        "{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}\n",
    );
    // 50 MB of output.
    write(
        dir.path(),
        "big/Chart.yaml",
        "apiVersion: v2\nname: big\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "big/templates/x.yaml",
        "# {{ range until 20000 }}{{ \"x\" | repeat 1000 }}{{ end }}\n",
    );
    write(
        dir.path(),
        "limits.yaml",
        "limits: {render_timeout_ms: 3000, max_render_bytes: 1000000}\n",
    );
    let out = capped(
        &[
            "scan",
            "pod.yaml",
            "slow",
            "--config",
            "limits.yaml",
            "-f",
            "json",
        ],
        dir.path(),
        1024,
        60,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = json(&out);
    let said = messages(&v);
    assert!(
        said.iter()
            .any(|m| m.contains("ran longer than 3000 ms") && m.contains("render_timeout_ms")),
        "{said:#?}"
    );
    assert_eq!(v["summary"]["resources"], 1);
    write(
        dir.path(),
        "limits.yaml",
        "limits: {render_timeout_ms: 100000, max_render_bytes: 1000000}\n",
    );
    let out = capped(
        &[
            "scan",
            "pod.yaml",
            "big",
            "--config",
            "limits.yaml",
            "-f",
            "json",
        ],
        dir.path(),
        1024,
        110,
        &[],
    );
    let v = json(&out);
    let said = messages(&v);
    assert!(
        said.iter()
            .any(|m| m.contains("more than 1000000 bytes") && m.contains("max_render_bytes")),
        "{said:#?}"
    );
    assert_eq!(v["summary"]["resources"], 1);
}

#[test]
fn renderer_warnings_are_kept() {
    if !support::have_tool("kustomize") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "overlay/kustomization.yaml",
        "resources: [pod.yaml]\ncommonLabels: {team: a}\n",
    );
    write(dir.path(), "overlay/pod.yaml", POD);
    write(dir.path(), "overlay/forgotten.yaml", POD);
    let out = run(&["scan", "overlay", "-f", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = messages(&json(&out));
    assert!(
        said.iter()
            .any(|m| m.contains("warning") && m.contains("commonLabels")),
        "{said:#?}"
    );
    // The file the kustomization does not list is named, not silently passed over.
    assert!(
        said.iter()
            .any(|m| m.contains("does not list") && m.contains("notice")),
        "{said:#?}"
    );
}
