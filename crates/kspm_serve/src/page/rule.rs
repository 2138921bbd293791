//! One rule: its documentation (the page `kspm explain` prints) and where it fails across
//! the fleet.

use kspm_store::{RuleClusterCounts, Store};
use serde_json::{Value as Json, json};

use super::{PageError, Params, layout};
use crate::html::{Href, Html};

pub struct RuleView {
    pub now: i64,
    /// The rule's code (as the store keeps it).
    pub code: String,
    pub slug: Option<&'static str>,
    pub title: Option<&'static str>,
    /// `kspm explain`'s Markdown page; `None` for a rule this build does not know (a custom
    /// policy the agent ran).
    pub docs: Option<String>,
    pub clusters: Vec<RuleClusterCounts>,
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<RuleView, PageError> {
    let id = params.get("id").ok_or_else(|| {
        PageError::BadRequest("parameter `id` (a rule code or slug) is required".to_owned())
    })?;
    let rule = kspm_rules::find_rule(id);
    let code = rule.map_or_else(|| id.to_owned(), |r| r.meta.code.to_owned());
    let clusters = store.rule_counts(&code, now).await?;
    if rule.is_none() && clusters.is_empty() {
        return Err(PageError::NotFound(format!("no rule `{id}`")));
    }
    Ok(RuleView {
        now,
        code,
        slug: rule.map(|r| r.meta.slug),
        title: rule.map(|r| r.meta.title),
        docs: rule.map(kspm_report::docs::rule_page),
        clusters,
    })
}

pub fn json(r: &RuleView) -> Json {
    json!({
        "generated_at": super::time_json(Some(r.now)),
        "rule": r.code,
        "slug": r.slug,
        "title": r.title,
        "docs_markdown": r.docs,
        "clusters": r.clusters,
    })
}

pub fn html(r: &RuleView) -> String {
    let mut h = Html::new();
    h.raw("<h2>Where it fails</h2>");
    if r.clusters.is_empty() {
        h.raw("<p class=\"muted\">No cluster in the store has findings of this rule.</p>");
    } else {
        h.raw("<table id=\"rule-clusters\"><thead><tr><th>cluster</th><th class=\"num\">open</th>")
            .raw("<th class=\"num\">suppressed</th><th class=\"num\">resolved</th></tr></thead><tbody>");
        for c in &r.clusters {
            h.raw("<tr><td>")
                .link(&Href::to("/cluster", &[("name", &c.cluster)]), &c.cluster)
                .raw("</td><td class=\"num\">")
                .link(
                    &Href::to(
                        "/findings",
                        &[
                            ("cluster", &c.cluster),
                            ("rule", &r.code),
                            ("status", "open"),
                        ],
                    ),
                    c.open,
                )
                .raw("</td><td class=\"num\">")
                .text(c.suppressed)
                .raw("</td><td class=\"num\">")
                .text(c.resolved)
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }
    h.raw("<div class=\"doc\">");
    match &r.docs {
        Some(md) => super::markdown::render(&mut h, md),
        None => {
            h.raw("<h1>")
                .text(&r.code)
                .raw("</h1><p class=\"muted\">")
                .raw(
                    "This build of kspm has no documentation for this rule (a custom policy?).</p>",
                );
        }
    }
    h.raw("</div>");
    let title = match r.title {
        Some(t) => format!("{} {t}", r.code),
        None => r.code.clone(),
    };
    layout(&title, h)
}
