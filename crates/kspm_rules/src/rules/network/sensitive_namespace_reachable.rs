use crate::prelude::*;
use kspm_model::selector::labels_at;
use kspm_network::policy::allows_everyone;
use kspm_rbac::SubjectKind;
use std::collections::BTreeMap;
use std::sync::Arc;

declare_rule! {
    /// ## What it does
    /// Flags Namespaces that hold sensitive workloads and that pods of every other namespace
    /// can reach: no NetworkPolicy of the namespace isolates all its pods for ingress (a
    /// policy with `podSelector: {}` and Ingress in its types), or a policy admits every
    /// namespace (no peers, `namespaceSelector: {}`, an ipBlock of the whole address space).
    /// A namespace is sensitive when it is `kube-system`, when it carries the label
    /// `kspm.io/sensitive: "true"`, or when one of its service accounts is cluster-admin by
    /// the scanned RBAC (its pods hold the cluster's keys). A namespace that a Cilium or Calico
    /// policy may isolate for ingress is not reported: what those policies admit is not
    /// modelled.
    ///
    /// ## Why is this bad?
    /// An attacker in any pod of the cluster (a compromised web front end, a vulnerable
    /// dependency of a batch job) connects straight to the most valuable pods: the ones
    /// whose service account tokens own the cluster, or the control-plane add-ons.
    ///
    /// ## Remediation
    /// Add a default-deny ingress policy to the namespace and allow only the namespaces and
    /// pods that must connect, by label.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: payments
    ///   labels: {kspm.io/sensitive: "true"}
    /// ```
    pub const RULE = {
        code: "NW013",
        slug: "sensitive-namespace-reachable",
        title: "Sensitive namespace is reachable from every namespace",
        severity: High,
        category: Network,
        check: Check::Object { kinds: &["Namespace"], check },
        frameworks: [nsa::NETWORK_POLICIES, nsa::NAMESPACES, mitre::LATERAL_MOVEMENT],
        equivalents: [],
        fix: false,
        default: true,
    }
}

/// Namespace → a service account of it that is cluster-admin, worked out once per scan.
struct AdminAccounts(BTreeMap<String, String>);

fn admin_accounts(out: &Reporter<'_>) -> Arc<AdminAccounts> {
    let model = crate::rules::rbac::model(out);
    out.index().derived(|_| {
        let mut map = BTreeMap::new();
        for s in model.subjects() {
            if s.kind == SubjectKind::ServiceAccount
                && let Some(ns) = &s.namespace
                && !map.contains_key(ns)
                && model.is_cluster_admin(&s).is_some()
            {
                map.insert(ns.clone(), s.name.clone());
            }
        }
        AdminAccounts(map)
    })
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.api_version() != "v1" {
        return;
    }
    let ns = r.name();
    let why = if ns == "kube-system" {
        "it is kube-system".to_owned()
    } else if r.label("kspm.io/sensitive") == Some("true") {
        "it is labelled kspm.io/sensitive".to_owned()
    } else {
        let admins = admin_accounts(out);
        match admins.0.get(ns) {
            Some(sa) => format!("its service account {sa} is cluster-admin"),
            None => return,
        }
    };
    let all = super::policies(out);
    let policies = all.in_namespace(ns);
    // A Cilium or Calico policy that may isolate the namespace's pods for ingress: what it
    // admits is not modelled, so the namespace is not called open.
    let labels = labels_at(r.root.at(&["metadata", "labels"]));
    let cni = super::cni_policies(out)
        .0
        .iter()
        .any(|c| c.ingress && c.may_cover(ns, Some(&labels)));
    if cni {
        return;
    }
    let open = if !policies
        .iter()
        .any(|p| p.ingress_type && p.pod_selector.is_empty())
    {
        "no NetworkPolicy isolates all of its pods for ingress".to_owned()
    } else if let Some(p) = policies
        .iter()
        .find(|p| p.ingress_type && p.ingress.iter().any(|rule| allows_everyone(rule).is_some()))
    {
        format!("NetworkPolicy {} admits every namespace", p.name)
    } else {
        return;
    };
    out.report(
        FieldPath::root().keys(&["metadata", "name"]),
        format!("namespace {ns} holds sensitive workloads ({why}), and pods of every namespace can reach it: {open}"),
    );
}
