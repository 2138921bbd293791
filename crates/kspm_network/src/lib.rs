//! NetworkPolicy semantics.
