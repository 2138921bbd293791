//! Shell completions (`kspm completion <shell>`) and the man pages in `docs/man/`, both generated
//! from the clap definition so they cannot drift from the flags.

use std::path::Path;

use anyhow::{Context, Result};

/// The completion script for `shell`, completing `bin_name`.
pub fn script(shell: clap_complete::Shell, mut cmd: clap::Command, bin_name: &str) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin_name, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes one man page per command (`kspm.1`, `kspm-scan.1`, ...) into `dir`.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("writing man pages to {}", dir.display()))
}
