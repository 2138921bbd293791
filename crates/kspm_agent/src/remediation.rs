//! Unattended remediation (`remediation:` in kspm.yaml): after each sync, the agent fixes the
//! open findings of the listed rules in the cluster, through the same path as
//! `kspm remediate --cluster --apply` (owners only, server-side dry run first, a resourceVersion
//! precondition, every applied change recorded in the store and undoable with
//! `kspm remediate --undo`).
//!
//! - **Dry run by default:** with `dry_run: true` (or unset) nothing changes; each object that
//!   would be fixed is logged once as a JSON line (`"event": "remediation"`, outcome `planned`).
//! - **Only the listed rules**, only the listed namespaces (every one but kube-system when none
//!   are listed; kube-system only when listed), suppressed findings never.
//! - **Rate-limited:** at most `max_per_hour` objects are changed (or planned) in any hour; the
//!   rest wait for a later pass.
//! - **Once per finding:** a finding that was tried is not tried again while it stays open (a
//!   refused or conflicting change is logged and left to a person); it is forgotten when it
//!   resolves, so a regression is fixed again.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kspm_cluster::objects::Objects;
use kspm_engine::AutoRemediation;
use kspm_model::Finding;
use kspm_remediate::{Options, Outcome};
use kspm_rules::find_rule;
use kspm_store::Store;

/// Counters for `/metrics`, by outcome.
#[derive(Debug, Default)]
pub struct Counters {
    planned: AtomicU64,
    applied: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    rate_limited: AtomicU64,
}

impl Counters {
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP kspm_agent_remediations_total Objects the agent's unattended remediation planned (dry run), applied, could not apply (refused, conflict, error), skipped (an owner to fix instead, nothing chosen), or put off (rate limit).\n\
             # TYPE kspm_agent_remediations_total counter\n",
        );
        for (outcome, n) in [
            ("planned", &self.planned),
            ("applied", &self.applied),
            ("failed", &self.failed),
            ("skipped", &self.skipped),
            ("rate_limited", &self.rate_limited),
        ] {
            out.push_str(&format!(
                "kspm_agent_remediations_total{{outcome=\"{outcome}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

pub(crate) struct Remediator {
    config: AutoRemediation,
    /// The rule codes the configuration names (codes or slugs).
    codes: HashSet<&'static str>,
    objects: Objects,
    /// `(object, rule)` of the findings tried while they stay open.
    tried: HashSet<(String, &'static str)>,
    /// When each change of the last hour was made.
    recent: VecDeque<Instant>,
    pub counters: Arc<Counters>,
}

fn key(f: &Finding) -> (String, &'static str) {
    (f.resource.to_string(), f.code)
}

impl Remediator {
    pub(crate) fn new(config: AutoRemediation, objects: Objects) -> Self {
        let codes = config
            .auto
            .iter()
            .filter_map(|r| find_rule(r).map(|rule| rule.meta.code))
            .collect();
        Self {
            config,
            codes,
            objects,
            tried: HashSet::new(),
            recent: VecDeque::new(),
            counters: Arc::default(),
        }
    }

    /// Whether a finding is of a rule this remediator may act on (kept across judgements).
    pub(crate) fn wants(&self, f: &Finding) -> bool {
        self.codes.contains(f.code)
    }

    fn in_scope(&self, f: &Finding) -> bool {
        if f.suppressed.is_some() || f.fix.is_none() || !self.codes.contains(f.code) {
            return false;
        }
        let ns = f.resource.namespace.as_deref().unwrap_or("");
        if self.config.namespaces.is_empty() {
            ns != "kube-system"
        } else {
            self.config.namespaces.iter().any(|n| n == ns)
        }
    }

    /// One pass over the current findings.
    pub(crate) async fn pass(&mut self, findings: &[Finding], store: &Store, cluster: &str) {
        let open: HashSet<(String, &'static str)> = findings.iter().map(key).collect();
        self.tried.retain(|k| open.contains(k));
        let hour = Duration::from_hours(1);
        while self.recent.front().is_some_and(|t| t.elapsed() > hour) {
            self.recent.pop_front();
        }
        let mut due: Vec<Finding> = Vec::new();
        let mut objects: Vec<String> = Vec::new();
        for f in findings.iter().filter(|f| self.in_scope(f)) {
            if self.tried.contains(&key(f)) {
                continue;
            }
            let object = f.resource.to_string();
            if !objects.contains(&object) {
                if self.recent.len() + objects.len() >= self.config.max_per_hour as usize {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                objects.push(object);
            }
            due.push(f.clone());
        }
        if due.is_empty() {
            return;
        }
        let opts = Options {
            select: self.config.auto.clone(),
            apply: !self.config.dry_run,
            pause_before_apply: None,
        };
        let store = (!self.config.dry_run).then_some(store);
        let report = kspm_remediate::remediate(&self.objects, &due, &opts, store, cluster).await;
        for f in &due {
            self.tried.insert(key(f));
        }
        for change in &report.changes {
            self.recent.push_back(Instant::now());
            let counter = match change.outcome {
                Outcome::Planned => &self.counters.planned,
                Outcome::Applied => &self.counters.applied,
                Outcome::Skipped(_) | Outcome::NothingChosen => &self.counters.skipped,
                Outcome::Refused(_) | Outcome::Conflict(_) | Outcome::Failed(_) => {
                    &self.counters.failed
                }
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let mut line = kspm_remediate::change_json(change);
            line["event"] = "remediation".into();
            line["dry_run"] = self.config.dry_run.into();
            line["cluster"] = cluster.into();
            println!("{line}");
        }
    }
}
