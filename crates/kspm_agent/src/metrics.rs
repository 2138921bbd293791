//! The agent's Prometheus metrics, kept as plain counters and rendered in the text exposition
//! format (version 0.0.4) by hand: a dozen series do not need a metrics library.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kspm_model::Severity;

/// Upper bounds (seconds) of the evaluation latency histogram.
const BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default)]
pub struct Metrics {
    pub ready: AtomicBool,
    pub events: AtomicU64,
    pub watch_restarts: AtomicU64,
    pub relists: AtomicU64,
    pub resyncs: AtomicU64,
    pub resync_differences_total: AtomicU64,
    pub resync_differences_last: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_syncs: AtomicU64,
    pub objects: AtomicU64,
    /// 1 while this agent holds the lease (or runs without leader election).
    pub leader: AtomicBool,
    pub reports_written: AtomicU64,
    pub report_errors: AtomicU64,
    /// Custom policies loaded again after their files or the cluster's policy objects changed.
    pub policy_loads: AtomicU64,
    /// Loads that failed (the agent kept judging with the policies it had).
    pub policy_load_errors: AtomicU64,
    inner: Mutex<Inner>,
    /// Series rendered by companions (the alert dispatcher), appended to `/metrics`.
    pub extra: Extra,
}

/// Renderers of companions' metrics.
#[derive(Default)]
pub struct Extra(Mutex<Vec<std::sync::Arc<dyn Fn() -> String + Send + Sync>>>);

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Extra")
    }
}

impl Extra {
    pub fn add(&self, render: std::sync::Arc<dyn Fn() -> String + Send + Sync>) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(render);
    }

    fn render(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|r| r())
            .collect()
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Open (not suppressed) findings by severity, worst first as in `Severity::ALL`.
    open: [u64; 5],
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Open (not suppressed) findings by severity, in the order of `Severity::ALL`.
    pub fn set_open(&self, open: [u64; 5]) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .open = open;
    }

    pub fn observe_evaluation(&self, seconds: f64) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                inner.buckets[i] += 1;
            }
        }
        inner.count += 1;
        inner.sum += seconds;
    }

    /// The exposition text served on `/metrics`.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        one(
            "kspm_agent_ready",
            "gauge",
            "1 once the initial list, judgement and store sync are done.",
            u64::from(self.ready.load(Ordering::Relaxed)),
        );
        one(
            "kspm_agent_objects",
            "gauge",
            "Objects held (every watched kind).",
            get(&self.objects),
        );
        one(
            "kspm_agent_events_total",
            "counter",
            "Watch events processed (added, modified, deleted).",
            get(&self.events),
        );
        one(
            "kspm_agent_watch_restarts_total",
            "counter",
            "Watch requests that ended or failed and were resumed from the last resourceVersion.",
            get(&self.watch_restarts),
        );
        one(
            "kspm_agent_relists_total",
            "counter",
            "Kinds listed again because their watch expired (410 Gone).",
            get(&self.relists),
        );
        one(
            "kspm_agent_resyncs_total",
            "counter",
            "Periodic full resyncs done.",
            get(&self.resyncs),
        );
        one(
            "kspm_agent_resync_differences_total",
            "counter",
            "Objects a periodic resync found different from what the watches had delivered (target 0).",
            get(&self.resync_differences_total),
        );
        one(
            "kspm_agent_resync_differences",
            "gauge",
            "Differences found by the last periodic resync.",
            get(&self.resync_differences_last),
        );
        one(
            "kspm_agent_store_syncs_total",
            "counter",
            "Syncs of the current findings into the store.",
            get(&self.store_syncs),
        );
        one(
            "kspm_agent_store_errors_total",
            "counter",
            "Store syncs that failed (retried after the next debounce window).",
            get(&self.store_errors),
        );
        one(
            "kspm_agent_leader",
            "gauge",
            "1 while this agent is the one that writes (it holds the lease, or runs without leader election).",
            u64::from(self.leader.load(Ordering::Relaxed)),
        );
        one(
            "kspm_agent_reports_written_total",
            "counter",
            "PolicyReports (or Reports) applied or deleted because their content changed.",
            get(&self.reports_written),
        );
        one(
            "kspm_agent_report_errors_total",
            "counter",
            "Report writes or deletions that failed (retried on the next change).",
            get(&self.report_errors),
        );
        one(
            "kspm_agent_policy_loads_total",
            "counter",
            "Custom policies loaded again because their files or the cluster's admission policies changed.",
            get(&self.policy_loads),
        );
        one(
            "kspm_agent_policy_load_errors_total",
            "counter",
            "Policy loads that failed; the agent kept judging with the policies it had.",
            get(&self.policy_load_errors),
        );
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str("# HELP kspm_agent_open_findings Open (not suppressed) findings by severity.\n# TYPE kspm_agent_open_findings gauge\n");
        for (s, n) in Severity::ALL.iter().zip(inner.open) {
            let _ = writeln!(
                out,
                "kspm_agent_open_findings{{severity=\"{}\"}} {n}",
                s.as_str()
            );
        }
        out.push_str("# HELP kspm_agent_evaluation_seconds Time to judge everything held after a change.\n# TYPE kspm_agent_evaluation_seconds histogram\n");
        for (le, n) in BUCKETS.iter().zip(inner.buckets) {
            let _ = writeln!(
                out,
                "kspm_agent_evaluation_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "kspm_agent_evaluation_seconds_bucket{{le=\"+Inf\"}} {c}\nkspm_agent_evaluation_seconds_sum {s}\nkspm_agent_evaluation_seconds_count {c}",
            c = inner.count,
            s = inner.sum
        );
        out.push_str(&self.extra.render());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_series_follow_the_agents_own() {
        let m = Metrics::default();
        m.extra.add(std::sync::Arc::new(|| {
            "# TYPE kspm_alerts_sent_total counter\nkspm_alerts_sent_total{sink=\"log\"} 2\n"
                .to_owned()
        }));
        let text = m.render();
        let own = text.find("kspm_agent_ready").unwrap();
        let extra = text
            .find("kspm_alerts_sent_total{sink=\"log\"} 2\n")
            .unwrap();
        assert!(own < extra, "{text}");
    }

    #[test]
    fn renders_counters_severities_and_a_cumulative_histogram() {
        let m = Metrics::default();
        add(&m.events, 3);
        m.set_open([0, 2, 0, 1, 0]); // critical, high, medium, low, info
        m.observe_evaluation(0.03);
        m.observe_evaluation(3.0);
        let text = m.render();
        assert!(text.contains("kspm_agent_events_total 3\n"), "{text}");
        assert!(text.contains("kspm_agent_open_findings{severity=\"high\"} 2\n"));
        assert!(text.contains("kspm_agent_open_findings{severity=\"critical\"} 0\n"));
        assert!(text.contains("kspm_agent_evaluation_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(text.contains("kspm_agent_evaluation_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(text.contains("kspm_agent_evaluation_seconds_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("kspm_agent_evaluation_seconds_count 2\n"));
    }
}
