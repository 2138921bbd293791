//! A cluster's RBAC escalation paths, from the analysis its agent stored (the same analysis as
//! `kspm rbac paths`): a graph drawn on the server as inline SVG (no script), and the paths as
//! nested lists in the CLI's words.
//!
//! The page reads the stored document loosely (missing fields show as empty), so a document
//! written by an older or newer agent still renders.

use std::collections::BTreeMap;

use kspm_store::{AnalysisKind, Store};
use serde_json::{Value as Json, json};

use super::{PageError, Params, layout, time_json};
use crate::html::{Href, Html};

pub struct Paths {
    pub now: i64,
    pub cluster: String,
    /// When the agent last changed the document; `None` when none is stored.
    pub updated_at: Option<i64>,
    pub paths: Vec<PathView>,
    pub truncated: u64,
    pub problems: Vec<String>,
}

pub struct PathView {
    pub start: String,
    pub description: String,
    pub steps: Vec<Step>,
    pub holders: Vec<String>,
    /// The document's own form of the path, for the API.
    pub raw: Json,
}

pub struct Step {
    pub from: String,
    pub from_type: String,
    pub to: String,
    pub to_type: String,
    pub text: String,
}

fn text(v: &Json) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn texts(v: &Json) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect()
}

pub fn cluster_param(params: &Params) -> Result<&str, PageError> {
    params
        .get("cluster")
        .ok_or_else(|| PageError::BadRequest("which cluster? (`?cluster=CLUSTER`)".to_owned()))
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<Paths, PageError> {
    let cluster = cluster_param(params)?;
    let stored = store.analysis(cluster, AnalysisKind::Rbac).await?;
    let (updated_at, doc) = match stored {
        Some(a) => (Some(a.updated_at), a.document),
        None => (None, Json::Null),
    };
    let paths = doc["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| PathView {
            start: text(&p["start_label"]),
            description: text(&p["description"]),
            holders: texts(&p["holders"]),
            steps: p["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| Step {
                    from: text(&s["from_label"]),
                    from_type: text(&s["from"]["type"]),
                    to: text(&s["to_label"]),
                    to_type: text(&s["to"]["type"]),
                    text: text(&s["text"]),
                })
                .collect(),
            raw: p.clone(),
        })
        .collect();
    Ok(Paths {
        now,
        cluster: cluster.to_owned(),
        updated_at,
        paths,
        truncated: doc["truncated"].as_u64().unwrap_or(0),
        problems: texts(&doc["problems"]),
    })
}

pub fn json(p: &Paths) -> Json {
    json!({
        "generated_at": time_json(Some(p.now)),
        "cluster": p.cluster,
        "updated_at": time_json(p.updated_at),
        "paths": p.paths.iter().map(|p| p.raw.clone()).collect::<Vec<_>>(),
        "truncated": p.truncated,
        "problems": p.problems,
    })
}

/// The most nodes drawn; a larger graph is left to the list.
const MAX_NODES: usize = 150;
const BOX_W: f64 = 210.0;
const BOX_H: f64 = 30.0;
const COL_W: f64 = 270.0;
const ROW_H: f64 = 44.0;
const PAD: f64 = 12.0;
/// Characters of a label shown in its box; the whole label is its tooltip.
const LABEL_CHARS: usize = 30;

fn fill(node_type: &str) -> &'static str {
    match node_type {
        "cluster-admin" => "#f4cccc",
        "namespace-admin" => "#fce5cd",
        "subject" => "#e8eef8",
        _ => "#eeeeee",
    }
}

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// The paths as one graph: a column per number of steps left to cluster-admin (cluster-admin
/// rightmost), each node once, each hop once.
fn graph(h: &mut Html, paths: &[PathView]) {
    // Node → (steps left, type, order of appearance).
    let mut nodes: BTreeMap<&str, (usize, &str, usize)> = BTreeMap::new();
    let mut edges: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for p in paths {
        let n = p.steps.len();
        for (i, s) in p.steps.iter().enumerate() {
            for (label, kind, left) in [
                (s.from.as_str(), s.from_type.as_str(), n - i),
                (s.to.as_str(), s.to_type.as_str(), n - i - 1),
            ] {
                let order = nodes.len();
                let e = nodes.entry(label).or_insert((left, kind, order));
                e.0 = e.0.max(left);
            }
            edges
                .entry((s.from.as_str(), s.to.as_str()))
                .or_insert(&s.text);
        }
    }
    if nodes.len() > MAX_NODES {
        h.raw("<p class=\"muted\">")
            .text(nodes.len())
            .raw(" nodes are too many to draw; the paths are listed below.</p>");
        return;
    }
    let columns = nodes.values().map(|n| n.0).max().unwrap_or(0) + 1;
    let mut in_column: Vec<Vec<(&str, usize)>> = vec![Vec::new(); columns];
    for (&label, &(left, _, order)) in &nodes {
        in_column[left].push((label, order));
    }
    let mut at: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (left, column) in in_column.iter_mut().enumerate() {
        column.sort_by_key(|(_, order)| *order);
        for (row, &(label, _)) in column.iter().enumerate() {
            let x = PAD + (columns - 1 - left) as f64 * COL_W;
            let y = PAD + row as f64 * ROW_H;
            at.insert(label, (x, y));
        }
    }
    let rows = in_column.iter().map(Vec::len).max().unwrap_or(1);
    let width = PAD * 2.0 + (columns - 1) as f64 * COL_W + BOX_W;
    let height = PAD * 2.0 + (rows - 1) as f64 * ROW_H + BOX_H;
    h.raw(
        "<svg class=\"graph\" id=\"rbac-graph\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"",
    )
    .attr("viewBox", format!("0 0 {width} {height}"))
    .attr("width", width)
    .attr("height", height)
    .attr(
        "aria-label",
        "Escalation graph: who can become cluster-admin, and through what",
    )
    .raw(">");
    h.raw("<title>Escalation graph</title>")
        .raw("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">")
        .raw("<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#5b6473\"/></marker></defs>");
    for ((from, to), label) in &edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(from), at.get(to)) else {
            continue;
        };
        h.raw("<line class=\"hop\" stroke=\"#5b6473\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"")
            .attr("x1", x1 + BOX_W)
            .attr("y1", y1 + BOX_H / 2.0)
            .attr("x2", x2)
            .attr("y2", y2 + BOX_H / 2.0)
            .raw("><title>")
            .text(label)
            .raw("</title></line>");
    }
    for (label, (_, kind, _)) in &nodes {
        let (x, y) = at[label];
        h.raw("<g class=\"node\"><title>")
            .text(label)
            .raw("</title><rect stroke=\"#9aa3af\" rx=\"3\"")
            .attr("x", x)
            .attr("y", y)
            .attr("width", BOX_W)
            .attr("height", BOX_H)
            .attr("fill", fill(kind))
            .raw("/><text font-size=\"11\" fill=\"#1d2430\"")
            .attr("x", x + 6.0)
            .attr("y", y + BOX_H / 2.0 + 4.0)
            .raw(">")
            .text(short(label))
            .raw("</text></g>");
    }
    h.raw("</svg>");
}

pub fn html(p: &Paths) -> String {
    let mut h = Html::new();
    h.raw("<h1>RBAC escalation paths of ")
        .text(&p.cluster)
        .raw("</h1>");
    h.raw("<p>")
        .link(
            &Href::to("/cluster", &[("name", &p.cluster)]),
            "Back to the cluster",
        )
        .raw(" · ")
        .link(
            &Href::to("/network", &[("cluster", &p.cluster)]),
            "Network exposure",
        )
        .raw("</p>");
    let Some(updated) = p.updated_at else {
        h.raw(
            "<p class=\"muted\" id=\"no-analysis\">No RBAC analysis is stored for this cluster. ",
        )
        .raw("The agent (<code>kspm agent</code>) stores it after judging the whole cluster; ")
        .raw("<code>kspm rbac paths --cluster</code> answers the same question directly.</p>");
        return layout(&format!("RBAC {}", p.cluster), h);
    };
    h.raw("<p class=\"muted\">Subjects that can become cluster-admin, shortest path first, as ")
        .raw("<code>kspm rbac paths</code> reports them. Analysis changed ");
    super::ago(&mut h, updated, p.now);
    h.raw(".</p>");
    if p.paths.is_empty() {
        h.raw("<p id=\"no-paths\">No escalation path to cluster-admin.</p>");
    } else {
        graph(&mut h, &p.paths);
        h.el("h2", "Paths");
        h.raw("<ol class=\"paths\" id=\"paths\">");
        for path in &p.paths {
            h.raw("<li class=\"path\"><strong>")
                .text(&path.start)
                .raw("</strong><ol class=\"steps\">");
            for s in &path.steps {
                h.el("li", &s.text);
            }
            h.raw("</ol>");
            if !path.holders.is_empty() {
                h.raw("<div class=\"muted\">held by: ")
                    .text(path.holders.join(", "))
                    .raw("</div>");
            }
            h.raw("</li>");
        }
        h.raw("</ol>");
        if p.truncated > 0 {
            h.raw("<p class=\"muted\">")
                .text(p.truncated)
                .raw(" more paths were not stored.</p>");
        }
    }
    if !p.problems.is_empty() {
        h.el("h2", "Problems in the RBAC objects");
        h.raw("<ul id=\"problems\">");
        for problem in &p.problems {
            h.el("li", problem);
        }
        h.raw("</ul>");
    }
    layout(&format!("RBAC {}", p.cluster), h)
}
