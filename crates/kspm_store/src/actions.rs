//! What kspm did, beside what it found: admission decisions (`kspm admission` records the
//! requests it denied, warned about or audited) and remediation changes (`kspm remediate`
//! records each change it applied, with the before-state that `--undo` restores).
//!
//! Both are append-only records of a cluster; they do not take part in the finding lifecycle.

use sqlx::Row;

use crate::{Store, StoreError};

/// One judged admission request worth keeping (not a dry run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionDecision {
    pub at: i64,
    pub request_uid: String,
    pub operation: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub username: String,
    /// `denied`, `warned` or `audited`.
    pub decision: String,
    /// The findings behind the decision, as a JSON array.
    pub findings: String,
}

/// One change `kspm remediate --apply` made to a live object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemediationChange {
    pub change_id: String,
    pub at: i64,
    pub username: String,
    /// The rule codes whose fixes made the change, comma-separated.
    pub rules: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The object before and after the change, as JSON.
    pub before: String,
    pub after: String,
    pub undone_at: Option<i64>,
}

impl Store {
    /// Records admission decisions of `cluster`, in one transaction.
    pub async fn record_admissions(
        &self,
        cluster: &str,
        decisions: &[AdmissionDecision],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db(e))?;
        for d in decisions {
            sqlx::query(
                "INSERT INTO admission_decisions (cluster, at, request_uid, operation, api_version, \
                 kind, namespace, name, username, decision, findings) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(cluster)
            .bind(d.at)
            .bind(&d.request_uid)
            .bind(&d.operation)
            .bind(&d.api_version)
            .bind(&d.kind)
            .bind(d.namespace.as_deref())
            .bind(&d.name)
            .bind(&d.username)
            .bind(&d.decision)
            .bind(&d.findings)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        }
        tx.commit().await.map_err(|e| self.db(e))
    }

    /// The admission decisions of `cluster`, oldest first.
    pub async fn admissions(&self, cluster: &str) -> Result<Vec<AdmissionDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, request_uid, operation, api_version, kind, namespace, name, username, \
             decision, findings FROM admission_decisions WHERE cluster = $1 ORDER BY at, id",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| {
                Ok(AdmissionDecision {
                    at: r.try_get(0)?,
                    request_uid: r.try_get(1)?,
                    operation: r.try_get(2)?,
                    api_version: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    namespace: r.try_get(5)?,
                    name: r.try_get(6)?,
                    username: r.try_get(7)?,
                    decision: r.try_get(8)?,
                    findings: r.try_get(9)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.db(e))
    }

    /// Records one applied remediation change.
    pub async fn record_change(
        &self,
        cluster: &str,
        c: &RemediationChange,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO remediation_changes (change_id, cluster, at, username, rules, api_version, \
             kind, namespace, name, before_state, after_state, undone_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.change_id)
        .bind(cluster)
        .bind(c.at)
        .bind(&c.username)
        .bind(&c.rules)
        .bind(&c.api_version)
        .bind(&c.kind)
        .bind(c.namespace.as_deref())
        .bind(&c.name)
        .bind(&c.before)
        .bind(&c.after)
        .bind(c.undone_at)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The change recorded under `change_id`, whichever cluster it was made on.
    pub async fn change(&self, change_id: &str) -> Result<Option<RemediationChange>, StoreError> {
        let row = sqlx::query(
            "SELECT change_id, at, username, rules, api_version, kind, namespace, name, \
             before_state, after_state, undone_at FROM remediation_changes WHERE change_id = $1",
        )
        .bind(change_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        row.map(|r| {
            Ok(RemediationChange {
                change_id: r.try_get(0)?,
                at: r.try_get(1)?,
                username: r.try_get(2)?,
                rules: r.try_get(3)?,
                api_version: r.try_get(4)?,
                kind: r.try_get(5)?,
                namespace: r.try_get(6)?,
                name: r.try_get(7)?,
                before: r.try_get(8)?,
                after: r.try_get(9)?,
                undone_at: r.try_get(10)?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| self.db(e))
    }

    /// Marks a change as undone at `at`.
    pub async fn mark_undone(&self, change_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE remediation_changes SET undone_at = $1 WHERE change_id = $2")
            .bind(at)
            .bind(change_id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreUrl, block_on};

    #[test]
    fn decisions_and_changes_round_trip_and_an_undo_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let url = StoreUrl::Sqlite(dir.path().join("kspm.db"));
        block_on(async {
            let store = Store::open(&url).await.unwrap();
            let d = AdmissionDecision {
                at: 10,
                request_uid: "u".into(),
                operation: "CREATE".into(),
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some("a".into()),
                name: "p".into(),
                username: "alice".into(),
                decision: "denied".into(),
                findings: "[]".into(),
            };
            store
                .record_admissions("c1", std::slice::from_ref(&d))
                .await
                .unwrap();
            assert_eq!(store.admissions("c1").await.unwrap(), vec![d]);
            assert!(store.admissions("c2").await.unwrap().is_empty());
            let c = RemediationChange {
                change_id: "abc".into(),
                at: 20,
                username: "bob".into(),
                rules: "PS004,PS019".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("a".into()),
                name: "web".into(),
                before: "{}".into(),
                after: "{}".into(),
                undone_at: None,
            };
            store.record_change("c1", &c).await.unwrap();
            assert_eq!(store.change("abc").await.unwrap().as_ref(), Some(&c));
            assert!(store.change("nope").await.unwrap().is_none());
            store.mark_undone("abc", 30).await.unwrap();
            assert_eq!(
                store.change("abc").await.unwrap().unwrap().undone_at,
                Some(30)
            );
            // The same id twice is refused (the primary key).
            assert!(store.record_change("c1", &c).await.is_err());
            store.close().await;
        });
    }
}
