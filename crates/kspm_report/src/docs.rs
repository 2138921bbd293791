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
    let folding = folding(m.code);
    if !folding.is_empty() {
        let _ = writeln!(out, "\n## Folding\n");
        let _ = writeln!(
            out,
            "One finding per problem: on the same object, these findings fold into one (the others are listed in its message, its JSON `folded` list and `--show-folded`, and still fail their controls).\n"
        );
        for line in folding {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

/// What the folding table (`kspm_rules::fold::FOLDS`) says about a rule, one line per relation.
fn folding(code: &str) -> Vec<String> {
    use kspm_rules::fold::{FOLDS, Scope};
    let names = |codes: &[&str]| -> String {
        codes
            .iter()
            .filter(|c| **c != code)
            .map(|c| match kspm_rules::find_rule(c) {
                Some(r) => format!("{c} `{}`", r.meta.slug),
                None => (*c).to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for f in FOLDS {
        let scope = match f.scope {
            Scope::Field => "on the same field",
            Scope::Container => "on the same container",
            Scope::Volume => "on the same volume",
            Scope::RbacRule => "on the same entry of `rules`",
            Scope::Object => "on the same object",
        };
        let absorbs = f.into.contains(&code);
        let absorbed = f.folds.contains(&code);
        let whole = if f.whole {
            " (when it names the whole entry)"
        } else {
            ""
        };
        if absorbs && absorbed {
            out.push(format!(
                "With {} {scope}, the finding of highest severity stays and names the others: {}.",
                names(f.folds),
                f.why
            ));
        } else if absorbs {
            out.push(format!(
                "Absorbs {} {scope}{whole}: {}.",
                names(f.folds),
                f.why
            ));
        } else if absorbed {
            out.push(format!("Folds into {} {scope}: {}.", names(f.into), f.why));
        }
    }
    out
}

/// A framework's page (`docs/frameworks/<key>.md`): every control with how it is judged, the
/// rules behind it (derived from the rules' declarations) or what a person must check.
pub fn framework_page(fw: Framework) -> String {
    use kspm_frameworks::Assessment;
    let mut out = String::new();
    let _ = writeln!(out, "# {} {}\n", fw.title(), fw.version());
    let _ = writeln!(
        out,
        "Generated from `crates/kspm_frameworks/src/` and the rules' declarations; do not edit. Key: `{}` (`kspm scan --framework {}`).\n",
        fw.key(),
        fw.key()
    );
    let (mut automated, mut manual, mut na) = (0, 0, 0);
    for c in fw.controls() {
        match c.assessment {
            Assessment::Automated => automated += 1,
            Assessment::Manual(_) => manual += 1,
            Assessment::NotApplicable(_) => na += 1,
        }
    }
    let _ = writeln!(
        out,
        "{} controls: {automated} judged by rules, {manual} manual, {na} not applicable.\n",
        fw.controls().len()
    );
    let _ = writeln!(out, "| control | title | judged by |\n|---|---|---|");
    for c in fw.controls() {
        let judged = match c.assessment {
            Assessment::Automated => kspm_rules::rules()
                .iter()
                .filter(|r| r.meta.frameworks.contains(c))
                .map(|r| format!("[{}](../rules/{}.md)", r.meta.code, r.meta.slug))
                .collect::<Vec<_>>()
                .join(", "),
            Assessment::Manual(what) => format!("manual: {what}"),
            Assessment::NotApplicable(why) => format!("not applicable: {why}"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            c.id,
            c.title.replace('|', "\\|"),
            judged.replace('|', "\\|")
        );
    }
    out
}
