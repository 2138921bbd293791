//! The scan itself: load → index → check in parallel → exceptions → ordered result.

use kspm_frameworks::{Control, Framework};
use kspm_model::yaml::Limits;
use kspm_model::{Diagnostic, Finding, Index, PodSource, Resource, Severity};
use kspm_rules::{Category, Check, Component, Rule, RuleSet, Settings, check_resource_into, rules};
use rayon::prelude::*;

use crate::config::Config;
use crate::exceptions::{self, Date};
use crate::policy::{PolicyOutput, PolicyRun};
use crate::source::{self, Input};

#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Replaces the default rule set when given: codes, slugs, categories, or `all`.
    pub select: Option<Vec<String>>,
    /// Removed from the selection.
    pub ignore: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown rule or category `{0}` (see `kspm rules`)")]
pub struct SelectionError(pub String);

/// Whether a selection name (code, slug, category, two-letter code prefix, `all`) names a rule.
pub fn rule_matches(rule: &Rule, name: &str) -> bool {
    name.eq_ignore_ascii_case("all")
        || rule.meta.code.eq_ignore_ascii_case(name)
        || rule.meta.slug.eq_ignore_ascii_case(name)
        || rule.meta.category.as_str().eq_ignore_ascii_case(name)
        || (name.len() == 2 && rule.meta.code.starts_with(&name.to_ascii_uppercase()))
}

fn known(name: &str) -> bool {
    rules().iter().any(|r| rule_matches(r, name))
        || Category::parse(name).is_some()
        // Custom policies, registered when they were loaded.
        || kspm_rules::find_rule(name).is_some()
}

/// Resolves a selection against the registry.
pub fn select_rules(sel: &Selection) -> Result<Vec<&'static Rule>, SelectionError> {
    for name in sel.select.iter().flatten().chain(&sel.ignore) {
        if !known(name) {
            return Err(SelectionError(name.clone()));
        }
    }
    Ok(rules()
        .iter()
        .copied()
        .filter(|r| match &sel.select {
            Some(names) => names.iter().any(|n| rule_matches(r, n)),
            None => r.meta.default_enabled,
        })
        .filter(|r| !sel.ignore.iter().any(|n| rule_matches(r, n)))
        .collect())
}

#[derive(Debug, Default)]
pub struct ScanOptions {
    pub inputs: Vec<Input>,
    /// The rules to run: built-in rules and the rules of `policies` (a policy whose rule is not
    /// listed here is not evaluated).
    pub rules: Vec<&'static Rule>,
    /// Custom policies, compiled once for the scan.
    pub policies: Option<std::sync::Arc<dyn crate::Policies>>,
    pub settings: Settings,
    pub limits: Limits,
    pub config: Config,
    /// Honour `kspm.io/ignore` annotations.
    pub inline_exceptions: bool,
    /// The date exceptions expire against (today, unless a test says otherwise).
    pub today: Option<Date>,
    /// Frameworks to report compliance against (`--framework`); their rules should be in
    /// `rules` (see [`framework_rules`]).
    pub frameworks: Vec<Framework>,
    /// Why a component is absent from the input, when the caller knows (`kspm node` on a k3s
    /// node, a managed cluster): shown for the controls that could not be judged.
    pub not_seen: Vec<(Component, String)>,
    /// Facts the manifests do not show (RBAC), for risk scores.
    pub risk: crate::risk::RiskContext,
    /// What the configuration file did, for the reports (see [`crate::plan`]).
    pub applied_config: Option<crate::plan::AppliedConfig>,
}

/// The rules behind a framework's controls, to add to a selection.
pub fn framework_rules(framework: Framework) -> Vec<&'static Rule> {
    rules()
        .iter()
        .copied()
        .filter(|r| r.meta.frameworks.iter().any(|c| c.framework == framework))
        .collect()
}

/// What is kept of a scanned object once its tree is dropped.
#[derive(Clone, Debug)]
pub struct Scanned {
    pub id: std::sync::Arc<kspm_model::ResourceId>,
    pub source: kspm_model::Source,
    /// Whether it holds a pod spec (so pod and container rules judged it).
    pub has_pod_spec: bool,
    /// Its inline exception annotations (`kspm.io/ignore` list and reason), if any.
    pub ignore: Option<(String, Option<String>)>,
    /// The control-plane or node components it configures.
    pub components: Vec<Component>,
    /// Controls that table-driven (component) rules judged on it, pass or fail.
    pub assessed: Vec<&'static Control>,
    /// Risk context when it is a workload, Service or Ingress.
    pub workload: Option<Box<crate::risk::WorkloadFacts>>,
    pub exposure: Option<Box<crate::risk::ExposureFacts>>,
}

impl Scanned {
    /// Whether a rule judged this object (pass or fail).
    pub fn judged_by(&self, rule: &Rule) -> bool {
        match rule.check {
            Check::Object { kinds, .. }
            | Check::AfterWorkloads { kinds, .. }
            | Check::Policy { kinds } => kinds.is_empty() || kinds.contains(&self.id.kind.as_str()),
            Check::PodSpec(_) | Check::Container(_) => self.has_pod_spec,
            Check::Component { component, .. } => self.components.contains(&component),
        }
    }
}

#[derive(Debug, Default)]
pub struct ScanResult {
    /// Findings ordered worst first, then by file and line. Suppressed ones included, marked.
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub resources: usize,
    pub sources: usize,
    /// Every object scanned, for formats that list passes too (JUnit).
    pub scanned: Vec<Scanned>,
    pub rules: Vec<&'static Rule>,
    /// Some objects could not be read (a live scan without permission to list some kinds): the
    /// diagnostics say which and why, and the findings cover only what was read.
    pub partial: bool,
    /// One entry per framework asked for, in the order asked.
    pub compliance: Vec<crate::compliance::FrameworkResult>,
    /// The configuration file applied and what it changed; `None` when there was none.
    pub config: Option<crate::plan::AppliedConfig>,
}

impl ScanResult {
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    pub fn suppressed(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.level == kspm_model::DiagnosticLevel::Error)
    }

    pub fn worst(&self) -> Option<Severity> {
        self.active().map(|f| f.severity).max()
    }
}

/// What one input may make the scan do (see [`Limits`]), shared by the parallel workers.
struct Budget<'l> {
    limits: &'l Limits,
    /// Findings kept so far, over every worker.
    findings: std::sync::atomic::AtomicUsize,
    /// Set once the scan-wide cap was reached (reported once).
    exhausted: std::sync::atomic::AtomicBool,
}

impl<'l> Budget<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            findings: std::sync::atomic::AtomicUsize::new(0),
            exhausted: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Checks one resource into `part`: its findings, the type errors of its pod spec, and what is
/// kept of it once its tree is dropped. A resource over the limits is not judged, or has its
/// findings cut, with an error that says so (the scan is then incomplete: exit 2).
fn check_one(
    set: &RuleSet,
    policies: Option<&dyn PolicyRun>,
    r: &Resource,
    index: &Index<'_>,
    settings: &Settings,
    budget: &Budget<'_>,
    part: &mut Part,
) {
    use std::sync::atomic::Ordering;
    let limits = budget.limits;
    let pod_specs = kspm_model::view::pod_specs(r);
    let containers: usize = pod_specs
        .iter()
        .map(kspm_model::view::PodSpec::container_count)
        .sum();
    if containers > limits.max_containers {
        part.diagnostics.push(
            Diagnostic::error(
                r.source.file.clone(),
                format!(
                    "{} has {containers} containers, over limits.max_containers ({}): not judged",
                    r.id, limits.max_containers
                ),
            )
            .at(r.root.pos)
            .in_document(r.source.doc),
        );
        return;
    }
    if budget.exhausted.load(Ordering::Relaxed) {
        return;
    }
    part.make_room();
    let start = part.findings.len();
    let outcome = check_resource_into(set, r, index, settings, &mut part.findings);
    dedup_tail(&mut part.findings, start);
    if let Some(run) = policies {
        // Policy findings are not merged by path: two violations of one policy on one object
        // with different messages are two findings.
        let namespace = r
            .namespace()
            .and_then(|ns| index.find("Namespace", None, ns));
        let mut out = PolicyOutput {
            findings: std::mem::take(&mut part.findings),
            diagnostics: std::mem::take(&mut part.diagnostics),
        };
        run.check(r, namespace, &mut out);
        part.findings = out.findings;
        part.diagnostics = out.diagnostics;
    }
    let found = part.findings.len() - start;
    if found > limits.max_findings_per_resource {
        part.findings
            .truncate(start + limits.max_findings_per_resource);
        part.diagnostics.push(
            Diagnostic::error(
                r.source.file.clone(),
                format!(
                    "{} has {found} findings, over limits.max_findings_per_resource ({}): the rest were cut",
                    r.id, limits.max_findings_per_resource
                ),
            )
            .at(r.root.pos)
            .in_document(r.source.doc),
        );
    }
    let kept = part.findings.len() - start;
    let before = budget.findings.fetch_add(kept, Ordering::Relaxed);
    if before + kept > limits.max_findings {
        part.findings
            .truncate(start + limits.max_findings.saturating_sub(before));
        if !budget.exhausted.swap(true, Ordering::Relaxed) {
            part.diagnostics.push(Diagnostic::error(
                r.source.file.clone(),
                format!(
                    "the scan reached limits.max_findings ({}): the objects judged after it were not reported",
                    limits.max_findings
                ),
            ));
        }
    }
    for e in outcome.type_errors {
        part.diagnostics.push(
            Diagnostic::error(
                r.source.file.clone(),
                // Type errors quote the bad value; never a credential-shaped one.
                kspm_model::credentials::redact(&format!("{} {}: {}", r.id, e.path, e.message))
                    .into_owned(),
            )
            .at(e.pos)
            .in_document(r.source.doc),
        );
    }
    let (workload, exposure) = crate::risk::facts(r);
    part.scanned.push(Scanned {
        id: r.id.clone(),
        source: r.source.clone(),
        has_pod_spec: !pod_specs.is_empty(),
        ignore: exceptions::inline_annotations(r),
        components: outcome.components,
        assessed: outcome.assessed,
        workload: workload.map(Box::new),
        exposure: exposure.map(Box::new),
    });
}

/// A pod-level field judged once per container (e.g. `runAsUser: 0` on the pod) is one finding.
/// Findings of one resource are contiguous, so duplicates are looked for among them only.
fn dedup_tail(findings: &mut Vec<Finding>, start: usize) {
    let tail = findings.split_off(start);
    if tail.len() > 64 {
        // Hostile input (thousands of findings on one object) must not turn this quadratic.
        let mut seen = std::collections::HashSet::new();
        findings.extend(
            tail.into_iter()
                .filter(|f| seen.insert((f.code, f.path.clone(), f.controls.map(<[_]>::as_ptr)))),
        );
        return;
    }
    for f in tail {
        let dup = findings[start..]
            .iter()
            .any(|k| k.code == f.code && k.path == f.path && k.controls == f.controls);
        if !dup {
            findings.push(f);
        }
    }
}

/// Folds the active findings of each object ([`kspm_rules::fold`]): one finding per problem,
/// the implied and repeated ones kept inside it. After exceptions, so that a suppressed finding
/// neither absorbs nor is absorbed: an exception hides only what it names.
///
/// In place: the findings of a large scan are most of its memory, so they are never copied
/// into a second list. Groups keep the order their first finding came in (the sort after it
/// keeps ties in this order), so the result does not depend on hashing.
fn fold_findings(findings: &mut Vec<Finding>) {
    type Key<'f> = (&'f str, usize, &'f kspm_model::ResourceId);
    let group_of: Vec<u32> = {
        let mut slot: std::collections::HashMap<Key<'_>, u32, foldhash::fast::RandomState> =
            std::collections::HashMap::default();
        let mut groups = 0u32;
        let mut new_group = || {
            groups += 1;
            groups - 1
        };
        // One object's findings mostly come one after another, sharing its identity: those
        // take the group of the one before without hashing the identity again.
        let mut previous: Option<(&Finding, u32)> = None;
        findings
            .iter()
            .map(|f| {
                let group = match previous {
                    _ if f.suppressed.is_some() => new_group(),
                    Some((p, group))
                        if std::sync::Arc::ptr_eq(&p.resource, &f.resource)
                            && std::sync::Arc::ptr_eq(&p.source.file, &f.source.file)
                            && p.source.doc == f.source.doc =>
                    {
                        group
                    }
                    _ => *slot
                        .entry((&f.source.file, f.source.doc, &f.resource))
                        .or_insert_with(&mut new_group),
                };
                previous = f.suppressed.is_none().then_some((f, group));
                group
            })
            .collect()
    };
    // One object's findings are contiguous unless a rule that waits for every workload added
    // one at the end: only then is the list reordered.
    if !group_of.is_sorted() {
        let mut order: Vec<u32> =
            (0..u32::try_from(findings.len()).expect("findings fit u32")).collect();
        order.sort_by_key(|&i| group_of[i as usize]);
        permute(findings, order);
    }
    let mut group_of = group_of;
    group_of.sort_unstable();
    // Each object's findings are folded on their own, in parallel, into the front of their
    // slice; the kept ones are then moved down in order.
    let lens: Vec<usize> = group_of.chunk_by(|a, b| a == b).map(<[u32]>::len).collect();
    let mut groups: Vec<&mut [Finding]> = Vec::with_capacity(lens.len());
    let mut rest: &mut [Finding] = findings;
    for &len in &lens {
        let (group, tail) = rest.split_at_mut(len);
        groups.push(group);
        rest = tail;
    }
    let kept: Vec<usize> = groups
        .into_par_iter()
        .map(|slots| {
            if slots[0].suppressed.is_some() {
                return slots.len();
            }
            kspm_rules::fold_in_place(slots)
        })
        .collect();
    let mut write = 0;
    let mut start = 0;
    for (len, n) in lens.into_iter().zip(kept) {
        for k in 0..n {
            findings.swap(write, start + k);
            write += 1;
        }
        start += len;
    }
    findings.truncate(write);
}

/// Each object's inline exception annotations, by its file, document and identity.
type Ignores<'s> = std::collections::HashMap<
    (&'s str, usize, &'s kspm_model::ResourceId),
    &'s (String, Option<String>),
    foldhash::fast::RandomState,
>;

/// The report's order of `findings` (positions): worst risk first, then severity, file,
/// position in it, object and rule, ties in the order found. Each finding's first keys are
/// packed into two integers beforehand (the file as its rank among the scan's file names), so
/// that most of the comparisons of a sort of hundreds of thousands compare integers, not names.
fn report_order(findings: &[Finding]) -> Vec<u32> {
    let file_rank: std::collections::HashMap<*const u8, u64, foldhash::fast::RandomState> = {
        let mut files: Vec<&str> = Vec::new();
        let mut seen =
            std::collections::HashSet::<*const u8, foldhash::fast::RandomState>::default();
        for f in findings {
            if seen.insert(f.source.file.as_ptr()) {
                files.push(&f.source.file);
            }
        }
        files.sort_unstable();
        let mut ranks = std::collections::HashMap::default();
        let mut rank = 0u64;
        for (i, name) in files.iter().enumerate() {
            // Two copies of one name rank the same.
            if i > 0 && files[i - 1] != *name {
                rank += 1;
            }
            ranks.insert(name.as_ptr(), rank);
        }
        ranks
    };
    let key = |f: &Finding| {
        let first = (u64::from(u8::MAX - f.risk.score) << 56)
            | (u64::from(Severity::Critical as u8 - f.severity as u8) << 48)
            | file_rank[&f.source.file.as_ptr()];
        (first, (u64::from(f.pos.line) << 32) | u64::from(f.pos.col))
    };
    let mut keyed: Vec<((u64, u64), u32)> = findings
        .iter()
        .zip(0u32..)
        .map(|(f, i)| (key(f), i))
        .collect();
    keyed.par_sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| {
                let (fa, fb) = (&findings[*a as usize], &findings[*b as usize]);
                fa.resource
                    .cmp(&fb.resource)
                    .then_with(|| fa.code.cmp(fb.code))
            })
            .then(a.cmp(b))
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Reorders `items` so that `items[k]` becomes the item at `order[k]`, in place (swaps along
/// the permutation's cycles), without a second list of items.
fn permute<T>(items: &mut [T], mut order: Vec<u32>) {
    for start in 0..items.len() {
        // Follow the cycle through `start`, marking visited slots with their own index.
        let mut cur = start;
        loop {
            let next = order[cur] as usize;
            order[cur] = u32::try_from(cur).expect("fits u32");
            if next == start {
                break;
            }
            items.swap(cur, next);
            cur = next;
        }
    }
}

/// A file of at least this many documents has them judged in parallel pieces; a smaller file's
/// documents are judged in order by one thread (files themselves are judged in parallel).
const SPLIT_FILE: usize = 1024;

/// Joined lists (of up to 4,096 findings, about 1 MB) after which freed memory is handed back.
const RELEASE_EVERY: usize = 16;

/// What checking part of the input produced.
#[derive(Default)]
struct Part {
    /// The findings being added to (by [`check_one`]).
    findings: Vec<Finding>,
    /// Findings of the parts joined into this one, in order, all before `findings`: kept as
    /// they came and joined once, at their final size, when the scan finishes (joining each
    /// time would copy the findings, most of a large scan's memory, and hold two copies).
    earlier: Vec<Vec<Finding>>,
    diagnostics: Vec<Diagnostic>,
    scanned: Vec<Scanned>,
    /// Every workload seen, for the rules that wait for all of them.
    workloads: Vec<PodSource>,
    /// The objects those rules judge (Services, NetworkPolicies, autoscalers: small, few).
    waiting: Vec<Resource>,
}

impl Part {
    fn merge(mut self, other: Part) -> Part {
        self.settle();
        self.earlier.extend(other.earlier);
        if !other.findings.is_empty() {
            self.earlier.push(other.findings);
        }
        self.diagnostics.extend(other.diagnostics);
        self.scanned.extend(other.scanned);
        self.workloads.extend(other.workloads);
        self.waiting.extend(other.waiting);
        self
    }

    /// Before judging an object: once the list being added to is large, it is set aside and a
    /// new one of the same size started, so that a part's findings are never copied into a
    /// doubled list (which held both copies at once and left up to half of it unused).
    fn make_room(&mut self) {
        /// Findings a list holds (about 1 MB) before it is set aside.
        const CHUNK: usize = 4096;
        /// Room kept for one object's findings; more only grows the list.
        const HEADROOM: usize = 64;
        if self.findings.len() + HEADROOM > self.findings.capacity()
            && self.findings.capacity() >= CHUNK
        {
            self.settle();
            self.findings = Vec::with_capacity(CHUNK);
        }
    }

    /// Moves the findings being added to among the earlier ones.
    fn settle(&mut self) {
        if !self.findings.is_empty() {
            self.earlier.push(std::mem::take(&mut self.findings));
        }
    }

    /// Joins parts in order, each list allocated once at its final size: merging them pairwise
    /// would copy every item once per level of the merge tree. The findings stay in their
    /// parts' lists until [`Part::take_findings`].
    fn concat(parts: Vec<Part>) -> Part {
        let total = |len: fn(&Part) -> usize| parts.iter().map(len).sum::<usize>();
        let mut all = Part {
            findings: Vec::new(),
            earlier: Vec::with_capacity(total(|p| p.earlier.len() + 1)),
            diagnostics: Vec::with_capacity(total(|p| p.diagnostics.len())),
            scanned: Vec::with_capacity(total(|p| p.scanned.len())),
            workloads: Vec::with_capacity(total(|p| p.workloads.len())),
            waiting: Vec::with_capacity(total(|p| p.waiting.len())),
        };
        for mut p in parts {
            p.settle();
            all.earlier.extend(p.earlier);
            all.diagnostics.extend(p.diagnostics);
            all.scanned.extend(p.scanned);
            all.workloads.extend(p.workloads);
            all.waiting.extend(p.waiting);
        }
        all
    }

    /// Every finding, in order, in one list of exactly their number; each part's list is freed
    /// as soon as it is moved, and handed back every [`RELEASE_EVERY`] lists
    /// ([`crate::memory`]), so the findings are held about once, not twice.
    fn take_findings(&mut self) -> Vec<Finding> {
        self.settle();
        let lists = std::mem::take(&mut self.earlier);
        if lists.len() == 1 {
            return lists.into_iter().next().unwrap_or_default();
        }
        let mut all = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for (i, list) in lists.into_iter().enumerate() {
            all.extend(list);
            // The lists moved so far go back to the system now, not at the allocator's next
            // chance: otherwise they are still resident when the joined list is full, the peak
            // of the scan.
            if i % RELEASE_EVERY == RELEASE_EVERY - 1 {
                crate::memory::release();
            }
        }
        crate::memory::release();
        all
    }

    /// Remembers what the rules that wait for every workload need of `r`.
    fn note(&mut self, set: &RuleSet, r: &Resource) {
        self.workloads.extend(PodSource::of(r));
        if set.waits_for_workloads(r.kind()) {
            self.waiting.push(r.clone());
        }
    }
}

/// Scans files. Two passes over the text, document by document: the first parses only the
/// documents that may hold an indexed kind (Namespaces, ServiceAccounts, PodDisruptionBudgets...)
/// and builds the cross-resource index; the second parses every document, checks it against the
/// rules and the index, and drops its tree, and drops each file's text once its documents are
/// judged. Memory is the index plus the findings plus the files being judged, not every parsed
/// tree at once (ten times the input) nor the whole input.
pub fn scan(opts: &ScanOptions) -> ScanResult {
    let (docs, diagnostics, sources) = source::read_all(&opts.inputs, &opts.limits);
    let chunks: Vec<_> = docs
        .par_iter()
        .flat_map_iter(|d| {
            kspm_model::yaml::split_documents(&d.text)
                .into_iter()
                .map(move |c| (d, c))
        })
        .collect();
    let limits = &opts.limits;
    // Cross-resource policies see every object: only then is every tree kept for the scan.
    let inventory = opts.policies.as_ref().is_some_and(|p| p.wants_inventory());

    let indexed: Vec<Resource> = chunks
        .par_iter()
        .filter(|(_, c)| inventory || source::may_hold_indexed_kind(c.text))
        .flat_map_iter(|(d, c)| {
            let mut resources = Vec::new();
            source::parse_chunk(d, c, limits, &mut resources, &mut Vec::new());
            resources.retain(|r| inventory || Index::indexes(r.kind()));
            if !inventory {
                resources.iter_mut().for_each(Index::identity_only);
            }
            resources
        })
        .collect();
    let mut index = Index::build(&indexed);
    let mut eval = Evaluation::with_inventory(opts, if inventory { &indexed } else { &[] });
    eval.learn_rbac(&index);
    let (set, run, budget) = (&eval.set, eval.run.as_ref().map(Run::get), &eval.budget);
    // The first pass's documents borrow the files' text; the second owns each file and frees
    // its text as soon as its documents are judged, so the input is not held whole to the end.
    drop(chunks);
    let judge = |part: &mut Part, d: &source::Document, c: &kspm_model::Chunk<'_>| {
        let mut resources = Vec::new();
        source::parse_chunk(d, c, limits, &mut resources, &mut part.diagnostics);
        for r in &resources {
            check_one(set, run, r, &index, &opts.settings, budget, part);
            part.note(set, r);
        }
    };
    let part = docs
        .into_par_iter()
        .fold(Part::default, |mut part, d| {
            let chunks = kspm_model::yaml::split_documents(&d.text);
            if chunks.len() < SPLIT_FILE {
                for c in &chunks {
                    judge(&mut part, &d, c);
                }
            } else {
                // One very large stream (a cluster dump, a big chart's output): its documents
                // are judged in parallel too.
                let pieces = chunks
                    .par_iter()
                    .fold(Part::default, |mut part, c| {
                        judge(&mut part, &d, c);
                        part
                    })
                    .collect::<Vec<Part>>();
                part = part.merge(Part::concat(pieces));
            }
            part
        })
        .collect::<Vec<Part>>();
    let part = Part::concat(part);
    eval.part = part;
    eval.after_workloads(&mut index, &opts.settings);
    let mut result = eval.finish(opts, diagnostics, sources);
    let asked = opts
        .inputs
        .iter()
        .any(|i| matches!(i, Input::Path(_) | Input::Stdin));
    if asked && opts.rules.is_empty() {
        result.diagnostics.push(
            Diagnostic::error(
                "kspm",
                "no rule was run: the selection is empty (see the configuration and --select/--ignore)",
            )
            .warning(),
        );
    }
    if asked && opts.not_seen.is_empty() && result.scanned.is_empty() && !result.has_errors() {
        // A scan that judged nothing is not a clean scan: the manifests may have moved, or
        // everything was skipped (the notices say what).
        result.diagnostics.push(Diagnostic::error(
            "kspm",
            "no Kubernetes object was found in the inputs: nothing was judged",
        ));
    }
    result
}

/// Started custom policies: this evaluation's own, or shared by many (see
/// [`Evaluation::sharing`]).
enum Run<'a> {
    Owned(Box<dyn PolicyRun + 'a>),
    Shared(&'a dyn PolicyRun),
}

impl<'a> Run<'a> {
    fn get(&self) -> &(dyn PolicyRun + 'a) {
        match self {
            Run::Owned(run) => run.as_ref(),
            Run::Shared(run) => *run,
        }
    }
}

/// Checks resources batch by batch against one rule set, then turns what was found into a
/// [`ScanResult`]. The file scan feeds it document by document, the cluster scan page by page;
/// both finish the same way (severity overrides, exceptions, ordering).
pub struct Evaluation<'a> {
    set: RuleSet,
    /// The custom policies of the scan, started once (compiled) for all batches.
    run: Option<Run<'a>>,
    part: Part,
    /// Service accounts with dangerous RBAC found in the scan itself, for risk ranking (added to
    /// what `ScanOptions::risk` says).
    rbac: std::collections::HashMap<(String, String), Vec<String>>,
    budget: Budget<'a>,
}

impl<'a> Evaluation<'a> {
    pub fn new(opts: &'a ScanOptions) -> Self {
        Self::with_inventory(opts, &[])
    }

    /// An evaluation whose custom policies were started once by the caller and serve many
    /// evaluations (admission judges one object per request: starting the policies, which
    /// compiles engines or starts workers, per request would cost more than judging).
    pub fn sharing(opts: &'a ScanOptions, run: Option<&'a dyn PolicyRun>) -> Self {
        Self {
            set: RuleSet::new(opts.rules.iter().copied()),
            run: run.map(Run::Shared),
            part: Part::default(),
            rbac: std::collections::HashMap::new(),
            budget: Budget::new(&opts.limits),
        }
    }

    /// `inventory`: the objects cross-resource policies see (`data.kspm.resources`).
    pub fn with_inventory(opts: &'a ScanOptions, inventory: &[Resource]) -> Self {
        Self {
            set: RuleSet::new(opts.rules.iter().copied()),
            run: opts
                .policies
                .as_ref()
                .map(|p| Run::Owned(p.start(inventory, &opts.rules))),
            part: Part::default(),
            rbac: std::collections::HashMap::new(),
            budget: Budget::new(&opts.limits),
        }
    }

    /// Learns from the scan's Roles and bindings which service accounts are dangerous, so that
    /// findings on workloads running as them rank higher.
    pub fn learn_rbac(&mut self, index: &Index<'_>) {
        // The model the RBAC rules share (built once per scan, whoever asks first).
        let model = index.derived(|index| kspm_rbac::RbacModel::build(index.resources()));
        self.rbac = kspm_rbac::dangerous_service_accounts(&model);
    }

    /// Checks a batch of resources (owned, or borrowed from what a caller keeps, as the agent
    /// does) in parallel; `index` holds the cross-resource facts.
    pub fn check<R: std::borrow::Borrow<Resource> + Sync>(
        &mut self,
        resources: &[R],
        index: &Index<'_>,
        settings: &Settings,
    ) {
        let (set, run, budget) = (&self.set, self.run.as_ref().map(Run::get), &self.budget);
        let part = resources
            .par_iter()
            .fold(Part::default, |mut part, r| {
                let r = r.borrow();
                check_one(set, run, r, index, settings, budget, &mut part);
                part.note(set, r);
                part
            })
            .reduce(Part::default, Part::merge);
        self.part = std::mem::take(&mut self.part).merge(part);
    }

    /// Runs the rules that wait for every workload (a Service that selects no pod, an
    /// autoscaler without target), once every batch was checked: `index` receives the
    /// workloads seen.
    pub fn after_workloads(&mut self, index: &mut Index<'_>, settings: &Settings) {
        index.set_workloads(std::mem::take(&mut self.part.workloads));
        let waiting = std::mem::take(&mut self.part.waiting);
        for r in &waiting {
            let start = self.part.findings.len();
            kspm_rules::check_after_workloads(
                &self.set,
                r,
                index,
                settings,
                &mut self.part.findings,
            );
            dedup_tail(&mut self.part.findings, start);
        }
    }

    /// Objects checked so far.
    pub fn checked(&self) -> usize {
        self.part.scanned.len()
    }

    /// Applies severity overrides and exceptions, and orders the result. `diagnostics` are the
    /// input problems found while reading; `sources` counts what was read.
    pub fn finish(
        self,
        opts: &ScanOptions,
        mut diagnostics: Vec<Diagnostic>,
        sources: usize,
    ) -> ScanResult {
        let mut part = self.part;
        let mut findings = part.take_findings();
        let Part {
            diagnostics: diags,
            scanned,
            ..
        } = part;
        diagnostics.extend(diags);
        if let Some(Run::Owned(run)) = &self.run {
            diagnostics.extend(run.finish());
        }
        drop(self.run);
        for f in &mut findings {
            let over = opts.config.severity.iter().find(|(name, _)| {
                name.eq_ignore_ascii_case(f.code) || name.eq_ignore_ascii_case(f.slug)
            });
            if let Some((_, (sev, _))) = over {
                f.severity = *sev;
            }
        }

        let config_file = opts
            .config
            .path
            .as_ref()
            .map_or_else(|| "kspm.yaml".to_owned(), |p| p.display().to_string());
        diagnostics.extend(exceptions::validate_rule_names(
            &opts.config.exceptions,
            &config_file,
        ));
        let ignores: Ignores<'_> = scanned
            .iter()
            .filter_map(|s| Some(((&*s.source.file, s.source.doc, &*s.id), s.ignore.as_ref()?)))
            .collect();
        let annotations = |f: &Finding| {
            ignores
                .get(&(&*f.source.file, f.source.doc, &*f.resource))
                .map(|a| (*a).clone())
        };
        diagnostics.extend(exceptions::apply(
            &mut findings,
            &opts.config.exceptions,
            &config_file,
            opts.today.unwrap_or_else(Date::today),
            &annotations,
            opts.inline_exceptions,
        ));

        let config = opts.applied_config.clone().map(|mut applied| {
            applied.suppressed = findings
                .iter()
                .filter_map(|f| f.suppressed.as_ref())
                .filter(|s| s.by.starts_with(config_file.as_str()))
                .count();
            applied
        });
        crate::source::collapse_notices(&mut diagnostics);
        // Diagnostics quote what they met (a string where a list belongs...): never a
        // credential-shaped value, whichever code wrote them.
        for d in &mut diagnostics {
            if let std::borrow::Cow::Owned(clean) = kspm_model::credentials::redact(&d.message) {
                d.message = clean;
            }
        }
        fold_findings(&mut findings);

        let mut risk = opts.risk.clone();
        for (sa, why) in self.rbac {
            risk.service_account_privileges
                .entry(sa)
                .or_default()
                .extend(why);
        }
        crate::risk::assign(&mut findings, &scanned, &risk);
        // Sorted as positions, then moved in place: a stable sort of the findings themselves
        // would take a buffer of half of them.
        let order = report_order(&findings);
        permute(&mut findings, order);
        diagnostics.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
        let mut result = ScanResult {
            findings,
            diagnostics,
            resources: scanned.len(),
            scanned,
            sources,
            rules: opts.rules.clone(),
            partial: false,
            compliance: Vec::new(),
            config,
        };
        result.compliance = crate::compliance::evaluate(&result, &opts.frameworks, &opts.not_seen);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::{Part, permute};

    /// A file of more documents than [`super::SPLIT_FILE`] is judged in parallel pieces: every
    /// document is judged once, and the findings come out as for small files.
    #[test]
    fn a_very_large_stream_is_judged_whole() {
        let n = super::SPLIT_FILE + 77;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers: [{{name: c, image: nginx:1.27}}]\n---\n"
            ));
        }
        let opts = crate::ScanOptions {
            inputs: vec![crate::Input::Text {
                name: "stream.yaml".into(),
                text,
            }],
            rules: vec![kspm_rules::find_rule("image-without-digest").unwrap()],
            ..crate::ScanOptions::default()
        };
        let result = crate::scan(&opts);
        assert_eq!(result.resources, n);
        let mut docs: Vec<usize> = result.findings.iter().map(|f| f.source.doc).collect();
        // Ordered by position in the file, which is document order here.
        assert!(docs.is_sorted());
        docs.dedup();
        assert_eq!(docs, (0..n).collect::<Vec<_>>());
    }

    /// Joining the parts' findings hands the freed lists back as it goes, through the hook the
    /// binary sets ([`crate::memory`]), and keeps every finding in order.
    #[test]
    fn joining_the_parts_hands_freed_memory_back_as_it_goes() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        crate::memory::set_release(|| {
            CALLS.fetch_add(1, Ordering::Relaxed);
        });
        let opts = crate::ScanOptions {
            inputs: vec![crate::Input::Text {
                name: "join.yaml".into(),
                text: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n".into(),
            }],
            rules: vec![kspm_rules::find_rule("image-without-digest").unwrap()],
            ..crate::ScanOptions::default()
        };
        let one = crate::scan(&opts).findings.remove(0);
        let before = CALLS.load(Ordering::Relaxed);
        let mut part = Part {
            earlier: (0..40)
                .map(|i| {
                    let mut f = one.clone();
                    f.source.doc = i;
                    vec![f]
                })
                .collect(),
            ..Part::default()
        };
        let all = part.take_findings();
        assert_eq!(
            all.iter().map(|f| f.source.doc).collect::<Vec<_>>(),
            (0..40).collect::<Vec<_>>()
        );
        // Two full rounds of 16 lists, and once at the end.
        assert!(CALLS.load(Ordering::Relaxed) - before >= 3);
    }

    #[test]
    fn permute_moves_each_item_to_its_place() {
        // Fixed points, a 2-cycle and a 3-cycle.
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        permute(&mut items, vec![0, 2, 1, 5, 3, 4]);
        assert_eq!(items, vec!['a', 'c', 'b', 'f', 'd', 'e']);
        let mut empty: Vec<char> = Vec::new();
        permute(&mut empty, Vec::new());
        assert!(empty.is_empty());
    }
}
