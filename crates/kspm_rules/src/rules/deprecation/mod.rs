//! API versions deprecated or removed in the target Kubernetes version.
//!
//! [`LIFECYCLES`] is the one table both `removed-api` and `deprecated-api` read. It follows the
//! Kubernetes deprecated API migration guide and the `+k8s:prerelease-lifecycle-gen` tags of
//! `k8s.io/api` (a beta version without tags is deprecated three minor releases after it was
//! introduced and removed three after that).

use std::fmt::Write as _;

use crate::KubeVersion;

pub mod deprecated_api;
pub mod deprecated_apparmor_annotation;
pub mod deprecated_seccomp_annotation;
pub mod removed_api;

pub(crate) static RULES: &[&crate::Rule] = &[
    &removed_api::RULE,
    &deprecated_api::RULE,
    &deprecated_seccomp_annotation::RULE,
    &deprecated_apparmor_annotation::RULE,
];

/// Where an API version's objects move to.
#[derive(Debug)]
pub(crate) struct Replacement {
    pub api_version: &'static str,
    /// The kind there; empty for the same kind (all but `Endpoints` → `EndpointSlice`).
    pub kind: &'static str,
    /// The Kubernetes 1.x minor version that first served it.
    pub since: u32,
    /// What changes beyond `apiVersion` when moving there.
    pub note: &'static str,
}

/// The lifecycle of one `apiVersion` + `kind` (all Kubernetes 1.x minor versions).
#[derive(Debug)]
pub(crate) struct ApiLifecycle {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub deprecated: u32,
    /// `None`: deprecated, but no release stops serving it yet.
    pub removed: Option<u32>,
    /// Candidates, oldest first; the newest one served by the target version is recommended.
    pub replacements: &'static [Replacement],
    /// Advice when the target serves no replacement.
    pub note: &'static str,
}

impl ApiLifecycle {
    pub(crate) fn deprecated_in(&self) -> KubeVersion {
        KubeVersion::new(1, self.deprecated)
    }

    pub(crate) fn removed_in(&self) -> Option<KubeVersion> {
        self.removed.map(|m| KubeVersion::new(1, m))
    }

    pub(crate) fn is_removed_at(&self, target: KubeVersion) -> bool {
        self.removed_in().is_some_and(|r| r <= target)
    }

    pub(crate) fn is_deprecated_at(&self, target: KubeVersion) -> bool {
        self.deprecated_in() <= target && !self.is_removed_at(target)
    }

    /// The replacement to recommend for `target`: the newest candidate that version serves.
    /// When the target serves none of them (an old target), the oldest candidate, with the
    /// version that introduced it.
    pub(crate) fn replacement_at(&self, target: KubeVersion) -> Option<&'static Replacement> {
        let served = |r: &&'static Replacement| {
            !lookup(r.api_version, self.replacement_kind(r))
                .is_some_and(|l| l.is_removed_at(target))
        };
        self.replacements
            .iter()
            .rev()
            .filter(served)
            .find(|r| KubeVersion::new(1, r.since) <= target)
            .or_else(|| self.replacements.iter().find(served))
    }

    pub(crate) fn replacement_kind(&self, r: &'static Replacement) -> &'static str {
        if r.kind.is_empty() { self.kind } else { r.kind }
    }

    /// What to migrate to at `target` ("use apiVersion networking.k8s.io/v1"), with the note.
    pub(crate) fn advice(&self, target: KubeVersion) -> String {
        match self.replacement_at(target) {
            Some(r) => {
                let mut s = format!("use apiVersion {}", r.api_version);
                if self.replacement_kind(r) != self.kind {
                    let _ = write!(s, " kind {}", r.kind);
                }
                if KubeVersion::new(1, r.since) > target {
                    let _ = write!(s, " (served from Kubernetes 1.{})", r.since);
                }
                if !r.note.is_empty() {
                    s.push_str("; ");
                    s.push_str(r.note);
                }
                s
            }
            None if self.note.is_empty() => "no API replaces it".to_owned(),
            None => self.note.to_owned(),
        }
    }
}

/// The lifecycle entry of an `apiVersion` + `kind`, if it is deprecated at some version.
pub(crate) fn lookup(api_version: &str, kind: &str) -> Option<&'static ApiLifecycle> {
    LIFECYCLES
        .iter()
        .find(|l| l.api_version == api_version && l.kind == kind)
}

/// `repl!["apps/v1" "" 9 "note"]`: apiVersion, kind (empty: the same), first minor, note.
macro_rules! repl {
    ($($api:literal $kind:literal $since:literal $note:expr),* $(,)?) => {
        &[$(Replacement { api_version: $api, kind: $kind, since: $since, note: $note }),*]
    };
}

macro_rules! table {
    ($($api:literal [$($kind:literal),+] deprecated $dep:literal removed $rem:expr, to $repl:expr, $note:expr;)*) => {
        &[$($(ApiLifecycle {
            api_version: $api,
            kind: $kind,
            deprecated: $dep,
            removed: $rem,
            replacements: $repl,
            note: $note,
        },)+)*]
    };
}

const APPS_SELECTOR: &str =
    "apps/v1 requires an explicit spec.selector matching the template labels";
const APPS_V1: &[Replacement] = repl!["apps/v1" "" 9 APPS_SELECTOR];
const PSA: &str = "no API replaces PodSecurityPolicy: enforce the Pod Security Standards with Pod Security \
                   Admission (namespace label pod-security.kubernetes.io/enforce) or a policy engine";
const HPA_NOTE: &str = "its metrics use target objects (targetAverageUtilization becomes target.type Utilization and averageUtilization)";
const INGRESS_NOTE: &str = "networking.k8s.io/v1 requires pathType on every path, backend.service.name and \
                            backend.service.port instead of serviceName and servicePort, and renames spec.backend \
                            to spec.defaultBackend";
const CRD_NOTE: &str =
    "apiextensions.k8s.io/v1 requires a structural schema in every spec.versions[*].schema";
const ENDPOINTSLICE_NOTE: &str =
    "discovery.k8s.io/v1 replaces endpoints[*].topology with zone and nodeName";
const ENDPOINTS_NOTE: &str =
    "an EndpointSlice names its Service in the kubernetes.io/service-name label";
const WEBHOOK_NOTE: &str =
    "admissionregistration.k8s.io/v1 requires sideEffects and admissionReviewVersions";

/// Every deprecated or removed built-in API version from Kubernetes 1.16 to 1.34.
pub(crate) static LIFECYCLES: &[ApiLifecycle] = table! {
    // Removed in 1.16.
    "extensions/v1beta1" ["DaemonSet", "Deployment", "ReplicaSet"] deprecated 8 removed Some(16), to APPS_V1, "";
    "extensions/v1beta1" ["NetworkPolicy"] deprecated 9 removed Some(16),
        to repl!["networking.k8s.io/v1" "" 8 ""], "";
    "extensions/v1beta1" ["PodSecurityPolicy"] deprecated 11 removed Some(16),
        to repl!["policy/v1beta1" "" 10 ""], PSA;
    "apps/v1beta1" ["ControllerRevision", "Deployment", "StatefulSet"] deprecated 8 removed Some(16), to APPS_V1, "";
    "apps/v1beta2" ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]
        deprecated 9 removed Some(16), to repl!["apps/v1" "" 9 ""], "";
    // Removed in 1.22.
    "admissionregistration.k8s.io/v1beta1" ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
        deprecated 16 removed Some(22), to repl!["admissionregistration.k8s.io/v1" "" 16 WEBHOOK_NOTE], "";
    "apiextensions.k8s.io/v1beta1" ["CustomResourceDefinition"] deprecated 16 removed Some(22),
        to repl!["apiextensions.k8s.io/v1" "" 16 CRD_NOTE], "";
    "apiregistration.k8s.io/v1beta1" ["APIService"] deprecated 19 removed Some(22),
        to repl!["apiregistration.k8s.io/v1" "" 10 ""], "";
    "authentication.k8s.io/v1beta1" ["TokenReview"] deprecated 19 removed Some(22),
        to repl!["authentication.k8s.io/v1" "" 6 ""], "";
    "authorization.k8s.io/v1beta1"
        ["LocalSubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview"]
        deprecated 19 removed Some(22), to repl!["authorization.k8s.io/v1" "" 6 ""], "";
    "certificates.k8s.io/v1beta1" ["CertificateSigningRequest"] deprecated 19 removed Some(22),
        to repl!["certificates.k8s.io/v1" "" 19 "certificates.k8s.io/v1 requires spec.signerName"], "";
    "coordination.k8s.io/v1beta1" ["Lease"] deprecated 19 removed Some(22),
        to repl!["coordination.k8s.io/v1" "" 14 ""], "";
    "extensions/v1beta1" ["Ingress"] deprecated 14 removed Some(22),
        to repl!["networking.k8s.io/v1beta1" "" 14 "", "networking.k8s.io/v1" "" 19 INGRESS_NOTE], "";
    "networking.k8s.io/v1beta1" ["Ingress"] deprecated 19 removed Some(22),
        to repl!["networking.k8s.io/v1" "" 19 INGRESS_NOTE], "";
    "networking.k8s.io/v1beta1" ["IngressClass"] deprecated 19 removed Some(22),
        to repl!["networking.k8s.io/v1" "" 19 ""], "";
    "rbac.authorization.k8s.io/v1beta1" ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
        deprecated 17 removed Some(22), to repl!["rbac.authorization.k8s.io/v1" "" 8 ""], "";
    "scheduling.k8s.io/v1beta1" ["PriorityClass"] deprecated 14 removed Some(22),
        to repl!["scheduling.k8s.io/v1" "" 14 ""], "";
    "storage.k8s.io/v1beta1" ["CSIDriver"] deprecated 19 removed Some(22), to repl!["storage.k8s.io/v1" "" 19 ""], "";
    "storage.k8s.io/v1beta1" ["CSINode"] deprecated 17 removed Some(22), to repl!["storage.k8s.io/v1" "" 17 ""], "";
    "storage.k8s.io/v1beta1" ["StorageClass"] deprecated 19 removed Some(22), to repl!["storage.k8s.io/v1" "" 6 ""], "";
    "storage.k8s.io/v1beta1" ["VolumeAttachment"] deprecated 19 removed Some(22),
        to repl!["storage.k8s.io/v1" "" 13 ""], "";
    // Removed in 1.25.
    "batch/v1beta1" ["CronJob"] deprecated 21 removed Some(25), to repl!["batch/v1" "" 21 ""], "";
    "discovery.k8s.io/v1beta1" ["EndpointSlice"] deprecated 21 removed Some(25),
        to repl!["discovery.k8s.io/v1" "" 21 ENDPOINTSLICE_NOTE], "";
    "events.k8s.io/v1beta1" ["Event"] deprecated 19 removed Some(25), to repl!["events.k8s.io/v1" "" 19 ""], "";
    "autoscaling/v2beta1" ["HorizontalPodAutoscaler"] deprecated 22 removed Some(25),
        to repl!["autoscaling/v2beta2" "" 12 HPA_NOTE, "autoscaling/v2" "" 23 HPA_NOTE], "";
    "policy/v1beta1" ["PodDisruptionBudget"] deprecated 21 removed Some(25),
        to repl!["policy/v1" "" 21 "in policy/v1 an empty spec.selector selects every pod of the namespace"], "";
    "policy/v1beta1" ["PodSecurityPolicy"] deprecated 21 removed Some(25), to repl![], PSA;
    "node.k8s.io/v1beta1" ["RuntimeClass"] deprecated 22 removed Some(25), to repl!["node.k8s.io/v1" "" 20 ""], "";
    // Removed in 1.26.
    "flowcontrol.apiserver.k8s.io/v1beta1" ["FlowSchema", "PriorityLevelConfiguration"] deprecated 23 removed Some(26),
        to repl![
            "flowcontrol.apiserver.k8s.io/v1beta2" "" 23 "",
            "flowcontrol.apiserver.k8s.io/v1beta3" "" 26 "",
            "flowcontrol.apiserver.k8s.io/v1" "" 29 "",
        ], "";
    "autoscaling/v2beta2" ["HorizontalPodAutoscaler"] deprecated 23 removed Some(26),
        to repl!["autoscaling/v2" "" 23 ""], "";
    // Removed in 1.27.
    "storage.k8s.io/v1beta1" ["CSIStorageCapacity"] deprecated 24 removed Some(27),
        to repl!["storage.k8s.io/v1" "" 24 ""], "";
    // Removed in 1.29.
    "flowcontrol.apiserver.k8s.io/v1beta2" ["FlowSchema", "PriorityLevelConfiguration"] deprecated 26 removed Some(29),
        to repl!["flowcontrol.apiserver.k8s.io/v1beta3" "" 26 "", "flowcontrol.apiserver.k8s.io/v1" "" 29 ""], "";
    // Removed in 1.32.
    "flowcontrol.apiserver.k8s.io/v1beta3" ["FlowSchema", "PriorityLevelConfiguration"] deprecated 29 removed Some(32),
        to repl!["flowcontrol.apiserver.k8s.io/v1" "" 29 ""], "";
    // Deprecated, not removed yet.
    "v1" ["Endpoints"] deprecated 33 removed None,
        to repl!["discovery.k8s.io/v1" "EndpointSlice" 21 ENDPOINTS_NOTE], "";
    "storage.k8s.io/v1beta1" ["VolumeAttributesClass"] deprecated 34 removed None,
        to repl!["storage.k8s.io/v1" "" 34 ""], "";
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for l in LIFECYCLES {
            assert!(
                seen.insert((l.api_version, l.kind)),
                "duplicate {} {}",
                l.api_version,
                l.kind
            );
            if let Some(r) = l.removed {
                assert!(
                    r > l.deprecated,
                    "{} {}: removed before deprecated",
                    l.api_version,
                    l.kind
                );
            }
            for r in l.replacements {
                assert_ne!(r.api_version, l.api_version);
            }
        }
    }

    #[test]
    fn replacement_follows_the_target() {
        let v = |m| KubeVersion::new(1, m);
        let fs = lookup("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema").unwrap();
        assert_eq!(
            fs.replacement_at(v(24)).unwrap().api_version,
            "flowcontrol.apiserver.k8s.io/v1beta2"
        );
        assert_eq!(
            fs.replacement_at(v(27)).unwrap().api_version,
            "flowcontrol.apiserver.k8s.io/v1beta3"
        );
        assert_eq!(
            fs.replacement_at(v(34)).unwrap().api_version,
            "flowcontrol.apiserver.k8s.io/v1"
        );
        let psp = lookup("extensions/v1beta1", "PodSecurityPolicy").unwrap();
        assert_eq!(
            psp.replacement_at(v(20)).unwrap().api_version,
            "policy/v1beta1"
        );
        assert!(psp.replacement_at(v(25)).is_none());
        let hpa = lookup("autoscaling/v2beta1", "HorizontalPodAutoscaler").unwrap();
        assert_eq!(
            hpa.replacement_at(v(22)).unwrap().api_version,
            "autoscaling/v2beta2"
        );
        assert_eq!(
            hpa.replacement_at(v(26)).unwrap().api_version,
            "autoscaling/v2"
        );
    }
}
