//! The finding store: what kspm remembers between scans, so that a finding has a history
//! (opened, resolved, reopened, suppressed) and a cluster has a trend.
//!
//! The seam is narrow on purpose: callers hand [`Store::sync`] the complete current findings of
//! one cluster (a [`Snapshot`]) and read back [`FindingRecord`]s and [`History`]; they never see
//! SQL. Everything else (agent, alerts, dashboard) builds on these few calls.
//!
//! Two backends behind one SQL code path (sqlx's `Any` driver, `$N` placeholders, integer
//! times): SQLite, the embedded default (one file, WAL), and PostgreSQL, shared by the agents of
//! many clusters. A finding's identity is (cluster, rule code, object, field path), where the
//! object is its uid when known and apiVersion/kind/namespace/name otherwise.
//!
//! The lifecycle itself is a pure function (`lifecycle::plan`); the store writes exactly what it
//! returns, so a sync that changes nothing writes nothing.

mod actions;
mod alerts;
mod analyses;
mod dashboard;
mod error;
mod heartbeat;
mod lifecycle;
mod query;
mod record;
pub mod render;
mod schema;
pub mod time;
mod url;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use kspm_model::Severity;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};

pub use actions::{AdmissionDecision, RemediationChange};
pub use alerts::{AlertCursor, OutboxEvent};
pub use analyses::{Analysis, AnalysisKind, MAX_ANALYSIS_BYTES, UnknownAnalysisKind};
pub use dashboard::{
    ClusterSummary, Facets, FindingEvent, FindingPage, FindingQuery, FindingSort, NamespaceCounts,
    RuleClusterCounts, RuleStatusCounts,
};
pub use error::StoreError;
pub use heartbeat::{AgentHealth, AgentStatus, STALE_AFTER_MIN_SECONDS};
pub use query::{FindingFilter, History, HistoryRow, Period, SeverityCounts};
pub use record::{
    EventKind, FindingRecord, ObjectRef, Observation, ResolvedReason, Snapshot, Status, StoredFix,
    Suppressed, UnknownEvent, UnknownStatus,
};
pub use schema::SCHEMA_VERSION;
pub use url::{StoreUrl, redact};

use lifecycle::{Change, day_of};

/// Runs a store call to completion on a runtime of its own, for callers that are not async
/// (the CLI). Panics only when the OS refuses a thread-local runtime (no I/O driver).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

/// How long events and daily summaries are kept unless configured otherwise: 90 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_hours(90 * 24);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// An open finding store. Cloning shares the connection pool (the agent and its alert
/// dispatcher use one store).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// For messages: never holds a password.
    url: String,
    retention: Duration,
}

/// Shows the URL without its password, and nothing of the pool's connect options (which hold it).
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("backend", &self.backend)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// What one [`Store::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub opened: usize,
    pub reopened: usize,
    pub resolved: usize,
    pub suppressed: usize,
    pub unsuppressed: usize,
    /// Finding rows inserted or updated (transitions, changed details, a new day's last_seen).
    pub rows_written: usize,
    pub events_written: usize,
    pub summaries_written: usize,
}

impl SyncReport {
    /// Whether the sync wrote anything at all.
    pub fn wrote(&self) -> bool {
        self.rows_written + self.events_written + self.summaries_written > 0
    }
}

/// What one [`Store::compact`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    pub events: u64,
    pub summaries: u64,
    /// Findings resolved before the retention window (their history lives on in the summaries).
    pub findings: u64,
}

/// Every column of `findings`, in the order [`read_record`] reads them.
pub(crate) const COLUMNS: &str = "id, cluster, rule, object_key, path, slug, severity, category, api_version, \
    kind, namespace, name, uid, location, message, value, status, suppressed_by, suppressed_reason, \
    suppressed_until, first_seen, last_seen, opened_at, resolved_at, resolved_reason, reopen_count, \
    fix, risk";

impl Store {
    /// Opens (creating when missing) the store at `url` and brings its schema up to date.
    pub async fn open(url: &StoreUrl) -> Result<Self, StoreError> {
        let store = Self::connect(url, false).await?;
        if store.backend == Backend::Sqlite {
            // Persistent in the file: readers (`kspm findings`) never block the writer.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&store.pool)
                .await
                .map_err(|e| store.db(e))?;
        }
        schema::migrate(&store.pool, store.backend, &store.url, time::now()).await?;
        Ok(store)
    }

    /// Connects to the store at `url`: an SQLite file is created when missing unless
    /// `read_only`, which opens it read-only.
    pub(crate) async fn connect(url: &StoreUrl, read_only: bool) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let shown = url.to_string();
        let unavailable = |reason: String| StoreError::Unavailable {
            url: shown.clone(),
            reason,
        };
        let (connect, backend, max) = match url {
            StoreUrl::Sqlite(path) => {
                let path = std::path::absolute(path)
                    .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
                if let Some(dir) = path.parent().filter(|_| !read_only) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| unavailable(format!("{}: {e}", dir.display())))?;
                }
                let path = path
                    .to_str()
                    .ok_or_else(|| unavailable(format!("{} is not valid UTF-8", path.display())))?;
                // One connection: SQLite has one writer anyway, and this process never waits
                // on itself for the file's lock.
                let mode = if read_only { "ro" } else { "rwc" };
                (
                    format!("sqlite://{}?mode={mode}", encode_path(path)),
                    Backend::Sqlite,
                    1,
                )
            }
            StoreUrl::Postgres(raw) => (raw.clone(), Backend::Postgres, 4),
        };
        // One plain connection first: the pool retries failed connections until its timeout
        // and then reports only that it timed out, while this says why (refused, no such host,
        // authentication failed, ...).
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            <sqlx::AnyConnection as sqlx::Connection>::connect(&connect),
        )
        .await
        .map_err(|_| unavailable("no answer within 10 s".to_owned()))?
        .map_err(|e| unavailable(describe_connect_error(&e)))?;
        let _ = sqlx::Connection::close(probe).await;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&connect)
            .await
            .map_err(|e| unavailable(describe_connect_error(&e)))?;
        Ok(Self {
            pool,
            backend,
            url: shown,
            retention: DEFAULT_RETENTION,
        })
    }

    /// Opens a store that must already exist: an SQLite file that is missing is an error rather
    /// than created (for commands that only read).
    pub async fn open_existing(url: &StoreUrl) -> Result<Self, StoreError> {
        if let StoreUrl::Sqlite(path) = url
            && !path.is_file()
        {
            return Err(StoreError::Unavailable {
                url: url.to_string(),
                reason: "no such file (record findings first with `kspm scan --store URL`)"
                    .to_owned(),
            });
        }
        Self::open(url).await
    }

    /// Keeps events and daily summaries for `retention` (see [`Store::compact`]).
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The store's URL, without any password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(self) {
        self.pool.close().await;
    }

    fn db(&self, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            url: self.url.clone(),
            source,
        }
    }

    /// Records the complete current findings of `cluster` (or of the judged objects, when the
    /// snapshot is not complete) at `now`, in one transaction: new findings open, absent ones
    /// resolve (fixed, or deleted with their object), returning ones reopen, exceptions
    /// suppress and their expiry unsuppresses. A sync that changes nothing writes nothing;
    /// the first sync of a UTC day refreshes `last_seen` and writes the day's summary.
    pub async fn sync(
        &self,
        cluster: &str,
        snapshot: &Snapshot,
        now: i64,
    ) -> Result<SyncReport, StoreError> {
        self.sync_reading(cluster, snapshot, now, false).await
    }

    /// [`Store::sync`] of a snapshot confined to its `namespaces`: every observation and every
    /// judged object is in one of them (the agent's judgement of the namespaces a change
    /// touched), so only their stored findings are read, not the cluster's. A snapshot with an
    /// observation elsewhere (or without `namespaces`) is synced as [`Store::sync`] does.
    /// (A `kspm scan --namespace` snapshot is not confined: it judges cluster-scoped objects
    /// too.)
    pub async fn sync_confined(
        &self,
        cluster: &str,
        snapshot: &Snapshot,
        now: i64,
    ) -> Result<SyncReport, StoreError> {
        let confined = snapshot.namespaces.as_ref().is_some_and(|set| {
            snapshot.observations.iter().all(|o| {
                o.object
                    .namespace
                    .as_ref()
                    .is_some_and(|ns| set.contains(ns))
            })
        });
        self.sync_reading(cluster, snapshot, now, confined).await
    }

    async fn sync_reading(
        &self,
        cluster: &str,
        snapshot: &Snapshot,
        now: i64,
        confined: bool,
    ) -> Result<SyncReport, StoreError> {
        let mut tx = begin_write(&self.pool, self.backend)
            .await
            .map_err(|e| self.db(e))?;
        if self.backend == Backend::Postgres {
            // Syncs of one cluster take turns (two writers would both insert a new finding);
            // other clusters' syncs go on. SQLite's `BEGIN IMMEDIATE` already serialises.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, $2)) AS locked")
                .bind(SYNC_LOCK_CLASS)
                .bind(cluster_lock_key(cluster))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db(e))?;
        }
        // A snapshot confined to some namespaces changes only their findings: only they are read.
        let stored = match (&snapshot.namespaces, confined) {
            (Some(namespaces), true) => self.load_namespaces(&mut tx, cluster, namespaces).await?,
            _ => self.load(&mut tx, Some(cluster)).await?,
        };
        let changes = lifecycle::plan(cluster, &stored, snapshot, now);
        let mut report = self.apply(&mut tx, &changes).await?;
        report.summaries_written = self.summarize(&mut tx, cluster, &changes, now).await?;
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(report)
    }

    /// Records, for every cluster, the suppressions whose exception expired by `now`: they
    /// become open at the moment of expiry. (A sync does this too, for its cluster.)
    pub async fn expire(&self, now: i64) -> Result<SyncReport, StoreError> {
        let mut tx = begin_write(&self.pool, self.backend)
            .await
            .map_err(|e| self.db(e))?;
        let stored = self.load(&mut tx, None).await?;
        let changes = lifecycle::expire(&stored, now);
        let report = self.apply(&mut tx, &changes).await?;
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(report)
    }

    /// Deletes events, daily summaries, and findings resolved, before `now - retention`.
    pub async fn compact(&self, now: i64) -> Result<CompactReport, StoreError> {
        let cutoff = now - i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 2);
        let mut tx = begin_write(&self.pool, self.backend)
            .await
            .map_err(|e| self.db(e))?;
        let events = sqlx::query("DELETE FROM finding_events WHERE at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?
            .rows_affected();
        let summaries = sqlx::query("DELETE FROM daily_summaries WHERE day < $1")
            .bind(day_of(cutoff))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?
            .rows_affected();
        let findings = sqlx::query(
            "DELETE FROM findings WHERE status = 'resolved' AND resolved_at IS NOT NULL AND resolved_at < $1",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db(e))?
        .rows_affected();
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(CompactReport {
            events,
            summaries,
            findings,
        })
    }

    /// Counts rows of one of the store's tables (for tests and diagnostics).
    pub async fn count(&self, table: Table) -> Result<i64, StoreError> {
        let sql = match table {
            Table::Findings => "SELECT CAST(COUNT(*) AS BIGINT) FROM findings",
            Table::Events => "SELECT CAST(COUNT(*) AS BIGINT) FROM finding_events",
            Table::DailySummaries => "SELECT CAST(COUNT(*) AS BIGINT) FROM daily_summaries",
        };
        sqlx::query(sql)
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| self.db(e))
    }

    /// The events of one cluster, oldest first: (finding id, kind, at, detail).
    pub async fn events(&self, cluster: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.finding_id, f.rule, f.path, e.kind, e.at, e.detail FROM finding_events e \
             LEFT JOIN findings f ON f.id = e.finding_id WHERE e.cluster = $1 ORDER BY e.at, e.id",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(3).map_err(|e| self.db(e))?;
                Ok(StoredEvent {
                    finding_id: r.try_get(0).map_err(|e| self.db(e))?,
                    rule: r.try_get(1).map_err(|e| self.db(e))?,
                    path: r.try_get(2).map_err(|e| self.db(e))?,
                    kind: EventKind::from_str(&kind).map_err(|e| self.corrupt(e.to_string()))?,
                    at: r.try_get(4).map_err(|e| self.db(e))?,
                    detail: r.try_get(5).map_err(|e| self.db(e))?,
                })
            })
            .collect()
    }

    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Corrupt {
            url: self.url.clone(),
            what,
        }
    }

    pub(crate) async fn load(
        &self,
        conn: &mut Transaction<'static, Any>,
        cluster: Option<&str>,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let rows = match cluster {
            Some(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM findings WHERE cluster = $1 ORDER BY id"
                )))
                .bind(c.to_owned())
                .fetch_all(&mut **conn)
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM findings ORDER BY id"
                )))
                .fetch_all(&mut **conn)
                .await
            }
        }
        .map_err(|e| self.db(e))?;
        rows.iter().map(|r| self.read_record(r)).collect()
    }

    /// Every stored finding of `cluster` on objects of `namespaces`.
    async fn load_namespaces(
        &self,
        conn: &mut Transaction<'static, Any>,
        cluster: &str,
        namespaces: &BTreeSet<String>,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let mut records = Vec::new();
        // In chunks: a statement takes a bounded number of parameters.
        let namespaces: Vec<&String> = namespaces.iter().collect();
        for chunk in namespaces.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {COLUMNS} FROM findings WHERE cluster = $1 AND namespace IN ({}) ORDER BY id",
                marks.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cluster.to_owned());
            for ns in chunk {
                query = query.bind((*ns).clone());
            }
            let rows = query.fetch_all(&mut **conn).await.map_err(|e| self.db(e))?;
            for r in &rows {
                records.push(self.read_record(r)?);
            }
        }
        Ok(records)
    }

    pub(crate) fn read_record(&self, r: &AnyRow) -> Result<FindingRecord, StoreError> {
        self.read_record_at(r, 0)
    }

    /// Reads the [`COLUMNS`] of a finding starting at column `base` of the row.
    pub(crate) fn read_record_at(
        &self,
        r: &AnyRow,
        base: usize,
    ) -> Result<FindingRecord, StoreError> {
        let db = |e| self.db(e);
        let text = |i: usize| -> Result<String, StoreError> { r.try_get(base + i).map_err(db) };
        let opt =
            |i: usize| -> Result<Option<String>, StoreError> { r.try_get(base + i).map_err(db) };
        let int = |i: usize| -> Result<i64, StoreError> { r.try_get(base + i).map_err(db) };
        let opt_int =
            |i: usize| -> Result<Option<i64>, StoreError> { r.try_get(base + i).map_err(db) };
        let status = Status::from_str(&text(16)?).map_err(|e| self.corrupt(e.to_string()))?;
        let severity = Severity::from_str(&text(6)?).map_err(|w| self.corrupt(w))?;
        let suppressed = match opt(17)? {
            Some(by) => Some(Suppressed {
                by,
                reason: opt(18)?.unwrap_or_default(),
                until: opt_int(19)?,
            }),
            None => None,
        };
        let resolved_reason = match opt(24)?.as_deref() {
            None => None,
            Some("fixed") => Some(ResolvedReason::Fixed),
            Some("deleted") => Some(ResolvedReason::Deleted),
            Some(other) => return Err(self.corrupt(format!("resolved_reason `{other}`"))),
        };
        Ok(FindingRecord {
            id: int(0)?,
            cluster: text(1)?,
            rule: text(2)?,
            path: text(4)?,
            slug: text(5)?,
            severity,
            category: text(7)?,
            object: ObjectRef {
                api_version: text(8)?,
                kind: text(9)?,
                namespace: opt(10)?,
                name: text(11)?,
                uid: opt(12)?,
            },
            location: text(13)?,
            message: text(14)?,
            value: opt(15)?,
            status,
            suppressed,
            first_seen: int(20)?,
            last_seen: int(21)?,
            opened_at: int(22)?,
            resolved_at: opt_int(23)?,
            resolved_reason,
            reopen_count: int(25)?,
            fix: match opt(26)? {
                None => None,
                Some(text) => Some(
                    StoredFix::parse(&text)
                        .map_err(|e| self.corrupt(format!("the fix of a finding: {e}")))?,
                ),
            },
            risk: int(27)?,
        })
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        changes: &[Change],
    ) -> Result<SyncReport, StoreError> {
        let mut report = SyncReport::default();
        for c in changes {
            let a = &c.after;
            let (by, reason, until) = match &a.suppressed {
                Some(s) => (Some(s.by.clone()), Some(s.reason.clone()), s.until),
                None => (None, None, None),
            };
            let id: i64 = match &c.before {
                None => sqlx::query(
                    "INSERT INTO findings (cluster, rule, object_key, path, slug, severity, category, \
                     api_version, kind, namespace, name, uid, location, message, value, status, \
                     suppressed_by, suppressed_reason, suppressed_until, first_seen, last_seen, \
                     opened_at, resolved_at, resolved_reason, reopen_count, fix, risk) VALUES ($1, $2, \
                     $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                     $21, $22, $23, $24, $25, $26, $27) RETURNING id",
                )
                .bind(a.cluster.clone())
                .bind(a.rule.clone())
                .bind(a.object_key())
                .bind(a.path.clone())
                .bind(a.slug.clone())
                .bind(a.severity.as_str())
                .bind(a.category.clone())
                .bind(a.object.api_version.clone())
                .bind(a.object.kind.clone())
                .bind(a.object.namespace.clone())
                .bind(a.object.name.clone())
                .bind(a.object.uid.clone())
                .bind(a.location.clone())
                .bind(a.message.clone())
                .bind(a.value.clone())
                .bind(a.status.as_str())
                .bind(by)
                .bind(reason)
                .bind(until)
                .bind(a.first_seen)
                .bind(a.last_seen)
                .bind(a.opened_at)
                .bind(a.resolved_at)
                .bind(a.resolved_reason.map(ResolvedReason::as_str))
                .bind(a.reopen_count)
                .bind(a.fix.as_ref().map(StoredFix::text))
                .bind(a.risk)
                .fetch_one(&mut **tx)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| self.db(e))?,
                Some(before) => {
                    sqlx::query(
                        "UPDATE findings SET slug = $1, severity = $2, category = $3, api_version = $4, \
                         kind = $5, namespace = $6, name = $7, uid = $8, location = $9, message = $10, \
                         value = $11, status = $12, suppressed_by = $13, suppressed_reason = $14, \
                         suppressed_until = $15, last_seen = $16, opened_at = $17, resolved_at = $18, \
                         resolved_reason = $19, reopen_count = $20, fix = $21, risk = $22 WHERE id = $23",
                    )
                    .bind(a.slug.clone())
                    .bind(a.severity.as_str())
                    .bind(a.category.clone())
                    .bind(a.object.api_version.clone())
                    .bind(a.object.kind.clone())
                    .bind(a.object.namespace.clone())
                    .bind(a.object.name.clone())
                    .bind(a.object.uid.clone())
                    .bind(a.location.clone())
                    .bind(a.message.clone())
                    .bind(a.value.clone())
                    .bind(a.status.as_str())
                    .bind(by)
                    .bind(reason)
                    .bind(until)
                    .bind(a.last_seen)
                    .bind(a.opened_at)
                    .bind(a.resolved_at)
                    .bind(a.resolved_reason.map(ResolvedReason::as_str))
                    .bind(a.reopen_count)
                    .bind(a.fix.as_ref().map(StoredFix::text))
                    .bind(a.risk)
                    .bind(before.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| self.db(e))?;
                    before.id
                }
            };
            report.rows_written += 1;
            for e in &c.events {
                sqlx::query(
                    "INSERT INTO finding_events (finding_id, cluster, at, kind, detail) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(a.cluster.clone())
                .bind(e.at)
                .bind(e.kind.as_str())
                .bind(e.detail.clone())
                .execute(&mut **tx)
                .await
                .map_err(|e| self.db(e))?;
                report.events_written += 1;
                match e.kind {
                    EventKind::Opened => report.opened += 1,
                    EventKind::Reopened => report.reopened += 1,
                    EventKind::Resolved => report.resolved += 1,
                    EventKind::Suppressed => report.suppressed += 1,
                    EventKind::Unsuppressed => report.unsuppressed += 1,
                }
            }
        }
        Ok(report)
    }

    /// Brings today's summary rows of `cluster` up to date after `changes` were applied;
    /// returns how many it wrote (none when they already say the same).
    async fn summarize(
        &self,
        tx: &mut Transaction<'static, Any>,
        cluster: &str,
        changes: &[Change],
        now: i64,
    ) -> Result<usize, StoreError> {
        let day = day_of(now);
        let mut want: BTreeMap<&str, [i64; 5]> =
            Severity::ALL.iter().map(|s| (s.as_str(), [0; 5])).collect();
        // Open and suppressed: the cluster's findings as this transaction left them (a sync of
        // a few namespaces does not know the others' findings, the table does).
        let states = sqlx::query(
            "SELECT severity, status, CAST(COUNT(*) AS BIGINT) FROM findings \
             WHERE cluster = $1 AND status <> 'resolved' GROUP BY severity, status",
        )
        .bind(cluster)
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| self.db(e))?;
        for r in &states {
            let severity: String = r.try_get(0).map_err(|e| self.db(e))?;
            let status: String = r.try_get(1).map_err(|e| self.db(e))?;
            let count: i64 = r.try_get(2).map_err(|e| self.db(e))?;
            let Some(row) = want.get_mut(severity.as_str()) else {
                return Err(self.corrupt(format!("severity `{severity}`")));
            };
            match Status::from_str(&status).map_err(|e| self.corrupt(e.to_string()))? {
                Status::Open => row[0] += count,
                Status::Suppressed => row[1] += count,
                Status::Resolved => {}
            }
        }
        for c in changes {
            let row = want
                .get_mut(c.after.severity.as_str())
                .expect("every severity");
            for e in &c.events {
                match e.kind {
                    EventKind::Opened | EventKind::Reopened => row[2] += 1,
                    EventKind::Resolved => row[3] += 1,
                    _ => {}
                }
            }
            row[4] += c.resolve_seconds.unwrap_or(0);
        }
        let existing = sqlx::query(
            "SELECT severity, open, suppressed, opened, resolved, resolve_seconds FROM daily_summaries \
             WHERE cluster = $1 AND day = $2",
        )
        .bind(cluster)
        .bind(day)
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| self.db(e))?;
        let mut have: BTreeMap<String, [i64; 5]> = BTreeMap::new();
        for r in &existing {
            let get = |i| r.try_get::<i64, _>(i).map_err(|e| self.db(e));
            have.insert(
                r.try_get(0).map_err(|e| self.db(e))?,
                [get(1)?, get(2)?, get(3)?, get(4)?, get(5)?],
            );
        }
        let mut written = 0;
        for (severity, w) in want {
            let prior = have.get(severity).copied();
            let base = prior.unwrap_or([0; 5]);
            // Open and suppressed are end-of-day states; the rest accumulate over the day.
            let row = [w[0], w[1], base[2] + w[2], base[3] + w[3], base[4] + w[4]];
            if prior == Some(row) {
                continue;
            }
            sqlx::query(
                "INSERT INTO daily_summaries (cluster, day, severity, open, suppressed, opened, resolved, \
                 resolve_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (cluster, day, severity) \
                 DO UPDATE SET open = excluded.open, suppressed = excluded.suppressed, opened = excluded.opened, \
                 resolved = excluded.resolved, resolve_seconds = excluded.resolve_seconds",
            )
            .bind(cluster)
            .bind(day)
            .bind(severity)
            .bind(row[0])
            .bind(row[1])
            .bind(row[2])
            .bind(row[3])
            .bind(row[4])
            .execute(&mut **tx)
            .await
            .map_err(|e| self.db(e))?;
            written += 1;
        }
        Ok(written)
    }
}

/// A stored event, as [`Store::events`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub finding_id: i64,
    /// `None` once compaction removed the finding.
    pub rule: Option<String>,
    pub path: Option<String>,
    pub kind: EventKind,
    pub at: i64,
    pub detail: Option<String>,
}

/// The store's tables, for [`Store::count`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Findings,
    Events,
    DailySummaries,
}

/// A write transaction that holds the store's write lock from its first statement: SQLite's
/// deferred `BEGIN` would fail (rather than wait) when another process wrote in between.
pub(crate) async fn begin_write(
    pool: &AnyPool,
    backend: Backend,
) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
}

/// First key of the per-cluster sync locks on PostgreSQL (two-key advisory locks never collide
/// with the one-key migration lock).
const SYNC_LOCK_CLASS: i32 = 0x6b73_706d;

/// Second key: a stable 32-bit hash of the cluster name (FNV-1a); a collision only makes two
/// clusters' syncs take turns.
fn cluster_lock_key(cluster: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in cluster.bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash as i32
}

/// Percent-encodes what SQLite URLs treat specially in a file path.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' | '?' | '#' | ' ' | '"' | '<' | '>' | '`' | '{' | '}' => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A connection error in one line, without the URL (which may hold a password).
fn describe_connect_error(e: &sqlx::Error) -> String {
    let text = match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out connecting".to_owned(),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or("").to_owned()
}
