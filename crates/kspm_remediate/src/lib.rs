//! `kspm remediate --cluster`: the fixes findings carry, applied to the live objects that own
//! the problem, carefully.
//!
//! - **The owner**, not what it made: findings of a live scan are already reported on the
//!   controller (a Deployment, not its ReplicaSets and Pods); an object that still has a
//!   controlling owner when read is not patched (its owner would undo the change) and the plan
//!   says which owner to fix.
//! - **Dry run first**: every patch is sent with `dryRun=All`, so validation and admission
//!   (kspm's own webhook included) speak before anything changes.
//! - **Never forced**: the patch starts with a `test` of the resourceVersion that was read
//!   ([`patch::guarded`]); an object edited meanwhile is reported as a conflict.
//! - **Only what may be applied**: without `--select`, only fixes the one table in [`safety`]
//!   declares safe; with it, exactly the selected rules' fixes.
//! - **Recorded and undoable**: each applied change (object, touched fields before and after,
//!   rules, time, user) is in the report and, with a store, in `remediation_changes`; `undo`
//!   restores the before-state under the same kind of precondition.

pub mod patch;
pub mod safety;

use std::collections::BTreeMap;
use std::sync::Arc;

use kspm_cluster::objects::{ObjectError, ObjectRef, Objects};
use kspm_model::{Finding, ResourceId};
use kspm_store::{RemediationChange, Store};
use serde_json::{Value as Json, json};

/// What to do.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Rule codes, slugs or categories whose fixes are applied whether safe or not; when
    /// given, only these.
    pub select: Vec<String>,
    /// Apply (after the dry run); otherwise only plan.
    pub apply: bool,
    /// Test hook: wait this long between the dry run and the apply of each change, after
    /// saying so on standard error, so a test can edit the object meanwhile.
    #[doc(hidden)]
    pub pause_before_apply: Option<std::time::Duration>,
}

/// One finding's fix, as planned.
#[derive(Clone, Debug)]
pub struct PlannedFix {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: kspm_model::Severity,
    pub path: String,
    pub description: String,
    /// The rules folded into this finding (implied by it, e.g. privilege escalation by a
    /// privileged container): its fix carries theirs too.
    pub also: Vec<&'static str>,
    /// Why it is safe unattended, when [`safety`] says it is for this rule and every folded one.
    pub safe: Option<&'static str>,
    /// Part of this run's patch.
    pub chosen: bool,
}

/// How one object's change ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Planned; the dry run passed (nothing applied).
    Planned,
    /// Nothing chosen to apply (every fix needs `--select`).
    NothingChosen,
    /// Not patched: why (a controlling owner, the fixes do not fit the object).
    Skipped(String),
    /// The dry run was refused by validation or admission.
    Refused(String),
    /// The object changed since it was read.
    Conflict(String),
    Failed(String),
    Applied,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::NothingChosen => "nothing-chosen",
            Outcome::Skipped(_) => "skipped",
            Outcome::Refused(_) => "refused",
            Outcome::Conflict(_) => "conflict",
            Outcome::Failed(_) => "failed",
            Outcome::Applied => "applied",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Outcome::Skipped(d)
            | Outcome::Refused(d)
            | Outcome::Conflict(d)
            | Outcome::Failed(d) => Some(d),
            _ => None,
        }
    }
}

/// One object's planned (and maybe applied) change.
#[derive(Clone, Debug)]
pub struct Change {
    pub object: ObjectRef,
    pub resource_version: String,
    pub fixes: Vec<PlannedFix>,
    /// Field-level lines: `- path: old`, `+ path: new`.
    pub diff: Vec<String>,
    /// The guarded RFC 6902 patch.
    pub patch: Json,
    pub outcome: Outcome,
    /// Set once applied.
    pub record: Option<RemediationChange>,
}

/// Everything a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub cluster: String,
    pub user: String,
    pub applied: bool,
    pub changes: Vec<Change>,
}

impl Report {
    /// Whether something went wrong (a conflict, a refused dry run, a failure).
    pub fn has_failures(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c.outcome,
                Outcome::Refused(_) | Outcome::Conflict(_) | Outcome::Failed(_)
            )
        })
    }
}

fn object_ref(id: &ResourceId) -> ObjectRef {
    ObjectRef {
        api_version: id.api_version.clone(),
        kind: id.kind.clone(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
    }
}

fn describe_error(e: &ObjectError) -> Outcome {
    match e {
        ObjectError::Conflict(m) => Outcome::Conflict(format!(
            "the object changed since it was read, nothing was overwritten ({m})"
        )),
        ObjectError::Refused(m) => Outcome::Refused(m.clone()),
        other => Outcome::Failed(other.to_string()),
    }
}

/// The controller that owns `object`, as `Kind/name`.
fn controller(object: &Json) -> Option<String> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["name"].as_str().unwrap_or("?")
            )
        })
}

/// A change id: 16 hex digits, unique enough for a cluster's history.
fn change_id(object: &ObjectRef, rv: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(object.to_string().as_bytes());
    h.write(rv.as_bytes());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

/// Plans (and with `opts.apply`, applies) the fixes of `findings` on the live objects.
pub async fn remediate(
    objects: &Objects,
    findings: &[Finding],
    opts: &Options,
    store: Option<&Store>,
    cluster: &str,
) -> Report {
    let user = objects
        .whoami()
        .await
        .unwrap_or_else(|| "unknown".to_owned());
    let mut by_object: BTreeMap<String, (Arc<ResourceId>, Vec<&Finding>)> = BTreeMap::new();
    for f in findings
        .iter()
        .filter(|f| f.suppressed.is_none() && f.fix.is_some())
    {
        by_object
            .entry(f.resource.to_string())
            .or_insert_with(|| (f.resource.clone(), Vec::new()))
            .1
            .push(f);
    }
    let mut report = Report {
        cluster: cluster.to_owned(),
        user: user.clone(),
        applied: opts.apply,
        changes: Vec::new(),
    };
    for (id, found) in by_object.into_values() {
        let change = one(objects, &id, &found, opts, &user).await;
        if let (Some(record), Some(store)) = (&change.record, store)
            && let Err(e) = store.record_change(cluster, record).await
        {
            eprintln!(
                "kspm remediate: change {} was applied but could not be recorded in the store: {e}",
                record.change_id
            );
        }
        report.changes.push(change);
    }
    report
}

async fn one(
    objects: &Objects,
    id: &ResourceId,
    found: &[&Finding],
    opts: &Options,
    user: &str,
) -> Change {
    let object = object_ref(id);
    let fixes: Vec<PlannedFix> = found
        .iter()
        .map(|f| {
            let also: Vec<&'static str> = f.folded.iter().map(|x| x.code).collect();
            // A folded finding's fix does what each of its rules' fixes does: safe only if each
            // is, chosen only if each is selected (the scan runs only the selected rules, so a
            // fold joins selected rules only).
            let safe =
                safety::safe(f.code).filter(|_| also.iter().all(|c| safety::safe(c).is_some()));
            let chosen = if opts.select.is_empty() {
                safe.is_some()
            } else {
                std::iter::once(f.code)
                    .chain(also.iter().copied())
                    .all(|code| {
                        kspm_rules::find_rule(code).is_some_and(|r| {
                            opts.select.iter().any(|n| kspm_engine::rule_matches(r, n))
                        })
                    })
            };
            PlannedFix {
                code: f.code,
                slug: f.slug,
                severity: f.severity,
                path: f.path.to_string(),
                description: f
                    .fix
                    .as_ref()
                    .map(|x| x.description.clone())
                    .unwrap_or_default(),
                also,
                safe,
                chosen,
            }
        })
        .collect();
    let mut change = Change {
        object: object.clone(),
        resource_version: String::new(),
        fixes,
        diff: Vec::new(),
        patch: Json::Null,
        outcome: Outcome::Planned,
        record: None,
    };
    let current = match objects.get(&object).await {
        Ok(o) => o,
        Err(e) => {
            change.outcome = describe_error(&e);
            return change;
        }
    };
    let rv = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    change.resource_version.clone_from(&rv);
    if let Some(owner) = controller(&current) {
        change.outcome = Outcome::Skipped(format!(
            "controlled by {owner}: fix the owner, which would undo a change here"
        ));
        return change;
    }
    let chosen: Vec<&kspm_model::Fix> = found
        .iter()
        .zip(&change.fixes)
        .filter(|(_, p)| p.chosen)
        .filter_map(|(f, _)| f.fix.as_deref())
        .collect();
    if chosen.is_empty() {
        change.outcome = Outcome::NothingChosen;
        return change;
    }
    let before = patch::desired(&current);
    let Some(after) = patch::apply(&before, &chosen) else {
        change.outcome = Outcome::Skipped("a fix does not fit the object as it is now".to_owned());
        return change;
    };
    let ops = patch::diff(&before, &after);
    if ops.is_empty() {
        change.outcome = Outcome::Skipped("the object already has the fixed values".to_owned());
        return change;
    }
    change.diff = patch::describe(&before, &ops);
    change.patch = patch::guarded(&rv, ops.clone());
    if let Err(e) = objects.json_patch(&object, &change.patch, true).await {
        change.outcome = failure(objects, &object, &rv, &e).await;
        return change;
    }
    if !opts.apply {
        return change;
    }
    if let Some(pause) = opts.pause_before_apply {
        eprintln!("kspm remediate: pausing before applying to {object}");
        tokio::time::sleep(pause).await;
    }
    match objects.json_patch(&object, &change.patch, false).await {
        Ok(result) => {
            let after_rv = result["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            change.outcome = Outcome::Applied;
            change.record = Some(RemediationChange {
                change_id: change_id(&object, &rv),
                at: kspm_store::time::now(),
                username: user.to_owned(),
                rules: change
                    .fixes
                    .iter()
                    .filter(|f| f.chosen)
                    .flat_map(|f| std::iter::once(f.code).chain(f.also.iter().copied()))
                    .collect::<Vec<_>>()
                    .join(","),
                api_version: object.api_version.clone(),
                kind: object.kind.clone(),
                namespace: object.namespace.clone(),
                name: object.name.clone(),
                before: json!({"resourceVersion": rv, "fields": patch::touched(&current, &ops)})
                    .to_string(),
                after:
                    json!({"resourceVersion": after_rv, "fields": patch::touched(&result, &ops)})
                        .to_string(),
                undone_at: None,
            });
        }
        Err(e) => change.outcome = failure(objects, &object, &rv, &e).await,
    }
    change
}

/// Why a patch guarded by `rv` failed. The server answers a failed `test` step with a generic
/// 422 ("the server rejected our request..."), so the object is read again: a new
/// resourceVersion means the precondition failed, a conflict.
async fn failure(objects: &Objects, object: &ObjectRef, rv: &str, e: &ObjectError) -> Outcome {
    if matches!(e, ObjectError::Refused(_) | ObjectError::Conflict(_))
        && let Ok(now) = objects.get(object).await
        && now["metadata"]["resourceVersion"].as_str() != Some(rv)
    {
        return describe_error(&ObjectError::Conflict(format!(
            "resourceVersion {rv} was read, the server now holds {}",
            now["metadata"]["resourceVersion"].as_str().unwrap_or("?")
        )));
    }
    describe_error(e)
}

/// Why an undo did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no change `{0}` in the store")]
    Unknown(String),
    #[error("change `{0}` was already undone")]
    AlreadyUndone(String),
    #[error("the record of change `{0}` is unreadable")]
    Corrupt(String),
    #[error("{object}: {outcome}")]
    Cluster { object: String, outcome: String },
    #[error(transparent)]
    Store(#[from] kspm_store::StoreError),
}

/// Restores the before-state of change `id`: only if the object is still at the version the
/// change left it in (else a conflict), dry run first.
pub async fn undo(objects: &Objects, store: &Store, id: &str) -> Result<Change, UndoError> {
    let record = store
        .change(id)
        .await?
        .ok_or_else(|| UndoError::Unknown(id.to_owned()))?;
    if record.undone_at.is_some() {
        return Err(UndoError::AlreadyUndone(id.to_owned()));
    }
    let corrupt = || UndoError::Corrupt(id.to_owned());
    let before: Json = serde_json::from_str(&record.before).map_err(|_| corrupt())?;
    let after: Json = serde_json::from_str(&record.after).map_err(|_| corrupt())?;
    let object = ObjectRef {
        api_version: record.api_version.clone(),
        kind: record.kind.clone(),
        namespace: record.namespace.clone(),
        name: record.name.clone(),
    };
    let fail = |outcome: Outcome| UndoError::Cluster {
        object: object.to_string(),
        outcome: match outcome.detail() {
            Some(d) => format!("{}: {d}", outcome.as_str()),
            None => outcome.as_str().to_owned(),
        },
    };
    let current = objects
        .get(&object)
        .await
        .map_err(|e| fail(describe_error(&e)))?;
    let rv = after["resourceVersion"].as_str().unwrap_or_default();
    let mut ops = Vec::new();
    for (path, value) in before["fields"].as_object().ok_or_else(corrupt)? {
        let now = current.pointer(path);
        match (value.is_null(), now.is_some()) {
            (true, true) => ops.push(json!({"op": "remove", "path": path})),
            (true, false) => {}
            (false, true) => ops.push(json!({"op": "replace", "path": path, "value": value})),
            (false, false) => ops.push(json!({"op": "add", "path": path, "value": value})),
        }
    }
    let guarded = patch::guarded(rv, ops.clone());
    let mut change = Change {
        object: object.clone(),
        resource_version: rv.to_owned(),
        fixes: Vec::new(),
        diff: patch::describe(&current, &ops),
        patch: guarded.clone(),
        outcome: Outcome::Applied,
        record: Some(record.clone()),
    };
    for dry_run in [true, false] {
        if let Err(e) = objects.json_patch(&object, &guarded, dry_run).await {
            return Err(fail(failure(objects, &object, rv, &e).await));
        }
    }
    store.mark_undone(id, kspm_store::time::now()).await?;
    if let Some(r) = &mut change.record {
        r.undone_at = Some(kspm_store::time::now());
    }
    Ok(change)
}

/// The report as JSON: every change with its fixes, diff, patch and outcome; applied ones with
/// their record (change id, before, after, rules, time, user).
pub fn report_json(report: &Report) -> Json {
    json!({
        "cluster": report.cluster,
        "user": report.user,
        "mode": if report.applied { "apply" } else { "plan" },
        "changes": report.changes.iter().map(change_json).collect::<Vec<_>>(),
    })
}

pub fn change_json(c: &Change) -> Json {
    let mut o = json!({
        "object": {
            "apiVersion": c.object.api_version, "kind": c.object.kind,
            "namespace": c.object.namespace, "name": c.object.name,
        },
        "resourceVersion": c.resource_version,
        "outcome": c.outcome.as_str(),
        "fixes": c.fixes.iter().map(|f| json!({
            "rule": f.code, "slug": f.slug, "also": f.also, "severity": f.severity.as_str(), "path": f.path,
            "fix": f.description, "safe": f.safe.is_some(), "why_safe": f.safe, "chosen": f.chosen,
        })).collect::<Vec<_>>(),
        "diff": c.diff,
        "patch": c.patch,
    });
    if let Some(d) = c.outcome.detail() {
        o["detail"] = json!(d);
    }
    if let Some(r) = &c.record {
        o["change"] = json!({
            "id": r.change_id,
            "time": kspm_store::time::rfc3339(r.at),
            "user": r.username,
            "rules": r.rules.split(',').collect::<Vec<_>>(),
            "before": serde_json::from_str::<Json>(&r.before).unwrap_or(Json::Null),
            "after": serde_json::from_str::<Json>(&r.after).unwrap_or(Json::Null),
            "undone_at": r.undone_at.map(kspm_store::time::rfc3339),
        });
    }
    o
}

/// The report for a person.
pub fn report_text(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if report.changes.is_empty() {
        out.push_str("nothing to remediate: no open finding with a fix\n");
        return out;
    }
    for c in &report.changes {
        let _ = writeln!(out, "{} ({})", c.object, c.outcome.as_str());
        if let Some(d) = c.outcome.detail() {
            let _ = writeln!(out, "  {d}");
        }
        for f in &c.fixes {
            let also = if f.also.is_empty() {
                String::new()
            } else {
                format!(" (+ {})", f.also.join(", "))
            };
            let _ = writeln!(
                out,
                "  {} {} {:<8} {}{also} [{}]: {}",
                if f.chosen { "*" } else { " " },
                f.code,
                f.severity.as_str(),
                f.slug,
                if f.safe.is_some() {
                    "safe"
                } else {
                    "needs --select"
                },
                f.description
            );
        }
        for line in &c.diff {
            let _ = writeln!(out, "    {line}");
        }
        if let Some(r) = &c.record {
            let _ = writeln!(
                out,
                "  change {} by {} (undo: kspm remediate --cluster --undo {})",
                r.change_id, r.username, r.change_id
            );
        }
    }
    let count = |o: &str| {
        report
            .changes
            .iter()
            .filter(|c| c.outcome.as_str() == o)
            .count()
    };
    let _ = writeln!(
        out,
        "{} object(s): {} planned, {} applied, {} nothing chosen, {} skipped, {} conflict, {} refused, {} failed (* = in this run's patch)",
        report.changes.len(),
        count("planned"),
        count("applied"),
        count("nothing-chosen"),
        count("skipped"),
        count("conflict"),
        count("refused"),
        count("failed"),
    );
    out
}
