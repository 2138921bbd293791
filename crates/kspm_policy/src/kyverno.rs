//! Kyverno `ClusterPolicy` and `Policy` objects whose rules validate with CEL (`validate.cel`),
//! and Kyverno `ValidatingPolicy` objects, as they are.
//!
//! Each such rule becomes one kspm rule (`kyverno:POLICY` or, for a policy with several
//! rules, `kyverno:POLICY:RULE`) with the policy's `policies.kyverno.io/*` annotations as its
//! title, severity and description. What is read of a rule:
//!
//! - `match` and `exclude`, with `any`/`all` lists or the older single `resources`: `kinds`
//!   (`Pod`, `v1/Pod`, `apps/v1/Deployment`, `*`), `names`, `namespaces` (with `*` and `?`),
//!   `selector`, `namespaceSelector`, `operations`;
//! - `celPreconditions` (the rule's match conditions), and `validate.cel`'s `variables` and
//!   `expressions` (`expression`, `message`, `messageExpression`), evaluated as a
//!   ValidatingAdmissionPolicy's;
//! - Kyverno's auto-generation: a rule that matches Pods also judges the pod controllers
//!   (DaemonSet, Deployment, Job, StatefulSet, ReplicaSet, ReplicationController, and CronJob),
//!   with the expressions rewritten as Kyverno rewrites them (`object.spec` becomes
//!   `object.spec.template.spec`, or `object.spec.jobTemplate.spec.template.spec` for CronJobs;
//!   `object.metadata` the template's metadata), unless the policy's
//!   `pod-policies.kyverno.io/autogen-controllers` annotation says otherwise, or Kyverno would
//!   not generate them (a filter with names, a label or annotation selector, or Pods mixed with
//!   other kinds, anywhere in the policy).
//!
//! Rules kspm cannot evaluate faithfully are skipped with a warning that says why: other kinds of
//! validation (`pattern`, `anyPattern`, `deny`, `foreach`, `podSecurity`, `assert`), mutation,
//! generation, image verification, JMESPath `preconditions` and `context`, and user-info
//! filters (`subjects`, `roles`, `clusterRoles`). Params (`validate.cel.paramKind` with
//! `paramRef`) are taken from the objects loaded with the policy, as a VAP binding's are.

use kspm_model::{Diagnostic, Entry, Node, Resource, Severity, Value};

use crate::admission::{KindMatch, Matcher, severity_of};
use crate::meta::{self, Meta};
use crate::{Body, Policy, Problems, cel};

/// The pod controllers Kyverno generates rules for by default.
const CONTROLLERS: &[&str] = &[
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
];

/// Loads every CEL rule of the Kyverno policies `objects`.
/// `others` are the other objects loaded with them: candidate params objects.
pub(crate) fn load(
    objects: &[&Resource],
    others: &[&Resource],
    out: &mut Vec<Policy>,
    diags: &mut Vec<Diagnostic>,
) {
    for r in objects {
        let mut p = Problems::new(r.source.file.clone());
        if r.kind() == "ValidatingPolicy" {
            load_validating_policy(r, out, &mut p);
        } else {
            load_policy(r, others, out, &mut p);
        }
        diags.extend(p.diagnostics);
    }
}

/// A Kyverno `ValidatingPolicy` (policies.kyverno.io): a ValidatingAdmissionPolicy with its
/// own `validationActions` and no binding. Its `matchConstraints`, `matchConditions`,
/// `variables` and `validations` are evaluated as a VAP's; Kyverno's extra CEL libraries
/// (`resource`, `http`, `image`, `globalContext`) are not available, so expressions that call
/// them fail on each object with a diagnostic. Its pod-controller auto-generation is not
/// applied: a warning says so when it asks for it.
fn load_validating_policy(r: &Resource, out: &mut Vec<Policy>, p: &mut Problems) {
    let Some(spec) = r.spec() else {
        p.error(
            r.root.pos,
            format!("ValidatingPolicy {} has no spec", r.name()),
        );
        return;
    };
    if let Some(n) = spec.get("paramKind") {
        p.warning(
            n.pos,
            format!(
                "ValidatingPolicy {} takes params, which kspm does not resolve for Kyverno: skipped",
                r.name()
            ),
        );
        return;
    }
    if let Some(n) = spec.get("autogen") {
        p.warning(
            n.pos,
            format!(
                "ValidatingPolicy {}: kspm does not apply its auto-generation; only the kinds of matchConstraints are judged",
                r.name()
            ),
        );
    }
    let Some(body) = cel::compile_spec(spec, p) else {
        p.error(spec.pos, format!("ValidatingPolicy {} skipped", r.name()));
        return;
    };
    let actions: Vec<String> = spec
        .get("validationActions")
        .map(|n| p.strings(n, "validationActions"))
        .unwrap_or_default();
    let fallback = if actions.iter().any(|a| a == "Deny") {
        Severity::High
    } else if actions.iter().any(|a| a == "Warn") {
        Severity::Medium
    } else {
        Severity::Low
    };
    let meta = policy_meta(r, None, fallback, p);
    let matcher = crate::admission::match_resources(spec.get("matchConstraints"), p);
    let rule = match kspm_rules::register(meta::to_rule(&meta, "Kyverno", &r.source.file)) {
        Ok(m) => m,
        Err(e) => {
            p.error(r.root.pos, format!("policy skipped: {e}"));
            return;
        }
    };
    out.push(Policy {
        rule,
        file: r.source.file.clone(),
        matcher,
        body: Body::Cel(body),
    });
}

fn load_policy(r: &Resource, others: &[&Resource], out: &mut Vec<Policy>, p: &mut Problems) {
    let Some(rules) = r.spec().and_then(|s| s.get("rules")).and_then(Node::as_seq) else {
        p.error(
            r.root.pos,
            format!("Kyverno {} {} has no spec.rules", r.kind(), r.name()),
        );
        return;
    };
    let controllers = if can_autogen(rules) {
        autogen_controllers(r)
    } else {
        Vec::new()
    };
    let several = rules.len() > 1;
    for rule in rules {
        let Some(name) = rule.get("name").and_then(Node::as_str) else {
            p.error(rule.pos, "a Kyverno rule needs a `name`");
            continue;
        };
        if let Some(why) = unsupported(rule) {
            p.warning(
                rule.pos,
                format!(
                    "Kyverno rule {}/{name}: kspm evaluates rules that validate with CEL (`validate.cel`); this one {why}: skipped",
                    r.name()
                ),
            );
            continue;
        }
        load_rule(r, rule, name, several, &controllers, others, out, p);
    }
}

/// Why a rule cannot be evaluated here, if it cannot.
fn unsupported(rule: &Node) -> Option<String> {
    for key in ["mutate", "generate", "verifyImages"] {
        if rule.get(key).is_some() {
            return Some(format!("is a `{key}` rule"));
        }
    }
    let Some(validate) = rule.get("validate") else {
        return Some("has no `validate`".to_owned());
    };
    if validate.get("cel").is_none() {
        let kind = [
            "pattern",
            "anyPattern",
            "deny",
            "foreach",
            "podSecurity",
            "assert",
        ]
        .into_iter()
        .find(|k| validate.get(k).is_some())
        .unwrap_or("other");
        return Some(format!("validates with `{kind}`"));
    }
    for key in ["preconditions", "context"] {
        if rule.get(key).is_some() {
            return Some(format!("uses JMESPath `{key}`"));
        }
    }
    let filters = ["match", "exclude"].into_iter().filter_map(|k| rule.get(k));
    for f in filters {
        for key in ["subjects", "roles", "clusterRoles"] {
            if mentions(f, key) {
                return Some(format!(
                    "filters on who makes the request (`{key}`), which a scan does not know"
                ));
            }
        }
    }
    None
}

/// A Kyverno policy's (or one of its rules') metadata: code `kyverno:POLICY[:RULE]`, slug
/// `kyverno-POLICY[-RULE]` (prefixed: a Gatekeeper constraint or a VAP often has the same name),
/// title, description and severity from the `policies.kyverno.io/*` annotations, `fallback`
/// when there is none, `kspm.io/severity` over both.
fn policy_meta(r: &Resource, rule: Option<&str>, fallback: Severity, p: &mut Problems) -> Meta {
    let title = r
        .annotation("policies.kyverno.io/title")
        .unwrap_or(r.name())
        .trim();
    let (code, slug, title) = match rule {
        Some(name) => (
            format!("kyverno:{}:{name}", r.name()),
            meta::kebab(&format!("kyverno-{}-{name}", r.name())),
            format!("{title} ({name})"),
        ),
        None => (
            format!("kyverno:{}", r.name()),
            meta::kebab(&format!("kyverno-{}", r.name())),
            title.to_owned(),
        ),
    };
    let fallback = match r.annotation("policies.kyverno.io/severity").map(str::parse) {
        Some(Ok(s)) => s,
        _ => fallback,
    };
    Meta {
        code,
        slug,
        title,
        description: r
            .annotation("policies.kyverno.io/description")
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        severity: Some(severity_of(r, fallback, p)),
        ..Meta::default()
    }
}

/// Whether `key` appears anywhere in `node`'s mappings.
fn mentions(node: &Node, key: &str) -> bool {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|e| &*e.key == key || mentions(&e.value, key)),
        Value::Seq(items) => items.iter().any(|i| mentions(i, key)),
        _ => false,
    }
}

/// Whether Kyverno generates controller rules for this policy at all (its `CanAutoGen`): not
/// when a rule generates resources or patches with JSON patches, nor when any filter names
/// objects, selects them by labels or annotations, or mixes Pods with other kinds, since those
/// filters may not apply to controllers; and only when some filter names Pods or controllers.
fn can_autogen(rules: &[Node]) -> bool {
    let mut needed = false;
    for rule in rules {
        if rule.get("generate").is_some()
            || rule
                .get("mutate")
                .is_some_and(|m| mentions(m, "patchesJson6902"))
        {
            return false;
        }
        for block in ["match", "exclude"] {
            for f in filters(rule.get(block)) {
                if ["name", "names", "selector", "annotations"]
                    .iter()
                    .any(|k| f.get(k).is_some())
                {
                    return false;
                }
                let kinds: Vec<&str> = f
                    .get("kinds")
                    .and_then(Node::as_seq)
                    .map(|k| k.iter().filter_map(Node::as_str).collect())
                    .unwrap_or_default();
                let bare = |k: &&str| k.rsplit('/').next().unwrap_or(k).to_owned();
                let kinds: Vec<String> = kinds.iter().map(bare).collect();
                if kinds.len() > 1 && kinds.iter().any(|k| k == "Pod") {
                    return false;
                }
                needed |= kinds
                    .iter()
                    .any(|k| k == "Pod" || CONTROLLERS.contains(&k.as_str()));
            }
        }
    }
    needed
}

/// The controllers a Pod rule is also generated for.
fn autogen_controllers(r: &Resource) -> Vec<String> {
    match r.annotation("pod-policies.kyverno.io/autogen-controllers") {
        None | Some("all") => CONTROLLERS.iter().map(|s| (*s).to_owned()).collect(),
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|c| CONTROLLERS.contains(c))
            .map(str::to_owned)
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn load_rule(
    r: &Resource,
    rule: &Node,
    name: &str,
    several: bool,
    controllers: &[String],
    others: &[&Resource],
    out: &mut Vec<Policy>,
    p: &mut Problems,
) {
    let enforce = r
        .spec()
        .and_then(|s| s.get("validationFailureAction"))
        .and_then(Node::as_str)
        .is_some_and(|a| a.eq_ignore_ascii_case("enforce"));
    let fallback = if enforce {
        Severity::High
    } else {
        Severity::Medium
    };
    let meta = policy_meta(r, several.then_some(name), fallback, p);
    let matcher = rule_matcher(r, rule, p);
    let kinds = matched_kinds(rule.get("match"));
    let excluded = matched_kinds(rule.get("exclude"));
    let pods = kinds.iter().any(|k| k == "Pod")
        && (excluded.is_empty() || excluded.iter().any(|k| k == "Pod"));
    let spec = cel_spec(rule, None);
    let Some(body) = cel::compile_spec(&spec, p) else {
        p.error(
            rule.pos,
            format!("Kyverno rule {}/{name} skipped", r.name()),
        );
        return;
    };
    // `validate.cel.paramKind` and `paramRef` together, as a VAP's and its binding's.
    let params = match rule.get("validate").and_then(|v| v.get("cel")) {
        Some(c) if c.get("paramKind").is_some() && r.source.file.starts_with("cluster:") => {
            // Params are read from the cluster for VAP bindings only.
            p.warning(
                rule.pos,
                format!(
                    "Kyverno rule {}/{name} takes params, which kspm does not read from the cluster: skipped (pass the policy and its params with --policy)",
                    r.name()
                ),
            );
            return;
        }
        Some(c) => {
            let what = format!("Kyverno rule {}/{name}", r.name());
            match crate::admission::params_for(&what, c, Some(c), others, p) {
                Ok(params) => params,
                Err(()) => return,
            }
        }
        None => None,
    };
    let body = cel::CelPolicy {
        params: params.clone(),
        ..body
    };
    let rule_meta = match kspm_rules::register(meta::to_rule(&meta, "Kyverno", &r.source.file)) {
        Ok(m) => m,
        Err(e) => {
            p.error(r.root.pos, format!("policy skipped: {e}"));
            return;
        }
    };
    let policy = |matcher: Matcher, body: cel::CelPolicy| Policy {
        rule: rule_meta,
        file: r.source.file.clone(),
        matcher,
        body: Body::Cel(body),
    };
    out.push(policy(matcher.clone(), body));
    if !pods {
        return;
    }
    // Kyverno's auto-generated rules: the same checks on the pod template of controllers.
    for (template, kinds) in [
        (
            Template::Spec,
            controllers
                .iter()
                .filter(|c| *c != "CronJob")
                .cloned()
                .collect::<Vec<_>>(),
        ),
        (
            Template::JobTemplate,
            controllers
                .iter()
                .filter(|c| *c == "CronJob")
                .cloned()
                .collect(),
        ),
    ] {
        if kinds.is_empty() {
            continue;
        }
        let Some(body) = cel::compile_spec(&cel_spec(rule, Some(template)), p) else {
            continue;
        };
        let body = cel::CelPolicy {
            params: params.clone(),
            ..body
        };
        let m = retarget(matcher.clone(), &kinds);
        out.push(policy(m, body));
    }
}

#[derive(Clone, Copy, Debug)]
enum Template {
    /// `spec.template`: Deployments, DaemonSets, StatefulSets, Jobs, ReplicaSets...
    Spec,
    /// `spec.jobTemplate.spec.template`: CronJobs.
    JobTemplate,
}

/// Kyverno's rewriting of a Pod rule's CEL for a controller.
fn rewrite(text: &str, template: Template) -> String {
    let tpl = match template {
        Template::Spec => "spec.template",
        Template::JobTemplate => "spec.jobTemplate.spec.template",
    };
    text.replace("object.spec", &format!("object.{tpl}.spec"))
        .replace("oldObject.spec", &format!("oldObject.{tpl}.spec"))
        .replace("object.metadata", &format!("object.{tpl}.metadata"))
        .replace("oldObject.metadata", &format!("oldObject.{tpl}.metadata"))
}

/// A generated rule's matcher, as Kyverno makes it: the filters that name Pods name the
/// controllers instead; in `match.any`, filters about other kinds are dropped (the original rule
/// judges those).
fn retarget(m: Matcher, controllers: &[String]) -> Matcher {
    let names_pods = |f: &Matcher| {
        f.kinds
            .iter()
            .any(|k| k.kinds.iter().any(|x| x.eq_ignore_ascii_case("Pod")))
    };
    let to_controllers = |f: Matcher| {
        if names_pods(&f) {
            Matcher {
                kinds: vec![KindMatch {
                    groups: Vec::new(),
                    kinds: controllers.to_vec(),
                }],
                ..f
            }
        } else {
            f
        }
    };
    Matcher {
        any: m
            .any
            .into_iter()
            .filter(|f| names_pods(f))
            .map(to_controllers)
            .collect(),
        also: m.also.into_iter().map(to_controllers).collect(),
        none: m.none.into_iter().map(to_controllers).collect(),
        ..m
    }
}

/// A ValidatingAdmissionPolicy-shaped spec for `cel::compile_spec`, built from the rule's own
/// nodes (so errors keep their positions), its strings rewritten for a controller if asked.
fn cel_spec(rule: &Node, template: Option<Template>) -> Node {
    let cel = rule.get("validate").and_then(|v| v.get("cel"));
    let mut entries = Vec::new();
    for (key, node) in [
        ("matchConditions", rule.get("celPreconditions")),
        ("variables", cel.and_then(|c| c.get("variables"))),
        ("validations", cel.and_then(|c| c.get("expressions"))),
    ] {
        if let Some(node) = node {
            let mut node = node.clone();
            if let Some(t) = template {
                rewrite_strings(&mut node, t);
            }
            entries.push(Entry {
                key: key.into(),
                key_pos: node.pos,
                value: node,
            });
        }
    }
    Node::new(Value::Map(entries), rule.pos)
}

fn rewrite_strings(node: &mut Node, template: Template) {
    match &mut node.value {
        Value::Str(s) => *s = rewrite(s, template).into(),
        Value::Seq(items) => items.iter_mut().for_each(|i| rewrite_strings(i, template)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|e| rewrite_strings(&mut e.value, template)),
        _ => {}
    }
}

/// The kinds named in a `match` or `exclude` block (any of its forms), without group/version.
fn matched_kinds(block: Option<&Node>) -> Vec<String> {
    let mut out = Vec::new();
    for f in filters(block) {
        if let Some(kinds) = f.get("kinds").and_then(Node::as_seq) {
            out.extend(
                kinds
                    .iter()
                    .filter_map(Node::as_str)
                    .map(|k| k.rsplit('/').next().unwrap_or(k).to_owned()),
            );
        }
    }
    out
}

/// The resource filters of a `match`/`exclude` block: `any[].resources`, `all[].resources`, or
/// the older `resources`.
fn filters(block: Option<&Node>) -> Vec<&Node> {
    let Some(block) = block else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for list in ["any", "all"] {
        if let Some(items) = block.get(list).and_then(Node::as_seq) {
            out.extend(items.iter().filter_map(|i| i.get("resources")));
        }
    }
    out.extend(block.get("resources"));
    out
}

/// What a rule judges: its `match` (any or all of its filters), minus its `exclude`, within
/// the policy's namespace for a namespaced `Policy`.
fn rule_matcher(r: &Resource, rule: &Node, p: &mut Problems) -> Matcher {
    let mut m = Matcher::default();
    if r.kind() == "Policy" {
        m.namespaces = vec![r.namespace().unwrap_or("default").to_owned()];
    }
    if let Some(block) = rule.get("match") {
        if let Some(any) = block.get("any").and_then(Node::as_seq) {
            m.any = any
                .iter()
                .filter_map(|i| i.get("resources"))
                .map(|f| filter(f, p))
                .collect();
        }
        if let Some(all) = block.get("all").and_then(Node::as_seq) {
            m.also.extend(
                all.iter()
                    .filter_map(|i| i.get("resources"))
                    .map(|f| filter(f, p)),
            );
        }
        if let Some(f) = block.get("resources") {
            m.also.push(filter(f, p));
        }
    }
    if let Some(block) = rule.get("exclude") {
        if let Some(any) = block.get("any").and_then(Node::as_seq) {
            m.none.extend(
                any.iter()
                    .filter_map(|i| i.get("resources"))
                    .map(|f| filter(f, p)),
            );
        }
        let all: Vec<Matcher> = block
            .get("all")
            .and_then(Node::as_seq)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.get("resources"))
                    .map(|f| filter(f, p))
                    .collect()
            })
            .unwrap_or_default();
        if !all.is_empty() {
            m.none.push(Matcher {
                also: all,
                ..Matcher::default()
            });
        }
        if let Some(f) = block.get("resources") {
            m.none.push(filter(f, p));
        }
    }
    m
}

/// One Kyverno resource filter.
fn filter(f: &Node, p: &mut Problems) -> Matcher {
    let mut m = Matcher::default();
    let strings =
        |p: &mut Problems, key: &str| f.get(key).map(|n| p.strings(n, key)).unwrap_or_default();
    let kinds = strings(p, "kinds");
    if !kinds.is_empty() {
        m.kinds = kinds
            .iter()
            .map(|k| {
                let parts: Vec<&str> = k.split('/').collect();
                match parts.as_slice() {
                    [group, _version, kind] => KindMatch {
                        groups: vec![(*group).to_owned()],
                        kinds: vec![(*kind).to_owned()],
                    },
                    [_version, kind] => KindMatch {
                        groups: vec![String::new()],
                        kinds: vec![(*kind).to_owned()],
                    },
                    _ => KindMatch {
                        groups: Vec::new(),
                        kinds: vec![k.clone()],
                    },
                }
            })
            .collect();
    }
    m.names = strings(p, "names");
    if let Some(n) = f.get("name").and_then(Node::as_str) {
        m.names.push(n.to_owned());
    }
    m.namespaces = strings(p, "namespaces");
    m.object_selector = f.get("selector").cloned();
    m.namespace_selector = f.get("namespaceSelector").cloned();
    let operations = strings(p, "operations");
    if !operations.is_empty() && !operations.iter().any(|o| o == "CREATE") {
        // A scan judges objects as if they were being created.
        m.never = true;
    }
    m
}
