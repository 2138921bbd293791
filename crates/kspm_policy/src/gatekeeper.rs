//! Gatekeeper ConstraintTemplates and their Constraints, imported as they are.
//!
//! A template's Rego (`spec.targets[].rego` with its `libs`, or a `code` entry of engine `Rego`)
//! is compiled once, as Rego v0 unless its source says `version: v1`; its `violation` rule sees
//! `input.review.object`, `input.parameters` (the constraint's `spec.parameters`) and
//! `data.inventory` (the scan's objects, in Gatekeeper's layout). A template with only a
//! `K8sNativeValidation` code entry is evaluated as CEL, with the parameters as `params` and
//! `variables.params`. Each Constraint becomes one rule (`gk:<Kind>:<name>`) with its own match.

use std::collections::HashMap;

use kspm_model::{Diagnostic, Node, Resource, Severity};

use crate::admission::{self, KindMatch, Matcher, Scope};
use crate::cel::{self, CelPolicy, Params};
use crate::meta;
use crate::rego::{self, Flavour, RegoPolicy};
use crate::{Body, Policy, Problems};

/// A compiled template.
enum Compiled {
    Rego {
        engine: Box<regorus::Engine>,
        queries: Vec<String>,
        wants_inventory: bool,
    },
    Cel(CelPolicy),
}

/// The Rego code of a template target: (text, its node for positions, libs, v1?).
fn rego_source(target: &Node) -> Option<(&Node, Vec<&Node>, bool)> {
    if let Some(rego) = target.get("rego") {
        let libs = target
            .get("libs")
            .and_then(Node::as_seq)
            .map(|l| l.iter().collect())
            .unwrap_or_default();
        return Some((rego, libs, false));
    }
    let code = target.get("code")?.as_seq()?;
    let entry = code
        .iter()
        .find(|c| c.get("engine").and_then(Node::as_str) == Some("Rego"))?;
    let source = entry.get("source")?;
    let rego = source.get("rego")?;
    let libs = source
        .get("libs")
        .and_then(Node::as_seq)
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    let v1 = source.get("version").and_then(Node::as_str) == Some("v1");
    Some((rego, libs, v1))
}

fn cel_source(target: &Node) -> Option<&Node> {
    target
        .get("code")?
        .as_seq()?
        .iter()
        .find(|c| c.get("engine").and_then(Node::as_str) == Some("K8sNativeValidation"))?
        .get("source")
}

fn compile_template(t: &Resource, p: &mut Problems) -> Option<Compiled> {
    let target = t
        .spec()
        .and_then(|s| s.get("targets"))
        .and_then(Node::as_seq)
        .and_then(|ts| ts.first());
    let Some(target) = target else {
        p.error(
            t.root.pos,
            format!("ConstraintTemplate {} has no spec.targets", t.name()),
        );
        return None;
    };
    if let Some((rego_node, libs, v1)) = rego_source(target) {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(!v1);
        let file = &*t.source.file;
        let mut text_all = String::new();
        // Block scalars start on the line after their key: Rego line 1 is the key's line + 1.
        let mut modules = vec![(format!("{file}#{}", t.name()), rego_node)];
        for (i, lib) in libs.iter().enumerate() {
            modules.push((format!("{file}#{}-lib{i}", t.name()), lib));
        }
        let mut package = String::new();
        for (i, (name, node)) in modules.iter().enumerate() {
            let text = p.string(node, "rego")?;
            text_all.push_str(&text);
            match engine.add_policy(name.clone(), text) {
                Ok(pkg) => {
                    if i == 0 {
                        package = pkg;
                    }
                }
                Err(e) => {
                    let (pos, msg) = rego::split_error(&format!("{e}"), node.pos.line);
                    p.error(
                        pos,
                        format!(
                            "Rego syntax error in ConstraintTemplate {}: {msg}; template skipped",
                            t.name()
                        ),
                    );
                    return None;
                }
            }
        }
        let main = &modules[0].0;
        let queries = rego::entry_queries(&engine, main, &package, &["violation", "deny"]);
        if queries.is_empty() {
            p.error(
                rego_node.pos,
                format!("ConstraintTemplate {}: {package} declares no `violation` rule; template skipped", t.name()),
            );
            return None;
        }
        if let Err((pos, msg)) = rego::compile(&mut engine, &queries) {
            let pos = if pos.is_known() {
                kspm_model::Pos::new(pos.line + rego_node.pos.line, pos.col)
            } else {
                rego_node.pos
            };
            p.error(
                pos,
                format!(
                    "Rego error in ConstraintTemplate {}: {msg}; template skipped",
                    t.name()
                ),
            );
            return None;
        }
        return Some(Compiled::Rego {
            engine: Box::new(engine),
            queries,
            wants_inventory: text_all.contains("data.inventory"),
        });
    }
    if let Some(source) = cel_source(target) {
        let mut policy = cel::compile_spec(source, p)?;
        policy.params_in_variables = true;
        return Some(Compiled::Cel(policy));
    }
    p.error(
        target.pos,
        format!(
            "ConstraintTemplate {} has neither Rego nor K8sNativeValidation code",
            t.name()
        ),
    );
    None
}

/// A constraint's `spec.match`.
fn matcher(spec: Option<&Node>, p: &mut Problems) -> Matcher {
    let mut m = Matcher::default();
    let Some(node) = spec.and_then(|s| s.get("match")) else {
        return m;
    };
    if let Some(kinds) = node.get("kinds").and_then(Node::as_seq) {
        for k in kinds {
            m.kinds.push(KindMatch {
                groups: k
                    .get("apiGroups")
                    .map(|g| p.strings(g, "apiGroups"))
                    .unwrap_or_default(),
                kinds: k
                    .get("kinds")
                    .map(|g| p.strings(g, "kinds"))
                    .unwrap_or_default(),
            });
        }
    }
    let list =
        |p: &mut Problems, key: &str| node.get(key).map(|n| p.strings(n, key)).unwrap_or_default();
    m.namespaces = list(p, "namespaces");
    m.excluded_namespaces = list(p, "excludedNamespaces");
    if let Some(n) = node.get("name").and_then(Node::as_str) {
        m.names.push(n.to_owned());
    }
    m.object_selector = node.get("labelSelector").cloned();
    m.namespace_selector = node.get("namespaceSelector").cloned();
    m.scope = match node.get("scope").and_then(Node::as_str) {
        Some("Namespaced") => Scope::Namespaced,
        Some("Cluster") => Scope::Cluster,
        _ => Scope::Any,
    };
    m
}

pub(crate) fn load(
    templates: &[&Resource],
    constraints: &[&Resource],
    policies: &mut Vec<Policy>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut by_kind: HashMap<String, (&Resource, Option<Compiled>)> = HashMap::new();
    for t in templates {
        let mut p = Problems::new(t.source.file.clone());
        let kind = t
            .spec()
            .and_then(|s| s.at(&["crd", "spec", "names", "kind"]))
            .and_then(Node::as_str);
        match kind {
            Some(kind) => {
                let compiled = compile_template(t, &mut p);
                if !constraints.iter().any(|c| c.kind() == kind) {
                    p.warning(
                        t.root.pos,
                        format!("ConstraintTemplate {} has no {kind} constraint among the loaded policies: nothing to evaluate", t.name()),
                    );
                }
                by_kind.insert(kind.to_owned(), (t, compiled));
            }
            None => p.error(
                t.root.pos,
                format!(
                    "ConstraintTemplate {} has no spec.crd.spec.names.kind",
                    t.name()
                ),
            ),
        }
        diags.extend(p.diagnostics);
    }
    for c in constraints {
        let mut p = Problems::new(c.source.file.clone());
        let Some((template, compiled)) = by_kind.get(c.kind()) else {
            p.error(
                c.root.pos,
                format!("constraint {} is of kind {}, whose ConstraintTemplate is not among the loaded policies; skipped", c.name(), c.kind()),
            );
            diags.extend(p.diagnostics);
            continue;
        };
        let Some(compiled) = compiled else {
            // The template's own error is reported once, with the template.
            continue;
        };
        let spec = c.spec();
        let code = format!("gk:{}:{}", c.kind(), c.name());
        let mut meta = admission::annotated_meta(c, &code, &meta::kebab(c.name()), &mut p);
        if c.annotation("kspm.io/title").is_none() {
            meta.title = template
                .annotation("metadata.gatekeeper.sh/title")
                .map_or_else(
                    || format!("{} {}", c.kind(), c.name()),
                    |t| format!("{t} ({})", c.name()),
                );
        }
        if meta.description.is_empty() {
            template
                .annotation("description")
                .unwrap_or("")
                .clone_into(&mut meta.description);
        }
        let action = spec
            .and_then(|s| s.get("enforcementAction"))
            .and_then(Node::as_str)
            .unwrap_or("deny");
        let fallback = match action {
            "warn" => Severity::Medium,
            "dryrun" => Severity::Low,
            _ => Severity::High,
        };
        let from_template = admission::severity_of(template, fallback, &mut p);
        meta.severity = Some(admission::severity_of(c, from_template, &mut p));
        let parameters = spec
            .and_then(|s| s.get("parameters"))
            .cloned()
            .unwrap_or_else(|| Node::from_json(&serde_json::json!({})));
        let body = match compiled {
            Compiled::Rego {
                engine,
                queries,
                wants_inventory,
            } => Body::Rego(Box::new(RegoPolicy {
                engine: (**engine).clone(),
                queries: queries.clone(),
                flavour: Flavour::Gatekeeper {
                    parameters: regorus::Value::from(parameters.to_json()),
                },
                wants_inventory: *wants_inventory,
            })),
            Compiled::Cel(policy) => Body::Cel(CelPolicy {
                params: Some(vec![Params {
                    name: c.name().to_owned(),
                    value: cel::node_to_cel(&parameters),
                }]),
                ..policy.clone()
            }),
        };
        let m = matcher(spec, &mut p);
        match kspm_rules::register(meta::to_rule(&meta, "Gatekeeper", &c.source.file)) {
            Ok(rule) => policies.push(Policy {
                rule,
                file: c.source.file.clone(),
                matcher: m,
                body,
            }),
            Err(e) => p.error(c.root.pos, format!("constraint skipped: {e}")),
        }
        diags.extend(p.diagnostics);
    }
}
