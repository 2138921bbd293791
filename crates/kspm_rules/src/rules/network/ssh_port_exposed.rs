use kspm_model::view::pod_specs;

use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that declare TCP `containerPort: 22` and Services (core `v1`) whose
    /// TCP `port` or `targetPort` is 22: the signs of an SSH server running inside a workload.
    /// A named `targetPort` is not resolved.
    ///
    /// ## Why is this bad?
    /// An SSH daemon in a container is a second, unmanaged way in: it has its own credentials
    /// (often baked into the image or left at defaults), bypasses the API server's
    /// authentication, RBAC and audit log that `kubectl exec` goes through, and is a favourite
    /// target of brute-force bots when the port is published.
    ///
    /// ## Remediation
    /// Remove the SSH server from the image and use `kubectl exec` or `kubectl debug` (ephemeral
    /// containers) to get a shell, under RBAC and audit. If the workload is an SSH service on
    /// purpose (a Git server, a bastion), suppress the finding with a reason.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: toolbox
    /// spec:
    ///   containers:
    ///   - name: shell
    ///     image: example/toolbox:3
    ///     ports:
    ///     - containerPort: 22
    /// ```
    pub const RULE = {
        code: "NW007",
        slug: "ssh-port-exposed",
        title: "Workload or Service exposes the SSH port",
        severity: Low,
        category: Network,
        check: Check::Object { kinds: &[], check },
        frameworks: [
            nsa::NETWORK_EXPOSURE, pci::R2_2_4, nist::CM_7, iso27001::A8_20,
        ],
        equivalents: [],
        fix: false,
        default: true,
    }
}

const SSH: i64 = 22;

/// TCP is the default protocol; SSH over UDP or SCTP does not exist.
fn is_tcp(port: &Node) -> bool {
    port.get("protocol")
        .and_then(Node::as_str)
        .is_none_or(|p| p.eq_ignore_ascii_case("TCP"))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.kind() == "Service" {
        if r.api_version() == "v1" {
            check_service(r, out);
        }
        return;
    }
    for pod in pod_specs(r) {
        for c in pod.containers() {
            let Some(ports) = c.get("ports").and_then(Node::as_seq) else {
                continue;
            };
            for (i, port) in ports.iter().enumerate() {
                if port.get("containerPort").and_then(Node::as_i64) == Some(SSH) && is_tcp(port) {
                    out.report(
                        c.path.key("ports").index(i).key("containerPort"),
                        format!("{} listens on port 22, the SSH port", c.describe()),
                    );
                }
            }
        }
    }
}

fn check_service(r: &Resource, out: &mut Reporter<'_>) {
    let Some(ports) = r.root.at(&["spec", "ports"]).and_then(Node::as_seq) else {
        return;
    };
    for (i, port) in ports.iter().enumerate() {
        if !is_tcp(port) {
            continue;
        }
        let path = FieldPath::root().keys(&["spec", "ports"]).index(i);
        let number = port.get("port").and_then(Node::as_i64);
        if number == Some(SSH) {
            out.report(
                path.key("port"),
                "the Service publishes port 22, the SSH port",
            );
        } else if port.get("targetPort").and_then(Node::as_i64) == Some(SSH) {
            let from = number.map_or_else(String::new, |n| format!(" {n}"));
            out.report(
                path.key("targetPort"),
                format!("the Service forwards port{from} to port 22 of its pods, the SSH port"),
            );
        }
    }
}
