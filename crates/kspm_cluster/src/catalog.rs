//! What kspm reads from a cluster, in the order it reads it. The order matters twice: the
//! cross-resource facts (namespaces, service accounts, disruption budgets) come first so every
//! later object can be judged against them; and owners come before what they own, so a pod
//! created by a ReplicaSet created by a Deployment is judged once, on the Deployment.

use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};

/// When a kind is read, and what it is to the scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Read first and kept for the whole scan: other objects are judged against them.
    Context,
    /// Read next, judged as they arrive, and kept by identity only (kind, namespace, name):
    /// what workloads, Ingresses and routes refer to by name.
    Named,
    /// Workload controllers; their uids are remembered so that what they own is skipped.
    Owner,
    /// Created by controllers (ReplicaSets, Jobs): skipped when their controller was read.
    Owned,
    /// Pods: skipped when their controller was read, judged themselves when standalone.
    Pod,
    /// Everything else, judged on its own.
    Other,
    /// Admission policy kinds the agent watches only to know when the cluster's policies
    /// changed (never judged, never read by a scan as a stage).
    Policy,
}

/// A kind kspm reads: `(group, kind, stage)`. Secrets are read as metadata only.
pub(crate) const KINDS: &[(&str, &str, Stage)] = &[
    // Exactly kspm_model's INDEXED_KINDS (a test checks): the facts rules consult.
    ("", "Namespace", Stage::Context),
    ("", "ServiceAccount", Stage::Context),
    ("policy", "PodDisruptionBudget", Stage::Context),
    ("autoscaling", "HorizontalPodAutoscaler", Stage::Context),
    ("networking.k8s.io", "NetworkPolicy", Stage::Context),
    // Cilium's and Calico's own policies isolate pods too (read where they are installed).
    // Calico's are read through their CRDs, which back projectcalico.org/v3 when Calico's
    // API server is installed: reading both would count each policy twice.
    ("cilium.io", "CiliumNetworkPolicy", Stage::Context),
    (
        "cilium.io",
        "CiliumClusterwideNetworkPolicy",
        Stage::Context,
    ),
    ("crd.projectcalico.org", "NetworkPolicy", Stage::Context),
    (
        "crd.projectcalico.org",
        "GlobalNetworkPolicy",
        Stage::Context,
    ),
    ("rbac.authorization.k8s.io", "Role", Stage::Context),
    ("rbac.authorization.k8s.io", "ClusterRole", Stage::Context),
    ("rbac.authorization.k8s.io", "RoleBinding", Stage::Context),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        Stage::Context,
    ),
    // Exactly kspm_model's NAMED_KINDS (a test checks).
    ("", "ConfigMap", Stage::Named),
    ("", "Secret", Stage::Named),
    ("", "Service", Stage::Named),
    ("batch", "CronJob", Stage::Owner),
    ("apps", "Deployment", Stage::Owner),
    ("apps", "StatefulSet", Stage::Owner),
    ("apps", "DaemonSet", Stage::Owner),
    ("", "ReplicationController", Stage::Owner),
    ("apps", "ReplicaSet", Stage::Owned),
    ("batch", "Job", Stage::Owned),
    ("", "Pod", Stage::Pod),
    ("networking.k8s.io", "Ingress", Stage::Other),
    ("gateway.networking.k8s.io", "HTTPRoute", Stage::Other),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        Stage::Other,
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        Stage::Other,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        Stage::Other,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        Stage::Other,
    ),
    ("", "PersistentVolume", Stage::Other),
    ("", "LimitRange", Stage::Other),
    ("", "ResourceQuota", Stage::Other),
];

/// One kind to read, resolved against what the server serves.
#[derive(Clone, Debug)]
pub(crate) struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub stage: Stage,
}

impl Kind {
    pub fn is_secret(&self) -> bool {
        self.resource.group.is_empty() && self.resource.kind == "Secret"
    }

    /// `plural.group` as RBAC and kubectl name it (`deployments.apps`, `pods`).
    pub fn display(&self) -> String {
        if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        }
    }
}

fn resolve(
    discovery: &Discovery,
    group: &str,
    kind: &str,
) -> Option<(ApiResource, ApiCapabilities)> {
    discovery.get(group)?.recommended_kind(kind)
}

/// The built-in kinds the server serves, in reading order. Kinds it does not serve (an old
/// server without ValidatingAdmissionPolicy) are left out: there is nothing to read.
pub(crate) fn plan(discovery: &Discovery) -> Vec<Kind> {
    KINDS
        .iter()
        .filter_map(|&(group, kind, stage)| {
            let (resource, caps) = resolve(discovery, group, kind)?;
            Some(Kind {
                namespaced: caps.scope == Scope::Namespaced,
                resource,
                stage,
            })
        })
        .collect()
}

/// The CustomResourceDefinition kind, when the server serves it, read at `stage`.
pub(crate) fn crd_kind(discovery: &Discovery, stage: Stage) -> Option<Kind> {
    let (resource, _) = resolve(
        discovery,
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
    )?;
    Some(Kind {
        resource,
        namespaced: false,
        stage,
    })
}

/// Adds the custom resources of `crds` that embed pod templates to `kinds`, among the owners
/// (before the kinds owners hide).
pub(crate) fn add_templated(
    kinds: &mut Vec<Kind>,
    discovery: &Discovery,
    crds: &[serde_json::Value],
) {
    let custom = templated_custom_kinds(discovery, crds);
    let at = kinds
        .iter()
        .position(|k| k.stage > Stage::Owner)
        .unwrap_or(kinds.len());
    kinds.splice(at..at, custom);
}

/// Custom resources whose schema embeds pods (a `containers` array somewhere, as in Argo
/// Rollouts, Knative Services, Tekton Tasks...): they are workloads too, read as owners.
fn templated_custom_kinds(discovery: &Discovery, crds: &[serde_json::Value]) -> Vec<Kind> {
    let mut out = Vec::new();
    for crd in crds {
        let spec = &crd["spec"];
        let Some(group) = spec["group"].as_str() else {
            continue;
        };
        let Some(kind) = spec["names"]["kind"].as_str() else {
            continue;
        };
        let embeds_pods = spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"].as_bool() != Some(false))
            .any(|v| has_containers(&v["schema"]["openAPIV3Schema"], 0));
        if !embeds_pods {
            continue;
        }
        if let Some((resource, caps)) = resolve(discovery, group, kind) {
            out.push(Kind {
                namespaced: caps.scope == Scope::Namespaced,
                resource,
                stage: Stage::Owner,
            });
        }
    }
    out.sort_by_key(Kind::display);
    out
}

/// Whether an OpenAPI schema has a `containers` property that is an array of objects.
fn has_containers(schema: &serde_json::Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let Some(props) = schema["properties"].as_object() else {
        return schema["items"].is_object() && has_containers(&schema["items"], depth + 1);
    };
    if props
        .get("containers")
        .is_some_and(|c| c["type"].as_str() == Some("array"))
    {
        return true;
    }
    props.values().any(|p| has_containers(p, depth + 1))
        || (schema["items"].is_object() && has_containers(&schema["items"], depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_pod_templates_nested_in_a_crd_schema() {
        let rollout = json!({"properties": {"spec": {"properties": {"template": {"properties": {"spec": {
            "properties": {"containers": {"type": "array", "items": {"type": "object"}}}}}}}}}});
        assert!(has_containers(&rollout, 0));
        let steps = json!({"properties": {"spec": {"properties": {"steps": {"type": "array",
            "items": {"properties": {"containers": {"type": "array"}}}}}}}});
        assert!(has_containers(&steps, 0));
        let plain =
            json!({"properties": {"spec": {"properties": {"containers": {"type": "string"}}}}});
        assert!(!has_containers(&plain, 0));
    }

    #[test]
    fn owners_are_read_before_what_they_own() {
        let stage = |k: &str| KINDS.iter().find(|(_, kind, _)| *kind == k).unwrap().2;
        assert!(stage("Deployment") < stage("ReplicaSet"));
        assert!(stage("CronJob") < stage("Job"));
        assert!(stage("ReplicaSet") < stage("Pod"));
        assert!(stage("ServiceAccount") < stage("Deployment"));
        let order: Vec<_> = KINDS.iter().map(|k| k.2).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "KINDS is listed in reading order");
    }

    #[test]
    fn the_facts_rules_consult_are_read_first() {
        let stage = |k: &str| KINDS.iter().find(|(_, kind, _)| *kind == k).unwrap().2;
        let mut context: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.2 == Stage::Context)
            .map(|k| k.1)
            .collect();
        let mut indexed = kspm_model::index::INDEXED_KINDS.to_vec();
        context.sort_unstable();
        context.dedup(); // Kubernetes' and Calico's NetworkPolicy share the kind
        indexed.sort_unstable();
        assert_eq!(context, indexed);
        let mut named: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.2 == Stage::Named)
            .map(|k| k.1)
            .collect();
        let mut expected = kspm_model::index::NAMED_KINDS.to_vec();
        named.sort_unstable();
        expected.sort_unstable();
        assert_eq!(named, expected);
        assert!(stage("ConfigMap") < stage("Deployment"));
    }
}
