use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Namespaces for which the scanned input holds no NetworkPolicy (CIS Kubernetes
    /// Benchmark 5.3.2). System namespaces (`kube-system`, `kube-public`, `kube-node-lease`) are
    /// left out. Off by default: a repository often keeps its policies apart from its
    /// namespaces, so scan both together (or a live cluster) for a fair answer; `--select` or
    /// `--framework cis` turns it on.
    ///
    /// ## Why is this bad?
    /// Without a NetworkPolicy every pod in the namespace accepts traffic from every pod in the
    /// cluster and can reach every other pod: one compromised workload can talk to databases and
    /// internal APIs of every team.
    ///
    /// ## Remediation
    /// Add a default-deny policy to each namespace, then allow the flows the applications need:
    ///
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny, namespace: payments}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress, Egress]
    /// ```
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: payments
    /// ```
    pub const RULE = {
        code: "NW008",
        slug: "namespace-without-network-policy",
        title: "Namespace has no NetworkPolicy",
        severity: Medium,
        category: Network,
        check: Check::Object { kinds: &["Namespace"], check },
        frameworks: [
            cis::C5_3_2, nsa::NAMESPACES, soc2::CC6_6, pci::R1_3_1, pci::R1_4_1,
            gdpr::ART25_2, iso27001::A8_20, iso27001::A8_22, nist::AC_4, nist::SC_7,
        ],
        equivalents: ["kubescape:C-0260", "polaris:missingNetworkPolicy"],
        fix: false,
        default: false,
    }
}

const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if SYSTEM.contains(&r.name()) {
        return;
    }
    if out
        .index()
        .in_namespace("NetworkPolicy", Some(r.name()))
        .next()
        .is_some()
    {
        return;
    }
    out.report(
        FieldPath::root().keys(&["metadata", "name"]),
        format!(
            "namespace \"{}\" has no NetworkPolicy: its pods accept traffic from any pod in the cluster",
            r.name()
        ),
    );
}
