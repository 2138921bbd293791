//! The log sink: each message as one `kspm.io/alert/v1` JSON line on standard output (the
//! agent's own log lines go to standard error). Always available; cannot fail except on a
//! closed output.

use std::io::Write as _;

use super::SinkError;
use crate::message::Message;

pub fn send(message: &Message) -> Result<(), SinkError> {
    let line = message.to_json().to_string();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| SinkError::retry(format!("cannot write to standard output: {e}")))
}
