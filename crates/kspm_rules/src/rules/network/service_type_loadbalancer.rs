use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Services of `type: LoadBalancer` (core `v1` Services only; Knative and other custom
    /// `Service` kinds are not judged). Load balancers the cloud provider makes internal through
    /// a well-known annotation are not flagged: `service.beta.kubernetes.io/aws-load-balancer-internal`
    /// (any value but `false`), `service.beta.kubernetes.io/aws-load-balancer-scheme: internal`,
    /// `networking.gke.io/load-balancer-type: Internal` (or the older
    /// `cloud.google.com/load-balancer-type`) and
    /// `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`.
    ///
    /// ## Why is this bad?
    /// The cloud provider gives the Service an external address, reachable from the internet
    /// unless `spec.loadBalancerSourceRanges` or a firewall says otherwise. Every such Service is
    /// attack surface outside the cluster's network policies, and a debug or admin endpoint
    /// exposed this way by mistake is found by scanners within minutes. It also opens a node port
    /// on every node (unless `allocateLoadBalancerNodePorts: false`).
    ///
    /// ## Remediation
    /// Use `type: ClusterIP` and publish HTTP services through an Ingress or Gateway that
    /// terminates TLS in one place. When a load balancer is really needed, make it internal with
    /// the provider's annotation, or restrict its clients with `spec.loadBalancerSourceRanges`,
    /// and document the exposure (suppress the finding with a reason).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: admin
    /// spec:
    ///   type: LoadBalancer
    ///   selector: {app: admin}
    ///   ports:
    ///   - port: 443
    ///     targetPort: 8443
    /// ```
    pub const RULE = {
        code: "NW001",
        slug: "service-type-loadbalancer",
        title: "Service is exposed through an external load balancer",
        severity: Low,
        category: Network,
        check: Check::Object { kinds: &["Service"], check },
        frameworks: [
            nsa::NETWORK_EXPOSURE, mitre::EXPLOIT_PUBLIC_APP, soc2::CC6_6, pci::R1_4_1,
            gdpr::ART25_2, iso27001::A8_20, nist::SC_7,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

/// Whether a provider annotation makes the load balancer internal to the VPC.
fn internal(r: &Resource) -> bool {
    let is = |key: &str, want: &str| {
        r.annotation(key)
            .is_some_and(|v| v.eq_ignore_ascii_case(want))
    };
    r.annotation("service.beta.kubernetes.io/aws-load-balancer-internal")
        .is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
        || is(
            "service.beta.kubernetes.io/aws-load-balancer-scheme",
            "internal",
        )
        || is("networking.gke.io/load-balancer-type", "Internal")
        || is("cloud.google.com/load-balancer-type", "Internal")
        || is(
            "service.beta.kubernetes.io/azure-load-balancer-internal",
            "true",
        )
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1"
        || r.root.at(&["spec", "type"]).and_then(Node::as_str) != Some("LoadBalancer")
    {
        return;
    }
    if internal(r) {
        return;
    }
    let ranges: Vec<String> = r
        .root
        .at(&["spec", "loadBalancerSourceRanges"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .map(Node::evidence)
        .collect();
    let reach = if ranges.is_empty() {
        "reachable from any address (no loadBalancerSourceRanges)".to_owned()
    } else {
        format!("reachable from {}", ranges.join(", "))
    };
    out.report(
        FieldPath::root().keys(&["spec", "type"]),
        format!("the Service gets an external load balancer, {reach}"),
    );
}
