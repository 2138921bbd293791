//! `docs/rules/` and `docs/frameworks/` are generated from the rule and control declarations, and
//! `docs/man/` from the command line's definition; these tests fail when they are stale. Regenerate with
//! `KSPM_BLESS=1 cargo test -p kspm --test generated_docs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use kspm_rules::rules;

fn expected() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut index = String::from(
        "# Rules\n\nGenerated from the rule declarations in `crates/kspm_rules/src/rules/`; do not edit.\n\n| code | slug | severity | category | default | fix | title |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rules() {
        let m = &r.meta;
        files.insert(format!("{}.md", m.slug), kspm_report::docs::rule_page(r));
        let _ = writeln!(
            index,
            "| {} | [{}]({}.md) | {} | {} | {} | {} | {} |",
            m.code,
            m.slug,
            m.slug,
            m.severity,
            m.category.as_str(),
            if m.default_enabled { "yes" } else { "no" },
            if m.has_fix { "yes" } else { "" },
            m.title
        );
    }
    files.insert("README.md".to_owned(), index);
    files
}

fn expected_frameworks() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut index = String::from(
        "# Frameworks\n\nGenerated from `crates/kspm_frameworks/src/` and the rules' declarations; do not edit.\n\n| key | framework | version | controls |\n|---|---|---|---:|\n",
    );
    for fw in kspm_frameworks::Framework::ALL {
        files.insert(
            format!("{}.md", fw.key()),
            kspm_report::docs::framework_page(fw),
        );
        let _ = writeln!(
            index,
            "| [{}]({}.md) | {} | {} | {} |",
            fw.key(),
            fw.key(),
            fw.title(),
            fw.version(),
            fw.controls().len()
        );
    }
    files.insert("README.md".to_owned(), index);
    files
}

#[test]
fn rule_pages_are_current() {
    check("rules", &expected());
}

#[test]
fn framework_pages_are_current() {
    check("frameworks", &expected_frameworks());
}

/// The man pages, as `kspm generate-man` (hidden; clap_mangen) writes them.
#[test]
fn man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kspm"))
        .arg("generate-man")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        pages.insert(
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read_to_string(entry.path()).unwrap(),
        );
    }
    for name in [
        "kspm.1",
        "kspm-scan.1",
        "kspm-version.1",
        "kspm-completion.1",
        "kspm-rbac-who-can.1",
    ] {
        assert!(
            pages.contains_key(name),
            "{name} not generated: {:?}",
            pages.keys()
        );
    }
    assert!(
        !pages.keys().any(|n| n.contains("generate-man")),
        "the hidden generator has no page"
    );
    assert!(
        pages["kspm-scan.1"].contains("\\-\\-cluster"),
        "{}",
        pages["kspm-scan.1"]
    );
    check("man", &pages);
}

fn check(folder: &str, want: &BTreeMap<String, String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(folder);
    if std::env::var_os("KSPM_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in want {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let mut problems = Vec::new();
    for (name, text) in want {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(have) if &have == text => {}
            Ok(_) => problems.push(format!("docs/{folder}/{name} is stale")),
            Err(_) => problems.push(format!("docs/{folder}/{name} is missing")),
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !want.contains_key(&name) {
            problems.push(format!("docs/{folder}/{name} is not generated"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: KSPM_BLESS=1 cargo test -p kspm --test generated_docs",
        problems.join("\n")
    );
}
