//! `kspm fix`: applies the fixes that findings carry to the manifest files they came from.
//!
//! A fix is a JSON patch on the object; a file is text a person wrote. This crate turns each
//! patch step into text edits on the file ([`edit`], over the located syntax tree of [`cst`]),
//! so comments, key order, indentation, quoting, blank lines and the other documents of the
//! file stay as they were. Every edited document is parsed again and must equal the original
//! object with exactly the patch applied; anything else is refused, never written.
//!
//! Fixing one finding can uncover another (a privileged container also needs its capabilities
//! dropped once it is no longer privileged), so [`plan`] scans, fixes and scans again in memory
//! until nothing more can be fixed: a second run then changes nothing. [`write`] puts the
//! result on disk atomically, and only over files that did not change in the meantime.

pub mod cst;
pub mod edit;
mod origin;
pub mod report;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kspm_engine::{Input, ScanOptions, ScanResult, scan};
use kspm_model::yaml::{Limits, parse_stream, split_documents};
use kspm_model::{
    Diagnostic, FieldPath, Finding, Node, PatchOp, ResourceId, Seg, SegRef, Severity,
};

/// What to fix.
#[derive(Clone, Debug)]
pub struct FixOptions {
    /// Only findings at least this severe are fixed (`--severity`).
    pub min_severity: Option<Severity>,
    /// Rounds of scan → fix; each round fixes what the previous one uncovered.
    pub max_passes: usize,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            min_severity: None,
            max_passes: 8,
        }
    }
}

/// One file as read and as it would be after the fixes.
#[derive(Clone, Debug)]
pub struct FileChange {
    /// The name findings give it (as the user named it, or as found in a directory).
    pub name: Arc<str>,
    pub path: PathBuf,
    /// The bytes read, compared again just before writing.
    pub original: Vec<u8>,
    /// The text with the fixes (without a byte order mark: [`FileChange::new_bytes`] adds
    /// it back).
    pub text: String,
    bom: bool,
}

impl FileChange {
    pub fn original_text(&self) -> &str {
        let s = std::str::from_utf8(&self.original).unwrap_or("");
        s.strip_prefix('\u{feff}').unwrap_or(s)
    }

    pub fn changed(&self) -> bool {
        self.text != self.original_text()
    }

    /// The bytes to write.
    pub fn new_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 3);
        if self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
        out
    }

    /// A unified diff of the change, with paths `a/NAME` and `b/NAME`.
    pub fn diff(&self) -> String {
        let before = self.original_text();
        similar::TextDiff::from_lines(before, self.text.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.name), &format!("b/{}", self.name))
            .to_string()
    }
}

/// A finding whose fix was applied.
#[derive(Clone, Debug)]
pub struct Fixed {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub file: Arc<str>,
    pub line: u32,
    pub resource: Arc<ResourceId>,
    pub path: FieldPath,
    /// The offending value, as the finding showed it (`None` when hidden or missing).
    pub value: Option<String>,
    pub description: String,
    /// The round (1-based) that applied it.
    pub pass: usize,
}

/// Why a finding is still there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The rule has no automatic fix: a person decides.
    NoFix,
    /// Below `--severity`.
    BelowSeverity,
    /// Another fix touched the same field first; a later run may apply it.
    Conflict { with: String },
    /// The input is not a file kspm can honestly edit (stdin, Helm, Kustomize, a symlink...).
    Refused(String),
    /// The fix could not be carried out as a text edit of this file.
    Failed(String),
    /// Still found after the last round.
    NotReached,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoFix => {
                f.write_str("no automatic fix: change it by hand (see `kspm explain`)")
            }
            Reason::BelowSeverity => f.write_str("below --severity"),
            Reason::Conflict { with } => {
                write!(
                    f,
                    "conflicts with the fix for {with}, applied first; run `kspm fix` again"
                )
            }
            Reason::Refused(why) | Reason::Failed(why) => f.write_str(why),
            Reason::NotReached => f.write_str("still found after the last round of fixes"),
        }
    }
}

/// A finding left after fixing, and why.
#[derive(Clone, Debug)]
pub struct Left {
    pub finding: Finding,
    pub reason: Reason,
}

/// What `kspm fix` would do (or did, once written).
#[derive(Debug, Default)]
pub struct Plan {
    /// Every file read for editing, changed or not, by name.
    pub files: BTreeMap<Arc<str>, FileChange>,
    pub fixed: Vec<Fixed>,
    /// Findings of the final state and why each is left.
    pub left: Vec<Left>,
    /// Rounds of scan → fix that ran.
    pub passes: usize,
    /// The scan of the final state (in memory): its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings of the first scan.
    pub found: usize,
    /// Fixes not applied in a round because an earlier fix touched the same field: the
    /// finding, the fix applied first, and the round. The next round judges the object again,
    /// so most of these are settled (or no longer needed) by the end.
    pub conflicts: Vec<(Finding, String, usize)>,
}

impl Plan {
    pub fn changed(&self) -> impl Iterator<Item = &FileChange> {
        self.files.values().filter(|f| f.changed())
    }
}

/// Identity of a finding across rescans: positions move when lines are added, paths do not.
pub(crate) type Key = (Arc<str>, String, &'static str, String);

pub(crate) fn key(f: &Finding) -> Key {
    (
        f.source.file.clone(),
        f.resource.to_string(),
        f.code,
        f.path.to_string(),
    )
}

/// Scans, fixes in memory, scans again, until nothing more changes; nothing is written.
///
/// `opts.inputs` are the paths to fix; the other options (rules, settings, configuration) are
/// those of `kspm scan`.
pub fn plan(opts: &mut ScanOptions, fix: &FixOptions) -> Plan {
    let original_inputs = opts.inputs.clone();
    let roots = input_roots(&original_inputs);
    let mut plan = Plan::default();
    let mut sources: Vec<Arc<str>> = Vec::new();
    let mut reasons: HashMap<Key, Reason> = HashMap::new();
    let mut result;
    let mut pass = 0;
    loop {
        pass += 1;
        if pass > 1 {
            opts.inputs = sources
                .iter()
                .map(|name| match plan.files.get(name) {
                    Some(f) if f.changed() => Input::Text {
                        name: name.to_string(),
                        text: f.text.clone(),
                    },
                    _ => Input::Path(PathBuf::from(&**name)),
                })
                .collect();
        }
        result = scan(opts);
        if pass == 1 {
            plan.found = result.active().count();
            let mut seen = std::collections::HashSet::new();
            for s in &result.scanned {
                if seen.insert(s.source.file.clone()) {
                    sources.push(s.source.file.clone());
                }
            }
        }
        if pass > fix.max_passes {
            break;
        }
        reasons.clear();
        let changed = fix_round(
            &result,
            fix,
            &roots,
            &mut plan,
            &mut reasons,
            pass,
            &opts.limits,
        );
        if !changed {
            break;
        }
    }
    opts.inputs = original_inputs;
    plan.passes = pass.min(fix.max_passes);
    plan.diagnostics = result.diagnostics;
    plan.left = result
        .findings
        .into_iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| {
            let reason = reasons.remove(&key(&f)).unwrap_or_else(|| {
                if f.fix.is_none() {
                    Reason::NoFix
                } else if fix.min_severity.is_some_and(|s| f.severity < s) {
                    Reason::BelowSeverity
                } else {
                    Reason::NotReached
                }
            });
            Left { finding: f, reason }
        })
        .collect();
    plan
}

/// The canonical roots edits must stay within: the directories and files named as inputs.
fn input_roots(inputs: &[Input]) -> Vec<PathBuf> {
    inputs
        .iter()
        .filter_map(|i| match i {
            Input::Path(p) => p.canonicalize().ok(),
            _ => None,
        })
        .collect()
}

/// One round: applies every fix it can to the files in memory; `true` when a file changed.
fn fix_round(
    result: &ScanResult,
    fix: &FixOptions,
    roots: &[PathBuf],
    plan: &mut Plan,
    reasons: &mut HashMap<Key, Reason>,
    pass: usize,
    limits: &Limits,
) -> bool {
    // Fixable findings by file, then document, in the scan's order (worst first).
    let mut by_file: BTreeMap<Arc<str>, BTreeMap<usize, Vec<&Finding>>> = BTreeMap::new();
    for f in result.active() {
        if f.fix.is_none() || fix.min_severity.is_some_and(|s| f.severity < s) {
            continue;
        }
        by_file
            .entry(f.source.file.clone())
            .or_default()
            .entry(f.source.doc)
            .or_default()
            .push(f);
    }
    let mut changed = false;
    for (name, docs) in by_file {
        let all = || docs.values().flatten().copied();
        if !plan.files.contains_key(&name) {
            match load(&name, roots, limits) {
                Ok(file) => {
                    plan.files.insert(name.clone(), file);
                }
                Err(why) => {
                    for f in all() {
                        reasons.insert(key(f), Reason::Refused(origin::refusal(f, &why)));
                    }
                    continue;
                }
            }
        }
        let file = plan.files.get_mut(&name).expect("loaded above");
        for (doc, findings) in docs {
            for (f, outcome) in fix_document(file, doc, &findings) {
                match outcome {
                    Ok(()) => {
                        changed = true;
                        plan.fixed.push(Fixed {
                            code: f.code,
                            slug: f.slug,
                            severity: f.severity,
                            file: f.source.file.clone(),
                            line: f.pos.line,
                            resource: f.resource.clone(),
                            path: f.path.clone(),
                            value: f.value.clone(),
                            description: f
                                .fix
                                .as_ref()
                                .map(|x| x.description.clone())
                                .unwrap_or_default(),
                            pass,
                        });
                    }
                    Err(reason) => {
                        if let Reason::Conflict { with } = &reason {
                            plan.conflicts.push((f.clone(), with.clone(), pass));
                        }
                        reasons.insert(key(f), reason);
                    }
                }
            }
        }
    }
    changed
}

/// Why a source is not a file to edit, before reading it.
#[derive(Debug)]
pub(crate) enum NotEditable {
    Stdin,
    Rendered(PathBuf),
    Other(String),
}

/// Reads a file to edit, after checking it is one: a regular file inside the inputs, not a
/// symbolic link, UTF-8.
fn load(name: &Arc<str>, roots: &[PathBuf], limits: &Limits) -> Result<FileChange, NotEditable> {
    if &**name == "-" {
        return Err(NotEditable::Stdin);
    }
    let path = PathBuf::from(&**name);
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|e| NotEditable::Other(format!("cannot read {name}: {e}")))?;
    if meta.is_dir() {
        return Err(NotEditable::Rendered(path));
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Err(NotEditable::Other(format!(
            "{name} is a symbolic link (to {target}): not edited; fix the file it points to"
        )));
    }
    if !meta.is_file() {
        return Err(NotEditable::Other(format!(
            "{name} is not a regular file: not edited"
        )));
    }
    let canonical = path
        .canonicalize()
        .map_err(|e| NotEditable::Other(format!("cannot resolve {name}: {e}")))?;
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        return Err(NotEditable::Other(format!(
            "{name} is outside the paths given to `kspm fix`: not edited"
        )));
    }
    let original = kspm_engine::source::read_regular(&path, limits.max_file_bytes)
        .map_err(|e| NotEditable::Other(format!("{name}: {e}")))?;
    let text = std::str::from_utf8(&original).map_err(|_| {
        NotEditable::Other(format!(
            "{name} is not UTF-8 (UTF-16 files are scanned, not edited)"
        ))
    })?;
    let bom = text.starts_with('\u{feff}');
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).to_owned();
    Ok(FileChange {
        name: name.clone(),
        path,
        original,
        text,
        bom,
    })
}

/// The byte range of document `doc` in the text.
fn document_range(text: &str, doc: usize) -> Option<std::ops::Range<usize>> {
    split_documents(text)
        .into_iter()
        .find(|c| c.doc == doc)
        .map(|c| {
            let start = c.text.as_ptr() as usize - text.as_ptr() as usize;
            start..start + c.text.len()
        })
}

/// The object tree a document holds, parsed as the scan parses it.
fn parse_object(text: &str) -> Option<Node> {
    let (mut docs, errors) = parse_stream(text, &Limits::default());
    if errors.iter().any(|e| e.fatal) || docs.len() != 1 {
        return None;
    }
    Some(docs.remove(0).root)
}

/// Where the finding's object sits in its document: the root, or an item of a `List`.
fn object_prefix(root: &Node, id: &ResourceId) -> Option<FieldPath> {
    let is = |n: &Node| {
        n.get("kind").and_then(Node::as_str) == Some(id.kind.as_str())
            && n.at(&["metadata", "name"])
                .and_then(Node::as_str)
                .unwrap_or("")
                == id.name
    };
    if is(root) {
        return Some(FieldPath::root());
    }
    let items = root.get("items")?.as_seq()?;
    let matching: Vec<usize> = (0..items.len()).filter(|&i| is(&items[i])).collect();
    match matching.as_slice() {
        [i] => Some(FieldPath::root().key("items").index(*i)),
        _ => None,
    }
}

fn prefixed(prefix: &FieldPath, path: &FieldPath) -> FieldPath {
    let mut p = prefix.clone();
    for seg in path {
        p = match seg {
            SegRef::Key(k) => p.key(k),
            SegRef::Index(i) => p.index(i),
        };
    }
    p
}

fn op_path(op: &PatchOp) -> &FieldPath {
    match op {
        PatchOp::Set { path, .. } | PatchOp::Remove { path } | PatchOp::Append { path, .. } => path,
    }
}

fn with_path(op: &PatchOp, path: FieldPath) -> PatchOp {
    match op {
        PatchOp::Set { value, .. } => PatchOp::Set {
            path,
            value: value.clone(),
        },
        PatchOp::Remove { .. } => PatchOp::Remove { path },
        PatchOp::Append { value, .. } => PatchOp::Append {
            path,
            value: value.clone(),
        },
    }
}

fn overlaps(a: &FieldPath, b: &FieldPath) -> bool {
    let (a, b) = (a.segs(), b.segs());
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// A list item removed earlier shifts the items after it: `path` as it reads now, or `None`
/// when it named the removed item.
fn shift(path: &FieldPath, removed: &FieldPath) -> Option<FieldPath> {
    let (p, r) = (path.segs(), removed.segs());
    let Some((Seg::Index(gone), parent)) = r.split_last() else {
        return Some(path.clone());
    };
    if p.len() <= parent.len() || p[..parent.len()] != *parent {
        return Some(path.clone());
    }
    let Seg::Index(i) = &p[parent.len()] else {
        return Some(path.clone());
    };
    match i.cmp(gone) {
        std::cmp::Ordering::Less => Some(path.clone()),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => {
            let mut out = FieldPath::root();
            for (n, seg) in p.iter().enumerate() {
                out = match seg {
                    Seg::Index(j) if n == parent.len() => out.index(j - 1),
                    Seg::Index(j) => out.index(*j),
                    Seg::Key(k) => out.key(k),
                };
            }
            Some(out)
        }
    }
}

/// Applies the fixes of one document's findings, first come first served; returns each
/// finding's outcome. The document text changes only by fixes that verified.
fn fix_document<'f>(
    file: &mut FileChange,
    doc: usize,
    findings: &[&'f Finding],
) -> Vec<(&'f Finding, Result<(), Reason>)> {
    let mut out = Vec::new();
    let Some(range) = document_range(&file.text, doc) else {
        let why = Reason::Failed(format!(
            "{}: document {} is gone (the file changed since it was scanned)",
            file.name,
            doc + 1
        ));
        return findings.iter().map(|f| (*f, Err(why.clone()))).collect();
    };
    let mut text = file.text[range.clone()].to_owned();
    let fail_all = |why: Reason| findings.iter().map(|f| (*f, Err(why.clone()))).collect();
    let Some(mut expected) = parse_object(&text) else {
        return fail_all(Reason::Failed(format!(
            "{}: document {} does not parse on its own",
            file.name,
            doc + 1
        )));
    };
    let style = match cst::parse(&text) {
        Ok(Some(root)) => {
            let json = root.is_flow()
                && text[root.start..]
                    .trim_start_matches('{')
                    .trim_start()
                    .starts_with('"');
            // The document's own indentation; the file's line endings.
            edit::Style {
                json,
                newline: if file.text.contains("\r\n") {
                    "\r\n"
                } else {
                    "\n"
                },
                ..edit::Style::detect(&text, &[&root])
            }
        }
        Ok(None) => return fail_all(Reason::Failed("empty document".into())),
        Err(cst::Unsupported(why)) => {
            return fail_all(Reason::Refused(format!(
                "{} (document {}): not edited: {why}",
                file.name,
                doc + 1
            )));
        }
    };
    // Fields already touched in this document, with the finding that touched them.
    let mut touched: Vec<(FieldPath, String)> = Vec::new();
    let mut removed: Vec<FieldPath> = Vec::new();
    for &f in findings {
        let fix = f.fix.as_ref().expect("only findings with fixes");
        let Some(prefix) = object_prefix(&expected, &f.resource) else {
            out.push((
                f,
                Err(Reason::Failed(format!(
                    "{}: {} is not in document {} any more (the file changed since it was scanned)",
                    file.name,
                    f.resource,
                    doc + 1
                ))),
            ));
            continue;
        };
        // The fix's steps in the order Fix::apply runs them, on paths as they read now.
        let mut ops: Vec<PatchOp> = Vec::new();
        let mut gone = false;
        // Conflicts are judged on the paths as scanned: every finding of the round saw the
        // same document.
        let scanned: Vec<FieldPath> = fix
            .ops
            .iter()
            .map(|op| prefixed(&prefix, op_path(op)))
            .collect();
        for op in &fix.ops {
            let mut path = Some(prefixed(&prefix, op_path(op)));
            for r in &removed {
                path = path.and_then(|p| shift(&p, r));
            }
            match path {
                Some(p) => ops.push(with_path(op, p)),
                None => gone = true,
            }
        }
        if let Some((_, with)) = touched
            .iter()
            .find(|(t, _)| scanned.iter().any(|p| overlaps(t, p)))
        {
            out.push((f, Err(Reason::Conflict { with: with.clone() })));
            continue;
        }
        if gone {
            out.push((
                f,
                Err(Reason::Conflict {
                    with: "a fix that removed the same list item".into(),
                }),
            ));
            continue;
        }
        let (mut removes, mut steps): (Vec<PatchOp>, Vec<PatchOp>) = ops
            .into_iter()
            .partition(|op| matches!(op, PatchOp::Remove { .. }));
        removes.sort_by(|a, b| op_path(b).cmp(op_path(a)));
        steps.append(&mut removes);
        match apply_steps(&text, &expected, &steps, &style) {
            Ok((new_text, new_expected)) => {
                text = new_text;
                expected = new_expected;
                let label = format!("{} {} ({})", f.code, f.slug, f.path);
                for p in scanned {
                    touched.push((p, label.clone()));
                }
                for op in &steps {
                    if matches!(op, PatchOp::Remove { path } if matches!(path.segs().last(), Some(Seg::Index(_))))
                    {
                        removed.push(op_path(op).clone());
                    }
                }
                out.push((f, Ok(())));
            }
            Err(why) => out.push((
                f,
                Err(Reason::Failed(format!(
                    "{}:{}: the fix could not be applied as an edit of the file: {why}",
                    file.name, f.pos
                ))),
            )),
        }
    }
    file.text.replace_range(range, &text);
    out
}

/// Carries out the steps on the text and on the tree; the edited text must parse to exactly
/// the patched tree.
fn apply_steps(
    text: &str,
    tree: &Node,
    steps: &[PatchOp],
    style: &edit::Style,
) -> Result<(String, Node), StepError> {
    let mut text = text.to_owned();
    let mut tree = tree.clone();
    for op in steps {
        let root = match cst::parse(&text) {
            Ok(Some(root)) => root,
            Ok(None) => return Err(StepError::Empty),
            Err(cst::Unsupported(why)) => return Err(StepError::Unsupported(why)),
        };
        let edits = edit::edits_for(&text, &root, op, style)?;
        edit::apply(&mut text, edits);
        if !op.apply(&mut tree) {
            return Err(StepError::OtherType(op_path(op).clone()));
        }
    }
    let parsed = parse_object(&text).ok_or(StepError::WouldNotParse)?;
    if parsed.to_json() != tree.to_json() {
        return Err(StepError::NotThePatch);
    }
    Ok((text, tree))
}

/// Why a fix's steps were not applied to a document's text.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("the document is empty")]
    Empty,
    /// A construct a text edit could silently get wrong (anchors, multi-line keys...).
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Edit(#[from] edit::EditError),
    /// The patch walks through a scalar or a list where it expects a mapping, or the reverse.
    #[error("`{0}` runs through a value of another type")]
    OtherType(FieldPath),
    #[error("the edited document would not parse (not written)")]
    WouldNotParse,
    /// The edit and the patch disagree: a bug in the editor, caught before writing.
    #[error(
        "the edited document would not equal the patched object (not written; a kspm bug, please report it)"
    )]
    NotThePatch,
}

/// What writing did to one file.
#[derive(Debug)]
pub enum Written {
    Ok,
    /// The file changed on disk after it was read: nothing written.
    ChangedMeanwhile,
    Failed(String),
}

/// Writes every changed file: to a temporary file in the same directory with the original's
/// mode, then renamed over it, and only if the file still holds what was read.
pub fn write(plan: &Plan) -> Vec<(&FileChange, Written)> {
    plan.changed().map(|f| (f, write_one(f))).collect()
}

fn write_one(file: &FileChange) -> Written {
    use std::io::Write as _;
    let path = &file.path;
    match std::fs::read(path) {
        Ok(now) if now == file.original => {}
        Ok(_) => return Written::ChangedMeanwhile,
        Err(e) => return Written::Failed(format!("cannot read it again: {e}")),
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let attempt = || -> std::io::Result<()> {
        let perms = std::fs::metadata(path)?.permissions();
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&file.new_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.as_file().set_permissions(perms)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    match attempt() {
        Ok(()) => Written::Ok,
        Err(e) => Written::Failed(e.to_string()),
    }
}
