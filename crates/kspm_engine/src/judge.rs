//! Judging objects one at a time as they arrive (the admission webhook), with what a scan
//! prepares once per scan prepared once per process: the selected rules and the started custom
//! policies. Each object then costs only its own checks, exceptions and ordering.
//!
//! An arriving object is judged alone: rules that need every workload of the cluster (a Service
//! that selects no pod, a namespace without a NetworkPolicy) cannot be answered from one object
//! and are left out, and cross-resource policies see no other object. Rules that consult other
//! objects (a missing ServiceAccount) stay silent, as they do in a scan that did not read them.

use std::sync::Arc;

use kspm_model::{Index, Resource};
use kspm_rules::Check;

use crate::policy::{Policies, PolicyRun};
use crate::scan::{Evaluation, ScanOptions, ScanResult};

/// A scan's options, ready to judge single objects from many threads.
pub struct ObjectJudge {
    opts: ScanOptions,
    run: Option<Box<dyn PolicyRun>>,
}

impl std::fmt::Debug for ObjectJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectJudge")
            .field("rules", &self.opts.rules.len())
            .field("policies", &self.run.is_some())
            .finish_non_exhaustive()
    }
}

impl ObjectJudge {
    /// Prepares `opts` (its `inputs` are ignored). The custom policies are started once and
    /// live as long as the process: a judge is made once, at start-up.
    pub fn new(mut opts: ScanOptions) -> Self {
        opts.rules
            .retain(|r| !matches!(r.check, Check::AfterWorkloads { .. }));
        opts.inputs.clear();
        let run = opts.policies.take().map(|policies| {
            let policies: &'static Arc<dyn Policies> = Box::leak(Box::new(policies));
            policies.start(&[], &opts.rules)
        });
        Self { opts, run }
    }

    /// The rules an object is judged by.
    pub fn rules(&self) -> &[&'static kspm_rules::Rule] {
        &self.opts.rules
    }

    /// Judges one object: its findings after severity overrides and exceptions, worst first.
    pub fn judge(&self, resource: &Resource) -> ScanResult {
        let index = Index::build(std::iter::empty());
        let mut eval = Evaluation::sharing(&self.opts, self.run.as_deref());
        eval.check(std::slice::from_ref(resource), &index, &self.opts.settings);
        eval.finish(&self.opts, Vec::new(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(json: &serde_json::Value) -> Resource {
        let source = kspm_model::Source {
            file: "admission".into(),
            doc: 0,
            origin: None,
        };
        Resource::from_node(kspm_model::Node::from_json(json), source).unwrap()
    }

    #[test]
    fn judges_one_object_without_whole_cluster_rules() {
        let opts = ScanOptions {
            rules: crate::select_rules(&crate::Selection::default()).unwrap(),
            ..ScanOptions::default()
        };
        let judge = ObjectJudge::new(opts);
        assert!(
            judge
                .rules()
                .iter()
                .all(|r| !matches!(r.check, Check::AfterWorkloads { .. }))
        );
        let bad = judge.judge(&resource(&serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
            "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}
        })));
        assert!(bad.active().any(|f| f.slug == "privileged-container"));
        let service = judge.judge(&resource(&serde_json::json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "a"},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}
        })));
        assert_eq!(service.active().count(), 0, "{:?}", service.findings);
    }
}
