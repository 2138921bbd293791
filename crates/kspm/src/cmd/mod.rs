//! Subcommands beyond `scan`, `rules` and `explain`, one module each, and the report output
//! every scanning command shares.

pub mod frameworks;
pub mod node;
pub mod output;
