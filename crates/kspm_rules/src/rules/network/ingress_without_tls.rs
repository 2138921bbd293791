use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Ingresses (`networking.k8s.io`, any version, and the old `extensions/v1beta1`)
    /// without a `spec.tls` section, and, when there is one, each `spec.rules[*].host` that no
    /// `spec.tls[*].hosts` entry covers. A TLS entry covers a host when it names it exactly,
    /// when it is a wildcard one label up (`*.example.com` covers `shop.example.com`), or when it
    /// lists no hosts at all (the controller's default certificate). Rules without a host are
    /// served by whatever TLS entry exists.
    ///
    /// ## Why is this bad?
    /// Without TLS the controller serves the host over plain HTTP: credentials, session cookies
    /// and data cross the network in clear text, readable and modifiable by anyone on the path.
    /// A host missing from `tls` is served with the wrong certificate (or none) even when its
    /// neighbours are protected.
    ///
    /// ## Remediation
    /// Add a `spec.tls` entry listing every host of the rules, with the Secret holding its
    /// certificate (cert-manager can issue and renew it from an annotation). Redirect HTTP to
    /// HTTPS in the controller.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// metadata:
    ///   name: shop
    /// spec:
    ///   rules:
    ///   - host: shop.example.com
    ///     http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend:
    ///           service: {name: shop, port: {number: 80}}
    /// ```
    pub const RULE = {
        code: "NW003",
        slug: "ingress-without-tls",
        title: "Ingress serves hosts without TLS",
        severity: Medium,
        category: Network,
        check: Check::Object { kinds: &["Ingress"], check },
        frameworks: [
            nsa::TLS, mitre::NETWORK_SNIFFING, soc2::CC6_7, pci::R4_2_1, hipaa::TRANSMISSION,
            gdpr::ART32_1_A, iso27001::A8_21, iso27001::A8_24, nist::SC_8,
        ],
        equivalents: ["polaris:tlsSettingsMissing"],
        fix: false,
        default: true,
    }
}

/// Whether a `tls[*].hosts` entry covers a rule host.
fn covers(tls_host: &str, host: &str) -> bool {
    if tls_host.eq_ignore_ascii_case(host) {
        return true;
    }
    match (tls_host.strip_prefix("*."), host.split_once('.')) {
        (Some(domain), Some((label, rest))) => {
            !label.is_empty() && label != "*" && rest.eq_ignore_ascii_case(domain)
        }
        _ => false,
    }
}

fn host(rule: &Node) -> Option<&str> {
    rule.get("host")
        .and_then(Node::as_str)
        .filter(|h| !h.is_empty())
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !matches!(r.group(), "networking.k8s.io" | "extensions") {
        return;
    }
    let rules = r
        .root
        .at(&["spec", "rules"])
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    let tls = r
        .root
        .at(&["spec", "tls"])
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    if tls.is_empty() {
        let hosts: Vec<&str> = rules.iter().filter_map(host).collect();
        let what = if hosts.is_empty() {
            "every host".to_owned()
        } else {
            hosts.join(", ")
        };
        out.report(
            FieldPath::root().keys(&["spec", "tls"]),
            format!("the Ingress has no spec.tls: it serves {what} over plain HTTP"),
        );
        return;
    }
    let tls_hosts: Vec<Option<Vec<&str>>> = tls
        .iter()
        .map(|t| {
            let hosts: Vec<&str> = t
                .get("hosts")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::as_str)
                .collect();
            (!hosts.is_empty()).then_some(hosts)
        })
        .collect();
    // An entry without hosts is the controller's default certificate: it covers everything.
    if tls_hosts.iter().any(Option::is_none) {
        return;
    }
    for (i, rule) in rules.iter().enumerate() {
        let Some(h) = host(rule) else { continue };
        if !tls_hosts.iter().flatten().flatten().any(|t| covers(t, h)) {
            out.report(
                FieldPath::root()
                    .keys(&["spec", "rules"])
                    .index(i)
                    .key("host"),
                format!(
                    "host {h} is not listed in any spec.tls[*].hosts: it is served over plain HTTP"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcard_covers_one_label() {
        assert!(covers("shop.example.com", "shop.example.com"));
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert!(!covers("*.example.com", "a.shop.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("example.com", "shop.example.com"));
    }
}
