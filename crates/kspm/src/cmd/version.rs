//! `kspm version`: which build this is (version and the commit it was built from, embedded by
//! `build.rs`) and what it knows (the Kubernetes release it targets by default, the framework
//! catalogue versions, the optional parts compiled in), so a report can be traced to its build.
//! The text and JSON are kspm_report's (`catalog::version_text`).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit, `KSPM_GIT_COMMIT` at build time, or "unknown".
pub const COMMIT: &str = env!("KSPM_GIT_COMMIT");

/// The optional features this binary was built with (`--no-default-features` leaves them out).
fn features() -> Vec<&'static str> {
    [
        ("cluster", cfg!(feature = "cluster")),
        ("policies", cfg!(feature = "policies")),
        ("store", cfg!(feature = "store")),
        ("agent", cfg!(feature = "agent")),
        ("alerts", cfg!(feature = "alerts")),
        ("admission", cfg!(feature = "admission")),
        ("remediate", cfg!(feature = "remediate")),
        ("serve", cfg!(feature = "serve")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

fn build() -> kspm_report::catalog::Build<'static> {
    kspm_report::catalog::Build {
        version: VERSION,
        commit: COMMIT,
        features: features(),
    }
}

pub fn json() -> String {
    kspm_report::catalog::version_json(&build())
}

pub fn text() -> String {
    kspm_report::catalog::version_text(&build())
}
