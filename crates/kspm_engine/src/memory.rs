//! Memory freed in bulk, handed back to the system at once.
//!
//! A scan frees large lists while it fills others of the same size: the parallel parts'
//! findings are freed as they are joined into one list. An allocator that returns freed pages
//! lazily (mimalloc purges them after a delay, at its next chance) holds both at that moment,
//! and that moment is the scan's peak. The allocator belongs to the binary, so the binary says
//! how to return memory now ([`set_release`]); without it (a library user, a heap profiler's
//! build) nothing is called.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Sets how to hand freed memory back to the system now. Once per process; later calls are
/// ignored.
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Hands freed memory back now, if the binary said how.
pub(crate) fn release() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}
