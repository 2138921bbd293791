//! Admission-control semantics applied to a scan: which objects a policy matches (kinds,
//! resource rules, namespaces, label selectors), and the import of ValidatingAdmissionPolicies
//! with their bindings and params objects as they are.
//!
//! A scan judges each object as if it were being created: `request.operation` is `CREATE` and
//! `oldObject` is null, so a rule that only lists `DELETE` or `CONNECT` never matches.

use std::collections::HashMap;

use kspm_model::selector::selector_matches;
use kspm_model::{Diagnostic, Node, Pos, Resource, Severity};

use crate::cel::{self, CelPolicy};
use crate::meta::{self, Meta};
use crate::{Body, Policy, Problems, gatekeeper, kyverno};

/// Kinds that live outside namespaces. Everything else is namespaced, and an object without
/// `metadata.namespace` lands in `default`, as with `kubectl apply`.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "CustomResourceDefinition",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "PodSecurityPolicy",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ClusterIssuer",
    "ConstraintTemplate",
];

pub(crate) fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// The namespace an object is in once applied; `None` for cluster-scoped kinds.
pub(crate) fn effective_namespace(r: &Resource) -> Option<&str> {
    if is_cluster_scoped(r.kind()) {
        None
    } else {
        Some(r.namespace().unwrap_or("default"))
    }
}

/// The resource name (plural, lower case) the API server uses for a kind.
pub(crate) fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.as_str() {
        "endpoints" => lower,
        _ if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") => {
            format!("{lower}es")
        }
        _ if lower.ends_with('y')
            && !lower.ends_with("ay")
            && !lower.ends_with("ey")
            && !lower.ends_with("oy") =>
        {
            format!("{}ies", &lower[..lower.len() - 1])
        }
        _ => format!("{lower}s"),
    }
}

/// `*`, `kube-*`, `*-system`, or an exact name.
/// `*` (any run of characters) and `?` (one character) anywhere in `pattern`: Gatekeeper's
/// prefix and suffix globs and Kyverno's wildcards.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and where in `s` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn any_glob(patterns: &[String], s: &str) -> bool {
    patterns.iter().any(|p| glob(p, s))
}

#[derive(Clone, Debug, Default)]
pub(crate) struct KindMatch {
    /// API groups (`""` is core, `*` any); empty means any.
    pub groups: Vec<String>,
    pub kinds: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ResourceRule {
    pub groups: Vec<String>,
    pub versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
    pub resource_names: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Scope {
    #[default]
    Any,
    Namespaced,
    Cluster,
}

/// Which objects a policy judges. Every part that is set must match; `also` holds the
/// constraints of a second party (a binding's `matchResources` on top of its policy's).
#[derive(Clone, Debug, Default)]
pub(crate) struct Matcher {
    pub kinds: Vec<KindMatch>,
    pub resource_rules: Vec<ResourceRule>,
    pub exclude_resource_rules: Vec<ResourceRule>,
    pub namespaces: Vec<String>,
    pub excluded_namespaces: Vec<String>,
    pub names: Vec<String>,
    pub namespace_selector: Option<Node>,
    pub object_selector: Option<Node>,
    pub scope: Scope,
    /// Further matchers that must all match.
    pub also: Vec<Matcher>,
    /// When not empty, one of these must match too (Kyverno's `match.any`).
    pub any: Vec<Matcher>,
    /// None of these may match (Kyverno's `exclude`).
    pub none: Vec<Matcher>,
    /// Matches nothing (a filter only for operations a scan never sees).
    pub never: bool,
}

impl Matcher {
    /// Any group, these kinds (every kind when empty).
    pub fn kinds(kinds: &[String]) -> Self {
        let mut m = Matcher::default();
        if !kinds.is_empty() {
            m.kinds.push(KindMatch {
                groups: Vec::new(),
                kinds: kinds.to_vec(),
            });
        }
        m
    }

    pub fn matches(&self, r: &Resource, namespace: Option<&Resource>) -> bool {
        if self.never {
            return false;
        }
        let group = r.group();
        let version = r.api_version().rsplit('/').next().unwrap_or("");
        let kind = r.kind();
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|k| {
                (k.groups.is_empty() || k.groups.iter().any(|g| g == "*" || g == group))
                    && k.kinds
                        .iter()
                        .any(|x| x == "*" || x.eq_ignore_ascii_case(kind))
            })
        {
            return false;
        }
        let resource = plural(kind);
        let rule_hits = |rule: &ResourceRule| {
            let list = |l: &[String], v: &str| l.is_empty() || l.iter().any(|x| x == "*" || x == v);
            let operation_ok = rule.operations.is_empty()
                || rule.operations.iter().any(|o| o == "*" || o == "CREATE");
            operation_ok
                && list(&rule.groups, group)
                && list(&rule.versions, version)
                && rule
                    .resources
                    .iter()
                    .any(|x| x == "*" || x == &resource || x == "*/*")
                && (rule.resource_names.is_empty()
                    || rule.resource_names.iter().any(|n| n == r.name()))
        };
        if !self.resource_rules.is_empty() && !self.resource_rules.iter().any(rule_hits) {
            return false;
        }
        if self.exclude_resource_rules.iter().any(rule_hits) {
            return false;
        }
        let ns = effective_namespace(r);
        match (self.scope, ns) {
            (Scope::Namespaced, None) | (Scope::Cluster, Some(_)) => return false,
            _ => {}
        }
        if !self.names.is_empty() && !any_glob(&self.names, r.name()) {
            return false;
        }
        // Gatekeeper's namespace lists apply to namespaced objects and to Namespaces themselves.
        let ns_name = ns.or_else(|| (kind == "Namespace").then(|| r.name()));
        if let Some(n) = ns_name {
            if !self.namespaces.is_empty() && !any_glob(&self.namespaces, n) {
                return false;
            }
            if any_glob(&self.excluded_namespaces, n) {
                return false;
            }
        }
        if let Some(sel) = &self.namespace_selector {
            // Namespaces are matched on their own labels; cluster-scoped objects always pass.
            let labels = if kind == "Namespace" {
                Some(namespace_labels(r.name(), Some(r)))
            } else {
                ns.map(|n| namespace_labels(n, namespace))
            };
            if let Some(labels) = labels
                && !selector_matches(Some(sel), Some(&labels))
            {
                return false;
            }
        }
        if let Some(sel) = &self.object_selector
            && !selector_matches(Some(sel), r.root.at(&["metadata", "labels"]))
        {
            return false;
        }
        self.also.iter().all(|m| m.matches(r, namespace))
            && (self.any.is_empty() || self.any.iter().any(|m| m.matches(r, namespace)))
            && !self.none.iter().any(|m| m.matches(r, namespace))
    }
}

/// A namespace's labels as the API server sees them: its own, plus the automatic
/// `kubernetes.io/metadata.name` (known even when the Namespace object is not in the scan).
fn namespace_labels(name: &str, object: Option<&Resource>) -> Node {
    let mut labels = object
        .and_then(|o| o.root.at(&["metadata", "labels"]))
        .map(Node::to_json)
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = labels.as_object_mut() {
        map.insert(
            "kubernetes.io/metadata.name".to_owned(),
            serde_json::Value::String(name.to_owned()),
        );
    }
    Node::from_json(&labels)
}

/// A label selector node, `None` when absent or empty-and-absent.
fn selector(node: Option<&Node>) -> Option<Node> {
    node.filter(|n| n.as_map().is_some()).cloned()
}

fn resource_rules(node: Option<&Node>, p: &mut Problems) -> Vec<ResourceRule> {
    let Some(items) = node.and_then(Node::as_seq) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let list = |p: &mut Problems, key: &str| {
                item.get(key).map(|n| p.strings(n, key)).unwrap_or_default()
            };
            ResourceRule {
                groups: list(p, "apiGroups"),
                versions: list(p, "apiVersions"),
                resources: list(p, "resources"),
                operations: list(p, "operations"),
                resource_names: list(p, "resourceNames"),
            }
        })
        .collect()
}

/// A ValidatingAdmissionPolicy `matchConstraints` or a binding's `matchResources`.
pub(crate) fn match_resources(node: Option<&Node>, p: &mut Problems) -> Matcher {
    let mut m = Matcher::default();
    let Some(node) = node else {
        return m;
    };
    m.resource_rules = resource_rules(node.get("resourceRules"), p);
    m.exclude_resource_rules = resource_rules(node.get("excludeResourceRules"), p);
    m.namespace_selector = selector(node.get("namespaceSelector"));
    m.object_selector = selector(node.get("objectSelector"));
    m
}

/// Policy objects (from policy files and a live cluster), by what they are.
#[derive(Default)]
struct Catalogue<'a> {
    vaps: Vec<&'a Resource>,
    bindings: Vec<&'a Resource>,
    templates: Vec<&'a Resource>,
    constraints: Vec<&'a Resource>,
    kyverno: Vec<&'a Resource>,
    /// Anything else: candidate params objects for policies with a `paramKind`.
    others: Vec<&'a Resource>,
}

fn problems_for(r: &Resource) -> Problems {
    Problems::new(r.source.file.clone())
}

fn push(p: Problems, diags: &mut Vec<Diagnostic>) {
    diags.extend(p.diagnostics);
}

/// What identifies a policy object for clash detection: `(group, kind, namespace, name)`; a
/// ConstraintTemplate also claims the constraint kind it defines.
fn identities(r: &Resource) -> Vec<(String, String, Option<String>, String)> {
    let key = |kind: &str, name: &str| {
        (
            r.group().to_owned(),
            kind.to_owned(),
            effective_namespace(r).map(str::to_owned),
            name.to_owned(),
        )
    };
    let mut out = vec![key(r.kind(), r.name())];
    if r.group() == "templates.gatekeeper.sh"
        && r.kind() == "ConstraintTemplate"
        && let Some(kind) = r
            .spec()
            .and_then(|s| s.at(&["crd", "spec", "names", "kind"]))
            .and_then(Node::as_str)
    {
        out.push(key("ConstraintTemplate defining", kind));
    }
    out
}

/// The cluster's objects that are not also in the policy files. One that is (the same kind,
/// namespace and name, or a ConstraintTemplate defining the same constraint kind) is skipped
/// with a warning naming both places: the file's version is used, never both.
pub(crate) fn without_clashes<'c>(
    files: &[Resource],
    cluster: &'c [Resource],
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'c Resource> {
    if files.is_empty() {
        return cluster.iter().collect();
    }
    let mut taken: HashMap<(String, String, Option<String>, String), &Resource> = HashMap::new();
    for f in files {
        for id in identities(f) {
            taken.entry(id).or_insert(f);
        }
    }
    cluster
        .iter()
        .filter(|c| {
            let Some(file) = identities(c).iter().find_map(|id| taken.get(id)) else {
                return true;
            };
            diags.push(
                Diagnostic::error(
                    c.source.file.clone(),
                    format!(
                        "{} {} is installed in the cluster and also given in {}: the policy file's {} {} is used, the cluster's is skipped",
                        c.kind(),
                        c.name(),
                        file.source.file,
                        file.kind(),
                        file.name()
                    ),
                )
                .warning(),
            );
            false
        })
        .collect()
}

/// The cluster's ValidatingAdmissionPolicies that some binding (in the files or the cluster)
/// names, and every other object of the cluster. An installed policy without a binding enforces
/// nothing, so there is nothing to audit: it is left out with a warning. (A policy given in a
/// file without a binding is evaluated on its own, to show what it would find.)
pub(crate) fn without_unbound<'c>(
    files: &[Resource],
    cluster: Vec<&'c Resource>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'c Resource> {
    let is =
        |r: &Resource, kind: &str| r.group() == "admissionregistration.k8s.io" && r.kind() == kind;
    let bound: Vec<&str> = files
        .iter()
        .chain(cluster.iter().copied())
        .filter(|r| is(r, "ValidatingAdmissionPolicyBinding"))
        .filter_map(|b| b.spec()?.get("policyName")?.as_str())
        .collect();
    cluster
        .into_iter()
        .filter(|r| {
            if !is(r, "ValidatingAdmissionPolicy") || bound.contains(&r.name()) {
                return true;
            }
            diags.push(
                Diagnostic::error(
                    r.source.file.clone(),
                    format!(
                        "ValidatingAdmissionPolicy {} has no binding in the cluster or the policy files: it enforces nothing, so it is not evaluated",
                        r.name()
                    ),
                )
                .warning(),
            );
            false
        })
        .collect()
}

/// Turns policy objects (from policy files, and a live cluster's after the files) into
/// policies: kspm CEL policies, VAPs with their bindings, Gatekeeper templates with their
/// constraints.
pub(crate) fn load_objects(
    objects: &[Resource],
    policies: &mut Vec<Policy>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut cat = Catalogue::default();
    for r in objects {
        let group = r.group();
        match (group, r.kind()) {
            (g, "CELPolicy") if g.starts_with("kspm.io") => {
                let mut p = problems_for(r);
                if let Some(policy) = cel::load_native(r, &mut p) {
                    policies.push(policy);
                }
                push(p, diags);
            }
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => cat.vaps.push(r),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
                cat.bindings.push(r);
            }
            ("templates.gatekeeper.sh", "ConstraintTemplate") => cat.templates.push(r),
            ("constraints.gatekeeper.sh", _) => cat.constraints.push(r),
            ("kyverno.io", "ClusterPolicy" | "Policy")
            | ("policies.kyverno.io", "ValidatingPolicy") => cat.kyverno.push(r),
            _ => cat.others.push(r),
        }
    }
    load_vaps(&cat, policies, diags);
    gatekeeper::load(&cat.templates, &cat.constraints, policies, diags);
    kyverno::load(&cat.kyverno, &cat.others, policies, diags);
}

/// Severity of an imported policy: its `kspm.io/severity` annotation, else what its enforcement
/// action says about how much its owners care.
pub(crate) fn severity_of(r: &Resource, fallback: Severity, p: &mut Problems) -> Severity {
    match r.annotation("kspm.io/severity").map(str::parse::<Severity>) {
        Some(Ok(s)) => s,
        Some(Err(msg)) => {
            let pos = r
                .root
                .at(&["metadata", "annotations", "kspm.io/severity"])
                .map_or(Pos::default(), |n| n.pos);
            p.error(pos, format!("kspm.io/severity: {msg}"));
            fallback
        }
        None => fallback,
    }
}

/// Metadata of an imported object from its annotations (`kspm.io/id`, `kspm.io/title`,
/// `kspm.io/category`, `kspm.io/remediation`, `kspm.io/frameworks` as `cis:5.2.2,nsa:...`).
pub(crate) fn annotated_meta(r: &Resource, code: &str, slug: &str, p: &mut Problems) -> Meta {
    let mut meta = Meta {
        code: r.annotation("kspm.io/id").unwrap_or(code).to_owned(),
        slug: slug.to_owned(),
        title: r.annotation("kspm.io/title").unwrap_or(slug).to_owned(),
        description: r.annotation("kspm.io/description").unwrap_or("").to_owned(),
        remediation: r.annotation("kspm.io/remediation").unwrap_or("").to_owned(),
        ..Meta::default()
    };
    let mut fields = Vec::new();
    if let Some(c) = r.annotation("kspm.io/category") {
        fields.push(("category", serde_json::json!(c)));
    }
    if let Some(f) = r.annotation("kspm.io/frameworks") {
        let list: Vec<&str> = f
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        fields.push(("frameworks", serde_json::json!(list)));
    }
    if !fields.is_empty() {
        let json: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let mut node = Node::from_json(&serde_json::Value::Object(json));
        let pos = r
            .root
            .at(&["metadata", "annotations"])
            .map_or(Pos::default(), |n| n.pos);
        node.pos = pos;
        meta::read_fields(&node, &mut meta, p, &[]);
    }
    meta
}

fn load_vaps(cat: &Catalogue<'_>, policies: &mut Vec<Policy>, diags: &mut Vec<Diagnostic>) {
    let mut bindings_of: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for b in &cat.bindings {
        let mut p = problems_for(b);
        match b.spec().and_then(|s| s.get("policyName")).and_then(Node::as_str) {
            Some(name) if cat.vaps.iter().any(|v| v.name() == name) => {
                bindings_of.entry(name).or_default().push(b);
            }
            Some(name) => p.error(
                b.spec().map_or(b.root.pos, |s| s.pos),
                format!(
                    "ValidatingAdmissionPolicyBinding {} names policy `{name}`, which is not among the loaded policies; binding skipped",
                    b.name()
                ),
            ),
            None => p.error(b.root.pos, format!("ValidatingAdmissionPolicyBinding {} has no spec.policyName", b.name())),
        }
        push(p, diags);
    }
    for vap in &cat.vaps {
        let mut p = problems_for(vap);
        let Some(spec) = vap.spec() else {
            p.error(
                vap.root.pos,
                format!("ValidatingAdmissionPolicy {} has no spec", vap.name()),
            );
            push(p, diags);
            continue;
        };
        let Some(parts) = cel::compile_spec(spec, &mut p) else {
            p.error(
                spec.pos,
                format!("ValidatingAdmissionPolicy {} skipped", vap.name()),
            );
            push(p, diags);
            continue;
        };
        let bindings = bindings_of.get(vap.name()).cloned().unwrap_or_default();
        let policy_matcher = match_resources(spec.get("matchConstraints"), &mut p);
        if bindings.is_empty() {
            // Unbound, it enforces nothing in a cluster; a scan shows what it would find.
            p.warning(
                vap.root.pos,
                format!(
                    "ValidatingAdmissionPolicy {} has no binding among the loaded policies: evaluated with its matchConstraints alone",
                    vap.name()
                ),
            );
        }
        let units: Vec<Option<&Resource>> = if bindings.is_empty() {
            vec![None]
        } else {
            bindings.iter().copied().map(Some).collect()
        };
        let several = units.len() > 1;
        for binding in units {
            let (code, slug) = match binding {
                Some(b) if several => (
                    format!("vap:{}:{}", vap.name(), b.name()),
                    meta::kebab(&format!("{}-{}", vap.name(), b.name())),
                ),
                _ => (format!("vap:{}", vap.name()), meta::kebab(vap.name())),
            };
            let mut meta = annotated_meta(vap, &code, &slug, &mut p);
            let actions: Vec<String> = binding
                .and_then(|b| b.spec())
                .and_then(|s| s.get("validationActions"))
                .map(|n| p.strings(n, "validationActions"))
                .unwrap_or_default();
            let fallback = if actions.iter().any(|a| a == "Deny") {
                Severity::High
            } else if actions.iter().any(|a| a == "Warn") {
                Severity::Medium
            } else if binding.is_some() {
                Severity::Low
            } else {
                Severity::Medium
            };
            meta.severity = Some(severity_of(vap, fallback, &mut p));
            let mut matcher = policy_matcher.clone();
            let bspec = binding.and_then(|b| b.spec());
            if let Some(mr) = bspec.and_then(|s| s.get("matchResources")) {
                let mut bp = binding.map_or_else(|| problems_for(vap), problems_for);
                matcher.also.push(match_resources(Some(mr), &mut bp));
                diags.extend(bp.diagnostics);
            }
            let what = format!("ValidatingAdmissionPolicy {}", vap.name());
            let Ok(params) = params_for(&what, spec, bspec, &cat.others, &mut p) else {
                continue;
            };
            let policy = CelPolicy {
                params,
                ..parts.clone()
            };
            let rule = match kspm_rules::register(meta::to_rule(
                &meta,
                "ValidatingAdmissionPolicy",
                &vap.source.file,
            )) {
                Ok(r) => r,
                Err(e) => {
                    p.error(vap.root.pos, format!("policy skipped: {e}"));
                    continue;
                }
            };
            policies.push(Policy {
                rule,
                file: vap.source.file.clone(),
                matcher,
                body: Body::Cel(policy),
            });
        }
        push(p, diags);
    }
}

/// The params objects a binding selects: `None` when the policy takes no params. `Err` when the
/// policy cannot be evaluated (reported).
pub(crate) fn params_for(
    what: &str,
    spec: &Node,
    binding: Option<&Node>,
    others: &[&Resource],
    p: &mut Problems,
) -> Result<Option<Vec<cel::Params>>, ()> {
    let Some(kind) = spec.get("paramKind") else {
        return Ok(None);
    };
    let api_version = kind.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    let kind_name = kind.get("kind").and_then(Node::as_str).unwrap_or("");
    let Some(param_ref) = binding.and_then(|b| b.get("paramRef")) else {
        p.error(
            kind.pos,
            format!("{what} takes params ({kind_name}) but no paramRef names them; not evaluated"),
        );
        return Err(());
    };
    let name = param_ref.get("name").and_then(Node::as_str);
    let namespace = param_ref.get("namespace").and_then(Node::as_str);
    let sel = param_ref.get("selector");
    let found: Vec<cel::Params> = others
        .iter()
        .filter(|o| o.api_version() == api_version && o.kind() == kind_name)
        .filter(|o| name.is_none_or(|n| o.name() == n))
        .filter(|o| namespace.is_none_or(|n| o.namespace() == Some(n)))
        .filter(|o| sel.is_none() || selector_matches(sel, o.root.at(&["metadata", "labels"])))
        .map(|o| cel::Params {
            name: o.name().to_owned(),
            value: cel::node_to_cel(&o.root),
        })
        .collect();
    if found.is_empty() {
        let deny = param_ref
            .get("parameterNotFoundAction")
            .and_then(Node::as_str)
            == Some("Deny");
        p.warning(
            param_ref.pos,
            format!(
                "no {kind_name} params object{} among the loaded policies for {what}{}",
                name.map(|n| format!(" named {n}")).unwrap_or_default(),
                if deny {
                    ": parameterNotFoundAction is Deny, so every matching object is reported"
                } else {
                    ": not evaluated (parameterNotFoundAction Allow)"
                }
            ),
        );
        if !deny {
            return Err(());
        }
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("Deployment"), "deployments");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Endpoints"), "endpoints");
        assert_eq!(plural("Gateway"), "gateways");
    }

    #[test]
    fn globs() {
        assert!(glob("kube-*", "kube-system"));
        assert!(glob("*-system", "kube-system"));
        assert!(glob("p?d", "pod") && !glob("p?d", "pood"));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
        assert!(glob("*", "") && glob("", "") && !glob("", "x"));
        assert!(!glob("kube-*", "default"));
        assert!(glob("*", "x"));
    }
}
