use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags container ports bound to a port of the node (`ports[*].hostPort` set and not `0`),
    /// in every container of the pod.
    ///
    /// ## Why is this bad?
    /// A host port exposes the container directly on the node's address, outside of Services and
    /// often outside of NetworkPolicies, and it limits scheduling to one such pod per node. It is
    /// also a way to intercept traffic meant for a node-level service on that port.
    ///
    /// ## Remediation
    /// Remove `hostPort` and expose the workload with a Service (`NodePort` or `LoadBalancer`) or an
    /// Ingress.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     ports:
    ///     - containerPort: 80
    ///       hostPort: 8080
    /// ```
    pub const RULE = {
        code: "PS011",
        slug: "host-port",
        title: "Container binds a port of the node",
        severity: Medium,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            cis::C5_2_13, pss::BASELINE_HOST_PORTS, nsa::NETWORK_EXPOSURE, pci::R1_3_1,
            soc2::CC6_6, iso27001::A8_20, nist::SC_7,
        ],
        equivalents: ["checkov:CKV_K8S_26", "polaris:hostPortSet", "trivy:KSV-0024"],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let ports = c.get("ports").and_then(Node::as_seq).unwrap_or(&[]);
    for (i, port) in ports.iter().enumerate() {
        let Some(host_port) = port.get("hostPort").and_then(Node::as_i64) else {
            continue;
        };
        if host_port == 0 {
            continue;
        }
        let path = c.path_to(&["ports"]).index(i).key("hostPort");
        let container_port = port
            .get("containerPort")
            .and_then(Node::as_i64)
            .map_or_else(String::new, |p| format!(" (container port {p})"));
        out.report(
            path.clone(),
            format!(
                "{} binds port {host_port} of the node{container_port}",
                c.describe()
            ),
        )
        .with_fix(Fix::new("remove hostPort").remove(path));
    }
}
