//! Reading the store back: findings with their state, and history over time.

use std::collections::BTreeMap;

use kspm_model::Severity;
use serde::Serialize;
use sqlx::Row;

use crate::record::{FindingRecord, Status};
use crate::{COLUMNS, Store, StoreError};

/// Which findings [`Store::findings`] returns.
#[derive(Clone, Debug, Default)]
pub struct FindingFilter {
    pub cluster: Option<String>,
    /// The status at the time of the query (an expired suppression counts as open).
    pub status: Option<Status>,
    /// Only findings whose current state began at or after this time: opened or reopened (or
    /// suppressed) since, or resolved since.
    pub since: Option<i64>,
}

/// Days or weeks (starting Monday) for [`Store::history`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Period {
    #[default]
    Day,
    Week,
}

/// Counts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
}

impl SeverityCounts {
    pub(crate) fn add(&mut self, severity: Severity, n: i64) {
        match severity {
            Severity::Critical => self.critical += n,
            Severity::High => self.high += n,
            Severity::Medium => self.medium += n,
            Severity::Low => self.low += n,
            Severity::Info => self.info += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

/// One day or week of history (summed over the clusters asked for).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HistoryRow {
    /// The day, or the Monday that starts the week: `2026-12-07`.
    pub period: String,
    /// Open findings at the end of the period (the last recorded day of it), by severity.
    pub open: SeverityCounts,
    pub suppressed: i64,
    /// Findings opened or reopened during the period.
    pub opened: i64,
    /// Findings resolved during the period.
    pub resolved: i64,
    /// Mean time from opening to resolution of the findings resolved in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_time_to_resolve_seconds: Option<i64>,
    #[serde(skip)]
    resolve_seconds: i64,
}

/// History of one cluster or of all, oldest period first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct History {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub rows: Vec<HistoryRow>,
    /// Over every resolution the store still remembers (the retention window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_time_to_resolve_seconds: Option<i64>,
}

impl Store {
    /// Stored findings, worst first, then by cluster, object and rule.
    pub async fn findings(
        &self,
        filter: &FindingFilter,
        now: i64,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let rows = match &filter.cluster {
            Some(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM findings WHERE cluster = $1"
                )))
                .bind(c.clone())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM findings"
                )))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(|e| self.db(e))?;
        let mut out = Vec::new();
        for row in &rows {
            let mut r = self.read_record(row)?;
            let status = r.status_at(now);
            if status != r.status {
                // Expired since the last sync: shown as what it is now, from its expiry on.
                r.opened_at = r.suppressed.as_ref().and_then(|s| s.until).unwrap_or(now);
                r.status = status;
                r.suppressed = None;
            }
            if filter.status.is_some_and(|s| s != r.status) {
                continue;
            }
            if let Some(since) = filter.since {
                let began = match r.status {
                    Status::Resolved => r.resolved_at.unwrap_or(r.opened_at),
                    _ => r.opened_at,
                };
                if began < since {
                    continue;
                }
            }
            out.push(r);
        }
        out.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then(b.severity.cmp(&a.severity))
                .then_with(|| a.cluster.cmp(&b.cluster))
                .then_with(|| a.object.to_string().cmp(&b.object.to_string()))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.path.cmp(&b.path))
        });
        Ok(out)
    }

    /// Counts by severity per day or week, with mean time to resolve, from the daily summaries.
    pub async fn history(&self, cluster: Option<&str>, by: Period) -> Result<History, StoreError> {
        let sql = "SELECT cluster, day, severity, open, suppressed, opened, resolved, resolve_seconds \
                   FROM daily_summaries";
        let rows = match cluster {
            Some(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{sql} WHERE cluster = $1 ORDER BY day"
                )))
                .bind(c.to_owned())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{sql} ORDER BY day")))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(|e| self.db(e))?;
        // period -> cluster -> (last day seen, open by severity at that day, suppressed), flows.
        let mut states: BTreeMap<i64, BTreeMap<String, (i64, SeverityCounts, i64)>> =
            BTreeMap::new();
        let mut flows: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
        for r in &rows {
            let get = |i| r.try_get::<i64, _>(i).map_err(|e| self.db(e));
            let cluster: String = r.try_get(0).map_err(|e| self.db(e))?;
            let day = get(1)?;
            let severity_text: String = r.try_get(2).map_err(|e| self.db(e))?;
            let severity: Severity = severity_text.parse().map_err(|w: String| self.corrupt(w))?;
            let period = match by {
                Period::Day => day,
                // 1970-01-01 was a Thursday: Monday-based weeks start 3 days before day 0.
                Period::Week => (day + 3).div_euclid(7) * 7 - 3,
            };
            let slot = states.entry(period).or_default().entry(cluster).or_insert((
                day,
                SeverityCounts::default(),
                0,
            ));
            if day > slot.0 {
                *slot = (day, SeverityCounts::default(), 0);
            }
            if day == slot.0 {
                slot.1.add(severity, get(3)?);
                slot.2 += get(4)?;
            }
            let flow = flows.entry(period).or_default();
            flow.0 += get(5)?;
            flow.1 += get(6)?;
            flow.2 += get(7)?;
        }
        let mut history = History {
            cluster: cluster.map(str::to_owned),
            ..History::default()
        };
        let (mut resolved, mut seconds) = (0, 0);
        for (period, clusters) in states {
            let mut row = HistoryRow {
                period: crate::time::date(period),
                ..HistoryRow::default()
            };
            for (_, open, suppressed) in clusters.values() {
                for s in Severity::ALL {
                    row.open.add(s, count(open, s));
                }
                row.suppressed += suppressed;
            }
            let (opened, res, secs) = flows.get(&period).copied().unwrap_or_default();
            row.opened = opened;
            row.resolved = res;
            row.resolve_seconds = secs;
            row.mean_time_to_resolve_seconds = (res > 0).then(|| secs / res);
            resolved += res;
            seconds += row.resolve_seconds;
            history.rows.push(row);
        }
        history.mean_time_to_resolve_seconds = (resolved > 0).then(|| seconds / resolved);
        Ok(history)
    }
}

fn count(c: &SeverityCounts, s: Severity) -> i64 {
    match s {
        Severity::Critical => c.critical,
        Severity::High => c.high,
        Severity::Medium => c.medium,
        Severity::Low => c.low,
        Severity::Info => c.info,
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Open => 0,
        Status::Suppressed => 1,
        Status::Resolved => 2,
    }
}
