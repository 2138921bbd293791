use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::{PolicyRule, resource_group};

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `delete` or `deletecollection` on workload
    /// controllers (Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers,
    /// Jobs, CronJobs), Namespaces or PersistentVolumeClaims. Pods are left out: their
    /// controllers recreate them. Kubernetes' own default roles are not judged.
    ///
    /// Off by default: operators and CI deployers legitimately hold these rights. Turn it on
    /// to review who can take applications and their data down.
    ///
    /// ## Why is this bad?
    /// Deleting a controller stops the application; deleting a Namespace deletes everything
    /// in it; deleting a PersistentVolumeClaim whose volume has the usual `Delete` reclaim
    /// policy destroys the data. A stolen token holding these rights is a denial of service
    /// or a ransom note, and `deletecollection` does it in one request.
    ///
    /// ## Remediation
    /// Give deletion to the deployment pipeline or the operator that owns the objects, in the
    /// namespaces they own, and not to applications or people's everyday roles. Protect
    /// volumes with the `Retain` reclaim policy where the data matters.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: cleaner
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["namespaces", "persistentvolumeclaims"]
    ///   verbs: ["delete"]
    /// ```
    pub const RULE = {
        code: "RB016",
        slug: "delete-workloads",
        title: "Role allows deleting workloads, namespaces or volume claims",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [nsa::RBAC, mitre::ENDPOINT_DOS, nist::AC_6, iso27001::A8_2],
        equivalents: ["kubescape:C-0007"],
        fix: false,
        default: false,
    }
}

const VERBS: &[&str] = &["delete", "deletecollection"];
const RESOURCES: &[&str] = &[
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
    "namespaces",
    "persistentvolumeclaims",
];

fn deletes(rule: &PolicyRule) -> Option<String> {
    let what: Vec<&str> = RESOURCES
        .iter()
        .copied()
        .filter(|r| grants(rule, VERBS, resource_group(r), r, ""))
        .collect();
    (!what.is_empty()).then(|| format!("allows {} on {}", verbs_of(rule, VERBS), what.join(", ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, deletes);
}
