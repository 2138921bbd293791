//! The findings page: filters in the URL, sort, pagination, CSV and JSON export of the view.

use kspm_model::Severity;
use kspm_store::render::findings_json;
use kspm_store::time::rfc3339;
use kspm_store::{Facets, FindingQuery, FindingRecord, FindingSort, Status, Store};
use serde_json::{Value as Json, json};

use super::{PageError, Params, layout, severity_badge};
use crate::html::{Href, Html};

/// Rows per page in the HTML view and the API (unless `page_size` asks for another, up to
/// [`MAX_PAGE_SIZE`]).
pub const PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1_000;
/// Rows an export (CSV or JSON of the whole view) holds at most.
pub const MAX_EXPORT: i64 = 100_000;

/// The filters as the URL carries them: (parameter, value), in a fixed order.
pub const FILTERS: [&str; 8] = [
    "cluster",
    "namespace",
    "severity",
    "rule",
    "control",
    "category",
    "status",
    "q",
];

pub struct View {
    pub now: i64,
    pub query: FindingQuery,
    /// The filter parameters that are set, for links that keep them.
    pub filters: Vec<(&'static str, String)>,
    pub page: i64,
    pub page_size: i64,
    pub total: i64,
    pub findings: Vec<FindingRecord>,
    pub facets: Facets,
}

/// A query string, read.
pub struct Parsed {
    pub query: FindingQuery,
    /// The filter parameters that are set, in [`FILTERS`] order, then `sort` when not the default.
    pub filters: Vec<(&'static str, String)>,
    pub page: i64,
    pub page_size: i64,
}

/// Reads the filters, sort and page from the query string.
pub fn parse(params: &Params) -> Result<Parsed, PageError> {
    let bad = |what: String| PageError::BadRequest(what);
    let mut q = FindingQuery::default();
    let mut filters = Vec::new();
    for key in FILTERS {
        if let Some(v) = params.get(key) {
            if v.len() > 512 {
                return Err(bad(format!("parameter `{key}` is longer than 512 bytes")));
            }
            filters.push((key, v.to_owned()));
        }
    }
    q.cluster = params.get("cluster").map(str::to_owned);
    q.namespace = params.get("namespace").map(str::to_owned);
    q.rule = params.get("rule").map(str::to_owned);
    q.category = params.get("category").map(str::to_owned);
    if let Some(c) = params.get("control") {
        let control = super::compliance::parse_control(c).map_err(|e| bad(e.to_string()))?;
        q.rules = Some(
            super::compliance::control_rules(control)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
    }
    q.text = params.get("q").map(str::to_owned);
    q.severity = params
        .get("severity")
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|_| bad(format!("parameter `severity`: unknown severity `{s}` (critical, high, medium, low or info)")))
        })
        .transpose()?;
    q.status = params
        .get("status")
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| bad(format!("parameter `status`: {e}")))
        })
        .transpose()?;
    if let Some(s) = params.get("sort") {
        q.sort = FindingSort::parse(s).ok_or_else(|| {
            bad(format!(
                "parameter `sort`: unknown order `{s}` (risk, age or newest)"
            ))
        })?;
        if q.sort != FindingSort::default() {
            filters.push(("sort", s.to_owned()));
        }
    }
    let number = |key: &str, default: i64, max: i64| -> Result<i64, PageError> {
        match params.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "parameter `{key}`: `{v}` is not a number from 1 to {max}"
                    ))
                }),
        }
    };
    let page = number("page", 1, 1_000_000)?;
    let page_size = number("page_size", PAGE_SIZE, MAX_PAGE_SIZE)?;
    q.offset = (page - 1) * page_size;
    q.limit = page_size;
    Ok(Parsed {
        query: q,
        filters,
        page,
        page_size,
    })
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<View, PageError> {
    let Parsed {
        query,
        filters,
        page,
        page_size,
    } = parse(params)?;
    let result = store.finding_page(&query, now).await?;
    let facets = store.facets(query.cluster.as_deref(), 500).await?;
    Ok(View {
        now,
        query,
        filters,
        page,
        page_size,
        total: result.total,
        findings: result.findings,
        facets,
    })
}

/// Every finding the filters select (no paging), up to [`MAX_EXPORT`].
pub async fn export(store: &Store, params: &Params, now: i64) -> Result<View, PageError> {
    let Parsed {
        mut query, filters, ..
    } = parse(params)?;
    query.offset = 0;
    query.limit = MAX_EXPORT;
    let result = store.finding_page(&query, now).await?;
    Ok(View {
        now,
        query,
        filters,
        page: 1,
        page_size: MAX_EXPORT,
        total: result.total,
        findings: result.findings,
        facets: Facets::default(),
    })
}

/// The findings as the API gives them: `kspm findings --format json`'s items plus the object's
/// store key (for `/api/v1/object`).
pub fn items(findings: &[FindingRecord]) -> Json {
    let mut doc = findings_json(findings);
    let mut items = doc["findings"].take();
    if let Some(list) = items.as_array_mut() {
        for (item, f) in list.iter_mut().zip(findings) {
            item["object_key"] = json!(f.object_key());
        }
    }
    items
}

pub fn json(v: &View) -> Json {
    let filters: serde_json::Map<String, Json> = v
        .filters
        .iter()
        .map(|(k, val)| ((*k).to_owned(), json!(val)))
        .collect();
    json!({
        "generated_at": super::time_json(Some(v.now)),
        "filters": filters,
        "sort": v.query.sort,
        "page": v.page,
        "page_size": v.page_size,
        "total": v.total,
        "findings": items(&v.findings),
    })
}

/// One CSV field: quoted, quotes doubled, and a leading `=`, `+`, `-`, `@`, tab or CR
/// neutralised with a `'` so a spreadsheet never runs it as a formula.
fn csv_field(out: &mut String, value: &str) {
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

pub fn csv(v: &View) -> String {
    let header = [
        "status",
        "severity",
        "cluster",
        "rule",
        "slug",
        "category",
        "kind",
        "namespace",
        "name",
        "path",
        "message",
        "value",
        "location",
        "opened_at",
        "first_seen",
        "last_seen",
        "resolved_at",
    ];
    let mut out = header.join(",");
    out.push_str("\r\n");
    for f in &v.findings {
        let fields = [
            f.status.as_str().to_owned(),
            f.severity.as_str().to_owned(),
            f.cluster.clone(),
            f.rule.clone(),
            f.slug.clone(),
            f.category.clone(),
            f.object.kind.clone(),
            f.object.namespace.clone().unwrap_or_default(),
            f.object.name.clone(),
            f.path.clone(),
            f.message.clone(),
            f.value.clone().unwrap_or_default(),
            f.location.clone(),
            rfc3339(f.opened_at),
            rfc3339(f.first_seen),
            rfc3339(f.last_seen),
            f.resolved_at.map(rfc3339).unwrap_or_default(),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, field);
        }
        out.push_str("\r\n");
    }
    out
}

/// The link to an object's page.
pub fn object_href(f: &FindingRecord) -> Href {
    Href::to(
        "/object",
        &[("cluster", &f.cluster), ("key", &f.object_key())],
    )
}

/// A table of findings with links to their object and rule.
pub fn table(h: &mut Html, findings: &[FindingRecord], now: i64, id: &'static str) {
    h.raw("<table")
        .attr("id", id)
        .raw("><thead><tr><th>severity</th><th>status</th><th>cluster</th><th>object</th>")
        .raw("<th>rule</th><th>message</th><th>since</th></tr></thead><tbody>");
    for f in findings {
        h.raw("<tr class=\"finding\"><td>");
        severity_badge(h, f.severity);
        h.raw("</td><td>").text(f.status.as_str()).raw("</td><td>");
        h.link(&Href::to("/cluster", &[("name", &f.cluster)]), &f.cluster);
        h.raw("</td><td>").link(&object_href(f), &f.object);
        h.raw("<br><code>").text(&f.path).raw("</code></td><td>");
        h.link(&Href::to("/rule", &[("id", &f.rule)]), &f.rule)
            .raw("<br><span class=\"muted\">")
            .text(&f.slug)
            .raw("</span></td><td>")
            .text(&f.message)
            .raw("</td><td>");
        let since = match f.status {
            Status::Resolved => f.resolved_at.unwrap_or(f.opened_at),
            _ => f.opened_at,
        };
        super::ago(h, since, now);
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}

fn select(
    h: &mut Html,
    name: &'static str,
    label: &'static str,
    current: Option<&str>,
    options: &[String],
) {
    h.raw("<label>")
        .text(label)
        .raw("<select")
        .attr("name", name)
        .attr("id", format!("f-{name}"))
        .raw("><option value=\"\">any</option>");
    let mut seen_current = false;
    for o in options {
        let selected = current == Some(o.as_str());
        seen_current |= selected;
        h.raw("<option").attr("value", o);
        if selected {
            h.raw(" selected");
        }
        h.raw(">").text(o).raw("</option>");
    }
    if let (Some(c), false) = (current, seen_current) {
        h.raw("<option selected")
            .attr("value", c)
            .raw(">")
            .text(c)
            .raw("</option>");
    }
    h.raw("</select></label>");
}

pub fn html(v: &View) -> String {
    let mut h = Html::new();
    h.el("h1", "Findings");
    let current = |k: &str| {
        v.filters
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, val)| val.as_str())
    };
    h.raw("<form class=\"filters\" id=\"filters\" method=\"get\" action=\"/findings\">");
    select(
        &mut h,
        "cluster",
        "cluster",
        current("cluster"),
        &v.facets.clusters,
    );
    select(
        &mut h,
        "namespace",
        "namespace",
        current("namespace"),
        &v.facets.namespaces,
    );
    let severities: Vec<String> = ["critical", "high", "medium", "low", "info"]
        .map(String::from)
        .to_vec();
    select(
        &mut h,
        "severity",
        "severity",
        current("severity"),
        &severities,
    );
    select(&mut h, "rule", "rule", current("rule"), &v.facets.rules);
    select(
        &mut h,
        "category",
        "category",
        current("category"),
        &v.facets.categories,
    );
    let statuses: Vec<String> = ["open", "suppressed", "resolved"]
        .map(String::from)
        .to_vec();
    select(&mut h, "status", "status", current("status"), &statuses);
    if let Some(c) = current("control") {
        h.raw("<label>control<input type=\"hidden\" name=\"control\"")
            .attr("value", c)
            .raw("><output id=\"f-control\">")
            .text(c)
            .raw("</output></label>");
    }
    h.raw("<label>text<input type=\"search\" name=\"q\" id=\"f-q\"")
        .attr("value", current("q").unwrap_or(""))
        .raw("></label>");
    let sorts: Vec<String> = FindingSort::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    h.raw("<label>sort<select name=\"sort\" id=\"f-sort\">");
    for s in &sorts {
        h.raw("<option").attr("value", s);
        if v.query.sort.as_str() == s {
            h.raw(" selected");
        }
        h.raw(">").text(s).raw("</option>");
    }
    h.raw("</select></label><button type=\"submit\">Apply</button> ")
        .link(&Href::to("/findings", &[]), "clear")
        .raw("</form>");

    let keep: Vec<(&str, &str)> = v
        .filters
        .iter()
        .map(|(k, val)| (*k, val.as_str()))
        .collect();
    let first = v.query.offset + 1;
    let last = v.query.offset + v.findings.len() as i64;
    h.raw("<p id=\"summary\">");
    if v.total == 0 {
        h.text("No findings match.");
    } else {
        h.text(format!("{first}–{last} of {} findings", v.total));
    }
    h.raw(" · export ")
        .link(&Href::to("/findings.csv", &keep), "CSV")
        .raw(" ")
        .link(&Href::to("/findings.json", &keep), "JSON")
        .raw("</p>");
    if !v.findings.is_empty() {
        table(&mut h, &v.findings, v.now, "findings");
    }
    let pages = (v.total + v.page_size - 1) / v.page_size;
    if pages > 1 {
        h.raw("<nav class=\"pages\" aria-label=\"pages\">");
        let page_link = |h: &mut Html, n: i64, label: &str, rel: &'static str| {
            let n = n.to_string();
            let mut q = keep.clone();
            q.push(("page", &n));
            h.raw("<a")
                .attr("rel", rel)
                .attr("href", Href::to("/findings", &q))
                .raw(">")
                .text(label)
                .raw("</a>");
        };
        if v.page > 1 {
            page_link(&mut h, v.page - 1, "← previous", "prev");
        }
        h.raw("<span>")
            .text(format!("page {} of {pages}", v.page))
            .raw("</span>");
        if v.page < pages {
            page_link(&mut h, v.page + 1, "next →", "next");
        }
        h.raw("</nav>");
    }
    layout("Findings", h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_cannot_become_formulas() {
        let mut out = String::new();
        csv_field(&mut out, "=HYPERLINK(\"x\")");
        assert_eq!(out, "\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = Params::parse(Some("severity=urgent"));
        let Err(PageError::BadRequest(m)) = parse(&p) else {
            panic!("accepted")
        };
        assert!(m.contains("`severity`"), "{m}");
        let p = Params::parse(Some("page=0"));
        assert!(matches!(parse(&p), Err(PageError::BadRequest(_))));
        let p = parse(&Params::parse(Some("cluster=a&page=3&sort=age"))).unwrap();
        let (q, filters, page) = (p.query, p.filters, p.page);
        assert_eq!((q.offset, page, q.sort), (100, 3, FindingSort::Age));
        assert_eq!(
            filters,
            vec![("cluster", "a".to_owned()), ("sort", "age".to_owned())]
        );
    }
}
