//! Custom policies, run as first-class rules.
//!
//! Users write their own rules, and many already have them. This crate loads:
//!
//! - **Rego** policies (`.rego`), evaluated with regorus: metadata in an OPA `# METADATA` block
//!   (or a `<name>.meta.yaml` sidecar), violations in `deny` / `violation` / `warn` sets;
//! - **CEL** policies (`kind: CELPolicy`), ValidatingAdmissionPolicy-shaped, evaluated with the
//!   `cel` crate and the Kubernetes CEL libraries of kube-cel;
//! - **ValidatingAdmissionPolicies** with their bindings and params objects, as they are;
//! - **Gatekeeper ConstraintTemplates** with their Constraints (Rego, or CEL
//!   `K8sNativeValidation`), as they are.
//!
//! Every policy becomes a rule registered with `kspm_rules` (code, slug, title, severity,
//! category, frameworks), and the engine runs the whole set through its policy hook
//! ([`kspm_engine::Policies`]), so findings, exceptions, severity overrides and reports are the
//! same as for built-in rules. Policies compile once when loaded; a scan evaluates them on many
//! threads at once. A policy that does not compile is skipped with a diagnostic naming
//! file:line:column; one that fails on a resource records a diagnostic for that pair; evaluation
//! time and memory are bounded per policy ([`Limits`]): with a memory bound, policies run in
//! worker processes that cap their own memory ([`worker`]).
//!
//! [`testing`] runs the test cases kept beside policies (`kspm policy test`) and returns the
//! results as data; kspm_report renders them (text, JUnit). Errors are typed per stage: a file
//! that cannot be read, a worker that cannot be talked to, a policy that fails on an object
//! (which becomes a diagnostic for that pair, never the end of the scan).

mod admission;
mod cel;
mod gatekeeper;
mod kyverno;
mod meta;
mod rego;
mod run;
pub mod testing;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kspm_engine::walk::{DirAction, Visit, Walk};
use kspm_model::yaml::{Limits as YamlLimits, parse_stream};
use kspm_model::{Diagnostic, Node, Pos, Resource, Source};
use kspm_rules::Rule;

pub use meta::{Meta, kebab};
pub use run::PolicySet;

/// Bounds on what one policy may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget for evaluating one policy on one resource. Rego evaluation is stopped
    /// when it runs out; a CEL expression cannot be interrupted (CEL has no unbounded loops), so
    /// a CEL policy that overruns it is switched off for the rest of the scan.
    pub timeout: Duration,
    /// Violations kept per policy and resource; the rest are counted in a diagnostic.
    pub max_violations: usize,
    /// Memory, in bytes, one policy may use on one resource. Policies then run in worker
    /// processes ([`worker`]) that cap their own data segment at what they hold after loading
    /// plus this budget; a policy that needs more takes down only its worker, is reported, and is
    /// skipped for the rest of the scan. `None`: no bound, policies run in this process.
    pub memory: Option<u64>,
}

/// The default memory budget of one policy on one resource: 512 MiB.
pub const DEFAULT_MEMORY: u64 = 512 << 20;

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            max_violations: 100,
            memory: Some(DEFAULT_MEMORY),
        }
    }
}

/// One compiled policy: the rule it reports as, what it matches, and how it is evaluated.
#[derive(Debug)]
pub(crate) struct Policy {
    pub rule: &'static Rule,
    pub file: Arc<str>,
    pub matcher: admission::Matcher,
    pub body: Body,
}

#[derive(Debug)]
pub(crate) enum Body {
    Rego(Box<rego::RegoPolicy>),
    Cel(cel::CelPolicy),
}

/// Problems found in one policy file, each with its position.
#[derive(Debug)]
pub(crate) struct Problems {
    pub file: Arc<str>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Problems {
    pub fn new(file: impl Into<Arc<str>>) -> Self {
        Self {
            file: file.into(),
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(self.file.clone(), message).at(pos));
    }

    pub fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(
            Diagnostic::error(self.file.clone(), message)
                .at(pos)
                .warning(),
        );
    }

    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == kspm_model::DiagnosticLevel::Error)
            .count()
    }

    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            kspm_model::Value::Str(s) => Some(s.to_string()),
            kspm_model::Value::Int(i) => Some(i.to_string()),
            _ => {
                self.error(
                    node.pos,
                    format!("{what}: expected a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        match node.as_seq() {
            Some(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            None => self.string(node, what).into_iter().collect(),
        }
    }
}

/// What loading policies produced: the compiled set and every problem found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub set: PolicySet,
    /// Syntax and type errors (file:line:column), skipped policies, unknown metadata keys.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether some policy could not be loaded (`--strict-policies` refuses to scan then).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.level == kspm_model::DiagnosticLevel::Error)
    }
}

/// Whether a file is a test-case file kept beside policies (`kspm policy test`).
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tests.yaml") || n.ends_with(".tests.yml"))
}

fn is_sidecar(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".meta.yaml") || n.ends_with(".meta.yml"))
}

/// The policy files under `paths` (files as given; directories recursively, hidden ones
/// skipped), in a stable order.
pub fn policy_files(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut walk = Walk::new();
    for p in paths {
        if p.is_dir() {
            walk.walk(p, diagnostics, &mut |v| {
                if let Visit::File(f) = v
                    && is_policy_candidate(f)
                {
                    out.push(f.to_path_buf());
                }
                DirAction::Descend
            });
        } else if p.exists() {
            out.push(p.clone());
        } else {
            diagnostics.push(Diagnostic::error(
                p.display().to_string(),
                "policy file or directory not found",
            ));
        }
    }
    out
}

/// A value that changes when a file under `paths` changes, appears or goes (its path, size and
/// modification time, through the same walk as [`policy_files`]): a long-running agent compares
/// it to know when to load its policies again. Sidecars and tests count too.
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut note = |f: &Path| {
        f.hash(&mut hasher);
        match std::fs::metadata(f) {
            Ok(m) => {
                m.len().hash(&mut hasher);
                m.modified().ok().hash(&mut hasher);
            }
            Err(e) => e.kind().hash(&mut hasher),
        }
    };
    let mut walk = Walk::new();
    let mut ignored = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk.walk(p, &mut ignored, &mut |v| {
                if let Visit::File(f) = v {
                    note(f);
                }
                DirAction::Descend
            });
        } else {
            note(p);
        }
    }
    hasher.finish()
}

pub(crate) fn is_policy_candidate(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match ext {
        // `_test.rego` files are OPA unit tests, not policies.
        "rego" => !name.ends_with("_test.rego"),
        "yaml" | "yml" | "json" => !is_test_file(p) && !is_sidecar(p),
        _ => false,
    }
}

/// The largest policy file read. Real policies are a few kilobytes; a bundle of generated ones
/// stays far below this.
pub const MAX_POLICY_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a policy (or sidecar) file: a regular file of at most [`MAX_POLICY_BYTES`], UTF-8.
/// `/dev/zero` or a FIFO named as a policy is refused rather than read forever.
pub(crate) fn read_policy_file(path: &Path) -> Result<String, UnreadablePolicy> {
    let bytes = kspm_engine::source::read_regular(path, MAX_POLICY_BYTES)?;
    String::from_utf8(bytes).map_err(|_| UnreadablePolicy::NotUtf8)
}

/// Why a policy (or sidecar) file was not read.
#[derive(Debug, thiserror::Error)]
pub enum UnreadablePolicy {
    #[error(transparent)]
    Read(#[from] kspm_engine::source::ReadError),
    #[error("not valid UTF-8")]
    NotUtf8,
}

/// Loads and compiles every policy under `paths`.
pub fn load(paths: &[PathBuf], limits: Limits) -> Loaded {
    load_with_cluster(paths, &[], limits)
}

/// Loads the policies under `paths` together with policy objects read from a live cluster
/// (`kspm scan --cluster --cluster-policies`): ValidatingAdmissionPolicies, their bindings and
/// params objects, Gatekeeper ConstraintTemplates and Constraints. Both go into one set, so a
/// binding in a file can name a policy in the cluster and the other way round.
///
/// The cluster's objects name where they came from in their [`Source`] (`cluster:Kind/name`),
/// which is what diagnostics and rule pages show. An object of the cluster that is also in the
/// files (same kind, namespace and name; for ConstraintTemplates, also the same constraint kind)
/// is skipped with a warning: the file's version is used, never both. A ValidatingAdmissionPolicy
/// of the cluster without any binding enforces nothing there and is not evaluated (a warning
/// says so).
pub fn load_with_cluster(paths: &[PathBuf], cluster: &[Resource], limits: Limits) -> Loaded {
    let mut diagnostics = Vec::new();
    let files = policy_files(paths, &mut diagnostics);
    let mut sources = Vec::new();
    for f in files {
        match read_policy_file(&f) {
            Ok(text) => sources.push((f.display().to_string(), text)),
            Err(e) => diagnostics.push(Diagnostic::error(
                f.display().to_string(),
                format!("cannot read policy: {e}"),
            )),
        }
    }
    let mut loaded = combine(&sources, cluster, limits);
    diagnostics.append(&mut loaded.diagnostics);
    loaded.diagnostics = diagnostics;
    loaded
}

/// Loads policies from objects listed from a live cluster alone (no files): the same as
/// [`load_with_cluster`] without paths.
pub fn load_resources(objects: &[Resource], limits: Limits) -> Loaded {
    combine(&[], objects, limits)
}

/// Loads policies from text: `(file name, contents)` pairs. Rego files are recognised by their
/// `.rego` name, sidecar metadata by `<name>.meta.yaml` beside them (read from disk).
pub fn load_sources(sources: &[(String, String)], limits: Limits) -> Loaded {
    combine(sources, &[], limits)
}

/// Policy files' text and a cluster's policy objects, compiled into one set.
fn combine(sources: &[(String, String)], cluster: &[Resource], limits: Limits) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut policies = Vec::new();
    let mut objects: Vec<Resource> = Vec::new();
    for (file, text) in sources {
        if Path::new(file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("rego"))
        {
            let mut p = Problems::new(file.as_str());
            if let Some(policy) = rego::load_native(file, text, &mut p) {
                policies.push(policy);
            }
            diagnostics.append(&mut p.diagnostics);
            continue;
        }
        let (docs, errors) = parse_stream(text, &YamlLimits::default());
        for e in errors {
            diagnostics.push(Diagnostic::error(file.as_str(), e.message).at(e.pos));
        }
        let file_arc: Arc<str> = file.as_str().into();
        for (i, d) in docs.into_iter().enumerate() {
            if d.root.is_null() {
                continue;
            }
            let source = Source {
                file: file_arc.clone(),
                doc: i,
                origin: None,
            };
            match Resource::from_node(d.root, source) {
                Ok(r) => objects.push(r),
                Err(msg) => diagnostics.push(
                    Diagnostic::error(file.as_str(), format!("not a policy object: {msg}"))
                        .in_document(i),
                ),
            }
        }
    }
    let cluster = admission::without_clashes(&objects, cluster, &mut diagnostics);
    let cluster = admission::without_unbound(&objects, cluster, &mut diagnostics);
    // What a worker process loads again to get the same policies in the same order: the
    // files, then the cluster's objects kept above as one more source (no clash or unbound
    // policy left to decide on).
    let mut texts = sources.to_vec();
    if !cluster.is_empty() {
        let docs: Vec<String> = cluster
            .iter()
            .map(|o| o.root.to_json().to_string())
            .collect();
        texts.push((CLUSTER_SOURCE.to_owned(), docs.join("\n---\n")));
    }
    objects.extend(cluster.into_iter().cloned());
    admission::load_objects(&objects, &mut policies, &mut diagnostics);
    diagnostics.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    Loaded {
        set: PolicySet::new(policies, limits, texts),
        diagnostics,
    }
}

/// The name of the source that carries a cluster's policy objects to worker processes.
const CLUSTER_SOURCE: &str = "<cluster>.yaml";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(obj: &serde_json::Value) -> Resource {
        let source = Source {
            file: format!("cluster:{}/{}", obj["kind"], obj["metadata"]["name"]).into(),
            doc: 0,
            origin: None,
        };
        Resource::from_node(Node::from_json(obj), source).unwrap()
    }

    /// A policy directory in a scanned repository cannot make kspm read files outside it.
    #[test]
    fn policy_directories_do_not_follow_links_out() {
        let repo = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("stolen.rego"), "package x").unwrap();
        let dir = repo.path().join("policies");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("mine.rego"), "package mine").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.join("linked")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("stolen.rego"), dir.join("s.rego"))
            .unwrap();
        let mut diags = Vec::new();
        let files = policy_files(std::slice::from_ref(&dir), &mut diags);
        assert_eq!(files, [dir.join("mine.rego")]);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| d.message.contains("not followed")));
    }

    fn codes(set: &PolicySet) -> Vec<&'static str> {
        (0..set.len()).map(|i| set.code(i)).collect()
    }

    /// Worker processes load the set again from its texts: with a cluster's objects, after
    /// clashes and unbound policies were decided, they must get the same policies in the same
    /// order (the worker refuses to serve otherwise).
    #[test]
    fn workers_load_the_same_policies_as_files_plus_cluster() {
        let vap = |name: &str, params: bool| {
            let mut v = json!({"apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
                "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""],
                    "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                  "validations": [{"expression": "true"}]}});
            if params {
                v["spec"]["paramKind"] = json!({"apiVersion": "v1", "kind": "ConfigMap"});
            }
            v
        };
        let binding = |name: &str, policy: &str| {
            json!({"apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
                "spec": {"policyName": policy, "validationActions": ["Audit"],
                    "paramRef": {"name": "limits", "namespace": "p"}}})
        };
        let files = vec![(
            "local.yaml".to_owned(),
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: both}\nspec:\n  validations: [{expression: 'true'}]\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: local}\nspec: {policyName: remote, validationActions: [Deny], paramRef: {name: limits, namespace: p}}\n"
                .to_owned(),
        )];
        let cluster: Vec<Resource> = [
            vap("remote", true),
            vap("unbound", false),
            vap("both", false),
            binding("remote-audit", "remote"),
            binding("both-audit", "both"),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "limits", "namespace": "p"}, "data": {"max": "3"}}),
            json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
                "metadata": {"name": "k8snohost"},
                "spec": {"crd": {"spec": {"names": {"kind": "K8sNoHost"}}},
                  "targets": [{"target": "admission.k8s.gatekeeper.sh", "code": [{
                    "engine": "K8sNativeValidation",
                    "source": {"validations": [{"expression": "true"}]}}]}]}}),
            json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sNoHost",
                "metadata": {"name": "no-host"}, "spec": {}}),
        ]
        .iter()
        .map(live)
        .collect();
        let loaded = combine(&files, &cluster, Limits::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let want = codes(&loaded.set);
        assert_eq!(
            want,
            [
                "vap:both",
                "vap:remote:local",
                "vap:remote:remote-audit",
                "gk:K8sNoHost:no-host"
            ]
        );
        let again = load_sources(loaded.set.texts(), Limits::default());
        assert!(!again.has_errors(), "{:?}", again.diagnostics);
        assert_eq!(codes(&again.set), want);
    }
}
