//! `kspm serve`: the dashboard over the finding store, for one cluster or a fleet.
//!
//! Server-rendered pages that need no JavaScript (and get none: the Content-Security-Policy
//! forbids every script), each backed by the same model served as JSON under `/api/v1/`. Safe
//! by default: loopback unless told otherwise, read-only (GET and HEAD only; the store is only
//! queried), an optional bearer token read from a file, TLS from certificate files (rustls on
//! ring), bounded requests and connections.
//!
//! The pieces: [`html`] (the escaping writer every page is written with), [`page`] (one module
//! per page: load, JSON, HTML), [`server`] (HTTP, routing, auth, headers, TLS).

pub mod html;
pub mod page;
pub mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use server::{CONTENT_SECURITY_POLICY, Server};

/// Where to listen and how to protect it.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Requests must carry `Authorization: Bearer TOKEN` (except `/healthz`). Never printed.
    pub token: Option<Token>,
    pub tls: Option<TlsFiles>,
}

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// PEM files for TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A bearer token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Reads a token from `path`: the file's content without surrounding whitespace; at least
    /// 16 characters, at most 4 KiB, printable ASCII.
    pub fn from_file(path: &Path) -> Result<Self, ServeError> {
        let bad = |reason: TokenError| ServeError::Token {
            path: path.to_owned(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| bad(TokenError::Unreadable(e)))?;
        if meta.len() > 4096 {
            return Err(bad(TokenError::TooLarge));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(TokenError::Unreadable(e)))?;
        Self::new(text.trim()).map_err(bad)
    }

    pub fn new(token: &str) -> Result<Self, TokenError> {
        if token.len() < 16 {
            return Err(TokenError::TooShort);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotPrintable);
        }
        Ok(Self(token.to_owned()))
    }

    /// Compares in time independent of where the first difference is.
    pub(crate) fn matches(&self, given: &[u8]) -> bool {
        let want = self.0.as_bytes();
        let mut diff = u8::from(want.len() != given.len());
        for (i, w) in want.iter().enumerate() {
            diff |= w ^ given.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

/// Why a token (or its file) is refused. Never shows the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Too easy to guess.
    #[error("shorter than 16 characters")]
    TooShort,
    /// Spaces, control characters or non-ASCII: not something a header carries as written.
    #[error("holds characters other than printable ASCII")]
    NotPrintable,
    /// The file is not a token file.
    #[error("larger than 4 KiB")]
    TooLarge,
    /// The file could not be read.
    #[error("{0}")]
    Unreadable(std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("token file {}: {reason}", path.display())]
    Token { path: PathBuf, reason: TokenError },
    #[error("TLS: {}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] kspm_store::StoreError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// Opens the store read-only, binds, says where on standard error, and serves until SIGINT or
/// SIGTERM. What `kspm serve` runs.
pub fn run(store: &kspm_store::StoreUrl, options: &ServeOptions) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let store = kspm_store::Store::open_read_only(store).await?;
        let shown = store.url().to_owned();
        let server = Server::bind(store, options).await?;
        if !server.local_addr().ip().is_loopback() && options.token.is_none() {
            eprintln!(
                "kspm serve: warning: listening on {} without --token-file: anyone who can reach it can read every finding",
                server.local_addr()
            );
        }
        eprintln!("kspm serve: {shown} on {}", server.url());
        server.run(shutdown_signal()).await;
        Ok(())
    })
}

/// SIGINT, or SIGTERM on Unix.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn tokens() {
        let t = Token::new("0123456789abcdef").unwrap();
        assert!(t.matches(b"0123456789abcdef"));
        assert!(!t.matches(b"0123456789abcdeF"));
        assert!(!t.matches(b"0123456789abcdef0"));
        assert!(!t.matches(b""));
        assert_eq!(
            Token::new("short").unwrap_err().to_string(),
            "shorter than 16 characters"
        );
        assert_eq!(
            Token::new("0123456789 abcdef").unwrap_err().to_string(),
            "holds characters other than printable ASCII"
        );
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
