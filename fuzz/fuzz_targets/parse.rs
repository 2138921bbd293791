//! `parse_stream` on arbitrary input: must never panic, hang, or overflow the stack. Also
//! differential: when the fast path takes an input, granit-parser must give the same documents
//! (values and positions) without any diagnostic.
#![no_main]

use kspm_model::yaml::{Limits, parse_fast_at, parse_granit_at, parse_stream};
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
    if let Ok(fast) = parse_fast_at(src, &Limits::default(), 0, 0) {
        let (slow, errors) = parse_granit_at(src, &Limits::default(), 0, 0);
        assert!(errors.is_empty(), "fast path took an input granit reports: {errors:?}");
        // Debug text compares NaN with NaN as equal and prints every position.
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    }
});
