//! Which service accounts make the workloads running as them more dangerous.

use std::collections::HashMap;

use crate::model::{RbacModel, SubjectKind};

/// Service accounts whose rights make every workload running as them a bigger risk, with the
/// reasons in words: `(namespace, name)` → what they can do. Risk ranking uses it.
pub fn dangerous_service_accounts(model: &RbacModel) -> HashMap<(String, String), Vec<String>> {
    let mut out = HashMap::new();
    for subject in model.subjects() {
        let Some(ns) = subject.namespace.clone() else {
            continue;
        };
        if subject.kind != SubjectKind::ServiceAccount {
            continue;
        }
        let mut why: Vec<String> = Vec::new();
        let mut note = |s: &str| {
            if !why.iter().any(|w| w == s) {
                why.push(s.to_owned());
            }
        };
        for p in model.permissions(&subject) {
            let everywhere = p.via.namespace.is_none();
            let core = p.rule.has_group("");
            if p.rule.is_full_wildcard() {
                note(if everywhere {
                    "has every right in the cluster (cluster-admin)"
                } else {
                    "has every right in its namespace"
                });
            }
            if everywhere
                && core
                && p.rule.has_resource("secrets", "")
                && (p.rule.has_verb("get") || p.rule.has_verb("list"))
            {
                note("can read Secrets in every namespace");
            }
            if everywhere && core && p.rule.has_resource("pods", "") && p.rule.has_verb("create") {
                note("can create pods in every namespace");
            }
            if ["bind", "escalate", "impersonate"]
                .iter()
                .any(|v| p.rule.verbs.iter().any(|x| x == v))
            {
                note("can bind, escalate or impersonate");
            }
        }
        if !why.is_empty() {
            out.insert((ns, subject.name.clone()), why);
        }
    }
    out
}
