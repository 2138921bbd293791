//! One cluster: counts, the trend over time, top risks, the namespaces with most findings.

use kspm_store::time::human;
use kspm_store::{
    ClusterSummary, FindingQuery, FindingRecord, FindingSort, History, NamespaceCounts, Period,
    Status, Store,
};
use serde_json::{Value as Json, json};

use super::{PageError, Params, change, chart, layout, severity_cells, severity_headers};
use crate::html::{Href, Html};

pub struct Overview {
    pub now: i64,
    pub summary: ClusterSummary,
    pub history: History,
    pub top_risks: Vec<FindingRecord>,
    pub namespaces: Vec<NamespaceCounts>,
    pub agent: Option<kspm_store::AgentHealth>,
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<Overview, PageError> {
    let name = params
        .get("name")
        .ok_or_else(|| PageError::BadRequest("which cluster? (`?name=CLUSTER`)".to_owned()))?;
    // Only this cluster's rows; a cluster whose agent reports but found nothing yet is one too.
    let agent = store
        .agent_health()
        .await?
        .into_iter()
        .find(|a| a.cluster == name);
    let summary = match store.cluster(name, now).await? {
        Some(summary) => summary,
        None if agent.is_some() => ClusterSummary {
            cluster: name.to_owned(),
            open: kspm_store::SeverityCounts::default(),
            suppressed: 0,
            change_7d: None,
            change_30d: None,
            last_recorded: None,
        },
        None => {
            return Err(PageError::NotFound(format!(
                "no cluster `{name}` in the store"
            )));
        }
    };
    let history = store.history(Some(name), Period::Day).await?;
    let top_risks = store
        .finding_page(
            &FindingQuery {
                cluster: Some(name.to_owned()),
                status: Some(Status::Open),
                sort: FindingSort::Risk,
                limit: 10,
                ..FindingQuery::default()
            },
            now,
        )
        .await?
        .findings;
    let namespaces = store.namespace_counts(name, now, 10).await?;
    Ok(Overview {
        now,
        summary,
        history,
        top_risks,
        namespaces,
        agent,
    })
}

pub fn json(o: &Overview) -> Json {
    json!({
        "generated_at": super::time_json(Some(o.now)),
        "summary": super::fleet::cluster_json(&o.summary),
        "history": o.history,
        "top_risks": super::findings::items(&o.top_risks),
        "namespaces": o.namespaces,
        "agent": super::fleet::agent_json(o.agent.as_ref(), o.now),
    })
}

pub fn html(o: &Overview) -> String {
    let name = &o.summary.cluster;
    let mut h = Html::new();
    h.raw("<h1>Cluster ").text(name).raw("</h1>");
    h.raw("<div class=\"cards\">");
    let card = |h: &mut Html, label: &str, body: &dyn Fn(&mut Html)| {
        h.raw("<div class=\"card\"><div class=\"n\">");
        body(h);
        h.raw("</div><div class=\"muted\">")
            .text(label)
            .raw("</div></div>");
    };
    card(&mut h, "open findings", &|h| {
        h.link(
            &Href::to("/findings", &[("cluster", name), ("status", "open")]),
            o.summary.open.total(),
        );
    });
    card(&mut h, "suppressed", &|h| {
        h.text(o.summary.suppressed);
    });
    card(&mut h, "change over 7 days", &|h| {
        change(h, o.summary.change_7d);
    });
    card(&mut h, "change over 30 days", &|h| {
        change(h, o.summary.change_30d);
    });
    card(&mut h, "mean time to resolve", &|h| {
        match o.history.mean_time_to_resolve_seconds {
            Some(s) => h.text(human(s)),
            None => h.raw("<span class=\"muted\">n/a</span>"),
        };
    });
    card(&mut h, "agent", &|h| {
        h.raw("<div class=\"agent-health\">");
        super::fleet::agent_cell(h, o.agent.as_ref(), o.now);
        h.raw("</div>");
    });
    h.raw("</div>");

    h.raw("<p>")
        .link(
            &Href::to("/compliance", &[("cluster", name)]),
            "Compliance with each framework",
        )
        .raw(" · ")
        .link(
            &Href::to("/rbac", &[("cluster", name)]),
            "RBAC escalation paths",
        )
        .raw(" · ")
        .link(
            &Href::to("/network", &[("cluster", name)]),
            "Network exposure",
        )
        .raw("</p>");
    h.raw("<table id=\"counts\"><thead><tr>");
    severity_headers(&mut h);
    h.raw("</tr></thead><tbody><tr>");
    severity_cells(&mut h, &o.summary.open, &[("cluster", name)]);
    h.raw("</tr></tbody></table>");

    h.el("h2", "Trend");
    if o.history.rows.is_empty() {
        h.raw("<p class=\"muted\">No daily history yet.</p>");
    } else {
        chart::open_by_severity(&mut h, &o.history.rows);
        chart::opened_resolved(&mut h, &o.history.rows);
    }

    h.el("h2", "Top risks");
    if o.top_risks.is_empty() {
        h.raw("<p class=\"muted\">No open findings.</p>");
    } else {
        super::findings::table(&mut h, &o.top_risks, o.now, "top-risks");
        h.raw("<p>")
            .link(
                &Href::to("/findings", &[("cluster", name), ("status", "open")]),
                "All open findings of this cluster",
            )
            .raw("</p>");
    }

    h.el("h2", "Namespaces with most open findings");
    if o.namespaces.is_empty() {
        h.raw("<p class=\"muted\">None.</p>");
    } else {
        h.raw("<table id=\"namespaces\"><thead><tr><th>namespace</th>");
        severity_headers(&mut h);
        h.raw("</tr></thead><tbody>");
        for n in &o.namespaces {
            h.raw("<tr><td>");
            match &n.namespace {
                Some(ns) => {
                    h.link(
                        &Href::to(
                            "/findings",
                            &[("cluster", name), ("namespace", ns), ("status", "open")],
                        ),
                        ns,
                    );
                }
                None => {
                    h.raw("<span class=\"muted\">(cluster-scoped)</span>");
                }
            }
            h.raw("</td>");
            let base: Vec<(&str, &str)> = match &n.namespace {
                Some(ns) => vec![("cluster", name), ("namespace", ns)],
                None => vec![("cluster", name)],
            };
            severity_cells(&mut h, &n.open, &base);
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    layout(&format!("Cluster {name}"), h)
}
