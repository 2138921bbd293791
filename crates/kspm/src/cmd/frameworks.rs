//! The framework arguments of `kspm rules`, `scan` and `node`: parsing a key. The rules behind a
//! framework are `kspm_engine::framework_rules`; the tables are kspm_report's.

use anyhow::{Result, bail};
use kspm_frameworks::Framework;

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
