use super::ImageRef;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose effective `imagePullPolicy` is not `Always`. When the field is
    /// omitted, the API server fills it in: `Always` for the `latest` tag (written or implied),
    /// `IfNotPresent` otherwise — kspm judges that defaulted value, as the kubelet will use it.
    ///
    /// Off by default: `IfNotPresent` with immutable tags or digests is a sound choice that saves
    /// pulls and keeps pods starting when the registry is down. Select this rule where it is
    /// policy (it mirrors checkov CKV_K8S_15, polaris pullPolicyNotAlways and kube-score
    /// container-image-pull-policy).
    ///
    /// ## Why is this bad?
    /// With `IfNotPresent` or `Never`, a pod uses whatever image is cached on the node under
    /// that name. On a shared node a pod can then start from an image pulled earlier with
    /// someone else's registry credentials (its own `imagePullSecrets` are never checked), and
    /// a tag that was moved upstream keeps running the old content on some nodes only.
    ///
    /// ## Remediation
    /// Set `imagePullPolicy: Always` (the registry round-trip is cheap: unchanged layers are not
    /// downloaded again), or enable the `AlwaysPullImages` admission plugin.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: web
    /// spec:
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     imagePullPolicy: IfNotPresent
    /// ```
    pub const RULE = {
        code: "WL009",
        slug: "image-pull-policy-not-always",
        title: "Container image pull policy is not Always",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::IMAGE_HYGIENE, soc2::CC6_8,
        ],
        equivalents: ["checkov:CKV_K8S_15", "polaris:pullPolicyNotAlways", "kube-score:container-image-pull-policy"],
        fix: true,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let path = c.path_to(&["imagePullPolicy"]);
    let message = if let Some(policy) = c.get("imagePullPolicy").filter(|n| !n.is_null()) {
        // A non-string policy is a type error the API server rejects; it is not judged here.
        match policy.as_str() {
            Some(p) if p != "Always" => {
                format!("{} pulls its image with imagePullPolicy {p}", c.describe())
            }
            _ => return,
        }
    } else {
        let Some(image) = super::image(c) else { return };
        let default = ImageRef::parse(image).default_pull_policy();
        if default == "Always" {
            return;
        }
        format!(
            "{} sets no imagePullPolicy, so image \"{image}\" is pulled with the default {default}",
            c.describe()
        )
    };
    out.report(path.clone(), message)
        .with_fix(Fix::new("set imagePullPolicy to Always").set(path, json!("Always")));
}
