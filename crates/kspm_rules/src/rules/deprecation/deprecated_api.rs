use super::lookup;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags objects whose `apiVersion` and `kind` are deprecated in the target Kubernetes
    /// version (`k8s_version` in the configuration, by default the newest stable release) but
    /// still served, such as `policy/v1beta1` PodDisruptionBudgets when targeting 1.21 to 1.24,
    /// or `v1` Endpoints (deprecated in 1.33 in favour of EndpointSlices). APIs the target no
    /// longer serves at all are reported by `removed-api` instead. The Endpoints the API server
    /// keeps for the `kubernetes` Service in `default` (labelled
    /// `endpointslice.kubernetes.io/skip-mirror: "true"`) are not reported: nobody can migrate
    /// them.
    ///
    /// ## Why is this bad?
    /// A deprecated beta API is removed three releases later at the latest; the manifest then
    /// stops deploying, often in the middle of a cluster upgrade. The API server already answers
    /// each request with a deprecation warning.
    ///
    /// ## Remediation
    /// Move the object to the replacement API version named in the finding, while the cluster
    /// still serves both (the API server converts stored objects between them). Check the
    /// schema differences the finding mentions; `kubectl convert` helps.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Endpoints
    /// metadata:
    ///   name: legacy-db
    /// subsets:
    /// - addresses:
    ///   - ip: 10.20.0.15
    ///   ports:
    ///   - port: 5432
    /// ```
    pub const RULE = {
        code: "AP002",
        slug: "deprecated-api",
        title: "Object uses an API version deprecated in the target Kubernetes version",
        severity: Low,
        category: Deprecation,
        check: Check::Object { kinds: &[], check },
        frameworks: [
            nsa::UPGRADES, soc2::CC7_1, pci::R6_3_3, iso27001::A8_8, nist::SI_2,
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
    // The API server keeps its own Endpoints for the `kubernetes` Service; nobody can migrate it.
    if crate::rules::maintained_by_control_plane(r) {
        return;
    }
    let target = out.settings().k8s_version;
    if !api.is_deprecated_at(target) {
        return;
    }
    let removal = match api.removed_in() {
        Some(v) => format!("will be removed in {v}"),
        None => "no removal is scheduled yet".to_owned(),
    };
    let message = format!(
        "{} {} is deprecated since Kubernetes {} and {removal}: {}",
        api.api_version,
        api.kind,
        api.deprecated_in(),
        api.advice(target),
    );
    out.report(FieldPath::root().key("apiVersion"), message);
}
