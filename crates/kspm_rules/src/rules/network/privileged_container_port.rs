use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that declare a `containerPort` below 1024 (a privileged port). Off by
    /// default: select it explicitly.
    ///
    /// ## Why is this bad?
    /// Binding a port below 1024 traditionally needs root or the `NET_BIND_SERVICE` capability,
    /// so an image listening on port 80 is often an image built to run as root, which is at odds
    /// with `runAsNonRoot` and with dropping all capabilities. Recent container runtimes set
    /// `net.ipv4.ip_unprivileged_port_start=0` inside the pod, which removes the technical need,
    /// hence the rule is not enabled by default. Inside the cluster the port number is free:
    /// the Service can still publish port 80 and target 8080.
    ///
    /// ## Remediation
    /// Make the application listen on a port of 1024 or above (8080 instead of 80, 8443 instead
    /// of 443) and map it in the Service (`port: 80`, `targetPort: 8080`). If the port cannot
    /// change, run as non-root and add only the `NET_BIND_SERVICE` capability.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector:
    ///     matchLabels: {app: web}
    ///   template:
    ///     metadata:
    ///       labels: {app: web}
    ///     spec:
    ///       containers:
    ///       - name: nginx
    ///         image: nginx:1.27
    ///         ports:
    ///         - containerPort: 80
    /// ```
    pub const RULE = {
        code: "NW006",
        slug: "privileged-container-port",
        title: "Container listens on a privileged port",
        severity: Low,
        category: Network,
        check: Check::Container(check),
        frameworks: [
            nsa::NON_ROOT, nist::CM_7,
        ],
        equivalents: ["kube-linter:privileged-ports"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(ports) = c.get("ports").and_then(Node::as_seq) else {
        return;
    };
    for (i, port) in ports.iter().enumerate() {
        let Some(n) = port.get("containerPort").and_then(Node::as_i64) else {
            continue;
        };
        if (1..1024).contains(&n) {
            out.report(
                c.path.key("ports").index(i).key("containerPort"),
                format!(
                    "{} listens on privileged port {n} (below 1024), which needs root or NET_BIND_SERVICE",
                    c.describe()
                ),
            );
        }
    }
}
