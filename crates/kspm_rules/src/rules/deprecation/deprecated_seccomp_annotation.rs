use std::fmt::Write as _;

use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods and pod templates that choose a seccomp profile with the alpha annotations
    /// `seccomp.security.alpha.kubernetes.io/pod` or
    /// `container.seccomp.security.alpha.kubernetes.io/<container>`, deprecated since Kubernetes
    /// 1.19 when `securityContext.seccompProfile` became generally available. Targets older than
    /// 1.19 are not judged: there the annotation is the only way.
    ///
    /// ## Why is this bad?
    /// Since Kubernetes 1.25 kubelets no longer read the annotations. The profile only applies
    /// because the API server copies an annotation into the empty field when a pod is created —
    /// a compatibility shim scheduled for removal, which static pods never had. A workload that
    /// relies on it can lose its syscall filter (or its explicitly unconfined profile) without
    /// any error. Tools that read only the field, including admission policies, also misjudge it.
    ///
    /// ## Remediation
    /// Set the same profile in `securityContext.seccompProfile` of the pod (for the `/pod`
    /// annotation) or of the named container, and remove the annotation:
    /// `runtime/default` and `docker/default` become `type: RuntimeDefault`, `unconfined`
    /// becomes `type: Unconfined`, and `localhost/<path>` becomes `type: Localhost` with
    /// `localhostProfile: <path>`. The automatic fix does exactly that; when the field is already
    /// set, or no container has the annotated name, it only removes the annotation.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: api
    /// spec:
    ///   selector:
    ///     matchLabels: {app: api}
    ///   template:
    ///     metadata:
    ///       labels: {app: api}
    ///       annotations:
    ///         seccomp.security.alpha.kubernetes.io/pod: runtime/default
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: example/api:1.4
    /// ```
    pub const RULE = {
        code: "AP003",
        slug: "deprecated-seccomp-annotation",
        title: "Seccomp profile set with the deprecated alpha annotation",
        severity: Medium,
        category: Deprecation,
        check: Check::PodSpec(check),
        frameworks: [
            nsa::SECCOMP, nsa::UPGRADES, soc2::CC7_1, nist::SI_2,
        ],
        equivalents: [],
        fix: true,
        default: true,
    }
}

const POD_KEY: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// The `seccompProfile` value an annotation value stands for.
fn profile(value: &str) -> Option<serde_json::Value> {
    match value {
        "runtime/default" | "docker/default" => Some(json!({"type": "RuntimeDefault"})),
        "unconfined" => Some(json!({"type": "Unconfined"})),
        _ => value
            .strip_prefix("localhost/")
            .filter(|p| !p.is_empty())
            .map(|p| json!({"type": "Localhost", "localhostProfile": p})),
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let target = out.settings().k8s_version;
    if target < KubeVersion::new(1, 19) {
        return;
    }
    let Some(annotations) = pod
        .meta
        .and_then(|m| m.get("annotations"))
        .and_then(Node::as_map)
    else {
        return;
    };
    let containers = pod.containers();
    for entry in annotations {
        let key = &*entry.key;
        // (the field the annotation stands for, whether it is already set, who it applies to)
        let (field, subject) = if key == POD_KEY {
            let set = pod.security("seccompProfile").is_some_and(|n| !n.is_null());
            (
                Some((pod.path_to(&["securityContext", "seccompProfile"]), set)),
                "the pod".to_owned(),
            )
        } else if let Some(name) = key.strip_prefix(CONTAINER_PREFIX) {
            match containers.iter().find(|c| c.name() == name) {
                Some(c) => {
                    let set = c.security("seccompProfile").is_some_and(|n| !n.is_null());
                    (
                        Some((c.path_to(&["securityContext", "seccompProfile"]), set)),
                        c.describe(),
                    )
                }
                None => (None, format!("container \"{name}\"")),
            }
        } else {
            continue;
        };
        let value = entry.value.as_str().unwrap_or("");
        let mut message = format!(
            "the annotation {key} sets the seccomp profile of {subject}; \
             seccomp annotations are deprecated since Kubernetes 1.19"
        );
        if target >= KubeVersion::new(1, 25) {
            message.push_str(" and kubelets ignore them since 1.25");
        }
        let annotation = pod.annotation_path(key);
        let remove_only = |why: &str| {
            Fix::new(format!("remove the annotation ({why})")).remove(annotation.clone())
        };
        let fix = match (field, profile(value)) {
            (None, _) => {
                message.push_str(", and no container has that name");
                remove_only("no such container")
            }
            (Some((_, true)), _) => {
                message.push_str(", and securityContext.seccompProfile is already set");
                remove_only("securityContext.seccompProfile already decides")
            }
            (Some(_), None) => {
                let _ = write!(message, ", and `{value}` is not a valid profile");
                remove_only("its value is not a valid profile")
            }
            (Some((path, false)), Some(p)) => {
                message.push_str("; set securityContext.seccompProfile instead");
                Fix::new(format!(
                    "set securityContext.seccompProfile to {p} and remove the annotation"
                ))
                .set(path, p)
                .remove(annotation.clone())
            }
        };
        out.report(annotation.clone(), message).with_fix(fix);
    }
}
