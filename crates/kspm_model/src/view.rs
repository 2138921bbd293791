//! Target views: a pod spec or a container, found wherever a kind keeps it.
//!
//! Every peer scanner ends up here: a rule wants to say "check each container" and not care
//! whether the container sits in a Pod, a CronJob or an Argo Rollout. The engine extracts the
//! views once per resource; rules receive them with the field paths already known.

use crate::node::{Node, Pos};
use crate::path::FieldPath;
use crate::resource::Resource;

/// Where the built-in kinds keep their pod spec.
const KNOWN: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("ReplicationController", &["spec", "template"]),
    ("PodTemplate", &["template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
];

/// Kinds that own pods through a template; the pod-level rules judge them.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "PodTemplate",
];

/// A pod spec inside a resource.
#[derive(Debug)]
pub struct PodSpec<'a> {
    pub resource: &'a Resource,
    /// The `spec` mapping of the pod (or pod template).
    pub node: &'a Node,
    pub path: FieldPath,
    /// The pod's (or template's) `metadata`, where AppArmor and seccomp annotations live.
    pub meta: Option<&'a Node>,
    pub meta_path: FieldPath,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub const fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }

    pub const fn noun(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// One container (init, regular or ephemeral) of a pod spec.
#[derive(Debug)]
pub struct Container<'a> {
    pub pod: &'a PodSpec<'a>,
    pub node: &'a Node,
    pub path: FieldPath,
    pub kind: ContainerKind,
}

/// A field with a type the API server would reject: reported as a diagnostic, not judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub pos: Pos,
    pub path: FieldPath,
    pub message: String,
}

/// Finds the pod specs of a resource: known kinds by their documented location, any other kind
/// (custom resources such as Argo Rollouts, Knative Services, OpenKruise CloneSets) when it has
/// a `template.spec.containers` list in one of the usual places.
pub fn pod_specs(resource: &Resource) -> Vec<PodSpec<'_>> {
    let root = &resource.root;
    let known = KNOWN
        .iter()
        .find(|(k, _)| *k == resource.kind())
        .map(|(_, p)| *p);
    let template_path: &[&str] = match known.or_else(|| generic_template(root)) {
        Some(p) => p,
        None => return Vec::new(),
    };
    if resource.kind() == "Pod" {
        return match root.get("spec") {
            Some(spec) if spec.as_map().is_some() => vec![PodSpec {
                resource,
                node: spec,
                path: FieldPath::root().key("spec"),
                meta: root.get("metadata"),
                meta_path: FieldPath::root().key("metadata"),
            }],
            _ => Vec::new(),
        };
    }
    let Some(template) = root.at(template_path) else {
        return Vec::new();
    };
    let base = FieldPath::root().keys(template_path);
    match template.get("spec") {
        Some(spec) if spec.as_map().is_some() => vec![PodSpec {
            resource,
            node: spec,
            path: base.key("spec"),
            meta: template.get("metadata"),
            meta_path: base.key("metadata"),
        }],
        _ => Vec::new(),
    }
}

/// Where a custom resource keeps its pod template, if it has one of the usual shapes.
fn generic_template(root: &Node) -> Option<&'static [&'static str]> {
    const CANDIDATES: &[&[&str]] = &[
        &["spec", "template"],
        &["spec", "jobTemplate", "spec", "template"],
        &["spec", "podTemplate"],
    ];
    CANDIDATES.iter().copied().find(|p| {
        root.at(p)
            .and_then(|t| t.at(&["spec", "containers"]))
            .and_then(Node::as_seq)
            .is_some()
    })
}

impl<'a> PodSpec<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key)
    }

    pub fn at(&self, keys: &[&str]) -> Option<&'a Node> {
        self.node.at(keys)
    }

    /// The path of a field below this pod spec.
    pub fn path_to(&self, keys: &[&str]) -> FieldPath {
        self.path.keys(keys)
    }

    /// The pod-level `securityContext` field.
    pub fn security(&self, key: &str) -> Option<&'a Node> {
        self.node.at(&["securityContext", key])
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta?.at(&["annotations", key])?.as_str()
    }

    pub fn annotation_path(&self, key: &str) -> FieldPath {
        self.meta_path.keys(&["annotations", key])
    }

    /// Every container: init containers first, then regular, then ephemeral, as the kubelet
    /// starts them.
    /// How many containers (init, regular, ephemeral) the spec lists, without building views.
    pub fn container_count(&self) -> usize {
        [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ]
        .iter()
        .filter_map(|k| self.node.get(k.field()).and_then(Node::as_seq))
        .map(<[Node]>::len)
        .sum()
    }

    pub fn containers(&self) -> Vec<Container<'_>> {
        let mut out = Vec::new();
        for kind in [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ] {
            if let Some(items) = self.node.get(kind.field()).and_then(Node::as_seq) {
                for (i, node) in items.iter().enumerate() {
                    if node.as_map().is_some() {
                        out.push(Container {
                            pod: self,
                            node,
                            path: self.path.key(kind.field()).index(i),
                            kind,
                        });
                    }
                }
            }
        }
        out
    }

    /// Volumes with their index and path.
    pub fn volumes(&self) -> impl Iterator<Item = (FieldPath, &'a Node)> + '_ {
        self.node
            .get("volumes")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, v)| (self.path.key("volumes").index(i), v))
    }

    /// Checks the types of the security-relevant fields rules read, so that a value the API
    /// server would reject (`privileged: "yes"`, `containers: {}`) becomes a diagnostic rather
    /// than a silent pass.
    pub fn type_errors(&self) -> Vec<TypeError> {
        let mut errors = Vec::new();
        check_types(self.node, &self.path, POD_FIELDS, &mut errors);
        for kind in [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ] {
            if let Some(items) = self.node.get(kind.field()).and_then(Node::as_seq) {
                for (i, node) in items.iter().enumerate() {
                    let path = self.path.key(kind.field()).index(i);
                    if node.as_map().is_none() {
                        errors.push(TypeError {
                            pos: node.pos,
                            path,
                            message: format!(
                                "expected a container mapping, found {}",
                                node.type_name()
                            ),
                        });
                    } else {
                        check_types(node, &path, CONTAINER_FIELDS, &mut errors);
                    }
                }
            }
        }
        errors
    }
}

impl<'a> Container<'a> {
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("")
    }

    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image").and_then(Node::as_str)
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key)
    }

    pub fn at(&self, keys: &[&str]) -> Option<&'a Node> {
        self.node.at(keys)
    }

    pub fn path_to(&self, keys: &[&str]) -> FieldPath {
        self.path.keys(keys)
    }

    /// The container-level `securityContext` field.
    pub fn security(&self, key: &str) -> Option<&'a Node> {
        self.node.at(&["securityContext", key])
    }

    /// A `securityContext` field with the container value overriding the pod value, as the
    /// kubelet applies them. Returns the node that decides and its path.
    pub fn effective_security(&self, key: &str) -> Option<(&'a Node, FieldPath)> {
        if let Some(node) = self.security(key).filter(|n| !n.is_null()) {
            return Some((node, self.path_to(&["securityContext", key])));
        }
        self.pod
            .security(key)
            .filter(|n| !n.is_null())
            .map(|node| (node, self.pod.path_to(&["securityContext", key])))
    }

    /// "container \"nginx\"" (or "init container ..."), for messages.
    pub fn describe(&self) -> String {
        format!("{} \"{}\"", self.kind.noun(), self.name())
    }
}

#[derive(Clone, Copy)]
enum Ty {
    Bool,
    Int,
    Str,
    Seq,
    Map,
}

impl Ty {
    fn accepts(self, node: &Node) -> bool {
        if node.is_null() {
            return true;
        }
        match self {
            Ty::Bool => node.as_bool().is_some(),
            Ty::Int => node.as_i64().is_some(),
            Ty::Str => node.as_str().is_some(),
            Ty::Seq => node.as_seq().is_some(),
            Ty::Map => node.as_map().is_some(),
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Int => "an integer",
            Ty::Str => "a string",
            Ty::Seq => "a list",
            Ty::Map => "a mapping",
        }
    }
}

const SECURITY_CONTEXT_SHARED: &[(&[&str], Ty)] = &[
    (&["securityContext"], Ty::Map),
    (&["securityContext", "runAsNonRoot"], Ty::Bool),
    (&["securityContext", "runAsUser"], Ty::Int),
    (&["securityContext", "runAsGroup"], Ty::Int),
    (&["securityContext", "seccompProfile"], Ty::Map),
    (&["securityContext", "seccompProfile", "type"], Ty::Str),
    (&["securityContext", "seLinuxOptions"], Ty::Map),
    (&["securityContext", "appArmorProfile"], Ty::Map),
    (&["securityContext", "windowsOptions"], Ty::Map),
    (
        &["securityContext", "windowsOptions", "hostProcess"],
        Ty::Bool,
    ),
];

const POD_FIELDS: &[(&[&str], Ty)] = &[
    (&["hostPID"], Ty::Bool),
    (&["hostIPC"], Ty::Bool),
    (&["hostNetwork"], Ty::Bool),
    (&["hostUsers"], Ty::Bool),
    (&["shareProcessNamespace"], Ty::Bool),
    (&["automountServiceAccountToken"], Ty::Bool),
    (&["serviceAccountName"], Ty::Str),
    (&["containers"], Ty::Seq),
    (&["initContainers"], Ty::Seq),
    (&["ephemeralContainers"], Ty::Seq),
    (&["volumes"], Ty::Seq),
    (&["securityContext", "fsGroup"], Ty::Int),
    (&["securityContext", "sysctls"], Ty::Seq),
    (&["securityContext", "supplementalGroups"], Ty::Seq),
];

const CONTAINER_FIELDS: &[(&[&str], Ty)] = &[
    (&["name"], Ty::Str),
    (&["image"], Ty::Str),
    (&["securityContext", "privileged"], Ty::Bool),
    (&["securityContext", "allowPrivilegeEscalation"], Ty::Bool),
    (&["securityContext", "readOnlyRootFilesystem"], Ty::Bool),
    (&["securityContext", "procMount"], Ty::Str),
    (&["securityContext", "capabilities"], Ty::Map),
    (&["securityContext", "capabilities", "add"], Ty::Seq),
    (&["securityContext", "capabilities", "drop"], Ty::Seq),
    (&["ports"], Ty::Seq),
    (&["env"], Ty::Seq),
    (&["envFrom"], Ty::Seq),
    (&["volumeMounts"], Ty::Seq),
    (&["resources"], Ty::Map),
];

fn check_types(node: &Node, base: &FieldPath, table: &[(&[&str], Ty)], out: &mut Vec<TypeError>) {
    for (keys, ty) in SECURITY_CONTEXT_SHARED.iter().chain(table) {
        if let Some(found) = node.at(keys)
            && !ty.accepts(found)
        {
            out.push(TypeError {
                pos: found.pos,
                path: base.keys(keys),
                message: format!(
                    "`{}` must be {}, found {} ({}); the API server would reject this object",
                    keys.join("."),
                    ty.name(),
                    found.type_name(),
                    found.evidence()
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Source;
    use crate::yaml::{Limits, parse_stream};

    fn resource(src: &str) -> Resource {
        let (mut docs, errors) = parse_stream(src, &Limits::default());
        assert!(errors.is_empty());
        let source = Source {
            file: "t.yaml".into(),
            doc: 0,
            origin: None,
        };
        Resource::from_node(docs.remove(0).root, source).unwrap()
    }

    #[test]
    fn finds_cronjob_containers_with_paths() {
        let r = resource(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: i}]\n          containers: [{name: a}]\n",
        );
        let pods = pod_specs(&r);
        assert_eq!(pods.len(), 1);
        let cs = pods[0].containers();
        let paths: Vec<String> = cs.iter().map(|c| c.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "spec.jobTemplate.spec.template.spec.initContainers[0]",
                "spec.jobTemplate.spec.template.spec.containers[0]"
            ]
        );
    }

    #[test]
    fn finds_custom_resource_templates() {
        let r = resource(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers: [{name: a}]\n",
        );
        assert_eq!(pod_specs(&r).len(), 1);
        let r = resource(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {template: {x: 1}}\n",
        );
        assert!(pod_specs(&r).is_empty());
    }

    #[test]
    fn wrong_types_are_reported() {
        let r = resource(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: \"yes\"\n  containers:\n  - name: a\n    securityContext: {privileged: \"yes\"}\n",
        );
        let pods = pod_specs(&r);
        let errors = pods[0].type_errors();
        let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "spec.hostPID",
                "spec.containers[0].securityContext.privileged"
            ]
        );
        let r =
            resource("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {}\n");
        assert_eq!(pod_specs(&r)[0].type_errors().len(), 1);
    }

    #[test]
    fn container_overrides_pod_security_context() {
        let r = resource(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n  containers:\n  - name: a\n    securityContext: {runAsNonRoot: false}\n  - name: b\n",
        );
        let pods = pod_specs(&r);
        let cs = pods[0].containers();
        assert_eq!(
            cs[0]
                .effective_security("runAsNonRoot")
                .unwrap()
                .0
                .as_bool(),
            Some(false)
        );
        let (node, path) = cs[1].effective_security("runAsNonRoot").unwrap();
        assert_eq!(node.as_bool(), Some(true));
        assert_eq!(path.to_string(), "spec.securityContext.runAsNonRoot");
    }
}
