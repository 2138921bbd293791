//! What the agent holds of the cluster: every watched object, by kind and uid, as the last
//! event (or list) left it. Judging reads only this, never the server, so a burst of changes
//! to one object costs one judgement of its last state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kspm_cluster::live::{self, Role, Session};
use kspm_engine::{Evaluation, ScanOptions, ScanResult};
use kspm_model::{Diagnostic, Index, Resource};
use serde_json::Value as Json;

/// Objects of every watched kind, keyed by uid.
#[derive(Debug, Default)]
pub struct Held {
    kinds: Vec<HashMap<String, Json>>,
    /// Kinds that could not be listed or watched: the judgement is partial without them.
    failed: Vec<Option<String>>,
}

fn uid(o: &Json) -> Option<&str> {
    o["metadata"]["uid"].as_str()
}

fn version(o: &Json) -> Option<&str> {
    o["metadata"]["resourceVersion"].as_str()
}

impl Held {
    pub fn new(kinds: usize) -> Self {
        Self {
            kinds: vec![HashMap::new(); kinds],
            failed: vec![None; kinds],
        }
    }

    pub fn apply(&mut self, kind: usize, object: Json) {
        if let Some(uid) = uid(&object).map(str::to_owned) {
            self.kinds[kind].insert(uid, object);
        }
    }

    pub fn delete(&mut self, kind: usize, uid: &str) {
        self.kinds[kind].remove(uid);
    }

    /// Replaces every object of `kind` by `objects` (a fresh list); returns how many objects
    /// differ (added, removed, or at another resourceVersion) from what was held.
    pub fn replace(&mut self, kind: usize, objects: Vec<Json>) -> usize {
        let fresh: HashMap<String, Json> = objects
            .into_iter()
            .filter_map(|o| uid(&o).map(str::to_owned).map(|u| (u, o)))
            .collect();
        let old = &self.kinds[kind];
        let changed = fresh
            .iter()
            .filter(|(u, o)| old.get(*u).is_none_or(|held| version(held) != version(o)))
            .count();
        let removed = old.keys().filter(|u| !fresh.contains_key(*u)).count();
        self.kinds[kind] = fresh;
        self.failed[kind] = None;
        changed + removed
    }

    pub fn fail(&mut self, kind: usize, why: String) {
        self.failed[kind] = Some(why);
    }

    pub fn objects(&self) -> usize {
        self.kinds.iter().map(HashMap::len).sum()
    }

    /// Judges everything held, as `kspm scan --cluster` judges a cluster: controllers hide what
    /// they own, context kinds feed the index, services and autoscalers are judged once every
    /// workload is known.
    pub fn judge(&self, session: &Session, opts: &ScanOptions) -> ScanResult {
        let label: Arc<str> = Arc::from(session.label());
        let mut owners: HashSet<&str> = HashSet::new();
        for (k, objects) in self.kinds.iter().enumerate() {
            if matches!(session.role(k), Role::Owner | Role::Owned) {
                owners.extend(objects.keys().map(String::as_str));
            }
        }
        let mut resources: Vec<Resource> = Vec::with_capacity(self.objects());
        for (k, objects) in self.kinds.iter().enumerate() {
            let owned = matches!(session.role(k), Role::Owned | Role::Pod);
            for o in objects.values() {
                if owned && live::controller_of(o).is_some_and(|c| owners.contains(c)) {
                    continue;
                }
                if let Some(r) = live::resource(o, &label) {
                    resources.push(r);
                }
            }
        }
        let mut diagnostics = Vec::new();
        let mut index = Index::build(&resources);
        for (k, failed) in self.failed.iter().enumerate() {
            match failed {
                None => index.mark_complete(session.kind_kind(k)),
                Some(why) => diagnostics.push(Diagnostic::error(
                    label.clone(),
                    format!(
                        "could not read {}: {why}; findings on them are missing",
                        session.kind_name(k)
                    ),
                )),
            }
        }
        let inventory = opts.policies.as_ref().is_some_and(|p| p.wants_inventory());
        let mut eval = if inventory {
            Evaluation::with_inventory(opts, &resources)
        } else {
            Evaluation::new(opts)
        };
        eval.learn_rbac(&index);
        eval.check(&resources, &index, &opts.settings);
        eval.after_workloads(&mut index, &opts.settings);
        let partial = self.failed.iter().any(Option::is_some);
        let mut result = eval.finish(opts, diagnostics, 1);
        result.partial = partial;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(uid: &str, rv: &str) -> Json {
        json!({"metadata": {"uid": uid, "resourceVersion": rv, "name": uid}})
    }

    #[test]
    fn a_relist_counts_what_the_watch_missed() {
        let mut held = Held::new(1);
        held.apply(0, obj("a", "1"));
        held.apply(0, obj("b", "1"));
        held.apply(0, obj("c", "1"));
        assert_eq!(
            held.replace(0, vec![obj("a", "1"), obj("b", "1"), obj("c", "1")]),
            0
        );
        // b changed, c was deleted and d created while nobody watched.
        assert_eq!(
            held.replace(0, vec![obj("a", "1"), obj("b", "2"), obj("d", "3")]),
            3
        );
        assert_eq!(held.objects(), 3);
        held.delete(0, "a");
        assert_eq!(held.objects(), 2);
    }
}
