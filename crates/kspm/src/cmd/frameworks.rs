//! The framework arguments of `kspm rules`, `scan` and `node`: parsing a key, and the rules
//! behind a framework (derived from the rules' declarations). The tables are kspm_report's.

use anyhow::{Result, bail};
use kspm_frameworks::Framework;
use kspm_rules::{Rule, rules};

/// A framework by key or alias, or a usage error listing the keys.
pub fn parse(name: &str) -> Result<Framework> {
    match Framework::from_key(name) {
        Some(f) => Ok(f),
        None => bail!(
            "unknown framework `{name}` (one of: {})",
            Framework::ALL.map(Framework::key).join(", ")
        ),
    }
}

/// The rules that declare a control of `fw`.
pub fn rules_for(fw: Framework) -> Vec<&'static Rule> {
    rules()
        .iter()
        .copied()
        .filter(|r| r.meta.frameworks.iter().any(|c| c.framework == fw))
        .collect()
}
