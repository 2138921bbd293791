//! What the fix tests share: fixing one file in one round and checking that the result parses
//! to exactly the patched objects.

use std::path::Path;

use kspm_engine::{Input, ScanOptions, ScanResult, scan};
use kspm_fix::{FixOptions, Plan};
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Fix, Node};

/// The objects of a YAML or JSON stream, as JSON, in order.
pub fn objects(text: &str) -> Vec<serde_json::Value> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(errors.iter().all(|e| !e.fatal), "{errors:?}");
    docs.into_iter().map(|d| d.root.to_json()).collect()
}

/// The objects of `text` with the fixes the plan applied (each object's fixes merged into one
/// patch, applied as `Fix::apply` orders its steps).
pub fn patched(text: &str, before: &ScanResult, plan: &Plan) -> Vec<serde_json::Value> {
    let (docs, _) = parse_stream(text, &Limits::default());
    docs.into_iter()
        .map(|d| {
            let mut tree: Node = d.root;
            let mut merged = Fix::new("all");
            for f in before.active() {
                let applied = plan
                    .fixed
                    .iter()
                    .any(|x| x.code == f.code && x.path == f.path && x.resource == f.resource);
                if f.source.doc == d.index && applied {
                    merged.ops.extend(f.fix.clone().unwrap().ops);
                }
            }
            assert!(
                merged.apply(&mut tree),
                "the patch does not apply in memory"
            );
            tree.to_json()
        })
        .collect()
}

/// Scan options for the default rules over some paths.
pub fn options(paths: &[&Path]) -> ScanOptions {
    ScanOptions {
        inputs: paths.iter().map(|p| Input::Path(p.to_path_buf())).collect(),
        rules: kspm_engine::select_rules(&kspm_engine::Selection::default()).unwrap(),
        ..ScanOptions::default()
    }
}

/// Fixes one file in one round, writes it, and checks the result is the patched objects.
/// Returns the plan and the new text.
pub fn fix_one(path: &Path) -> (Plan, String) {
    let original = std::fs::read_to_string(path).unwrap();
    let mut opts = options(&[path]);
    let before = scan(&opts);
    let plan = kspm_fix::plan(
        &mut opts,
        &FixOptions {
            max_passes: 1,
            ..FixOptions::default()
        },
    );
    for (f, w) in kspm_fix::write(&plan) {
        assert!(matches!(w, kspm_fix::Written::Ok), "{}: {w:?}", f.name);
    }
    let after = std::fs::read_to_string(path).unwrap();
    if plan.fixed.is_empty() {
        assert_eq!(after, original);
    } else {
        let body = |t: &str| t.trim_start_matches('\u{feff}').to_owned();
        assert_eq!(
            objects(&body(&after)),
            patched(&body(&original), &before, &plan),
            "fixed file:\n{after}"
        );
    }
    (plan, after)
}
