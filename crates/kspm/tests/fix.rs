//! `kspm fix` end to end: the diff and exit code of `--dry-run`, the selection flags, standard
//! input refused, and a copy of the real-world corpus (../shared/realworld) fixed and scanned
//! again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kspm_engine::{Input, ScanOptions, Selection, scan, select_rules};

fn kspm(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(dir)
        .env("KSPM_NO_CONFIG", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const POD: &str = "# the pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p # its name\nspec:\n  hostPID: true\n  containers:\n  - name: a\n    image: nginx:1.27\n    securityContext: {privileged: true}\n";

#[test]
fn dry_run_prints_a_diff_and_exits_1_then_fix_writes_and_a_second_run_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    let out = kspm(&["fix", "--dry-run", "pod.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.starts_with("--- a/pod.yaml\n+++ b/pod.yaml\n"),
        "{diff}"
    );
    assert!(diff.contains("\n-  hostPID: true\n"), "{diff}");
    assert!(diff.contains("privileged: false"), "{diff}");
    // Unchanged lines are context, never removed and added again.
    assert!(!diff.contains("-  name: p # its name"), "{diff}");
    assert!(
        text(&out.stderr).contains("would fix"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap(),
        POD
    );

    let out = kspm(&["fix", "pod.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.starts_with("kspm fix: fixed "), "{summary}");
    assert!(summary.contains("without an automatic fix"), "{summary}");
    let fixed = std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap();
    assert!(
        fixed.starts_with("# the pod\n") && fixed.contains("name: p # its name"),
        "{fixed}"
    );

    let out = kspm(&["fix", "--dry-run", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn select_and_severity_narrow_what_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    let out = kspm(&["fix", "--select", "host-pid", "pod.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let fixed = std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap();
    assert_eq!(fixed, POD.replace("  hostPID: true\n", ""));

    std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
    let out = kspm(&["fix", "--severity", "critical", "pod.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let fixed = std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap();
    assert!(fixed.contains("privileged: false"), "{fixed}");
    assert!(
        fixed.contains("hostPID: true"),
        "high, not critical: {fixed}"
    );
    assert!(
        text(&out.stdout).contains("below --severity"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn standard_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = kspm(&["fix", "-"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("standard input cannot be edited"),
        "{}",
        text(&out.stderr)
    );
}

/// The corpus: `KSPM_REALWORLD`, or `../shared/realworld` beside the repository.
fn realworld() -> Option<PathBuf> {
    let path = std::env::var_os("KSPM_REALWORLD").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realworld"),
        PathBuf::from,
    );
    path.is_dir().then_some(path)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn files(root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
}

fn default_scan(dir: &Path) -> kspm_engine::ScanResult {
    scan(&ScanOptions {
        inputs: vec![Input::Path(dir.to_path_buf())],
        rules: select_rules(&Selection::default()).unwrap(),
        ..ScanOptions::default()
    })
}

/// Whether `kspm fix` refuses the document (anchors, aliases, merge keys).
fn refused(file: &str, doc: usize) -> bool {
    let text = std::fs::read_to_string(file).unwrap();
    let chunks = kspm_model::yaml::split_documents(&text);
    let chunk = chunks.iter().find(|c| c.doc == doc).unwrap();
    kspm_fix::cst::parse(chunk.text).is_err()
}

#[test]
fn the_realworld_corpus_is_fixed_and_a_second_run_changes_nothing() {
    let Some(corpus) = realworld() else {
        eprintln!("skipped: no ../shared/realworld (set KSPM_REALWORLD)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("realworld");
    copy_tree(&corpus, &dir);
    let before = default_scan(&dir);
    let mut originals = BTreeMap::new();
    files(&dir, &mut originals);

    let out = kspm(&["fix", "realworld"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.starts_with("kspm fix: fixed "), "{summary}");

    let after = default_scan(&dir);
    // No new input error: every error after was there before (positions may move).
    let errors = |r: &kspm_engine::ScanResult| {
        let mut e: Vec<(String, String)> = r
            .diagnostics
            .iter()
            .filter(|d| d.level == kspm_model::DiagnosticLevel::Error)
            .map(|d| (d.file.to_string(), d.message.clone()))
            .collect();
        e.sort();
        e
    };
    assert_eq!(errors(&after), errors(&before));
    assert_eq!(after.resources, before.resources);
    // What could be fixed is gone, except in documents kspm refuses to edit.
    for f in after.active().filter(|f| f.fix.is_some()) {
        assert!(
            refused(&f.source.file, f.source.doc),
            "{}:{} {} {} still has a fixable finding\n{summary}",
            f.source.file,
            f.pos,
            f.code,
            f.path
        );
    }
    assert!(after.active().count() < before.active().count());
    // Files without a fixable finding are byte-identical.
    let fixable: std::collections::HashSet<PathBuf> = before
        .active()
        .filter(|f| f.fix.is_some())
        .map(|f| PathBuf::from(&*f.source.file))
        .collect();
    let mut now = BTreeMap::new();
    files(&dir, &mut now);
    assert_eq!(now.len(), originals.len(), "no file added or removed");
    let mut changed = 0;
    for (path, bytes) in &originals {
        if now[path] != *bytes {
            changed += 1;
            assert!(
                fixable.contains(path),
                "{} changed without a fix",
                path.display()
            );
        }
    }
    assert!(changed > 100, "only {changed} files changed");

    // A second run changes nothing.
    let out = kspm(&["fix", "--dry-run", "realworld"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    let mut again = BTreeMap::new();
    files(&dir, &mut again);
    assert!(again == now);
}
