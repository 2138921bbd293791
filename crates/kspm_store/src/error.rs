//! What can go wrong with a store, in words a user can act on.

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one the store understands (shown without its password).
    #[error("store URL `{url}`: {reason}")]
    Url { url: String, reason: String },
    /// The database could not be reached, opened or created.
    #[error("cannot open the store {url}: {reason}")]
    Unavailable { url: String, reason: String },
    /// The database holds a schema newer than this kspm knows: an older kspm must not write it.
    #[error(
        "the store {url} has schema version {found}, newer than this kspm knows ({known}); upgrade kspm"
    )]
    SchemaTooNew { url: String, found: i64, known: i64 },
    /// A statement failed on an open database.
    #[error("store {url}: {source}")]
    Database {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A stored value could not be read back (written by something other than kspm).
    #[error("store {url}: unexpected stored value: {what}")]
    Corrupt { url: String, what: String },
    /// A value too large to store.
    #[error("store {url}: not stored: {what}")]
    TooLarge { url: String, what: String },
}

impl StoreError {
    /// Whether the error means the database could not be reached or opened at all (the CLI
    /// exits 2 then, as for an unreachable cluster), rather than a bad URL or a failed statement.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
