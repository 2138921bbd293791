use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Ingress rules (`networking.k8s.io`, any version, and `extensions/v1beta1`) whose
    /// `host` is a wildcard (`*.example.com`) or missing: a rule without a host matches every
    /// host name that reaches the controller. An Ingress with only a `defaultBackend` is not
    /// flagged.
    ///
    /// ## Why is this bad?
    /// A catch-all rule answers for any name pointed at the controller's address, including names
    /// the owner never meant to publish; a wildcard answers for every subdomain, so a forgotten
    /// or attacker-controlled DNS record reaches the backend, and on a shared controller one
    /// team's catch-all can shadow another's traffic. Both make the exposure of the backend
    /// hard to review.
    ///
    /// ## Remediation
    /// Name each host the backend serves in its own rule. Keep wildcards for backends that really
    /// serve every subdomain (per-tenant sites), and suppress the finding there with a reason.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// metadata:
    ///   name: app
    /// spec:
    ///   rules:
    ///   - http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend:
    ///           service: {name: app, port: {number: 80}}
    /// ```
    pub const RULE = {
        code: "NW005",
        slug: "ingress-wildcard-host",
        title: "Ingress rule matches any host or a wildcard host",
        severity: Low,
        category: Network,
        check: Check::Object { kinds: &["Ingress"], check },
        frameworks: [
            nsa::NETWORK_EXPOSURE, soc2::CC6_6, iso27001::A8_20, nist::SC_7,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !matches!(r.group(), "networking.k8s.io" | "extensions") {
        return;
    }
    let Some(rules) = r.root.at(&["spec", "rules"]).and_then(Node::as_seq) else {
        return;
    };
    for (i, rule) in rules.iter().enumerate() {
        if rule.as_map().is_none() {
            continue;
        }
        let path = FieldPath::root().keys(&["spec", "rules"]).index(i);
        match rule.get("host").and_then(Node::as_str) {
            None | Some("") => {
                out.report(
                    path,
                    "the rule has no host: it matches every host name that reaches the controller",
                );
            }
            Some(h) if h.starts_with('*') => {
                out.report(
                    path.key("host"),
                    format!("the rule's host {h} is a wildcard: it matches every subdomain"),
                );
            }
            Some(_) => {}
        }
    }
}
