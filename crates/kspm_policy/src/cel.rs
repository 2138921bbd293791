//! CEL policies, evaluated with the `cel` crate and kube-cel's Kubernetes libraries (strings,
//! lists, sets, regex, url, ip/cidr, semver, quantity, format, named formats, math, base64).
//!
//! The same evaluator serves three sources: kspm's own `CELPolicy` files, imported
//! ValidatingAdmissionPolicies, and Gatekeeper templates' `K8sNativeValidation` code. The
//! variables are those of a ValidatingAdmissionPolicy: `object`, `oldObject` (null: a scan judges
//! objects as if created), `request`, `params`, `namespaceObject` and `variables`; `authorizer`
//! is not available (there is no API server to ask).

use std::collections::HashMap;
use std::sync::Arc;

use kspm_model::{FieldPath, Node, Pos, Resource, Value as NodeValue};
use kube_cel::KubeCelExt;
use kube_cel::cel::{Context, Program, Value};

use crate::admission::{Matcher, effective_namespace, plural};
use crate::meta::{self, Meta};
use crate::rego::Violation;
use crate::{Body, Policy, Problems};

/// A compiled expression and its text.
#[derive(Clone)]
pub(crate) struct Expr {
    pub source: Arc<str>,
    pub program: Arc<Program>,
}

#[derive(Clone)]
pub(crate) struct Validation {
    pub expr: Expr,
    pub message: Option<String>,
    pub message_expr: Option<Expr>,
    pub path: Option<FieldPath>,
}

/// A params object bound to `params`.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub name: String,
    pub value: Value,
}

#[derive(Clone, Default)]
pub(crate) struct CelPolicy {
    pub match_conditions: Vec<(String, Expr)>,
    pub variables: Vec<(String, Expr)>,
    pub validations: Vec<Validation>,
    /// `None`: the policy takes no params. `Some(empty)`: it takes params, none were found, and
    /// the binding says to deny then.
    pub params: Option<Vec<Params>>,
    /// Gatekeeper binds the constraint's parameters as `variables.params` too.
    pub params_in_variables: bool,
}

impl std::fmt::Debug for CelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v: Vec<&str> = self.validations.iter().map(|v| &*v.expr.source).collect();
        f.debug_struct("CelPolicy")
            .field("validations", &v)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The function library, registered once per thread (a `Context` is not `Sync`); each
    /// evaluation binds its variables in a child scope.
    static BASE: Context<'static> = {
        let mut ctx = Context::default();
        ctx.register_all();
        ctx
    };
}

/// Converts a located tree to a CEL value (integers stay signed, as Kubernetes' CEL sees them).
pub(crate) fn node_to_cel(node: &Node) -> Value {
    match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(*b),
        NodeValue::Int(i) => Value::Int(*i),
        NodeValue::Float(f) => Value::Float(*f),
        NodeValue::Str(s) => Value::String(Arc::new(s.to_string())),
        NodeValue::Seq(items) => Value::List(Arc::new(items.iter().map(node_to_cel).collect())),
        NodeValue::Map(entries) => {
            let map: HashMap<String, Value> = entries
                .iter()
                .map(|e| (e.key.to_string(), node_to_cel(&e.value)))
                .collect();
            Value::from(map)
        }
    }
}

fn string(s: &str) -> Value {
    Value::String(Arc::new(s.to_owned()))
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let m: HashMap<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Value::from(m)
}

/// The `request` variable for an object judged as if it were being created.
pub(crate) fn request(r: &Resource) -> Value {
    let version = r.api_version().rsplit('/').next().unwrap_or("");
    map(vec![
        ("operation", string("CREATE")),
        ("name", string(r.name())),
        ("namespace", string(effective_namespace(r).unwrap_or(""))),
        ("dryRun", Value::Bool(true)),
        (
            "kind",
            map(vec![
                ("group", string(r.group())),
                ("version", string(version)),
                ("kind", string(r.kind())),
            ]),
        ),
        (
            "resource",
            map(vec![
                ("group", string(r.group())),
                ("version", string(version)),
                ("resource", string(&plural(r.kind()))),
            ]),
        ),
        (
            "userInfo",
            map(vec![
                ("username", string("kspm")),
                ("groups", Value::List(Arc::new(Vec::new()))),
            ]),
        ),
    ])
}

/// The variables a ValidatingAdmissionPolicy expression may use.
const VARIABLES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "authorizer",
    "variables",
];

/// Type names an expression may mention (`type(x) == string`).
const TYPE_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "type",
    "null_type",
    "dyn",
];

/// Collects the identifiers `e` reads that are neither variables, type names, nor bound by an
/// enclosing comprehension (`c` in `containers.all(c, ...)`): a misspelt `objet` is caught when
/// the policy loads, not on the first object (`cel` has no type checker; this is its cheapest
/// part). A name directly before a method call is left alone: it may be a function namespace.
fn undeclared<'e>(
    e: &'e kube_cel::cel::IdedExpr,
    bound: &mut Vec<&'e str>,
    out: &mut std::collections::BTreeSet<String>,
) {
    use kube_cel::cel::common::ast::{EntryExpr, Expr as E};
    match &e.expr {
        E::Ident(name) => {
            let known = name.starts_with('@')
                || bound.contains(&name.as_str())
                || VARIABLES.contains(&name.as_str())
                || TYPE_NAMES.contains(&name.as_str());
            if !known {
                out.insert(name.clone());
            }
        }
        E::Call(call) => {
            // A bare name before a call is a function namespace (`format.dns1123Label()`,
            // `optional.none()`, `math.greatest(...)`), not a variable.
            if let Some(t) = &call.target
                && !matches!(t.expr, E::Ident(_))
            {
                undeclared(t, bound, out);
            }
            for a in &call.args {
                undeclared(a, bound, out);
            }
        }
        E::Comprehension(c) => {
            undeclared(&c.iter_range, bound, out);
            undeclared(&c.accu_init, bound, out);
            let depth = bound.len();
            bound.push(&c.iter_var);
            if let Some(v) = &c.iter_var2 {
                bound.push(v);
            }
            bound.push(&c.accu_var);
            undeclared(&c.loop_cond, bound, out);
            undeclared(&c.loop_step, bound, out);
            undeclared(&c.result, bound, out);
            bound.truncate(depth);
        }
        E::List(l) => {
            for x in &l.elements {
                undeclared(x, bound, out);
            }
        }
        E::Map(m) => {
            for entry in &m.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(kv) => {
                        undeclared(&kv.key, bound, out);
                        undeclared(&kv.value, bound, out);
                    }
                    EntryExpr::StructField(f) => undeclared(&f.value, bound, out),
                }
            }
        }
        E::Struct(st) => {
            for entry in &st.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    undeclared(&f.value, bound, out);
                }
            }
        }
        E::Select(sel) => undeclared(&sel.operand, bound, out),
        E::Literal(_) | E::Unspecified => {}
    }
}

/// Compiles one expression; syntax errors name the expression's position in the policy file.
fn compile(node: &Node, what: &str, p: &mut Problems) -> Option<Expr> {
    let src = p.string(node, what)?;
    match Program::compile(&src) {
        Ok(program) => {
            let mut unknown = std::collections::BTreeSet::new();
            undeclared(program.expression(), &mut Vec::new(), &mut unknown);
            if !unknown.is_empty() {
                let names: Vec<String> = unknown.iter().map(|n| format!("`{n}`")).collect();
                p.error(
                    node.pos,
                    format!(
                        "CEL error in {what}: undeclared reference to {} (the variables are {})",
                        names.join(", "),
                        VARIABLES.join(", ")
                    ),
                );
                return None;
            }
            Some(Expr {
                source: src.into(),
                program: Arc::new(program),
            })
        }
        Err(errors) => {
            for e in errors.errors {
                let (line, col) = e.pos;
                p.error(
                    node.pos,
                    format!(
                        "CEL syntax error in {what} (expression line {}, column {}): {}",
                        line.max(1),
                        col.max(0) + 1,
                        e.msg
                    ),
                );
            }
            None
        }
    }
}

/// `[{name, expression}]`: matchConditions and variables.
fn named_list(node: Option<&Node>, what: &str, p: &mut Problems) -> Option<Vec<(String, Expr)>> {
    let mut out = Vec::new();
    let Some(node) = node else {
        return Some(out);
    };
    let Some(items) = node.as_seq() else {
        p.error(node.pos, format!("{what} must be a list"));
        return None;
    };
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(|n| p.string(n, "name"));
        let expr = item.get("expression");
        match (name, expr) {
            (Some(name), Some(e)) => match compile(e, &format!("{what}[{i}].expression"), p) {
                Some(x) => out.push((name, x)),
                None => ok = false,
            },
            _ => {
                p.error(
                    item.pos,
                    format!("{what}[{i}] needs `name` and `expression`"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Compiles the CEL parts of a ValidatingAdmissionPolicy-shaped spec (`matchConditions`,
/// `variables`, `validations`); `None` when something does not compile (reported).
pub(crate) fn compile_spec(spec: &Node, p: &mut Problems) -> Option<CelPolicy> {
    let match_conditions = named_list(spec.get("matchConditions"), "matchConditions", p);
    let variables = named_list(spec.get("variables"), "variables", p);
    let mut validations = Vec::new();
    let mut ok = true;
    match spec.get("validations").map(|v| (v, v.as_seq())) {
        Some((_, Some(items))) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let what = format!("validations[{i}]");
                let Some(e) = item.get("expression") else {
                    p.error(item.pos, format!("{what} has no `expression`"));
                    ok = false;
                    continue;
                };
                let expr = compile(e, &format!("{what}.expression"), p);
                let message_expr = match item.get("messageExpression") {
                    Some(n) => {
                        let x = compile(n, &format!("{what}.messageExpression"), p);
                        ok &= x.is_some();
                        x
                    }
                    None => None,
                };
                let message = item.get("message").and_then(|n| p.string(n, "message"));
                let path = item
                    .get("fieldPath")
                    .and_then(|n| p.string(n, "fieldPath"))
                    .map(|s| FieldPath::parse(s.trim().trim_start_matches('.')));
                match expr {
                    Some(expr) => validations.push(Validation {
                        expr,
                        message,
                        message_expr,
                        path,
                    }),
                    None => ok = false,
                }
            }
        }
        Some((v, _)) => {
            p.error(v.pos, "`validations` must be a non-empty list");
            ok = false;
        }
        None => {
            p.error(spec.pos, "no `validations`: nothing to check");
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    Some(CelPolicy {
        match_conditions: match_conditions?,
        variables: variables?,
        validations,
        params: None,
        params_in_variables: false,
    })
}

/// Keys of a kspm `CELPolicy` spec besides the shared metadata keys.
const CEL_SPEC_KEYS: &[&str] = &[
    "match",
    "matchConstraints",
    "matchConditions",
    "variables",
    "validations",
    "failurePolicy",
    "auditAnnotations",
];

/// Loads a kspm `CELPolicy` object.
pub(crate) fn load_native(r: &Resource, p: &mut Problems) -> Option<Policy> {
    let Some(spec) = r.spec() else {
        p.error(r.root.pos, format!("CELPolicy {} has no spec", r.name()));
        return None;
    };
    let mut meta = Meta {
        slug: meta::kebab(r.name()),
        ..Meta::default()
    };
    meta::read_fields(spec, &mut meta, p, CEL_SPEC_KEYS);
    let mut matcher = crate::admission::match_resources(spec.get("matchConstraints"), p);
    if let Some(m) = spec.get("match") {
        if let Some(kinds) = m.get("kinds") {
            meta.kinds = p.strings(kinds, "match.kinds");
        }
        matcher.namespace_selector = m.get("namespaceSelector").cloned();
        matcher.object_selector = m.get("objectSelector").cloned();
        if let Some(n) = m.get("namespaces") {
            matcher.namespaces = p.strings(n, "match.namespaces");
        }
        if let Some(n) = m.get("excludedNamespaces") {
            matcher.excluded_namespaces = p.strings(n, "match.excludedNamespaces");
        }
    }
    matcher.also.push(Matcher::kinds(&meta.kinds));
    let compiled = compile_spec(spec, p);
    if p.errors() > 0 {
        p.error(Pos::default(), format!("CELPolicy {} skipped", r.name()));
        return None;
    }
    let rule = match kspm_rules::register(meta::to_rule(&meta, "CEL", &r.source.file)) {
        Ok(rule) => rule,
        Err(e) => {
            p.error(r.root.pos, format!("policy skipped: {e}"));
            return None;
        }
    };
    Some(Policy {
        rule,
        file: r.source.file.clone(),
        matcher,
        body: Body::Cel(compiled?),
    })
}

/// Runs `f` with this thread's function library.
pub(crate) fn with_base<R>(f: impl FnOnce(&Context<'static>) -> R) -> R {
    BASE.with(f)
}

/// The variables of one object, bound once and shared by every CEL policy judging it (the
/// `cel` crate converts a bound value into its own tree, which costs as much as the object).
pub(crate) fn resource_scope<'a>(
    base: &'a Context<'static>,
    r: &Resource,
    namespace: Option<&Resource>,
) -> Context<'a> {
    let mut ctx = base.new_inner_scope();
    ctx.add_variable_from_value("object", node_to_cel(&r.root));
    ctx.add_variable_from_value("oldObject", Value::Null);
    ctx.add_variable_from_value("request", request(r));
    // Kubernetes always declares `namespaceObject`; it is null for cluster-scoped objects and
    // when the namespace is unknown (here: not among the scanned objects).
    ctx.add_variable_from_value(
        "namespaceObject",
        namespace.map_or(Value::Null, |ns| node_to_cel(&ns.root)),
    );
    ctx
}

/// Why a CEL policy could not be evaluated on one object. Every message quotes the expression
/// or names the condition, as the API server's would.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CelError {
    /// An expression failed: the interpreter's message.
    #[error("`{expression}`: {message}")]
    Expression { expression: String, message: String },
    /// An expression or condition that must give a boolean gave something else.
    #[error("{what} returned {got}, not a boolean")]
    NotBoolean { what: String, got: String },
    /// A match condition failed.
    #[error("matchCondition {name}: {error}")]
    MatchCondition { name: String, error: Box<CelError> },
    /// An expression failed after variables did (their failures follow; one of them is
    /// usually the cause).
    #[error("{error} ({})", variables.join("; "))]
    WithVariables {
        error: Box<CelError>,
        variables: Vec<String>,
    },
}

fn run(expr: &Expr, ctx: &Context<'_>) -> Result<Value, CelError> {
    expr.program.execute(ctx).map_err(|e| CelError::Expression {
        expression: expr.source.to_string(),
        message: e.to_string(),
    })
}

/// Evaluates the policy on one object (`scope` from [`resource_scope`]): its violations, or the
/// first evaluation error.
pub(crate) fn evaluate(
    policy: &CelPolicy,
    scope: &Context<'_>,
) -> Result<Vec<Violation>, CelError> {
    match &policy.params {
        None => evaluate_with(policy, scope, None),
        Some(list) if list.is_empty() => Ok(vec![Violation {
            message: "no params object found for this policy, and its binding says to deny then"
                .to_owned(),
            path: None,
        }]),
        Some(list) => {
            let mut out = Vec::new();
            for params in list {
                let mut v = evaluate_with(policy, scope, Some(params))?;
                if list.len() > 1 {
                    for x in &mut v {
                        x.message = format!("{} (params {})", x.message, params.name);
                    }
                }
                out.extend(v);
            }
            Ok(out)
        }
    }
}

fn evaluate_with(
    policy: &CelPolicy,
    scope: &Context<'_>,
    params: Option<&Params>,
) -> Result<Vec<Violation>, CelError> {
    {
        let mut ctx = scope.new_inner_scope();
        let mut vars: HashMap<String, Value> = HashMap::new();
        if let Some(p) = params {
            ctx.add_variable_from_value("params", p.value.clone());
            if policy.params_in_variables {
                vars.insert("params".to_owned(), p.value.clone());
            }
        }
        // Variables are computed in order, each seeing the ones before it. One that fails is
        // left out; an expression that needs it then fails with its error attached.
        let mut var_errors = Vec::new();
        ctx.add_variable_from_value("variables", Value::from(vars.clone()));
        for (name, expr) in &policy.variables {
            match run(expr, &ctx) {
                Ok(v) => {
                    vars.insert(name.clone(), v);
                    ctx.add_variable_from_value("variables", Value::from(vars.clone()));
                }
                Err(e) => var_errors.push(format!("variable {name}: {e}")),
            }
        }
        let with_vars = |e: CelError| {
            if var_errors.is_empty() {
                e
            } else {
                CelError::WithVariables {
                    error: Box::new(e),
                    variables: var_errors.clone(),
                }
            }
        };
        for (name, cond) in &policy.match_conditions {
            match run(cond, &ctx) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => return Ok(Vec::new()),
                Ok(other) => {
                    return Err(CelError::NotBoolean {
                        what: format!("matchCondition {name}"),
                        got: format!("{other:?}"),
                    });
                }
                Err(e) => {
                    return Err(with_vars(CelError::MatchCondition {
                        name: name.clone(),
                        error: Box::new(e),
                    }));
                }
            }
        }
        let mut out = Vec::new();
        for v in &policy.validations {
            match run(&v.expr, &ctx).map_err(with_vars)? {
                Value::Bool(true) => {}
                Value::Bool(false) => {
                    let message = v
                        .message_expr
                        .as_ref()
                        .and_then(|m| match run(m, &ctx) {
                            Ok(Value::String(s)) if !s.trim().is_empty() => Some((*s).clone()),
                            _ => None,
                        })
                        .or_else(|| v.message.clone())
                        .unwrap_or_else(|| format!("failed expression: {}", v.expr.source));
                    out.push(Violation {
                        message,
                        path: v.path.clone(),
                    });
                }
                other => {
                    return Err(CelError::NotBoolean {
                        what: format!("`{}`", v.expr.source),
                        got: format!("{other:?}"),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str, object: &str) -> Result<Vec<Violation>, String> {
        let (docs, _) =
            kspm_model::yaml::parse_stream(object, &kspm_model::yaml::Limits::default());
        let root = docs.into_iter().next().unwrap().root;
        let r = Resource::from_node(
            root,
            kspm_model::Source {
                file: "t.yaml".into(),
                doc: 0,
                origin: None,
            },
        )
        .unwrap();
        let spec_src = format!("validations:\n- expression: {expr:?}\n  message: nope\n");
        let (docs, _) =
            kspm_model::yaml::parse_stream(&spec_src, &kspm_model::yaml::Limits::default());
        let mut p = Problems::new("p.yaml");
        let policy = compile_spec(&docs[0].root, &mut p).expect("compiles");
        with_base(|base| evaluate(&policy, &resource_scope(base, &r, None)))
            .map_err(|e| e.to_string())
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 5\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx:latest\n        resources: {limits: {memory: 2Gi}}\n";

    #[test]
    fn kubernetes_libraries_are_available() {
        // quantity, lists, regex, url, ip, format: each must evaluate, not error.
        for expr in [
            "object.spec.template.spec.containers.all(c, quantity(c.resources.limits.memory).isLessThan(quantity('4Gi')))",
            "[3, 1, 2].sort() == [1, 2, 3]",
            "object.spec.template.spec.containers[0].image.matches('^nginx')",
            "url('https://example.com:8443/x').getPort() == '8443'",
            "cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))",
            "'%s-%d'.format(['a', 1]) == 'a-1'",
            "!format.dns1123Label().validate(object.metadata.name).hasValue()",
            "request.operation == 'CREATE' && request.namespace == 'shop'",
        ] {
            assert_eq!(eval(expr, DEPLOY), Ok(Vec::new()), "{expr}");
        }
    }

    #[test]
    fn false_is_a_violation_and_errors_are_errors() {
        let v = eval("object.spec.replicas <= 3", DEPLOY).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].message, "nope");
        let e = eval("object.spec.nothere.x == 1", DEPLOY).unwrap_err();
        assert!(e.contains("nothere"), "{e}");
    }

    /// Issue 15: without the Namespace among the scanned objects, `namespaceObject` is null, as
    /// in Kubernetes, not an undeclared reference.
    #[test]
    fn namespace_object_is_null_when_the_namespace_is_unknown() {
        let guarded = "namespaceObject == null || namespaceObject.metadata.name == 'shop'";
        assert_eq!(eval(guarded, DEPLOY), Ok(Vec::new()));
        assert_eq!(eval("namespaceObject != null", DEPLOY).unwrap().len(), 1);
    }

    #[test]
    fn syntax_errors_name_the_expression() {
        let (docs, _) = kspm_model::yaml::parse_stream(
            "validations:\n- expression: \"object.spec.replicas <=\"\n",
            &kspm_model::yaml::Limits::default(),
        );
        let mut p = Problems::new("p.yaml");
        assert!(compile_spec(&docs[0].root, &mut p).is_none());
        let d = p.diagnostics[0].to_string();
        assert!(d.starts_with("p.yaml:2:15"), "{d}");
        assert!(d.contains("validations[0].expression"), "{d}");
    }

    #[test]
    fn undeclared_references_are_caught_when_loading() {
        let compile = |expr: &str| {
            let text = format!(
                "variables:\n- name: cs\n  expression: \"object.spec.containers\"\nvalidations:\n- expression: {expr:?}\n"
            );
            let (docs, _) =
                kspm_model::yaml::parse_stream(&text, &kspm_model::yaml::Limits::default());
            let mut p = Problems::new("p.yaml");
            let ok = compile_spec(&docs[0].root, &mut p).is_some();
            (
                ok,
                p.diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
        };
        let (ok, d) = compile("objet.spec.replicas > 1 && containers.all(c, c.name != '')");
        assert!(!ok);
        assert!(d[0].starts_with("p.yaml:5:15"), "{d:?}");
        assert!(
            d[0].contains("undeclared reference to `containers`, `objet`"),
            "{d:?}"
        );
        // Comprehension variables, nested ones, variables.*, type names and function
        // namespaces are all declared.
        for fine in [
            "variables.cs.all(c, c.ports.all(p, p.containerPort > 0 && c.name != ''))",
            "object.metadata.labels.exists(k, k.startsWith('a'))",
            "type(object.spec) == map && [1].map(x, x * 2) == [2]",
            "!format.dns1123Label().validate(object.metadata.name).hasValue()",
            "{'a': object.kind}.a == 'Pod' && request.operation == 'CREATE'",
            "has(object.spec.replicas) || params.x == namespaceObject.metadata.name",
        ] {
            let (ok, d) = compile(fine);
            assert!(ok, "{fine}: {d:?}");
        }
    }
}
