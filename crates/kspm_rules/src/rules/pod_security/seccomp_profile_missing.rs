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
    /// A `type` that is not a seccomp profile type at all (anything but `RuntimeDefault`,
    /// `Localhost` and `Unconfined`, e.g. a typo) sets no profile either: the restricted profile
    /// rejects it, and so does the API server. It is reported where it is written, at pod or
    /// container level. A profile explicitly set to `Unconfined` is reported by
    /// `seccomp-unconfined` instead.
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
        frameworks: [
            cis::C5_7_2, pss::RESTRICTED_SECCOMP, nsa::SECCOMP, pci::R2_2_6, iso27001::A8_9,
            nist::CM_6,
        ],
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

/// The seccomp profile types of the API; any other string is not a profile.
const PROFILE_TYPES: &[&str] = &["RuntimeDefault", "Localhost", "Unconfined"];

/// What a `seccompProfile.type` field (or a legacy annotation) says about a profile.
#[derive(Clone, Copy)]
enum Profile<'a> {
    /// Not set (missing or null).
    Unset,
    /// A profile type; also a non-string value, which the API server rejects and is not judged.
    Set,
    /// A string that is no profile type.
    Invalid(&'a str),
}

fn profile(node: Option<&Node>, legacy: impl FnOnce() -> bool) -> Profile<'_> {
    match node.filter(|n| !n.is_null()) {
        None if legacy() => Profile::Set,
        None => Profile::Unset,
        Some(n) => match n.as_str() {
            Some(t) if !PROFILE_TYPES.contains(&t) => Profile::Invalid(t),
            _ => Profile::Set,
        },
    }
}

fn set_runtime_default(path: &FieldPath, what: &str) -> Fix {
    Fix::new(format!("set {what} seccomp profile type to RuntimeDefault"))
        .set(path.clone(), json!("RuntimeDefault"))
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    if is_windows_pod(pod) {
        return;
    }
    let key = ["securityContext", "seccompProfile", "type"];
    let functional = annotations_functional(out);
    let pod_path = pod.path_to(&key);
    let pod_profile = profile(pod.at(&key), || {
        functional && legacy_profile(pod.annotation(POD_ANNOTATION))
    });
    if let Profile::Invalid(t) = pod_profile {
        out.report(
            pod_path.clone(),
            format!(
                "the pod-level seccompProfile.type \"{t}\" is not a seccomp profile type (RuntimeDefault, Localhost)"
            ),
        )
        .with_fix(set_runtime_default(&pod_path, "the pod's"));
    }
    for c in pod.containers() {
        let own = profile(c.at(&key), || {
            functional
                && legacy_profile(
                    pod.annotation(&format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name())),
                )
        });
        match (own, pod_profile) {
            (Profile::Set, _) | (Profile::Unset, Profile::Set | Profile::Invalid(_)) => {}
            (Profile::Invalid(t), _) => {
                let path = c.path_to(&key);
                out.report(
                    path.clone(),
                    format!(
                        "{} sets seccompProfile.type \"{t}\", which is not a seccomp profile type (RuntimeDefault, Localhost)",
                        c.describe()
                    ),
                )
                .with_fix(set_runtime_default(&path, "the container's"));
            }
            (Profile::Unset, Profile::Unset) => {
                out.report(
                    c.path_to(&key),
                    format!(
                        "{} has no seccomp profile, and the pod sets none (seccompProfile.type)",
                        c.describe()
                    ),
                )
                .with_fix(set_runtime_default(&pod_path, "the pod's"));
            }
        }
    }
}
