use super::lookup;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags objects whose `apiVersion` and `kind` are no longer served by the target Kubernetes
    /// version (`k8s_version` in the configuration, by default the newest stable release). It
    /// knows every built-in API removal from Kubernetes 1.16 on, such as `extensions/v1beta1`
    /// Deployments (1.16) and Ingresses (1.22), `policy/v1beta1` PodDisruptionBudgets and
    /// `batch/v1beta1` CronJobs (1.25), `autoscaling/v2beta2` HorizontalPodAutoscalers (1.26) or
    /// `flowcontrol.apiserver.k8s.io/v1beta3` (1.32). The message names the version that removed
    /// the API and the one to use instead at the target version.
    ///
    /// ## Why is this bad?
    /// The API server of the target version rejects the object outright (`no matches for kind`):
    /// the deployment fails, and with it every security control the manifest carries — a
    /// NetworkPolicy, a PodDisruptionBudget or an RBAC binding that silently never applies. Tools
    /// that keep such manifests around also keep an upgrade blocker.
    ///
    /// ## Remediation
    /// Move the object to the replacement API version named in the finding. Some migrations are
    /// more than a rename of `apiVersion`: `apps/v1` requires `spec.selector`,
    /// `networking.k8s.io/v1` Ingresses use `pathType` and `backend.service`, `autoscaling/v2`
    /// restructures metric targets, `apiextensions.k8s.io/v1` CRDs need a structural schema, and
    /// `policy/v1` PodDisruptionBudgets treat an empty selector as "all pods". PodSecurityPolicy
    /// has no successor: use Pod Security Admission or a policy engine. `kubectl convert` (a
    /// kubectl plugin) rewrites many of them; review the result against the schema of the new
    /// version. kspm offers no automatic fix, because a changed `apiVersion` alone often produces
    /// an object the API server still rejects.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: extensions/v1beta1
    /// kind: Ingress
    /// metadata:
    ///   name: web
    /// spec:
    ///   rules:
    ///   - host: shop.example.com
    ///     http:
    ///       paths:
    ///       - path: /
    ///         backend:
    ///           serviceName: web
    ///           servicePort: 80
    /// ```
    pub const RULE = {
        code: "AP001",
        slug: "removed-api",
        title: "Object uses an API version the target Kubernetes version no longer serves",
        severity: High,
        category: Deprecation,
        check: Check::Object { kinds: &[], check },
        frameworks: [
            nsa::UPGRADES, soc2::CC7_1, pci::R6_3_3, iso27001::A8_8, nist::RA_5, nist::SI_2,
        ],
        equivalents: ["kubeaudit:deprecatedapis", "kube-score:stable-version"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    let Some(api) = lookup(r.api_version(), r.kind()) else {
        return;
    };
    let target = out.settings().k8s_version;
    let Some(removed) = api.removed_in().filter(|v| *v <= target) else {
        return;
    };
    let message = format!(
        "{} {} was removed in Kubernetes {removed} (deprecated since {}), so Kubernetes {target} rejects it: {}",
        api.api_version,
        api.kind,
        api.deprecated_in(),
        api.advice(target),
    );
    out.report(FieldPath::root().key("apiVersion"), message);
}
