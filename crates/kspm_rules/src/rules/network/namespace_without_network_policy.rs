use crate::prelude::*;
use kspm_model::selector::labels_at;

declare_rule! {
    /// ## What it does
    /// Flags Namespaces with no NetworkPolicy among the scanned manifests. `kube-public` and
    /// `kube-node-lease`, which run no pods, are not reported, and neither is a namespace whose
    /// scanned workloads all use `hostNetwork` (a CNI's or node agent's namespace): policies do
    /// not apply to pods on the host's network.
    ///
    /// Cilium and Calico isolate namespaces with their own policies too: a namespace with a
    /// `CiliumNetworkPolicy` or a Calico `NetworkPolicy` is not reported, nor is one a
    /// `CiliumClusterwideNetworkPolicy` or Calico `GlobalNetworkPolicy` may select (unless its
    /// namespace constraints provably leave the namespace out). What their rules allow is not
    /// judged.
    ///
    /// ## Why is this bad?
    /// Without a NetworkPolicy every pod of the namespace accepts connections from every pod
    /// of every namespace, and may connect anywhere: one compromised pod anywhere in the
    /// cluster reaches the databases and internal APIs here directly (CIS 5.3.2).
    ///
    /// ## Remediation
    /// Add a default-deny policy to the namespace (`podSelector: {}` with
    /// `policyTypes: [Ingress, Egress]` and no rules), then policies that allow the traffic
    /// its workloads need.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    /// ```
    pub const RULE = {
        code: "NW008",
        slug: "namespace-without-network-policy",
        title: "Namespace has no NetworkPolicy",
        severity: Medium,
        category: Network,
        // Judged once every workload is known: a namespace whose workloads all use the host's
        // network gains nothing from a policy.
        check: Check::AfterWorkloads { kinds: &["Namespace"], check },
        frameworks: [
            cis::C5_3_2, nsa::NETWORK_POLICIES, mitre::LATERAL_MOVEMENT, soc2::CC6_6, pci::R1_3_1,
            pci::R1_4_1, gdpr::ART25_2, iso27001::A8_20, iso27001::A8_22, nist::AC_4, nist::SC_7,
        ],
        equivalents: ["kubescape:C-0054", "kubescape:C-0206"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1" || matches!(r.name(), "kube-public" | "kube-node-lease") {
        return;
    }
    // Calico's namespaced NetworkPolicy shares the kind, and counts here too.
    if out
        .index()
        .in_namespace("NetworkPolicy", Some(r.name()))
        .next()
        .is_some()
    {
        return;
    }
    let mut seen = false;
    let host_network_only = out.index().workloads(Some(r.name())).is_some_and(|mut ws| {
        ws.all(|w| {
            seen = true;
            w.host_network
        })
    });
    if host_network_only && seen {
        return;
    }
    let labels = labels_at(r.root.at(&["metadata", "labels"]));
    if super::cni_policies(out)
        .0
        .iter()
        .any(|c| c.may_cover(r.name(), Some(&labels)))
    {
        return;
    }
    out.report(
        FieldPath::root().keys(&["metadata", "name"]),
        format!(
            "no NetworkPolicy (nor Cilium or Calico policy) in namespace {}: its pods accept connections from every namespace and may connect anywhere",
            r.name()
        ),
    );
}
