//! Workload hygiene: resources, probes, images, service accounts, disruption budgets.

pub(crate) static RULES: &[&crate::Rule] = &[];
