//! A cluster's exposed workloads, from the analysis its agent stored (the same analysis as
//! `kspm network exposure`): each workload reachable from outside the cluster and every way it
//! is.

use kspm_store::{AnalysisKind, Store};
use serde_json::{Value as Json, json};

use super::{PageError, Params, layout, time_json};
use crate::html::{Href, Html};

pub struct Exposure {
    pub now: i64,
    pub cluster: String,
    pub updated_at: Option<i64>,
    pub exposed: Vec<Exposed>,
    pub truncated: u64,
}

pub struct Exposed {
    /// `Kind/namespace/name`.
    pub workload: String,
    pub namespace: String,
    pub reasons: Vec<String>,
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<Exposure, PageError> {
    let cluster = super::rbac::cluster_param(params)?;
    let stored = store.analysis(cluster, AnalysisKind::Network).await?;
    let (updated_at, doc) = match stored {
        Some(a) => (Some(a.updated_at), a.document),
        None => (None, Json::Null),
    };
    let exposed = doc["exposed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Exposed {
            workload: e["workload"].as_str().unwrap_or_default().to_owned(),
            namespace: e["namespace"].as_str().unwrap_or_default().to_owned(),
            reasons: e["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect(),
        })
        .collect();
    Ok(Exposure {
        now,
        cluster: cluster.to_owned(),
        updated_at,
        exposed,
        truncated: doc["truncated"].as_u64().unwrap_or(0),
    })
}

pub fn json(e: &Exposure) -> Json {
    json!({
        "generated_at": time_json(Some(e.now)),
        "cluster": e.cluster,
        "updated_at": time_json(e.updated_at),
        "exposed": e.exposed.iter().map(|x| json!({
            "workload": x.workload,
            "namespace": x.namespace,
            "reasons": x.reasons,
        })).collect::<Vec<_>>(),
        "truncated": e.truncated,
    })
}

pub fn html(e: &Exposure) -> String {
    let mut h = Html::new();
    h.raw("<h1>Network exposure of ")
        .text(&e.cluster)
        .raw("</h1>");
    h.raw("<p>")
        .link(
            &Href::to("/cluster", &[("name", &e.cluster)]),
            "Back to the cluster",
        )
        .raw(" · ")
        .link(
            &Href::to("/rbac", &[("cluster", &e.cluster)]),
            "RBAC escalation paths",
        )
        .raw("</p>");
    let Some(updated) = e.updated_at else {
        h.raw("<p class=\"muted\" id=\"no-analysis\">No network analysis is stored for this cluster. ")
            .raw("The agent (<code>kspm agent</code>) stores it after judging the whole cluster; ")
            .raw("<code>kspm network exposure --cluster</code> answers the same question directly.</p>");
        return layout(&format!("Network {}", e.cluster), h);
    };
    h.raw("<p class=\"muted\">Workloads reachable from outside the cluster, as ")
        .raw("<code>kspm network exposure</code> reports them. Analysis changed ");
    super::ago(&mut h, updated, e.now);
    h.raw(".</p>");
    if e.exposed.is_empty() {
        h.raw("<p id=\"no-exposed\">No workload is exposed outside the cluster.</p>");
        return layout(&format!("Network {}", e.cluster), h);
    }
    h.raw("<table id=\"exposed\"><thead><tr><th>workload</th><th>exposed by</th><th>findings</th></tr></thead><tbody>");
    for x in &e.exposed {
        h.raw("<tr class=\"exposed\"><td>")
            .text(&x.workload)
            .raw("</td><td><ul>");
        for r in &x.reasons {
            h.el("li", r);
        }
        let name = x.workload.rsplit('/').next().unwrap_or_default();
        h.raw("</ul></td><td>")
            .link(
                &Href::to(
                    "/findings",
                    &[
                        ("cluster", &e.cluster),
                        ("namespace", &x.namespace),
                        ("q", name),
                        ("status", "open"),
                    ],
                ),
                "open findings",
            )
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");
    if e.truncated > 0 {
        h.raw("<p class=\"muted\">")
            .text(e.truncated)
            .raw(" more exposed workloads were not stored.</p>");
    }
    layout(&format!("Network {}", e.cluster), h)
}
