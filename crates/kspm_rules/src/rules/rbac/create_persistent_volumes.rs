use super::{check_role_rules, grants};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow creating PersistentVolumes.
    ///
    /// ## Why is this bad?
    /// A PersistentVolume can be a `hostPath` on any node: whoever creates one, then a claim
    /// and a pod that mounts it, reads and writes the node's file system without ever being
    /// allowed a hostPath volume in a pod spec. CIS 5.1.9 asks to keep the right to the
    /// storage administrators and the provisioners.
    ///
    /// ## Remediation
    /// Let users create PersistentVolumeClaims against StorageClasses; leave PersistentVolumes
    /// to dynamic provisioners.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: storage
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["persistentvolumes"]
    ///   verbs: ["create"]
    /// ```
    pub const RULE = {
        code: "RB008",
        slug: "create-persistent-volumes",
        title: "Role allows creating PersistentVolumes",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_9, nsa::RBAC, mitre::ESCAPE_TO_HOST],
        equivalents: ["kubescape:C-0278"],
        fix: false,
        default: true,
    }
}

fn pv(rule: &PolicyRule) -> Option<String> {
    grants(rule, &["create"], "", "persistentvolumes", "")
        .then(|| "allows creating PersistentVolumes (hostPath volumes on any node)".to_owned())
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, pv);
}
