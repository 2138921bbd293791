//! A Kubernetes object with its identity and where it came from.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::node::Node;

/// Where a resource was read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// The file as the user named it (`-` for stdin, `cluster` for live objects).
    pub file: Arc<str>,
    /// 0-based document index in the file's stream.
    pub doc: usize,
    /// For rendered Helm/Kustomize output: the template the document came from (`# Source:`).
    pub origin: Option<Arc<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// `metadata.uid`, when the object has one (always for objects read from a live cluster).
    pub uid: Option<String>,
    /// `metadata.resourceVersion`, when the object has one.
    pub resource_version: Option<String>,
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Resource {
    /// Shared with every finding on this object (a large scan has hundreds of thousands).
    pub id: Arc<ResourceId>,
    pub root: Node,
    pub source: Source,
    /// See [`Resource::join_namespace`].
    join: Arc<str>,
}

/// Built-in kinds that live outside namespaces; a `namespace` on them is ignored.
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterTrustBundle",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "DeviceClass",
    "FlowSchema",
    "IngressClass",
    "IPAddress",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectReview",
    "SelfSubjectRulesReview",
    "ServiceCIDR",
    "StorageClass",
    "StorageVersionMigration",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
];

/// The namespace under which an object meets others in cross-resource judgements (a Pod and
/// its ServiceAccount, a NetworkPolicy and the pods it selects, a RoleBinding and its Role):
///
/// - its `metadata.namespace` when set;
/// - `""` for cluster-scoped kinds, which meet everything;
/// - otherwise a namespace of its own per directory, `(no namespace: DIR)`. An object whose
///   file names no namespace is not in `default`: it goes wherever it is applied (`kubectl
///   apply -n`, a Helm release, a Kustomize `namespace:`). The files of one directory are
///   applied together, so they share it; objects explicitly in `default`, and namespace-less
///   objects of other directories (other projects, scanned together), do not.
pub fn join_namespace<'a>(kind: &str, namespace: Option<&'a str>, file: &str) -> Cow<'a, str> {
    if CLUSTER_SCOPED_KINDS.contains(&kind) {
        return Cow::Borrowed("");
    }
    match namespace {
        Some(ns) => Cow::Borrowed(ns),
        None => {
            let dir = std::path::Path::new(file)
                .parent()
                .map(|d| d.to_string_lossy())
                .unwrap_or_default();
            if dir.is_empty() {
                Cow::Borrowed("(no namespace)")
            } else {
                Cow::Owned(format!("(no namespace: {dir})"))
            }
        }
    }
}

/// Why a parsed document is not a Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAnObject {
    /// A scalar or a sequence where an object belongs (the type is named).
    #[error("document is {0}, not a mapping with apiVersion and kind")]
    NotAMapping(&'static str),
    /// `apiVersion` or `kind` is absent.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// `apiVersion` or `kind` is empty or not a string.
    #[error("`{field}` must be a non-empty string, found {found}")]
    NotAString {
        field: &'static str,
        found: &'static str,
    },
}

impl Resource {
    /// Builds a resource from a parsed document; `Err` says what makes it not a Kubernetes object.
    pub fn from_node(root: Node, source: Source) -> Result<Self, NotAnObject> {
        if root.as_map().is_none() {
            return Err(NotAnObject::NotAMapping(root.type_name()));
        }
        let field = |name: &'static str| -> Result<String, NotAnObject> {
            match root.get(name) {
                Some(n) => n
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or(NotAnObject::NotAString {
                        field: name,
                        found: n.type_name(),
                    }),
                None => Err(NotAnObject::Missing(name)),
            }
        };
        let api_version = field("apiVersion")?;
        let kind = field("kind")?;
        let meta = root.get("metadata");
        let name = meta
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let meta_str = |key: &str| {
            meta.and_then(|m| m.get(key))
                .and_then(Node::as_str)
                .map(str::to_owned)
        };
        let namespace = meta_str("namespace");
        let join = Arc::from(join_namespace(&kind, namespace.as_deref(), &source.file));
        Ok(Self {
            id: Arc::new(ResourceId {
                api_version,
                kind,
                namespace,
                name,
                uid: meta_str("uid"),
                resource_version: meta_str("resourceVersion"),
            }),
            root,
            source,
            join,
        })
    }

    pub fn kind(&self) -> &str {
        &self.id.kind
    }

    pub fn api_version(&self) -> &str {
        &self.id.api_version
    }

    /// The API group (`apps`, `networking.k8s.io`, or `""` for the core group).
    pub fn group(&self) -> &str {
        self.id.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    pub fn name(&self) -> &str {
        &self.id.name
    }

    pub fn namespace(&self) -> Option<&str> {
        self.id.namespace.as_deref()
    }

    /// The namespace it shares with other objects in cross-resource judgements: see
    /// [`join_namespace`]. Never `default` unless the object says so.
    pub fn join_namespace(&self) -> &str {
        &self.join
    }

    /// Its namespace in words for messages: `namespace shop`, or `its namespace (the manifest
    /// names none)`.
    pub fn namespace_phrase(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("namespace {ns}"),
            None => "its namespace (the manifest names none)".to_owned(),
        }
    }

    /// Whether its kind is a built-in cluster-scoped one.
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED_KINDS.contains(&self.kind())
    }

    pub fn metadata(&self) -> Option<&Node> {
        self.root.get("metadata")
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.root
            .at(&["metadata", "annotations", key])
            .and_then(Node::as_str)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.root
            .at(&["metadata", "labels", key])
            .and_then(Node::as_str)
    }

    pub fn spec(&self) -> Option<&Node> {
        self.root.get("spec")
    }
}

#[cfg(test)]
mod join_tests {
    use super::join_namespace;

    #[test]
    fn a_missing_namespace_is_not_default_and_is_shared_per_directory() {
        assert_eq!(
            join_namespace("Pod", Some("default"), "a/x.yaml"),
            "default"
        );
        assert_eq!(join_namespace("Pod", Some("shop"), "a/x.yaml"), "shop");
        let a = join_namespace("Pod", None, "proj-a/deploy/x.yaml");
        assert_eq!(a, "(no namespace: proj-a/deploy)");
        assert_ne!(a, "default");
        // The files of one directory share it; another directory does not.
        assert_eq!(a, join_namespace("Role", None, "proj-a/deploy/y.yaml"));
        assert_ne!(a, join_namespace("Role", None, "proj-b/deploy/y.yaml"));
        assert_eq!(join_namespace("Pod", None, "-"), "(no namespace)");
        // Cluster-scoped kinds meet everything, whatever their file says.
        assert_eq!(join_namespace("ClusterRole", None, "a/x.yaml"), "");
        assert_eq!(join_namespace("Namespace", Some("x"), "a/x.yaml"), "");
    }
}
