//! Every fail case of every built-in rule that carries a fix, written to a file with comments
//! before, inside and after its documents, fixed through `kspm_fix::plan` and `write` (what
//! `kspm fix` runs): the file parses to the original objects with exactly the fixes applied,
//! every comment is still there, and scanning the fixed file no longer reports what was fixed.

use std::path::{Path, PathBuf};

use kspm_engine::{Input, ScanOptions, scan};
use kspm_fix::{FixOptions, Reason};
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Fix, Node};
use kspm_rules::{KubeVersion, Settings, find_rule};

fn case_files() -> Vec<PathBuf> {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kspm_rules/src/rules");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(rules).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            if f.to_string_lossy().ends_with(".cases.yaml") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

/// Adds comments around and inside the manifest: before and after it, before block-context
/// lines, and after top-level scalar values. Lines inside block scalars and multi-line flow
/// collections are left alone (a `#` there would be content, not a comment).
fn with_comments(manifest: &str) -> (String, usize) {
    let mut out = String::from("# kspm-test-comment-0 before the manifest\n");
    let mut n = 1;
    let mut block_scalar: Option<usize> = None;
    let mut depth = 0i32;
    for line in manifest.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = block_scalar {
            if line.trim().is_empty() || indent > at {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block_scalar = None;
        }
        let t = line.trim_end();
        let code = t.trim_start();
        if depth == 0 && !code.is_empty() && !code.starts_with("---") && !code.starts_with('#') {
            out.push_str(&" ".repeat(indent));
            out.push_str(&format!("# kspm-test-comment-{n} inside\n"));
            n += 1;
        }
        let plain_end = !t.ends_with(['{', '[', ',', '|', '>', '-', '"', '\''])
            && !code.starts_with('-')
            && !code.contains(['{', '[', '"', '\'', '#'])
            && !t.ends_with("|-")
            && !t.ends_with(">-");
        out.push_str(t);
        if depth == 0 && indent == 0 && code.contains(": ") && plain_end {
            out.push_str(&format!(" # kspm-test-comment-{n} trailing"));
            n += 1;
        }
        out.push('\n');
        for c in code.chars() {
            match c {
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            }
        }
        let header = t.rsplit(": ").next().unwrap_or("");
        if matches!(header, "|" | ">" | "|-" | ">-" | "|+" | ">+") || t.ends_with(" |") {
            block_scalar = Some(indent);
        }
    }
    out.push_str(&format!("# kspm-test-comment-{n} after the manifest\n"));
    (out, n + 1)
}

struct Case {
    name: String,
    manifest: String,
    settings: Settings,
}

fn fail_cases(file: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(file).unwrap();
    let (docs, errors) = parse_stream(&text, &Limits::default());
    assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    let root = &docs[0].root;
    root.get("fail")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        // Live cases are judged as if read from a cluster; a file scan judges them otherwise.
        .filter(|c| c.get("live").and_then(Node::as_bool) != Some(true))
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Node::as_str).map(str::to_owned);
            let mut settings = Settings::default();
            if let Some(v) = s("k8s_version") {
                settings.k8s_version = v.parse::<KubeVersion>().unwrap();
            }
            Case {
                name: s("name").unwrap(),
                manifest: s("manifest").unwrap(),
                settings,
            }
        })
        .collect()
}

fn objects(text: &str) -> Vec<Node> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(errors.iter().all(|e| !e.fatal), "{errors:?}");
    docs.into_iter().map(|d| d.root).collect()
}

#[test]
fn every_fix_of_every_rule_case_applies_to_its_file() {
    let mut failures = Vec::new();
    let mut fixed_cases = 0;
    let mut rules_with_fixes = std::collections::BTreeSet::new();
    for file in case_files() {
        let stem = file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".cases.yaml", "");
        let rule =
            find_rule(&stem.replace('_', "-")).unwrap_or_else(|| panic!("no rule for {stem}"));
        for case in fail_cases(&file) {
            let label = format!("{} `{}`", rule.meta.code, case.name);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("case.yaml");
            let (text, comments) = with_comments(&case.manifest);
            std::fs::write(&path, &text).unwrap();
            let mut opts = ScanOptions {
                inputs: vec![Input::Path(path.clone())],
                rules: vec![rule],
                settings: case.settings.clone(),
                ..ScanOptions::default()
            };
            let before = scan(&opts);
            if before.active().all(|f| f.fix.is_none()) {
                continue;
            }
            rules_with_fixes.insert(rule.meta.code);
            let plan = kspm_fix::plan(
                &mut opts,
                &FixOptions {
                    max_passes: 1,
                    ..FixOptions::default()
                },
            );
            for l in &plan.left {
                if matches!(
                    l.reason,
                    Reason::Failed(_) | Reason::Refused(_) | Reason::Conflict { .. }
                ) {
                    failures.push(format!(
                        "{label}: {} not fixed: {}",
                        l.finding.path, l.reason
                    ));
                }
            }
            if plan.fixed.is_empty() {
                failures.push(format!("{label}: nothing fixed"));
                continue;
            }
            fixed_cases += 1;
            for (f, w) in kspm_fix::write(&plan) {
                assert!(
                    matches!(w, kspm_fix::Written::Ok),
                    "{label}: {}: {w:?}",
                    f.name
                );
            }
            let after = std::fs::read_to_string(&path).unwrap();

            // The objects: the originals with the fixes that were applied, all at once per
            // object (as Fix::apply orders steps: sets and appends, then removals from the
            // last list item up).
            let mut expected = objects(&text);
            for (doc, tree) in expected.iter_mut().enumerate() {
                let mut merged = Fix::new("all");
                for f in before.active() {
                    let applied = plan
                        .fixed
                        .iter()
                        .any(|x| x.code == f.code && x.path == f.path && x.resource == f.resource);
                    if f.source.doc == doc && applied {
                        merged.ops.extend(f.fix.clone().unwrap().ops);
                    }
                }
                assert!(
                    merged.apply(tree),
                    "{label}: the patch does not apply in memory"
                );
            }
            let got = objects(&after);
            let json = |v: &[Node]| v.iter().map(Node::to_json).collect::<Vec<_>>();
            if json(&got) != json(&expected) {
                failures.push(format!(
                    "{label}: fixed file differs from the patched objects\n--- file:\n{after}\n--- expected: {}",
                    serde_json::to_string_pretty(&json(&expected)).unwrap()
                ));
                continue;
            }
            for i in 0..comments {
                let marker = format!("kspm-test-comment-{i} ");
                if !after.contains(&marker) {
                    failures.push(format!("{label}: comment {i} lost\n{after}"));
                }
            }
            // What was fixed is not found again.
            let rescan = scan(&opts);
            for x in &plan.fixed {
                if rescan.active().any(|f| {
                    f.code == x.code
                        && f.path == x.path
                        && f.resource == x.resource
                        && f.value == x.value
                }) {
                    failures.push(format!(
                        "{label}: {} still reported after its fix\n{after}",
                        x.path
                    ));
                }
            }
        }
    }
    eprintln!(
        "{fixed_cases} cases of {} rules fixed: {rules_with_fixes:?}",
        rules_with_fixes.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // A floor, so that a harness that silently skips everything fails.
    assert!(
        rules_with_fixes.len() >= 20,
        "only {} rules with fixes: {rules_with_fixes:?}",
        rules_with_fixes.len()
    );
    assert!(fixed_cases >= 30, "only {fixed_cases} cases fixed");
}
