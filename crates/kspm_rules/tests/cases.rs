//! The shared harness for every rule's `<slug>.cases.yaml`, its documentation example, its fix,
//! and a snapshot of what the user sees. Also the registry invariants.
//!
//! Update snapshots after an intended change with `INSTA_UPDATE=always cargo test -p kspm_rules`.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Finding, Index, Node, PodSource, Resource, Source};
use kspm_rules::{
    KubeVersion, Rule, RuleSet, Settings, check_after_workloads, check_resource, rules,
};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules")
}

/// `host-pid` → `src/rules/<category>/host_pid.rs`, found on disk.
fn rule_file(rule: &Rule, ext: &str) -> PathBuf {
    let stem = rule.meta.slug.replace('-', "_");
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let candidate = entry.unwrap().path().join(format!("{stem}.{ext}"));
        if candidate.exists() {
            return candidate;
        }
    }
    panic!(
        "{}: no file {stem}.{ext} under src/rules/*/",
        rule.meta.code
    );
}

fn parse_resources(text: &str, label: &str) -> Vec<Resource> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(
        errors.is_empty(),
        "{label}: manifest does not parse: {errors:?}"
    );
    docs.into_iter()
        .map(|d| {
            let source = Source {
                file: "case.yaml".into(),
                doc: d.index,
                origin: None,
            };
            Resource::from_node(d.root, source).unwrap_or_else(|e| panic!("{label}: {e}"))
        })
        .collect()
}

/// Runs one rule over a case. `live` scans the case as a live cluster would: every kind the
/// index keeps, and every built-in workload kind, counts as read whole, so references to absent
/// objects are judged everywhere.
fn run(
    rule: &'static Rule,
    resources: &[Resource],
    settings: &Settings,
    live: bool,
) -> Vec<Finding> {
    run_set(&RuleSet::new([rule]), resources, settings, live)
}

/// [`run`] with any set of rules.
fn run_set(set: &RuleSet, resources: &[Resource], settings: &Settings, live: bool) -> Vec<Finding> {
    let mut index = Index::build(resources);
    if live {
        // The built-in workload kinds are read whole too.
        let workloads = [
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            "Pod",
        ];
        let kinds = kspm_model::index::INDEXED_KINDS.iter();
        for kind in kinds
            .chain(kspm_model::index::NAMED_KINDS)
            .chain(&workloads)
        {
            index.mark_complete(kind);
        }
    }
    let mut findings = Vec::new();
    for r in resources {
        check_resource(set, r, &index, settings, &mut findings);
    }
    // Then, as the engine does once every resource was read, the rules that wait for all the
    // workloads.
    index.set_workloads(resources.iter().filter_map(PodSource::of).collect());
    for r in resources {
        check_after_workloads(set, r, &index, settings, &mut findings);
    }
    findings
}

struct Case {
    name: String,
    manifest: String,
    paths: Option<Vec<String>>,
    settings: Settings,
    /// `live: true`: judged as on a live cluster (every indexed kind read whole).
    live: bool,
}

fn read_cases(rule: &Rule) -> (Vec<Case>, Vec<Case>) {
    let path = rule_file(rule, "cases.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (docs, errors) = parse_stream(&text, &Limits::default());
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    let root = &docs[0].root;
    let list = |key: &str| -> Vec<Case> {
        root.get(key)
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(Node::as_str).map(str::to_owned);
                let mut settings = Settings::default();
                if let Some(v) = s("k8s_version") {
                    settings.k8s_version = v.parse::<KubeVersion>().unwrap();
                }
                Case {
                    name: s("name")
                        .unwrap_or_else(|| panic!("{}: case without name", path.display())),
                    manifest: s("manifest")
                        .unwrap_or_else(|| panic!("{}: case without manifest", path.display())),
                    paths: c.get("paths").and_then(Node::as_seq).map(|p| {
                        p.iter()
                            .filter_map(Node::as_str)
                            .map(str::to_owned)
                            .collect()
                    }),
                    settings,
                    live: c.get("live").and_then(Node::as_bool) == Some(true),
                }
            })
            .collect()
    };
    (list("fail"), list("pass"))
}

fn render(case: &str, findings: &[Finding], out: &mut String) {
    writeln!(out, "# {case}").unwrap();
    for f in findings {
        write!(out, "{} @ {}: {}", f.path, f.pos, f.message).unwrap();
        if let Some(v) = &f.value {
            write!(out, " [value: {v}]").unwrap();
        }
        writeln!(out).unwrap();
        if let Some(fix) = &f.fix {
            let ops: Vec<String> = fix
                .ops
                .iter()
                .map(|o| o.to_json_patch().to_string())
                .collect();
            writeln!(out, "  fix: {} {}", fix.description, ops.join(" ")).unwrap();
        }
    }
}

#[test]
fn every_rule_passes_its_cases() {
    let mut failures = Vec::new();
    let mut snapshots = Vec::new();
    for &rule in rules() {
        let code = rule.meta.code;
        let (fail, pass) = read_cases(rule);
        if fail.is_empty() || pass.is_empty() {
            failures.push(format!("{code}: needs at least one fail and one pass case"));
        }
        let mut snapshot = String::new();
        for case in &fail {
            let resources = parse_resources(&case.manifest, &case.name);
            let findings = run(rule, &resources, &case.settings, case.live);
            if findings.is_empty() {
                failures.push(format!(
                    "{code}: fail case `{}` produced no finding",
                    case.name
                ));
                continue;
            }
            if let Some(expected) = &case.paths {
                let got: BTreeSet<String> = findings.iter().map(|f| f.path.to_string()).collect();
                let want: BTreeSet<String> = expected.iter().cloned().collect();
                if got != want {
                    failures.push(format!(
                        "{code}: fail case `{}`: paths {got:?}, expected {want:?}",
                        case.name
                    ));
                }
            }
            for f in &findings {
                if !f.pos.is_known() {
                    failures.push(format!("{code}: `{}`: finding without a line", case.name));
                }
            }
            // Fixes: declared iff produced, and applying them makes the case pass.
            let with_fix = findings.iter().filter(|f| f.fix.is_some()).count();
            if rule.meta.has_fix && with_fix == findings.len() {
                let mut fixed = resources.clone();
                for r in &mut fixed {
                    for f in findings.iter().filter(|f| f.resource == r.id) {
                        if !f.fix.as_ref().unwrap().apply(&mut r.root) {
                            failures.push(format!("{code}: `{}`: fix does not apply", case.name));
                        }
                    }
                }
                let after = run(rule, &fixed, &case.settings, case.live);
                if !after.is_empty() {
                    failures.push(format!(
                        "{code}: `{}`: still fails after its fix: {:?}",
                        case.name,
                        after.iter().map(|f| f.path.to_string()).collect::<Vec<_>>()
                    ));
                }
            } else if rule.meta.has_fix {
                failures.push(format!(
                    "{code}: declares a fix but `{}` has findings without one",
                    case.name
                ));
            } else if with_fix > 0 {
                failures.push(format!(
                    "{code}: produces fixes but does not declare `fix: true`"
                ));
            }
            render(&case.name, &findings, &mut snapshot);
        }
        for case in &pass {
            let resources = parse_resources(&case.manifest, &case.name);
            let findings = run(rule, &resources, &case.settings, case.live);
            if !findings.is_empty() {
                failures.push(format!(
                    "{code}: pass case `{}` produced {:?}",
                    case.name,
                    findings
                        .iter()
                        .map(|f| f.path.to_string())
                        .collect::<Vec<_>>()
                ));
            }
        }
        snapshots.push((rule, snapshot));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // Snapshots last, so that a changed message does not hide a broken case in a later rule.
    for (rule, snapshot) in snapshots {
        let dir = rule_file(rule, "rs").parent().unwrap().join("snapshots");
        insta::with_settings!({snapshot_path => dir, prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(rule.meta.slug, snapshot);
        });
    }
}

/// Folding (one finding per problem) must not lose recall: run with every default rule beside
/// it and folded as a scan folds them, each fail case still shows its rule, either as a
/// finding or folded into a stronger one on the same object.
#[test]
fn every_fail_case_keeps_its_rule_after_folding() {
    let defaults: Vec<&'static Rule> = rules()
        .iter()
        .copied()
        .filter(|r| r.meta.default_enabled)
        .collect();
    let mut lost = Vec::new();
    let mut folded_somewhere = 0;
    for &rule in rules() {
        let (fail, _) = read_cases(rule);
        let mut set: Vec<&'static Rule> = defaults.clone();
        if !set.iter().any(|r| r.meta.code == rule.meta.code) {
            set.push(rule);
        }
        let set = RuleSet::new(set);
        for case in &fail {
            let resources = parse_resources(&case.manifest, &case.name);
            let all = run_set(&set, &resources, &case.settings, case.live);
            let mut seen = false;
            for r in &resources {
                // As the engine folds: the findings of one object together.
                let mut findings: Vec<Finding> = all
                    .iter()
                    .filter(|f| *f.resource == *r.id && f.source.doc == r.source.doc)
                    .cloned()
                    .collect();
                kspm_rules::fold(&mut findings);
                for f in &findings {
                    if f.code == rule.meta.code {
                        seen = true;
                    }
                    if f.folded.iter().any(|x| x.code == rule.meta.code) {
                        seen = true;
                        folded_somewhere += 1;
                    }
                }
            }
            if !seen {
                lost.push(format!("{}: `{}`", rule.meta.code, case.name));
            }
        }
    }
    assert!(lost.is_empty(), "lost after folding:\n{}", lost.join("\n"));
    // The cases exercise folding itself (a privileged container's capabilities...).
    assert!(folded_somewhere > 5, "only {folded_somewhere} folded");
}

/// The folding table names real rules, and each relation can fire.
#[test]
fn fold_relations_name_registered_rules() {
    for relation in kspm_rules::fold::FOLDS {
        for code in relation.into.iter().chain(relation.folds) {
            assert!(
                kspm_rules::find_rule(code).is_some(),
                "fold relation names unknown rule {code}"
            );
        }
        assert!(!relation.why.is_empty());
    }
}

#[test]
fn every_documentation_example_triggers_its_rule() {
    for &rule in rules() {
        let example = rule.meta.doc_section("Example").unwrap_or_default();
        let Some(start) = example.find("```yaml") else {
            panic!(
                "{}: the Example section has no ```yaml block",
                rule.meta.code
            );
        };
        let body = &example[start + 7..];
        let yaml = &body[..body.find("```").expect("closing fence")];
        let resources = parse_resources(yaml, rule.meta.code);
        // As a file, or, for the rules judged on live clusters only, as a cluster.
        let triggers = |live| !run(rule, &resources, &Settings::default(), live).is_empty();
        assert!(
            triggers(false) || triggers(true),
            "{}: its documentation example does not trigger it",
            rule.meta.code
        );
    }
}

#[test]
fn registry_metadata_is_complete_and_unique() {
    let mut codes = HashSet::new();
    let mut slugs = HashSet::new();
    for &rule in rules() {
        let m = &rule.meta;
        assert!(codes.insert(m.code), "duplicate code {}", m.code);
        assert!(slugs.insert(m.slug), "duplicate slug {}", m.slug);
        let code_ok = m.code.len() == 5
            && m.code[..2].bytes().all(|b| b.is_ascii_uppercase())
            && m.code[2..].bytes().all(|b| b.is_ascii_digit());
        assert!(
            code_ok,
            "{}: codes are two capitals and three digits",
            m.code
        );
        assert!(
            m.slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}: slug must be kebab-case",
            m.code
        );
        for section in ["What it does", "Why is this bad?", "Remediation", "Example"] {
            assert!(
                m.doc_section(section).is_some_and(|s| !s.is_empty()),
                "{}: documentation lacks `## {section}`",
                m.code
            );
        }
        for eq in m.equivalents {
            assert!(
                eq.split_once(':')
                    .is_some_and(|(t, id)| !t.is_empty() && !id.is_empty()),
                "{}: equivalent `{eq}` is not tool:id",
                m.code
            );
        }
        assert!(
            !m.title.is_empty() && !m.title.ends_with('.'),
            "{}: title",
            m.code
        );
        let folder = rule_file(rule, "rs")
            .parent()
            .and_then(Path::file_name)
            .map(|f| f.to_string_lossy().replace('_', "-"))
            .unwrap_or_default();
        let expected_folder = match m.category.as_str() {
            "api-deprecation" => "deprecation",
            other => other,
        };
        assert_eq!(
            folder, expected_folder,
            "{}: lives in the wrong category folder",
            m.code
        );
    }
}

#[test]
fn registry_lists_every_rule_file() {
    let mut on_disk = BTreeSet::new();
    for dir in std::fs::read_dir(rules_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".rs")
                && stem != "mod"
            {
                on_disk.insert(stem.replace('_', "-"));
            }
        }
    }
    let listed: BTreeSet<String> = rules().iter().map(|r| r.meta.slug.to_owned()).collect();
    assert_eq!(on_disk, listed, "src/rules/*/*.rs and registry.rs disagree");
}

/// The framework → rules view is derived from the rules, so the catalogue and the rules must
/// agree: an automated control needs a rule, a manual or not-applicable one must have none.
#[test]
fn every_control_is_mapped_or_marked() {
    use kspm_frameworks::{Assessment, Framework};
    let mut problems = Vec::new();
    for fw in Framework::ALL {
        for control in fw.controls() {
            let mapped: Vec<&str> = rules()
                .iter()
                .filter(|r| r.meta.frameworks.contains(control))
                .map(|r| r.meta.code)
                .collect();
            match control.assessment {
                Assessment::Automated if mapped.is_empty() => problems.push(format!(
                    "{} {}: no rule declares it; map a rule or mark it manual / not applicable",
                    fw.key(),
                    control.id
                )),
                Assessment::Manual(_) | Assessment::NotApplicable(_) if !mapped.is_empty() => {
                    problems.push(format!(
                        "{} {}: marked manual or not applicable, yet {mapped:?} declare it",
                        fw.key(),
                        control.id
                    ));
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// A table-driven rule may only judge, and fail, controls it declares.
#[test]
fn component_rules_judge_only_the_controls_they_declare() {
    let mut judged_any = 0;
    for &rule in rules() {
        if !matches!(rule.check, kspm_rules::Check::Component { .. }) {
            continue;
        }
        let (fail, pass) = read_cases(rule);
        for case in fail.iter().chain(&pass) {
            let resources = parse_resources(&case.manifest, &case.name);
            let set = RuleSet::new([rule]);
            let index = Index::build(&resources);
            for r in &resources {
                let mut findings = Vec::new();
                let outcome =
                    kspm_rules::check_resource_into(&set, r, &index, &case.settings, &mut findings);
                judged_any += outcome.assessed.len();
                for c in &outcome.assessed {
                    assert!(
                        rule.meta.frameworks.contains(c),
                        "{}: judges {} {} without declaring it",
                        rule.meta.code,
                        c.framework.key(),
                        c.id
                    );
                }
                for f in &findings {
                    let controls = f.controls.expect("component findings name their controls");
                    assert!(
                        controls.iter().all(|c| outcome.assessed.contains(c)),
                        "{}: a finding fails a control not recorded as judged",
                        rule.meta.code
                    );
                }
            }
        }
    }
    assert!(
        judged_any > 50,
        "component rules judged only {judged_any} controls"
    );
}
