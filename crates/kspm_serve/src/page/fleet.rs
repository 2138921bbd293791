//! The fleet: every cluster in the store, worst first.

use kspm_store::{ClusterSummary, Store};
use serde_json::{Value as Json, json};

use super::{PageError, change, layout, severity_cells, severity_headers, time_json};
use crate::html::{Href, Html};

pub struct Fleet {
    pub now: i64,
    pub clusters: Vec<ClusterSummary>,
}

pub async fn load(store: &Store, now: i64) -> Result<Fleet, PageError> {
    Ok(Fleet {
        now,
        clusters: store.clusters(now).await?,
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

pub fn json(f: &Fleet) -> Json {
    json!({
        "generated_at": time_json(Some(f.now)),
        "clusters": f.clusters.iter().map(cluster_json).collect::<Vec<_>>(),
    })
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
        .raw("<th class=\"num\">7 days</th><th class=\"num\">30 days</th><th>last recorded</th></tr></thead><tbody>");
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
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
    layout("Fleet", h)
}
