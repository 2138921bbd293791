//! Rego policies, evaluated with regorus.
//!
//! A native policy is a `.rego` file whose `# METADATA` block (or `<name>.meta.yaml` sidecar)
//! carries its metadata under `custom:`, and whose `deny`, `violation` or `warn` rules yield
//! violations: strings, or objects with `msg` and an optional `path` (`spec.containers[0].image`
//! or `["spec", "containers", 0, "image"]`) that becomes the finding's field path and line.
//!
//! Input (native): `input.object` is the resource, `input.namespace` its Namespace object when
//! the scan holds it. `data.kspm.resources[kind][namespace][name]` is every object of the scan
//! (namespace `""` for cluster-scoped ones), built only when a policy mentions `data.kspm`.
//! Gatekeeper templates see `input.review` and `input.parameters`, and `data.inventory`.

use std::path::Path;

use kspm_model::{FieldPath, Pos};

use crate::admission::Matcher;
use crate::meta::{self, Meta};
use crate::{Body, Policy, Problems};

/// How the input document is shaped.
#[derive(Clone, Debug)]
pub(crate) enum Flavour {
    /// `input.object`, `input.namespace`.
    Native,
    /// Gatekeeper: `input.review.object`, `input.parameters`.
    Gatekeeper { parameters: regorus::Value },
}

pub(crate) struct RegoPolicy {
    /// Compiled and prepared; cloned once per worker thread for each scan.
    pub engine: regorus::Engine,
    /// `data.<package>.deny` and the like.
    pub queries: Vec<String>,
    pub flavour: Flavour,
    /// Whether it reads `data.kspm` or `data.inventory` (every object of the scan).
    pub wants_inventory: bool,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy")
            .field("queries", &self.queries)
            .field("wants_inventory", &self.wants_inventory)
            .finish_non_exhaustive()
    }
}

/// One violation a policy reported on one resource.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Violation {
    pub message: String,
    pub path: Option<FieldPath>,
}

/// Splits regorus's error text (`--> file:line:col`, a source excerpt, `error: message`) into
/// a position and a one-line message.
pub(crate) fn split_error(text: &str, line_offset: u32) -> (Pos, String) {
    let mut pos = Pos::default();
    if let Some(start) = text.find("--> ") {
        let loc = text[start + 4..].lines().next().unwrap_or("");
        let mut parts = loc.rsplitn(3, ':');
        let col = parts.next().and_then(|c| c.trim().parse::<u32>().ok());
        let line = parts.next().and_then(|l| l.trim().parse::<u32>().ok());
        if let (Some(line), Some(col)) = (line, col) {
            pos = Pos::new(line + line_offset, col);
        }
    }
    let message = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    (pos, message.to_owned())
}

/// Adds one module to an engine; `Err` carries the position and message of the problem.
pub(crate) fn add_module(
    engine: &mut regorus::Engine,
    file: &str,
    text: &str,
) -> Result<String, (Pos, String)> {
    if let Some((pos, name)) = recursive_function(text) {
        return Err((
            pos,
            format!(
                "function `{name}` calls itself (directly or through other functions): OPA rejects recursion (rego_recursion_error), and evaluating it would never end"
            ),
        ));
    }
    engine
        .add_policy(file.to_owned(), text.to_owned())
        .map_err(|e| split_error(&format!("{e}"), 0))
}

/// A user function that calls itself, directly or through others, in one module. regorus
/// detects recursive rules while evaluating but not recursive functions, which overflow the
/// stack and abort the process (with `--policy-memory 0` that is the scan itself). OPA rejects
/// both when compiling; this finds the function kind from the text: a function is a top-level
/// head `name(...)`, its body runs to the next top-level head, and it calls what its body names
/// with `name(`.
fn recursive_function(text: &str) -> Option<(Pos, String)> {
    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    }
    let lines: Vec<&str> = text.lines().collect();
    // (name, first line, first line of the next head)
    let mut heads: Vec<(&str, usize)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let l = l.strip_prefix("default ").unwrap_or(l);
        let name = ident(l);
        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            heads.push((name, i));
        }
    }
    let mut calls: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    let mut first: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let functions: std::collections::BTreeSet<&str> = heads
        .iter()
        .filter(|(n, i)| {
            let l = lines[*i].strip_prefix("default ").unwrap_or(lines[*i]);
            l[n.len()..].starts_with('(')
        })
        .map(|(n, _)| *n)
        .collect();
    for (k, (name, start)) in heads.iter().enumerate() {
        if !functions.contains(name) {
            continue;
        }
        first.entry(name).or_insert(*start);
        let end = heads.get(k + 1).map_or(lines.len(), |(_, e)| *e);
        let body = lines[*start..end].join("\n");
        let after_head = body.find(')').map_or("", |i| &body[i..]);
        for callee in &functions {
            let mut rest = after_head;
            while let Some(at) = rest.find(callee) {
                let before = rest[..at].chars().next_back();
                let tail = &rest[at + callee.len()..];
                if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
                    && tail.starts_with('(')
                {
                    calls.entry(name).or_default().insert(callee);
                    break;
                }
                rest = tail;
            }
        }
    }
    let mut state = std::collections::BTreeMap::new();
    for f in calls.keys() {
        if visit(f, &calls, &mut state) {
            let line = first.get(f).copied().unwrap_or(0);
            return Some((Pos::new(line as u32 + 1, 1), (*f).to_owned()));
        }
    }
    None
}

/// Whether `f` reaches a function on the current depth-first path (a cycle of calls).
fn visit<'a>(
    f: &'a str,
    calls: &std::collections::BTreeMap<&'a str, std::collections::BTreeSet<&'a str>>,
    state: &mut std::collections::BTreeMap<&'a str, u8>,
) -> bool {
    match state.get(f) {
        Some(1) => return true,
        Some(_) => return false,
        None => {}
    }
    state.insert(f, 1);
    for g in calls.get(f).into_iter().flatten() {
        if visit(g, calls, state) {
            return true;
        }
    }
    state.insert(f, 2);
    false
}

/// The entry rules a module declares, as full queries (`data.pkg.deny`).
pub(crate) fn entry_queries(
    engine: &regorus::Engine,
    file: &str,
    package: &str,
    names: &[&str],
) -> Vec<String> {
    names
        .iter()
        .filter(|n| engine.has_declared_rule_rooted_at(file, n).unwrap_or(false))
        .map(|n| format!("{package}.{n}"))
        .collect()
}

/// Compiles the entry rules, which reports what parsing alone does not (an unknown function, a
/// variable used unsafely...). The engine is left prepared, so clones start evaluating at once.
pub(crate) fn compile(
    engine: &mut regorus::Engine,
    queries: &[String],
) -> Result<(), (Pos, String)> {
    for q in queries {
        let rule: regorus::Rc<str> = q.as_str().into();
        if let Err(e) = engine.compile_with_entrypoint(&rule) {
            return Err(split_error(&format!("{e}"), 0));
        }
    }
    engine.set_gather_prints(false);
    Ok(())
}

/// The `# METADATA` block: its text with the comment markers removed, and the line it starts on.
fn metadata_block(text: &str) -> Option<(String, u32)> {
    let mut lines = text.lines().enumerate();
    let start = lines.find(|(_, l)| l.trim() == "# METADATA")?.0;
    let mut block = String::new();
    for (_, l) in text.lines().enumerate().skip(start + 1) {
        let Some(rest) = l.trim_start().strip_prefix('#') else {
            break;
        };
        block.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        block.push('\n');
    }
    Some((block, start as u32 + 1))
}

/// Reads METADATA-shaped YAML (`title`, `description`, `custom: {...}`) into `meta`; returns the
/// declared Rego version, if any.
fn read_metadata(
    text: &str,
    line_offset: u32,
    col_offset: u32,
    meta: &mut Meta,
    p: &mut Problems,
) -> Option<String> {
    let (docs, errors) = kspm_model::yaml::parse_stream(text, &kspm_model::yaml::Limits::default());
    let shift = |pos: Pos| {
        if pos.is_known() {
            Pos::new(pos.line + line_offset, pos.col + col_offset)
        } else {
            pos
        }
    };
    for e in errors {
        p.error(shift(e.pos), format!("METADATA: {}", e.message));
    }
    let root = docs.into_iter().next()?.root;
    let first = p.diagnostics.len();
    let mut version = None;
    if let Some(entries) = root.as_map() {
        for e in entries {
            match &*e.key {
                "title" => meta.title = p.string(&e.value, "title").unwrap_or_default(),
                "description" => {
                    meta.description = p.string(&e.value, "description").unwrap_or_default();
                }
                "custom" => {
                    meta::read_fields(&e.value, meta, p, &["rego_version"]);
                    if let Some(v) = e.value.get("rego_version") {
                        version = p.string(v, "rego_version");
                    }
                }
                // OPA's other annotations mean nothing to kspm.
                _ => {}
            }
        }
    }
    for d in &mut p.diagnostics[first..] {
        if let (Some(line), Some(col)) = (d.line, d.column) {
            let pos = shift(Pos::new(line, col));
            d.line = Some(pos.line);
            d.column = Some(pos.col);
        }
    }
    version
}

fn sidecar(file: &str) -> Option<std::path::PathBuf> {
    let path = Path::new(file);
    let stem = path.file_stem()?.to_str()?;
    ["meta.yaml", "meta.yml"]
        .iter()
        .map(|ext| path.with_file_name(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

/// Loads a native Rego policy file.
pub(crate) fn load_native(file: &str, text: &str, p: &mut Problems) -> Option<Policy> {
    let mut meta = Meta::default();
    let mut version = None;
    if let Some((block, line)) = metadata_block(text) {
        version = read_metadata(&block, line, 2, &mut meta, p);
    }
    if let Some(side) = sidecar(file) {
        match crate::read_policy_file(&side) {
            Ok(t) => {
                let mut sp = Problems::new(side.display().to_string());
                if let Some(v) = read_metadata(&t, 0, 0, &mut meta, &mut sp) {
                    version = Some(v);
                }
                p.diagnostics.append(&mut sp.diagnostics);
            }
            Err(e) => p.error(
                Pos::default(),
                format!("cannot read {}: {e}", side.display()),
            ),
        }
    }
    let v0 = match version.as_deref() {
        None | Some("v1") => false,
        Some("v0") => true,
        Some(other) => {
            p.error(
                Pos::default(),
                format!("rego_version `{other}` is not v0 or v1"),
            );
            false
        }
    };
    if p.errors() > 0 {
        p.error(Pos::default(), "policy skipped: its metadata has errors");
        return None;
    }
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(v0);
    let package = match add_module(&mut engine, file, text) {
        Ok(pkg) => pkg,
        Err((pos, msg)) => {
            let hint = if v0 {
                ""
            } else {
                " (Rego v1 is the default; a v0 policy says `rego_version: v0` under `custom:` in its METADATA)"
            };
            p.error(
                pos,
                format!("Rego syntax error: {msg}{hint}; policy skipped"),
            );
            return None;
        }
    };
    let queries = entry_queries(&engine, file, &package, &["deny", "violation", "warn"]);
    if queries.is_empty() {
        p.error(
            Pos::new(1, 1),
            format!("{package} declares no `deny`, `violation` or `warn` rule; policy skipped"),
        );
        return None;
    }
    if let Err((pos, msg)) = compile(&mut engine, &queries) {
        p.error(pos, format!("Rego error: {msg}; policy skipped"));
        return None;
    }
    if meta.slug.is_empty() {
        let last = package.rsplit('.').next().unwrap_or(&package);
        meta.slug = meta::kebab(if meta.title.is_empty() {
            last
        } else {
            &meta.title
        });
    }
    let rule = match kspm_rules::register(meta::to_rule(&meta, "Rego", file)) {
        Ok(r) => r,
        Err(e) => {
            p.error(Pos::new(1, 1), format!("policy skipped: {e}"));
            return None;
        }
    };
    Some(Policy {
        rule,
        file: file.into(),
        matcher: Matcher::kinds(&meta.kinds),
        body: Body::Rego(Box::new(RegoPolicy {
            engine,
            queries,
            flavour: Flavour::Native,
            wants_inventory: text.contains("data.kspm"),
        })),
    })
}

/// Why a Rego policy could not be evaluated on one object.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegoError {
    /// The interpreter's time limit stopped it.
    #[error("exceeded time limit")]
    OverTime,
    /// A rule failed: the interpreter's message, without its source excerpt.
    #[error("{0}")]
    Rule(String),
    /// The result is not representable as JSON.
    #[error("{0}")]
    Value(serde_json::Error),
}

/// Evaluates the policy's entry rules with `input`; the engine is one of the policy's clones.
pub(crate) fn evaluate(
    policy: &RegoPolicy,
    engine: &mut regorus::Engine,
    input: &regorus::Value,
) -> Result<Vec<Violation>, RegoError> {
    let mut out = Vec::new();
    for q in &policy.queries {
        engine.set_input(input.clone());
        let value = engine.eval_rule(q.clone()).map_err(|e| {
            let text = format!("{e:#}");
            // regorus stops a rule at the time limit it was given; its error says so in words
            // when it does not carry its `LimitError`.
            if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<regorus::LimitError>(),
                    Some(regorus::LimitError::TimeLimitExceeded { .. })
                )
            }) || text.contains("exceeded time limit")
            {
                return RegoError::OverTime;
            }
            RegoError::Rule(split_error(&text, 0).1)
        })?;
        if matches!(value, regorus::Value::Undefined) {
            continue;
        }
        let json = serde_json::to_value(&value).map_err(RegoError::Value)?;
        match json {
            serde_json::Value::Array(items) => out.extend(items.iter().map(violation)),
            serde_json::Value::Bool(false) | serde_json::Value::Null => {}
            other => out.push(violation(&other)),
        }
    }
    Ok(out)
}

fn violation(item: &serde_json::Value) -> Violation {
    match item {
        serde_json::Value::String(s) => Violation {
            message: s.clone(),
            path: None,
        },
        serde_json::Value::Object(map) => {
            let message = map
                .get("msg")
                .or_else(|| map.get("message"))
                .and_then(|m| m.as_str())
                .map_or_else(|| item.to_string(), str::to_owned);
            Violation {
                message,
                path: map.get("path").and_then(field_path),
            }
        }
        other => Violation {
            message: other.to_string(),
            path: None,
        },
    }
}

/// `"spec.containers[0].image"`, `".spec.replicas"` or `["spec", "containers", 0]`.
pub(crate) fn field_path(v: &serde_json::Value) -> Option<FieldPath> {
    match v {
        serde_json::Value::String(s) => Some(FieldPath::parse(s.trim().trim_start_matches('.'))),
        serde_json::Value::Array(items) => {
            let mut path = FieldPath::root();
            for item in items {
                path = match item {
                    serde_json::Value::String(k) => path.key(k),
                    serde_json::Value::Number(n) => path.index(usize::try_from(n.as_u64()?).ok()?),
                    _ => return None,
                };
            }
            Some(path)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regorus_errors_become_positions() {
        let text = "\n--> policies/x.rego:7:12\n  |\n7 | deny if {\n  |            ^\nerror: unexpected token";
        let (pos, msg) = split_error(text, 0);
        assert_eq!(pos, Pos::new(7, 12));
        assert_eq!(msg, "unexpected token");
    }

    #[test]
    fn recursive_functions_are_refused_before_evaluation() {
        let direct =
            "package r\n\nf(x) := y if { y := f(x + 1) }\n\ndeny contains \"b\" if { f(1) > 0 }\n";
        assert_eq!(
            recursive_function(direct).map(|(_, n)| n).as_deref(),
            Some("f")
        );
        let mutual =
            "package r\n\nodd(x) if {\n  even(x - 1)\n}\n\neven(x) if {\n  odd(x - 1)\n}\n";
        assert!(recursive_function(mutual).is_some());
        // Calls without a cycle, a rule named like a function's prefix, and builtins are fine.
        let fine = "package r\n\nf(x) := g(x) + count(x)\ng(x) := x\nff := f([1])\ndeny contains m if { m := sprintf(\"%v\", [ff]) }\n";
        assert!(recursive_function(fine).is_none());
    }

    #[test]
    fn paths_in_both_forms() {
        let a = field_path(&serde_json::json!("spec.containers[0].image")).unwrap();
        let b = field_path(&serde_json::json!(["spec", "containers", 0, "image"])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "spec.containers[0].image");
    }
}
