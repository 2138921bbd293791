//! The component view: the settings of a control-plane or node component, wherever they are
//! written.
//!
//! CIS sections 1-4 judge the API server, controller manager, scheduler, etcd, kube-proxy and
//! the kubelet by their flags and configuration files. Those flags live in the command of a
//! static pod (`/etc/kubernetes/manifests/*.yaml` on disk, the same pods in `kube-system` on a
//! live cluster), in a DaemonSet (kube-proxy), or in a configuration object
//! (`KubeletConfiguration`, `KubeProxyConfiguration`), also embedded in a ConfigMap as kubeadm
//! keeps kube-proxy's (`kube-system/kube-proxy`, key `config.conf`). `kspm node` adds `NodeFile`
//! objects that describe a file's mode and owner. Rules see one [`ComponentView`] and do not care
//! which.

use std::borrow::Cow;

use kspm_model::view::pod_specs;
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{FieldPath, Node, Resource};

/// What a component rule judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    ApiServer,
    ControllerManager,
    Scheduler,
    Etcd,
    KubeProxy,
    Kubelet,
    /// A file on a node (`kspm node`): its mode, owner and what it is.
    NodeFile,
}

impl Component {
    pub const ALL: [Component; 7] = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
        Component::KubeProxy,
        Component::Kubelet,
        Component::NodeFile,
    ];

    /// The binary name (`kube-apiserver`), or `node files`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
            Component::KubeProxy => "kube-proxy",
            Component::Kubelet => "kubelet",
            Component::NodeFile => "node files",
        }
    }

    /// Where a user would find this component's settings, for "not seen" explanations.
    pub const fn where_found(self) -> &'static str {
        match self {
            Component::ApiServer
            | Component::ControllerManager
            | Component::Scheduler
            | Component::Etcd => {
                "a static pod manifest in /etc/kubernetes/manifests, or the same pod in kube-system"
            }
            Component::KubeProxy => {
                "the kube-proxy DaemonSet in kube-system, its ConfigMap (kube-system/kube-proxy) or a KubeProxyConfiguration file"
            }
            Component::Kubelet => {
                "a KubeletConfiguration file (/var/lib/kubelet/config.yaml) or `kspm node` on the node"
            }
            Component::NodeFile => "`kspm node` run on the node",
        }
    }

    fn from_binary(name: &str) -> Option<Component> {
        match name {
            "kube-apiserver" => Some(Component::ApiServer),
            "kube-controller-manager" => Some(Component::ControllerManager),
            "kube-scheduler" => Some(Component::Scheduler),
            "etcd" => Some(Component::Etcd),
            "kube-proxy" => Some(Component::KubeProxy),
            _ => None,
        }
    }
}

/// One command-line flag, `--name=value` or `--name value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// Without the dashes.
    pub name: String,
    /// `None` for a bare boolean flag (`--profiling`), which means true.
    pub value: Option<String>,
    /// The list item holding the flag.
    pub path: FieldPath,
}

/// A component's settings as found in one resource.
#[derive(Debug)]
pub struct ComponentView<'a> {
    pub resource: &'a Resource,
    pub component: Component,
    /// Command-line flags (static pods, DaemonSets). Empty for configuration objects.
    pub flags: Vec<Flag>,
    /// The configuration object's root (KubeletConfiguration, KubeProxyConfiguration, NodeFile),
    /// parsed from the ConfigMap's text when it is embedded in one.
    pub config: Option<Cow<'a, Node>>,
    /// Where the configuration is: the object's root, or the ConfigMap's data key holding it
    /// (findings about an embedded setting point at that key).
    pub config_at: FieldPath,
    /// Whether the configuration is text inside a ConfigMap (its fields have no path of their own).
    pub embedded: bool,
    /// Where the flags live (the container) or the object root; findings about a missing flag
    /// point here.
    pub path: FieldPath,
}

impl ComponentView<'_> {
    /// The last occurrence of a flag wins, as in the Go flag parser.
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }

    /// A flag's value; a bare flag reads as `true`.
    pub fn flag_value(&self, name: &str) -> Option<&str> {
        self.flag(name)
            .map(|f| f.value.as_deref().unwrap_or("true"))
    }

    /// A comma-separated flag's items (`--authorization-mode=Node,RBAC`).
    pub fn flag_list(&self, name: &str) -> Vec<&str> {
        self.flag_value(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A field of the configuration object.
    pub fn setting(&self, keys: &[&str]) -> Option<&Node> {
        self.config.as_deref()?.at(keys)
    }

    /// The path of a configuration field; for a configuration embedded in a ConfigMap, the data
    /// key that holds it.
    pub fn setting_path(&self, keys: &[&str]) -> FieldPath {
        if self.embedded {
            self.config_at.clone()
        } else {
            self.config_at.keys(keys)
        }
    }

    /// Where a missing flag would go: the container's command.
    fn command_path(&self) -> FieldPath {
        self.path.key("command")
    }

    /// A problem unless every named flag is set to a non-empty value.
    pub fn require(&self, names: &[&str]) -> Option<(FieldPath, String)> {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| self.flag_value(n).is_none_or(str::is_empty))
            .map(|n| format!("--{n}"))
            .collect();
        if missing.is_empty() {
            return None;
        }
        let verb = if missing.len() == 1 { "is" } else { "are" };
        Some((
            self.command_path(),
            format!(
                "{} {verb} not set on {}",
                missing.join(" and "),
                self.component.as_str()
            ),
        ))
    }

    /// A problem when the flag is set at all.
    pub fn forbid(&self, name: &str) -> Option<(FieldPath, String)> {
        self.flag(name).map(|f| {
            (
                f.path.clone(),
                format!("--{name} is set on {}", self.component.as_str()),
            )
        })
    }

    /// A problem unless the flag's effective value (its default when unset) is `want`.
    pub fn expect(&self, name: &str, want: &str, default: &str) -> Option<(FieldPath, String)> {
        let component = self.component.as_str();
        match self.flag(name) {
            Some(f) => {
                let value = f.value.as_deref().unwrap_or("true");
                (!value.eq_ignore_ascii_case(want)).then(|| {
                    (
                        f.path.clone(),
                        format!("{component} runs with --{name}={value}; it should be {want}"),
                    )
                })
            }
            None => (!default.eq_ignore_ascii_case(want)).then(|| {
                (
                    self.command_path(),
                    format!(
                        "--{name} is not set on {component}, so it is {default}; it should be {want}"
                    ),
                )
            }),
        }
    }

    /// A problem unless the comma-separated flag (or its default) includes `item`.
    pub fn list_has(
        &self,
        name: &str,
        item: &str,
        default: &[&str],
    ) -> Option<(FieldPath, String)> {
        let component = self.component.as_str();
        match self.flag(name) {
            Some(f) => (!self.flag_list(name).contains(&item)).then(|| {
                (
                    f.path.clone(),
                    format!("--{name} on {component} does not include {item}"),
                )
            }),
            None => (!default.contains(&item)).then(|| {
                (
                    self.command_path(),
                    format!("--{name} is not set on {component}, so {item} is not included"),
                )
            }),
        }
    }

    /// A problem when the comma-separated flag includes `item`.
    pub fn list_lacks(&self, name: &str, item: &str) -> Option<(FieldPath, String)> {
        let f = self.flag(name)?;
        self.flag_list(name).contains(&item).then(|| {
            (
                f.path.clone(),
                format!("--{name} on {} includes {item}", self.component.as_str()),
            )
        })
    }

    /// A problem unless the flag is set to an integer of at least `min`.
    pub fn at_least(&self, name: &str, min: i64) -> Option<(FieldPath, String)> {
        let component = self.component.as_str();
        match self.flag(name) {
            None => Some((
                self.command_path(),
                format!("--{name} is not set on {component}; it should be at least {min}"),
            )),
            Some(f) => {
                let value = f.value.as_deref().unwrap_or("");
                match value.parse::<i64>() {
                    Ok(n) if n >= min => None,
                    _ => Some((
                        f.path.clone(),
                        format!(
                            "{component} runs with --{name}={value}; it should be at least {min}"
                        ),
                    )),
                }
            }
        }
    }
}

/// The cipher suites CIS Kubernetes Benchmark 1.10 counts as strong for the API server (1.2.29).
pub const CIS_STRONG_CIPHERS_CONTROL_PLANE: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// The cipher suites CIS Kubernetes Benchmark 1.10 counts as strong for the kubelet (4.2.12).
pub const CIS_STRONG_CIPHERS_KUBELET: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
];

/// The TLS 1.2 cipher suites Go enables when a component sets none, for the Go release that
/// builds Kubernetes `minor`: from Go 1.22 (Kubernetes 1.30) RSA key exchange is off by default;
/// before, the RSA and 3DES suites were on too.
pub fn go_default_ciphers(minor: u32) -> &'static [&'static str] {
    const GO_1_22: &[&str] = &[
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    ];
    const GO_1_21: &[&str] = &[
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    ];
    if minor >= 30 { GO_1_22 } else { GO_1_21 }
}

/// The suites of `configured` (or, when it is `None`, of Go's defaults for Kubernetes
/// `minor`) that are not in `strong`; the message says which and whether they are defaults.
pub fn weak_ciphers(configured: Option<Vec<&str>>, strong: &[&str], minor: u32) -> Option<String> {
    let (suites, defaults) = match configured {
        Some(list) => (list, false),
        None => (go_default_ciphers(minor).to_vec(), true),
    };
    let weak: Vec<&str> = suites.into_iter().filter(|s| !strong.contains(s)).collect();
    if weak.is_empty() {
        return None;
    }
    Some(if defaults {
        format!(
            "no cipher suites are set, so Go's defaults for Kubernetes 1.{minor} apply, and they include suites outside CIS's strong list: {}",
            weak.join(", ")
        )
    } else {
        format!(
            "cipher suites outside CIS's strong list: {}",
            weak.join(", ")
        )
    })
}

/// Control-plane pods live in kube-system; a static pod manifest on disk often has no namespace.
fn in_system_namespace(r: &Resource) -> bool {
    matches!(r.namespace(), None | Some("kube-system"))
}

/// The image's repository name without registry, tag or digest (`registry.k8s.io/etcd:3.5` → `etcd`).
fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// Finds the components a resource configures. Application workloads that happen to run etcd
/// (a chart's own etcd cluster) are not the cluster's etcd: only Pods in kube-system (or without
/// a namespace, as static pod files are) count for the control plane, and kube-proxy also as a
/// DaemonSet there.
pub fn components(resource: &Resource) -> Vec<ComponentView<'_>> {
    let group = resource.group();
    match resource.kind() {
        "KubeletConfiguration" if group == "kubelet.config.k8s.io" => {
            return vec![config_view(resource, Component::Kubelet)];
        }
        "KubeProxyConfiguration" if group == "kubeproxy.config.k8s.io" => {
            return vec![config_view(resource, Component::KubeProxy)];
        }
        "NodeFile" if group == "node.kspm.io" => {
            return vec![config_view(resource, Component::NodeFile)];
        }
        "ConfigMap" if group.is_empty() && in_system_namespace(resource) => {
            return embedded_configs(resource);
        }
        "Pod" | "DaemonSet" if in_system_namespace(resource) => {}
        _ => return Vec::new(),
    }
    let mut out = Vec::new();
    for pod in pod_specs(resource) {
        for c in pod.containers() {
            let Some((component, flags)) = container_flags(c.node, &c.path) else {
                continue;
            };
            if resource.kind() == "DaemonSet" && component != Component::KubeProxy {
                continue;
            }
            out.push(ComponentView {
                resource,
                component,
                flags,
                config: None,
                config_at: FieldPath::root(),
                embedded: false,
                path: c.path.clone(),
            });
        }
    }
    out
}

fn config_view(resource: &Resource, component: Component) -> ComponentView<'_> {
    ComponentView {
        resource,
        component,
        flags: Vec::new(),
        config: Some(Cow::Borrowed(&resource.root)),
        config_at: FieldPath::root(),
        embedded: false,
        path: FieldPath::root(),
    }
}

/// Component configurations kept as text in a kube-system ConfigMap: kubeadm's
/// `kube-system/kube-proxy` holds the `KubeProxyConfiguration` its DaemonSet reads with
/// `--config` (key `config.conf`). Recognised by what the text is (its `apiVersion` and `kind`),
/// not by the ConfigMap's name. Text that does not parse is not judged.
fn embedded_configs(resource: &Resource) -> Vec<ComponentView<'_>> {
    let Some(data) = resource.root.get("data").and_then(Node::as_map) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in data {
        let Some(text) = entry.value.as_str() else {
            continue;
        };
        if !text.contains("KubeProxyConfiguration") {
            continue;
        }
        let (docs, errors) = parse_stream(text, &Limits::default());
        if !errors.is_empty() {
            continue;
        }
        for doc in docs {
            let root = doc.root;
            let kind = root.get("kind").and_then(Node::as_str);
            let api = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
            if kind == Some("KubeProxyConfiguration") && api.starts_with("kubeproxy.config.k8s.io/")
            {
                let at = FieldPath::root().keys(&["data", entry.key.as_ref()]);
                out.push(ComponentView {
                    resource,
                    component: Component::KubeProxy,
                    flags: Vec::new(),
                    config: Some(Cow::Owned(root)),
                    config_at: at.clone(),
                    embedded: true,
                    path: at,
                });
            }
        }
    }
    out
}

/// The component a container runs and its flags, from `command` and `args`. Handles the binary
/// named by path, `hyperkube <component>`, `sh -c "<command line>"`, and images whose entrypoint
/// is the component (no `command`, flags in `args`).
fn container_flags(container: &Node, path: &FieldPath) -> Option<(Component, Vec<Flag>)> {
    // (text, path) of every word, in order.
    let mut words: Vec<(String, FieldPath)> = Vec::new();
    for field in ["command", "args"] {
        for (i, item) in container
            .get(field)
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(text) = item.as_str() else { continue };
            let p = path.key(field).index(i);
            words.push((text.to_owned(), p));
        }
    }
    // `sh -c "kube-apiserver --a=b ..."`: split the script into words, all at the script's path.
    if words.len() >= 3
        && matches!(binary(&words[0].0), "sh" | "bash" | "ash")
        && words[1].0 == "-c"
    {
        let (script, p) = words[2].clone();
        words = script
            .split_whitespace()
            .map(|w| (w.to_owned(), p.clone()))
            .collect();
    }
    let has_command = container
        .get("command")
        .and_then(Node::as_seq)
        .is_some_and(|s| !s.is_empty());
    let (component, rest) = if has_command {
        let first = binary(&words.first()?.0);
        if first == "hyperkube" {
            (Component::from_binary(binary(&words.get(1)?.0))?, 2)
        } else {
            (Component::from_binary(first)?, 1)
        }
    } else {
        let image = container.get("image").and_then(Node::as_str)?;
        (Component::from_binary(image_name(image))?, 0)
    };
    let mut flags = Vec::new();
    let mut i = rest;
    while i < words.len() {
        let (word, p) = &words[i];
        i += 1;
        let Some(body) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            continue;
        };
        if body.is_empty() {
            continue;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.trim_matches('"').to_owned())),
            None => match words.get(i) {
                Some((next, _)) if !next.starts_with('-') => {
                    i += 1;
                    (body.to_owned(), Some(next.clone()))
                }
                _ => (body.to_owned(), None),
            },
        };
        flags.push(Flag {
            name,
            value,
            path: p.clone(),
        });
    }
    Some((component, flags))
}

fn binary(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspm_model::yaml::{Limits, parse_stream};
    use kspm_model::{Node, Source};

    fn resource(text: &str) -> Resource {
        let (docs, errors) = parse_stream(text, &Limits::default());
        assert!(errors.is_empty());
        let root: Node = docs.into_iter().next().unwrap().root;
        Resource::from_node(
            root,
            Source {
                file: "t.yaml".into(),
                doc: 0,
                origin: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn static_pod_flags_in_every_spelling() {
        let r = resource(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver-cp, namespace: kube-system}\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.30.0\n    command:\n    - /usr/local/bin/kube-apiserver\n    - --profiling=false\n    - --audit-log-path\n    - /var/log/audit.log\n    - --anonymous-auth\n    - --authorization-mode=Node,RBAC\n",
        );
        let views = components(&r);
        assert_eq!(views.len(), 1);
        let v = &views[0];
        assert_eq!(v.component, Component::ApiServer);
        assert_eq!(v.flag_value("profiling"), Some("false"));
        assert_eq!(v.flag_value("audit-log-path"), Some("/var/log/audit.log"));
        assert_eq!(v.flag_value("anonymous-auth"), Some("true"));
        assert_eq!(v.flag_list("authorization-mode"), vec!["Node", "RBAC"]);
        assert_eq!(
            v.flag("profiling").unwrap().path.to_string(),
            "spec.containers[0].command[1]"
        );
    }

    #[test]
    fn entrypoint_images_shell_scripts_and_application_etcd() {
        let by_image = resource(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.12-0\n    args: [--client-cert-auth=true]\n",
        );
        assert_eq!(components(&by_image)[0].component, Component::Etcd);
        assert_eq!(
            components(&by_image)[0].flag_value("client-cert-auth"),
            Some("true")
        );
        let shell = resource(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: s, namespace: kube-system}\nspec:\n  containers:\n  - name: s\n    image: x\n    command: [/bin/sh, -c, \"kube-scheduler --profiling=true --bind-address=0.0.0.0\"]\n",
        );
        let v = &components(&shell)[0];
        assert_eq!(v.component, Component::Scheduler);
        assert_eq!(v.flag_value("bind-address"), Some("0.0.0.0"));
        // An application's own etcd in its namespace is not the cluster's etcd.
        let app = resource(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: etcd, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: etcd\n        image: bitnami/etcd:3.5\n",
        );
        assert!(components(&app).is_empty());
    }

    #[test]
    fn kube_proxy_configuration_embedded_in_a_kube_system_config_map() {
        let cm = |ns: &str, text: &str| {
            resource(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: kube-proxy, namespace: {ns}}}\ndata:\n  config.conf: {text:?}\n  other: plain text\n"
            ))
        };
        let kubeadm = cm(
            "kube-system",
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: 0.0.0.0:10249\n",
        );
        let views = components(&kubeadm);
        assert_eq!(views.len(), 1);
        let v = &views[0];
        assert_eq!(v.component, Component::KubeProxy);
        assert_eq!(
            v.setting(&["metricsBindAddress"]).and_then(Node::as_str),
            Some("0.0.0.0:10249")
        );
        assert_eq!(
            v.setting_path(&["metricsBindAddress"]).to_string(),
            "data[\"config.conf\"]"
        );
        // Another namespace, text that only mentions the kind, or text that does not parse: none.
        assert!(
            components(&cm(
                "shop",
                "kind: KubeProxyConfiguration\napiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
            ))
            .is_empty()
        );
        assert!(
            components(&cm(
                "kube-system",
                "# a KubeProxyConfiguration lives elsewhere\n"
            ))
            .is_empty()
        );
        assert!(
            components(&cm(
                "kube-system",
                "kind: KubeProxyConfiguration\n  : [unclosed\n"
            ))
            .is_empty()
        );
    }
}
