use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags references from a pod spec to ConfigMaps and Secrets that do not exist in the
    /// pod's namespace: `env[*].valueFrom.configMapKeyRef` / `secretKeyRef`,
    /// `envFrom[*].configMapRef` / `secretRef` (of every container, init and ephemeral ones
    /// included), and `configMap`, `secret` and `projected` volumes. References marked
    /// `optional: true` are not reported, nor is the `kube-root-ca.crt` ConfigMap that
    /// Kubernetes publishes in every namespace. Keys within an object are not checked.
    ///
    /// In file scans the object is often created elsewhere (by another chart, an operator),
    /// so a ConfigMap reference is judged only when the scan holds at least one ConfigMap of
    /// the pod's namespace; objects without a namespace count as `default`. Secret references
    /// are judged on live clusters only: manifests leave Secrets to secret managers,
    /// `kubectl create secret` or an init job far more often than not (the real-world review
    /// found nothing else). On a live cluster every reference is judged (Secrets are listed by
    /// name only, never read).
    ///
    /// ## Why is this bad?
    /// A container whose required ConfigMap or Secret is missing never starts
    /// (`CreateContainerConfigError`, or a volume that cannot be mounted), often only in the
    /// environment where the name was mistyped. When the object is later created by hand to
    /// unblock the rollout, its content is whatever was at hand, outside review.
    ///
    /// ## Remediation
    /// Create the object in the pod's namespace, correct the name, or mark the reference
    /// `optional: true` when the pod can run without it.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata:
    ///   name: settings
    /// data:
    ///   mode: production
    /// ---
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: app
    /// spec:
    ///   containers:
    ///   - name: app
    ///     image: example/app:1.0
    ///     envFrom:
    ///     - configMapRef: {name: setings}
    /// ```
    pub const RULE = {
        code: "WL021",
        slug: "missing-config-reference",
        title: "Pod refers to a ConfigMap or Secret that does not exist",
        severity: Medium,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [nist::CM_6, soc2::CC7_1],
        equivalents: [],
        fix: false,
        default: true,
    }
}

/// One reference: the kind it names, the name, and the path of the name field.
struct Reference<'a> {
    kind: &'static str,
    name: &'a str,
    path: FieldPath,
}

fn optional(n: &Node) -> bool {
    n.get("optional").and_then(Node::as_bool) == Some(true)
}

/// `node` names an object of `kind` in its `key` field, unless it is optional.
fn push<'a>(
    refs: &mut Vec<Reference<'a>>,
    kind: &'static str,
    node: Option<&'a Node>,
    key: &str,
    path: &FieldPath,
) {
    let Some(node) = node.filter(|n| !optional(n)) else {
        return;
    };
    if let Some(name) = node
        .get(key)
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    {
        refs.push(Reference {
            kind,
            name,
            path: path.key(key),
        });
    }
}

fn references<'a>(pod: &'a PodSpec<'a>) -> Vec<Reference<'a>> {
    let mut refs = Vec::new();
    for c in pod.containers() {
        let seq = |key: &str| c.node.get(key).and_then(Node::as_seq).unwrap_or(&[]);
        for (i, e) in seq("env").iter().enumerate() {
            let at = c.path_to(&["env"]).index(i).key("valueFrom");
            let from = e.get("valueFrom");
            let cm = from.and_then(|f| f.get("configMapKeyRef"));
            push(
                &mut refs,
                "ConfigMap",
                cm,
                "name",
                &at.key("configMapKeyRef"),
            );
            let secret = from.and_then(|f| f.get("secretKeyRef"));
            push(&mut refs, "Secret", secret, "name", &at.key("secretKeyRef"));
        }
        for (i, e) in seq("envFrom").iter().enumerate() {
            let at = c.path_to(&["envFrom"]).index(i);
            push(
                &mut refs,
                "ConfigMap",
                e.get("configMapRef"),
                "name",
                &at.key("configMapRef"),
            );
            push(
                &mut refs,
                "Secret",
                e.get("secretRef"),
                "name",
                &at.key("secretRef"),
            );
        }
    }
    for (at, v) in pod.volumes() {
        push(
            &mut refs,
            "ConfigMap",
            v.get("configMap"),
            "name",
            &at.key("configMap"),
        );
        push(
            &mut refs,
            "Secret",
            v.get("secret"),
            "secretName",
            &at.key("secret"),
        );
        let sources = v
            .at(&["projected", "sources"])
            .and_then(Node::as_seq)
            .unwrap_or(&[]);
        for (i, s) in sources.iter().enumerate() {
            let at = at.keys(&["projected", "sources"]).index(i);
            push(
                &mut refs,
                "ConfigMap",
                s.get("configMap"),
                "name",
                &at.key("configMap"),
            );
            push(
                &mut refs,
                "Secret",
                s.get("secret"),
                "name",
                &at.key("secret"),
            );
        }
    }
    refs
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let ns = Some(pod.resource.join_namespace());
    let index = out.index();
    let missing: Vec<Reference<'_>> = references(pod)
        .into_iter()
        .filter(|r| !(r.kind == "ConfigMap" && r.name == "kube-root-ca.crt"))
        .filter(|r| {
            // Secrets are the objects manifests most often leave to others (secret managers,
            // `kubectl create secret`, an init job): judged only when all were read.
            let judged = if r.kind == "Secret" {
                index.complete("Secret")
            } else {
                index.holds(r.kind, ns)
            };
            judged && index.find(r.kind, ns, r.name).is_none()
        })
        .collect();
    for r in missing {
        out.report(
            r.path,
            format!(
                "{} \"{}\" does not exist in {}",
                r.kind,
                r.name,
                pod.resource.namespace_phrase()
            ),
        );
    }
}
