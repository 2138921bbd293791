//! Where the store lives: `sqlite:///abs/path.db`, `sqlite://relative.db` or `postgres://...`,
//! and the default when no URL is given.

use std::fmt;
use std::path::PathBuf;

use crate::StoreError;

/// A parsed store location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// An SQLite database file (created with its directory when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, as a libpq-style URL (`postgres://user:pass@host:port/db?...`).
    Postgres(String),
}

impl StoreUrl {
    /// Parses a store URL. `sqlite://` followed by a path (`sqlite:///abs/kspm.db` is absolute,
    /// `sqlite://kspm.db` relative to the working directory); `postgres://` or `postgresql://`.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = |reason: &str| StoreError::Url {
            url: redact(text),
            reason: reason.to_owned(),
        };
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(bad("no file path after `sqlite://`"));
            }
            if path.contains('?') {
                return Err(bad(
                    "SQLite URLs take a file path only, without `?` options",
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let rest = text.split_once("://").map_or("", |(_, r)| r);
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host.is_empty() && !rest.contains("host=") {
                return Err(bad("no host in the PostgreSQL URL"));
            }
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err(bad(
            "expected sqlite:///absolute/path.db, sqlite://relative.db or postgres://user@host/db",
        ))
    }

    /// The default store: `$XDG_STATE_HOME/kspm/kspm.db`, else `$HOME/.local/state/kspm/kspm.db`,
    /// else `kspm.db` in the working directory.
    pub fn default_sqlite() -> Self {
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/state"))
            });
        Self::Sqlite(state.map_or_else(|| PathBuf::from("kspm.db"), |s| s.join("kspm/kspm.db")))
    }
}

/// Shown with any password replaced by `***`: safe for messages and logs.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// A URL with the password of its user-info (and any `password=` parameter) hidden.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/kspm/kspm.db").unwrap(),
            StoreUrl::Sqlite(PathBuf::from("/var/lib/kspm/kspm.db"))
        );
        assert_eq!(
            StoreUrl::parse("sqlite://kspm.db").unwrap(),
            StoreUrl::Sqlite(PathBuf::from("kspm.db"))
        );
        assert!(StoreUrl::parse("sqlite://").is_err());
        assert!(StoreUrl::parse("sqlite://x.db?mode=ro").is_err());
    }

    #[test]
    fn other_schemes_are_refused_with_the_accepted_forms() {
        let e = StoreUrl::parse("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected sqlite://"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        assert!(StoreUrl::parse("/tmp/kspm.db").is_err());
        assert!(StoreUrl::parse("postgres:///db").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url =
            StoreUrl::parse("postgres://kspm:s3cret@db.example:5432/kspm?sslmode=require").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://kspm:***@db.example:5432/kspm?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://h/db?user=a&password=s3cret"),
            "postgresql://h/db?user=a&password=***"
        );
        assert_eq!(redact("postgres://kspm@h/db"), "postgres://kspm@h/db");
    }
}
