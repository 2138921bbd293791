//! Delivery: reads the store's events after each (route, sink) cursor and delivers them, then
//! moves the cursor. The events table is the outbox (see `kspm_store`'s `alerts` module), so
//! nothing is queued in memory that a crash could lose, and nothing acknowledged is sent again.
//!
//! Per pair: a first run sends one summary of what is already open (or nothing, `on_start:
//! silent`) and starts at the newest event; an immediate route sends one message per event in
//! event order (so per finding, in order); a digest route sends one message per period; an
//! Alertmanager sink also re-posts every open finding each keep-alive period. A failed delivery
//! leaves the cursor where it was and the pair waits (exponential backoff with jitter, or the
//! sink's `Retry-After`) while the other pairs go on; an event older than `max_age` that still
//! cannot be delivered is dead-lettered: logged, counted, and passed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kspm_store::{
    AlertCursor, EventKind, FindingFilter, FindingRecord, OutboxEvent, Status as FindingStatus,
    Store, StoreError,
};
use tokio::sync::watch;

use crate::config::{AlertsConfig, OnStart, Route};
use crate::message::{Body, MAX_LISTED, Message, Status, by_severity, key};
use crate::metrics::AlertMetrics;
use crate::sink::{Sink, SinkError, Sinks};

/// Events read per query.
const BATCH: i64 = 200;
/// Events a digest reads at most in one period (the rest go into the next).
const MAX_DIGEST_EVENTS: usize = 20_000;
/// Longest wait between two attempts of a failing pair.
const MAX_BACKOFF: Duration = Duration::from_mins(5);
/// Slack allows about one message per second per webhook.
const SLACK_SPACING: Duration = Duration::from_millis(1100);

#[derive(Debug, Default)]
struct PairState {
    failures: u32,
    next_try: Option<Instant>,
    /// Findings whose reopenings were held back, for the next digest.
    flapped: BTreeMap<i64, (FindingRecord, u32)>,
    /// Findings whose last transition, a reopening, was held back while the receiver was last
    /// told "resolved": by finding id, (event id, its time, the finding). Once the flap window has passed
    /// with no newer transition, the receiver is told the finding is open after all.
    unsettled: BTreeMap<i64, (i64, i64, FindingRecord)>,
}

/// Delivers the alerts of one cluster.
pub struct Dispatcher {
    config: AlertsConfig,
    sinks: Sinks,
    store: Store,
    cluster: String,
    metrics: Arc<AlertMetrics>,
    state: BTreeMap<(String, String), PairState>,
    last_slack: BTreeMap<String, Instant>,
}

fn log(message: &str) {
    eprintln!("kspm alerts: {message}");
}

impl Dispatcher {
    pub fn new(config: AlertsConfig, sinks: Sinks, store: Store, cluster: String) -> Self {
        let metrics = Arc::new(AlertMetrics::new(sinks.0.keys().cloned()));
        Self {
            config,
            sinks,
            store,
            cluster,
            metrics,
            state: BTreeMap::new(),
            last_slack: BTreeMap::new(),
        }
    }

    pub fn metrics(&self) -> Arc<AlertMetrics> {
        self.metrics.clone()
    }

    /// Forgets every pair's backoff, so the next [`Dispatcher::pump`] tries them all (tests,
    /// and `kspm alerts` one day: "retry now").
    pub fn retry_now(&mut self) {
        for s in self.state.values_mut() {
            s.next_try = None;
        }
    }

    /// Delivers until `stop` turns true, waking on `wake` (a store sync wrote) and every second
    /// (digests, keep-alives, retries); one last pass before returning.
    pub async fn run(mut self, mut wake: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) {
        loop {
            self.pump_logged().await;
            tokio::select! {
                r = wake.changed() => if r.is_err() { break },
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => break,
            }
        }
        self.pump_logged().await;
    }

    async fn pump_logged(&mut self) {
        if let Err(e) = self.pump(kspm_store::time::now()).await {
            log(&format!("cannot read or write the store: {e}"));
        }
    }

    /// One pass over every (route, sink) pair that is due; returns the messages delivered.
    pub async fn pump(&mut self, now: i64) -> Result<usize, StoreError> {
        let pairs: Vec<(Route, String)> = self
            .config
            .pairs()
            .map(|(r, s)| (r.clone(), s.to_owned()))
            .collect();
        let mut delivered = 0;
        for (route, sink_name) in pairs {
            let Some(sink) = self.sinks.0.get(&sink_name).cloned() else {
                continue;
            };
            let state_key = (route.key.clone(), sink_name.clone());
            let due = self
                .state
                .get(&state_key)
                .and_then(|s| s.next_try)
                .is_none_or(|t| t <= Instant::now());
            if !due {
                continue;
            }
            let outcome = self.pump_pair(&route, &sink, now).await?;
            delivered += outcome.0;
            let state = self.state.entry(state_key).or_default();
            match outcome.1 {
                None => {
                    state.failures = 0;
                    state.next_try = None;
                }
                Some(err) => {
                    state.failures += 1;
                    let wait = err.retry_after.unwrap_or_else(|| {
                        let base = Duration::from_secs(1 << state.failures.min(9));
                        base.mul_f64(0.5 + fastrand::f64() / 2.0)
                    });
                    let wait = wait.min(MAX_BACKOFF);
                    state.next_try = Some(Instant::now() + wait);
                    log(&format!(
                        "sink `{}` ({}): delivery failed: {err}; retrying in {:.1}s",
                        sink.name,
                        sink.shown,
                        wait.as_secs_f64()
                    ));
                }
            }
            let cursor = self
                .store
                .alert_cursor(&self.cluster, &route.key, &sink_name)
                .await?
                .unwrap_or_default();
            let queued = self
                .store
                .events_count_after(&self.cluster, cursor.last_event)
                .await?;
            self.metrics.set_queued(&sink_name, &route.key, queued);
        }
        Ok(delivered)
    }

    async fn deliver(&mut self, sink: &Sink, message: &Message) -> Result<(), SinkError> {
        if sink.is_slack() {
            if let Some(rest) = self
                .last_slack
                .get(&sink.name)
                .and_then(|last| SLACK_SPACING.checked_sub(last.elapsed()))
            {
                tokio::time::sleep(rest).await;
            }
            self.last_slack.insert(sink.name.clone(), Instant::now());
        }
        let result = sink.send(message, self.config.keepalive).await;
        match &result {
            Ok(()) => self.metrics.sent(&sink.name),
            Err(_) => self.metrics.failed(&sink.name),
        }
        result
    }

    fn message(&self, route: &Route, key: String, now: i64, body: Body) -> Message {
        Message {
            key,
            cluster: self.cluster.clone(),
            route: route.key.clone(),
            sent_at: now,
            body,
        }
    }

    async fn open_matching(
        &self,
        route: &Route,
        now: i64,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let mut open: Vec<FindingRecord> = self
            .store
            .findings(
                &FindingFilter {
                    cluster: Some(self.cluster.clone()),
                    status: Some(FindingStatus::Open),
                    since: None,
                },
                now,
            )
            .await?
            .into_iter()
            .filter(|f| route.matcher.matches(f))
            .collect();
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
        Ok(open)
    }

    /// Returns (messages delivered, the error that stopped the pair).
    async fn pump_pair(
        &mut self,
        route: &Route,
        sink: &Sink,
        now: i64,
    ) -> Result<(usize, Option<SinkError>), StoreError> {
        let (cluster, store) = (self.cluster.clone(), self.store.clone());
        let save = |c: AlertCursor| {
            let (cluster, store, route, sink) = (
                cluster.clone(),
                store.clone(),
                route.key.clone(),
                sink.name.clone(),
            );
            async move { store.set_alert_cursor(&cluster, &route, &sink, c).await }
        };
        let mut delivered = 0;
        let mut cursor =
            if let Some(c) = store.alert_cursor(&cluster, &route.key, &sink.name).await? {
                c
            } else {
                // First run of this pair: what is already open is summarised, not sent one by one.
                let last = store.last_event_id(&cluster).await?;
                if self.config.on_start == OnStart::Summary && !sink.is_alertmanager() {
                    let open = self.open_matching(route, now).await?;
                    if !open.is_empty() {
                        let total = open.len();
                        let by = by_severity(open.iter());
                        let body = Body::Summary {
                            open: open.into_iter().take(MAX_LISTED).collect(),
                            total,
                            by_severity: by,
                        };
                        let k = key(&[
                            &cluster,
                            &route.key,
                            &sink.name,
                            "summary",
                            &last.to_string(),
                        ]);
                        let msg = self.message(route, k, now, body);
                        if let Err(e) = self.deliver(sink, &msg).await {
                            return Ok((0, Some(e)));
                        }
                        delivered += 1;
                    }
                }
                let c = AlertCursor {
                    last_event: last,
                    last_sent: if sink.is_alertmanager() { 0 } else { now },
                };
                save(c).await?;
                c
            };

        if sink.is_alertmanager() && now - cursor.last_sent >= self.config.keepalive {
            let ends = now + 4 * self.config.keepalive;
            let alerts = self
                .open_matching(route, now)
                .await?
                .iter()
                .map(|f| crate::sink::alertmanager::alert(&cluster, f, f.opened_at, ends))
                .collect();
            match sink.post_alerts(alerts).await {
                Ok(()) => {
                    cursor.last_sent = now;
                    save(cursor).await?;
                }
                Err(e) => {
                    self.metrics.failed(&sink.name);
                    return Ok((delivered, Some(e)));
                }
            }
        }

        if let Some(period) = route.digest {
            if now - cursor.last_sent < period {
                return Ok((delivered, None));
            }
            let mut last = cursor.last_event;
            let mut listed = Vec::new();
            let mut total = 0;
            let mut read = 0;
            loop {
                let batch = store.events_after(&cluster, last, BATCH).await?;
                for e in &batch {
                    last = e.id;
                    read += 1;
                    if let Some(status) = self.decide(route, sink, e).await? {
                        let _ = status;
                        total += 1;
                        if listed.len() < MAX_LISTED {
                            listed.push((e.kind, e.finding.clone()));
                        }
                    }
                }
                if batch.len() < BATCH as usize || read >= MAX_DIGEST_EVENTS {
                    break;
                }
            }
            let state_key = (route.key.clone(), sink.name.clone());
            let flapped: Vec<(FindingRecord, u32)> = self
                .state
                .get(&state_key)
                .map(|s| s.flapped.values().cloned().collect())
                .unwrap_or_default();
            if total > 0 || !flapped.is_empty() {
                let body = Body::Digest {
                    from: cursor.last_sent,
                    to: now,
                    events: listed,
                    total,
                    flapped,
                };
                let k = key(&[
                    &cluster,
                    &route.key,
                    &sink.name,
                    "digest",
                    &last.to_string(),
                ]);
                let msg = self.message(route, k, now, body);
                if let Err(e) = self.deliver(sink, &msg).await {
                    if now - cursor.last_sent <= self.config.max_age + period {
                        return Ok((delivered, Some(e)));
                    }
                    self.dead_letter(sink, &format!("a digest of {total} changes"), &e);
                } else {
                    delivered += 1;
                }
            }
            if let Some(s) = self.state.get_mut(&state_key) {
                s.flapped.clear();
            }
            save(AlertCursor {
                last_event: last,
                last_sent: now,
            })
            .await?;
            return Ok((delivered, None));
        }

        loop {
            let batch = store
                .events_after(&cluster, cursor.last_event, BATCH)
                .await?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                if let Some(status) = self.decide(route, sink, e).await? {
                    let body = Body::Finding {
                        status,
                        event_id: e.id,
                        event: e.kind,
                        at: e.at,
                        finding: Box::new(e.finding.clone()),
                    };
                    // Per event, not per route: two routes to one sink deduplicate.
                    let k = key(&[&cluster, &e.id.to_string()]);
                    let msg = self.message(route, k, now, body);
                    match self.deliver(sink, &msg).await {
                        Ok(()) => {
                            delivered += 1;
                            self.metrics.latency(&sink.name, (now - e.at).max(0));
                        }
                        Err(err) if now - e.at > self.config.max_age => {
                            self.dead_letter(
                                sink,
                                &format!(
                                    "{} {} on {}",
                                    e.finding.rule,
                                    e.kind.as_str(),
                                    e.finding.object
                                ),
                                &err,
                            );
                        }
                        Err(err) => {
                            save(cursor).await?;
                            return Ok((delivered, Some(err)));
                        }
                    }
                    cursor.last_event = e.id;
                    save(cursor).await?;
                } else {
                    cursor.last_event = e.id;
                }
            }
            save(cursor).await?;
            if batch.len() < BATCH as usize {
                break;
            }
        }
        self.settle(route, sink, now)
            .await
            .map(|(n, err)| (delivered + n, err))
    }

    /// Tells the receiver about findings that ended a flapping burst open while it was last
    /// told they resolved (a held-back reopening with nothing after it for the flap window).
    async fn settle(
        &mut self,
        route: &Route,
        sink: &Sink,
        now: i64,
    ) -> Result<(usize, Option<SinkError>), StoreError> {
        let state_key = (route.key.clone(), sink.name.clone());
        let due: Vec<(i64, (i64, i64, FindingRecord))> = match self.state.get(&state_key) {
            Some(s) => s.unsettled.iter().map(|(id, v)| (*id, v.clone())).collect(),
            None => return Ok((0, None)),
        };
        let mut delivered = 0;
        for (finding_id, (event_id, reopened_at, finding)) in due {
            let last = self.store.previous_events(finding_id, i64::MAX, 1).await?;
            let Some((kind, at)) = last.first().copied() else {
                continue;
            };
            if now - at < self.config.flap_window {
                continue;
            }
            // Still the held-back reopening (same kind and time): the finding is open.
            let still_open = kind == EventKind::Reopened && at == reopened_at;
            if still_open {
                let body = Body::Finding {
                    status: Status::Firing,
                    event_id,
                    event: EventKind::Reopened,
                    at,
                    finding: Box::new(finding),
                };
                let k = key(&[&self.cluster, &event_id.to_string(), "settled"]);
                let msg = self.message(route, k, now, body);
                if let Err(e) = self.deliver(sink, &msg).await {
                    return Ok((delivered, Some(e)));
                }
                delivered += 1;
            }
            if let Some(s) = self.state.get_mut(&state_key) {
                s.unsettled.remove(&finding_id);
            }
        }
        Ok((delivered, None))
    }

    fn dead_letter(&self, sink: &Sink, what: &str, err: &SinkError) {
        self.metrics.dead_lettered(&sink.name);
        log(&format!(
            "sink `{}` ({}): dead-lettered {what} after {}s of failures: {err}",
            sink.name, sink.shown, self.config.max_age
        ));
    }

    /// Whether (and as what) an event goes to this route and sink. A reopening within the flap
    /// window of its resolution is held back (and counted for the next digest), and so is the
    /// resolution that follows a held-back reopening; Alertmanager, which keeps state itself,
    /// hears every transition.
    async fn decide(
        &mut self,
        route: &Route,
        sink: &Sink,
        e: &OutboxEvent,
    ) -> Result<Option<Status>, StoreError> {
        if !route.matcher.matches(&e.finding) {
            return Ok(None);
        }
        let status = match e.kind {
            EventKind::Opened | EventKind::Unsuppressed | EventKind::Reopened => Status::Firing,
            EventKind::Resolved | EventKind::Suppressed => {
                if !(route.resolved || sink.is_alertmanager()) {
                    return Ok(None);
                }
                Status::Resolved
            }
        };
        if e.kind == EventKind::Suppressed {
            // Only what was alerted needs the notice: a finding suppressed from its start was not.
            let prev = self.store.previous_events(e.finding.id, e.id, 1).await?;
            if !matches!(
                prev.first(),
                Some((
                    EventKind::Opened | EventKind::Reopened | EventKind::Unsuppressed,
                    _
                ))
            ) {
                return Ok(None);
            }
        }
        if sink.is_alertmanager() {
            return Ok(Some(status));
        }
        let flapping = match e.kind {
            EventKind::Reopened => self.reopen_flaps(e.finding.id, e.id, e.at).await?,
            EventKind::Resolved => {
                // After a held-back reopening the receiver still holds the earlier resolution.
                let prev = self.store.previous_events(e.finding.id, e.id, 1).await?;
                match prev.first() {
                    Some((EventKind::Reopened, at)) => {
                        let before = self.store.previous_events(e.finding.id, e.id, 2).await?;
                        let prev_id_at = before.get(1).map(|(_, t)| *t);
                        prev_id_at.is_some_and(|t| at - t < self.config.flap_window)
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        let state = self
            .state
            .entry((route.key.clone(), sink.name.clone()))
            .or_default();
        // Any transition settles what a held-back reopening left open: a newer one decides.
        state.unsettled.remove(&e.finding.id);
        if flapping && e.kind == EventKind::Reopened && route.resolved && route.digest.is_none() {
            state
                .unsettled
                .insert(e.finding.id, (e.id, e.at, e.finding.clone()));
        }
        if flapping {
            if e.kind == EventKind::Reopened {
                self.metrics.flapped(&sink.name);
                let state = self
                    .state
                    .entry((route.key.clone(), sink.name.clone()))
                    .or_default();
                let entry = state
                    .flapped
                    .entry(e.finding.id)
                    .or_insert_with(|| (e.finding.clone(), 0));
                entry.1 += 1;
            }
            return Ok(None);
        }
        Ok(Some(status))
    }

    async fn reopen_flaps(&self, finding: i64, event: i64, at: i64) -> Result<bool, StoreError> {
        let prev = self.store.previous_events(finding, event, 1).await?;
        Ok(
            matches!(prev.first(), Some((EventKind::Resolved, t)) if at - t < self.config.flap_window),
        )
    }
}

/// Sends one test message through `sink`.
pub async fn test_sink(sink: &Sink, cluster: &str, keepalive: i64) -> Result<(), SinkError> {
    let now = kspm_store::time::now();
    let message = Message {
        key: key(&[cluster, &sink.name, "test", &now.to_string()]),
        cluster: cluster.to_owned(),
        route: "test".to_owned(),
        sent_at: now,
        body: Body::Test,
    };
    sink.send(&message, keepalive).await
}
