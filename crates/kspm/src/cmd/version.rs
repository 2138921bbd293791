//! `kspm version`: which build this is (version and the commit it was built from, embedded by
//! `build.rs`) and what it knows (the Kubernetes release it targets by default, the framework
//! catalogue versions, the optional parts compiled in), so a report can be traced to its build.

use std::fmt::Write as _;

use kspm_frameworks::Framework;
use kspm_rules::KubeVersion;
use serde_json::json;

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

pub fn json() -> String {
    let frameworks: Vec<serde_json::Value> = Framework::ALL
        .iter()
        .map(|fw| json!({ "key": fw.key(), "title": fw.title(), "version": fw.version() }))
        .collect();
    let v = json!({
        "version": VERSION,
        "commit": COMMIT,
        "kubernetes": {
            "latest": KubeVersion::LATEST.to_string(),
            "default_target": KubeVersion::LATEST.to_string(),
        },
        "frameworks": frameworks,
        "features": features(),
    });
    let mut s = serde_json::to_string_pretty(&v).expect("serializes");
    s.push('\n');
    s
}

pub fn text() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "kspm {VERSION}");
    let _ = writeln!(out, "commit:     {COMMIT}");
    let _ = writeln!(
        out,
        "kubernetes: up to {} (the default --k8s-version)",
        KubeVersion::LATEST
    );
    let features = features();
    let _ = writeln!(
        out,
        "features:   {}",
        if features.is_empty() {
            "none (files only)".to_owned()
        } else {
            features.join(", ")
        }
    );
    let _ = writeln!(out, "frameworks:");
    for fw in Framework::ALL {
        let _ = writeln!(
            out,
            "  {:<12} {:<38} {}",
            fw.key(),
            fw.title(),
            fw.version()
        );
    }
    out
}
