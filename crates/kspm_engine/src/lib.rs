//! The scan pipeline: find inputs, parse them, build the cross-resource index, run the enabled
//! rules in parallel, apply exceptions and severity overrides, and return everything a report
//! needs. Bad input never stops the scan: it becomes a [`Diagnostic`] and the rest goes on.

pub mod config;
pub mod exceptions;
pub mod policy;
mod scan;
pub mod source;

pub use config::{Config, ConfigError};
pub use policy::{Policies, PolicyOutput, PolicyRun};
pub use scan::{
    ScanOptions, ScanResult, Scanned, Selection, SelectionError, rule_matches, scan, select_rules,
};
pub use source::Input;

pub use kspm_model::Diagnostic;
