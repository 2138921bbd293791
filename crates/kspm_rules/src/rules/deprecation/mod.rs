//! API versions deprecated or removed in the target Kubernetes version.

pub(crate) static RULES: &[&crate::Rule] = &[];
