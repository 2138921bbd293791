use super::{bound_by, grants, judged_binding, model, role_key, verbs_of};
use crate::prelude::*;
use kspm_rbac::{PolicyRule, RbacModel, RoleKey, RoleKind};

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `update`, `patch` or `delete` on the
    /// CoreDNS ConfigMap `kube-system/coredns`: rules on `configmaps` in the core group with
    /// no `resourceNames` or with `coredns` among them. A Role counts in `kube-system` only; a
    /// ClusterRole counts unless every binding of the scan that uses it is a RoleBinding in
    /// another namespace. Kubernetes' own default roles are not judged.
    ///
    /// ## Why is this bad?
    /// The `coredns` ConfigMap is the cluster's DNS configuration. Whoever can change it can
    /// answer any name (`rewrite`, `hosts`, `forward` plugins) and send every pod's traffic
    /// for a service, a registry or a cloud API to an address of their choosing: credentials
    /// sent there are theirs. Deleting it breaks name resolution for the whole cluster.
    ///
    /// ## Remediation
    /// Keep write access to `kube-system` ConfigMaps for cluster administrators. Controllers
    /// that need to write their own ConfigMaps should name them in `resourceNames` or work in
    /// their own namespace.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: dns-editor
    ///   namespace: kube-system
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["configmaps"]
    ///   resourceNames: ["coredns"]
    ///   verbs: ["get", "update", "patch"]
    /// ```
    pub const RULE = {
        code: "RB018",
        slug: "coredns-configmap-write",
        title: "Role allows changing the CoreDNS configuration",
        severity: Medium,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [nsa::RBAC, nist::AC_6, iso27001::A8_2, iso27001::A8_20],
        equivalents: ["kubescape:C-0037"],
        fix: false,
        default: true,
    }
}

const VERBS: &[&str] = &["update", "patch", "delete"];

fn writes_coredns(rule: &PolicyRule) -> bool {
    grants(rule, VERBS, "", "configmaps", "") && rule.has_name(Some("coredns"))
}

/// Whether the role's rules can apply in `kube-system`.
fn reaches_kube_system(model: &RbacModel, key: &RoleKey) -> bool {
    match key.kind {
        RoleKind::Role => key.namespace.as_deref() == Some("kube-system"),
        RoleKind::ClusterRole => {
            let mut bindings = model.bindings_of(key).peekable();
            bindings.peek().is_none()
                || bindings.any(|b| {
                    b.id.namespace
                        .as_deref()
                        .is_none_or(|ns| ns == "kube-system")
                })
        }
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if !judged_binding(r) {
        return;
    }
    let Some(key) = role_key(r) else { return };
    if key.kind == RoleKind::Role && key.namespace.as_deref() != Some("kube-system") {
        return;
    }
    let Some(rules) = r.root.get("rules").and_then(Node::as_seq) else {
        return;
    };
    let hits: Vec<(usize, PolicyRule)> = rules
        .iter()
        .enumerate()
        .map(|(i, n)| (i, PolicyRule::from_node(n)))
        .filter(|(_, rule)| writes_coredns(rule))
        .collect();
    if hits.is_empty() {
        return;
    }
    let model = model(out);
    if !reaches_kube_system(&model, &key) {
        return;
    }
    let live = bound_by(&model, &key);
    for (i, rule) in hits {
        let which = if rule.resource_names.is_empty() {
            "every ConfigMap, kube-system/coredns included"
        } else {
            "the CoreDNS ConfigMap kube-system/coredns"
        };
        out.report(
            FieldPath::root().key("rules").index(i),
            format!("{key} allows {} on {which}; {live}", verbs_of(&rule, VERBS)),
        );
    }
}
