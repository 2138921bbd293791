use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags pods that get a service account token mounted without anyone having asked for it:
    /// the pod does not set `automountServiceAccountToken`, and neither does its ServiceAccount
    /// (`serviceAccountName`, `default` when unset), so the token is mounted by default. An
    /// explicit `automountServiceAccountToken: true`, on the pod or on its ServiceAccount, is a
    /// deliberate choice for a client of the API and is not reported (WL011 still flags such a
    /// pod when it runs as the namespace's `default` account). The ServiceAccount is looked up
    /// among the scanned manifests in the pod's namespace; when it is not there, kspm cannot
    /// know its setting and reports the pod.
    ///
    /// ## Why is this bad?
    /// The token lets anyone who can read the container's file system call the Kubernetes API
    /// with the account's permissions. Most applications never talk to the API server, so the
    /// token only helps an attacker who gets code execution or a file read in the container:
    /// first to discover the cluster, then to use whatever RBAC grants the account.
    ///
    /// ## Remediation
    /// Set `automountServiceAccountToken: false` in the pod spec (the fix), or on the
    /// ServiceAccount for every pod that uses it. Pods that do call the API keep the token:
    /// give them a dedicated account with minimal RBAC and set the field to `true` explicitly.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   serviceAccountName: web
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ---
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: web
    /// ```
    pub const RULE = {
        code: "WL010",
        slug: "automount-service-account-token",
        title: "Pod mounts a service account token",
        severity: Low,
        category: Workload,
        check: Check::PodSpec(check),
        frameworks: [
            cis::C5_1_6, nsa::SERVICE_ACCOUNT_TOKENS, mitre::CONTAINER_API, soc2::CC6_1,
            pci::R7_2_2, pci::R7_2_5, gdpr::ART25_2, iso27001::A8_3, nist::AC_6,
        ],
        equivalents: ["checkov:CKV_K8S_38", "kubescape:C-0190", "polaris:automountServiceAccountToken", "trivy:KSV-0036"],
        fix: true,
        default: true,
    }
}

fn check(pod: &PodSpec<'_>, out: &mut Reporter<'_>) {
    let path = pod.path_to(&["automountServiceAccountToken"]);
    if pod
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool)
        .is_some()
    {
        // `false` mounts nothing; `true` was asked for.
        return;
    }
    let (account, _, _) = super::service_account(pod);
    let index = out.index();
    let message = match super::account_automount(pod, index, account) {
        Some(_) => return,
        None if index
            .find(
                "ServiceAccount",
                Some(pod.resource.join_namespace()),
                account,
            )
            .is_some() =>
        {
            format!(
                "neither the pod nor its service account \"{account}\" sets automountServiceAccountToken, so the token is mounted by default"
            )
        }
        None => format!(
            "the pod does not set automountServiceAccountToken, and its service account \"{account}\" is not among the scanned manifests: the token is mounted by default"
        ),
    };
    out.report(path.clone(), message)
        .with_fix(Fix::new("set automountServiceAccountToken to false").set(path, json!(false)));
}
