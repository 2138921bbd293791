//! The whole per-file pipeline short of I/O: parse, build resources, index them, and run every
//! built-in rule (including the off-by-default ones) over each resource.
#![no_main]

use kspm_model::view::pod_specs;
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Index, Resource, Source};
use kspm_rules::{RuleSet, Settings, check_resource, rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (docs, _errors) = parse_stream(src, &Limits::default());
    let resources: Vec<Resource> = docs
        .into_iter()
        .filter_map(|d| {
            let source = Source {
                file: "fuzz.yaml".into(),
                doc: d.index,
                origin: None,
            };
            Resource::from_node(d.root, source).ok()
        })
        .collect();
    let index = Index::build(&resources);
    let set = RuleSet::new(rules().iter().copied());
    let settings = Settings::default();
    let mut findings = Vec::new();
    for r in &resources {
        let _ = check_resource(&set, r, &index, &settings, &mut findings);
        for pod in pod_specs(r) {
            let _ = pod.type_errors();
        }
    }
    // Findings are rendered into every report format; make sure their fields are sane.
    for f in &findings {
        let _ = format!("{f:?}");
    }
});
