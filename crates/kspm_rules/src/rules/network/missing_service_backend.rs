use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Ingresses whose backends (`spec.defaultBackend` and every
    /// `rules[*].http.paths[*].backend`) and Gateway API HTTPRoutes whose `backendRefs`
    /// (of kind `Service`, the default) name a Service that does not exist. An HTTPRoute
    /// backend in another namespace is looked up there.
    ///
    /// In file scans a Service is often created elsewhere, so a reference is judged only when
    /// the scan holds at least one Service of the referenced namespace; objects without a
    /// namespace count as `default`. On a live cluster every reference is judged.
    ///
    /// ## Why is this bad?
    /// Traffic for that host and path gets an error instead of the application, and the
    /// route looks configured to whoever reads the manifests. A route left pointing at a name
    /// nobody owns also routes to whatever Service someone later creates under that name.
    ///
    /// ## Remediation
    /// Correct the Service name or create the Service; remove routes that are no longer used.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector: {app: web}
    ///   ports:
    ///   - port: 80
    /// ---
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// metadata:
    ///   name: web
    /// spec:
    ///   rules:
    ///   - host: shop.example.com
    ///     http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend:
    ///           service: {name: wbe, port: {number: 80}}
    /// ```
    pub const RULE = {
        code: "NW014",
        slug: "missing-service-backend",
        title: "Ingress or HTTPRoute sends traffic to a Service that does not exist",
        severity: Medium,
        category: Network,
        check: Check::Object { kinds: &["Ingress", "HTTPRoute"], check },
        frameworks: [nist::CM_6, soc2::CC7_1],
        equivalents: ["kube-linter:dangling-ingress", "kube-score:ingress-targets-service"],
        fix: false,
        default: true,
    }
}

/// A backend: the Service's namespace, its name, and the path of the name field.
fn backends<'a>(r: &'a Resource) -> Vec<(Option<&'a str>, &'a str, FieldPath)> {
    let ns = Some(r.join_namespace());
    let mut out = Vec::new();
    let spec = FieldPath::root().key("spec");
    let root = &r.root;
    if r.kind() == "Ingress" {
        let mut add = |backend: Option<&'a Node>, at: FieldPath| {
            let Some(b) = backend else { return };
            // networking.k8s.io/v1 `service.name`, or extensions/v1beta1 `serviceName`.
            if let Some(name) = b.at(&["service", "name"]).and_then(Node::as_str) {
                out.push((ns, name, at.keys(&["service", "name"])));
            } else if let Some(name) = b.get("serviceName").and_then(Node::as_str) {
                out.push((ns, name, at.key("serviceName")));
            }
        };
        add(
            root.at(&["spec", "defaultBackend"]),
            spec.key("defaultBackend"),
        );
        add(root.at(&["spec", "backend"]), spec.key("backend"));
        for (i, rule) in seq(root.at(&["spec", "rules"])).iter().enumerate() {
            for (j, p) in seq(rule.at(&["http", "paths"])).iter().enumerate() {
                let at = spec.key("rules").index(i).keys(&["http", "paths"]).index(j);
                add(p.get("backend"), at.key("backend"));
            }
        }
    } else if r.group() == "gateway.networking.k8s.io" {
        for (i, rule) in seq(root.at(&["spec", "rules"])).iter().enumerate() {
            for (j, b) in seq(rule.get("backendRefs")).iter().enumerate() {
                let kind = b.get("kind").and_then(Node::as_str).unwrap_or("Service");
                let group = b.get("group").and_then(Node::as_str).unwrap_or("");
                if kind != "Service" || !group.is_empty() {
                    continue;
                }
                let Some(name) = b.get("name").and_then(Node::as_str) else {
                    continue;
                };
                let target = b.get("namespace").and_then(Node::as_str).or(ns);
                let at = spec.key("rules").index(i).key("backendRefs").index(j);
                out.push((target, name, at.key("name")));
            }
        }
    }
    out
}

fn seq(n: Option<&Node>) -> &[Node] {
    n.and_then(Node::as_seq).unwrap_or(&[])
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let index = out.index();
    let missing: Vec<_> = backends(r)
        .into_iter()
        .filter(|(ns, name, _)| {
            index.holds("Service", *ns) && index.find("Service", *ns, name).is_none()
        })
        .collect();
    for (ns, name, path) in missing {
        out.report(
            path,
            format!(
                "Service \"{name}\" does not exist in namespace {}",
                ns.unwrap_or("default")
            ),
        );
    }
}
