//! The webhook's Prometheus metrics, plain counters rendered in the text exposition format
//! (0.0.4) by hand, as the agent does: a dozen series do not need a metrics library.
//!
//! `kspm_admission_unjudged_total` counts every request that reached the server and could not
//! be judged (admitted when failing open). Requests that never reach it (the server is down,
//! the network drops them) are counted by the API server itself, as
//! `apiserver_admission_webhook_fail_open_count` and `apiserver_admission_webhook_rejection_count`.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::review::Outcome;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Why a request could not be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unjudged {
    /// Not an AdmissionReview (answered 400).
    BadRequest,
    /// Over the body size limit (answered 413).
    TooLarge,
    /// The body did not arrive in time.
    SlowBody,
    /// The object could not be turned into a resource.
    Object,
    /// Judging took longer than the budget.
    Timeout,
    /// Judging failed (a panic in a rule or policy).
    Internal,
}

impl Unjudged {
    const ALL: [Unjudged; 6] = [
        Unjudged::BadRequest,
        Unjudged::TooLarge,
        Unjudged::SlowBody,
        Unjudged::Object,
        Unjudged::Timeout,
        Unjudged::Internal,
    ];

    const fn as_str(self) -> &'static str {
        match self {
            Unjudged::BadRequest => "bad_request",
            Unjudged::TooLarge => "too_large",
            Unjudged::SlowBody => "slow_body",
            Unjudged::Object => "unreadable_object",
            Unjudged::Timeout => "timeout",
            Unjudged::Internal => "internal",
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub ready: AtomicBool,
    requests: [AtomicU64; 5],
    unjudged: [AtomicU64; 6],
    pub dry_runs: AtomicU64,
    pub records_dropped: AtomicU64,
    pub store_errors: AtomicU64,
    pub certificate_reloads: AtomicU64,
    pub certificate_reload_errors: AtomicU64,
    pub connections_refused: AtomicU64,
    latency: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

pub fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Counts one answered request and how long it took.
    pub fn observe(&self, outcome: Outcome, seconds: f64) {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        add(&self.requests[i]);
        let mut h = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn unjudged(&self, why: Unjudged) {
        let i = Unjudged::ALL.iter().position(|u| *u == why).unwrap_or(0);
        add(&self.unjudged[i]);
    }

    /// Requests that could not be judged, over every reason.
    pub fn unjudged_total(&self) -> u64 {
        self.unjudged
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The exposition text served on `/metrics`.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut head = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            "kspm_admission_ready",
            "gauge",
            "1 once the webhook serves.",
        );
        let _ = writeln!(
            out,
            "kspm_admission_ready {}",
            u8::from(self.ready.load(Ordering::Relaxed))
        );
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "kspm_admission_requests_total",
            "counter",
            "Admission requests answered, by outcome (allowed, warned, denied, skipped, unjudged).",
        );
        for (o, c) in Outcome::ALL.iter().zip(&self.requests) {
            let _ = writeln!(
                out,
                "kspm_admission_requests_total{{outcome=\"{}\"}} {}",
                o.as_str(),
                get(c)
            );
        }
        head(
            &mut out,
            "kspm_admission_unjudged_total",
            "counter",
            "Requests that reached the webhook and could not be judged, by reason (admitted unless failing closed).",
        );
        for (u, c) in Unjudged::ALL.iter().zip(&self.unjudged) {
            let _ = writeln!(
                out,
                "kspm_admission_unjudged_total{{reason=\"{}\"}} {}",
                u.as_str(),
                get(c)
            );
        }
        for (name, help, c) in [
            (
                "kspm_admission_dry_run_requests_total",
                "Dry-run requests judged (never recorded).",
                &self.dry_runs,
            ),
            (
                "kspm_admission_records_dropped_total",
                "Audit records not written to the store because its queue was full.",
                &self.records_dropped,
            ),
            (
                "kspm_admission_store_errors_total",
                "Failed writes of audit records to the store.",
                &self.store_errors,
            ),
            (
                "kspm_admission_certificate_reloads_total",
                "Serving certificates loaded after a change on disk.",
                &self.certificate_reloads,
            ),
            (
                "kspm_admission_certificate_reload_errors_total",
                "Changed certificate files that could not be loaded (the previous pair is kept).",
                &self.certificate_reload_errors,
            ),
            (
                "kspm_admission_connections_refused_total",
                "Connections closed at once because the connection limit was reached.",
                &self.connections_refused,
            ),
        ] {
            head(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", get(c));
        }
        let h = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        head(
            &mut out,
            "kspm_admission_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer.",
        );
        for (le, n) in BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                out,
                "kspm_admission_request_duration_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "kspm_admission_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\nkspm_admission_request_duration_seconds_sum {}\nkspm_admission_request_duration_seconds_count {}",
            h.count, h.sum, h.count
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series() {
        let m = Metrics::default();
        m.observe(Outcome::Denied, 0.003);
        m.unjudged(Unjudged::Timeout);
        let text = m.render();
        assert!(text.contains("kspm_admission_requests_total{outcome=\"denied\"} 1"));
        assert!(text.contains("kspm_admission_unjudged_total{reason=\"timeout\"} 1"));
        assert!(text.contains("kspm_admission_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("kspm_admission_request_duration_seconds_bucket{le=\"0.0025\"} 0"));
        assert_eq!(m.unjudged_total(), 1);
    }
}
