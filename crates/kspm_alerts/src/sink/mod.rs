//! The sinks: where messages go. Built from the configuration by [`Sinks::build`], which is the
//! only place credentials are read (from their file or environment variable). A sink's `Debug`,
//! its errors and its name in messages show its type and host, never its URL's path or query
//! (where Slack and many webhooks keep their token) nor any secret.

pub mod alertmanager;
pub mod http;
pub mod log;
pub mod slack;
pub mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{AlertsConfig, Secret, SinkSpec, UrlSource};
use crate::message::Message;

/// Largest credential file read.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// A delivery that did not go through. The message quotes what the sink answered (status and
/// body) or why it could not be reached; it holds no URL and no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkError {
    pub message: String,
    /// What the sink asked for (`Retry-After`), if anything.
    pub retry_after: Option<Duration>,
}

impl SinkError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A credential's value; never printed.
#[derive(Clone)]
pub struct SecretValue(String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Alertmanager {
        url: SecretValue,
    },
    Webhook {
        url: SecretValue,
        hmac: Option<SecretValue>,
    },
    Slack {
        url: SecretValue,
    },
    Log,
}

/// One configured sink, ready to send.
#[derive(Clone, Debug)]
pub struct Sink {
    pub name: String,
    /// `alertmanager http://am:9093`, `slack hooks.slack.com`: safe to print.
    pub shown: String,
    kind: Kind,
    client: Option<http::Client>,
}

/// Every sink of a configuration, by name.
#[derive(Debug, Default)]
pub struct Sinks(pub BTreeMap<String, Sink>);

/// What building a sink found wrong: its name and why (no secret).
#[derive(Debug, thiserror::Error)]
#[error("alert sink `{sink}`: {problem}")]
pub struct BuildError {
    pub sink: String,
    pub problem: BuildProblem,
}

/// Why a sink cannot be built. Names the file or variable a credential comes from, never the
/// credential.
#[derive(Debug, thiserror::Error)]
pub enum BuildProblem {
    /// A credential file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A credential variable is absent.
    #[error("environment variable {0} is not set (or not UTF-8)")]
    Unset(String),
    /// A credential file holds only white space.
    #[error("{} is empty", .0.display())]
    EmptyFile(std::path::PathBuf),
    /// A credential variable holds only white space.
    #[error("environment variable {0} is empty")]
    EmptyVariable(String),
    /// The URL (as read: it may be secret) is not http:// or https://.
    #[error("the URL read is not an http:// or https:// URL")]
    NotHttp,
    /// The URL (as read) does not parse.
    #[error("the URL read is not a valid URL")]
    BadUrl,
    /// The HTTP client could not be made (the system's CA certificates).
    #[error(transparent)]
    Client(#[from] http::ClientError),
}

fn read_secret(secret: &Secret) -> Result<SecretValue, BuildProblem> {
    let text = match secret {
        Secret::File(path) => {
            use std::io::Read as _;
            let unreadable = |source| BuildProblem::Unreadable {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(unreadable)?;
            let mut text = String::new();
            file.take(MAX_SECRET_BYTES)
                .read_to_string(&mut text)
                .map_err(unreadable)?;
            text
        }
        Secret::Env(name) => std::env::var(name).map_err(|_| BuildProblem::Unset(name.clone()))?,
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(match secret {
            Secret::File(p) => BuildProblem::EmptyFile(p.clone()),
            Secret::Env(n) => BuildProblem::EmptyVariable(n.clone()),
        });
    }
    Ok(SecretValue(text))
}

fn read_url(source: &UrlSource) -> Result<SecretValue, BuildProblem> {
    let url = match source {
        UrlSource::Inline(u) => SecretValue(u.clone()),
        UrlSource::Secret(s) => read_secret(s)?,
    };
    if !(url.0.starts_with("http://") || url.0.starts_with("https://")) {
        return Err(BuildProblem::NotHttp);
    }
    if url.0.parse::<hyper::Uri>().is_err() {
        return Err(BuildProblem::BadUrl);
    }
    Ok(url)
}

/// `https://host[:port]`, nothing after.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}")
}

impl Sinks {
    /// Builds every sink, reading credentials. Each sink that cannot be built is one error;
    /// the others are still built.
    pub fn build(config: &AlertsConfig) -> (Self, Vec<BuildError>) {
        let mut sinks = BTreeMap::new();
        let mut errors = Vec::new();
        let client = http::Client::new();
        for (name, spec) in &config.sinks {
            let err = |problem: BuildProblem| BuildError {
                sink: name.clone(),
                problem,
            };
            let kind = match spec {
                SinkSpec::Alertmanager { url } => {
                    read_url(url).map(|url| Kind::Alertmanager { url })
                }
                SinkSpec::Webhook { url, hmac } => read_url(url).and_then(|url| {
                    let hmac = hmac.as_ref().map(read_secret).transpose()?;
                    Ok(Kind::Webhook { url, hmac })
                }),
                SinkSpec::Slack { url } => {
                    read_url(&UrlSource::Secret(url.clone())).map(|url| Kind::Slack { url })
                }
                SinkSpec::Log => Ok(Kind::Log),
            };
            let kind = match kind {
                Ok(k) => k,
                Err(m) => {
                    errors.push(err(m));
                    continue;
                }
            };
            let shown = match &kind {
                Kind::Alertmanager { url } | Kind::Webhook { url, .. } | Kind::Slack { url } => {
                    format!("{} {}", spec.type_name(), origin(&url.0))
                }
                Kind::Log => "log (standard output)".to_owned(),
            };
            let client = match (&kind, &client) {
                (Kind::Log, _) => None,
                (_, Ok(c)) => Some(c.clone()),
                (_, Err(e)) => {
                    errors.push(err(BuildProblem::Client(e.clone())));
                    continue;
                }
            };
            sinks.insert(
                name.clone(),
                Sink {
                    name: name.clone(),
                    shown,
                    kind,
                    client,
                },
            );
        }
        (Self(sinks), errors)
    }
}

impl Sink {
    pub fn is_alertmanager(&self) -> bool {
        matches!(self.kind, Kind::Alertmanager { .. })
    }

    pub fn is_slack(&self) -> bool {
        matches!(self.kind, Kind::Slack { .. })
    }

    /// Sends one message. For Alertmanager, `keepalive` sets how far ahead `endsAt` is.
    pub async fn send(&self, message: &Message, keepalive: i64) -> Result<(), SinkError> {
        let client = self.client.as_ref();
        match (&self.kind, client) {
            (Kind::Log, _) => log::send(message),
            (Kind::Webhook { url, hmac }, Some(c)) => {
                webhook::send(
                    c,
                    &url.0,
                    hmac.as_ref().map(|h| h.0.as_bytes()),
                    message,
                    message.sent_at,
                )
                .await
            }
            (Kind::Slack { url }, Some(c)) => slack::send(c, &url.0, message).await,
            (Kind::Alertmanager { url }, Some(c)) => {
                alertmanager::send(c, &url.0, alertmanager::alerts_of(message, keepalive)).await
            }
            (_, None) => Err(SinkError::retry("no HTTP client")),
        }
    }

    /// Posts raw Alertmanager alerts (the keep-alive of open findings).
    pub async fn post_alerts(&self, alerts: Vec<serde_json::Value>) -> Result<(), SinkError> {
        match (&self.kind, &self.client) {
            (Kind::Alertmanager { url }, Some(c)) => alertmanager::send(c, &url.0, alerts).await,
            _ => Ok(()),
        }
    }
}
