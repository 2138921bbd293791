use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags volume mounts with `mountPropagation: Bidirectional`, in every container.
    ///
    /// ## Why is this bad?
    /// With bidirectional propagation, mounts the container creates under that path propagate back
    /// to the host and to every other pod using the same host directory. A compromised container
    /// can shadow host directories or plant mounts other workloads will trust. The API server only
    /// accepts it for privileged containers, so it always comes with full node access.
    ///
    /// ## Remediation
    /// Remove `mountPropagation` (the default is `None`) or use `HostToContainer` when the
    /// container only needs to see mounts made on the host later. Only storage and CSI node
    /// plugins need `Bidirectional`; keep them in a dedicated, privileged namespace.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: mounter
    /// spec:
    ///   containers:
    ///   - name: mounter
    ///     image: example/mounter:1.0
    ///     securityContext:
    ///       privileged: true
    ///     volumeMounts:
    ///     - name: mnt
    ///       mountPath: /mnt/shared
    ///       mountPropagation: Bidirectional
    ///   volumes:
    ///   - name: mnt
    ///     hostPath:
    ///       path: /mnt/shared
    /// ```
    pub const RULE = {
        code: "PS028",
        slug: "bidirectional-mount-propagation",
        title: "Volume mount propagates mounts back to the host",
        severity: High,
        category: PodSecurity,
        check: Check::Container(check),
        frameworks: [
            nsa::HOST_PATH, mitre::ESCAPE_TO_HOST, nist::SC_39,
        ],
        equivalents: [],
        fix: true,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let mounts = c.get("volumeMounts").and_then(Node::as_seq).unwrap_or(&[]);
    for (i, mount) in mounts.iter().enumerate() {
        if mount.get("mountPropagation").and_then(Node::as_str) != Some("Bidirectional") {
            continue;
        }
        let target = mount.get("mountPath").and_then(Node::as_str).unwrap_or("?");
        let path = c
            .path_to(&["volumeMounts"])
            .index(i)
            .key("mountPropagation");
        out.report(
            path.clone(),
            format!(
                "{} mounts {target} with Bidirectional propagation",
                c.describe()
            ),
        )
        .with_fix(Fix::new("remove mountPropagation").remove(path));
    }
}
