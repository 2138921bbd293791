use std::collections::HashMap;

use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags a container that defines the same environment variable name twice in `env`; each
    /// later definition is reported.
    ///
    /// ## Why is this bad?
    /// Only one of the values takes effect (the later one), and which one is easy to misread: a
    /// reviewer sees the first definition, a patch or a Helm value adds another, and the
    /// container runs with a setting nobody intended — a debug flag left on, a TLS check turned
    /// off. Server-side apply and strategic merge patches also key `env` by name and can keep or
    /// drop the wrong entry.
    ///
    /// ## Remediation
    /// Keep exactly one entry per name; remove the duplicate and make sure the remaining value is
    /// the one you want.
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
    ///     image: example/web:3.0
    ///     env:
    ///     - name: TLS_VERIFY
    ///       value: "true"
    ///     - name: TLS_VERIFY
    ///       value: "false"
    /// ```
    pub const RULE = {
        code: "WL013",
        slug: "duplicate-env-var",
        title: "Container defines an environment variable twice",
        severity: Low,
        category: Workload,
        check: Check::Container(check),
        frameworks: [],
        equivalents: ["kube-score:environment-variable-key-duplication"],
        fix: false,
        default: true,
    }
}

fn check(c: &Container<'_>, out: &mut Reporter<'_>) {
    let Some(env) = c.get("env").and_then(Node::as_seq) else {
        return;
    };
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, var) in env.iter().enumerate() {
        let Some(name) = var.get("name").and_then(Node::as_str) else {
            continue;
        };
        if let Some(&j) = first.get(name) {
            out.report(
                c.path.key("env").index(i).key("name"),
                format!(
                    "{} defines environment variable \"{name}\" again (env[{i}]; first at env[{j}]); the later value wins",
                    c.describe()
                ),
            );
        } else {
            first.insert(name, i);
        }
    }
}
