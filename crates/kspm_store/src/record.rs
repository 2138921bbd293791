//! What the store keeps per finding, and how a finding of a scan maps onto it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use kspm_model::{Finding, ResourceId, Severity};
use serde::Serialize;
use serde_json::Value as Json;

/// The object a finding is on. Its identity ([`ObjectRef::key`]) is the uid when known (objects
/// read from a live cluster), else apiVersion/kind/namespace/name (objects read from files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ObjectRef {
    /// The object's stable identity in the store: `uid:<uid>` or
    /// `ref:<apiVersion>/<kind>/<namespace>/<name>` (namespace empty when cluster-scoped). No
    /// two objects share one: kinds, namespaces and names hold no `/`.
    pub fn key(&self) -> String {
        match &self.uid {
            Some(uid) if !uid.is_empty() => format!("uid:{uid}"),
            _ => format!(
                "ref:{}/{}/{}/{}",
                self.api_version,
                self.kind,
                self.namespace.as_deref().unwrap_or(""),
                self.name
            ),
        }
    }
}

impl From<&ResourceId> for ObjectRef {
    fn from(id: &ResourceId) -> Self {
        Self {
            api_version: id.api_version.clone(),
            kind: id.kind.clone(),
            namespace: id.namespace.clone(),
            name: id.name.clone(),
            uid: id.uid.clone().filter(|u| !u.is_empty()),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// An exception that applies to a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub by: String,
    pub reason: String,
    /// When it stops applying (seconds since the epoch); `None` = no expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// One finding of a scan, as the store sees it: exactly what the finding shows (its value is
/// already redacted when it could be a credential), nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub rule: String,
    pub slug: String,
    pub severity: Severity,
    pub category: String,
    pub object: ObjectRef,
    pub path: String,
    /// `file:line` for files, `cluster` for live objects.
    pub location: String,
    pub message: String,
    pub value: Option<String>,
    pub suppressed: Option<Suppressed>,
    /// What fixes it: `{"description": ..., "patch": [RFC 6902 operations]}`.
    pub fix: Option<StoredFix>,
    /// The finding's risk in its context, 0-100 (higher is more urgent).
    pub risk: i64,
}

/// A finding's fix as the store keeps it, `{"description": ..., "patch": [RFC 6902 operations]}`,
/// held as compact JSON text: a sync hands over every finding of a cluster, and a JSON value
/// tree per fix costs several times its text (it was the largest part of an agent's first sync
/// of 46,000 findings). Serialized as the JSON object it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFix(Box<str>);

impl StoredFix {
    pub fn of(fix: &kspm_model::Fix) -> Self {
        Self::from_json(&serde_json::json!({
            "description": fix.description,
            "patch": fix.ops.iter().map(kspm_model::PatchOp::to_json_patch).collect::<Vec<_>>(),
        }))
    }

    pub fn from_json(value: &Json) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    /// Text read back from the store; an error when it is not JSON.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)?;
        Ok(Self(text.into()))
    }

    /// The compact JSON text, as stored.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The fix as a JSON value (`Null` if the text were not JSON, which `parse` prevents).
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.0).unwrap_or(Json::Null)
    }
}

impl Serialize for StoredFix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}

impl From<&Finding> for Observation {
    fn from(f: &Finding) -> Self {
        let location = if f.pos.is_known() {
            format!("{}:{}", f.source.file, f.pos.line)
        } else {
            f.source.file.to_string()
        };
        Self {
            rule: f.code.to_owned(),
            slug: f.slug.to_owned(),
            severity: f.severity,
            category: f.category.to_owned(),
            object: ObjectRef::from(&*f.resource),
            path: f.path.to_string(),
            location,
            message: f.message.clone(),
            value: f.value.clone(),
            suppressed: f.suppressed.as_ref().map(|s| Suppressed {
                by: s.by.clone(),
                reason: s.reason.clone(),
                until: s.until,
            }),
            fix: f.fix.as_deref().map(StoredFix::of),
            risk: i64::from(f.risk.score),
        }
    }
}

/// The complete current state of one cluster (or of part of it), handed to
/// [`Store::sync`](crate::Store::sync).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub observations: Vec<Observation>,
    /// Keys ([`ObjectRef::key`]) of every object judged, with or without findings: a stored
    /// finding whose object is among them and that is not observed was fixed; one whose object
    /// is not was deleted.
    pub objects: BTreeSet<String>,
    /// Whether the snapshot covers the whole cluster. When it does not (a partial live scan),
    /// only findings of the judged objects can resolve; the others are left as they are.
    pub complete: bool,
    /// The namespaces the scan was limited to (`--namespace`): the snapshot is complete within
    /// them, and findings of objects elsewhere are left as they are. `None` = everywhere.
    pub namespaces: Option<BTreeSet<String>>,
    /// The rules that ran, when not every rule did (`--select`): findings of other rules are
    /// left as they are instead of resolving. `None` = every rule.
    pub rules: Option<BTreeSet<String>>,
}

impl Snapshot {
    /// A snapshot from a scan's findings (suppressed ones included), the objects it judged and
    /// the codes of the rules it ran.
    pub fn from_scan<'a>(
        findings: &[Finding],
        objects: impl IntoIterator<Item = &'a ResourceId>,
        rules: impl IntoIterator<Item = &'a str>,
        complete: bool,
    ) -> Self {
        Self {
            observations: findings.iter().map(Observation::from).collect(),
            objects: objects
                .into_iter()
                .map(|id| ObjectRef::from(id).key())
                .collect(),
            complete,
            namespaces: None,
            rules: Some(rules.into_iter().map(str::to_owned).collect()),
        }
    }
}

/// Where a finding is in its lifecycle. A reopened finding is `Open` again with a higher
/// [`FindingRecord::reopen_count`] and a `reopened` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Resolved,
    /// An exception applies: still present, not counted as open.
    Suppressed,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Suppressed => "suppressed",
        }
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Status::Open),
            "resolved" => Ok(Status::Resolved),
            "suppressed" => Ok(Status::Suppressed),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// A name that is no [`Status`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}` (expected open, resolved or suppressed)")]
pub struct UnknownStatus(pub String);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition, kept in the append-only event table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Resolved,
    Reopened,
    Suppressed,
    Unsuppressed,
}

impl EventKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Resolved => "resolved",
            EventKind::Reopened => "reopened",
            EventKind::Suppressed => "suppressed",
            EventKind::Unsuppressed => "unsuppressed",
        }
    }
}

impl FromStr for EventKind {
    type Err = UnknownEvent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "opened" => EventKind::Opened,
            "resolved" => EventKind::Resolved,
            "reopened" => EventKind::Reopened,
            "suppressed" => EventKind::Suppressed,
            "unsuppressed" => EventKind::Unsuppressed,
            other => return Err(UnknownEvent(other.to_owned())),
        })
    }
}

/// A name that is no [`EventKind`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event `{0}`")]
pub struct UnknownEvent(pub String);

/// Why a finding resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResolvedReason {
    /// The object is still there and no longer has the finding.
    Fixed,
    /// The object is gone.
    Deleted,
}

impl ResolvedReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            ResolvedReason::Fixed => "fixed",
            ResolvedReason::Deleted => "deleted",
        }
    }
}

/// A stored finding: its identity (cluster, rule, object, path), what it last showed, and its
/// lifecycle. Times are seconds since the Unix epoch (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRecord {
    #[serde(skip)]
    pub id: i64,
    pub cluster: String,
    pub rule: String,
    pub slug: String,
    pub severity: Severity,
    pub category: String,
    pub object: ObjectRef,
    pub path: String,
    pub location: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    pub first_seen: i64,
    /// Refreshed by the first sync of each UTC day that still sees the finding (so that a sync
    /// that changes nothing writes nothing): precise to the day while open.
    pub last_seen: i64,
    /// Start of the current open (or suppressed) episode.
    pub opened_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_reason: Option<ResolvedReason>,
    pub reopen_count: i64,
    /// What fixes it: `{"description": ..., "patch": [RFC 6902 operations]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<StoredFix>,
    /// Its risk in its context when last seen, 0-100.
    pub risk: i64,
}

impl FindingRecord {
    /// The store key of the finding's object.
    pub fn object_key(&self) -> String {
        self.object.key()
    }

    /// The status at `now`: a suppression whose exception has expired no longer holds, even
    /// before the next sync records it.
    pub fn status_at(&self, now: i64) -> Status {
        match (&self.status, &self.suppressed) {
            (Status::Suppressed, Some(s)) if s.until.is_some_and(|u| u <= now) => Status::Open,
            (status, _) => *status,
        }
    }
}
