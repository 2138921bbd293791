//! What each cluster's agent last said about itself: when it last reported, whether its last
//! store sync succeeded, how much of the cluster it holds and what it could not read. The fleet
//! page shows it, and flags an agent that stopped reporting (see [`AgentHealth::stale`]).

use sqlx::Row;

use crate::{Store, StoreError};

/// An agent's report on itself, sent after every judgement (`kspm agent`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStatus {
    /// The agent's kspm version.
    pub version: String,
    /// Whether the store took the findings of the judgement just made.
    pub sync_ok: bool,
    /// Why not, when it did not (one line, no secrets: a store error names no password).
    pub error: Option<String>,
    /// Objects the agent holds (watched and judged).
    pub objects: u64,
    /// Kinds that could not be listed or watched (their findings are missing), as `kind: why`.
    pub unreadable: Vec<String>,
    /// The longest the agent goes between two reports when nothing changes (its resync or
    /// maintenance period), in seconds.
    pub period_seconds: i64,
}

/// A stored [`AgentStatus`] with its times.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentHealth {
    pub cluster: String,
    /// The last report.
    pub heartbeat_at: i64,
    /// Whether the last report's sync succeeded, and when one last did.
    pub sync_ok: bool,
    pub last_success_at: Option<i64>,
    pub error: Option<String>,
    pub objects: i64,
    pub unreadable: Vec<String>,
    pub version: String,
    pub period_seconds: i64,
}

/// An agent is stale when it has not reported for three of its periods, and never before 15
/// minutes (a short period must not flag an agent that is merely busy judging).
pub const STALE_AFTER_MIN_SECONDS: i64 = 15 * 60;

impl AgentHealth {
    /// How long without a report makes this agent stale.
    pub fn stale_after(&self) -> i64 {
        self.period_seconds
            .saturating_mul(3)
            .max(STALE_AFTER_MIN_SECONDS)
    }

    /// Whether the agent has not reported for longer than [`AgentHealth::stale_after`] at `now`.
    pub fn stale(&self, now: i64) -> bool {
        now - self.heartbeat_at > self.stale_after()
    }
}

/// Unreadable kinds and error messages are bounded: an agent's report is one small row.
const MAX_UNREADABLE: usize = 100;
const MAX_TEXT: usize = 1000;

fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Store {
    /// Records the agent's report on itself for `cluster` at `now` (one row per cluster,
    /// replaced; `last_success_at` moves only when the sync succeeded).
    pub async fn heartbeat(
        &self,
        cluster: &str,
        status: &AgentStatus,
        now: i64,
    ) -> Result<(), StoreError> {
        let unreadable: Vec<String> = status
            .unreadable
            .iter()
            .take(MAX_UNREADABLE)
            .map(|u| bounded(u))
            .collect();
        let unreadable = serde_json::to_string(&unreadable).expect("strings serialize");
        sqlx::query(
            "INSERT INTO agent_status (cluster, heartbeat_at, sync_ok, last_success_at, error, objects, \
             unreadable, version, period_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (cluster) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, \
             sync_ok = excluded.sync_ok, \
             last_success_at = COALESCE(excluded.last_success_at, agent_status.last_success_at), \
             error = excluded.error, objects = excluded.objects, unreadable = excluded.unreadable, \
             version = excluded.version, period_seconds = excluded.period_seconds",
        )
        .bind(cluster)
        .bind(now)
        .bind(i64::from(status.sync_ok))
        .bind(status.sync_ok.then_some(now))
        .bind(status.error.as_deref().map(bounded))
        .bind(i64::try_from(status.objects).unwrap_or(i64::MAX))
        .bind(unreadable)
        .bind(bounded(&status.version))
        .bind(status.period_seconds.max(0))
        .execute(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Every agent's last report, by cluster name.
    pub async fn agent_health(&self) -> Result<Vec<AgentHealth>, StoreError> {
        let rows = sqlx::query(
            "SELECT cluster, heartbeat_at, sync_ok, last_success_at, error, objects, unreadable, \
             version, period_seconds FROM agent_status ORDER BY cluster",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| {
                let db = |e| self.db(e);
                let unreadable: String = r.try_get(6).map_err(db)?;
                Ok(AgentHealth {
                    cluster: r.try_get(0).map_err(db)?,
                    heartbeat_at: r.try_get(1).map_err(db)?,
                    sync_ok: r.try_get::<i64, _>(2).map_err(db)? != 0,
                    last_success_at: r.try_get(3).map_err(db)?,
                    error: r.try_get(4).map_err(db)?,
                    objects: r.try_get(5).map_err(db)?,
                    unreadable: serde_json::from_str(&unreadable)
                        .map_err(|e| self.corrupt(format!("agent_status.unreadable: {e}")))?,
                    version: r.try_get(7).map_err(db)?,
                    period_seconds: r.try_get(8).map_err(db)?,
                })
            })
            .collect()
    }
}
