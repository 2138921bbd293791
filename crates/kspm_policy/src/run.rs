//! Running a compiled policy set in a scan: once per scan, the Rego engines are cloned for each
//! worker thread (a regorus engine evaluates through `&mut self`) and given the scan's objects
//! when a policy reads them; then every resource is judged by every policy that matches it, on
//! whichever thread the engine hands it to. With a memory bound ([`Limits::memory`]) the
//! evaluation itself happens in worker processes ([`crate::worker`]); what a policy's outcome
//! becomes (findings, diagnostics, a policy switched off) is decided here either way.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kspm_engine::{PolicyOutput, PolicyRun};
use kspm_model::{Diagnostic, FieldPath, Resource};
use kspm_rules::Rule;

use crate::admission::effective_namespace;
use crate::rego::{self, Flavour, Violation};
use crate::worker::{self, Pool};
use crate::{Body, Limits, Policy, cel};

/// Why a policy could not be evaluated on one object; the pair becomes a diagnostic (or, over
/// its time, a stopped policy) and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EvalError {
    #[error(transparent)]
    Rego(#[from] rego::RegoError),
    #[error(transparent)]
    Cel(#[from] cel::CelError),
    /// The engine panicked on this object.
    #[error("the policy engine failed unexpectedly (a bug in it)")]
    Panicked,
}

/// Loaded, compiled policies; the engine's [`kspm_engine::Policies`].
#[derive(Debug)]
pub struct PolicySet {
    policies: Vec<Policy>,
    limits: Limits,
    /// The `(file, text)` pairs the set was loaded from: a worker process loads them again.
    sources: Vec<(String, String)>,
}

impl PolicySet {
    pub(crate) fn new(
        policies: Vec<Policy>,
        limits: Limits,
        sources: Vec<(String, String)>,
    ) -> Self {
        Self {
            policies,
            limits,
            sources,
        }
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Each policy's rule, with the file it came from; once per rule.
    pub fn sources(&self) -> impl Iterator<Item = (&'static Rule, &str)> {
        // A Kyverno rule on Pods is several policies (Pods, controllers, CronJobs), one rule.
        self.policies
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                !self.policies[..*i]
                    .iter()
                    .any(|q| std::ptr::eq(q.rule, p.rule))
            })
            .map(|(_, p)| (p.rule, &*p.file))
    }

    pub(crate) fn code(&self, i: usize) -> &'static str {
        self.policies[i].rule.meta.code
    }

    pub(crate) fn texts(&self) -> &[(String, String)] {
        &self.sources
    }

    /// Starts a run outside a scan (policy tests).
    pub fn run(&self, inventory: &[Resource]) -> Box<dyn PolicyRun + '_> {
        let rules = kspm_engine::Policies::rules(self);
        kspm_engine::Policies::start(self, inventory, &rules)
    }

    /// The positions, in this set, of the policies whose rule is enabled.
    fn enabled(&self, enabled: &[&'static Rule]) -> Vec<usize> {
        (0..self.policies.len())
            .filter(|&i| {
                enabled
                    .iter()
                    .any(|r| std::ptr::eq(*r, self.policies[i].rule))
            })
            .collect()
    }

    /// A run that evaluates in this process: Rego engines cloned per thread, inventory added.
    pub(crate) fn start_here(&self, inventory: &[Resource], enabled: &[usize]) -> Run<'_> {
        let data = (!inventory.is_empty()).then(|| inventory_data(inventory));
        let slots = rayon::current_num_threads() + 1;
        let timer = regorus::utils::limits::ExecutionTimerConfig {
            limit: self.limits.timeout,
            check_interval: NonZeroU32::new(32).expect("non-zero"),
        };
        let active = enabled
            .iter()
            .map(|&i| {
                let policy = &self.policies[i];
                let pool = match &policy.body {
                    Body::Rego(r) => (0..slots)
                        .map(|_| {
                            let mut e = r.engine.clone();
                            e.set_execution_timer_config(timer);
                            if r.wants_inventory
                                && let Some(d) = &data
                            {
                                // Data is a tree of shared values: adding it clones pointers.
                                let _ = e.add_data(d.clone());
                            }
                            Mutex::new(e)
                        })
                        .collect(),
                    Body::Cel(_) => Vec::new(),
                };
                Active {
                    policy,
                    pool,
                    stopped: AtomicBool::new(false),
                }
            })
            .collect();
        Run::new(active, self.limits, None, Vec::new())
    }
}

impl kspm_engine::Policies for PolicySet {
    fn rules(&self) -> Vec<&'static Rule> {
        self.sources().map(|(rule, _)| rule).collect()
    }

    fn wants_inventory(&self) -> bool {
        self.policies
            .iter()
            .any(|p| matches!(&p.body, Body::Rego(r) if r.wants_inventory))
    }

    fn start<'a>(
        &'a self,
        inventory: &[Resource],
        enabled: &[&'static Rule],
    ) -> Box<dyn PolicyRun + 'a> {
        let enabled = self.enabled(enabled);
        let Some(memory) = self.limits.memory else {
            return Box::new(self.start_here(inventory, &enabled));
        };
        let Some(program) = worker::program() else {
            let note = Diagnostic::error(
                "policies",
                format!(
                    "the {} MiB memory bound on policies is not enforced: no policy worker program is installed (policies run in this process)",
                    memory >> 20
                ),
            )
            .warning();
            let mut run = self.start_here(inventory, &enabled);
            run.notes.push(note);
            return Box::new(run);
        };
        // The evaluation happens in worker processes: only the bookkeeping stays here.
        let active = enabled
            .iter()
            .map(|&i| Active {
                policy: &self.policies[i],
                pool: Vec::new(),
                stopped: AtomicBool::new(false),
            })
            .collect();
        let pool = Pool::new(program, self, &enabled, inventory, memory);
        Box::new(Run::new(active, self.limits, Some(pool), Vec::new()))
    }
}

/// `data.kspm.resources[kind][namespace][name]` and Gatekeeper's
/// `data.inventory.namespace[ns][apiVersion][kind][name]` / `data.inventory.cluster[...]`.
fn inventory_data(inventory: &[Resource]) -> regorus::Value {
    use serde_json::{Map, Value};
    fn slot<'m>(map: &'m mut Map<String, Value>, keys: &[&str]) -> &'m mut Map<String, Value> {
        let mut m = map;
        for k in keys {
            m = m
                .entry((*k).to_owned())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("built as objects");
        }
        m
    }
    let mut kspm = Map::new();
    let mut inv = Map::new();
    for r in inventory {
        let json = r.root.to_json();
        let ns = effective_namespace(r);
        slot(&mut kspm, &[r.kind(), ns.unwrap_or("")]).insert(r.name().to_owned(), json.clone());
        let path: Vec<&str> = match ns {
            Some(n) => vec!["namespace", n, r.api_version(), r.kind()],
            None => vec!["cluster", r.api_version(), r.kind()],
        };
        slot(&mut inv, &path).insert(r.name().to_owned(), json);
    }
    let doc = serde_json::json!({"kspm": {"resources": kspm}, "inventory": inv});
    regorus::Value::from(doc)
}

pub(crate) struct Active<'a> {
    policy: &'a Policy,
    /// One Rego engine per worker thread (plus one for callers outside the pool).
    pool: Vec<Mutex<regorus::Engine>>,
    /// Set when the policy overran its time budget: skipped for the rest of the scan.
    stopped: AtomicBool,
}

impl Active<'_> {
    fn engine(&self) -> MutexGuard<'_, regorus::Engine> {
        let n = self.pool.len();
        let home = rayon::current_thread_index().map_or(n - 1, |i| i.min(n - 1));
        for i in 0..n {
            if let Ok(e) = self.pool[(home + i) % n].try_lock() {
                return e;
            }
        }
        self.pool[home]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct Run<'a> {
    active: Vec<Active<'a>>,
    limits: Limits,
    /// (policy, message) → further resources that failed the same way, so that a policy broken
    /// for every object reports once, not ten thousand times.
    errors: Mutex<HashMap<(usize, String), (Diagnostic, usize)>>,
    /// Worker processes that evaluate, when memory is bounded.
    workers: Option<Pool>,
    /// Said once, at the end of the run.
    notes: Vec<Diagnostic>,
}

/// What evaluating one policy on one resource came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// What the policy reported; `total` counts them before a worker trimmed the list.
    Violations { list: Vec<Violation>, total: usize },
    /// The policy failed on this resource (an error in its evaluation).
    Failed(String),
    /// Interrupted at its time budget (Rego), or its worker killed after it.
    OverTime,
    /// It needed more memory than its budget: its worker ran out, and only it.
    OverMemory,
    /// Its worker died otherwise; says how.
    Crashed(String),
}

impl Outcome {
    /// Drops repeated violations and all but `keep` + 1 of the rest (enough for the run to say
    /// that some were dropped), so a policy reporting a million does not ship them all.
    pub(crate) fn trimmed(self, keep: usize) -> Self {
        match self {
            Outcome::Violations { list, total } => {
                let mut kept: Vec<Violation> = Vec::new();
                for v in list {
                    if kept.len() > keep {
                        break;
                    }
                    if !kept
                        .iter()
                        .any(|k| k.path == v.path && k.message == v.message)
                    {
                        kept.push(v);
                    }
                }
                Outcome::Violations { list: kept, total }
            }
            other => other,
        }
    }
}

/// What one resource looks like to each language, built on first use and shared by policies.
pub(crate) struct Inputs<'a> {
    /// The object and its namespace as JSON, when the caller has them already (a worker reads
    /// them so): saves converting the tree back.
    json: Option<(serde_json::Value, Option<serde_json::Value>)>,
    rego_native: Option<regorus::Value>,
    review: Option<regorus::Value>,
    cel_base: &'a kube_cel::cel::Context<'static>,
    cel: Option<kube_cel::cel::Context<'a>>,
}

fn review(r: &Resource, object: serde_json::Value) -> serde_json::Value {
    let version = r.api_version().rsplit('/').next().unwrap_or("");
    let mut doc = serde_json::json!({
        "oldObject": null,
        "kind": {"group": r.group(), "version": version, "kind": r.kind()},
        "name": r.name(),
        "namespace": effective_namespace(r).unwrap_or(""),
        "operation": "CREATE",
        "userInfo": {"username": "kspm", "groups": []},
        "dryRun": true,
    });
    doc["object"] = object;
    doc
}

impl Run<'_> {
    fn new(
        active: Vec<Active<'_>>,
        limits: Limits,
        workers: Option<Pool>,
        notes: Vec<Diagnostic>,
    ) -> Run<'_> {
        Run {
            active,
            limits,
            errors: Mutex::new(HashMap::new()),
            workers,
            notes,
        }
    }

    /// Evaluates active policy `i` on `r` in this process.
    pub(crate) fn outcome(
        &self,
        i: usize,
        r: &Resource,
        namespace: Option<&Resource>,
        inputs: &mut Inputs<'_>,
    ) -> Outcome {
        let a = &self.active[i];
        // A panic inside a policy engine on some odd object is that pair's error, not the
        // end of the scan.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::evaluate(a, r, namespace, inputs)
        }))
        .unwrap_or(Err(EvalError::Panicked));
        match result {
            Ok(list) => Outcome::Violations {
                total: list.len(),
                list,
            },
            Err(EvalError::Rego(rego::RegoError::OverTime)) => Outcome::OverTime,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.limits.timeout
    }

    pub(crate) fn max_violations(&self) -> usize {
        self.limits.max_violations
    }

    /// How many policies the run evaluates.
    pub(crate) fn len(&self) -> usize {
        self.active.len()
    }

    fn evaluate(
        a: &Active<'_>,
        r: &Resource,
        namespace: Option<&Resource>,
        inputs: &mut Inputs<'_>,
    ) -> Result<Vec<Violation>, EvalError> {
        match &a.policy.body {
            Body::Rego(policy) => {
                let input = match &policy.flavour {
                    Flavour::Native => {
                        let json = &inputs.json;
                        inputs
                            .rego_native
                            .get_or_insert_with(|| {
                                let (object, ns) = match json {
                                    Some((o, n)) => (o.clone(), n.clone()),
                                    None => (r.root.to_json(), namespace.map(|n| n.root.to_json())),
                                };
                                let mut doc = serde_json::json!({});
                                doc["object"] = object;
                                if let Some(ns) = ns {
                                    doc["namespace"] = ns;
                                }
                                regorus::Value::from(doc)
                            })
                            .clone()
                    }
                    Flavour::Gatekeeper { parameters } => {
                        // The review is converted once per object; each constraint only adds
                        // its parameters (shared values, no copy).
                        let json = &inputs.json;
                        let review = inputs
                            .review
                            .get_or_insert_with(|| {
                                let object = json
                                    .as_ref()
                                    .map_or_else(|| r.root.to_json(), |(o, _)| o.clone());
                                regorus::Value::from(review(r, object))
                            })
                            .clone();
                        let mut doc = std::collections::BTreeMap::new();
                        doc.insert(regorus::Value::from("review"), review);
                        doc.insert(regorus::Value::from("parameters"), parameters.clone());
                        regorus::Value::from(doc)
                    }
                };
                let mut engine = a.engine();
                Ok(rego::evaluate(policy, &mut engine, &input)?)
            }
            Body::Cel(policy) => {
                let base = inputs.cel_base;
                let scope = inputs
                    .cel
                    .get_or_insert_with(|| cel::resource_scope(base, r, namespace));
                Ok(cel::evaluate(policy, scope)?)
            }
        }
    }

    fn diagnostic(r: &Resource, message: String) -> Diagnostic {
        Diagnostic::error(r.source.file.clone(), message)
            .at(r.root.pos)
            .in_document(r.source.doc)
    }

    /// Switches a policy off for the rest of the scan, saying why once.
    fn stop(a: &Active<'_>, r: &Resource, why: &str, out: &mut PolicyOutput) {
        if !a.stopped.swap(true, Ordering::Relaxed) {
            out.diagnostics.push(Self::diagnostic(
                r,
                format!(
                    "policy {} ({}) {why}: stopped, and skipped for the rest of the scan",
                    a.policy.rule.meta.code, a.policy.file,
                ),
            ));
        }
    }

    fn over_time(&self, r: &Resource, elapsed: Duration) -> String {
        format!(
            "took {} ms on {}, over its {} ms limit",
            elapsed.as_millis(),
            r.id,
            self.limits.timeout.as_millis()
        )
    }
}

impl PolicyRun for Run<'_> {
    fn check(&self, r: &Resource, namespace: Option<&Resource>, out: &mut PolicyOutput) {
        let todo: Vec<usize> = (0..self.active.len())
            .filter(|&i| {
                let a = &self.active[i];
                !a.stopped.load(Ordering::Relaxed) && a.policy.matcher.matches(r, namespace)
            })
            .collect();
        if todo.is_empty() {
            return;
        }
        match &self.workers {
            Some(pool) => {
                for (i, outcome, elapsed) in pool.evaluate(r, namespace, &todo) {
                    self.record(i, r, outcome, elapsed, out);
                }
            }
            None => cel::with_base(|base| {
                let mut inputs = Inputs::new(base);
                for i in todo {
                    let started = Instant::now();
                    let outcome = self.outcome(i, r, namespace, &mut inputs);
                    self.record(i, r, outcome, started.elapsed(), out);
                }
            }),
        }
    }

    fn finish(&self) -> Vec<Diagnostic> {
        self.finish_run()
    }
}

impl<'a> Inputs<'a> {
    /// Inputs for an object that arrived as JSON (with its namespace's).
    pub(crate) fn from_json(
        base: &'a kube_cel::cel::Context<'static>,
        object: serde_json::Value,
        namespace: Option<serde_json::Value>,
    ) -> Self {
        Inputs {
            json: Some((object, namespace)),
            ..Inputs::new(base)
        }
    }

    pub(crate) fn new(base: &'a kube_cel::cel::Context<'static>) -> Self {
        Inputs {
            json: None,
            rego_native: None,
            review: None,
            cel_base: base,
            cel: None,
        }
    }
}

impl Run<'_> {
    /// What one policy's outcome on `r` becomes: findings, a diagnostic, or the policy stopped.
    fn record(
        &self,
        index: usize,
        r: &Resource,
        outcome: Outcome,
        elapsed: Duration,
        out: &mut PolicyOutput,
    ) {
        let active = &self.active[index];
        let (violations, total) = match outcome {
            Outcome::Violations { list, total } => (list, total),
            Outcome::OverTime => return Self::stop(active, r, &self.over_time(r, elapsed), out),
            Outcome::OverMemory => {
                let why = format!(
                    "needed more than its {} MiB memory limit on {}",
                    self.limits.memory.unwrap_or(0) >> 20,
                    r.id
                );
                return Self::stop(active, r, &why, out);
            }
            Outcome::Crashed(how) => {
                return Self::stop(active, r, &format!("{how} on {}", r.id), out);
            }
            Outcome::Failed(e) => {
                let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
                match errors.get_mut(&(index, e.clone())) {
                    Some((_, more)) => *more += 1,
                    None => {
                        let d = Self::diagnostic(
                            r,
                            format!(
                                "policy {} failed on {}: {e}",
                                active.policy.rule.meta.code, r.id
                            ),
                        );
                        out.diagnostics.push(d.clone());
                        errors.insert((index, e), (d, 0));
                    }
                }
                return;
            }
        };
        if elapsed > self.limits.timeout {
            // A CEL evaluation cannot be interrupted; its overrun is caught afterwards.
            Self::stop(active, r, &self.over_time(r, elapsed), out);
        }
        let mut seen: Vec<(&Option<FieldPath>, &str)> = Vec::new();
        for v in &violations {
            if seen.iter().any(|(p, m)| **p == v.path && *m == v.message) {
                continue;
            }
            if seen.len() == self.limits.max_violations {
                out.diagnostics.push(
                    Self::diagnostic(
                        r,
                        format!(
                            "policy {} reported {total} violations on {}; only the first {} are kept",
                            active.policy.rule.meta.code, r.id, self.limits.max_violations
                        ),
                    )
                    .warning(),
                );
                break;
            }
            seen.push((&v.path, &v.message));
            let path = v.path.clone().unwrap_or_default();
            out.findings
                .push(kspm_rules::finding(active.policy.rule, r, path, &v.message));
        }
    }

    fn finish_run(&self) -> Vec<Diagnostic> {
        let errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<Diagnostic> = errors
            .values()
            .filter(|(_, more)| *more > 0)
            .map(|(d, more)| {
                let mut d = d.clone();
                d.message = format!("{} (and the same on {more} more resources)", d.message);
                d.line = None;
                d.column = None;
                d.document = None;
                d.warning()
            })
            .collect();
        out.sort_by(|a, b| a.message.cmp(&b.message));
        out.extend(self.notes.iter().cloned());
        if let Some(pool) = &self.workers {
            out.extend(pool.notes());
        }
        out
    }
}
