use crate::prelude::*;
use kspm_network::policy::allows_everyone;

declare_rule! {
    /// ## What it does
    /// Flags NetworkPolicy ingress or egress rules that admit all traffic: no peers (an empty
    /// rule `{}` or an empty `from`/`to`), a `namespaceSelector: {}` peer (every pod of every
    /// namespace) or an `ipBlock` of the whole address space, with no port restriction. A
    /// rule limited to some ports is a deliberate opening of a service and is not reported.
    ///
    /// ## Why is this bad?
    /// The selected pods look protected (a policy selects them) but are open to every pod of
    /// the cluster, or every address, on every port. Such rules are often left over from
    /// debugging or added to make something work.
    ///
    /// ## Remediation
    /// List the namespaces and pods that need access, and the ports.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: allow-all
    ///   namespace: shop
    /// spec:
    ///   podSelector: {}
    ///   ingress:
    ///   - {}
    /// ```
    pub const RULE = {
        code: "NW011",
        slug: "network-policy-allows-all",
        title: "NetworkPolicy rule allows all traffic",
        severity: Medium,
        category: Network,
        check: Check::Object { kinds: &["NetworkPolicy"], check },
        frameworks: [nsa::NETWORK_POLICIES, mitre::LATERAL_MOVEMENT],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(policy) = kspm_network::Policy::from_resource(r) else {
        return;
    };
    for (dir, rules, active) in [
        ("ingress", &policy.ingress, policy.ingress_type),
        ("egress", &policy.egress, policy.egress_type),
    ] {
        if !active {
            continue;
        }
        for (i, rule) in rules.iter().enumerate() {
            if !rule.ports.is_empty() {
                continue;
            }
            if let Some(why) = allows_everyone(rule) {
                out.report(
                    FieldPath::root().keys(&["spec", dir]).index(i),
                    format!("{dir} rule {i} allows all traffic on every port: {why}"),
                );
            }
        }
    }
}
