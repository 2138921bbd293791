use super::capabilities_not_dropped::is_windows_pod;
use super::seccomp_unconfined::{
    CONTAINER_ANNOTATION_PREFIX, POD_ANNOTATION, annotations_functional,
};
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that run without an explicit seccomp profile, as the Pod Security
    /// Standards restricted profile forbids: neither the container's
    /// `securityContext.seccompProfile.type` nor the pod's is set (the container's value
    /// overrides the pod's). One finding per container, init and ephemeral containers included;
    /// pods with `spec.os.name: windows` are exempt, as upstream.
    ///
    /// A profile explicitly set to `Unconfined` is reported by `seccomp-unconfined` instead.
    /// For Kubernetes versions before 1.27, a legacy seccomp annotation (`runtime/default`,
    /// `docker/default` or `localhost/...`) also counts as a profile.
    ///
    /// ## Why is this bad?
    /// Unless the kubelet runs with `--seccomp-default`, a container without a profile runs
    /// unconfined: every system call of the kernel is available to it, including the ones behind
    /// most kernel privilege escalations.
    ///
    /// ## Remediation
    /// Set `securityContext.seccompProfile.type: RuntimeDefault` at pod level (it then applies to
    /// every container) or per container; use `Localhost` for a profile tuned to the application.
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
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         image: example/api:2.0
    /// ```
    pub const RULE = {
        code: "PS016",
        slug: "seccomp-profile-missing",
        title: "Container has no seccomp profile",
        severity: Medium,
        category: PodSecurity,
        check: Check::PodSpec(check),
        frameworks: [cis::C5_7_2, pss::RESTRICTED_SECCOMP, nsa::SECCOMP],
        equivalents: ["trivy:KSV-0030", "checkov:CKV_K8S_31", "kubeaudit:seccomp"],
        fix: true,
        default: true,
    }
}

fn legacy_profile(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
    })
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(pod) {
        return;
    }
    let key = ["securityContext", "seccompProfile", "type"];
    let pod_set = pod.at(&key).is_some_and(|n| !n.is_null())
        || (annotations_functional(out) && legacy_profile(pod.annotation(POD_ANNOTATION)));
    if pod_set {
        return;
    }
    let pod_path = pod.path_to(&key);
    for c in pod.containers() {
        let own = c.at(&key).is_some_and(|n| !n.is_null())
            || (annotations_functional(out)
                && legacy_profile(
                    pod.annotation(&format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name())),
                ));
        if own {
            continue;
        }
        out.report(
            c.path_to(&key),
            format!(
                "{} has no seccomp profile, and the pod sets none (seccompProfile.type)",
                c.describe()
            ),
        )
        .with_fix(
            Fix::new("set the pod's seccomp profile type to RuntimeDefault")
                .set(pod_path.clone(), json!("RuntimeDefault")),
        );
    }
}
