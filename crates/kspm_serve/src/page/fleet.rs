//! The fleet: every cluster in the store, worst first, with its agent's health.

use std::collections::BTreeMap;

use kspm_store::time::human;
use kspm_store::{AgentHealth, ClusterSummary, SeverityCounts, Store};
use serde_json::{Value as Json, json};

use super::{PageError, change, layout, severity_cells, severity_headers, time_json};
use crate::html::{Href, Html};

pub struct Fleet {
    pub now: i64,
    pub clusters: Vec<ClusterSummary>,
    /// The last report of each cluster's agent (clusters recorded by `kspm scan` have none).
    pub agents: BTreeMap<String, AgentHealth>,
}

pub async fn load(store: &Store, now: i64) -> Result<Fleet, PageError> {
    let mut clusters = store.clusters(now).await?;
    let agents: BTreeMap<String, AgentHealth> = store
        .agent_health()
        .await?
        .into_iter()
        .map(|a| (a.cluster.clone(), a))
        .collect();
    // A cluster whose agent reports but found nothing yet is part of the fleet too.
    for name in agents.keys() {
        if !clusters.iter().any(|c| &c.cluster == name) {
            clusters.push(ClusterSummary {
                cluster: name.clone(),
                open: SeverityCounts::default(),
                suppressed: 0,
                change_7d: None,
                change_30d: None,
                last_recorded: None,
            });
        }
    }
    Ok(Fleet {
        now,
        clusters,
        agents,
    })
}

pub fn cluster_json(c: &ClusterSummary) -> Json {
    json!({
        "cluster": c.cluster,
        "open": c.open,
        "open_total": c.open.total(),
        "suppressed": c.suppressed,
        "change_7d": c.change_7d,
        "change_30d": c.change_30d,
        "last_recorded": time_json(c.last_recorded),
    })
}

/// An agent's health as the API shows it; `null` for a cluster without an agent.
pub fn agent_json(a: Option<&AgentHealth>, now: i64) -> Json {
    let Some(a) = a else {
        return Json::Null;
    };
    json!({
        "heartbeat_at": time_json(Some(a.heartbeat_at)),
        "stale": a.stale(now),
        "stale_after_seconds": a.stale_after(),
        "sync_ok": a.sync_ok,
        "last_success_at": time_json(a.last_success_at),
        "error": a.error,
        "objects": a.objects,
        "unreadable": a.unreadable,
        "version": a.version,
        "period_seconds": a.period_seconds,
    })
}

pub fn json(f: &Fleet) -> Json {
    json!({
        "generated_at": time_json(Some(f.now)),
        "clusters": f.clusters.iter().map(|c| {
            let mut v = cluster_json(c);
            v["agent"] = agent_json(f.agents.get(&c.cluster), f.now);
            v
        }).collect::<Vec<_>>(),
    })
}

/// The agent's state in one word, as a badge: stale beats a failed sync beats unreadable kinds.
pub fn agent_cell(h: &mut Html, a: Option<&AgentHealth>, now: i64) {
    let Some(a) = a else {
        h.raw("<span class=\"muted\">no agent</span>");
        return;
    };
    let (class, word): (&'static str, &'static str) = if a.stale(now) {
        ("agent agent-stale", "stale")
    } else if !a.sync_ok {
        ("agent agent-failing", "sync failed")
    } else if !a.unreadable.is_empty() {
        ("agent agent-partial", "partial")
    } else {
        ("agent agent-ok", "healthy")
    };
    h.raw("<span")
        .attr("class", class)
        .raw(">")
        .text(word)
        .raw("</span> ");
    h.raw("<span class=\"muted\">reported ");
    super::ago(h, a.heartbeat_at, now);
    h.raw("</span>");
    if a.stale(now) {
        h.raw("<div class=\"muted\">no report for over ")
            .text(human(a.stale_after()))
            .raw("</div>");
    }
    if let Some(e) = &a.error {
        h.raw("<div>").text(e).raw("</div>");
    }
    if !a.sync_ok {
        h.raw("<div class=\"muted\">last good sync: ");
        match a.last_success_at {
            Some(t) => super::ago(h, t, now),
            None => {
                h.raw("never");
            }
        }
        h.raw("</div>");
    }
    h.raw("<div class=\"muted\">")
        .text(a.objects)
        .raw(" objects · kspm ")
        .text(&a.version)
        .raw("</div>");
    if !a.unreadable.is_empty() {
        h.raw("<details class=\"unreadable\"><summary>")
            .text(a.unreadable.len())
            .raw(" kinds could not be read</summary><ul>");
        for u in &a.unreadable {
            h.el("li", u);
        }
        h.raw("</ul></details>");
    }
}

pub fn html(f: &Fleet) -> String {
    let mut h = Html::new();
    h.el("h1", "Fleet");
    if f.clusters.is_empty() {
        h.raw("<p class=\"muted\">The store holds no findings yet. Record some with ")
            .raw("<code>kspm scan --cluster --store URL</code> or <code>kspm agent</code>.</p>");
        return layout("Fleet", h);
    }
    h.raw("<table id=\"fleet\"><thead><tr><th>cluster</th>");
    severity_headers(&mut h);
    h.raw("<th class=\"num\">open</th><th class=\"num\">suppressed</th>")
        .raw("<th class=\"num\">7 days</th><th class=\"num\">30 days</th><th>last recorded</th><th>agent</th></tr></thead><tbody>");
    for c in &f.clusters {
        h.raw("<tr><td>")
            .link(&Href::to("/cluster", &[("name", &c.cluster)]), &c.cluster)
            .raw("</td>");
        severity_cells(&mut h, &c.open, &[("cluster", &c.cluster)]);
        h.raw("<td class=\"num\">")
            .text(c.open.total())
            .raw("</td><td class=\"num\">")
            .text(c.suppressed)
            .raw("</td><td class=\"num\">");
        change(&mut h, c.change_7d);
        h.raw("</td><td class=\"num\">");
        change(&mut h, c.change_30d);
        h.raw("</td><td>");
        match c.last_recorded {
            Some(t) => super::ago(&mut h, t, f.now),
            None => {
                h.raw("<span class=\"muted\">never</span>");
            }
        }
        h.raw("</td><td class=\"agent-health\">");
        agent_cell(&mut h, f.agents.get(&c.cluster), f.now);
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
    layout("Fleet", h)
}
