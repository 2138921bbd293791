//! Runs a set of rules over one resource, through the views each rule asks for.

use kspm_frameworks::Control;
use kspm_model::view::{TypeError, pod_specs};
use kspm_model::{Finding, Index, Resource};

use crate::component::{Component, components};
use crate::rule::{Check, Reporter, Rule, Settings};

/// The enabled rules, grouped by the view they need so that each view is built once.
#[derive(Debug, Default)]
pub struct RuleSet {
    object: Vec<&'static Rule>,
    pod: Vec<&'static Rule>,
    container: Vec<&'static Rule>,
    component: Vec<&'static Rule>,
    after_workloads: Vec<&'static Rule>,
}

impl RuleSet {
    pub fn new(rules: impl IntoIterator<Item = &'static Rule>) -> Self {
        let mut set = Self::default();
        for rule in rules {
            match rule.check {
                Check::Object { .. } => set.object.push(rule),
                Check::PodSpec(_) => set.pod.push(rule),
                Check::Container(_) => set.container.push(rule),
                Check::Component { .. } => set.component.push(rule),
                Check::AfterWorkloads { .. } => set.after_workloads.push(rule),
                // Evaluated by the engine's policy hook.
                Check::Policy { .. } => {}
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.object.len()
            + self.pod.len()
            + self.container.len()
            + self.component.len()
            + self.after_workloads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        self.object
            .iter()
            .chain(&self.pod)
            .chain(&self.container)
            .chain(&self.component)
            .chain(&self.after_workloads)
            .copied()
    }

    /// Whether a rule of the set judges objects of `kind` once every workload is known: the
    /// engine then keeps them for [`check_after_workloads`].
    pub fn waits_for_workloads(&self, kind: &str) -> bool {
        self.after_workloads.iter().any(|r| {
            matches!(r.check, Check::AfterWorkloads { kinds, .. } if kinds.is_empty() || kinds.contains(&kind))
        })
    }
}

/// Runs the rules that wait for every workload of the scan on one resource; `index` must have
/// them ([`kspm_model::Index::set_workloads`]).
pub fn check_after_workloads(
    set: &RuleSet,
    resource: &Resource,
    index: &Index<'_>,
    settings: &Settings,
    findings: &mut Vec<Finding>,
) {
    let mut assessed = Vec::new();
    for rule in &set.after_workloads {
        if let Check::AfterWorkloads { kinds, check } = rule.check
            && (kinds.is_empty() || kinds.contains(&resource.kind()))
        {
            let mut out = Reporter {
                rule,
                resource,
                index,
                settings,
                findings,
                assessed: &mut assessed,
            };
            check(resource, &mut out);
        }
    }
}

/// What checking one resource produced besides its findings.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Fields whose types the API server would reject, for the engine to report.
    pub type_errors: Vec<TypeError>,
    /// The components the resource configures (whether or not a rule ran on them).
    pub components: Vec<Component>,
    /// Controls that component rules judged on it.
    pub assessed: Vec<&'static Control>,
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
    check_resource_into(set, resource, index, settings, findings).type_errors
}

/// [`check_resource`], also returning the components seen and the controls judged.
pub fn check_resource_into(
    set: &RuleSet,
    resource: &Resource,
    index: &Index<'_>,
    settings: &Settings,
    findings: &mut Vec<Finding>,
) -> Outcome {
    let mut outcome = Outcome::default();
    // One reporter for the resource; each rule sets itself as the one reporting.
    let Some(first) = set.rules().next() else {
        return outcome;
    };
    let mut out = Reporter {
        rule: first,
        resource,
        index,
        settings,
        findings,
        assessed: &mut outcome.assessed,
    };
    for rule in &set.object {
        if let Check::Object { kinds, check } = rule.check
            && (kinds.is_empty() || kinds.contains(&resource.kind()))
        {
            out.rule = rule;
            check(resource, &mut out);
        }
    }
    for view in components(resource) {
        if !outcome.components.contains(&view.component) {
            outcome.components.push(view.component);
        }
        for rule in &set.component {
            if let Check::Component { component, check } = rule.check
                && component == view.component
            {
                out.rule = rule;
                check(&view, &mut out);
            }
        }
    }
    if set.pod.is_empty() && set.container.is_empty() {
        return outcome;
    }
    for pod in pod_specs(resource) {
        outcome.type_errors.extend(pod.type_errors());
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
    outcome
}
