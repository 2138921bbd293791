//! The store's side of alert delivery: the events table *is* the outbox.
//!
//! Every transition a sync records (opened, resolved, reopened, suppressed, unsuppressed) is
//! already an append-only row with an increasing id, written in the same transaction as the
//! finding it changes. An alert sink therefore needs no queue of its own, only a cursor: the id
//! of the last event it delivered, kept per (cluster, route, sink) in `alert_cursors`. Delivery
//! advances the cursor after the sink accepted the alert, so a sink that is down, or an agent
//! killed mid-delivery, loses nothing (at least once), and a restart repeats nothing that was
//! acknowledged. Within one cluster event ids follow commit order (syncs of a cluster take turns
//! under its lock), so a cursor never skips an event committed late.

use sqlx::Row;

use crate::{COLUMNS, EventKind, FindingRecord, Store, StoreError};
use std::str::FromStr;

/// Where one (cluster, route, sink) stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlertCursor {
    /// The id of the last event handled (delivered, skipped or dead-lettered).
    pub last_event: i64,
    /// When the last digest, summary or keep-alive went out (seconds since the epoch).
    pub last_sent: i64,
}

/// One event after a cursor, with its finding as it stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: i64,
    pub kind: EventKind,
    pub at: i64,
    pub detail: Option<String>,
    pub finding: FindingRecord,
}

impl Store {
    /// The cursor of (cluster, route, sink); `None` before its first delivery.
    pub async fn alert_cursor(
        &self,
        cluster: &str,
        route: &str,
        sink: &str,
    ) -> Result<Option<AlertCursor>, StoreError> {
        let row = sqlx::query(
            "SELECT last_event, last_sent FROM alert_cursors WHERE cluster = $1 AND route = $2 AND sink = $3",
        )
        .bind(cluster)
        .bind(route)
        .bind(sink)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        row.map(|r| {
            Ok(AlertCursor {
                last_event: r.try_get(0).map_err(|e| self.db(e))?,
                last_sent: r.try_get(1).map_err(|e| self.db(e))?,
            })
        })
        .transpose()
    }

    /// Records where (cluster, route, sink) stands.
    pub async fn set_alert_cursor(
        &self,
        cluster: &str,
        route: &str,
        sink: &str,
        cursor: AlertCursor,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alert_cursors (cluster, route, sink, last_event, last_sent) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (cluster, route, sink) DO UPDATE SET last_event = excluded.last_event, \
             last_sent = excluded.last_sent",
        )
        .bind(cluster)
        .bind(route)
        .bind(sink)
        .bind(cursor.last_event)
        .bind(cursor.last_sent)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The id of the newest event of `cluster` (0 when it has none).
    pub async fn last_event_id(&self, cluster: &str) -> Result<i64, StoreError> {
        sqlx::query(
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM finding_events WHERE cluster = $1",
        )
        .bind(cluster)
        .fetch_one(&self.pool)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| self.db(e))
    }

    /// Up to `limit` events of `cluster` after event id `after`, oldest first, each with its
    /// finding. Events whose finding compaction removed are left out.
    pub async fn events_after(
        &self,
        cluster: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("f.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT e.id, e.kind, e.at, e.detail, {columns} FROM finding_events e \
             JOIN findings f ON f.id = e.finding_id WHERE e.cluster = $1 AND e.id > $2 \
             ORDER BY e.id LIMIT $3"
        )))
        .bind(cluster.to_owned())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(1).map_err(|e| self.db(e))?;
                Ok(OutboxEvent {
                    id: r.try_get(0).map_err(|e| self.db(e))?,
                    kind: EventKind::from_str(&kind).map_err(|e| self.corrupt(e.to_string()))?,
                    at: r.try_get(2).map_err(|e| self.db(e))?,
                    detail: r.try_get(3).map_err(|e| self.db(e))?,
                    finding: self.read_record_at(r, 4)?,
                })
            })
            .collect()
    }

    /// The kinds and times of the finding's `limit` events before event `before`, newest first.
    pub async fn previous_events(
        &self,
        finding_id: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<(EventKind, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, at FROM finding_events WHERE finding_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(finding_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(0).map_err(|e| self.db(e))?;
                Ok((
                    EventKind::from_str(&kind).map_err(|e| self.corrupt(e.to_string()))?,
                    r.try_get(1).map_err(|e| self.db(e))?,
                ))
            })
            .collect()
    }

    /// How many events of `cluster` come after event id `after` (what a sink has yet to handle).
    pub async fn events_count_after(&self, cluster: &str, after: i64) -> Result<i64, StoreError> {
        sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM finding_events WHERE cluster = $1 AND id > $2",
        )
        .bind(cluster)
        .bind(after)
        .fetch_one(&self.pool)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| self.db(e))
    }
}
