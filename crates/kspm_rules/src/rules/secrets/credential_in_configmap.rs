use crate::prelude::*;
use kspm_model::credentials::{
    credential_reason, decode_base64, embedded_credential, name_suggests_credential,
    value_looks_like_credential,
};

declare_rule! {
    /// ## What it does
    /// Flags ConfigMap entries that hold a credential: a `data` key whose name suggests one
    /// (`password`, `secret`, `token`, `api_key`, `access_key`, `private_key`, `credential`...)
    /// with a non-empty, non-placeholder value, or any `data` value with the shape of a
    /// credential (an AWS access key ID, a PEM private key, a GitHub or Slack token, a JSON Web
    /// Token, a URL with an embedded password) — also inside an embedded file. `binaryData`
    /// entries are judged by name and by their decoded content. The value is never printed.
    ///
    /// Inside a value, each line of the form `NAME=value` or `NAME: value` (an env file, a
    /// properties or YAML file) is also judged by its name, so `REDIS_PASSWORD=s3cr3t` in an
    /// embedded file is found; empty values, `${VAR}`/`$VAR` references and template
    /// placeholders are not reported.
    ///
    /// ## Why is this bad?
    /// ConfigMaps are meant for non-confidential settings and are treated that way: they are
    /// readable by far more roles than Secrets (the built-in `view` role included), are not
    /// encrypted at rest by the usual `EncryptionConfiguration`, and end up in plain text in
    /// Git, Helm values and CI logs.
    ///
    /// ## Remediation
    /// Rotate the credential — it must be considered leaked. Move it into a Secret (created out
    /// of band or synced from an external secret manager) and mount that instead.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata:
    ///   name: api-settings
    /// data:
    ///   LOG_LEVEL: info
    ///   DB_PASSWORD: correct-horse-battery-staple
    /// ```
    pub const RULE = {
        code: "SC003",
        slug: "credential-in-configmap",
        title: "ConfigMap holds a credential",
        severity: High,
        category: Secrets,
        check: Check::Object { kinds: &["ConfigMap"], check },
        frameworks: [
            nsa::SECRETS, mitre::UNSECURED_CREDENTIALS, soc2::C1_1, pci::R8_6_2, iso27001::A5_17,
            iso27001::A8_12, nist::IA_5,
        ],
        equivalents: ["polaris:sensitiveConfigmapContent", "trivy:KSV-0109"],
        fix: false,
        default: true,
    }
}

fn check(r: &Resource, out: &mut Reporter<'_>) {
    for entry in r.root.get("data").and_then(Node::as_map).unwrap_or(&[]) {
        let value = match &entry.value.value {
            Value::Str(s) => s.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            _ => continue,
        };
        if let Some(reason) = credential_reason(&entry.key, &value).or_else(|| embedded(&value)) {
            report(r, out, "data", &entry.key, &reason);
        }
    }
    for entry in r
        .root
        .get("binaryData")
        .and_then(Node::as_map)
        .unwrap_or(&[])
    {
        let Some(encoded) = entry.value.as_str().filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let decoded = decode_base64(encoded).map(|b| String::from_utf8_lossy(&b).into_owned());
        let reason = decoded
            .as_deref()
            .and_then(value_looks_like_credential)
            .map(|kind| format!("it looks like {kind}"))
            .or_else(|| {
                name_suggests_credential(&entry.key).map(|kind| format!("its name suggests {kind}"))
            })
            .or_else(|| decoded.as_deref().and_then(embedded));
        if let Some(reason) = reason {
            report(r, out, "binaryData", &entry.key, &reason);
        }
    }
}

/// The reason for a credential assigned on a line of an embedded file, if any.
fn embedded(value: &str) -> Option<String> {
    embedded_credential(value).map(|(line, name, kind)| {
        format!("line {line} sets \"{name}\", whose name suggests {kind}")
    })
}

fn report(r: &Resource, out: &mut Reporter<'_>, section: &str, key: &str, reason: &str) {
    out.report(
        FieldPath::root().keys(&[section, key]),
        format!(
            "ConfigMap \"{}\" key \"{key}\" holds a literal credential: {reason}",
            r.name()
        ),
    )
    .hide_value();
}

#[cfg(test)]
mod tests {
    /// The literal credentials of the cases file: none of them may reach the snapshot.
    const LITERALS: &[&str] = &[
        "hunter2-not-real",
        "FAKEKEYMATERIALFORTESTS",
        "AKIAIOSFODNN7EXAMPLE",
        "ZmFrZS1hcGkta2V5",
        "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000",
        "eyJzdWIiOiJmYWtlIn0",
    ];

    #[test]
    fn the_snapshot_never_shows_a_credential() {
        super::super::assert_snapshot_hides(
            "credential_in_configmap.cases.yaml",
            "credential-in-configmap.snap",
            LITERALS,
        );
    }
}
