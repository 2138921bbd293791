//! A rule's documentation page (Markdown), for `kspm explain` and `docs/rules/<slug>.md`.

use std::fmt::Write as _;

use kspm_frameworks::Framework;
use kspm_rules::Rule;

pub fn rule_page(rule: &Rule) -> String {
    let m = &rule.meta;
    let mut out = String::new();
    let _ = writeln!(out, "# {} `{}`: {}\n", m.code, m.slug, m.title);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Severity | {} |", m.severity);
    let _ = writeln!(out, "| Category | {} |", m.category.as_str());
    let _ = writeln!(out, "| Checks | {} |", rule.check.target());
    let _ = writeln!(
        out,
        "| Enabled by default | {} |",
        if m.default_enabled {
            "yes"
        } else {
            "no (select it with `--select`)"
        }
    );
    let _ = writeln!(
        out,
        "| Automatic fix | {} |",
        if m.has_fix { "yes" } else { "no" }
    );
    for fw in Framework::ALL {
        let controls: Vec<String> = m
            .frameworks
            .iter()
            .filter(|c| c.framework == fw)
            .map(|c| format!("{} ({})", c.id, c.title))
            .collect();
        if !controls.is_empty() {
            let _ = writeln!(
                out,
                "| {} {} | {} |",
                fw.title(),
                fw.version(),
                controls.join("; ")
            );
        }
    }
    if !m.equivalents.is_empty() {
        let eq: Vec<String> = m.equivalents.iter().map(|e| format!("`{e}`")).collect();
        let _ = writeln!(out, "| Equivalent checks | {} |", eq.join(", "));
    }
    let _ = writeln!(out);
    let body = m.docs_text();
    out.push_str(body.trim());
    out.push('\n');
    out
}
