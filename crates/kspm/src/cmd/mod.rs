//! Subcommands and options that live in their own files, to keep `main.rs` thin.

pub mod policy;
