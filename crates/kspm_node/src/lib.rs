//! `kspm node`: what a node shows about its own configuration, as scan inputs.
//!
//! The same rules that judge static pods and `KubeletConfiguration` objects in a repository
//! judge them on the node: the static pod manifests are scanned as files, the kubelet's
//! configuration file is scanned with its command-line flags folded in (flags win, as in the
//! kubelet), and every file the CIS Benchmark names (sections 1.1 and 4.1) is described as a
//! `NodeFile` object (path, role, mode, owner) for the file rules. Everything is read under a
//! root directory, so tests point it at a tree built in a temporary directory.
//!
//! Distributions that keep the control plane elsewhere (k3s, managed services) are detected
//! from the paths they leave, and the components that cannot be seen are reported as such
//! ([`NodeInputs::not_seen`]) so that their controls are not applicable, never failed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Diagnostic, Node};
use kspm_rules::Component;
use serde_json::{Map, Value as Json, json};

use kspm_engine::source::Input;

/// What the node looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Static pod manifests in /etc/kubernetes/manifests.
    Kubeadm,
    K3s,
    Rke2,
    Eks,
    Gke,
    Aks,
    /// Nothing recognisable.
    Unknown,
}

impl Distribution {
    pub const fn as_str(self) -> &'static str {
        match self {
            Distribution::Kubeadm => "kubeadm-style (static pod manifests)",
            Distribution::K3s => "k3s",
            Distribution::Rke2 => "RKE2",
            Distribution::Eks => "Amazon EKS",
            Distribution::Gke => "Google GKE",
            Distribution::Aks => "Azure AKS",
            Distribution::Unknown => "unknown",
        }
    }
}

/// The scan inputs a node yields, and what it could not show.
#[derive(Debug)]
pub struct NodeInputs {
    pub distribution: Distribution,
    pub inputs: Vec<Input>,
    pub not_seen: Vec<(Component, String)>,
    /// Files that exist but could not be read.
    pub diagnostics: Vec<Diagnostic>,
}

const MANIFEST_DIRS: &[&str] = &[
    "etc/kubernetes/manifests",
    "var/lib/rancher/rke2/agent/pod-manifests",
];

const KUBELET_CONFIGS: &[&str] = &[
    "var/lib/kubelet/config.yaml",
    "etc/kubernetes/kubelet/kubelet-config.json",
    "home/kubernetes/kubelet-config.yaml",
    "etc/kubernetes/kubelet-config.yaml",
];

const KUBELET_FLAG_FILES: &[&str] = &[
    "var/lib/kubelet/kubeadm-flags.env",
    "etc/default/kubelet",
    "etc/sysconfig/kubelet",
];

const KUBELET_UNIT_DIRS: &[&str] = &[
    "etc/systemd/system/kubelet.service.d",
    "usr/lib/systemd/system/kubelet.service.d",
    "lib/systemd/system/kubelet.service.d",
];

const KUBELET_UNITS: &[&str] = &[
    "etc/systemd/system/kubelet.service",
    "usr/lib/systemd/system/kubelet.service",
    "lib/systemd/system/kubelet.service",
];

/// Node files named by the CIS Benchmark, by fixed path.
const FIXED_FILES: &[(&str, &str)] = &[
    ("etc/kubernetes/admin.conf", "admin-kubeconfig"),
    ("etc/kubernetes/super-admin.conf", "admin-kubeconfig"),
    ("etc/kubernetes/scheduler.conf", "scheduler-kubeconfig"),
    (
        "etc/kubernetes/controller-manager.conf",
        "controller-manager-kubeconfig",
    ),
    ("etc/kubernetes/kubelet.conf", "kubelet-kubeconfig"),
    (
        "var/lib/kube-proxy/kubeconfig.conf",
        "kube-proxy-kubeconfig",
    ),
    (
        "etc/kubernetes/kube-proxy.kubeconfig",
        "kube-proxy-kubeconfig",
    ),
];

fn exists(root: &Path, rel: &str) -> bool {
    root.join(rel).exists()
}

/// Where a node path (absolute, as flags name it) lives under `root`.
fn under(root: &Path, node_path: &str) -> PathBuf {
    root.join(node_path.trim_start_matches('/'))
}

fn detect(root: &Path, has_manifests: bool) -> Distribution {
    if exists(root, "etc/rancher/rke2") || exists(root, "var/lib/rancher/rke2") {
        Distribution::Rke2
    } else if exists(root, "etc/rancher/k3s") || exists(root, "var/lib/rancher/k3s") {
        Distribution::K3s
    } else if has_manifests {
        Distribution::Kubeadm
    } else if exists(root, "etc/eks") || exists(root, "etc/kubernetes/kubelet/kubelet-config.json")
    {
        Distribution::Eks
    } else if exists(root, "home/kubernetes/kubelet-config.yaml") {
        Distribution::Gke
    } else if exists(root, "etc/kubernetes/azure.json") {
        Distribution::Aks
    } else {
        Distribution::Unknown
    }
}

/// Reads what `root` shows of a node.
pub fn collect(root: &Path) -> NodeInputs {
    let mut out = NodeInputs {
        distribution: Distribution::Unknown,
        inputs: Vec::new(),
        not_seen: Vec::new(),
        diagnostics: Vec::new(),
    };
    let accounts = Accounts::read(root);
    let mut files: Vec<(PathBuf, String, &'static str)> = Vec::new();

    // Static pod manifests.
    let mut manifests = Vec::new();
    for dir in MANIFEST_DIRS {
        let path = root.join(dir);
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_manifest = [".yaml", ".yml", ".json"].iter().any(|x| name.ends_with(x));
            if !is_manifest {
                continue;
            }
            let role = if name.contains("kube-apiserver") {
                Some("apiserver-manifest")
            } else if name.contains("kube-controller-manager") {
                Some("controller-manager-manifest")
            } else if name.contains("kube-scheduler") {
                Some("scheduler-manifest")
            } else if name.contains("etcd") {
                Some("etcd-manifest")
            } else {
                None
            };
            if let Some(role) = role {
                files.push((p.clone(), node_path(root, &p), role));
            }
            manifests.push(p);
        }
    }
    out.distribution = detect(root, !manifests.is_empty());
    for m in &manifests {
        out.inputs.push(Input::Path(m.clone()));
    }

    // etcd's data directory: from its manifest's --data-dir, else the default.
    let data_dir = manifests
        .iter()
        .filter(|p| p.to_string_lossy().contains("etcd"))
        .find_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']'))
                .find_map(|w| w.strip_prefix("--data-dir="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "/var/lib/etcd".to_owned());
    if !manifests.is_empty() || exists(root, "var/lib/etcd") {
        let p = under(root, &data_dir);
        if p.is_dir() {
            files.push((p, data_dir.clone(), "etcd-data-dir"));
        }
    }

    for (rel, role) in FIXED_FILES {
        let p = root.join(rel);
        if p.exists() {
            files.push((p, format!("/{rel}"), role));
        }
    }
    walk_pki(root, &root.join("etc/kubernetes/pki"), &mut files);
    if let Ok(entries) = std::fs::read_dir(root.join("etc/cni/net.d")) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                let np = node_path(root, &p);
                files.push((p, np, "cni-config"));
            }
        }
    }

    // The kubelet: its flags, its service files, its configuration.
    let kubelet = kubelet_flags(root, &mut files);
    let config_path = kubelet
        .flags
        .iter()
        .rev()
        .find(|(k, _)| k == "config")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            KUBELET_CONFIGS
                .iter()
                .find(|c| exists(root, c))
                .map(|c| format!("/{c}"))
        });
    let mut client_ca = None;
    match &config_path {
        Some(cp) => {
            let p = under(root, cp);
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    files.push((p.clone(), cp.clone(), "kubelet-config"));
                    let overrides = flag_overrides(&kubelet.flags);
                    let (docs, errors) = parse_stream(&text, &Limits::default());
                    let parsed = docs.into_iter().next().map(|d| d.root);
                    client_ca = parsed
                        .as_ref()
                        .and_then(|r| r.at(&["authentication", "x509", "clientCAFile"]))
                        .and_then(Node::as_str)
                        .map(str::to_owned);
                    if overrides.is_empty() || !errors.is_empty() || parsed.is_none() {
                        // Scanned as it is: positions point into the real file, and parse
                        // errors are reported like any other input's.
                        out.inputs.push(Input::Path(p));
                    } else {
                        let mut json = parsed.map(|r| r.to_json()).unwrap_or_else(|| json!({}));
                        apply_overrides(&mut json, &overrides);
                        out.inputs.push(Input::Text {
                            name: format!("{} + kubelet flags ({})", p.display(), kubelet.source),
                            text: serde_json::to_string_pretty(&json).unwrap_or_default(),
                        });
                    }
                }
                Err(e) => out.diagnostics.push(Diagnostic::error(
                    p.display().to_string(),
                    format!("cannot read the kubelet configuration: {e}"),
                )),
            }
        }
        None if !kubelet.flags.is_empty() => {
            // No configuration file: the kubelet runs on its flag defaults, which are the
            // insecure ones (anonymous access, AlwaysAllow, read-only port 10255).
            let mut json = json!({
                "apiVersion": "kubelet.config.k8s.io/v1beta1",
                "kind": "KubeletConfiguration",
                "authentication": {"anonymous": {"enabled": true}},
                "authorization": {"mode": "AlwaysAllow"},
                "readOnlyPort": 10255,
            });
            apply_overrides(&mut json, &flag_overrides(&kubelet.flags));
            client_ca = json
                .pointer("/authentication/x509/clientCAFile")
                .and_then(Json::as_str)
                .map(str::to_owned);
            out.inputs.push(Input::Text {
                name: format!("kubelet flags ({}; no configuration file)", kubelet.source),
                text: serde_json::to_string_pretty(&json).unwrap_or_default(),
            });
        }
        None => out.not_seen.push((
            Component::Kubelet,
            format!(
                "no kubelet configuration or flags on this node (looked for {}, the kubelet's command line and its systemd unit)",
                KUBELET_CONFIGS.iter().map(|c| format!("/{c}")).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
    if let Some(ca) = client_ca {
        let p = under(root, &ca);
        if p.exists() {
            files.push((p, ca, "client-ca"));
        }
    }

    // Node files as NodeFile objects.
    let mut text = String::new();
    for (real, shown, role) in &files {
        match std::fs::metadata(real) {
            Ok(meta) => {
                let doc = json!({
                    "apiVersion": "node.kspm.io/v1",
                    "kind": "NodeFile",
                    "metadata": {"name": shown},
                    "spec": {
                        "role": role,
                        "type": if meta.is_dir() { "directory" } else { "file" },
                        "mode": format!("{:04o}", meta.permissions().mode() & 0o7777),
                        "uid": meta.uid(),
                        "gid": meta.gid(),
                        "owner": accounts.users.get(&meta.uid()),
                        "group": accounts.groups.get(&meta.gid()),
                    },
                });
                let _ = writeln!(text, "---\n{doc}");
            }
            Err(e) => out.diagnostics.push(Diagnostic::error(
                real.display().to_string(),
                format!("cannot read its mode and owner: {e}"),
            )),
        }
    }
    if !text.is_empty() {
        out.inputs.push(Input::Text {
            name: "node files (stat)".to_owned(),
            text,
        });
    }
    explain_unseen(&mut out, !manifests.is_empty());
    out
}

/// A path under `root` as the node sees it.
fn node_path(root: &Path, p: &Path) -> String {
    match p.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => p.display().to_string(),
    }
}

fn walk_pki(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, String, &'static str)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    files.push((dir.to_path_buf(), node_path(root, dir), "pki"));
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        // Symbolic links are not followed: a link out of the tree is not a PKI file.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk_pki(root, &p, files);
        } else if meta.is_file() {
            let name = p.to_string_lossy();
            let role = if name.ends_with(".key") {
                "pki-key"
            } else if name.ends_with(".crt") {
                "pki-certificate"
            } else {
                "pki"
            };
            files.push((p.clone(), node_path(root, &p), role));
        }
    }
}

/// User and group names by id, from the node's /etc/passwd and /etc/group.
struct Accounts {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Accounts {
    fn read(root: &Path) -> Self {
        let table = |rel: &str| -> HashMap<u32, String> {
            std::fs::read_to_string(root.join(rel))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut parts = l.split(':');
                    let name = parts.next()?;
                    let id = parts.nth(1)?.parse().ok()?;
                    Some((id, name.to_owned()))
                })
                .collect()
        };
        Self {
            users: table("etc/passwd"),
            groups: table("etc/group"),
        }
    }
}

struct KubeletFlags {
    /// (name without dashes, value); bare flags read `true`.
    flags: Vec<(String, String)>,
    /// Where they came from, for the report.
    source: String,
}

/// The kubelet's flags: from its running process when one is visible under `root/proc`,
/// otherwise from the files systemd assembles its command line from. Also records the
/// service files for the file rules.
fn kubelet_flags(root: &Path, files: &mut Vec<(PathBuf, String, &'static str)>) -> KubeletFlags {
    for rel in KUBELET_UNITS {
        let p = root.join(rel);
        if p.is_file() {
            files.push((p, format!("/{rel}"), "kubelet-service"));
        }
    }
    let mut unit_texts = Vec::new();
    for dir in KUBELET_UNIT_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "conf") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    unit_texts.push(t);
                }
                let np = node_path(root, &p);
                files.push((p, np, "kubelet-service"));
            }
        }
    }
    if let Some((pid, words)) = running_kubelet(root) {
        return KubeletFlags {
            flags: parse_flags(words.iter().map(String::as_str)),
            source: format!("/proc/{pid}/cmdline"),
        };
    }
    let mut sources = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for rel in KUBELET_FLAG_FILES {
        if let Ok(t) = std::fs::read_to_string(root.join(rel)) {
            sources.push(format!("/{rel}"));
            words.extend(shell_words(&t));
        }
    }
    for t in &unit_texts {
        for line in t.lines() {
            let line = line.trim();
            if let Some(cmd) = line.strip_prefix("ExecStart=") {
                words.extend(shell_words(cmd));
            } else if let Some(env) = line.strip_prefix("Environment=") {
                words.extend(shell_words(env));
            }
        }
    }
    if !unit_texts.is_empty() {
        sources.push("systemd drop-ins".to_owned());
    }
    KubeletFlags {
        flags: parse_flags(words.iter().map(String::as_str)),
        source: sources.join(", "),
    }
}

/// A process whose command is `kubelet`, from `root/proc/<pid>/cmdline`.
fn running_kubelet(root: &Path) -> Option<(String, Vec<String>)> {
    let entries = std::fs::read_dir(root.join("proc")).ok()?;
    for e in entries.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        let is_kubelet = words
            .first()
            .is_some_and(|w| w.rsplit('/').next() == Some("kubelet"));
        if is_kubelet {
            return Some((pid, words));
        }
    }
    None
}

/// Words of `KEY="--a=b --c"` lines and command lines, quotes removed.
fn shell_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            let w = w
                .split_once('=')
                .filter(|(k, _)| k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
                .map_or(w, |(_, v)| v);
            w.trim_matches(|c| c == '"' || c == '\'').to_owned()
        })
        .collect()
}

fn parse_flags<'a>(words: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let words: Vec<&str> = words.collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        let Some(body) = w.strip_prefix("--") else {
            continue;
        };
        match body.split_once('=') {
            Some((k, v)) => out.push((k.to_owned(), v.to_owned())),
            None => match words.get(i) {
                Some(next) if !next.starts_with('-') && !next.starts_with('$') => {
                    out.push((body.to_owned(), (*next).to_owned()));
                    i += 1;
                }
                _ => out.push((body.to_owned(), "true".to_owned())),
            },
        }
    }
    out
}

/// Kubelet flags and the configuration fields they set.
const FLAG_FIELDS: &[(&str, &[&str], FieldType)] = &[
    (
        "anonymous-auth",
        &["authentication", "anonymous", "enabled"],
        FieldType::Bool,
    ),
    (
        "authorization-mode",
        &["authorization", "mode"],
        FieldType::Str,
    ),
    (
        "client-ca-file",
        &["authentication", "x509", "clientCAFile"],
        FieldType::Str,
    ),
    ("read-only-port", &["readOnlyPort"], FieldType::Int),
    (
        "streaming-connection-idle-timeout",
        &["streamingConnectionIdleTimeout"],
        FieldType::Str,
    ),
    (
        "make-iptables-util-chains",
        &["makeIPTablesUtilChains"],
        FieldType::Bool,
    ),
    (
        "rotate-certificates",
        &["rotateCertificates"],
        FieldType::Bool,
    ),
    ("pod-max-pids", &["podPidsLimit"], FieldType::Int),
    ("tls-cert-file", &["tlsCertFile"], FieldType::Str),
    (
        "tls-private-key-file",
        &["tlsPrivateKeyFile"],
        FieldType::Str,
    ),
    ("event-qps", &["eventRecordQPS"], FieldType::Int),
    ("feature-gates", &["featureGates"], FieldType::Gates),
    ("tls-cipher-suites", &["tlsCipherSuites"], FieldType::List),
    ("tls-min-version", &["tlsMinVersion"], FieldType::Str),
];

#[derive(Clone, Copy)]
enum FieldType {
    Bool,
    Int,
    Str,
    Gates,
    /// Comma-separated, as a list field.
    List,
}

fn flag_overrides(flags: &[(String, String)]) -> Vec<(&'static [&'static str], Json)> {
    let mut out = Vec::new();
    for (name, value) in flags {
        let Some((_, keys, ty)) = FLAG_FIELDS.iter().find(|(f, _, _)| f == name) else {
            continue;
        };
        let v = match ty {
            FieldType::Bool => json!(value.eq_ignore_ascii_case("true")),
            FieldType::Int => value
                .parse::<i64>()
                .map_or_else(|_| json!(value), |n| json!(n)),
            FieldType::Str => json!(value),
            FieldType::List => json!(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
            FieldType::Gates => {
                let mut gates = Map::new();
                for g in value.split(',') {
                    if let Some((k, v)) = g.split_once('=') {
                        gates.insert(
                            k.trim().to_owned(),
                            json!(v.trim().eq_ignore_ascii_case("true")),
                        );
                    }
                }
                Json::Object(gates)
            }
        };
        out.push((*keys, v));
    }
    out
}

fn apply_overrides(json: &mut Json, overrides: &[(&'static [&'static str], Json)]) {
    for (keys, value) in overrides {
        set_path(json, keys, value);
    }
}

fn set_path(node: &mut Json, keys: &[&str], value: &Json) {
    if !node.is_object() {
        *node = json!({});
    }
    let Some(map) = node.as_object_mut() else {
        return;
    };
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (map.get_mut(*first), value) {
            // Feature gates merge; every other flag replaces the field.
            (Some(Json::Object(existing)), Json::Object(new)) => {
                for (k, v) in new {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => {
                map.insert((*first).to_owned(), value.clone());
            }
        }
    } else {
        let child = map.entry((*first).to_owned()).or_insert_with(|| json!({}));
        set_path(child, rest, value);
    }
}

/// Says why the components this node does not show are absent.
fn explain_unseen(out: &mut NodeInputs, has_manifests: bool) {
    let control_plane = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
    ];
    let why = match out.distribution {
        Distribution::K3s => Some(
            "k3s runs the API server, controller manager, scheduler and its datastore inside the k3s process; their settings are in /etc/rancher/k3s/config.yaml and the k3s command line, which kspm does not read yet"
                .to_owned(),
        ),
        Distribution::Eks | Distribution::Gke | Distribution::Aks => Some(format!(
            "this is a {} node: the control plane is run by the provider and cannot be seen from the node",
            out.distribution.as_str()
        )),
        _ if !has_manifests => Some(
            "no static pod manifests on this node (/etc/kubernetes/manifests): it runs no control plane; run kspm node on a control-plane node".to_owned(),
        ),
        _ => None,
    };
    if let Some(why) = why {
        for c in control_plane {
            out.not_seen.push((c, why.clone()));
        }
    } else {
        // A control-plane node with some components elsewhere (external etcd).
        out.not_seen.extend(control_plane.map(|c| {
            (
                c,
                format!(
                    "no {} static pod on this node (external or managed elsewhere)",
                    c.as_str()
                ),
            )
        }));
    }
    out.not_seen.push((
        Component::KubeProxy,
        "kube-proxy's settings live in the kube-proxy ConfigMap and DaemonSet in kube-system: scan those with `kspm scan`".to_owned(),
    ));
    out.not_seen.push((
        Component::NodeFile,
        "the file is not on this node (worker nodes have no control-plane files; distributions keep theirs elsewhere)".to_owned(),
    ));
}

/// A `NodeFile` finding is about the file itself: it names the file, with no line (the object
/// kspm wrote to describe it is not something the user can open).
pub fn name_node_files(result: &mut kspm_engine::ScanResult) {
    let is_node_file = |id: &kspm_model::ResourceId| id.kind == "NodeFile";
    for f in &mut result.findings {
        if is_node_file(&f.resource) {
            f.source.file = f.resource.name.as_str().into();
            f.pos = kspm_model::Pos::new(0, 0);
        }
    }
    for s in &mut result.scanned {
        if is_node_file(&s.id) {
            s.source.file = s.id.name.as_str().into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_from_env_files_and_units() {
        let words = shell_words(
            "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9 --read-only-port 10255\"",
        );
        let flags = parse_flags(words.iter().map(String::as_str));
        assert!(flags.contains(&("read-only-port".to_owned(), "10255".to_owned())));
        assert!(flags.contains(&(
            "pod-infra-container-image".to_owned(),
            "registry.k8s.io/pause:3.9".to_owned()
        )));
    }

    #[test]
    fn flags_override_the_file_and_gates_merge() {
        let mut json = json!({"authentication": {"anonymous": {"enabled": false}}, "featureGates": {"A": true}});
        let flags = vec![
            ("anonymous-auth".to_owned(), "true".to_owned()),
            (
                "feature-gates".to_owned(),
                "RotateKubeletServerCertificate=false".to_owned(),
            ),
            ("read-only-port".to_owned(), "10255".to_owned()),
            (
                "tls-cipher-suites".to_owned(),
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA".to_owned(),
            ),
        ];
        apply_overrides(&mut json, &flag_overrides(&flags));
        assert_eq!(json["authentication"]["anonymous"]["enabled"], json!(true));
        assert_eq!(json["featureGates"]["A"], json!(true));
        assert_eq!(
            json["featureGates"]["RotateKubeletServerCertificate"],
            json!(false)
        );
        assert_eq!(json["readOnlyPort"], json!(10255));
        assert_eq!(
            json["tlsCipherSuites"],
            json!([
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_RSA_WITH_AES_128_CBC_SHA"
            ])
        );
    }
}
