use crate::prelude::*;
use kspm_network::Policy;
use kspm_network::policy::allows_everyone;

declare_rule! {
    /// ## What it does
    /// Flags NetworkPolicies that reopen a namespace its default-deny policy closed: the
    /// namespace has a policy that selects every pod and allows nothing in a direction, and
    /// this policy has a rule in that direction that admits every namespace (no peers,
    /// `namespaceSelector: {}`, or an ipBlock of the whole address space), on any ports.
    ///
    /// ## Why is this bad?
    /// The default-deny policy makes the namespace look isolated to reviewers and to
    /// coverage checks, while the other policy lets every pod of the cluster back in. The
    /// effective isolation is what the widest policy allows.
    ///
    /// ## Remediation
    /// Replace the wide rule with the namespaces and pods that need access
    /// (`namespaceSelector` with `matchLabels`, combined with a `podSelector`).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny, namespace: payments}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress]
    /// ---
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: let-everyone-in, namespace: payments}
    /// spec:
    ///   podSelector: {matchLabels: {app: api}}
    ///   ingress:
    ///   - from:
    ///     - namespaceSelector: {}
    /// ```
    pub const RULE = {
        code: "NW012",
        slug: "network-isolation-undone",
        title: "NetworkPolicy reopens a default-deny namespace to all namespaces",
        severity: High,
        category: Network,
        check: Check::Object { kinds: &["NetworkPolicy"], check },
        frameworks: [cis::C5_3_2, nsa::NETWORK_POLICIES, mitre::LATERAL_MOVEMENT],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(policy) = Policy::from_resource(r) else {
        return;
    };
    let others: Vec<Policy> = out
        .index()
        .in_namespace("NetworkPolicy", Some(&policy.namespace))
        .filter(|o| o.name() != r.name())
        .filter_map(Policy::from_resource)
        .collect();
    for (dir, rules, active, deny) in [
        (
            "ingress",
            &policy.ingress,
            policy.ingress_type,
            others.iter().find(|o| o.is_default_deny_ingress()),
        ),
        (
            "egress",
            &policy.egress,
            policy.egress_type,
            others.iter().find(|o| o.is_default_deny_egress()),
        ),
    ] {
        let Some(deny) = deny else { continue };
        if !active {
            continue;
        }
        for (i, rule) in rules.iter().enumerate() {
            if let Some(why) = allows_everyone(rule) {
                out.report(
                    FieldPath::root().keys(&["spec", dir]).index(i),
                    format!(
                        "namespace {} denies {dir} by default (NetworkPolicy {}), and this rule opens {} again to every namespace: {why}",
                        policy.namespace,
                        deny.name,
                        if policy.pod_selector.is_empty() {
                            "every pod".to_owned()
                        } else {
                            format!("the pods selected by {}", policy.pod_selector)
                        }
                    ),
                );
            }
        }
    }
}
