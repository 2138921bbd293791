use super::{check_role_rules, grants, verbs_of};
use crate::prelude::*;
use crate::rule::KubeVersion;
use kspm_rbac::PolicyRule;

declare_rule! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow `create` on the `pods/exec`, `pods/attach`
    /// or `pods/portforward` subresources (including through `*` or `*/exec`). When the target
    /// Kubernetes version (`k8s_version`) is older than 1.30, `get` counts too: API servers
    /// without the WebSocket upgrade check (`AuthorizePodWebsocketUpgradeCreatePermission`,
    /// on by default since 1.30) let `get` open a session over WebSocket. Kubernetes' own
    /// default roles are not judged.
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

const SUBRESOURCES: &[&str] = &["exec", "attach", "portforward"];

fn session(rule: &PolicyRule, verbs: &[&str]) -> Option<String> {
    let subs: Vec<String> = SUBRESOURCES
        .iter()
        .filter(|s| grants(rule, verbs, "", "pods", s))
        .map(|s| format!("pods/{s}"))
        .collect();
    (!subs.is_empty()).then(|| format!("allows {} on {}", verbs_of(rule, verbs), subs.join(", ")))
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    // Since 1.30 the API server asks for `create` before upgrading a `get` to a WebSocket
    // session (AuthorizePodWebsocketUpgradeCreatePermission, on by default).
    if out.settings().k8s_version < KubeVersion::new(1, 30) {
        check_role_rules(r, out, |rule| session(rule, &["create", "get"]));
    } else {
        check_role_rules(r, out, |rule| session(rule, &["create"]));
    }
}
