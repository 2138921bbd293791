//! The scan itself: load → index → check in parallel → exceptions → ordered result.

use std::collections::HashSet;

use kspm_model::yaml::Limits;
use kspm_model::{Diagnostic, Finding, Index, Resource, Severity};
use kspm_rules::{Category, Rule, RuleSet, Settings, check_resource, rules};
use rayon::prelude::*;

use crate::config::Config;
use crate::exceptions::{self, Date};
use crate::source::{Input, load};

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

fn matches_name(rule: &Rule, name: &str) -> bool {
    name.eq_ignore_ascii_case("all")
        || rule.meta.code.eq_ignore_ascii_case(name)
        || rule.meta.slug.eq_ignore_ascii_case(name)
        || rule.meta.category.as_str().eq_ignore_ascii_case(name)
        || (name.len() == 2 && rule.meta.code.starts_with(&name.to_ascii_uppercase()))
}

fn known(name: &str) -> bool {
    rules().iter().any(|r| matches_name(r, name))
        || [
            Category::PodSecurity,
            Category::Workload,
            Category::Network,
            Category::Secrets,
            Category::Deprecation,
        ]
        .iter()
        .any(|c| c.as_str().eq_ignore_ascii_case(name))
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
            Some(names) => names.iter().any(|n| matches_name(r, n)),
            None => r.meta.default_enabled,
        })
        .filter(|r| !sel.ignore.iter().any(|n| matches_name(r, n)))
        .collect())
}

#[derive(Debug, Default)]
pub struct ScanOptions {
    pub inputs: Vec<Input>,
    pub rules: Vec<&'static Rule>,
    pub settings: Settings,
    pub limits: Limits,
    pub config: Config,
    /// Honour `kspm.io/ignore` annotations.
    pub inline_exceptions: bool,
    /// The date exceptions expire against (today, unless a test says otherwise).
    pub today: Option<Date>,
}

/// What is kept of a scanned object once its tree is dropped.
#[derive(Clone, Debug)]
pub struct Scanned {
    pub id: kspm_model::ResourceId,
    pub source: kspm_model::Source,
    /// Whether it holds a pod spec (so pod and container rules judged it).
    pub has_pod_spec: bool,
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

/// Checks already-loaded resources (the cluster scanner uses this too).
pub fn check_all(
    resources: &[Resource],
    rules: &[&'static Rule],
    settings: &Settings,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    let set = RuleSet::new(rules.iter().copied());
    let index = Index::build(resources);
    let (mut findings, diags): (Vec<Finding>, Vec<Diagnostic>) = resources
        .par_iter()
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut findings, mut diags), r| {
                let type_errors = check_resource(&set, r, &index, settings, &mut findings);
                for e in type_errors {
                    diags.push(
                        Diagnostic::error(
                            r.source.file.clone(),
                            // Type errors quote the bad value; never a credential-shaped one.
                            kspm_rules::redact(&format!("{} {}: {}", r.id, e.path, e.message))
                                .into_owned(),
                        )
                        .at(e.pos)
                        .in_document(r.source.doc),
                    );
                }
                (findings, diags)
            },
        )
        .reduce(
            || (Vec::new(), Vec::new()),
            |(mut f1, mut d1), (f2, d2)| {
                f1.extend(f2);
                d1.extend(d2);
                (f1, d1)
            },
        );
    // A pod-level field judged once per container (e.g. runAsUser: 0 on the pod) is one finding.
    let mut seen = HashSet::new();
    findings.retain(|f| {
        seen.insert((
            f.code,
            f.source.file.clone(),
            f.source.doc,
            f.resource.clone(),
            f.path.clone(),
        ))
    });
    (findings, diags)
}

pub fn scan(opts: &ScanOptions) -> ScanResult {
    let (resources, mut diagnostics, sources) = load(&opts.inputs, &opts.limits);
    let (mut findings, diags) = check_all(&resources, &opts.rules, &opts.settings);
    diagnostics.extend(diags);

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
    let by_id: std::collections::HashMap<(&str, usize, &kspm_model::ResourceId), &Resource> =
        resources
            .iter()
            .map(|r| ((&*r.source.file, r.source.doc, &r.id), r))
            .collect();
    let annotations = |f: &Finding| {
        by_id
            .get(&(&*f.source.file, f.source.doc, &f.resource))
            .and_then(|r| exceptions::inline_annotations(r))
    };
    diagnostics.extend(exceptions::apply(
        &mut findings,
        &opts.config.exceptions,
        &config_file,
        opts.today.unwrap_or_else(Date::today),
        &annotations,
        opts.inline_exceptions,
    ));

    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.source.file.cmp(&b.source.file))
            .then_with(|| a.pos.cmp(&b.pos))
            .then_with(|| a.code.cmp(b.code))
    });
    diagnostics.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    let scanned = resources
        .iter()
        .map(|r| Scanned {
            id: r.id.clone(),
            source: r.source.clone(),
            has_pod_spec: !kspm_model::view::pod_specs(r).is_empty(),
        })
        .collect();
    ScanResult {
        findings,
        diagnostics,
        scanned,
        resources: resources.len(),
        sources,
        rules: opts.rules.clone(),
    }
}
