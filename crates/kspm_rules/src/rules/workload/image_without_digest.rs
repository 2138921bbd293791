use super::ImageRef;
use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers whose image is not pinned by a digest (`@sha256:...`). Off by default:
    /// select it where supply-chain integrity matters more than convenience.
    ///
    /// A digest pins only when it is one by the OCI image specification's grammar
    /// (`algorithm ":" encoded`) with a registered algorithm and the encoding that algorithm
    /// requires: `sha256` and 64 lowercase hex digits, or `sha512` and 128. `@sha256:abc`,
    /// uppercase hex or an unknown algorithm pin nothing (the runtime refuses such a reference
    /// or cannot verify it) and are reported.
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

/// Whether `digest` (after the `@`) is a digest by the OCI image specification
/// (descriptor.md, "Digests"): `algorithm ":" encoded`, where `algorithm` is lowercase
/// alphanumeric components joined by `+._-` and `encoded` is `[a-zA-Z0-9=_-]+`, and, for the
/// registered algorithms, exactly their lowercase hex length. An algorithm the specification
/// does not register cannot be verified, so it does not pin.
fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let components_ok = algorithm.split(['+', '.', '_', '-']).all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    if !components_ok || !encoded_ok {
        return false;
    }
    let hex_len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    encoded.len() == hex_len
        && encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(image) = super::image(c) else { return };
    let message = match ImageRef::parse(image).digest {
        None => "which is not pinned by a digest",
        Some(d) if !is_valid_digest(d) => {
            "whose digest is malformed (OCI: sha256 with 64 or sha512 with 128 lowercase hex digits), so it pins nothing"
        }
        Some(_) => return,
    };
    out.report(
        c.path_to(&["image"]),
        format!("{} uses image \"{image}\", {message}", c.describe()),
    );
}
