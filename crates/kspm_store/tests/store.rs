//! The store on real databases: SQLite in a temporary file, and PostgreSQL started by
//! `scripts/test-postgres` (skipped without a server unless `KSPM_REQUIRE_TOOLS=1`). Every
//! lifecycle scenario runs on both.

use std::future::Future;
use std::time::Duration;

use kspm_model::Severity;
use kspm_store::{
    EventKind, FindingFilter, ObjectRef, Observation, Period, ResolvedReason, Snapshot, Status,
    Store, StoreError, StoreUrl, Suppressed, Table,
};
use kspm_testcluster::TestPostgres;
use sqlx::Row;

const DAY: i64 = 86_400;
/// 2026-10-05 (a Monday) 09:00 UTC.
const T0: i64 = 20_731 * DAY + 9 * 3_600;

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn object(name: &str, uid: Option<&str>) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: name.into(),
        uid: uid.map(str::to_owned),
    }
}

fn finding(name: &str, rule: &str, severity: Severity) -> Observation {
    Observation {
        rule: rule.into(),
        slug: format!("slug-of-{rule}"),
        severity,
        category: "pod-security".into(),
        object: object(name, None),
        path: "spec.template.spec.containers[0].securityContext.privileged".into(),
        location: "deploy.yaml:12".into(),
        message: format!("{rule} on {name}"),
        value: Some("true".into()),
        suppressed: None,
        fix: None,
        risk: 0,
    }
}

/// A complete snapshot in which `objects` were judged and `findings` reported.
fn snapshot(findings: Vec<Observation>, objects: &[&str]) -> Snapshot {
    Snapshot {
        observations: findings,
        objects: objects.iter().map(|n| object(n, None).key()).collect(),
        complete: true,
        namespaces: None,
        rules: None,
    }
}

/// Runs `scenario` on a fresh SQLite file and on a fresh PostgreSQL database.
fn on_both<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = StoreUrl::Sqlite(dir.path().join("nested/kspm.db"));
    block_on(async {
        let store = Store::open(&sqlite).await.expect("open sqlite");
        scenario(store).await;
    });
    assert!(dir.path().join("nested/kspm.db").is_file());
    if let Some(pg) = TestPostgres::shared() {
        let url = StoreUrl::parse(&pg.database(name)).unwrap();
        block_on(async {
            let store = Store::open(&url).await.expect("open postgres");
            scenario(store).await;
        });
    }
}

async fn status_of(store: &Store, cluster: &str, name: &str, now: i64) -> Option<Status> {
    store
        .findings(
            &FindingFilter {
                cluster: Some(cluster.into()),
                ..FindingFilter::default()
            },
            now,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.object.name == name)
        .map(|f| f.status)
}

async fn event_kinds(store: &Store, cluster: &str) -> Vec<(EventKind, i64)> {
    store
        .events(cluster)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.at))
        .collect()
}

#[test]
fn open_resolve_reopen() {
    on_both("lifecycle", |store| async move {
        let web = finding("web", "WL001", Severity::High);
        let r = store
            .sync("prod", &snapshot(vec![web.clone()], &["web"]), T0)
            .await
            .unwrap();
        assert_eq!((r.opened, r.events_written), (1, 1));
        assert_eq!(
            status_of(&store, "prod", "web", T0).await,
            Some(Status::Open)
        );

        // Fixed: the object is still judged, the finding is gone.
        let r = store
            .sync("prod", &snapshot(vec![], &["web"]), T0 + 600)
            .await
            .unwrap();
        assert_eq!(r.resolved, 1);
        let f = &store
            .findings(&FindingFilter::default(), T0 + 600)
            .await
            .unwrap()[0];
        assert_eq!(f.status, Status::Resolved);
        assert_eq!(f.resolved_at, Some(T0 + 600));
        assert_eq!(f.resolved_reason, Some(ResolvedReason::Fixed));

        // Back again: reopened, same identity, first_seen kept.
        let r = store
            .sync("prod", &snapshot(vec![web], &["web"]), T0 + 1_200)
            .await
            .unwrap();
        assert_eq!(r.reopened, 1);
        let all = store
            .findings(&FindingFilter::default(), T0 + 1_200)
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        let f = &all[0];
        assert_eq!(
            (
                f.status,
                f.reopen_count,
                f.first_seen,
                f.opened_at,
                f.resolved_at
            ),
            (Status::Open, 1, T0, T0 + 1_200, None)
        );
        assert_eq!(
            event_kinds(&store, "prod").await,
            vec![
                (EventKind::Opened, T0),
                (EventKind::Resolved, T0 + 600),
                (EventKind::Reopened, T0 + 1_200)
            ]
        );
    });
}

#[test]
fn a_deleted_object_resolves_its_findings() {
    on_both("deleted", |store| async move {
        let snap = snapshot(
            vec![
                finding("web", "WL001", Severity::High),
                finding("db", "WL001", Severity::High),
            ],
            &["web", "db"],
        );
        store.sync("prod", &snap, T0).await.unwrap();
        // `db` is gone from the cluster; `web` unchanged.
        let snap = snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]);
        let r = store.sync("prod", &snap, T0 + 60).await.unwrap();
        assert_eq!((r.resolved, r.rows_written), (1, 1));
        let db = store
            .findings(&FindingFilter::default(), T0 + 60)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.object.name == "db")
            .unwrap();
        assert_eq!(db.status, Status::Resolved);
        assert_eq!(db.resolved_reason, Some(ResolvedReason::Deleted));
        assert_eq!(
            status_of(&store, "prod", "web", T0 + 60).await,
            Some(Status::Open)
        );
    });
}

#[test]
fn suppression_is_a_state_and_its_expiry_reopens() {
    on_both("suppression", |store| async move {
        let expires = T0 + 2 * DAY;
        let mut waived = finding("web", "WL001", Severity::High);
        waived.suppressed = Some(Suppressed {
            by: "kspm.yaml:4 (owner ops)".into(),
            reason: "migration window".into(),
            until: Some(expires),
        });
        store
            .sync(
                "prod",
                &snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]),
                T0,
            )
            .await
            .unwrap();
        let r = store
            .sync("prod", &snapshot(vec![waived.clone()], &["web"]), T0 + 60)
            .await
            .unwrap();
        assert_eq!(r.suppressed, 1);
        // Suppressed is a state of a present finding, listed under its own status.
        let suppressed = store
            .findings(
                &FindingFilter {
                    status: Some(Status::Suppressed),
                    ..FindingFilter::default()
                },
                T0 + 120,
            )
            .await
            .unwrap();
        assert_eq!(suppressed.len(), 1);
        assert_eq!(
            suppressed[0].suppressed.as_ref().unwrap().reason,
            "migration window"
        );
        // Seen suppressed again: nothing to write.
        let r = store
            .sync("prod", &snapshot(vec![waived], &["web"]), T0 + 180)
            .await
            .unwrap();
        assert!(!r.wrote(), "{r:?}");

        // After the expiry and before any sync, the finding reads as open ...
        assert_eq!(
            status_of(&store, "prod", "web", expires + 10).await,
            Some(Status::Open)
        );
        // ... and the next sync (the engine no longer suppresses it) records the transition at
        // the moment of expiry, not at the sync.
        let r = store
            .sync(
                "prod",
                &snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]),
                expires + 3 * 3_600,
            )
            .await
            .unwrap();
        assert_eq!(r.unsuppressed, 1);
        assert_eq!(
            event_kinds(&store, "prod").await,
            vec![
                (EventKind::Opened, T0),
                (EventKind::Suppressed, T0 + 60),
                (EventKind::Unsuppressed, expires)
            ]
        );
    });
}

#[test]
fn expire_records_expiries_without_a_scan() {
    on_both("expire", |store| async move {
        let mut waived = finding("web", "WL001", Severity::High);
        waived.suppressed = Some(Suppressed {
            by: "kspm.yaml:4".into(),
            reason: "r".into(),
            until: Some(T0 + 100),
        });
        store
            .sync("a", &snapshot(vec![waived], &["web"]), T0)
            .await
            .unwrap();
        assert_eq!(store.expire(T0 + 50).await.unwrap().unsuppressed, 0);
        assert_eq!(store.expire(T0 + 500).await.unwrap().unsuppressed, 1);
        assert_eq!(
            status_of(&store, "a", "web", T0 + 500).await,
            Some(Status::Open)
        );
        assert_eq!(
            event_kinds(&store, "a").await[1],
            (EventKind::Unsuppressed, T0 + 100)
        );
    });
}

/// Everything the store holds, and proof of any write: on SQLite the bytes of the database and
/// its WAL, on PostgreSQL each row's `xmin` (changed by any UPDATE, even to equal values).
async fn fingerprint(store: &Store, url: &StoreUrl) -> (i64, i64, i64, String) {
    let rows = match url {
        StoreUrl::Postgres(u) => {
            let pool = sqlx::PgPool::connect(u).await.unwrap();
            let rows = sqlx::query("SELECT id, CAST(xmin AS TEXT) FROM findings ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
            let mut s = String::new();
            for r in rows {
                s.push_str(&format!(
                    "{}:{};",
                    r.get::<i64, _>(0),
                    r.get::<String, _>(1)
                ));
            }
            let sums: Vec<String> = sqlx::query(
                "SELECT CAST(xmin AS TEXT) FROM daily_summaries ORDER BY cluster, day, severity",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
            pool.close().await;
            format!("{s}|{}", sums.join(","))
        }
        StoreUrl::Sqlite(path) => {
            // Any write, even of equal values, appends pages to the WAL (or, after a
            // checkpoint, changes the database file): both files must be byte for byte the same.
            let bytes = |p: std::path::PathBuf| std::fs::read(p).unwrap_or_default();
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            format!(
                "{:?}|{:?}|{:?}",
                store.findings(&FindingFilter::default(), T0).await.unwrap(),
                bytes(path.clone()),
                bytes(wal.into()),
            )
        }
    };
    (
        store.count(Table::Findings).await.unwrap(),
        store.count(Table::Events).await.unwrap(),
        store.count(Table::DailySummaries).await.unwrap(),
        rows,
    )
}

#[test]
fn an_identical_sync_writes_nothing() {
    let check = |url: StoreUrl| {
        block_on(async {
            let store = Store::open(&url).await.unwrap();
            let mut waived = finding("api", "WL002", Severity::Low);
            waived.suppressed = Some(Suppressed {
                by: "annotation kspm.io/ignore".into(),
                reason: "no reason given".into(),
                until: None,
            });
            let snap = snapshot(
                vec![
                    finding("web", "WL001", Severity::High),
                    finding("db", "WL001", Severity::Critical),
                    waived,
                ],
                &["web", "db", "api", "clean"],
            );
            let first = store.sync("prod", &snap, T0).await.unwrap();
            assert!(first.wrote());
            let before = fingerprint(&store, &url).await;
            assert_eq!((before.0, before.1), (3, 3));
            // Later the same day, twice: nothing written at all.
            for later in [T0 + 60, T0 + 3_600] {
                let r = store.sync("prod", &snap, later).await.unwrap();
                assert!(!r.wrote(), "{r:?}");
                assert_eq!(fingerprint(&store, &url).await, before);
            }
            // A changed message is a change: the row is written, no event.
            let mut changed = snap.clone();
            changed.observations[0].message = "now says something else".into();
            let r = store.sync("prod", &changed, T0 + 7_200).await.unwrap();
            assert_eq!((r.rows_written, r.events_written), (1, 0));
            assert_ne!(fingerprint(&store, &url).await.3, before.3);
        });
    };
    let dir = tempfile::tempdir().unwrap();
    check(StoreUrl::Sqlite(dir.path().join("kspm.db")));
    if let Some(pg) = TestPostgres::shared() {
        check(StoreUrl::parse(&pg.database("identical")).unwrap());
    }
}

#[test]
fn two_clusters_in_one_database_stay_separate() {
    on_both("clusters", |store| async move {
        // The same object name and rule in both clusters: two identities.
        let snap = snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]);
        store.sync("east", &snap, T0).await.unwrap();
        store.sync("west", &snap, T0).await.unwrap();
        // East fixes it; west must not notice.
        store
            .sync("east", &snapshot(vec![], &["web"]), T0 + 60)
            .await
            .unwrap();
        assert_eq!(
            status_of(&store, "east", "web", T0 + 60).await,
            Some(Status::Resolved)
        );
        assert_eq!(
            status_of(&store, "west", "web", T0 + 60).await,
            Some(Status::Open)
        );
        // An empty snapshot of a third cluster resolves nothing elsewhere.
        let r = store
            .sync("north", &snapshot(vec![], &[]), T0 + 60)
            .await
            .unwrap();
        assert_eq!(r.resolved, 0);
        assert_eq!(event_kinds(&store, "west").await.len(), 1);
        assert_eq!(event_kinds(&store, "east").await.len(), 2);
        let west = store.history(Some("west"), Period::Day).await.unwrap();
        assert_eq!(west.rows[0].open.high, 1);
        let east = store.history(Some("east"), Period::Day).await.unwrap();
        assert_eq!((east.rows[0].open.high, east.rows[0].resolved), (0, 1));
    });
}

#[test]
fn live_objects_are_identified_by_uid() {
    on_both("uid", |store| async move {
        let mut a = finding("web", "WL001", Severity::High);
        a.object.uid = Some("1111".into());
        let objects = |uid: &str| -> Snapshot {
            let mut o = finding("web", "WL001", Severity::High);
            o.object.uid = Some(uid.into());
            Snapshot {
                objects: [o.object.key()].into(),
                observations: vec![o],
                complete: true,
                namespaces: None,
                rules: None,
            }
        };
        store.sync("prod", &objects("1111"), T0).await.unwrap();
        // Deleted and recreated under the same name: a new object, a new finding.
        let r = store.sync("prod", &objects("2222"), T0 + 60).await.unwrap();
        assert_eq!((r.opened, r.resolved), (1, 1));
        let all = store
            .findings(&FindingFilter::default(), T0 + 60)
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        let old = all
            .iter()
            .find(|f| f.object.uid.as_deref() == Some("1111"))
            .unwrap();
        assert_eq!(old.resolved_reason, Some(ResolvedReason::Deleted));
    });
}

#[test]
fn a_sync_of_some_namespaces_changes_only_theirs_and_the_summary_counts_all() {
    on_both("namespaces", |store| async move {
        let in_ns = |name: &str, ns: &str, severity| {
            let mut f = finding(name, "WL001", severity);
            f.object.namespace = Some(ns.into());
            f
        };
        let key = |name: &str, ns: &str| {
            let mut o = object(name, None);
            o.namespace = Some(ns.into());
            o.key()
        };
        let mut web = in_ns("web", "shop", Severity::High);
        web.fix = Some(kspm_store::StoredFix::from_json(
            &serde_json::json!({"description": "Drop it.", "patch": []}),
        ));
        web.risk = 40;
        let full = Snapshot {
            observations: vec![
                web.clone(),
                in_ns("db", "shop", Severity::High),
                in_ns("api", "pay", Severity::Critical),
            ],
            objects: [key("web", "shop"), key("db", "shop"), key("api", "pay")].into(),
            complete: true,
            namespaces: None,
            rules: None,
        };
        store.sync("prod", &full, T0).await.unwrap();
        // Only `shop` was judged again: db is fixed, web unchanged; `pay` is not in the
        // snapshot at all and must stay open (not resolve as deleted).
        // Its risk went up (a Service exposes it now): recorded, with no lifecycle event.
        web.risk = 70;
        let shop = Snapshot {
            observations: vec![web],
            objects: [key("web", "shop"), key("db", "shop")].into(),
            complete: true,
            namespaces: Some(["shop".to_owned()].into()),
            rules: None,
        };
        let report = store.sync_confined("prod", &shop, T0 + 60).await.unwrap();
        assert_eq!((report.opened, report.resolved), (0, 1));
        assert_eq!(
            status_of(&store, "prod", "db", T0 + 60).await,
            Some(Status::Resolved)
        );
        assert_eq!(
            status_of(&store, "prod", "api", T0 + 60).await,
            Some(Status::Open)
        );
        assert_eq!(
            status_of(&store, "prod", "web", T0 + 60).await,
            Some(Status::Open)
        );
        let stored = store
            .findings(&FindingFilter::default(), T0 + 60)
            .await
            .unwrap();
        let web = stored.iter().find(|f| f.object.name == "web").unwrap();
        assert_eq!(web.risk, 70);
        assert_eq!(web.fix.as_ref().unwrap().json()["description"], "Drop it.");
        assert_eq!(
            event_kinds(&store, "prod").await.len(),
            4,
            "3 opened, 1 resolved"
        );
        // The day's summary still counts the finding of the namespace not synced.
        let h = store.history(Some("prod"), Period::Day).await.unwrap();
        assert_eq!(h.rows.len(), 1);
        assert_eq!((h.rows[0].open.high, h.rows[0].open.critical), (1, 1));
        assert_eq!((h.rows[0].opened, h.rows[0].resolved), (3, 1));
        // The same scoped snapshot again writes nothing.
        let again = store.sync_confined("prod", &shop, T0 + 120).await.unwrap();
        assert!(!again.wrote(), "{again:?}");
        // `kspm scan --namespace shop` also judges cluster-scoped objects: such a snapshot is
        // not confined, so every stored finding is read (else the cluster-scoped finding,
        // stored already, would look new and be inserted twice).
        let mut role = finding("admin", "RB001", Severity::High);
        role.object.kind = "ClusterRole".into();
        role.object.namespace = None;
        let mut with_role = Snapshot {
            observations: vec![role.clone()],
            objects: [role.object.key()].into(),
            complete: true,
            namespaces: None,
            rules: Some(["RB001".to_owned()].into()),
        };
        store.sync("prod", &with_role, T0 + 180).await.unwrap();
        with_role.namespaces = Some(["shop".to_owned()].into());
        with_role.rules = None;
        let mut observations = vec![role];
        observations.extend(shop.observations.clone());
        with_role.observations = observations;
        with_role.objects.extend(shop.objects.iter().cloned());
        for confined in [false, true] {
            let report = if confined {
                store.sync_confined("prod", &with_role, T0 + 240).await
            } else {
                store.sync("prod", &with_role, T0 + 240).await
            };
            assert!(report.is_ok(), "{report:?}");
        }
        assert_eq!(
            status_of(&store, "prod", "admin", T0 + 240).await,
            Some(Status::Open)
        );
        assert_eq!(
            status_of(&store, "prod", "api", T0 + 240).await,
            Some(Status::Open)
        );
    });
}

#[test]
fn history_counts_by_day_and_week_with_mean_time_to_resolve() {
    on_both("history", |store| async move {
        let day1 = snapshot(
            vec![
                finding("web", "WL001", Severity::High),
                finding("db", "WL001", Severity::High),
                finding("api", "WL009", Severity::Low),
            ],
            &["web", "db", "api"],
        );
        store.sync("prod", &day1, T0).await.unwrap();
        // Same day, later: db fixed after 2 hours.
        let fixed_db = snapshot(
            vec![
                finding("web", "WL001", Severity::High),
                finding("api", "WL009", Severity::Low),
            ],
            &["web", "db", "api"],
        );
        store.sync("prod", &fixed_db, T0 + 7_200).await.unwrap();
        // Next day: web fixed (after 1 day), a critical appears.
        let day2 = snapshot(
            vec![
                finding("api", "WL009", Severity::Low),
                finding("cache", "WL003", Severity::Critical),
            ],
            &["web", "db", "api", "cache"],
        );
        store.sync("prod", &day2, T0 + DAY).await.unwrap();

        let h = store.history(Some("prod"), Period::Day).await.unwrap();
        assert_eq!(h.rows.len(), 2);
        let (d1, d2) = (&h.rows[0], &h.rows[1]);
        assert_eq!(d1.period, "2026-10-05");
        assert_eq!((d1.open.high, d1.open.low, d1.open.critical), (1, 1, 0));
        assert_eq!((d1.opened, d1.resolved), (3, 1));
        assert_eq!(d1.mean_time_to_resolve_seconds, Some(7_200));
        assert_eq!(d2.period, "2026-10-06");
        assert_eq!((d2.open.high, d2.open.low, d2.open.critical), (0, 1, 1));
        assert_eq!((d2.opened, d2.resolved), (1, 1));
        assert_eq!(d2.mean_time_to_resolve_seconds, Some(DAY));
        assert_eq!(
            h.mean_time_to_resolve_seconds,
            Some(i64::midpoint(7_200, DAY))
        );

        // One week (Monday 2026-10-05): end-of-week state, summed flows.
        let w = store.history(None, Period::Week).await.unwrap();
        assert_eq!(w.rows.len(), 1);
        assert_eq!(w.rows[0].period, "2026-10-05");
        assert_eq!(w.rows[0].open.total(), 2);
        assert_eq!((w.rows[0].opened, w.rows[0].resolved), (4, 2));
    });
}

#[test]
fn compaction_keeps_the_retention_window() {
    on_both("compact", |store| async move {
        let store = store.with_retention(Duration::from_hours(30 * 24));
        store
            .sync(
                "prod",
                &snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]),
                T0,
            )
            .await
            .unwrap();
        store
            .sync("prod", &snapshot(vec![], &["web"]), T0 + DAY)
            .await
            .unwrap();
        let later = T0 + 20 * DAY;
        store
            .sync(
                "prod",
                &snapshot(vec![finding("db", "WL001", Severity::High)], &["db"]),
                later,
            )
            .await
            .unwrap();
        // Nothing is older than 30 days yet.
        assert_eq!(store.compact(later).await.unwrap().events, 0);
        // 40 days on: the first two days (events, summaries, the finding resolved then) go.
        let r = store.compact(T0 + 40 * DAY).await.unwrap();
        assert_eq!((r.events, r.summaries, r.findings), (2, 10, 1));
        assert_eq!(store.count(Table::Events).await.unwrap(), 1);
        let left = store
            .findings(&FindingFilter::default(), later)
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].object.name, "db");
    });
}

#[test]
fn since_keeps_what_changed_in_the_window() {
    on_both("since", |store| async move {
        store
            .sync(
                "prod",
                &snapshot(vec![finding("old", "WL001", Severity::High)], &["old"]),
                T0,
            )
            .await
            .unwrap();
        let both = snapshot(
            vec![
                finding("old", "WL001", Severity::High),
                finding("new", "WL001", Severity::High),
            ],
            &["old", "new"],
        );
        store.sync("prod", &both, T0 + 10 * DAY).await.unwrap();
        let recent = store
            .findings(
                &FindingFilter {
                    since: Some(T0 + 9 * DAY),
                    ..FindingFilter::default()
                },
                T0 + 10 * DAY,
            )
            .await
            .unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].object.name, "new");
    });
}

#[test]
fn concurrent_first_starts_migrate_once_on_postgres() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    for round in 0..3 {
        let url = StoreUrl::parse(&pg.database(&format!("race{round}"))).unwrap();
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        block_on(async {
                            let store = Store::open(&url).await?;
                            store.close().await;
                            Ok::<_, StoreError>(())
                        })
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap().expect("concurrent open");
            }
        });
        let StoreUrl::Postgres(u) = &url else {
            unreachable!()
        };
        block_on(async {
            let pool = sqlx::PgPool::connect(u).await.unwrap();
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM kspm_schema_migrations")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(
                n,
                i64::from(u8::try_from(kspm_store::SCHEMA_VERSION).unwrap())
            );
            pool.close().await;
        });
    }
}

#[test]
fn concurrent_syncs_of_one_cluster_take_turns_on_postgres() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let url = StoreUrl::parse(&pg.database("syncrace")).unwrap();
    block_on(Store::open(&url)).unwrap();
    let snap = snapshot(
        (0..50)
            .map(|i| finding(&format!("w{i}"), "WL001", Severity::High))
            .collect(),
        &[],
    );
    let barrier = std::sync::Barrier::new(4);
    let reports: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    block_on(async {
                        let store = Store::open(&url).await.unwrap();
                        barrier.wait();
                        store.sync("prod", &snap, T0).await
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Exactly one of them opened the 50 findings; the others found nothing to do.
    let opened: Vec<usize> = reports
        .into_iter()
        .map(|r| r.expect("concurrent sync").opened)
        .collect();
    assert_eq!(opened.iter().sum::<usize>(), 50, "{opened:?}");
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.count(Table::Findings).await.unwrap(), 50);
        assert_eq!(store.count(Table::Events).await.unwrap(), 50);
    });
}

#[test]
fn reopening_an_existing_store_keeps_its_data_and_migrates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::Sqlite(dir.path().join("kspm.db"));
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        store
            .sync(
                "prod",
                &snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]),
                T0,
            )
            .await
            .unwrap();
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.count(Table::Findings).await.unwrap(), 1);
        // The file is in WAL mode.
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join("kspm.db").display()
        ))
        .await
        .unwrap();
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        pool.close().await;
    });
}

#[test]
fn a_password_in_the_url_never_shows() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    // The test server trusts loopback, so the password is sent and ignored.
    let url = pg
        .database("secret")
        .replacen("kspm@", "kspm:s3cret-pw@", 1);
    block_on(async {
        let store = Store::open(&StoreUrl::parse(&url).unwrap()).await.unwrap();
        let shown = format!("{store:?} {}", store.url());
        assert!(
            shown.contains("kspm:***@") && !shown.contains("s3cret"),
            "{shown}"
        );
    });
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::Sqlite(dir.path().join("kspm.db"));
    block_on(async {
        Store::open(&url).await.unwrap().close().await;
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join("kspm.db").display()
        ))
        .await
        .unwrap();
        sqlx::query("INSERT INTO kspm_schema_migrations VALUES (99, 'future', 0)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let e = Store::open(&url).await.unwrap_err();
        assert!(
            matches!(e, StoreError::SchemaTooNew { found: 99, .. }),
            "{e}"
        );
    });
}

#[test]
fn unreachable_stores_fail_with_one_clear_line() {
    block_on(async {
        // Nothing listens on port 1; the password must not show.
        let url = StoreUrl::parse("postgres://kspm:hunter2@127.0.0.1:1/kspm").unwrap();
        let e = Store::open(&url).await.unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("cannot open the store postgres://kspm:***@127.0.0.1:1/kspm"),
            "{text}"
        );
        assert!(!text.contains("hunter2") && !text.contains('\n'), "{text}");

        // A store's debug form never shows a password either.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreUrl::Sqlite(dir.path().join("k.db")))
            .await
            .unwrap();
        assert!(
            format!("{store:?}").starts_with("Store { url: \"sqlite://"),
            "{store:?}"
        );

        let file = tempfile::NamedTempFile::new().unwrap();
        // A regular file where a directory is needed.
        let url = StoreUrl::Sqlite(file.path().join("kspm.db"));
        let e = Store::open(&url).await.unwrap_err();
        assert!(e.is_unavailable(), "{e}");
    });
}

#[test]
fn free_text_matches_any_field_case_insensitively_on_both() {
    use kspm_store::FindingQuery;
    on_both("freetext", |store| async move {
        let mut a = finding("Web-Frontend", "WL001", Severity::High);
        a.message = "Container `nginx` runs\nas root".into();
        let b = finding("api", "PS004", Severity::Critical);
        store
            .sync("prod", &snapshot(vec![a, b], &["Web-Frontend", "api"]), T0)
            .await
            .unwrap();
        let hits = |text: &str| {
            let store = store.clone();
            let query = FindingQuery {
                text: Some(text.to_owned()),
                limit: 10,
                ..FindingQuery::default()
            };
            async move {
                let page = store.finding_page(&query, T0).await.unwrap();
                let mut names: Vec<String> =
                    page.findings.into_iter().map(|f| f.object.name).collect();
                names.sort();
                assert_eq!(page.total, names.len() as i64);
                names
            }
        };
        assert_eq!(hits("web-front").await, ["Web-Frontend"], "the name");
        assert_eq!(
            hits("DEPLOYMENT").await,
            ["Web-Frontend", "api"],
            "the kind"
        );
        assert_eq!(hits("ps004").await, ["api"], "the rule code");
        assert_eq!(hits("slug-of-wl").await, ["Web-Frontend"], "the slug");
        assert_eq!(hits("NGINX` RUNS").await, ["Web-Frontend"], "the message");
        assert_eq!(hits("securitycontext.priv").await.len(), 2, "the path");
        assert_eq!(hits("shop").await.len(), 2, "the namespace");
        // Fields are matched one by one: text never spans two of them.
        assert!(hits("deploymentshop").await.is_empty());
        assert!(hits("deployment\nshop").await.is_empty());
        assert_eq!(
            hits("runs\nas").await,
            ["Web-Frontend"],
            "a newline inside one field"
        );
        assert!(hits("web_front").await.is_empty(), "`_` is a literal");
        // The filter choices, across the fleet (loose index scans) and within one cluster.
        let mut c = finding("db", "WL001", Severity::Low);
        c.object.namespace = Some("pay".into());
        c.category = "workload".into();
        store
            .sync("dev", &snapshot(vec![c], &[]), T0)
            .await
            .unwrap();
        let all = store.facets(None, 10).await.unwrap();
        assert_eq!(all.clusters, ["dev", "prod"]);
        assert_eq!(all.namespaces, ["pay", "shop"]);
        assert_eq!(all.rules, ["PS004", "WL001"]);
        assert_eq!(all.categories, ["pod-security", "workload"]);
        let one = store.facets(None, 1).await.unwrap();
        assert_eq!(
            (one.clusters, one.rules),
            (vec!["dev".to_owned()], vec!["PS004".to_owned()])
        );
        let dev = store.facets(Some("dev"), 10).await.unwrap();
        assert_eq!(
            (dev.namespaces, dev.rules),
            (vec!["pay".to_owned()], vec!["WL001".to_owned()])
        );
    });
}

#[test]
fn postgres_indexes_the_free_text_and_goes_on_without_pg_trgm_rights() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let index_count = |u: &str| {
        let u = u.to_owned();
        async move {
            let pool = sqlx::PgPool::connect(&u).await.unwrap();
            let n: i64 = sqlx::query(
                "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'findings_search_trgm'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
            pool.close().await;
            n
        }
    };
    // The superuser of the test server may create the extension: the index is there.
    let owner = pg.database("trgm");
    block_on(async {
        Store::open(&StoreUrl::parse(&owner).unwrap())
            .await
            .unwrap();
        assert_eq!(index_count(&owner).await, 1);
    });
    // A user with rights on the schema but not CREATE on the database may not create the
    // extension: the store opens, migrates, and the filter still answers (by a scan).
    let other = pg.database("trgm_refused");
    block_on(async {
        let pool = sqlx::PgPool::connect(&other).await.unwrap();
        for statement in [
            "DO $$ BEGIN CREATE ROLE kspm_limited LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
            "GRANT USAGE, CREATE ON SCHEMA public TO kspm_limited",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let limited = other.replacen("kspm@", "kspm_limited@", 1);
        let store = Store::open(&StoreUrl::parse(&limited).unwrap())
            .await
            .unwrap();
        assert_eq!(index_count(&other).await, 0);
        store
            .sync(
                "prod",
                &snapshot(vec![finding("web", "WL001", Severity::High)], &["web"]),
                T0,
            )
            .await
            .unwrap();
        let page = store
            .finding_page(
                &kspm_store::FindingQuery {
                    text: Some("WEB".into()),
                    limit: 5,
                    ..Default::default()
                },
                T0,
            )
            .await
            .unwrap();
        assert_eq!(page.total, 1);
        store.close().await;
        // Once an owner installs the extension, the next start creates the index.
        let pool = sqlx::PgPool::connect(&other).await.unwrap();
        sqlx::query("CREATE EXTENSION pg_trgm")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        Store::open(&StoreUrl::parse(&limited).unwrap())
            .await
            .unwrap();
        assert_eq!(index_count(&other).await, 1);
    });
}

#[test]
fn heartbeats_and_analyses_are_one_row_each_rewritten_only_when_changed() {
    use kspm_store::{AgentStatus, AnalysisKind};
    on_both("agentrows", |store| async move {
        let ok = AgentStatus {
            version: "0.1.0".into(),
            sync_ok: true,
            objects: 10,
            period_seconds: 600,
            ..AgentStatus::default()
        };
        store.heartbeat("prod", &ok, T0).await.unwrap();
        let failed = AgentStatus {
            sync_ok: false,
            error: Some("x".repeat(5000)),
            unreadable: vec!["pods: forbidden".into()],
            ..ok.clone()
        };
        store.heartbeat("prod", &failed, T0 + 60).await.unwrap();
        let health = store.agent_health().await.unwrap();
        assert_eq!(health.len(), 1);
        let h = &health[0];
        assert_eq!((h.heartbeat_at, h.sync_ok), (T0 + 60, false));
        assert_eq!(
            h.last_success_at,
            Some(T0),
            "a failed sync keeps the last success"
        );
        assert_eq!(h.unreadable, ["pods: forbidden"]);
        assert!(h.error.as_ref().unwrap().chars().count() <= 1001, "bounded");
        // Stale after 3 periods (30 min), never before 15 minutes.
        assert!(!h.stale(T0 + 60 + 1800) && h.stale(T0 + 61 + 1800));
        let mut quick = h.clone();
        quick.period_seconds = 5;
        assert_eq!(quick.stale_after(), 900);

        let doc = serde_json::json!({"paths": [{"start_label": "User eve"}]});
        assert!(
            store
                .put_analysis("prod", AnalysisKind::Rbac, &doc, T0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_analysis("prod", AnalysisKind::Rbac, &doc, T0 + 60)
                .await
                .unwrap()
        );
        let stored = store
            .analysis("prod", AnalysisKind::Rbac)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.document, stored.updated_at),
            (doc, T0),
            "unchanged: not rewritten"
        );
        let other = serde_json::json!({"paths": []});
        assert!(
            store
                .put_analysis("prod", AnalysisKind::Rbac, &other, T0 + 120)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .analysis("prod", AnalysisKind::Rbac)
                .await
                .unwrap()
                .unwrap()
                .updated_at,
            T0 + 120
        );
        assert!(
            store
                .analysis("prod", AnalysisKind::Network)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .analysis("dev", AnalysisKind::Rbac)
                .await
                .unwrap()
                .is_none()
        );
    });
}
