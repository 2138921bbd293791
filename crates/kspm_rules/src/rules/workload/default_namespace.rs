use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags namespaced objects whose `metadata.namespace` is explicitly `default`.
    ///
    /// A missing namespace is not reported: Helm charts, Kustomize bases and plain manifests
    /// commonly leave it out so that the user chooses it at deploy time (`-n`, `namespace:`),
    /// and flagging every such object would bury the real findings (checkov CKV_K8S_21 flags it;
    /// kspm deliberately does not). Cluster-scoped kinds (Namespace, Node, ClusterRole,
    /// CustomResourceDefinition, StorageClass, webhook configurations...) have no namespace and
    /// are skipped. So are the objects Kubernetes itself keeps in `default` and that cannot live
    /// anywhere else: the namespace's `default` ServiceAccount, the `kubernetes` Service (the API
    /// server's in-cluster address) and the `kube-root-ca.crt` ConfigMap; manifests that hold
    /// them (a cluster dump, a patch of the default account) are not misplacing anything.
    /// Nor are the objects that act on the namespace they live in: a Role or RoleBinding that
    /// grants access in `default`, and `default`'s NetworkPolicies, ResourceQuotas and
    /// LimitRanges, must live there to do their job.
    /// Neither are the objects the control plane writes itself: the Endpoints and EndpointSlice
    /// the API server keeps for that Service (recognised by their labels,
    /// `endpointslice.kubernetes.io/skip-mirror` and `kubernetes.io/service-name`), and the
    /// EndpointSlices the EndpointSlice controllers derive from any Service (their
    /// `endpointslice.kubernetes.io/managed-by` label); the Service they belong to is judged.
    ///
    /// ## Why is this bad?
    /// The `default` namespace is where everything lands by accident. Workloads there share it
    /// with whatever else was deployed without thought, so RBAC, NetworkPolicies, quotas and
    /// Pod Security admission levels cannot be scoped to the application, and a mistaken
    /// `kubectl delete --all` reaches it first.
    ///
    /// ## Remediation
    /// Create a namespace per application or team and deploy into it; apply RBAC, quotas,
    /// NetworkPolicies and Pod Security labels to that namespace.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata:
    ///   name: settings
    ///   namespace: default
    /// data:
    ///   LOG_LEVEL: info
    /// ```
    pub const RULE = {
        code: "WL012",
        slug: "default-namespace",
        title: "Object is placed in the default namespace",
        severity: Low,
        category: Workload,
        check: Check::Object { kinds: &[], check },
        frameworks: [
            cis::C5_7_4, nsa::NAMESPACES, iso27001::A8_22, nist::CM_6,
        ],
        equivalents: ["checkov:CKV_K8S_21"],
        fix: false,
        default: true,
    }
}

/// Objects the control plane creates in the `default` namespace (kind, name): they belong there.
const BUILT_IN: &[(&str, &str)] = &[
    ("ServiceAccount", "default"),
    ("Service", "kubernetes"),
    ("ConfigMap", "kube-root-ca.crt"),
];

/// Kinds that act on the namespace they live in: a Role or RoleBinding granting access in
/// `default`, or the policy, quota or limits of `default`, must be there.
const GOVERN_THEIR_NAMESPACE: &[&str] = &[
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
];

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.is_cluster_scoped()
        || GOVERN_THEIR_NAMESPACE.contains(&r.kind())
        || r.namespace() != Some("default")
        || BUILT_IN.contains(&(r.kind(), r.name()))
        || crate::rules::maintained_by_control_plane(r)
    {
        return;
    }
    out.report(
        FieldPath::root().keys(&["metadata", "namespace"]),
        format!(
            "{} \"{}\" is placed in the default namespace",
            r.kind(),
            r.name()
        ),
    );
}
