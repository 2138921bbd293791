//! Secrets and credentials: where they are kept and how they reach containers.

pub(crate) static RULES: &[&crate::Rule] = &[];
