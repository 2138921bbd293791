//! The hook through which custom policies (Rego, CEL, imported admission policies) run inside a
//! scan, as first-class rules: their findings go through the same exceptions, severity
//! overrides, ordering and reports as the built-in rules'.
//!
//! The engine does not know the policy languages: `kspm_policy` implements [`Policies`], and a
//! build without it (the CLI's `policies` feature off) simply has none. The results of a policy
//! test run ([`TestReport`]) are defined here too, so kspm_report can render them without
//! depending on the policy engines.

use std::fmt::Debug;
use std::time::Duration;

use kspm_model::{Diagnostic, Finding, Resource};
use kspm_rules::Rule;

/// A set of loaded, compiled policies.
pub trait Policies: Debug + Send + Sync {
    /// The rules the policies report as (registered with `kspm_rules::register`).
    fn rules(&self) -> Vec<&'static Rule>;

    /// Whether some policy reads the other resources of the scan (cross-resource policies). The
    /// engine then keeps every resource for [`Policies::start`], which costs memory.
    fn wants_inventory(&self) -> bool;

    /// Prepares one scan. `inventory` holds every resource of the scan when
    /// [`Policies::wants_inventory`] says so, and is empty otherwise; `enabled` lists the rules
    /// the scan runs (a policy whose rule is not in it is skipped).
    fn start<'a>(
        &'a self,
        inventory: &[Resource],
        enabled: &[&'static Rule],
    ) -> Box<dyn PolicyRun + 'a>;
}

/// One scan's evaluation of a policy set; called from many threads at once.
pub trait PolicyRun: Send + Sync {
    /// Evaluates every enabled policy on one resource. `namespace` is the resource's Namespace
    /// object when the scan holds it. A policy that fails on this resource adds a diagnostic for
    /// the pair and the others go on.
    fn check(&self, resource: &Resource, namespace: Option<&Resource>, out: &mut PolicyOutput);

    /// Called once after every resource was checked: summaries of what was reported only once
    /// (a policy failing the same way on many resources).
    fn finish(&self) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// What evaluating policies on one resource produced.
#[derive(Debug, Default)]
pub struct PolicyOutput {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One test case's outcome (`kspm policy test`; kspm_report's `policy_test` renders them).
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub line: u32,
    /// Why it failed; empty when it passed.
    pub failures: Vec<String>,
    pub duration: Duration,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Everything `kspm policy test` found: data only, rendered by kspm_report's `policy_test`.
#[derive(Debug, Default)]
pub struct TestReport {
    pub cases: Vec<CaseResult>,
    /// Problems loading the policies or reading the test files.
    pub diagnostics: Vec<Diagnostic>,
}

impl TestReport {
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed()).count()
    }

    pub fn passed(&self) -> usize {
        self.cases.len() - self.failed()
    }

    /// Whether every case passed and every policy and test file loaded.
    pub fn ok(&self) -> bool {
        self.failed() == 0
            && !self.cases.is_empty()
            && !self
                .diagnostics
                .iter()
                .any(|d| d.level == kspm_model::DiagnosticLevel::Error)
    }
}
