//! Files whose shape makes a text edit easy to get wrong: flow style, several documents, CRLF,
//! odd indentation and tabs, JSON, a byte order mark, anchors (refused), a file that changes
//! between the scan and the write, symbolic links, Helm charts and Kustomize overlays (refused
//! with the place to change instead).

mod support;

use std::path::Path;

use kspm_fix::{FixOptions, Reason, Written};
use support::{fix_one, options};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostPID: true\n  containers:\n  - name: a\n    image: nginx:1.27\n";

#[test]
fn flow_mappings_and_sequences_stay_flow() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flow.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {a: b}}\nspec: {hostPID: true, containers: [{name: a, image: 'nginx:1.27', securityContext: {privileged: true, capabilities: {add: [NET_ADMIN, SYS_TIME]}}}]}\n",
    );
    let (plan, after) = fix_one(&path);
    assert!(plan.fixed.len() >= 4, "{:?}", plan.fixed);
    // Still one line of flow style for the spec, quoting kept.
    assert_eq!(after.lines().count(), 4, "{after}");
    assert!(after.contains("image: 'nginx:1.27'"), "{after}");
    assert!(after.contains("privileged: false"), "{after}");
    assert!(
        !after.contains("NET_ADMIN") && !after.contains("hostPID"),
        "{after}"
    );
}

#[test]
fn other_documents_and_separators_are_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let first = "# leading comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  k: v # keep\n";
    let last = "---\n# a Service\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n...\n";
    let text = format!("{first}---\n{POD}\n\n{last}");
    let path = write(dir.path(), "multi.yaml", &text);
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    assert!(after.starts_with(&format!("{first}---\n")), "{after}");
    assert!(after.ends_with(&format!("\n\n{last}")), "{after}");
}

#[test]
fn crlf_line_endings_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "crlf.yaml", &POD.replace('\n', "\r\n"));
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "{after:?}"
    );
}

#[test]
fn odd_indentation_and_tabs_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    // Three spaces a level, lists indented by one under their key, a tab after a colon.
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n   name: p\nspec:\n   hostPID:\ttrue\n   containers:\n    - name: a\n      image: nginx:1.27\n";
    let path = write(dir.path(), "odd.yaml", text);
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    assert!(
        after.contains(
            "\n   securityContext:\n      seccompProfile:\n         type: RuntimeDefault"
        ),
        "{after}"
    );
    assert!(
        after.contains("\n         capabilities:\n            drop:\n             - ALL"),
        "{after}"
    );
}

#[test]
fn json_stays_json_with_its_indentation() {
    let dir = tempfile::tempdir().unwrap();
    let pod: serde_json::Value = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"hostPID": true, "containers": [{"name": "a", "image": "nginx:1.27", "securityContext": {"privileged": true}}]}
    });
    let text = serde_json::to_string_pretty(&pod)
        .unwrap()
        .replace("  ", "    ")
        + "\n";
    let path = write(dir.path(), "pod.json", &text);
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    let parsed: serde_json::Value = serde_json::from_str(&after).expect("still JSON");
    assert_eq!(
        parsed["spec"]["containers"][0]["securityContext"]["privileged"],
        false
    );
    assert!(
        after.contains("\n        \"automountServiceAccountToken\": false"),
        "{after}"
    );
}

#[test]
fn a_byte_order_mark_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bom.yaml", &format!("\u{feff}{POD}"));
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    assert!(after.starts_with('\u{feff}'));
}

#[test]
fn anchors_are_refused_and_their_document_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let anchored = "apiVersion: v1\nkind: Pod\nmetadata: {name: anchored}\nspec:\n  hostPID: true\n  containers:\n  - &c {name: a, image: nginx:1.27}\n";
    let text = format!("{anchored}---\n{POD}");
    let path = write(dir.path(), "anchors.yaml", &text);
    let (plan, after) = fix_one(&path);
    assert!(after.starts_with(anchored), "{after}");
    assert!(plan.fixed.iter().all(|f| f.resource.name == "p"));
    assert!(!plan.fixed.is_empty());
    let refused: Vec<_> = plan
        .left
        .iter()
        .filter(|l| l.finding.resource.name == "anchored")
        .collect();
    assert!(!refused.is_empty());
    for l in refused {
        if l.finding.fix.is_some() {
            assert!(
                matches!(&l.reason, Reason::Refused(why) if why.contains("anchors")),
                "{:?}",
                l.reason
            );
        }
    }
}

#[test]
fn a_file_changed_between_scan_and_write_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "pod.yaml", POD);
    let mut opts = options(&[&path]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert!(plan.changed().count() == 1);
    let edited = POD.replace("name: p", "name: edited-meanwhile");
    std::fs::write(&path, &edited).unwrap();
    let written = kspm_fix::write(&plan);
    assert!(
        matches!(written[0].1, Written::ChangedMeanwhile),
        "{:?}",
        written[0].1
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

#[test]
fn modes_are_kept_and_a_second_run_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "pod.yaml", POD);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut opts = options(&[dir.path()]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert!(
        plan.passes >= 2,
        "folded findings surface in a second round"
    );
    kspm_fix::write(&plan);
    let once = std::fs::read(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let again = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert_eq!(again.changed().count(), 0, "{:?}", again.fixed);
    assert!(again.fixed.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), once);
}

#[test]
fn symbolic_links_are_not_edited_and_files_outside_are_not_touched() {
    let outside = tempfile::tempdir().unwrap();
    let target = write(outside.path(), "outside.yaml", POD);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("out-link.yaml")).unwrap();
    let inside = write(
        dir.path(),
        "real.yaml",
        &POD.replace("name: p", "name: real"),
    );
    std::os::unix::fs::symlink(&inside, dir.path().join("in-link.yaml")).unwrap();
    let mut opts = options(&[dir.path()]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    kspm_fix::write(&plan);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), POD);
    assert!(
        std::fs::symlink_metadata(dir.path().join("in-link.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_ne!(
        std::fs::read_to_string(&inside).unwrap(),
        POD.replace("name: p", "name: real")
    );
    let refused = plan
        .left
        .iter()
        .any(|l| matches!(&l.reason, Reason::Refused(why) if why.contains("symbolic link")));
    assert!(
        refused,
        "{:?}",
        plan.left.iter().map(|l| &l.reason).collect::<Vec<_>>()
    );
}

/// Helm and Kustomize need their tools; without them the test says so and passes, unless
/// KSPM_REQUIRE_TOOLS is set (as scripts/test sets it).
fn have(tool: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("KSPM_REQUIRE_TOOLS").is_none(),
            "{tool} is not on PATH"
        );
        eprintln!("skipped: {tool} is not on PATH");
    }
    found
}

#[test]
fn helm_output_is_refused_naming_the_value_to_change() {
    if !have("helm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    write(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(&chart, "values.yaml", "hostNetwork: true\n");
    let template = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  hostNetwork: {{ .Values.hostNetwork }}\n  containers:\n  - name: a\n    image: nginx:1.27\n";
    write(&chart.join("templates"), "pod.yaml", template);
    let mut opts = options(&[dir.path()]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert_eq!(plan.changed().count(), 0);
    let host = plan
        .left
        .iter()
        .find(|l| l.finding.path.to_string() == "spec.hostNetwork")
        .expect("a hostNetwork finding");
    let Reason::Refused(why) = &host.reason else {
        panic!("{:?}", host.reason)
    };
    assert!(
        why.contains("Helm")
            && why.contains(".Values.hostNetwork")
            && why.contains("templates/pod.yaml:6"),
        "{why}"
    );
    assert_eq!(
        std::fs::read_to_string(chart.join("templates/pod.yaml")).unwrap(),
        template
    );
}

#[test]
fn kustomize_output_is_refused_naming_the_base() {
    if !have("kustomize") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let overlay = dir.path().join("overlay");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&overlay).unwrap();
    write(&base, "pod.yaml", POD);
    write(&base, "kustomization.yaml", "resources:\n- pod.yaml\n");
    write(
        &overlay,
        "kustomization.yaml",
        "resources:\n- ../base\nnamespace: prod\n",
    );
    let mut opts = options(&[&overlay]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert_eq!(plan.changed().count(), 0);
    let l = plan
        .left
        .iter()
        .find(|l| l.finding.fix.is_some())
        .expect("a fixable finding");
    let Reason::Refused(why) = &l.reason else {
        panic!("{:?}", l.reason)
    };
    assert!(
        why.contains("Kustomize") && why.contains("base/pod.yaml"),
        "{why}"
    );
    assert_eq!(std::fs::read_to_string(base.join("pod.yaml")).unwrap(), POD);
}

#[test]
fn each_document_is_edited_in_its_own_indentation() {
    let dir = tempfile::tempdir().unwrap();
    let first = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-rather-long-name-to-move-offsets\ndata:\n  k: v\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    hostPID: true\n    containers:\n        -   name: a\n            image: nginx:1.27\n";
    let path = write(dir.path(), "two.yaml", &format!("{first}---\n{pod}"));
    let (plan, after) = fix_one(&path);
    assert!(!plan.fixed.is_empty());
    assert!(
        after.contains(
            "\n    securityContext:\n        seccompProfile:\n            type: RuntimeDefault"
        ),
        "{after}"
    );
}

#[test]
fn items_of_a_list_kind_are_fixed_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: one}\n  spec:\n    containers: [{name: a, image: nginx:1.27}]\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: two}\n  spec:\n    hostPID: true # here\n    containers: [{name: a, image: nginx:1.27}]\n";
    let path = write(dir.path(), "list.yaml", text);
    let mut opts = options(&[&path]);
    let plan = kspm_fix::plan(&mut opts, &FixOptions::default());
    kspm_fix::write(&plan);
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        plan.fixed
            .iter()
            .any(|f| f.resource.name == "two" && f.code == "PS001"),
        "{:?}",
        plan.fixed
    );
    assert!(
        !after.contains("hostPID") && after.contains("# here"),
        "{after}"
    );
    let items = &support::objects(&after)[0]["items"];
    assert_eq!(items[0]["metadata"]["name"], "one");
    assert_eq!(items[1]["spec"]["automountServiceAccountToken"], false);
}

#[test]
fn conflicting_fixes_first_wins_and_the_next_round_settles_the_other() {
    let dir = tempfile::tempdir().unwrap();
    // "capabilities not dropped" appends ALL to capabilities.drop, "NET_RAW not dropped" appends
    // NET_RAW to the same list: the same field.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n";
    let path = write(dir.path(), "pod.yaml", pod);
    let mut opts = options(&[&path]);
    let one = kspm_fix::plan(
        &mut opts,
        &FixOptions {
            max_passes: 1,
            ..FixOptions::default()
        },
    );
    let (finding, with, round) = one.conflicts.first().expect("a conflict in one round");
    assert_eq!((finding.code, *round), ("PS009", 1));
    assert!(with.starts_with("PS006 capabilities-not-dropped"), "{with}");
    let reason = Reason::Conflict { with: with.clone() };
    assert!(reason.to_string().contains("applied first"));
    // The next round judges the object again: with ALL dropped, NET_RAW needs nothing.
    let all = kspm_fix::plan(&mut opts, &FixOptions::default());
    assert!(
        all.left.iter().all(|l| l.finding.fix.is_none()),
        "{:?}",
        all.left
            .iter()
            .map(|l| (&l.finding.code, &l.reason))
            .collect::<Vec<_>>()
    );
    kspm_fix::write(&all);
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.contains("drop:\n        - ALL\n") && !after.contains("NET_RAW"),
        "{after}"
    );
}
