use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Services (core `v1`) that set `spec.externalIPs`.
    ///
    /// ## Why is this bad?
    /// kube-proxy routes traffic for an external IP to the Service on every node, without
    /// checking that the address belongs to the Service's owner. Anyone allowed to create or
    /// edit a Service can claim any address — an external API, a DNS server, another tenant's
    /// load balancer — and intercept the cluster's traffic to it: CVE-2020-8554, a design flaw
    /// with no patch. Clusters are expected to forbid the field by admission policy (the
    /// `DenyServiceExternalIPs` admission plugin, or a policy engine), and a manifest relying on
    /// it either breaks there or shows the policy is missing.
    ///
    /// ## Remediation
    /// Remove `spec.externalIPs`. Publish the Service with `type: LoadBalancer` (the provider
    /// assigns an address it owns) or through an Ingress or Gateway. If an external IP is truly
    /// needed, allow it for that Service only, in an admission policy that pins the address.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: dns
    /// spec:
    ///   selector: {app: dns}
    ///   ports:
    ///   - port: 53
    ///     protocol: UDP
    ///   externalIPs:
    ///   - 8.8.8.8
    /// ```
    pub const RULE = {
        code: "NW004",
        slug: "service-external-ips",
        title: "Service claims external IPs",
        severity: Medium,
        category: Network,
        check: Check::Object { kinds: &["Service"], check },
        frameworks: [
            nsa::NETWORK_EXPOSURE, mitre::NETWORK_SNIFFING, soc2::CC6_6, pci::R1_3_1,
            iso27001::A8_20, nist::SC_7,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1" {
        return;
    }
    let Some(ips) = r.root.at(&["spec", "externalIPs"]).and_then(Node::as_seq) else {
        return;
    };
    if ips.is_empty() {
        return;
    }
    let list: Vec<String> = ips.iter().map(Node::evidence).collect();
    out.report(
        FieldPath::root().keys(&["spec", "externalIPs"]),
        format!(
            "the Service claims external IPs {}: kube-proxy sends cluster traffic for them to this Service, \
             whoever owns them (CVE-2020-8554)",
            list.join(", ")
        ),
    );
}
