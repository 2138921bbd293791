use super::ImageRef;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose image uses the `latest` tag or no tag at all (which the runtime
    /// reads as `latest`), unless a digest pins it (`app:latest@sha256:...` is pinned). A port
    /// of the registry host is not a tag: `registry.example.com:5000/app` has no tag.
    ///
    /// ## Why is this bad?
    /// `latest` is whatever was pushed last. Two replicas of the same pod can run different code,
    /// a node restart silently upgrades a workload, a rollback does not roll anything back, and
    /// nobody can say which build is running. A compromised registry account only has to push
    /// a new `latest` to reach every cluster that pulls it.
    ///
    /// ## Remediation
    /// Use an immutable, versioned tag (`nginx:1.27.3`), or better a digest
    /// (`nginx@sha256:...`), and update it through your deployment pipeline.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: web
    /// spec:
    ///   selector:
    ///     matchLabels: {app: web}
    ///   template:
    ///     metadata:
    ///       labels: {app: web}
    ///     spec:
    ///       containers:
    ///       - name: web
    ///         image: nginx:latest
    /// ```
    pub const RULE = {
        code: "WL007",
        slug: "image-latest-tag",
        title: "Container image uses the latest tag or no tag",
        severity: Medium,
        category: Workload,
        check: Check::Container(check),
        frameworks: [
            nsa::IMAGE_HYGIENE, mitre::IMPLANT_IMAGE, soc2::CC6_8, pci::R6_3_3, hipaa::MALWARE,
            iso27001::A8_7, iso27001::A8_8, nist::RA_5, nist::SI_7,
        ],
        equivalents: ["checkov:CKV_K8S_14", "polaris:tagNotSpecified", "kube-score:container-image-tag", "trivy:KSV-0013"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(image) = super::image(c) else { return };
    let r = ImageRef::parse(image);
    if !r.is_latest() {
        return;
    }
    let message = if r.tag.is_some() {
        format!(
            "{} uses image \"{image}\" with the mutable tag latest",
            c.describe()
        )
    } else {
        format!(
            "{} uses image \"{image}\" without a tag, which means latest",
            c.describe()
        )
    };
    out.report(c.path_to(&["image"]), message);
}
