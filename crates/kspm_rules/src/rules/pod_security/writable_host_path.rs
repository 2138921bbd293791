use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that mount a `hostPath` volume without `readOnly: true` on the volume
    /// mount, whatever the path (`host-path-volume` flags every hostPath, `sensitive-host-path`
    /// the most dangerous paths, writable or not). Init and ephemeral containers count too.
    ///
    /// ## Why is this bad?
    /// A writable hostPath lets the container change the node's files: plant a binary or a
    /// cron job, drop a static pod manifest for the kubelet to start, or replace a file another
    /// pod or the node itself trusts. Through symbolic links written in the volume, even a
    /// harmless-looking directory has been turned into reads and writes anywhere on the node.
    /// Read-only is the difference between information disclosure and node takeover.
    ///
    /// ## Remediation
    /// Set `readOnly: true` on every volume mount of a hostPath volume that the container does
    /// not have to write, or replace the hostPath with an emptyDir or a PersistentVolumeClaim.
    /// Node agents that must write to the node (log shippers' position files, CSI drivers)
    /// belong in a namespace with the `privileged` Pod Security level, with an exception that
    /// names the reason.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: cache
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     volumeMounts:
    ///     - {name: data, mountPath: /data}
    ///   volumes:
    ///   - name: data
    ///     hostPath:
    ///       path: /srv/cache
    /// ```
    pub const RULE = {
        code: "PS030",
        slug: "writable-host-path",
        title: "Container mounts a hostPath volume writable",
        severity: High,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_2_12, pss::BASELINE_HOST_PATH_VOLUMES, nsa::HOST_PATH, mitre::ESCAPE_TO_HOST,
            pci::R2_2_6, iso27001::A8_2, nist::AC_6,
        ],
        equivalents: ["kube-linter:writable-host-mount", "kubescape:C-0045"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    // hostPath volumes by name, with the node path they mount.
    let host_paths: Vec<(&str, Option<&str>)> = pod
        .volumes()
        .filter_map(|(_, v)| {
            let hp = v.get("hostPath").filter(|n| !n.is_null())?;
            let name = v.get("name").and_then(Node::as_str)?;
            Some((name, hp.get("path").and_then(Node::as_str)))
        })
        .collect();
    if host_paths.is_empty() {
        return;
    }
    for c in pod.containers() {
        let Some(mounts) = c.get("volumeMounts").and_then(Node::as_seq) else {
            continue;
        };
        for (i, m) in mounts.iter().enumerate() {
            let Some(name) = m.get("name").and_then(Node::as_str) else {
                continue;
            };
            let Some((_, host)) = host_paths.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if m.get("readOnly").and_then(Node::as_bool) == Some(true) {
                continue;
            }
            let at = m.get("mountPath").and_then(Node::as_str).unwrap_or("?");
            let what = host.map_or_else(
                || format!("hostPath volume \"{name}\""),
                |p| format!("the node's {p} (hostPath volume \"{name}\")"),
            );
            let path = c.path_to(&["volumeMounts"]).index(i).key("readOnly");
            out.report(
                path.clone(),
                format!("{} mounts {what} writable at {at}", c.describe()),
            )
            .with_fix(Fix::new("mount the hostPath volume read-only").set(path, json!(true)));
        }
    }
}
