use crate::prelude::*;
use kspm_model::credentials::credential_reason;

declare_rule! {
    /// ## What it does
    /// Flags `env` entries whose literal `value` is a credential: either the variable's name
    /// suggests one (`password`, `passwd`, `secret`, `token`, `api_key`, `access_key`,
    /// `private_key`, `credential`, in any case and position: `DB_PASSWORD`, `clientSecret`) and
    /// the value is not empty, a reference (`$(VAR)`, `${VAR}`, `{{ ... }}`) or an obvious
    /// placeholder (`changeme`, `<your-token>`, an upper-case fill-in instruction such as
    /// `INSERT_ETCD_DISCOVERY_TOKEN`); or the value itself has the shape of a credential (an AWS access key ID, a
    /// PEM private key, a GitHub or Slack token, a JSON Web Token, a URL with an embedded
    /// password). Names about a credential rather than the credential itself (`PASSWORD_FILE`,
    /// `SECRET_NAME`, `TOKEN_URL`) are not judged by name. The value is never printed.
    ///
    /// ## Why is this bad?
    /// A credential written into a manifest is in plain text in the repository, its history and
    /// every fork and CI log, readable by anyone who can `get` the workload in the cluster, and
    /// impossible to rotate without a redeploy. It is the most common way credentials leak.
    ///
    /// ## Remediation
    /// Rotate the credential now — it must be considered leaked. Store it in a Secret (created
    /// out of band, or from an external secret manager) and mount it as a file, or reference it
    /// with `valueFrom.secretKeyRef`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: api
    /// spec:
    ///   containers:
    ///   - name: api
    ///     image: example/api:4.2
    ///     env:
    ///     - name: DB_PASSWORD
    ///       value: correct-horse-battery-staple
    /// ```
    pub const RULE = {
        code: "SC002",
        slug: "hardcoded-credential-in-env",
        title: "Container environment variable holds a literal credential",
        severity: High,
        category: Secrets,
        check: Check::Container(check),
        frameworks: [
            nsa::SECRETS, mitre::UNSECURED_CREDENTIALS, soc2::C1_1, pci::R8_6_2, iso27001::A5_17,
            iso27001::A8_12, nist::IA_5, gdpr::ART32_1_B,
        ],
        equivalents: ["polaris:sensitiveContainerEnvVar"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    for (i, var) in c
        .get("env")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(node) = var.get("value") else {
            continue;
        };
        let value = match &node.value {
            Value::Str(s) => s.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            _ => continue,
        };
        let name = var.get("name").and_then(Node::as_str).unwrap_or("");
        if let Some(reason) = credential_reason(name, &value) {
            out.report(
                c.path.key("env").index(i).key("value"),
                format!(
                    "{} sets environment variable \"{name}\" to a literal credential: {reason}",
                    c.describe()
                ),
            )
            .hide_value();
        }
    }
}

#[cfg(test)]
mod tests {
    /// The literal credentials of the cases file: none of them may reach the snapshot.
    const LITERALS: &[&str] = &[
        "hunter2-not-real",
        "AKIAIOSFODNN7EXAMPLE",
        "FAKEKEYMATERIALFORTESTS",
        "8e3a91c0ffee",
        "t0ps3cr3t",
        "xoxb-000000000000-fakefakefake",
    ];

    #[test]
    fn the_snapshot_never_shows_a_credential() {
        super::super::assert_snapshot_hides(
            "hardcoded_credential_in_env.cases.yaml",
            "hardcoded-credential-in-env.snap",
            LITERALS,
        );
    }
}
