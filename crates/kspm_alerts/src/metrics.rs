//! Per-sink delivery metrics, rendered in Prometheus' text format and appended to the agent's
//! `/metrics`. Labels are bounded: sink and route names come from the configuration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

#[derive(Debug, Default, Clone)]
struct SinkCounts {
    sent: u64,
    failed: u64,
    dead_lettered: u64,
    flapped: u64,
    latency_sum: i64,
    latency_count: u64,
}

/// A counter series: name, type, value of one sink.
type Series = (&'static str, &'static str, fn(&SinkCounts) -> String);

#[derive(Debug, Default)]
pub struct AlertMetrics {
    sinks: Mutex<BTreeMap<String, SinkCounts>>,
    queued: Mutex<BTreeMap<(String, String), i64>>,
}

impl AlertMetrics {
    pub fn new(sinks: impl Iterator<Item = String>) -> Self {
        Self {
            sinks: Mutex::new(sinks.map(|s| (s, SinkCounts::default())).collect()),
            queued: Mutex::default(),
        }
    }

    fn with(&self, sink: &str, f: impl FnOnce(&mut SinkCounts)) {
        let mut sinks = self
            .sinks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(sinks.entry(sink.to_owned()).or_default());
    }

    pub fn sent(&self, sink: &str) {
        self.with(sink, |c| c.sent += 1);
    }
    pub fn failed(&self, sink: &str) {
        self.with(sink, |c| c.failed += 1);
    }
    pub fn dead_lettered(&self, sink: &str) {
        self.with(sink, |c| c.dead_lettered += 1);
    }
    pub fn flapped(&self, sink: &str) {
        self.with(sink, |c| c.flapped += 1);
    }
    pub fn latency(&self, sink: &str, seconds: i64) {
        self.with(sink, |c| {
            c.latency_sum += seconds;
            c.latency_count += 1;
        });
    }
    pub fn set_queued(&self, sink: &str, route: &str, n: i64) {
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((sink.to_owned(), route.to_owned()), n);
    }

    /// (sent, failed, dead-lettered) of one sink, for tests.
    pub fn counts(&self, sink: &str) -> (u64, u64, u64) {
        let sinks = self
            .sinks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sinks
            .get(sink)
            .map_or((0, 0, 0), |c| (c.sent, c.failed, c.dead_lettered))
    }

    pub fn render(&self) -> String {
        let sinks = self
            .sinks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut out = String::new();
        let series: [Series; 6] = [
            ("kspm_alerts_sent_total", "counter", |c| c.sent.to_string()),
            ("kspm_alerts_failed_total", "counter", |c| {
                c.failed.to_string()
            }),
            ("kspm_alerts_dead_lettered_total", "counter", |c| {
                c.dead_lettered.to_string()
            }),
            ("kspm_alerts_flapped_total", "counter", |c| {
                c.flapped.to_string()
            }),
            ("kspm_alerts_delivery_latency_seconds_sum", "counter", |c| {
                c.latency_sum.to_string()
            }),
            (
                "kspm_alerts_delivery_latency_seconds_count",
                "counter",
                |c| c.latency_count.to_string(),
            ),
        ];
        for (name, ty, value) in series {
            let _ = writeln!(out, "# TYPE {name} {ty}");
            for (sink, c) in &sinks {
                let _ = writeln!(out, "{name}{{sink=\"{sink}\"}} {}", value(c));
            }
        }
        let _ = writeln!(out, "# TYPE kspm_alerts_queued gauge");
        for ((sink, route), n) in self
            .queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "kspm_alerts_queued{{sink=\"{sink}\",route=\"{route}\"}} {n}"
            );
        }
        out
    }
}
