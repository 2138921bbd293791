//! The scan pipeline: find inputs, parse them, build the cross-resource index, run the enabled
//! rules in parallel, apply exceptions and severity overrides, and return everything a report
//! needs. Bad input never stops the scan: it becomes a [`Diagnostic`] and the rest goes on.

pub mod compliance;
pub mod config;
pub mod exceptions;
pub mod judge;
pub mod memory;
pub mod plan;
pub mod policy;
pub mod risk;
mod scan;
pub mod source;
pub mod walk;

pub use config::{AutoRemediation, Config, ConfigError};
pub use judge::ObjectJudge;
pub use plan::{AppliedConfig, ConfigOrigin, Overrides, PlanError, ScanPlan};
pub use policy::{Policies, PolicyOutput, PolicyRun};
pub use scan::{
    Evaluation, ScanOptions, ScanResult, Scanned, Selection, SelectionError, framework_rules,
    rule_matches, scan, select_rules,
};
pub use source::{Input, load};

pub use kspm_model::Diagnostic;
