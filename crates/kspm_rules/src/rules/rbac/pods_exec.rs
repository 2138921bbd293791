use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `create` or `get` on the `pods/exec`,
    /// `pods/attach` or `pods/portforward` subresources (including through `*` or `*/exec`).
    /// `get` counts: API servers before the WebSocket upgrade check
    /// (`AuthorizePodWebsocketUpgradeCreatePermission`, Kubernetes 1.30) let `get` open a
    /// session over WebSocket. Kubernetes' own default roles are not judged.
    ///
    /// ## Why is this bad?
    /// `pods/exec` and `pods/attach` run commands in, or take over the terminal of, any
    /// container the role reaches: whoever holds it has the container's files, its secrets and
    /// its service account token, and from a privileged pod the node. `pods/portforward` opens
    /// a tunnel to any port of the pod, around NetworkPolicies and Services. The requests are
    /// authorized once; what is typed in the session is not audited.
    ///
    /// ## Remediation
    /// Keep these rights for break-glass roles bound to people, in the namespaces they
    /// operate, and preferably granted only for the time needed. Automation rarely needs
    /// them: read logs (`pods/log`) or use a Job instead.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: debugger
    ///   namespace: shop
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["pods/exec", "pods/portforward"]
    ///   verbs: ["create"]
    /// ```
    pub const RULE = {
        code: "RB015",
        slug: "pods-exec",
        title: "Role allows exec, attach or port-forward into pods",
        severity: High,
        category: Rbac,
        check: Check::Object { kinds: super::ROLE_KINDS, check },
        frameworks: [
            nsa::RBAC, mitre::CONTAINER_ADMIN_COMMAND, mitre::LATERAL_MOVEMENT, nist::AC_6,
            iso27001::A8_2, pci::R7_2_2,
        ],
        equivalents: ["trivy:KSV-0053", "kubescape:C-0002", "kubescape:C-0063"],
        fix: false,
        default: true,
    }
}

const VERBS: &[&str] = &["create", "get"];
const SUBRESOURCES: &[&str] = &["exec", "attach", "portforward"];

fn session(rule: &PolicyRule) -> Option<String> {
    let subs: Vec<String> = SUBRESOURCES
        .iter()
        .filter(|s| grants(rule, VERBS, "", "pods", s))
        .map(|s| format!("pods/{s}"))
        .collect();
    (!subs.is_empty()).then(|| format!("allows {} on {}", verbs_of(rule, VERBS), subs.join(", ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    check_role_rules(r, out, session);
}
