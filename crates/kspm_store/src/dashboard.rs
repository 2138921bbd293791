//! Queries for the dashboard (`kspm serve`): the fleet, one cluster, a filtered and paginated
//! page of findings, one object, one rule across the fleet, a cluster's findings per rule (for
//! compliance), the suppressed findings (for exceptions).
//!
//! Each query does its filtering, counting and paging in SQL, so that a page costs the rows it
//! shows rather than the whole table. The one subtlety is the status: a suppression whose
//! exception expired counts as open from its expiry on, even before the next sync records it,
//! so every query compares against [`effective_status`] rather than the stored column.

use std::collections::BTreeMap;

use kspm_model::Severity;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::lifecycle::day_of;
use crate::query::SeverityCounts;
use crate::record::{EventKind, FindingRecord, Status};
use crate::{COLUMNS, Store, StoreError};

/// The status at `$1` (the query's `now`), in SQL: an expired suppression is open.
fn effective_status(now: &str) -> String {
    format!(
        "(CASE WHEN status = 'suppressed' AND suppressed_until IS NOT NULL AND suppressed_until <= {now} \
         THEN 'open' ELSE status END)"
    )
}

/// Severity as a number, worst highest, in SQL.
const SEVERITY_RANK: &str = "(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 \
    WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END)";

/// One cluster of the fleet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterSummary {
    pub cluster: String,
    /// Open findings now, by severity.
    pub open: SeverityCounts,
    pub suppressed: i64,
    /// Open findings now minus open findings at the end of the last recorded day at least 7
    /// (30) days ago; `None` without history that old.
    pub change_7d: Option<i64>,
    pub change_30d: Option<i64>,
    /// The last time the store recorded anything of this cluster: a finding seen or resolved.
    pub last_recorded: Option<i64>,
}

/// How a page of findings is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSort {
    /// Open before suppressed before resolved, worst severity first, then the longest open.
    #[default]
    Risk,
    /// The longest open (or resolved) first.
    Age,
    /// The most recently opened first.
    Newest,
}

impl FindingSort {
    pub const ALL: [FindingSort; 3] = [FindingSort::Risk, FindingSort::Age, FindingSort::Newest];

    pub const fn as_str(self) -> &'static str {
        match self {
            FindingSort::Risk => "risk",
            FindingSort::Age => "age",
            FindingSort::Newest => "newest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which findings one page shows. Every field is optional; all that are set must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub severity: Option<Severity>,
    /// A rule code (`PS001`) or slug (`host-pid`).
    pub rule: Option<String>,
    /// Only findings of these rule codes (a framework control's rules); empty selects none.
    pub rules: Option<Vec<String>>,
    pub category: Option<String>,
    pub status: Option<Status>,
    /// Case-insensitive substring of the object's kind, namespace or name, the rule's code or
    /// slug, the message or the path.
    pub text: Option<String>,
    /// The object's store key ([`crate::ObjectRef::key`]).
    pub object_key: Option<String>,
    pub sort: FindingSort,
    /// Rows to skip and rows to return.
    pub offset: i64,
    pub limit: i64,
}

/// One page of findings and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingPage {
    pub total: i64,
    pub findings: Vec<FindingRecord>,
}

/// Open findings of one namespace (`None`: cluster-scoped objects).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamespaceCounts {
    pub namespace: Option<String>,
    pub open: SeverityCounts,
}

/// Where one rule stands in one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleClusterCounts {
    pub cluster: String,
    pub open: i64,
    pub suppressed: i64,
    pub resolved: i64,
}

/// Findings of one rule in one cluster that count for compliance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleStatusCounts {
    pub open: i64,
    pub suppressed: i64,
}

/// One event of a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingEvent {
    #[serde(skip)]
    pub finding_id: i64,
    pub kind: EventKind,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The values the filters can take, for the filter form's choices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    pub clusters: Vec<String>,
    pub namespaces: Vec<String>,
    pub rules: Vec<String>,
    pub categories: Vec<String>,
}

/// A query's parameters, bound in order as `$1`, `$2`, ...
enum Param {
    Text(String),
    Int(i64),
}

struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends a parameter and returns its placeholder.
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    async fn fetch(self, store: &Store) -> Result<Vec<AnyRow>, StoreError> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for p in self.params {
            q = match p {
                Param::Text(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
            };
        }
        q.fetch_all(&store.pool).await.map_err(|e| store.db(e))
    }
}

/// Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '!'`.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Opens an existing store for reading only: never creates, migrates or writes (the
    /// database user may be read-only; an SQLite file is opened read-only). The schema must be
    /// the one this build knows.
    pub async fn open_read_only(url: &crate::StoreUrl) -> Result<Self, StoreError> {
        if let crate::StoreUrl::Sqlite(path) = url
            && !path.is_file()
        {
            return Err(StoreError::Unavailable {
                url: url.to_string(),
                reason: "no such file (record findings first with `kspm scan --store URL` or `kspm agent`)"
                    .to_owned(),
            });
        }
        let store = Self::connect(url, true).await?;
        let version = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM kspm_schema_migrations",
        )
        .fetch_one(&store.pool)
        .await
        .and_then(|r| r.try_get::<i64, _>(0));
        // A file or database that is not a kspm store says so here ("no such table").
        let found = version.map_err(|e| store.db(e))?;
        if found > crate::SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                url: store.url.clone(),
                found,
                known: crate::SCHEMA_VERSION,
            });
        }
        if found < crate::SCHEMA_VERSION {
            return Err(StoreError::Unavailable {
                url: store.url.clone(),
                reason: format!(
                    "schema version {found}, older than this kspm's ({}): let a `kspm agent` or \
                     `kspm scan --store` of this version migrate it first",
                    crate::SCHEMA_VERSION
                ),
            });
        }
        Ok(store)
    }

    /// Every cluster the store knows, worst first (most critical, then high, ... open findings).
    pub async fn clusters(&self, now: i64) -> Result<Vec<ClusterSummary>, StoreError> {
        self.summaries(None, now).await
    }

    /// One cluster's summary (reading only its rows); `None` when the store has no finding of it.
    pub async fn cluster(
        &self,
        cluster: &str,
        now: i64,
    ) -> Result<Option<ClusterSummary>, StoreError> {
        Ok(self.summaries(Some(cluster), now).await?.pop())
    }

    async fn summaries(
        &self,
        only: Option<&str>,
        now: i64,
    ) -> Result<Vec<ClusterSummary>, StoreError> {
        let mut sql = Sql::new("");
        let now_p = sql.bind(Param::Int(now));
        let where_cluster = match only {
            Some(c) => format!("WHERE cluster = {}", sql.bind(Param::Text(c.to_owned()))),
            None => String::new(),
        };
        sql.text = format!(
            "SELECT cluster, severity, {s}, CAST(COUNT(*) AS BIGINT), CAST(MAX(last_seen) AS BIGINT), \
             CAST(MAX(resolved_at) AS BIGINT) FROM findings {where_cluster} GROUP BY 1, 2, 3",
            s = effective_status(&now_p)
        );
        let mut by_cluster: BTreeMap<String, ClusterSummary> = BTreeMap::new();
        let entry = |map: &mut BTreeMap<String, ClusterSummary>, c: &str| {
            map.entry(c.to_owned())
                .or_insert_with(|| ClusterSummary {
                    cluster: c.to_owned(),
                    open: SeverityCounts::default(),
                    suppressed: 0,
                    change_7d: None,
                    change_30d: None,
                    last_recorded: None,
                })
                .clone()
        };
        for r in sql.fetch(self).await? {
            let cluster: String = r.try_get(0).map_err(|e| self.db(e))?;
            let severity = self.severity(&r, 1)?;
            let status: String = r.try_get(2).map_err(|e| self.db(e))?;
            let n: i64 = r.try_get(3).map_err(|e| self.db(e))?;
            let seen: i64 = r.try_get(4).map_err(|e| self.db(e))?;
            let resolved: Option<i64> = r.try_get(5).map_err(|e| self.db(e))?;
            let mut c = entry(&mut by_cluster, &cluster);
            match status.as_str() {
                "open" => c.open.add(severity, n),
                "suppressed" => c.suppressed += n,
                _ => {}
            }
            // Every event's time is one of these (opened, reopened and suppressed events are
            // seen; resolved ones set resolved_at): no scan of the event table needed.
            c.last_recorded = c.last_recorded.max(Some(seen)).max(resolved);
            by_cluster.insert(cluster, c);
        }
        // Open totals per cluster and day over the last 31 days, for the 7- and 30-day change.
        let today = day_of(now);
        let mut sql = Sql::new("");
        let from = sql.bind(Param::Int(today - 31));
        let and_cluster = match only {
            Some(c) => format!("AND cluster = {}", sql.bind(Param::Text(c.to_owned()))),
            None => String::new(),
        };
        sql.text = format!(
            "SELECT cluster, day, CAST(SUM(open) AS BIGINT) FROM daily_summaries WHERE day >= {from} \
             {and_cluster} GROUP BY cluster, day ORDER BY cluster, day"
        );
        let mut days: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for r in sql.fetch(self).await? {
            let cluster: String = r.try_get(0).map_err(|e| self.db(e))?;
            let day: i64 = r.try_get(1).map_err(|e| self.db(e))?;
            let open: i64 = r.try_get(2).map_err(|e| self.db(e))?;
            days.entry(cluster).or_default().push((day, open));
        }
        for (cluster, series) in days {
            let mut c = entry(&mut by_cluster, &cluster);
            let now_open = c.open.total();
            let at = |back: i64| {
                series
                    .iter()
                    .rev()
                    .find(|(d, _)| *d <= today - back)
                    .map(|(_, open)| now_open - open)
            };
            c.change_7d = at(7);
            c.change_30d = at(30);
            by_cluster.insert(cluster, c);
        }
        let mut out: Vec<ClusterSummary> = by_cluster.into_values().collect();
        out.sort_by(|a, b| {
            let key = |c: &ClusterSummary| {
                (
                    c.open.critical,
                    c.open.high,
                    c.open.medium,
                    c.open.low,
                    c.open.info,
                )
            };
            key(b).cmp(&key(a)).then_with(|| a.cluster.cmp(&b.cluster))
        });
        Ok(out)
    }

    /// One page of the findings `query` selects, in its order, and how many it selects in all.
    pub async fn finding_page(
        &self,
        query: &FindingQuery,
        now: i64,
    ) -> Result<FindingPage, StoreError> {
        let mut sql = Sql::new("");
        let now_p = sql.bind(Param::Int(now));
        let status = effective_status(&now_p);
        let mut conds = vec!["1 = 1".to_owned()];
        let mut eq = |sql: &mut Sql, column: &str, value: &Option<String>| {
            if let Some(v) = value {
                let p = sql.bind(Param::Text(v.clone()));
                conds.push(format!("{column} = {p}"));
            }
        };
        eq(&mut sql, "cluster", &query.cluster);
        eq(&mut sql, "namespace", &query.namespace);
        eq(&mut sql, "category", &query.category);
        eq(&mut sql, "object_key", &query.object_key);
        eq(
            &mut sql,
            "severity",
            &query.severity.map(|s| s.as_str().to_owned()),
        );
        eq(
            &mut sql,
            &status,
            &query.status.map(|s| s.as_str().to_owned()),
        );
        if let Some(rule) = &query.rule {
            let p = sql.bind(Param::Text(rule.clone()));
            conds.push(format!("(rule = {p} OR slug = {p})"));
        }
        if let Some(rules) = &query.rules {
            if rules.is_empty() {
                conds.push("1 = 0".to_owned());
            } else {
                let ps: Vec<String> = rules
                    .iter()
                    .map(|r| sql.bind(Param::Text(r.clone())))
                    .collect();
                conds.push(format!("rule IN ({})", ps.join(", ")));
            }
        }
        if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
            let p = sql.bind(Param::Text(like_pattern(text)));
            if text.contains('\n') {
                // The search text separates its fields by newlines: a newline in the text
                // must not match across two of them.
                let any = [
                    "kind",
                    "namespace",
                    "name",
                    "rule",
                    "slug",
                    "message",
                    "path",
                ]
                .map(|c| format!("LOWER(COALESCE({c}, '')) LIKE {p} ESCAPE '!'"))
                .join(" OR ");
                conds.push(format!("({any})"));
            } else {
                // One lower-cased text per finding, trigram-indexed on PostgreSQL.
                conds.push(format!(
                    "{} LIKE {p} ESCAPE '!'",
                    crate::schema::SEARCH_EXPR
                ));
            }
        }
        let filter = conds.join(" AND ");
        let count_sql = Sql {
            text: format!("SELECT CAST(COUNT(*) AS BIGINT) FROM findings WHERE {filter}"),
            params: sql
                .params
                .iter()
                .map(|p| match p {
                    Param::Text(t) => Param::Text(t.clone()),
                    Param::Int(i) => Param::Int(*i),
                })
                .collect(),
        };
        let total: i64 = count_sql
            .fetch(self)
            .await?
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| self.db(e))?
            .unwrap_or(0);
        let status_rank =
            format!("(CASE {status} WHEN 'open' THEN 0 WHEN 'suppressed' THEN 1 ELSE 2 END)");
        let order = match query.sort {
            FindingSort::Risk => {
                format!(
                    "{status_rank}, risk DESC, {SEVERITY_RANK} DESC, opened_at, cluster, object_key, rule, path"
                )
            }
            FindingSort::Age => "opened_at, id".to_owned(),
            FindingSort::Newest => "opened_at DESC, id DESC".to_owned(),
        };
        let limit = sql.bind(Param::Int(query.limit.clamp(0, 10_000)));
        let offset = sql.bind(Param::Int(query.offset.max(0)));
        sql.text = format!(
            "SELECT {COLUMNS} FROM findings WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let findings = sql
            .fetch(self)
            .await?
            .iter()
            .map(|r| self.read_record(r).map(|rec| as_of(rec, now)))
            .collect::<Result<_, _>>()?;
        Ok(FindingPage { total, findings })
    }

    /// Open findings per namespace of `cluster`, the most (by severity, worst first) first.
    pub async fn namespace_counts(
        &self,
        cluster: &str,
        now: i64,
        limit: usize,
    ) -> Result<Vec<NamespaceCounts>, StoreError> {
        let mut sql = Sql::new("");
        let now_p = sql.bind(Param::Int(now));
        let c = sql.bind(Param::Text(cluster.to_owned()));
        sql.text = format!(
            "SELECT namespace, severity, CAST(COUNT(*) AS BIGINT) FROM findings \
             WHERE cluster = {c} AND {s} = 'open' GROUP BY namespace, severity",
            s = effective_status(&now_p)
        );
        let mut by_ns: BTreeMap<Option<String>, SeverityCounts> = BTreeMap::new();
        for r in sql.fetch(self).await? {
            let ns: Option<String> = r.try_get(0).map_err(|e| self.db(e))?;
            let severity = self.severity(&r, 1)?;
            let n: i64 = r.try_get(2).map_err(|e| self.db(e))?;
            by_ns.entry(ns).or_default().add(severity, n);
        }
        let mut out: Vec<NamespaceCounts> = by_ns
            .into_iter()
            .map(|(namespace, open)| NamespaceCounts { namespace, open })
            .collect();
        out.sort_by(|a, b| {
            let key = |n: &NamespaceCounts| {
                (
                    n.open.critical,
                    n.open.high,
                    n.open.medium,
                    n.open.low,
                    n.open.info,
                )
            };
            key(b)
                .cmp(&key(a))
                .then_with(|| a.namespace.cmp(&b.namespace))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Where one rule (code) stands in each cluster that has or had its findings.
    pub async fn rule_counts(
        &self,
        rule: &str,
        now: i64,
    ) -> Result<Vec<RuleClusterCounts>, StoreError> {
        let mut sql = Sql::new("");
        let now_p = sql.bind(Param::Int(now));
        let r = sql.bind(Param::Text(rule.to_owned()));
        sql.text = format!(
            "SELECT cluster, {s}, CAST(COUNT(*) AS BIGINT) FROM findings WHERE rule = {r} \
             GROUP BY 1, 2 ORDER BY 1",
            s = effective_status(&now_p)
        );
        let mut by_cluster: BTreeMap<String, RuleClusterCounts> = BTreeMap::new();
        for row in sql.fetch(self).await? {
            let cluster: String = row.try_get(0).map_err(|e| self.db(e))?;
            let status: String = row.try_get(1).map_err(|e| self.db(e))?;
            let n: i64 = row.try_get(2).map_err(|e| self.db(e))?;
            let c = by_cluster
                .entry(cluster.clone())
                .or_insert_with(|| RuleClusterCounts {
                    cluster,
                    ..RuleClusterCounts::default()
                });
            match status.as_str() {
                "open" => c.open += n,
                "suppressed" => c.suppressed += n,
                _ => c.resolved += n,
            }
        }
        let mut out: Vec<RuleClusterCounts> = by_cluster.into_values().collect();
        out.sort_by(|a, b| b.open.cmp(&a.open).then_with(|| a.cluster.cmp(&b.cluster)));
        Ok(out)
    }

    /// Open and suppressed findings of `cluster` per rule (code), as they stand at `now`: what
    /// the compliance page judges each control from.
    pub async fn rule_status_counts(
        &self,
        cluster: &str,
        now: i64,
    ) -> Result<BTreeMap<String, RuleStatusCounts>, StoreError> {
        let mut sql = Sql::new("");
        let now_p = sql.bind(Param::Int(now));
        let c = sql.bind(Param::Text(cluster.to_owned()));
        sql.text = format!(
            "SELECT rule, {s}, CAST(COUNT(*) AS BIGINT) FROM findings WHERE cluster = {c} \
             AND {s} IN ('open', 'suppressed') GROUP BY 1, 2",
            s = effective_status(&now_p)
        );
        let mut out: BTreeMap<String, RuleStatusCounts> = BTreeMap::new();
        for row in sql.fetch(self).await? {
            let rule: String = row.try_get(0).map_err(|e| self.db(e))?;
            let status: String = row.try_get(1).map_err(|e| self.db(e))?;
            let n: i64 = row.try_get(2).map_err(|e| self.db(e))?;
            let c = out.entry(rule).or_default();
            if status == "open" {
                c.open += n;
            } else {
                c.suppressed += n;
            }
        }
        Ok(out)
    }

    /// Every finding recorded as suppressed, including those whose exception has expired by
    /// `now` (they are returned as stored, so that the exception is still shown), the soonest
    /// expiry first and exceptions without expiry last; at most `limit`.
    pub async fn suppressed_findings(&self, limit: i64) -> Result<Vec<FindingRecord>, StoreError> {
        let mut sql = Sql::new("");
        let l = sql.bind(Param::Int(limit.clamp(0, 100_000)));
        sql.text = format!(
            "SELECT {COLUMNS} FROM findings WHERE status = 'suppressed' \
             ORDER BY (CASE WHEN suppressed_until IS NULL THEN 1 ELSE 0 END), suppressed_until, \
             suppressed_by, suppressed_reason, cluster, object_key, rule, path LIMIT {l}"
        );
        sql.fetch(self)
            .await?
            .iter()
            .map(|r| self.read_record(r))
            .collect()
    }

    /// The events of one object's findings in one cluster, oldest first.
    pub async fn object_events(
        &self,
        cluster: &str,
        object_key: &str,
    ) -> Result<Vec<FindingEvent>, StoreError> {
        let mut sql = Sql::new("");
        let c = sql.bind(Param::Text(cluster.to_owned()));
        let k = sql.bind(Param::Text(object_key.to_owned()));
        sql.text = format!(
            "SELECT e.finding_id, e.kind, e.at, e.detail FROM finding_events e \
             JOIN findings f ON f.id = e.finding_id WHERE f.cluster = {c} AND f.object_key = {k} \
             ORDER BY e.at, e.id"
        );
        sql.fetch(self)
            .await?
            .iter()
            .map(|r| {
                let kind: String = r.try_get(1).map_err(|e| self.db(e))?;
                Ok(FindingEvent {
                    finding_id: r.try_get(0).map_err(|e| self.db(e))?,
                    kind: kind
                        .parse::<EventKind>()
                        .map_err(|e| self.corrupt(e.to_string()))?,
                    at: r.try_get(2).map_err(|e| self.db(e))?,
                    detail: r.try_get(3).map_err(|e| self.db(e))?,
                })
            })
            .collect()
    }

    /// The distinct clusters, namespaces, rules and categories of the findings of `cluster` (or
    /// of all), at most `limit` of each, for the filter form.
    ///
    /// Across the fleet each list is a loose index scan (one index probe per distinct value,
    /// on `findings_cluster_status` and the single-column indexes of schema 5) rather than a
    /// `DISTINCT` over every finding; within one cluster, its rows are read through the cluster
    /// index.
    pub async fn facets(&self, cluster: Option<&str>, limit: i64) -> Result<Facets, StoreError> {
        let mut facets = Facets {
            clusters: self.distinct("cluster", limit).await?,
            ..Facets::default()
        };
        for (column, into) in [
            ("namespace", &mut facets.namespaces),
            ("rule", &mut facets.rules),
            ("category", &mut facets.categories),
        ] {
            *into = match cluster {
                None => self.distinct(column, limit).await?,
                Some(c) => {
                    let mut sql = Sql::new("");
                    let c = sql.bind(Param::Text(c.to_owned()));
                    let l = sql.bind(Param::Int(limit));
                    sql.text = format!(
                        "SELECT DISTINCT {column} FROM findings WHERE {column} IS NOT NULL \
                         AND cluster = {c} ORDER BY {column} LIMIT {l}"
                    );
                    self.texts(&sql.fetch(self).await?, limit)?
                }
            };
        }
        Ok(facets)
    }

    /// The first `limit` distinct values of an indexed text column of `findings`, in order, by
    /// a loose index scan: each step asks the index for the next value above the last.
    async fn distinct(&self, column: &'static str, limit: i64) -> Result<Vec<String>, StoreError> {
        let mut sql = Sql::new("");
        let l = sql.bind(Param::Int(limit));
        sql.text = format!(
            "WITH RECURSIVE t(v, n) AS (\
             SELECT (SELECT {column} FROM findings WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1), 1 \
             UNION ALL SELECT (SELECT {column} FROM findings WHERE {column} > t.v ORDER BY {column} LIMIT 1), n + 1 \
             FROM t WHERE t.v IS NOT NULL AND n < {l}) \
             SELECT v FROM t WHERE v IS NOT NULL"
        );
        self.texts(&sql.fetch(self).await?, limit)
    }

    fn texts(&self, rows: &[AnyRow], limit: i64) -> Result<Vec<String>, StoreError> {
        rows.iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|r| r.try_get::<String, _>(0).map_err(|e| self.db(e)))
            .collect()
    }

    fn severity(&self, r: &AnyRow, i: usize) -> Result<Severity, StoreError> {
        let text: String = r.try_get(i).map_err(|e| self.db(e))?;
        text.parse().map_err(|w: String| self.corrupt(w))
    }
}

/// A record as it stands at `now`: an expired suppression is open from its expiry on.
pub(crate) fn as_of(mut r: FindingRecord, now: i64) -> FindingRecord {
    let status = r.status_at(now);
    if status != r.status {
        r.opened_at = r.suppressed.as_ref().and_then(|s| s.until).unwrap_or(now);
        r.status = status;
        r.suppressed = None;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("A_b%!"), "%a!_b!%!!%");
    }
}
