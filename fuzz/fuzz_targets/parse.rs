//! `parse_stream` on arbitrary input: must never panic, hang, or overflow the stack.
#![no_main]

use kspm_model::yaml::{Limits, parse_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The engine only hands valid UTF-8 to the parser (files are decoded first).
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (docs, errors) = parse_stream(src, &Limits::default());
    // Touch the results so nothing is optimised away, and exercise the tree helpers the engine
    // and reporters use on every document.
    for doc in &docs {
        let _ = doc.root.evidence();
        let _ = doc.root.to_json();
    }
    for e in &errors {
        assert!(!e.message.is_empty());
    }
});
