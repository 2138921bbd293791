//! `kspm policy test`: test cases kept beside the policies.
//!
//! A `<name>.tests.yaml` file holds cases: manifests and the violations they must produce. The
//! policies under test are those of the test file's directory (not its subdirectories), loaded
//! and evaluated exactly as a scan would.
//!
//! ```yaml
//! cases:
//!   - name: privileged container is reported
//!     manifest: |
//!       apiVersion: v1
//!       kind: Pod
//!       ...
//!     expect:
//!       - policy: REGO001          # code or slug; optional when one policy is in the directory
//!         message: privileged      # a substring of the message; optional
//!         path: spec.containers[0].securityContext.privileged   # optional
//!   - name: unprivileged pod passes
//!     manifest: ...
//!     expect: []                   # no violation at all
//! ```
//!
//! A case may name `policy:` to judge only that policy's findings. Every expected violation must
//! match a distinct finding, and any finding left over is a failure too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kspm_engine::PolicyOutput;
use kspm_engine::walk::{DirAction, Visit, Walk};
use kspm_model::yaml::{Limits as YamlLimits, parse_stream};
use kspm_model::{Diagnostic, FieldPath, Finding, Index, Node, Resource, Source};

use crate::{Limits, Problems, is_test_file, load};

pub use kspm_engine::policy::{CaseResult, TestReport};

/// The test files under `paths` (a policy file's own `<stem>.tests.yaml`, or every test file
/// under a directory).
fn test_files(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut walk = Walk::new();
    for p in paths {
        if p.is_dir() {
            walk.walk(p, diagnostics, &mut |v| {
                if let Visit::File(f) = v
                    && is_test_file(f)
                {
                    out.push(f.to_path_buf());
                }
                DirAction::Descend
            });
        } else if is_test_file(p) {
            out.push(p.clone());
        } else if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
            for ext in ["tests.yaml", "tests.yml"] {
                let t = p.with_file_name(format!("{stem}.{ext}"));
                if t.is_file() {
                    out.push(t);
                }
            }
        }
    }
    out.dedup();
    out
}

/// The policy files of one directory, not its subdirectories.
fn policies_beside(test: &Path) -> Vec<PathBuf> {
    let dir = test.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && crate::is_policy_candidate(p))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// An expected violation.
struct Expect {
    policy: Option<String>,
    message: Option<String>,
    path: Option<FieldPath>,
}

impl Expect {
    fn matches(&self, f: &Finding) -> bool {
        self.policy
            .as_ref()
            .is_none_or(|p| f.code.eq_ignore_ascii_case(p) || f.slug.eq_ignore_ascii_case(p))
            && self
                .message
                .as_ref()
                .is_none_or(|m| f.message.contains(m.as_str()))
            && self.path.as_ref().is_none_or(|p| *p == f.path)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.policy {
            parts.push(format!("policy {p}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message containing {m:?}"));
        }
        if let Some(p) = &self.path {
            parts.push(format!("at {p}"));
        }
        if parts.is_empty() {
            "a violation".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Runs every test case under `paths`.
pub fn run(paths: &[PathBuf], limits: Limits) -> TestReport {
    let mut report = TestReport::default();
    for test in test_files(paths, &mut report.diagnostics) {
        let policies = policies_beside(&test);
        let loaded = load(&policies, limits);
        report.diagnostics.extend(loaded.diagnostics);
        let file = test.display().to_string();
        let text = match std::fs::read_to_string(&test) {
            Ok(t) => t,
            Err(e) => {
                report
                    .diagnostics
                    .push(Diagnostic::error(file, format!("cannot read: {e}")));
                continue;
            }
        };
        run_file(&file, &text, &loaded.set, &mut report);
    }
    report
}

fn run_file(file: &str, text: &str, set: &crate::PolicySet, report: &mut TestReport) {
    let mut p = Problems::new(file);
    let (docs, errors) = parse_stream(text, &YamlLimits::default());
    for e in errors {
        p.error(e.pos, e.message);
    }
    let cases = docs
        .first()
        .and_then(|d| d.root.get("cases"))
        .and_then(Node::as_seq);
    let Some(cases) = cases else {
        p.error(
            kspm_model::Pos::new(1, 1),
            "a test file needs a `cases:` list",
        );
        report.diagnostics.append(&mut p.diagnostics);
        return;
    };
    for (i, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let name = case
            .get("name")
            .and_then(Node::as_str)
            .map_or_else(|| format!("case {}", i + 1), str::to_owned);
        let mut failures = Vec::new();
        match run_case(file, case, set, &mut p) {
            Ok(f) => failures = f,
            Err(e) => failures.push(e.to_string()),
        }
        report.cases.push(CaseResult {
            file: file.to_owned(),
            name,
            line: case.pos.line,
            failures,
            duration: started.elapsed(),
        });
    }
    report.diagnostics.append(&mut p.diagnostics);
}

/// The manifests of a case: a YAML string (one or more documents), a mapping, or a list.
/// Why a test case could not be run; it fails with this as its reason.
#[derive(Debug, thiserror::Error)]
enum CaseError {
    #[error("the case has no `manifest`")]
    NoManifest,
    /// The manifest text is not YAML.
    #[error("manifest: {message} (at {pos} in the manifest)")]
    Yaml {
        message: String,
        pos: kspm_model::Pos,
    },
    /// A document of the manifest is not a Kubernetes object (`number` counts from 1).
    #[error("manifest {number}: {source}")]
    NotAnObject {
        number: usize,
        source: kspm_model::NotAnObject,
    },
    #[error("`expect` must be a list (`[]` for no violation)")]
    ExpectNotAList,
    #[error("the case has no `expect` list (`[]` for no violation)")]
    NoExpect,
}

fn manifests(file: &str, case: &Node) -> Result<Vec<Resource>, CaseError> {
    let node = case
        .get("manifest")
        .or_else(|| case.get("manifests"))
        .ok_or(CaseError::NoManifest)?;
    let file: Arc<str> = file.into();
    let mut resources = Vec::new();
    let source = |doc| Source {
        file: file.clone(),
        doc,
        origin: None,
    };
    let mut add = |root: Node, doc: usize| -> Result<(), CaseError> {
        let r =
            Resource::from_node(root, source(doc)).map_err(|source| CaseError::NotAnObject {
                number: doc + 1,
                source,
            })?;
        resources.push(r);
        Ok(())
    };
    match &node.value {
        kspm_model::Value::Str(text) => {
            let (docs, errors) = parse_stream(text, &YamlLimits::default());
            if let Some(e) = errors.first() {
                return Err(CaseError::Yaml {
                    message: e.message.clone(),
                    pos: e.pos,
                });
            }
            for (i, d) in docs.into_iter().enumerate() {
                if !d.root.is_null() {
                    add(d.root, i)?;
                }
            }
        }
        kspm_model::Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                add(item.clone(), i)?;
            }
        }
        _ => add(node.clone(), 0)?,
    }
    Ok(resources)
}

fn run_case(
    file: &str,
    case: &Node,
    set: &crate::PolicySet,
    p: &mut Problems,
) -> Result<Vec<String>, CaseError> {
    let resources = manifests(file, case)?;
    let only = case.get("policy").and_then(Node::as_str);
    let expects: Vec<Expect> = match case.get("expect") {
        Some(list) => list
            .as_seq()
            .ok_or(CaseError::ExpectNotAList)?
            .iter()
            .map(|e| Expect {
                policy: e
                    .get("policy")
                    .and_then(|n| p.string(n, "policy"))
                    .or_else(|| only.map(str::to_owned)),
                message: e.get("message").and_then(|n| p.string(n, "message")),
                path: e
                    .get("path")
                    .and_then(|n| p.string(n, "path"))
                    .map(|s| FieldPath::parse(&s)),
            })
            .collect(),
        None => return Err(CaseError::NoExpect),
    };
    let index = Index::build(&resources);
    let run = set.run(&resources);
    let mut out = PolicyOutput::default();
    for r in &resources {
        let ns = r.namespace().and_then(|n| index.find("Namespace", None, n));
        run.check(r, ns, &mut out);
    }
    out.diagnostics.extend(run.finish());
    let mut findings: Vec<Finding> = out
        .findings
        .into_iter()
        .filter(|f| {
            only.is_none_or(|o| f.code.eq_ignore_ascii_case(o) || f.slug.eq_ignore_ascii_case(o))
        })
        .collect();
    let mut failures: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.level == kspm_model::DiagnosticLevel::Error)
        .map(|d| format!("evaluation error: {}", d.message))
        .collect();
    for e in &expects {
        match findings.iter().position(|f| e.matches(f)) {
            Some(i) => {
                findings.remove(i);
            }
            None => failures.push(format!("expected {}, not reported", e.describe())),
        }
    }
    for f in findings {
        failures.push(format!(
            "unexpected violation of {} on {} at {}: {}",
            f.code, f.resource, f.path, f.message
        ));
    }
    Ok(failures)
}
