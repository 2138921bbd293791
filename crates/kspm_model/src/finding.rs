//! What a scan produces: findings (a rule matched) and diagnostics (input could not be judged).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::node::{Node, Pos, Value};
use crate::path::FieldPath;
use crate::resource::{ResourceId, Source};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of the five.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected critical, high, medium, low or info)")]
pub struct UnknownSeverity(pub String);

impl Severity {
    /// A severity by name, in any case.
    pub fn parse(s: &str) -> Result<Self, UnknownSeverity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(UnknownSeverity(other.to_owned())),
        }
    }
}

/// [`Severity::parse`] with the message as the error, for callers that keep errors as text
/// (the finding store reads severities back this way).
impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).map_err(|e| e.to_string())
    }
}

/// One step of a fix, in JSON Patch terms so that it can be applied to files and clusters alike.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchOp {
    /// Set a field, creating parent mappings as needed.
    Set { path: FieldPath, value: Json },
    /// Remove a field or list item.
    Remove { path: FieldPath },
    /// Append an item to a list, creating the list as needed.
    Append { path: FieldPath, value: Json },
}

impl PatchOp {
    /// The operation as RFC 6902 names it: `op`, the JSON pointer `path`, and the `value` if
    /// it has one (appending is `add` at the list's `-`).
    pub fn json_patch_parts(&self) -> (&'static str, String, Option<&Json>) {
        match self {
            PatchOp::Set { path, value } => ("add", path.to_pointer(), Some(value)),
            PatchOp::Remove { path } => ("remove", path.to_pointer(), None),
            PatchOp::Append { path, value } => {
                ("add", format!("{}/-", path.to_pointer()), Some(value))
            }
        }
    }

    /// The RFC 6902 form.
    pub fn to_json_patch(&self) -> Json {
        let (op, path, value) = self.json_patch_parts();
        match value {
            Some(value) => serde_json::json!({"op": op, "path": path, "value": value}),
            None => serde_json::json!({"op": op, "path": path}),
        }
    }

    /// Applies the step to a tree in memory; `false` when the path runs through a wrong type.
    pub fn apply(&self, root: &mut Node) -> bool {
        match self {
            PatchOp::Set { path, value } => match root.lookup_mut_or_create(path) {
                Some(slot) => {
                    *slot = Node::from_json(value);
                    true
                }
                None => false,
            },
            PatchOp::Remove { path } => root.remove(path),
            PatchOp::Append { path, value } => match root.lookup_mut_or_create(path) {
                Some(slot) => {
                    if slot.is_null() {
                        slot.value = Value::Seq(Vec::new());
                    }
                    match &mut slot.value {
                        Value::Seq(items) => {
                            items.push(Node::from_json(value));
                            true
                        }
                        _ => false,
                    }
                }
                None => false,
            },
        }
    }
}

/// A fix: a short description and the patch that carries it out.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    pub description: String,
    pub ops: Vec<PatchOp>,
}

impl Fix {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            ops: Vec::new(),
        }
    }

    #[must_use]
    pub fn set(mut self, path: FieldPath, value: Json) -> Self {
        self.ops.push(PatchOp::Set { path, value });
        self
    }

    #[must_use]
    pub fn remove(mut self, path: FieldPath) -> Self {
        self.ops.push(PatchOp::Remove { path });
        self
    }

    #[must_use]
    pub fn append(mut self, path: FieldPath, value: Json) -> Self {
        self.ops.push(PatchOp::Append { path, value });
        self
    }

    /// Applies every step; removals run last and from the highest list index down so that
    /// earlier removals do not shift later ones.
    pub fn apply(&self, root: &mut Node) -> bool {
        let mut ok = true;
        let (removes, others): (Vec<_>, Vec<_>) = self
            .ops
            .iter()
            .partition(|op| matches!(op, PatchOp::Remove { .. }));
        for op in others {
            ok &= op.apply(root);
        }
        let mut removes = removes;
        removes.sort_by(|a, b| {
            let (PatchOp::Remove { path: pa }, PatchOp::Remove { path: pb }) = (a, b) else {
                return std::cmp::Ordering::Equal;
            };
            pb.cmp(pa)
        });
        for op in removes {
            ok &= op.apply(root);
        }
        ok
    }
}

/// Why a finding is not counted: an exception in the configuration or an inline annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub by: String,
    pub reason: String,
    /// When the exception stops applying, in seconds since the Unix epoch (UTC): the start of
    /// the day after its `expires` date. `None` for exceptions without expiry and annotations.
    /// The finding store uses it to reopen a finding at the moment its exception expires.
    pub until: Option<i64>,
}

/// One rule matched one field of one resource.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub category: &'static str,
    pub resource: Arc<ResourceId>,
    pub source: Source,
    pub pos: Pos,
    pub path: FieldPath,
    pub message: String,
    /// The offending value as evidence; `None` when the problem is a missing field, or when the
    /// value could be a credential (never printed).
    pub value: Option<String>,
    /// Boxed, as `suppressed`: most findings have neither, and a large scan holds hundreds of
    /// thousands of findings.
    pub fix: Option<Box<Fix>>,
    pub suppressed: Option<Box<Suppression>>,
    /// The controls this finding is evidence against, when narrower than its rule's: a
    /// table-driven rule (one rule, many benchmark items) names the item each finding fails.
    /// `None` means every control the rule declares.
    pub controls: Option<&'static [&'static kspm_frameworks::Control]>,
    /// How urgent the finding is in its context; set by the engine after the scan.
    pub risk: Risk,
    /// Findings of other rules on the same object that this one implies or repeats (a
    /// privileged container does not also need "capabilities not dropped"): not reported on
    /// their own, yet kept as evidence, and their rules' controls still fail.
    pub folded: Vec<Folded>,
}

/// A finding folded into a stronger one on the same object: what it would have said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub path: FieldPath,
    pub message: String,
    /// As [`Finding::controls`]: the controls it fails when narrower than its rule's.
    pub controls: Option<&'static [&'static kspm_frameworks::Control]>,
}

impl Folded {
    /// What is kept of `f` once another finding absorbs it.
    pub fn of(f: &Finding) -> Self {
        Self {
            code: f.code,
            slug: f.slug,
            severity: f.severity,
            path: f.path.clone(),
            message: f.message.clone(),
            controls: f.controls,
        }
    }
}

/// A finding's priority: its severity weighed by its context (exposure, privileges, where it
/// runs). `factors` explain the score; they are shared by every finding on one object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Risk {
    /// 0-100; higher is more urgent.
    pub score: u8,
    pub factors: Arc<[RiskFactor]>,
}

/// One reason a finding's risk is what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskFactor {
    /// A stable key (`severity`, `exposed`, `privileged`, `host-network`, `kube-system`,
    /// `service-account-privileges`).
    pub factor: &'static str,
    /// Points added to the score.
    pub points: u8,
    /// What was seen, in words (`selected by Service shop/web of type LoadBalancer`).
    pub detail: String,
}

impl Finding {
    /// Attaches a fix.
    pub fn with_fix(&mut self, mut fix: Fix) -> &mut Self {
        // Kept as long as the finding: without the room `format!` leaves (twice its literal
        // text) or that pushing operations left.
        fix.description.shrink_to_fit();
        fix.ops.shrink_to_fit();
        self.fix = Some(Box::new(fix));
        self
    }

    /// Drops the evidence value: for fields that may hold a credential.
    pub fn hide_value(&mut self) -> &mut Self {
        self.value = None;
        self
    }
}

/// Where input could not be read or judged. The scan goes on; the exit code says it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    pub level: DiagnosticLevel,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticLevel {
    /// Something deliberately not judged, said so that nothing is skipped silently (hidden
    /// files, documents that are not manifests, kspm's own reports).
    Notice,
    /// The input was judged anyway (e.g. a duplicate key, last value used).
    Warning,
    /// Something could not be scanned.
    Error,
}

impl Diagnostic {
    pub fn error(file: impl Into<Arc<str>>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            document: None,
            level: DiagnosticLevel::Error,
            message: message.into(),
        }
    }

    #[must_use]
    pub fn at(mut self, pos: Pos) -> Self {
        if pos.is_known() {
            self.line = Some(pos.line);
            self.column = Some(pos.col);
        }
        self
    }

    #[must_use]
    pub fn in_document(mut self, doc: usize) -> Self {
        self.document = Some(doc);
        self
    }

    #[must_use]
    pub fn warning(mut self) -> Self {
        self.level = DiagnosticLevel::Warning;
        self
    }

    #[must_use]
    pub fn notice(mut self) -> Self {
        self.level = DiagnosticLevel::Notice;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(doc) = self.document {
            write!(f, " (document {})", doc + 1)?;
        }
        write!(
            f,
            ": {}: {}",
            match self.level {
                DiagnosticLevel::Notice => "notice",
                DiagnosticLevel::Warning => "warning",
                DiagnosticLevel::Error => "error",
            },
            self.message
        )
    }
}
