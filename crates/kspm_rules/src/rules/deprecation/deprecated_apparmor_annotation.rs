use std::fmt::Write as _;

use crate::KubeVersion;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods and pod templates that choose a container's AppArmor profile with the beta
    /// annotation `container.apparmor.security.beta.kubernetes.io/<container>`, deprecated since
    /// Kubernetes 1.30 when `securityContext.appArmorProfile` became generally available.
    /// Targets older than 1.30 are not judged: there the annotation is the only way.
    ///
    /// ## Why is this bad?
    /// The annotation still works, but it is on its way out: the field is the supported API,
    /// the one admission policies and other tools read, and the one that can be set once for the
    /// whole pod. A profile kept only in a deprecated annotation risks being silently dropped when
    /// support ends.
    ///
    /// ## Remediation
    /// Set the same profile in the container's `securityContext.appArmorProfile` (or once in the
    /// pod's `securityContext`) and remove the annotation: `runtime/default` becomes
    /// `type: RuntimeDefault`, `unconfined` becomes `type: Unconfined`, and `localhost/<name>`
    /// becomes `type: Localhost` with `localhostProfile: <name>`. The automatic fix does exactly
    /// that; when the field is already set, or no container has the annotated name, it only
    /// removes the annotation.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    ///   annotations:
    ///     container.apparmor.security.beta.kubernetes.io/nginx: runtime/default
    /// spec:
    ///   containers:
    ///   - name: nginx
    ///     image: nginx:1.27
    /// ```
    pub const RULE = {
        code: "AP004",
        slug: "deprecated-apparmor-annotation",
        title: "AppArmor profile set with the deprecated beta annotation",
        severity: Low,
        category: Deprecation,
        check: Check::PodSpec(check),
        frameworks: [
            nsa::APPARMOR_SELINUX, nsa::UPGRADES, soc2::CC7_1, nist::SI_2,
        ],
        equivalents: [],
        fix: true,
        default: true,
    }
}

const CONTAINER_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The `appArmorProfile` value an annotation value stands for.
fn profile(value: &str) -> Option<serde_json::Value> {
    match value {
        "runtime/default" => Some(json!({"type": "RuntimeDefault"})),
        "unconfined" => Some(json!({"type": "Unconfined"})),
        _ => value
            .strip_prefix("localhost/")
            .filter(|p| !p.is_empty())
            .map(|p| json!({"type": "Localhost", "localhostProfile": p})),
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if out.settings().k8s_version < KubeVersion::new(1, 30) {
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
        let Some(name) = key.strip_prefix(CONTAINER_PREFIX) else {
            continue;
        };
        let value = entry.value.as_str().unwrap_or("");
        let container = containers.iter().find(|c| c.name() == name);
        let subject =
            container.map_or_else(|| format!("container \"{name}\""), Container::describe);
        let mut message = format!(
            "the annotation {key} sets the AppArmor profile of {subject}; \
             AppArmor annotations are deprecated since Kubernetes 1.30"
        );
        let annotation = pod.annotation_path(key);
        let remove_only = |why: &str| {
            Fix::new(format!("remove the annotation ({why})")).remove(annotation.clone())
        };
        let fix = match container {
            None => {
                message.push_str(", and no container has that name");
                remove_only("no such container")
            }
            Some(c) if c.security("appArmorProfile").is_some_and(|n| !n.is_null()) => {
                message.push_str(", and securityContext.appArmorProfile is already set");
                remove_only("securityContext.appArmorProfile already decides")
            }
            Some(c) => match profile(value) {
                None => {
                    let _ = write!(message, ", and `{value}` is not a valid profile");
                    remove_only("its value is not a valid profile")
                }
                Some(p) => {
                    message.push_str("; set securityContext.appArmorProfile instead");
                    Fix::new(format!(
                        "set securityContext.appArmorProfile to {p} and remove the annotation"
                    ))
                    .set(c.path_to(&["securityContext", "appArmorProfile"]), p)
                    .remove(annotation.clone())
                }
            },
        };
        out.report(annotation.clone(), message).with_fix(fix);
    }
}
