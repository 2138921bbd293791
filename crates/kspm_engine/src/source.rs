//! Finding and reading inputs: files, directories, stdin, Helm charts and Kustomize overlays.
//!
//! Every failure (unreadable file, symlink loop, binary file, missing `helm`) becomes a
//! diagnostic for that path; the other inputs are still read.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kspm_model::yaml::{Chunk, Limits, parse_stream_at, split_documents};
use kspm_model::{Diagnostic, Resource, Source};

/// What the user asked to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
    /// Text already in memory (`kspm node` describes node files and merged kubelet settings
    /// this way); `name` is what findings show as the file.
    Text {
        name: String,
        text: String,
    },
}

impl Input {
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// A unit of text to parse: a file, stdin, or a rendered chart or overlay.
#[derive(Debug)]
pub struct Document {
    /// The name findings will show: the file path, `-`, or the chart/overlay directory.
    pub name: Arc<str>,
    pub text: String,
    /// For rendered output, the template each document came from (`# Source:` comments).
    pub rendered: bool,
}

/// Anything that can be read before parsing: a file to read, or a directory to render.
#[derive(Debug)]
enum Unit {
    File(PathBuf),
    Helm(PathBuf),
    Kustomize(PathBuf),
}

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Walks the inputs into units, reporting what cannot be walked.
fn discover(inputs: &[Input], diags: &mut Vec<Diagnostic>) -> (Vec<Unit>, bool) {
    let mut units = Vec::new();
    let mut stdin = false;
    let mut visited = HashSet::new();
    for input in inputs {
        match input {
            Input::Stdin => stdin = true,
            Input::Text { .. } => {}
            Input::Path(path) => match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => walk(path, &mut visited, &mut units, diags),
                // A file named explicitly is read whatever its extension.
                Ok(_) => units.push(Unit::File(path.clone())),
                Err(e) => diags.push(Diagnostic::error(
                    path.display().to_string(),
                    describe_io(&e),
                )),
            },
        }
    }
    (units, stdin)
}

fn walk(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
    units: &mut Vec<Unit>,
    diags: &mut Vec<Diagnostic>,
) {
    let name = dir.display().to_string();
    let canonical = match dir.canonicalize() {
        Ok(c) => c,
        Err(e) => {
            diags.push(Diagnostic::error(name, describe_io(&e)));
            return;
        }
    };
    if !visited.insert(canonical) {
        // Already walked: a symlink cycle or the same directory named twice.
        return;
    }
    if dir.join("Chart.yaml").is_file() {
        units.push(Unit::Helm(dir.to_path_buf()));
        return;
    }
    if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
        units.push(Unit::Kustomize(dir.to_path_buf()));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(name, describe_io(&e)));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "node_modules");
        if hidden {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, visited, units, diags),
            Ok(_) if is_manifest(&path) && !is_kspm_config(&path) => units.push(Unit::File(path)),
            Ok(_) => {}
            Err(e) => diags.push(Diagnostic::error(
                path.display().to_string(),
                describe_io(&e),
            )),
        }
    }
}

/// kspm's own files met while walking a directory: its configuration, and the test cases and
/// metadata sidecars kept beside custom policies. They are not manifests.
fn is_kspm_config(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "kspm.yaml" | "kspm.yml" | ".kspm.yaml")
        || [".tests.yaml", ".tests.yml", ".meta.yaml", ".meta.yml"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

fn describe_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(40) => "symbolic link loop (too many levels of symbolic links)".to_owned(),
        _ => match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        },
    }
}

/// Checks that bytes are text we can parse.
fn to_text(name: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if bytes.contains(&0) {
        return Err(Diagnostic::error(
            name,
            "binary file (contains NUL bytes); not a manifest",
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            name,
            format!(
                "not valid UTF-8 (first bad byte at offset {}); manifests must be UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

fn read_file(path: &Path, limits: &Limits) -> Result<Document, Diagnostic> {
    let name = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| Diagnostic::error(name.as_str(), describe_io(&e)))?;
    if meta.len() > limits.max_file_bytes {
        return Err(Diagnostic::error(
            name,
            format!(
                "file is {} bytes, over the {}-byte limit (raise limits.max_file_bytes to scan it)",
                meta.len(),
                limits.max_file_bytes
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(limits.max_file_bytes + 1).read_to_end(&mut bytes))
        .map_err(|e| Diagnostic::error(name.as_str(), describe_io(&e)))?;
    let text = to_text(&name, bytes)?;
    Ok(Document {
        name: name.into(),
        text,
        rendered: false,
    })
}

fn read_stdin(limits: &Limits) -> Result<Document, Diagnostic> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::error("-", e.to_string()))?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(Diagnostic::error(
            "-",
            "standard input is over limits.max_file_bytes",
        ));
    }
    Ok(Document {
        name: "-".into(),
        text: to_text("-", bytes)?,
        rendered: false,
    })
}

/// Runs the first renderer found on PATH; `Err` names what is missing or what failed.
fn render(dir: &Path, tools: &[(&str, &[&str])], what: &str) -> Result<Document, Diagnostic> {
    let name = dir.display().to_string();
    let mut tried = Vec::new();
    for (program, args) in tools {
        let mut cmd = Command::new(program);
        cmd.args(*args).arg(dir);
        match cmd.output() {
            Ok(out) if out.status.success() => {
                return Ok(Document {
                    name: name.clone().into(),
                    text: to_text(&name, out.stdout)?,
                    rendered: true,
                });
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let first = stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no message");
                return Err(Diagnostic::error(
                    name,
                    format!("`{program} {}` failed: {first}", args.join(" ")),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => tried.push(*program),
            Err(e) => {
                return Err(Diagnostic::error(
                    name,
                    format!("could not run `{program}`: {e}"),
                ));
            }
        }
    }
    Err(Diagnostic::error(
        name,
        format!(
            "this is a {what}, and rendering it needs {} on PATH (not found); install it, or render the output yourself and scan that",
            tried.join(" or ")
        ),
    ))
}

/// Parses one document of a source into resources; `*List` kinds are expanded into their items.
pub fn parse_chunk(
    doc: &Document,
    chunk: &Chunk<'_>,
    limits: &Limits,
    resources: &mut Vec<Resource>,
    diags: &mut Vec<Diagnostic>,
) {
    let (parsed, errors) = parse_stream_at(chunk.text, limits, chunk.line_offset, chunk.doc);
    for e in errors {
        let d = Diagnostic::error(doc.name.clone(), e.message)
            .at(e.pos)
            .in_document(e.doc_index);
        diags.push(if e.fatal { d } else { d.warning() });
    }
    let origin: Option<Arc<str>> = if doc.rendered {
        chunk.origin.map(Arc::from)
    } else {
        None
    };
    for pd in parsed {
        let source = Source {
            file: doc.name.clone(),
            doc: pd.index,
            origin: origin.clone(),
        };
        let pos = pd.root.pos;
        match Resource::from_node(pd.root, source.clone()) {
            Ok(r) if r.kind().ends_with("List") && r.root.get("items").is_some() => {
                expand_list(r, resources, diags);
            }
            Ok(r) => resources.push(r),
            Err(message) => diags.push(
                Diagnostic::error(
                    doc.name.clone(),
                    format!("not a Kubernetes object: {message}"),
                )
                .at(pos)
                .in_document(pd.index),
            ),
        }
    }
}

/// Parses every document of a source.
pub fn parse_document(
    doc: &Document,
    limits: &Limits,
    resources: &mut Vec<Resource>,
    diags: &mut Vec<Diagnostic>,
) {
    for chunk in split_documents(&doc.text) {
        parse_chunk(doc, &chunk, limits, resources, diags);
    }
}

/// Whether a document may hold an object the cross-resource index keeps, judged from its text
/// so that the index pass parses only those documents. Errs on the side of parsing: JSON, flow
/// style, Lists, and documents whose `kind:` is not a top-level line are parsed.
pub fn may_hold_indexed_kind(text: &str) -> bool {
    let mut saw_kind = false;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("kind:") {
            saw_kind = true;
            let kind = value
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if kspm_model::Index::indexes(kind) || kind.ends_with("List") {
                return true;
            }
        }
    }
    !saw_kind
}

fn expand_list(list: Resource, resources: &mut Vec<Resource>, diags: &mut Vec<Diagnostic>) {
    let kspm_model::Resource { root, source, .. } = list;
    let kspm_model::Value::Map(entries) = root.value else {
        return;
    };
    let Some(items) = entries.into_iter().find(|e| &*e.key == "items") else {
        return;
    };
    let kspm_model::Value::Seq(items) = items.value.value else {
        diags.push(
            Diagnostic::error(source.file.clone(), "`items` of a List must be a list")
                .at(items.key_pos)
                .in_document(source.doc),
        );
        return;
    };
    for item in items {
        let pos = item.pos;
        match Resource::from_node(item, source.clone()) {
            Ok(r) => resources.push(r),
            Err(message) => diags.push(
                Diagnostic::error(
                    source.file.clone(),
                    format!("List item is not a Kubernetes object: {message}"),
                )
                .at(pos)
                .in_document(source.doc),
            ),
        }
    }
}

/// Reads every input (rendering charts and overlays) into memory as text. Independent inputs
/// are read in parallel. Text is what the scan keeps: parsed trees are several times larger and
/// live only while their document is checked.
pub fn read_all(inputs: &[Input], limits: &Limits) -> (Vec<Document>, Vec<Diagnostic>, usize) {
    use rayon::prelude::*;
    let mut diags = Vec::new();
    let (units, stdin) = discover(inputs, &mut diags);
    let mut sources = units.len();
    let read: Vec<Result<Document, Diagnostic>> = units
        .par_iter()
        .map(|unit| match unit {
            Unit::File(p) => read_file(p, limits),
            Unit::Helm(p) => render(
                p,
                &[("helm", &["template", "kspm"] as &[&str])],
                "Helm chart (Chart.yaml)",
            ),
            Unit::Kustomize(p) => render(
                p,
                &[
                    ("kustomize", &["build"] as &[&str]),
                    ("kubectl", &["kustomize"]),
                ],
                "Kustomize directory (kustomization.yaml)",
            ),
        })
        .collect();
    let mut docs = Vec::new();
    for r in read {
        match r {
            Ok(d) => docs.push(d),
            Err(d) => diags.push(d),
        }
    }
    for input in inputs {
        if let Input::Text { name, text } = input {
            sources += 1;
            docs.push(Document {
                name: name.as_str().into(),
                text: text.clone(),
                rendered: false,
            });
        }
    }
    if stdin {
        sources += 1;
        match read_stdin(limits) {
            Ok(doc) => docs.push(doc),
            Err(d) => diags.push(d),
        }
    }
    (docs, diags, sources)
}

/// Every resource of the inputs, parsed, with the problems met on the way. For the analyses
/// that need all objects at once (RBAC, network reachability) rather than one at a time.
pub fn load(inputs: &[Input], limits: &Limits) -> (Vec<Resource>, Vec<Diagnostic>) {
    let (docs, mut diags, _) = read_all(inputs, limits);
    let mut resources = Vec::new();
    for doc in &docs {
        parse_document(doc, limits, &mut resources, &mut diags);
    }
    diags.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    (resources, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads and parses every input into memory (for callers that want all the trees at once).
    fn load(inputs: &[Input], limits: &Limits) -> (Vec<Resource>, Vec<Diagnostic>, usize) {
        let (docs, mut diags, sources) = read_all(inputs, limits);
        let mut resources = Vec::new();
        for doc in &docs {
            parse_document(doc, limits, &mut resources, &mut diags);
        }
        (resources, diags, sources)
    }

    #[test]
    fn rendered_documents_name_their_template() {
        let doc = Document {
            name: "chart".into(),
            text: "---\n# Source: c/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\n# Source: c/templates/d.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n".into(),
            rendered: true,
        };
        let mut resources = Vec::new();
        let mut diags = Vec::new();
        parse_document(&doc, &Limits::default(), &mut resources, &mut diags);
        let origins: Vec<_> = resources
            .iter()
            .map(|r| r.source.origin.as_deref())
            .collect();
        assert_eq!(
            origins,
            [Some("c/templates/sa.yaml"), Some("c/templates/d.yaml")]
        );
        assert_eq!(resources[1].root.get("kind").unwrap().pos.line, 9);
    }

    #[test]
    fn index_prefilter_errs_on_the_side_of_parsing() {
        assert!(may_hold_indexed_kind(
            "apiVersion: v1\nkind: ServiceAccount\n"
        ));
        assert!(may_hold_indexed_kind(
            "kind: \"PodDisruptionBudget\" # comment\n"
        ));
        assert!(may_hold_indexed_kind("{\"kind\": \"Deployment\"}"));
        assert!(may_hold_indexed_kind("kind: List\nitems: []\n"));
        assert!(!may_hold_indexed_kind(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  x:\n    kind: Service\n"
        ));
    }

    #[test]
    fn lists_are_expanded() {
        let doc = Document {
            name: "l.yaml".into(),
            text: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {kind: Pod}\n".into(),
            rendered: false,
        };
        let mut resources = Vec::new();
        let mut diags = Vec::new();
        parse_document(&doc, &Limits::default(), &mut resources, &mut diags);
        assert_eq!(resources.len(), 1);
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].message.contains("missing `apiVersion`"),
            "{diags:?}"
        );
        assert_eq!(diags[0].line, Some(5));
    }

    #[test]
    fn binary_and_missing_files_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), b"\x00\x01\x02").unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        )
        .unwrap();
        let missing = dir.path().join("nope.yaml");
        let inputs = [Input::Path(dir.path().to_path_buf()), Input::Path(missing)];
        let (resources, diags, _) = load(&inputs, &Limits::default());
        assert_eq!(resources.len(), 1);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().any(|d| d.message.contains("binary")));
        assert!(diags.iter().any(|d| d.message.contains("no such file")));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_terminate() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("back")).unwrap();
        std::os::unix::fs::symlink(sub.join("self"), sub.join("self")).unwrap();
        std::fs::write(
            sub.join("p.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        )
        .unwrap();
        let (resources, diags, _) =
            load(&[Input::Path(dir.path().to_path_buf())], &Limits::default());
        assert_eq!(resources.len(), 1);
        assert!(
            diags.iter().any(|d| d.message.contains("loop")),
            "{diags:?}"
        );
    }
}
