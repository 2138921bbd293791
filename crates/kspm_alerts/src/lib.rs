//! Alerts: serious findings reach people at once, minor ones in a digest, none lost or repeated.
//!
//! - [`config`]: the `alerts:` section of kspm.yaml (routes and sinks), validated with
//!   file:line:column.
//! - [`route`]: which findings a route takes.
//! - [`message`]: what is sent, and its JSON form `kspm.io/alert/v1`.
//! - [`sink`]: Alertmanager (v2 API), a generic webhook (idempotency key, HMAC signature),
//!   Slack, and a JSON-lines log; the only place credentials are read.
//! - [`outbox`]: delivery from the store's events table, with a cursor per route and sink.
//!
//! The agent runs the [`outbox::Dispatcher`] beside itself (a `kspm_agent::Companion`); this
//! crate knows nothing of the cluster, only the store.

pub mod config;
pub mod message;
pub mod metrics;
pub mod outbox;
pub mod route;
pub mod sink;

pub use config::AlertsConfig;
pub use outbox::{Dispatcher, test_sink};
pub use sink::{BuildError, BuildProblem, Sink, SinkError, Sinks};

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
