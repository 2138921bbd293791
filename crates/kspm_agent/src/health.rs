//! The agent's report on itself, written to the store after every judgement
//! ([`kspm_store::Store::heartbeat`]): the dashboard's fleet page shows each cluster's agent
//! health from it and flags an agent that stopped reporting.
//!
//! Kept apart from the judging so that reporting never changes what is judged: the agent tells
//! this module which kinds it could not read (and when they became readable again), and calls
//! [`Agent::heartbeat`] after each judgement.

use std::collections::BTreeMap;
use std::time::Duration;

use kspm_store::AgentStatus;

use crate::{Agent, Config, log};

/// What the heartbeat reports beside the judgement.
#[derive(Debug)]
pub(crate) struct Health {
    /// The longest the agent goes without a judgement when nothing changes: the resync or the
    /// maintenance period, whichever is shorter.
    period: Duration,
    /// Kinds that could not be listed or watched, with why (by the session's kind index).
    unreadable: BTreeMap<usize, String>,
    /// Whether the last heartbeat failed (logged once until one succeeds again).
    failing: bool,
}

impl Health {
    pub(crate) fn new(config: &Config) -> Self {
        let maintenance = config
            .retention
            .clamp(Duration::from_secs(1), Duration::from_hours(1));
        Self {
            period: config.resync.min(maintenance),
            unreadable: BTreeMap::new(),
            failing: false,
        }
    }

    /// `kind` could not be listed or watched.
    pub(crate) fn unreadable(&mut self, kind: usize, why: &str) {
        self.unreadable.insert(kind, why.to_owned());
    }

    /// `kind` was listed again.
    pub(crate) fn readable(&mut self, kind: usize) {
        self.unreadable.remove(&kind);
    }
}

impl Agent<'_> {
    /// Records the agent's health in the store after a judgement whose sync succeeded or not.
    /// A failure is logged (once until a heartbeat succeeds again) and otherwise ignored: the
    /// judgement goes on without it.
    pub(crate) async fn heartbeat(&mut self, synced: bool) {
        let status = AgentStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            sync_ok: synced,
            error: (!synced)
                .then(|| "the last store sync failed (the agent's log says why)".to_owned()),
            objects: self.held.objects() as u64,
            unreadable: self
                .health
                .unreadable
                .iter()
                .map(|(kind, why)| format!("{}: {why}", self.session.kind_name(*kind)))
                .collect(),
            period_seconds: i64::try_from(self.health.period.as_secs()).unwrap_or(i64::MAX),
        };
        let now = kspm_store::time::now();
        match self.store.heartbeat(&self.cluster, &status, now).await {
            Ok(()) => self.health.failing = false,
            Err(e) => {
                if !self.health.failing {
                    log(&format!(
                        "cannot record the agent's health in the store: {e}"
                    ));
                }
                self.health.failing = true;
            }
        }
    }
}
