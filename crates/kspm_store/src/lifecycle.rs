//! The finding lifecycle as a pure function: what one sync changes, given what is stored and
//! what the scan saw. The store only writes what this returns, so an unchanged cluster yields
//! no change and no write.

use std::collections::{HashMap, HashSet};

use crate::record::{
    EventKind, FindingRecord, Observation, ResolvedReason, Snapshot, Status, Suppressed,
};

/// One appended event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub at: i64,
    pub detail: Option<String>,
}

/// A finding to insert (`before` is `None`) or update, with the events of the transition.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub before: Option<FindingRecord>,
    pub after: FindingRecord,
    pub events: Vec<Event>,
    /// For a resolution of an open finding: how long its episode lasted.
    pub resolve_seconds: Option<i64>,
}

pub(crate) fn day_of(t: i64) -> i64 {
    t.div_euclid(86_400)
}

type Key<'a> = (&'a str, String, &'a str);

/// What syncing `snapshot` into `stored` (every stored finding of `cluster`) changes at `now`.
pub(crate) fn plan(
    cluster: &str,
    stored: &[FindingRecord],
    snapshot: &Snapshot,
    now: i64,
) -> Vec<Change> {
    let by_key: HashMap<Key<'_>, &FindingRecord> = stored
        .iter()
        .map(|r| ((r.rule.as_str(), r.object_key(), r.path.as_str()), r))
        .collect();
    let mut seen: HashSet<Key<'_>> = HashSet::new();
    let mut changes = Vec::new();
    for obs in &snapshot.observations {
        let key = (obs.rule.as_str(), obs.object.key(), obs.path.as_str());
        // The engine reports worst first: the first of two findings with one identity wins.
        if !seen.insert(key.clone()) {
            continue;
        }
        match by_key.get(&key) {
            None => changes.push(opened(cluster, obs, now)),
            Some(before) => {
                if let Some(change) = observed_again(before, obs, now) {
                    changes.push(change);
                }
            }
        }
    }
    for r in stored {
        if r.status == Status::Resolved
            || snapshot
                .rules
                .as_ref()
                .is_some_and(|rules| !rules.contains(&r.rule))
        {
            continue;
        }
        let object = r.object_key();
        if seen.contains(&(r.rule.as_str(), object.clone(), r.path.as_str())) {
            continue;
        }
        let judged = snapshot.objects.contains(&object);
        let in_namespaces = snapshot.namespaces.as_ref().is_none_or(|namespaces| {
            r.object
                .namespace
                .as_ref()
                .is_some_and(|ns| namespaces.contains(ns))
        });
        // In scope: judged by this scan, or covered by a complete one.
        let in_scope = judged || (snapshot.complete && in_namespaces);
        if !in_scope {
            continue;
        }
        let reason = if judged {
            ResolvedReason::Fixed
        } else {
            ResolvedReason::Deleted
        };
        let mut after = r.clone();
        after.status = Status::Resolved;
        after.suppressed = None;
        after.resolved_at = Some(now);
        after.resolved_reason = Some(reason);
        changes.push(Change {
            before: Some(r.clone()),
            after,
            events: vec![Event {
                kind: EventKind::Resolved,
                at: now,
                detail: Some(reason.as_str().to_owned()),
            }],
            resolve_seconds: (r.status == Status::Open).then(|| (now - r.opened_at).max(0)),
        });
    }
    changes
}

fn opened(cluster: &str, obs: &Observation, now: i64) -> Change {
    let (status, kind) = match obs.suppressed {
        Some(_) => (Status::Suppressed, EventKind::Suppressed),
        None => (Status::Open, EventKind::Opened),
    };
    Change {
        before: None,
        after: FindingRecord {
            id: 0,
            cluster: cluster.to_owned(),
            rule: obs.rule.clone(),
            slug: obs.slug.clone(),
            severity: obs.severity,
            category: obs.category.clone(),
            object: obs.object.clone(),
            path: obs.path.clone(),
            location: obs.location.clone(),
            message: obs.message.clone(),
            value: obs.value.clone(),
            status,
            suppressed: obs.suppressed.clone(),
            first_seen: now,
            last_seen: now,
            opened_at: now,
            resolved_at: None,
            resolved_reason: None,
            reopen_count: 0,
            fix: obs.fix.clone(),
            risk: obs.risk,
        },
        events: vec![Event {
            kind,
            at: now,
            detail: obs.suppressed.as_ref().map(describe),
        }],
        resolve_seconds: None,
    }
}

fn describe(s: &Suppressed) -> String {
    format!("{}: {}", s.by, s.reason)
}

/// A stored finding seen again; `None` when nothing about it changed.
fn observed_again(before: &FindingRecord, obs: &Observation, now: i64) -> Option<Change> {
    let mut after = before.clone();
    after.slug.clone_from(&obs.slug);
    after.severity = obs.severity;
    after.category.clone_from(&obs.category);
    after.object = obs.object.clone();
    after.location.clone_from(&obs.location);
    after.message.clone_from(&obs.message);
    after.value.clone_from(&obs.value);
    after.fix.clone_from(&obs.fix);
    after.risk = obs.risk;
    let mut events = Vec::new();
    match (before.status, &obs.suppressed) {
        (Status::Open, None) => {}
        (Status::Open, Some(s)) => {
            after.status = Status::Suppressed;
            after.suppressed = Some(s.clone());
            events.push(Event {
                kind: EventKind::Suppressed,
                at: now,
                detail: Some(describe(s)),
            });
        }
        (Status::Suppressed, Some(s)) => after.suppressed = Some(s.clone()),
        (Status::Suppressed, None) => {
            // An exception that expired ends at its expiry, not at the sync that notices.
            let at = before
                .suppressed
                .as_ref()
                .and_then(|s| s.until)
                .filter(|u| *u <= now)
                .map_or(now, |u| u.max(before.opened_at));
            after.status = Status::Open;
            after.suppressed = None;
            events.push(Event {
                kind: EventKind::Unsuppressed,
                at,
                detail: None,
            });
        }
        (Status::Resolved, suppressed) => {
            after.status = if suppressed.is_some() {
                Status::Suppressed
            } else {
                after.reopen_count += 1;
                Status::Open
            };
            after.suppressed.clone_from(suppressed);
            after.opened_at = now;
            after.resolved_at = None;
            after.resolved_reason = None;
            events.push(Event {
                kind: if suppressed.is_some() {
                    EventKind::Suppressed
                } else {
                    EventKind::Reopened
                },
                at: now,
                detail: suppressed.as_ref().map(describe),
            });
        }
    }
    if after == *before && day_of(before.last_seen) >= day_of(now) {
        return None;
    }
    after.last_seen = now.max(before.last_seen);
    Some(Change {
        before: Some(before.clone()),
        after,
        events,
        resolve_seconds: None,
    })
}

/// Suppressions whose exception expired by `now`, made open at the moment they expired.
pub(crate) fn expire(stored: &[FindingRecord], now: i64) -> Vec<Change> {
    stored
        .iter()
        .filter(|r| r.status == Status::Suppressed)
        .filter_map(|r| {
            let until = r.suppressed.as_ref()?.until.filter(|u| *u <= now)?;
            let mut after = r.clone();
            after.status = Status::Open;
            after.suppressed = None;
            Some(Change {
                before: Some(r.clone()),
                after,
                events: vec![Event {
                    kind: EventKind::Unsuppressed,
                    at: until.max(r.opened_at),
                    detail: Some("exception expired".to_owned()),
                }],
                resolve_seconds: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ObjectRef;
    use kspm_model::Severity;

    const DAY: i64 = 86_400;
    const T0: i64 = 20_000 * DAY + 3_600;

    fn obs(name: &str) -> Observation {
        Observation {
            rule: "WL001".into(),
            slug: "privileged-container".into(),
            severity: Severity::High,
            category: "pod-security".into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: name.into(),
                uid: None,
            },
            path: "spec.template.spec.containers[0].securityContext.privileged".into(),
            location: "deploy.yaml:12".into(),
            message: "privileged".into(),
            value: Some("true".into()),
            suppressed: None,
            fix: None,
            risk: 0,
        }
    }

    fn snapshot(observations: Vec<Observation>, objects: &[&str]) -> Snapshot {
        Snapshot {
            observations,
            objects: objects.iter().map(|n| obs(n).object.key()).collect(),
            complete: true,
            namespaces: None,
            rules: None,
        }
    }

    fn apply(stored: &mut Vec<FindingRecord>, changes: Vec<Change>) {
        for c in changes {
            match c.before {
                Some(b) => {
                    let slot = stored.iter_mut().find(|r| **r == b).unwrap();
                    *slot = c.after;
                }
                None => stored.push(c.after),
            }
        }
    }

    #[test]
    fn unchanged_on_the_same_day_is_no_change() {
        let snap = snapshot(vec![obs("web")], &["web"]);
        let mut stored = Vec::new();
        let first = plan("c", &stored, &snap, T0);
        apply(&mut stored, first);
        assert!(plan("c", &stored, &snap, T0 + 60).is_empty());
        // The next day refreshes last_seen without an event.
        let next_day = plan("c", &stored, &snap, T0 + DAY);
        assert_eq!(next_day.len(), 1);
        assert!(next_day[0].events.is_empty());
        assert_eq!(next_day[0].after.last_seen, T0 + DAY);
    }

    #[test]
    fn duplicate_identities_count_once() {
        let snap = snapshot(vec![obs("web"), obs("web")], &["web"]);
        assert_eq!(plan("c", &[], &snap, T0).len(), 1);
    }

    #[test]
    fn partial_snapshots_resolve_only_judged_objects() {
        let mut stored = Vec::new();
        let first = plan(
            "c",
            &stored,
            &snapshot(vec![obs("a"), obs("b")], &["a", "b"]),
            T0,
        );
        apply(&mut stored, first);
        let mut partial = snapshot(vec![], &["a"]);
        partial.complete = false;
        let changes = plan("c", &stored, &partial, T0 + 10);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after.object.name, "a");
        assert_eq!(
            changes[0].after.resolved_reason,
            Some(ResolvedReason::Fixed)
        );
        assert_eq!(changes[0].resolve_seconds, Some(10));
    }

    #[test]
    fn namespace_scoped_snapshots_leave_other_namespaces_alone() {
        let mut other = obs("b");
        other.object.namespace = Some("other".into());
        let mut stored = Vec::new();
        let first = plan("c", &stored, &snapshot(vec![obs("a"), other], &["a"]), T0);
        apply(&mut stored, first);
        let mut scoped = snapshot(vec![], &[]);
        scoped.namespaces = Some(["shop".to_owned()].into());
        let changes = plan("c", &stored, &scoped, T0 + 10);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after.object.name, "a");
        assert_eq!(
            changes[0].after.resolved_reason,
            Some(ResolvedReason::Deleted)
        );
    }

    #[test]
    fn rules_that_did_not_run_do_not_resolve() {
        let mut stored = Vec::new();
        let first = plan("c", &stored, &snapshot(vec![obs("a")], &["a"]), T0);
        apply(&mut stored, first);
        let mut other_rule = snapshot(vec![], &["a"]);
        other_rule.rules = Some(["PS001".to_owned()].into());
        assert!(plan("c", &stored, &other_rule, T0 + 10).is_empty());
        other_rule.rules = Some(["WL001".to_owned()].into());
        assert_eq!(plan("c", &stored, &other_rule, T0 + 10).len(), 1);
    }

    #[test]
    fn expired_exception_opens_at_its_expiry() {
        let mut o = obs("web");
        o.suppressed = Some(Suppressed {
            by: "kspm.yaml:3".into(),
            reason: "r".into(),
            until: Some(T0 + 100),
        });
        let mut stored = Vec::new();
        let first = plan("c", &stored, &snapshot(vec![o], &["web"]), T0);
        apply(&mut stored, first);
        assert_eq!(stored[0].status, Status::Suppressed);
        let changes = plan(
            "c",
            &stored,
            &snapshot(vec![obs("web")], &["web"]),
            T0 + 500,
        );
        assert_eq!(changes[0].after.status, Status::Open);
        assert_eq!(changes[0].events[0].kind, EventKind::Unsuppressed);
        assert_eq!(changes[0].events[0].at, T0 + 100);
        let expired = expire(&stored, T0 + 500);
        assert_eq!(expired[0].events[0].at, T0 + 100);
        assert!(expire(&stored, T0 + 99).is_empty());
    }
}
