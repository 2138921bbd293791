//! The generic webhook: the `kspm.io/alert/v1` document, POSTed as JSON, with
//! `Idempotency-Key` (stable across retries, so a receiver drops repeats) and, when a secret is
//! configured, `X-Kspm-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` under the
//! secret, with the timestamp in `X-Kspm-Timestamp` (a receiver rejects old timestamps to stop
//! replays).

use super::SinkError;
use super::http::Client;
use crate::message::Message;

pub async fn send(
    client: &Client,
    url: &str,
    hmac: Option<&[u8]>,
    message: &Message,
    now: i64,
) -> Result<(), SinkError> {
    let body = message.to_json().to_string().into_bytes();
    let mut headers = vec![
        ("idempotency-key", message.key.clone()),
        ("x-kspm-timestamp", now.to_string()),
    ];
    if let Some(secret) = hmac {
        headers.push(("x-kspm-signature", signature(secret, now, &body)));
    }
    client.post_ok(url, &headers, body).await.map(drop)
}

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", crate::hex(ctx.sign().as_ref()))
}
