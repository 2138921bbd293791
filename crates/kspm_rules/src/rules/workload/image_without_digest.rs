use super::ImageRef;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose image is not pinned by a digest (`@sha256:...`). Off by default:
    /// select it where supply-chain integrity matters more than convenience.
    ///
    /// ## Why is this bad?
    /// Tags are mutable: whoever can push to the repository can make `app:1.4.2` point at
    /// different content tomorrow, and the cluster pulls it on the next pod start. A digest names
    /// exactly one image; it cannot be moved, and it is what signatures and scan results refer to.
    ///
    /// ## Remediation
    /// Reference the image by digest (`app:1.4.2@sha256:...` keeps the tag readable), and let a
    /// bot such as Renovate update the digests, or resolve tags to digests at admission.
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
    ///     image: nginx:1.27.3
    /// ```
    pub const RULE = {
        code: "WL008",
        slug: "image-without-digest",
        title: "Container image is not pinned by digest",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::IMAGE_HYGIENE, mitre::IMPLANT_IMAGE, soc2::CC6_8, hipaa::INTEGRITY,
            hipaa::MALWARE, iso27001::A8_7, nist::SI_7,
        ],
        equivalents: ["checkov:CKV_K8S_43"],
        fix: false,
        default: false,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(image) = super::image(c) else { return };
    if ImageRef::parse(image).digest.is_none() {
        out.report(
            c.path_to(&["image"]),
            format!(
                "{} uses image \"{image}\", which is not pinned by a digest",
                c.describe()
            ),
        );
    }
}
