//! Workload hygiene: resources, probes, images, service accounts, disruption budgets.
//!
//! The helpers shared by several rules of this folder live here rather than in a file of their
//! own: every other `.rs` file in a rules folder is a rule.

use std::collections::HashMap;

use kspm_model::selector::{LabelSelector, SelectorIndex};
use kspm_model::view::ContainerKind;
use kspm_model::{Container, FieldPath, Index, Node, PodSpec, Resource};

pub mod automount_service_account_token;
pub mod default_namespace;
pub mod default_service_account;
pub mod deprecated_service_account_field;
pub mod duplicate_env_var;
pub mod image_latest_tag;
pub mod image_pull_policy_not_always;
pub mod image_without_digest;
pub mod job_without_ttl;
pub mod low_user_id;
pub mod missing_config_reference;
pub mod missing_cpu_limit;
pub mod missing_cpu_request;
pub mod missing_liveness_probe;
pub mod missing_memory_limit;
pub mod missing_memory_request;
pub mod missing_pod_anti_affinity;
pub mod missing_pod_disruption_budget;
pub mod missing_readiness_probe;
pub mod missing_scale_target;
pub mod missing_security_context;
pub mod missing_service_account;
pub mod naked_pod;
pub mod pdb_blocks_eviction;
pub mod resources_incomplete;
pub mod selector_mismatch;
pub mod too_few_replicas;

pub(crate) static RULES: &[&crate::Rule] = &[
    &missing_cpu_request::RULE,
    &missing_memory_request::RULE,
    &missing_cpu_limit::RULE,
    &missing_memory_limit::RULE,
    &missing_liveness_probe::RULE,
    &missing_readiness_probe::RULE,
    &image_latest_tag::RULE,
    &image_without_digest::RULE,
    &image_pull_policy_not_always::RULE,
    &automount_service_account_token::RULE,
    &default_service_account::RULE,
    &default_namespace::RULE,
    &duplicate_env_var::RULE,
    &missing_pod_disruption_budget::RULE,
    &low_user_id::RULE,
    &missing_security_context::RULE,
    &missing_pod_anti_affinity::RULE,
    &naked_pod::RULE,
    &deprecated_service_account_field::RULE,
    &missing_service_account::RULE,
    &missing_config_reference::RULE,
    &selector_mismatch::RULE,
    &pdb_blocks_eviction::RULE,
    &job_without_ttl::RULE,
    &too_few_replicas::RULE,
    &missing_scale_target::RULE,
    &resources_incomplete::RULE,
];

/// An image reference split the way the kubelet reads it: `[registry[:port]/]path[:tag][@digest]`.
/// A colon before the last `/` belongs to the registry host (`registry:5000/app` has no tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub(crate) fn parse(image: &'a str) -> Self {
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest).filter(|d| !d.is_empty())),
            None => (image, None),
        };
        let name_start = rest.rfind('/').map_or(0, |i| i + 1);
        let tag = rest[name_start..]
            .rfind(':')
            .map(|i| &rest[name_start + i + 1..])
            .filter(|t| !t.is_empty());
        Self { tag, digest }
    }

    /// Whether the reference floats on `latest`: the `latest` tag, or no tag at all (which the
    /// runtime reads as `latest`), and no digest to pin it.
    pub(crate) fn is_latest(&self) -> bool {
        self.digest.is_none() && self.tag.is_none_or(|t| t == "latest")
    }

    /// The pull policy the API server fills in when the field is omitted: `Always` for the
    /// `latest` tag (written or implied), `IfNotPresent` otherwise (Kubernetes' defaulting).
    pub(crate) fn default_pull_policy(&self) -> &'static str {
        if self.tag == Some("latest") || (self.tag.is_none() && self.digest.is_none()) {
            "Always"
        } else {
            "IfNotPresent"
        }
    }
}

/// The non-empty image of a container, if it has one.
pub(crate) fn image<'a>(c: &Container<'a>) -> Option<&'a str> {
    c.image().map(str::trim).filter(|i| !i.is_empty())
}

/// `spec.replicas` of a controller; a missing (or null) field means 1 as the API server
/// defaults it. `None` when the field is not a number (a template placeholder): not judged.
pub(crate) fn replicas(r: &Resource) -> Option<i64> {
    match r.root.at(&["spec", "replicas"]) {
        None => Some(1),
        Some(n) if n.is_null() => Some(1),
        Some(n) => n.as_i64(),
    }
}

/// The PodDisruptionBudgets of the workload's namespace that select its pods, in the index's
/// order. Their selectors are read once a scan and indexed by label: a namespace with
/// thousands of budgets and workloads must not try every pair.
pub(crate) fn pdbs_selecting<'a>(index: &Index<'a>, r: &Resource) -> Vec<&'a Resource> {
    /// Each namespace's budgets' selectors, numbered in the index's order; a missing selector
    /// selects nothing.
    struct PdbSelectors(HashMap<String, SelectorIndex>);
    let by_namespace = index.derived(|index| {
        let mut map: HashMap<String, SelectorIndex> = HashMap::new();
        for pdb in index.all("PodDisruptionBudget") {
            let selector = pdb
                .root
                .at(&["spec", "selector"])
                .map(LabelSelector::from_node);
            map.entry(pdb.join_namespace().to_owned())
                .or_default()
                .push(selector);
        }
        PdbSelectors(map)
    });
    let ns = r.join_namespace();
    let Some(selectors) = by_namespace.0.get(ns) else {
        return Vec::new();
    };
    let hits = selectors.matching(&r.root.at(&["spec", "template", "metadata", "labels"]));
    if hits.is_empty() {
        return Vec::new();
    }
    index
        .in_namespace("PodDisruptionBudget", Some(ns))
        .enumerate()
        .filter(|(i, _)| hits.binary_search(i).is_ok())
        .map(|(_, pdb)| pdb)
        .collect()
}

/// The `minReplicas` of the HorizontalPodAutoscaler that scales `r` (1 when unset, as the API
/// server defaults it), when the scan holds one.
pub(crate) fn hpa_minimum(index: &Index<'_>, r: &Resource) -> Option<i64> {
    index
        .in_namespace("HorizontalPodAutoscaler", Some(r.join_namespace()))
        .find(|hpa| {
            let target = hpa.root.at(&["spec", "scaleTargetRef"]);
            let field = |k: &str| target.and_then(|t| t.get(k)).and_then(Node::as_str);
            field("kind") == Some(r.kind()) && field("name") == Some(r.name())
        })
        .map(|hpa| {
            hpa.root
                .at(&["spec", "minReplicas"])
                .and_then(Node::as_i64)
                .unwrap_or(1)
        })
}

/// A compute resource field (`requests`/`limits`, `cpu`/`memory`) of a container, reported
/// when missing. Ephemeral containers cannot declare resources and are skipped. A missing
/// request is not reported when the matching limit is set: the API server copies the limit
/// into the request.
/// Whether a compute resource field (`requests`/`limits`, `cpu`/`memory`) of a container is
/// missing. Ephemeral containers cannot declare resources and never miss one. A missing request
/// does not count when the matching limit is set: the API server copies the limit into the
/// request.
pub(crate) fn resource_missing(c: &Container<'_>, section: &str, resource: &str) -> bool {
    if c.kind == ContainerKind::Ephemeral {
        return false;
    }
    let set = |section: &str| {
        c.at(&["resources", section, resource])
            .is_some_and(|n| !n.is_null())
    };
    !(set(section) || (section == "requests" && set("limits")))
}

/// The words for one compute resource field: `CPU request`, `memory limit`...
pub(crate) fn resource_words(section: &str, resource: &str) -> &'static str {
    match (resource, section) {
        ("cpu", "requests") => "CPU request",
        ("cpu", _) => "CPU limit",
        (_, "requests") => "memory request",
        _ => "memory limit",
    }
}

/// A compute resource field of a container, reported when missing ([`resource_missing`]).
pub(crate) fn check_resource(
    c: &Container<'_>,
    out: &mut crate::Reporter<'_>,
    section: &str,
    resource: &str,
) {
    if !resource_missing(c, section, resource) {
        return;
    }
    let what = resource_words(section, resource);
    out.report(
        c.path_to(&["resources", section, resource]),
        format!(
            "{} has no {what} (resources.{section}.{resource})",
            c.describe()
        ),
    );
}

/// Whether a container is a regular container of a long-running pod: not an init or ephemeral
/// container, not in a Job or CronJob, and not in a pod whose `restartPolicy` is `Never` or
/// `OnFailure` (a run-to-completion pod).
pub(crate) fn long_running(c: &Container<'_>) -> bool {
    if c.kind != ContainerKind::Regular || matches!(c.pod.resource.kind(), "Job" | "CronJob") {
        return false;
    }
    !matches!(
        c.pod.get("restartPolicy").and_then(Node::as_str),
        Some("Never" | "OnFailure")
    )
}

/// The service account a pod runs as: `serviceAccountName`, else the deprecated
/// `serviceAccount`, else `default`. Returns the name, the path of the field that decides it
/// (`serviceAccountName` when neither is set) and whether a field named it.
pub(crate) fn service_account<'a>(pod: &PodSpec<'a>) -> (&'a str, FieldPath, bool) {
    for field in ["serviceAccountName", "serviceAccount"] {
        if let Some(name) = pod
            .get(field)
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
        {
            return (name, pod.path_to(&[field]), true);
        }
    }
    ("default", pod.path_to(&["serviceAccountName"]), false)
}

/// Whether the service account token is mounted into the pod, as the kubelet decides it: the
/// pod's `automountServiceAccountToken` when set, else the ServiceAccount's (when the scan
/// holds it), else `true`.
pub(crate) fn token_mounted(pod: &PodSpec<'_>, index: &Index<'_>, account: &str) -> bool {
    if let Some(b) = pod
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool)
    {
        return b;
    }
    account_automount(pod, index, account) != Some(false)
}

/// The `automountServiceAccountToken` of the pod's ServiceAccount, when the scan holds it.
pub(crate) fn account_automount(
    pod: &PodSpec<'_>,
    index: &Index<'_>,
    account: &str,
) -> Option<bool> {
    index
        .find(
            "ServiceAccount",
            Some(pod.resource.join_namespace()),
            account,
        )
        .and_then(|sa| sa.root.get("automountServiceAccountToken"))
        .and_then(Node::as_bool)
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn parses_image_references() {
        let r = ImageRef::parse("nginx");
        assert_eq!((r.tag, r.digest, r.is_latest()), (None, None, true));
        let r = ImageRef::parse("registry.example.com:5000/team/app");
        assert_eq!((r.tag, r.is_latest()), (None, true));
        let r = ImageRef::parse("registry.example.com:5000/team/app:1.2");
        assert_eq!((r.tag, r.is_latest()), (Some("1.2"), false));
        let r = ImageRef::parse("nginx:latest");
        assert!(r.is_latest());
        assert_eq!(r.default_pull_policy(), "Always");
        let r = ImageRef::parse("nginx@sha256:abc");
        assert_eq!(
            (r.tag, r.digest, r.is_latest()),
            (None, Some("sha256:abc"), false)
        );
        assert_eq!(r.default_pull_policy(), "IfNotPresent");
        let r = ImageRef::parse("nginx:latest@sha256:abc");
        assert!(!r.is_latest());
        assert_eq!(r.default_pull_policy(), "Always");
    }
}
