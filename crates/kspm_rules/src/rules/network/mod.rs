//! Network exposure: Services, Ingresses and ports that reach outside the cluster.

pub(crate) static RULES: &[&crate::Rule] = &[];
