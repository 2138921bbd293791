use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Services of `type: NodePort` (core `v1` Services only). LoadBalancer Services also
    /// allocate node ports, but they are reported once, by `service-type-loadbalancer`, whose
    /// exposure includes them.
    ///
    /// ## Why is this bad?
    /// A NodePort Service opens the same port (30000-32767 by default) on every node of the
    /// cluster, on every node address, forwarding to the pods. Whoever reaches any node reaches
    /// the service, bypassing the Ingress or load balancer where TLS, authentication and
    /// logging usually live; node firewalls rarely expect it, and the port moves with the
    /// cluster's nodes.
    ///
    /// ## Remediation
    /// Use `type: ClusterIP` and publish the service through an Ingress, a Gateway or a
    /// LoadBalancer Service. Keep NodePort for the rare case where an external load balancer
    /// targets the nodes directly, and firewall the node port range to that load balancer.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: metrics
    /// spec:
    ///   type: NodePort
    ///   selector: {app: metrics}
    ///   ports:
    ///   - port: 9090
    ///     nodePort: 30090
    /// ```
    pub const RULE = {
        code: "NW002",
        slug: "service-type-nodeport",
        title: "Service opens a port on every node",
        severity: Low,
        category: Network,
        check: Check::Object { kinds: &["Service"], check },
        frameworks: [
            nsa::NETWORK_EXPOSURE, mitre::EXPLOIT_PUBLIC_APP, soc2::CC6_6, pci::R1_4_1,
            iso27001::A8_20, nist::SC_7,
        ],
        equivalents: ["kube-score:service-type"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1"
        || r.root.at(&["spec", "type"]).and_then(Node::as_str) != Some("NodePort")
    {
        return;
    }
    let ports: Vec<String> = r
        .root
        .at(&["spec", "ports"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| p.get("nodePort").and_then(Node::as_i64))
        .map(|p| p.to_string())
        .collect();
    let which = if ports.is_empty() {
        "a port allocated from the node port range".to_owned()
    } else {
        let noun = if ports.len() == 1 { "port" } else { "ports" };
        format!("{noun} {}", ports.join(", "))
    };
    out.report(
        FieldPath::root().keys(&["spec", "type"]),
        format!("the Service is of type NodePort: every node listens on {which} for it"),
    );
}
