use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags containers that read Secrets into environment variables: an `env` entry with
    /// `valueFrom.secretKeyRef`, or an `envFrom` entry with `secretRef` (which loads every key of
    /// the Secret).
    ///
    /// ## Why is this bad?
    /// Environment variables leak easily: applications dump them in crash reports, debug pages
    /// and logs, every child process inherits them, and anyone who can exec into the container
    /// or read `/proc/<pid>/environ` on the node sees them. Secrets mounted as files are read
    /// only when needed, can be restricted by file permissions, and are updated in place when
    /// the Secret changes (environment variables keep the old value until a restart).
    ///
    /// ## Remediation
    /// Mount the Secret as a volume (`secret` or `projected`) and have the application read the
    /// file; many images accept a `*_FILE` variable that points at it.
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
    ///       valueFrom:
    ///         secretKeyRef:
    ///           name: db
    ///           key: password
    /// ```
    pub const RULE = {
        code: "SC001",
        slug: "secret-in-env-var",
        title: "Container reads a Secret into environment variables",
        severity: Low,
        category: Secrets,
        check: Check::Container(check),
        frameworks: [
            cis::C5_4_1, nsa::SECRETS, mitre::UNSECURED_CREDENTIALS, soc2::C1_1, iso27001::A5_17,
            iso27001::A8_12, nist::IA_5,
        ],
        equivalents: ["checkov:CKV_K8S_35"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let name_of = |n: &Node| {
        n.get("name")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned()
    };
    for (i, var) in c
        .get("env")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(secret) = var
            .at(&["valueFrom", "secretKeyRef"])
            .filter(|n| n.as_map().is_some())
        else {
            continue;
        };
        let key = secret.get("key").and_then(Node::as_str).unwrap_or("");
        out.report(
            c.path
                .key("env")
                .index(i)
                .keys(&["valueFrom", "secretKeyRef"]),
            format!(
                "{} reads key \"{key}\" of Secret \"{}\" into environment variable \"{}\"",
                c.describe(),
                name_of(secret),
                name_of(var)
            ),
        );
    }
    for (i, source) in c
        .get("envFrom")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(secret) = source.get("secretRef").filter(|n| n.as_map().is_some()) else {
            continue;
        };
        out.report(
            c.path.key("envFrom").index(i).key("secretRef"),
            format!(
                "{} loads every key of Secret \"{}\" into its environment",
                c.describe(),
                name_of(secret)
            ),
        );
    }
}
