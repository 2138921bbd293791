use super::{escalation_edges, escalation_paths, model};
use crate::prelude::*;
use crate::rules::workload::{service_account, token_mounted};
use kspm_rbac::Subject;
use kspm_rbac::escalation::Power;

declare_rule! {
    /// ## What it does
    /// Flags workloads whose service account holds cluster-admin's power: every verb on every
    /// resource cluster-wide (the `cluster-admin` ClusterRole or any role of the same shape,
    /// bound by a ClusterRoleBinding, to the account itself or to a group it belongs to such
    /// as `system:serviceaccounts`), or a chain of rights that ends there (the paths of
    /// `rbac-escalation-path`). The finding names the binding and role, or the path. Only the
    /// RBAC objects of the scan are known: on files, bindings created elsewhere are not seen.
    ///
    /// ## Why is this bad?
    /// Anyone who gets code running in one of these pods (a vulnerable dependency, an exposed
    /// debug endpoint, a compromised image) reads the service account token from the
    /// filesystem and owns the cluster: every Secret, every node through a privileged pod, the
    /// RBAC itself. The binding may be reported on its own; this finding shows which running
    /// workloads turn it into a target.
    ///
    /// ## Remediation
    /// Give the workload an account of its own with a role that lists what it really does,
    /// bound in the namespaces where it does it. If it must keep broad rights, do not mount the
    /// token where it is not used (`automountServiceAccountToken: false`) and keep the pod
    /// away from untrusted input.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: operator
    ///   namespace: ops
    /// spec:
    ///   selector:
    ///     matchLabels: {app: operator}
    ///   template:
    ///     metadata:
    ///       labels: {app: operator}
    ///     spec:
    ///       serviceAccountName: operator
    ///       containers:
    ///       - name: operator
    ///         image: example/operator:1.0
    /// ---
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: operator
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: operator
    ///   namespace: ops
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: cluster-admin
    /// ```
    pub const RULE = {
        code: "RB019",
        slug: "cluster-admin-workload",
        title: "Workload runs as a service account with cluster-admin rights",
        severity: High,
        category: Rbac,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_1_1, nsa::RBAC, mitre::PRIVILEGE_ESCALATION, mitre::CONTAINER_API,
            nist::AC_6, iso27001::A8_2, pci::R7_2_5,
        ],
        equivalents: ["kubescape:C-0267"],
        fix: false,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let (account, path, _) = service_account(pod);
    let namespace = pod.resource.join_namespace();
    let subject = Subject::service_account(namespace, account);
    let model = model(out);
    let how = if let Some(via) = model.is_cluster_admin(&subject) {
        format!(
            "which has every right in the cluster through {} → {}",
            via.binding, via.role
        )
    } else {
        let start = Power::Subject(subject.clone());
        let edges = escalation_edges(out);
        let paths = escalation_paths(out);
        if let Some(e) = edges
            .0
            .iter()
            .find(|e| e.from == start && e.to == Power::ClusterAdmin)
        {
            format!("which {}", e.describe())
        } else if let Some(p) = paths.0.iter().find(|p| p.start == subject) {
            format!("which can become cluster-admin: {}", p.describe())
        } else {
            return;
        }
    };
    let token = if token_mounted(pod, out.index(), account) {
        ""
    } else {
        " (its token is not mounted automatically, but any process that obtains one has these rights)"
    };
    out.report(
        path,
        format!("the pod runs as ServiceAccount {namespace}/{account}, {how}{token}"),
    );
}
