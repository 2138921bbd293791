//! One small HTTP client for every sink: hyper's client over rustls with ring, native roots,
//! HTTP/1.1, a timeout per request, answers read up to a bound.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::SinkError;

/// How much of an answer is read (error bodies are quoted in messages, cut shorter).
const MAX_ANSWER: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

/// The system's CA certificates could not be loaded (shared by every sink that needs them).
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot load the system's CA certificates: {0}")]
pub struct ClientError(std::sync::Arc<std::io::Error>);

/// An answer: status and (bounded) body.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Client {
    pub fn new() -> Result<Self, ClientError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| ClientError(std::sync::Arc::new(e)))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            inner: HyperClient::builder(TokioExecutor::new()).build(https),
        })
    }

    /// POSTs `body` with `headers`. `shown` names the destination in errors without secrets.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, SinkError> {
        let mut req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("kspm/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| SinkError::retry("the URL is not a valid HTTP URL"))?;
        let answer = tokio::time::timeout(TIMEOUT, async {
            let resp = self.inner.request(req).await.map_err(|e| {
                // The chain of causes says what failed (refused, DNS, TLS); none holds the URL.
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                SinkError::retry(text)
            })?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map(|c| String::from_utf8_lossy(&c.to_bytes()).into_owned())
                .unwrap_or_default();
            Ok::<_, SinkError>(Answer {
                status,
                retry_after,
                body,
            })
        })
        .await
        .map_err(|_| SinkError::retry(format!("no answer within {}s", TIMEOUT.as_secs())))??;
        Ok(answer)
    }

    /// POSTs and turns anything but a 2xx into an error quoting the status and the answer.
    pub async fn post_ok(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, SinkError> {
        let answer = self.post(url, headers, body).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        let snippet: String = answer.body.trim().chars().take(300).collect();
        let mut err = SinkError::retry(if snippet.is_empty() {
            format!("HTTP {}", answer.status)
        } else {
            format!("HTTP {}: {snippet}", answer.status)
        });
        err.retry_after = answer.retry_after;
        Err(err)
    }
}
