use super::{check_role_rules, grants};
use crate::prelude::*;
use kspm_rbac::{PolicyRule, resource_group};

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow creating pods or the workloads that create
    /// them: Deployments, DaemonSets, StatefulSets, ReplicaSets, ReplicationControllers, Jobs
    /// and CronJobs.
    ///
    /// ## Why is this bad?
    /// Whoever can create a pod in a namespace can run it as any service account of that
    /// namespace and read its token, mount any Secret or ConfigMap of the namespace, and,
    /// unless admission forbids it, run a privileged pod that owns the node. Creating pods is
    /// the most common first step of an escalation path.
    ///
    /// ## Remediation
    /// Keep pod and workload creation to deployment pipelines and controllers, in the
    /// namespaces they deploy to, with Pod Security admission enforcing `restricted` there.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: deployer
    ///   namespace: prod
    /// rules:
    /// - apiGroups: ["apps"]
    ///   resources: ["deployments"]
    ///   verbs: ["create", "update"]
    /// ```
    pub const RULE = {
        code: "RB004",
        slug: "create-pods",
        title: "Role allows creating pods or workloads",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [cis::C5_1_4, nsa::RBAC, mitre::DEPLOY_CONTAINER],
        equivalents: ["kubescape:C-0188", "trivy:KSV-0048"],
        fix: false,
        default: true,
    }
}

const WORKLOADS: &[&str] = &[
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
];

fn creates(rule: &PolicyRule) -> Option<String> {
    let what: Vec<&str> = WORKLOADS
        .iter()
        .copied()
        .filter(|w| grants(rule, &["create"], resource_group(w), w, ""))
        .collect();
    (!what.is_empty()).then(|| format!("allows creating {}", what.join(", ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, creates);
}
