//! The schema and its migrations, one list for both backends.
//!
//! The tables are identical on SQLite and PostgreSQL; only the identity column is spelled per
//! backend (`{id}` below). Times are seconds since the Unix epoch (UTC) in BIGINT columns and
//! days since 1970-01-01 for daily summaries: the `Any` driver carries only basic types, and
//! integers compare and subtract the same way everywhere.
//!
//! Migrations run in one write transaction that first takes the store's lock: `BEGIN IMMEDIATE`
//! on SQLite (the file's write lock), a transaction-scoped advisory lock on PostgreSQL. Two
//! processes that start at once therefore migrate one after the other, and the second finds
//! nothing left to do; the lock is released by the commit, or by the server if the process dies.

use sqlx::{AnyPool, Row};

use crate::{Backend, StoreError};

/// The advisory lock key kspm's migrations take on PostgreSQL ("kspm" in ASCII).
const PG_LOCK_KEY: i64 = 0x6b73_706d;

struct Migration {
    version: i64,
    name: &'static str,
    statements: &'static [&'static str],
}

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "findings, events, daily summaries",
        statements: &[
            "CREATE TABLE findings (
            id {id},
            cluster TEXT NOT NULL,
            rule TEXT NOT NULL,
            object_key TEXT NOT NULL,
            path TEXT NOT NULL,
            slug TEXT NOT NULL,
            severity TEXT NOT NULL,
            category TEXT NOT NULL,
            api_version TEXT NOT NULL,
            kind TEXT NOT NULL,
            namespace TEXT,
            name TEXT NOT NULL,
            uid TEXT,
            location TEXT NOT NULL,
            message TEXT NOT NULL,
            value TEXT,
            status TEXT NOT NULL,
            suppressed_by TEXT,
            suppressed_reason TEXT,
            suppressed_until BIGINT,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            opened_at BIGINT NOT NULL,
            resolved_at BIGINT,
            resolved_reason TEXT,
            reopen_count BIGINT NOT NULL,
            UNIQUE (cluster, rule, object_key, path)
        )",
            "CREATE INDEX findings_cluster_status ON findings (cluster, status)",
            "CREATE TABLE finding_events (
            id {id},
            finding_id BIGINT NOT NULL,
            cluster TEXT NOT NULL,
            at BIGINT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT
        )",
            "CREATE INDEX finding_events_cluster_at ON finding_events (cluster, at)",
            "CREATE INDEX finding_events_finding ON finding_events (finding_id)",
            "CREATE TABLE daily_summaries (
            cluster TEXT NOT NULL,
            day BIGINT NOT NULL,
            severity TEXT NOT NULL,
            open BIGINT NOT NULL,
            suppressed BIGINT NOT NULL,
            opened BIGINT NOT NULL,
            resolved BIGINT NOT NULL,
            resolve_seconds BIGINT NOT NULL,
            PRIMARY KEY (cluster, day, severity)
        )",
        ],
    },
    Migration {
        version: 2,
        name: "alert delivery cursors",
        statements: &[
            // One row per (cluster, route, sink): the last event delivered (the outbox is the
            // events table itself) and when the last digest or keep-alive went out.
            "CREATE TABLE alert_cursors (
            cluster TEXT NOT NULL,
            route TEXT NOT NULL,
            sink TEXT NOT NULL,
            last_event BIGINT NOT NULL,
            last_sent BIGINT NOT NULL,
            PRIMARY KEY (cluster, route, sink)
        )",
        ],
    },
    Migration {
        version: 3,
        name: "admission decisions, remediation changes",
        statements: &[
            "CREATE TABLE admission_decisions (
            id {id},
            cluster TEXT NOT NULL,
            at BIGINT NOT NULL,
            request_uid TEXT NOT NULL,
            operation TEXT NOT NULL,
            api_version TEXT NOT NULL,
            kind TEXT NOT NULL,
            namespace TEXT,
            name TEXT NOT NULL,
            username TEXT NOT NULL,
            decision TEXT NOT NULL,
            findings TEXT NOT NULL
        )",
            "CREATE INDEX admission_decisions_cluster_at ON admission_decisions (cluster, at)",
            "CREATE TABLE remediation_changes (
            change_id TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            at BIGINT NOT NULL,
            username TEXT NOT NULL,
            rules TEXT NOT NULL,
            api_version TEXT NOT NULL,
            kind TEXT NOT NULL,
            namespace TEXT,
            name TEXT NOT NULL,
            before_state TEXT NOT NULL,
            after_state TEXT NOT NULL,
            undone_at BIGINT
        )",
        ],
    },
    Migration {
        version: 4,
        name: "findings by namespace, their fix and risk",
        statements: &[
            // The agent syncs the namespaces a change touched: it reads only their findings.
            "CREATE INDEX findings_cluster_namespace ON findings (cluster, namespace)",
            // What fixes the finding (description and JSON patch), and its contextual risk.
            "ALTER TABLE findings ADD COLUMN fix TEXT",
            "ALTER TABLE findings ADD COLUMN risk BIGINT NOT NULL DEFAULT 0",
        ],
    },
    Migration {
        version: 5,
        name: "facet indexes",
        statements: &[
            // The findings page's filter choices across the fleet walk these (a loose index
            // scan per column) instead of reading every finding. (The free-text filter's
            // trigram index is PostgreSQL's only and optional: `ensure_search_index`.)
            "CREATE INDEX findings_namespace ON findings (namespace)",
            "CREATE INDEX findings_rule ON findings (rule)",
            "CREATE INDEX findings_category ON findings (category)",
        ],
    },
    Migration {
        version: 6,
        name: "agent heartbeats, cluster analyses",
        statements: &[
            // One row per cluster, replaced by every heartbeat of its agent.
            "CREATE TABLE agent_status (
            cluster TEXT PRIMARY KEY,
            heartbeat_at BIGINT NOT NULL,
            sync_ok BIGINT NOT NULL,
            last_success_at BIGINT,
            error TEXT,
            objects BIGINT NOT NULL,
            unreadable TEXT NOT NULL,
            version TEXT NOT NULL,
            period_seconds BIGINT NOT NULL
        )",
            // One JSON document per cluster and analysis (rbac, network), replaced only when it
            // changed.
            "CREATE TABLE cluster_analyses (
            cluster TEXT NOT NULL,
            kind TEXT NOT NULL,
            document TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (cluster, kind)
        )",
        ],
    },
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 6;

/// The trigram index that serves the free-text filter on PostgreSQL.
const SEARCH_INDEX: &str = "findings_search_trgm";

/// What the findings page's free-text filter matches: the lower-cased kind, namespace, name,
/// rule code, slug, message and path of a finding, one per line (so that a text without a
/// newline never matches across two of them). An expression rather than a stored column: the
/// trigram index on PostgreSQL is built over this very expression, and a column would widen
/// every row that the fleet's counts scan. The query must spell it exactly so.
pub(crate) const SEARCH_EXPR: &str = "LOWER(kind || '\n' || COALESCE(namespace, '') || '\n' || name \
    || '\n' || rule || '\n' || slug || '\n' || message || '\n' || path)";

fn spell(statement: &str, backend: Backend) -> String {
    let id = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    statement.replace("{id}", id)
}

/// Brings the schema up to [`SCHEMA_VERSION`]; returns how many migrations were applied.
pub(crate) async fn migrate(
    pool: &AnyPool,
    backend: Backend,
    url: &str,
    now: i64,
) -> Result<usize, StoreError> {
    let db = |source| StoreError::Database {
        url: url.to_owned(),
        source,
    };
    let mut tx = crate::begin_write(pool, backend).await.map_err(db)?;
    if backend == Backend::Postgres {
        // Selecting the void result directly would hand the `Any` driver a type it cannot map.
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(PG_LOCK_KEY)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS kspm_schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let current: i64 =
        sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM kspm_schema_migrations")
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(db)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            url: url.to_owned(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    let mut applied = 0;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        for statement in m.statements {
            sqlx::query(sqlx::AssertSqlSafe(spell(statement, backend)))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO kspm_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        applied += 1;
    }
    let refused = if backend == Backend::Postgres {
        ensure_search_index(&mut tx).await.map_err(db)?
    } else {
        None
    };
    tx.commit().await.map_err(db)?;
    if let Some(why) = refused {
        eprintln!(
            "kspm: store {url}: no trigram index for the findings free-text filter ({why}); \
             the filter scans every finding instead. A database owner can run \
             `CREATE EXTENSION pg_trgm;` and kspm creates the index on its next start \
             (docs/serve.md)"
        );
    }
    Ok(applied)
}

/// Creates the trigram index over [`SEARCH_EXPR`] when it is missing (on every open, so that
/// an extension installed later by a database owner is used from the next start). Returns why
/// it could not be created: the `pg_trgm` extension is not available, or the user may not
/// create it (it is a trusted extension since PostgreSQL 13: a user with CREATE on the database
/// may). The index is an optimisation, so a refusal is rolled back to a savepoint and the
/// migration goes on.
async fn ensure_search_index(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
) -> Result<Option<String>, sqlx::Error> {
    let present: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname = $1",
    )
    .bind(SEARCH_INDEX)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    if present > 0 {
        return Ok(None);
    }
    sqlx::query("SAVEPOINT kspm_search_index")
        .execute(&mut **tx)
        .await?;
    let created = async {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .execute(&mut **tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON findings USING gin (({SEARCH_EXPR}) gin_trgm_ops)"
        )))
        .execute(&mut **tx)
        .await
    }
    .await;
    match created {
        Ok(_) => {
            sqlx::query("RELEASE SAVEPOINT kspm_search_index")
                .execute(&mut **tx)
                .await?;
            Ok(None)
        }
        Err(e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT kspm_search_index")
                .execute(&mut **tx)
                .await?;
            let why = match &e {
                sqlx::Error::Database(d) => d.message().to_owned(),
                other => other.to_string(),
            };
            Ok(Some(why))
        }
    }
}
