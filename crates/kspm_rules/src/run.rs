//! Runs a set of rules over one resource, through the views each rule asks for.

use kspm_model::view::{TypeError, pod_specs};
use kspm_model::{Finding, Index, Resource};

use crate::rule::{Check, Reporter, Rule, Settings};

/// The enabled rules, grouped by the view they need so that each view is built once.
#[derive(Debug, Default)]
pub struct RuleSet {
    object: Vec<&'static Rule>,
    pod: Vec<&'static Rule>,
    container: Vec<&'static Rule>,
}

impl RuleSet {
    pub fn new(rules: impl IntoIterator<Item = &'static Rule>) -> Self {
        let mut set = Self::default();
        for rule in rules {
            match rule.check {
                Check::Object { .. } => set.object.push(rule),
                Check::PodSpec(_) => set.pod.push(rule),
                Check::Container(_) => set.container.push(rule),
                // Evaluated by the engine's policy hook.
                Check::Policy { .. } => {}
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.object.len() + self.pod.len() + self.container.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        self.object
            .iter()
            .chain(&self.pod)
            .chain(&self.container)
            .copied()
    }
}

/// Checks one resource; findings are appended to `findings`. Returns the fields whose types the
/// API server would reject, for the engine to report as diagnostics.
pub fn check_resource(
    set: &RuleSet,
    resource: &Resource,
    index: &Index<'_>,
    settings: &Settings,
    findings: &mut Vec<Finding>,
) -> Vec<TypeError> {
    // One reporter for the resource; each rule sets itself as the one reporting.
    let Some(first) = set.rules().next() else {
        return Vec::new();
    };
    let mut out = Reporter {
        rule: first,
        resource,
        index,
        settings,
        findings,
    };
    for rule in &set.object {
        if let Check::Object { kinds, check } = rule.check
            && (kinds.is_empty() || kinds.contains(&resource.kind()))
        {
            out.rule = rule;
            check(resource, &mut out);
        }
    }
    let mut type_errors = Vec::new();
    if set.pod.is_empty() && set.container.is_empty() {
        return type_errors;
    }
    for pod in pod_specs(resource) {
        type_errors.extend(pod.type_errors());
        for rule in &set.pod {
            if let Check::PodSpec(check) = rule.check {
                out.rule = rule;
                check(&pod, &mut out);
            }
        }
        if set.container.is_empty() {
            continue;
        }
        for container in pod.containers() {
            for rule in &set.container {
                if let Check::Container(check) = rule.check {
                    out.rule = rule;
                    check(&container, &mut out);
                }
            }
        }
    }
    type_errors
}
