//! Analyses of a whole cluster that are not findings: RBAC escalation paths and network
//! exposure, as the agent computed them from the objects it holds, for the dashboard (which
//! reads only the store). One JSON document per cluster and kind, replaced only when it changed,
//! so a quiet cluster writes nothing.

use std::str::FromStr;

use sqlx::Row;

use crate::{Store, StoreError};

/// Which analysis a document holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnalysisKind {
    /// RBAC escalation paths (`kspm rbac paths`).
    Rbac,
    /// Exposed workloads (`kspm network exposure`).
    Network,
}

impl AnalysisKind {
    pub const ALL: [AnalysisKind; 2] = [AnalysisKind::Rbac, AnalysisKind::Network];

    pub const fn as_str(self) -> &'static str {
        match self {
            AnalysisKind::Rbac => "rbac",
            AnalysisKind::Network => "network",
        }
    }
}

impl FromStr for AnalysisKind {
    type Err = UnknownAnalysisKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownAnalysisKind(s.to_owned()))
    }
}

/// A name that is no [`AnalysisKind`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("analysis kind `{0}`")]
pub struct UnknownAnalysisKind(pub String);

/// A stored analysis document.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub kind: AnalysisKind,
    pub document: serde_json::Value,
    /// When the document last changed.
    pub updated_at: i64,
}

/// The largest document stored (a cluster with more paths than this is cut by its producer).
pub const MAX_ANALYSIS_BYTES: usize = 8 * 1024 * 1024;

impl Store {
    /// Stores `document` as the `kind` analysis of `cluster`, unless the stored one is the same;
    /// returns whether it wrote. A document larger than [`MAX_ANALYSIS_BYTES`] is refused.
    pub async fn put_analysis(
        &self,
        cluster: &str,
        kind: AnalysisKind,
        document: &serde_json::Value,
        now: i64,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(document).expect("a JSON value serializes");
        if text.len() > MAX_ANALYSIS_BYTES {
            return Err(StoreError::TooLarge {
                url: self.url.clone(),
                what: format!(
                    "the {} analysis of `{cluster}` is {} bytes, more than the {MAX_ANALYSIS_BYTES} stored",
                    kind.as_str(),
                    text.len()
                ),
            });
        }
        let stored: Option<String> =
            sqlx::query("SELECT document FROM cluster_analyses WHERE cluster = $1 AND kind = $2")
                .bind(cluster)
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await
                .and_then(|r| r.map(|r| r.try_get(0)).transpose())
                .map_err(|e| self.db(e))?;
        if stored.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO cluster_analyses (cluster, kind, document, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (cluster, kind) DO UPDATE SET document = excluded.document, \
             updated_at = excluded.updated_at",
        )
        .bind(cluster)
        .bind(kind.as_str())
        .bind(text)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(true)
    }

    /// The `kind` analysis of `cluster`, if its agent stored one.
    pub async fn analysis(
        &self,
        cluster: &str,
        kind: AnalysisKind,
    ) -> Result<Option<Analysis>, StoreError> {
        let row = sqlx::query(
            "SELECT document, updated_at FROM cluster_analyses WHERE cluster = $1 AND kind = $2",
        )
        .bind(cluster)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        row.map(|r| {
            let text: String = r.try_get(0).map_err(|e| self.db(e))?;
            Ok(Analysis {
                kind,
                document: serde_json::from_str(&text).map_err(|e| {
                    self.corrupt(format!(
                        "the {} analysis of `{cluster}`: {e}",
                        kind.as_str()
                    ))
                })?,
                updated_at: r.try_get(1).map_err(|e| self.db(e))?,
            })
        })
        .transpose()
    }
}
