use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `delete` or `deletecollection` on Events,
    /// in the core group or in `events.k8s.io`. Kubernetes' own default roles are not judged.
    ///
    /// ## Why is this bad?
    /// Events are often the only record of what happened in a namespace: failed mounts,
    /// image pulls, evictions, a pod created and gone. Whoever can delete them can erase the
    /// traces of an intrusion before anyone looks, and nothing in an ordinary application
    /// needs to. The API server expires Events on its own (`--event-ttl`).
    ///
    /// ## Remediation
    /// Remove the right. Tools that export Events need only `get`, `list` and `watch`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: event-cleaner
    /// rules:
    /// - apiGroups: ["", "events.k8s.io"]
    ///   resources: ["events"]
    ///   verbs: ["delete", "deletecollection"]
    /// ```
    pub const RULE = {
        code: "RB017",
        slug: "delete-events",
        title: "Role allows deleting Events",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [nsa::RBAC, nist::AC_6, iso27001::A8_15, soc2::CC7_2],
        equivalents: ["kubescape:C-0031"],
        fix: false,
        default: true,
    }
}

const VERBS: &[&str] = &["delete", "deletecollection"];

fn deletes(rule: &PolicyRule) -> Option<String> {
    let groups: Vec<&str> = ["", "events.k8s.io"]
        .into_iter()
        .filter(|g| grants(rule, VERBS, g, "events", ""))
        .collect();
    (!groups.is_empty()).then(|| {
        let which = if groups.len() == 2 {
            "Events (core and events.k8s.io)"
        } else if groups[0].is_empty() {
            "Events"
        } else {
            "Events (events.k8s.io)"
        };
        format!("allows {} on {which}", verbs_of(rule, VERBS))
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, deletes);
}
