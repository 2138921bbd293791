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

/// The default-deny policies of each namespace (at most two names per direction, enough to
/// find one other than the policy judged), computed once per scan: judging each policy against
/// every other one in its namespace would be quadratic in the number of policies.
struct DefaultDenies(std::collections::HashMap<String, [Vec<String>; 2]>);

fn default_denies(out: &Reporter<'_>) -> std::sync::Arc<DefaultDenies> {
    out.index().derived(|index| {
        let mut map: std::collections::HashMap<String, [Vec<String>; 2]> =
            std::collections::HashMap::new();
        for r in index.all("NetworkPolicy") {
            let Some(p) = Policy::from_resource(r) else {
                continue;
            };
            let entry = map.entry(p.namespace.clone()).or_default();
            for (i, deny) in [p.is_default_deny_ingress(), p.is_default_deny_egress()]
                .into_iter()
                .enumerate()
            {
                if deny && entry[i].len() < 2 {
                    entry[i].push(p.name.clone());
                }
            }
        }
        DefaultDenies(map)
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(policy) = Policy::from_resource(r) else {
        return;
    };
    let denies = default_denies(out);
    let other = |dir: usize| -> Option<String> {
        denies
            .0
            .get(&policy.namespace)?
            .get(dir)?
            .iter()
            .find(|n| n.as_str() != r.name())
            .cloned()
    };
    for (dir, rules, active, deny) in [
        ("ingress", &policy.ingress, policy.ingress_type, other(0)),
        ("egress", &policy.egress, policy.egress_type, other(1)),
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
                        "namespace {} denies {dir} by default (NetworkPolicy {deny}), and this rule opens {} again to every namespace: {why}",
                        policy.namespace,
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
