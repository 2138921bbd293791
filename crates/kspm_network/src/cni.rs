//! The network policies of the CNI plugins that extend Kubernetes' own: Cilium
//! (`CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`) and Calico (`NetworkPolicy` and
//! `GlobalNetworkPolicy` of `projectcalico.org/v3` or `crd.projectcalico.org/v1`).
//!
//! They isolate pods as NetworkPolicies do, so coverage must count them: a namespace or a pod
//! one of them selects is not unprotected. Only *which pods they select, for which direction*
//! is modelled here; what their rules allow is not (reachability says so). Whatever cannot be
//! read with certainty (a Calico selector this parser does not understand, a Cilium label of
//! a source not modelled) is taken to select the pod: the error is then a missed gap, never a
//! false alarm about a pod that is protected.

use std::fmt;

use kspm_model::{Node, Resource};
use serde::Serialize;

use kspm_model::selector::{LabelSelector, Labels};

/// The CNI policy kinds, as [`CniPolicy::from_resource`] recognises them.
pub const KINDS: &[&str] = &[
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "NetworkPolicy",
    "GlobalNetworkPolicy",
];

/// The pseudo-label Cilium gives every pod: its namespace.
const CILIUM_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// The pseudo-label Calico gives every workload endpoint: its namespace.
const CALICO_NAMESPACE: &str = "projectcalico.org/namespace";
/// The label Calico gives every namespace: its name.
const CALICO_NAMESPACE_NAME: &str = "projectcalico.org/name";

/// Whose policy it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Flavor {
    Cilium,
    Calico,
}

/// Which pods a policy selects.
#[derive(Clone, Debug)]
enum Selects {
    /// A Kubernetes label selector (Cilium's `endpointSelector`), with the `k8s:`/`any:`
    /// source prefixes removed. `uncertain`: it names labels of a source not modelled.
    Labels {
        selector: LabelSelector,
        uncertain: bool,
    },
    /// A Calico selector expression; `None` when it could not be parsed.
    Calico(Option<Expr>),
}

/// A Cilium or Calico policy, read for what it selects.
#[derive(Clone, Debug)]
pub struct CniPolicy {
    pub flavor: Flavor,
    /// `CiliumNetworkPolicy/shop/web`, `GlobalNetworkPolicy/default-deny`...
    pub id: String,
    /// `None` for the cluster-wide kinds.
    pub namespace: Option<String>,
    pub ingress: bool,
    pub egress: bool,
    /// One entry per rule of the policy (Cilium's `specs` hold several), all must be tried.
    selects: Vec<Selects>,
    /// Calico `GlobalNetworkPolicy.spec.namespaceSelector`, when set and understood (one
    /// that is not understood is taken to match, and makes the policy `conservative`).
    namespace_selector: Option<Expr>,
    /// Whether something could not be read and was taken to select conservatively.
    pub conservative: bool,
}

impl fmt::Display for CniPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl CniPolicy {
    /// Reads a Cilium or Calico policy; `None` for any other object (Kubernetes'
    /// NetworkPolicy included).
    pub fn from_resource(r: &Resource) -> Option<Self> {
        let group = r.group();
        match (r.kind(), group) {
            ("CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy", "cilium.io") => {
                Some(Self::cilium(r))
            }
            (
                "NetworkPolicy" | "GlobalNetworkPolicy",
                "projectcalico.org" | "crd.projectcalico.org",
            ) => Some(Self::calico(r)),
            _ => None,
        }
    }

    fn id(r: &Resource, namespaced: bool) -> (String, Option<String>) {
        if namespaced {
            let ns = r.join_namespace().to_owned();
            (format!("{}/{ns}/{}", r.kind(), r.name()), Some(ns))
        } else {
            (format!("{}/{}", r.kind(), r.name()), None)
        }
    }

    fn cilium(r: &Resource) -> Self {
        let (id, namespace) = Self::id(r, r.kind() == "CiliumNetworkPolicy");
        let mut rules: Vec<&Node> = Vec::new();
        if let Some(spec) = r.root.get("spec").filter(|n| n.as_map().is_some()) {
            rules.push(spec);
        }
        rules.extend(
            r.root
                .get("specs")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter(),
        );
        let (mut ingress, mut egress, mut conservative) = (false, false, false);
        let mut selects = Vec::new();
        for rule in rules {
            // Host policies (`nodeSelector`) select nodes, not pods.
            let Some(sel) = rule.get("endpointSelector") else {
                continue;
            };
            let deny = |dir: &str| {
                rule.at(&["enableDefaultDeny", dir]).and_then(Node::as_bool) != Some(false)
            };
            let has = |k: &str| rule.get(k).is_some_and(|n| !n.is_null());
            ingress |= (has("ingress") || has("ingressDeny")) && deny("ingress");
            egress |= (has("egress") || has("egressDeny")) && deny("egress");
            let (selector, uncertain) = cilium_selector(sel);
            conservative |= uncertain;
            selects.push(Selects::Labels {
                selector,
                uncertain,
            });
        }
        Self {
            flavor: Flavor::Cilium,
            id,
            namespace,
            ingress,
            egress,
            selects,
            namespace_selector: None,
            conservative,
        }
    }

    fn calico(r: &Resource) -> Self {
        let (id, namespace) = Self::id(r, r.kind() == "NetworkPolicy");
        let spec = r.root.get("spec");
        let text = |k: &str| spec.and_then(|s| s.get(k)).and_then(Node::as_str);
        let selector = parse(text("selector").unwrap_or("all()"));
        let mut conservative = selector.is_none();
        let namespace_selector = text("namespaceSelector").and_then(|t| {
            let e = parse(t);
            conservative |= e.is_none();
            e
        });
        let has = |k: &str| spec.and_then(|s| s.get(k)).is_some_and(|n| !n.is_null());
        let types: Option<Vec<&str>> = spec
            .and_then(|s| s.get("types"))
            .and_then(Node::as_seq)
            .map(|t| t.iter().filter_map(Node::as_str).collect());
        // Calico's default: Ingress, plus Egress when the policy has egress rules.
        let (ingress, egress) = match &types {
            Some(t) => (t.contains(&"Ingress"), t.contains(&"Egress")),
            None => (true, has("egress")),
        };
        Self {
            flavor: Flavor::Calico,
            id,
            namespace,
            ingress,
            egress,
            selects: vec![Selects::Calico(selector)],
            namespace_selector,
            conservative,
        }
    }

    /// Whether the policy isolates, for a direction, a pod of `namespace` with `labels`.
    /// `ns_labels` are the namespace's labels when the inputs hold it (`None`: unknown, and a
    /// namespace selector is then taken to match).
    pub fn selects(
        &self,
        namespace: &str,
        labels: &Labels,
        ns_labels: Option<&Labels>,
        ingress: bool,
    ) -> bool {
        if !(if ingress { self.ingress } else { self.egress }) {
            return false;
        }
        if self.namespace.as_deref().is_some_and(|ns| ns != namespace) {
            return false;
        }
        if !self.namespace_matches(namespace, ns_labels) {
            return false;
        }
        let mut labels = labels.clone();
        let pseudo = match self.flavor {
            Flavor::Cilium => CILIUM_NAMESPACE,
            Flavor::Calico => CALICO_NAMESPACE,
        };
        labels.insert(pseudo.to_owned(), namespace.to_owned());
        self.selects.iter().any(|s| match s {
            Selects::Labels {
                selector,
                uncertain,
            } => *uncertain || selector.matches(&labels),
            Selects::Calico(expr) => expr.as_ref().is_none_or(|e| e.eval(&labels)),
        })
    }

    /// Whether the policy may select pods of `namespace` at all, whatever their labels:
    /// cluster-wide policies count unless their namespace constraints rule the namespace out.
    pub fn may_cover(&self, namespace: &str, ns_labels: Option<&Labels>) -> bool {
        if !(self.ingress || self.egress) {
            return false;
        }
        if let Some(ns) = &self.namespace {
            return ns == namespace;
        }
        if !self.namespace_matches(namespace, ns_labels) {
            return false;
        }
        // A Cilium selector pinned to another namespace by the namespace pseudo-label.
        self.selects.iter().any(|s| match s {
            Selects::Labels { selector, .. } => selector
                .pins(CILIUM_NAMESPACE)
                .is_none_or(|ns| ns == namespace),
            Selects::Calico(_) => true,
        })
    }

    fn namespace_matches(&self, namespace: &str, ns_labels: Option<&Labels>) -> bool {
        match (&self.namespace_selector, ns_labels) {
            (None, _) | (_, None) => true,
            (Some(expr), Some(l)) => {
                let mut l = l.clone();
                l.insert(CALICO_NAMESPACE_NAME.to_owned(), namespace.to_owned());
                expr.eval(&l)
            }
        }
    }
}

/// A Cilium `endpointSelector`: keys lose their `k8s:`/`any:` source prefix; keys of other
/// sources (`reserved:`, `cidr:`...) or Cilium's own pseudo-labels other than the namespace
/// make it uncertain.
fn cilium_selector(node: &Node) -> (LabelSelector, bool) {
    let mut selector = LabelSelector::from_node(node);
    let mut uncertain = false;
    selector.rename_keys(|key| {
        let key = key
            .strip_prefix("k8s:")
            .or_else(|| key.strip_prefix("any:"))
            .unwrap_or(key);
        if key.contains(':')
            || (key.starts_with("io.cilium.") || key.starts_with("io.kubernetes."))
                && key != CILIUM_NAMESPACE
        {
            uncertain = true;
        }
        key.to_owned()
    });
    (selector, uncertain)
}

/// A Calico selector expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    All,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    pub fn eval(&self, labels: &Labels) -> bool {
        match self {
            Expr::All => true,
            Expr::Has(k) => labels.contains_key(k),
            Expr::Eq(k, v) => labels.get(k) == Some(v),
            // Calico: `k != 'v'` also matches when the label is absent.
            Expr::Ne(k, v) => labels.get(k) != Some(v),
            Expr::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Expr::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Expr::Not(e) => !e.eval(labels),
            Expr::And(a, b) => a.eval(labels) && b.eval(labels),
            Expr::Or(a, b) => a.eval(labels) || b.eval(labels),
        }
    }
}

/// Parses the subset of Calico's selector language kspm models: `all()`, `has(k)`, `k == 'v'`,
/// `k != 'v'`, `k in {'a', 'b'}`, `k not in {...}`, `!`, `&&`, `||` and parentheses. `None`
/// for anything else (`global()`, `starts with`, `contains`...): the caller then assumes the
/// selector matches. An empty selector is `all()`.
pub fn parse(text: &str) -> Option<Expr> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Some(Expr::All);
    }
    let mut p = Parser { tokens, at: 0 };
    let e = p.or()?;
    (p.at == p.tokens.len()).then_some(e)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Not,
    And,
    Or,
    EqEq,
    NotEq,
}

fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push(Tok::LParen), i += 1).1,
            ')' => (out.push(Tok::RParen), i += 1).1,
            '{' => (out.push(Tok::LBrace), i += 1).1,
            '}' => (out.push(Tok::RBrace), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '&' if next == Some('&') => (out.push(Tok::And), i += 2).1,
            '|' if next == Some('|') => (out.push(Tok::Or), i += 2).1,
            '=' if next == Some('=') => (out.push(Tok::EqEq), i += 2).1,
            '!' if next == Some('=') => (out.push(Tok::NotEq), i += 2).1,
            '!' => (out.push(Tok::Not), i += 1).1,
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&x| x == c)? + i + 1;
                out.push(Tok::Str(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            c if c.is_alphanumeric() || "_-./".contains(c) => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_-./".contains(chars[i])) {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Option<Expr> {
        let mut e = self.and()?;
        while self.eat(&Tok::Or) {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Some(e)
    }

    fn and(&mut self) -> Option<Expr> {
        let mut e = self.unary()?;
        while self.eat(&Tok::And) {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Some(e)
    }

    fn unary(&mut self) -> Option<Expr> {
        if self.eat(&Tok::Not) {
            return Some(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(&Tok::LParen) {
            let e = self.or()?;
            return self.eat(&Tok::RParen).then_some(e);
        }
        let Some(Tok::Ident(word)) = self.peek().cloned() else {
            return None;
        };
        self.at += 1;
        match word.as_str() {
            "all" => (self.eat(&Tok::LParen) && self.eat(&Tok::RParen)).then_some(Expr::All),
            "has" => {
                if !self.eat(&Tok::LParen) {
                    return None;
                }
                let Some(Tok::Ident(k)) = self.peek().cloned() else {
                    return None;
                };
                self.at += 1;
                self.eat(&Tok::RParen).then_some(Expr::Has(k))
            }
            _ => self.comparison(word),
        }
    }

    fn comparison(&mut self, key: String) -> Option<Expr> {
        match self.peek()? {
            Tok::EqEq | Tok::NotEq => {
                let eq = self.eat(&Tok::EqEq);
                if !eq {
                    self.at += 1;
                }
                let Some(Tok::Str(v)) = self.peek().cloned() else {
                    return None;
                };
                self.at += 1;
                Some(if eq {
                    Expr::Eq(key, v)
                } else {
                    Expr::Ne(key, v)
                })
            }
            Tok::Ident(w) if w == "in" => {
                self.at += 1;
                Some(Expr::In(key, self.set()?))
            }
            Tok::Ident(w) if w == "not" => {
                self.at += 1;
                if self.peek() != Some(&Tok::Ident("in".into())) {
                    return None;
                }
                self.at += 1;
                Some(Expr::NotIn(key, self.set()?))
            }
            _ => None,
        }
    }

    fn set(&mut self) -> Option<Vec<String>> {
        if !self.eat(&Tok::LBrace) {
            return None;
        }
        let mut values = Vec::new();
        if self.eat(&Tok::RBrace) {
            return Some(values);
        }
        loop {
            let Some(Tok::Str(v)) = self.peek().cloned() else {
                return None;
            };
            self.at += 1;
            values.push(v);
            if self.eat(&Tok::RBrace) {
                return Some(values);
            }
            if !self.eat(&Tok::Comma) {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_and_evaluates_calico_selectors() {
        let web = labels(&[("app", "web"), ("tier", "front")]);
        let cases = [
            ("all()", true),
            ("", true),
            ("has(app)", true),
            ("!has(app)", false),
            ("app == 'web'", true),
            ("app == \"db\"", false),
            ("app != 'db'", true),
            ("missing != 'x'", true),
            ("tier in {'front', 'back'}", true),
            ("tier not in {'front'}", false),
            ("app == 'web' && has(tier)", true),
            ("app == 'db' || tier == 'front'", true),
            ("!(app == 'web' && tier == 'front')", false),
            ("has(projectcalico.org/namespace)", false),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_or_else(|| panic!("`{text}` should parse"));
            assert_eq!(e.eval(&web), want, "{text}");
        }
    }

    #[test]
    fn leaves_what_it_does_not_understand_unparsed() {
        for text in [
            "global()",
            "app starts with 'w'",
            "app contains 'e'",
            "app == 'web' &&",
            "(app == 'web'",
            "app == web",
            "app in {'a' 'b'}",
            "app ~ 'x'",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
