//! `kspm serve` on real stores: PostgreSQL shared by two clusters and an SQLite file, both
//! written by the real store API; the pages driven in headless Chromium; the JSON API checked
//! against docs/serve-api.schema.json; the bearer token and the security headers.

mod support;

use kspm_model::Severity::{High, Medium};
use kspm_serve::CONTENT_SECURITY_POLICY;
use kspm_store::{Store, StoreUrl};
use kspm_testcluster::postgres::TestPostgres;
use serde_json::json;
use support::cdp::{Browser, chromium};
use support::{block_on, check_schema, get, request, seed, seed_hostile, start};

fn sqlite_store(dir: &std::path::Path, clusters: &[&str], hostile: bool) -> StoreUrl {
    let url = StoreUrl::Sqlite(dir.join("kspm.db"));
    let now = kspm_store::time::now();
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        for c in clusters {
            seed(&store, c, now).await;
        }
        // prod has an agent that stored its analyses; the others were recorded by scans.
        if clusters.contains(&"prod") {
            let objects = support::cluster_objects(false);
            support::seed_agent(&store, "prod", &objects, &support::healthy(), now).await;
        }
        if hostile {
            seed_hostile(&store, support::hostile_cluster(), now).await;
            let evil = kspm_store::AgentStatus {
                version: "<script>alert('version')</script>".into(),
                sync_ok: false,
                error: Some("<img src=x onerror=alert('error')>".into()),
                objects: 1,
                unreadable: vec!["<script>alert('kind')</script>: javascript:alert('why')".into()],
                period_seconds: 60,
            };
            let objects = support::cluster_objects(true);
            support::seed_agent(&store, support::hostile_cluster(), &objects, &evil, now).await;
        }
        store.close().await;
    });
    url
}

#[test]
fn postgres_fleet_lists_both_clusters_with_their_counts() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let url = StoreUrl::parse(&pg.database("serve_fleet")).unwrap();
    let now = kspm_store::time::now();
    block_on(async {
        // Two agents' worth of writes into one database, each under its own cluster name.
        let a = Store::open(&url).await.unwrap();
        let b = Store::open(&url).await.unwrap();
        seed(&a, "prod-eu", now).await;
        seed(&b, "staging", now).await;
        // staging fixes its privileged container: one critical fewer.
        let web = support::object("Deployment", "shop", "web");
        let api = support::object("Deployment", "pay", "api");
        let db = support::object("StatefulSet", "pay", "db");
        let obs = |o: &kspm_store::ObjectRef, r: &str, s, sev, p: &str| {
            support::observation(o, r, s, sev, p)
        };
        let snap = kspm_store::Snapshot {
            observations: vec![
                obs(
                    &web,
                    "PS001",
                    "host-pid",
                    High,
                    "spec.template.spec.hostPID",
                ),
                obs(
                    &api,
                    "PS001",
                    "host-pid",
                    High,
                    "spec.template.spec.hostPID",
                ),
                obs(
                    &db,
                    "WL007",
                    "image-latest-tag",
                    Medium,
                    "spec.template.spec.containers[0].image",
                ),
                obs(
                    &api,
                    "WL007",
                    "image-latest-tag",
                    Medium,
                    "spec.template.spec.containers[0].image",
                ),
            ],
            objects: [&web, &api, &db].iter().map(|o| o.key()).collect(),
            complete: true,
            namespaces: None,
            rules: None,
        };
        b.sync("staging", &snap, now + 1).await.unwrap();
        // prod-eu's agent reports; staging's stopped an hour ago after a failed sync, with a
        // kind it could not read.
        support::seed_agent(
            &a,
            "prod-eu",
            &support::cluster_objects(false),
            &support::healthy(),
            now,
        )
        .await;
        let failing = kspm_store::AgentStatus {
            sync_ok: false,
            error: Some("the last store sync failed".into()),
            unreadable: vec!["networkpolicies.networking.k8s.io: forbidden".into()],
            period_seconds: 60,
            ..support::healthy()
        };
        b.heartbeat("staging", &support::healthy(), now - 7200)
            .await
            .unwrap();
        b.heartbeat("staging", &failing, now - 3600).await.unwrap();
        a.close().await;
        b.close().await;
    });
    let addr = start(&url, None);
    let fleet = get(addr, "/api/v1/fleet");
    assert_eq!(fleet.status, 200, "{}", fleet.body);
    let v = fleet.json();
    check_schema("fleet", &v);
    let clusters = v["clusters"].as_array().unwrap();
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["cluster"].as_str().unwrap())
        .collect();
    // Worst first: prod-eu still has its critical finding.
    assert_eq!(names, ["prod-eu", "staging"]);
    assert_eq!(
        clusters[0]["open"],
        json!({"critical": 1, "high": 2, "medium": 2, "low": 0, "info": 0})
    );
    assert_eq!(clusters[0]["suppressed"], 1);
    assert_eq!(
        clusters[1]["open"],
        json!({"critical": 0, "high": 2, "medium": 2, "low": 0, "info": 0})
    );
    let (eu, staging) = (&clusters[0]["agent"], &clusters[1]["agent"]);
    assert_eq!(
        (&eu["stale"], &eu["sync_ok"], &eu["objects"]),
        (&json!(false), &json!(true), &json!(1234))
    );
    // Stale: no report for an hour, more than 15 minutes (3 x 60 s is less).
    assert_eq!(
        (
            &staging["stale"],
            &staging["sync_ok"],
            &staging["stale_after_seconds"]
        ),
        (&json!(true), &json!(false), &json!(900))
    );
    assert_eq!(
        staging["unreadable"],
        json!(["networkpolicies.networking.k8s.io: forbidden"])
    );
    // The failed sync did not move the last success.
    assert!(
        staging["last_success_at"].as_str().unwrap() < staging["heartbeat_at"].as_str().unwrap()
    );
    // Six days of history: five days ago prod-eu had 1 critical, 2 high and 1 medium open
    // (the low one not yet suppressed: 1 low), now 5; no history 7 or 30 days back.
    assert_eq!(clusters[0]["change_7d"], json!(null));
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">prod-eu</a>") && page.body.contains(">staging</a>"));
    let prod = page.body.find(">prod-eu</a>").unwrap();
    let staging = page.body.find(">staging</a>").unwrap();
    assert!(prod < staging, "worst first");

    // Every API endpoint against its schema, on PostgreSQL.
    let cluster = get(addr, "/api/v1/cluster?name=prod-eu").json();
    check_schema("cluster", &cluster);
    assert_eq!(cluster["history"]["rows"].as_array().unwrap().len(), 6);
    assert_eq!(cluster["top_risks"][0]["severity"], "critical");
    let findings = get(
        addr,
        "/api/v1/findings?cluster=staging&status=open&page_size=2",
    )
    .json();
    check_schema("findings", &findings);
    assert_eq!(findings["total"], 4);
    assert_eq!(findings["findings"].as_array().unwrap().len(), 2);
    let key = findings["findings"][0]["object_key"].as_str().unwrap();
    let object = get(
        addr,
        &format!(
            "/api/v1/object?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("cluster", "staging")
                .append_pair("key", key)
                .finish()
        ),
    )
    .json();
    check_schema("object", &object);
    let rule = get(addr, "/api/v1/rule?id=host-pid").json();
    check_schema("rule", &rule);
    let compliance = get(addr, "/api/v1/compliance?cluster=staging&framework=pss").json();
    check_schema("compliance", &compliance);
    assert!(
        compliance["frameworks"][0]["score"]["fail"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let exceptions = get(addr, "/api/v1/exceptions").json();
    check_schema("exceptions", &exceptions);
    // staging's last sync resolved its suppressed finding; prod-eu's stays.
    let excepted = &exceptions["exceptions"][0]["findings"];
    assert_eq!(excepted.as_array().unwrap().len(), 1);
    assert_eq!(excepted[0]["cluster"], "prod-eu");
    assert_eq!(rule["rule"], "PS001");
    assert_eq!(
        rule["clusters"],
        json!([
            {"cluster": "prod-eu", "open": 2, "suppressed": 0, "resolved": 0},
            {"cluster": "staging", "open": 2, "suppressed": 0, "resolved": 0}
        ])
    );
    let rbac = get(addr, "/api/v1/rbac?cluster=prod-eu").json();
    check_schema("rbac", &rbac);
    assert_eq!(
        rbac["paths"][0]["start_label"], "ServiceAccount ci/deployer",
        "{rbac:#}"
    );
    assert_eq!(
        rbac["paths"][0]["holders"],
        json!(["DaemonSet/kube-system/ops-agent"])
    );
    let network = get(addr, "/api/v1/network?cluster=prod-eu").json();
    check_schema("network", &network);
    assert_eq!(network["exposed"][0]["workload"], "Deployment/shop/web");
    // A cluster whose agent stored nothing: empty, not an error.
    let none = get(addr, "/api/v1/network?cluster=staging").json();
    check_schema("network", &none);
    assert_eq!(none["updated_at"], json!(null));
    assert_eq!(get(addr, "/api/v1/rbac").status, 400);
    let error = get(addr, "/api/v1/findings?status=gone");
    assert_eq!(error.status, 400);
    check_schema("error", &error.json());
}

#[test]
fn findings_filter_sort_page_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["a", "b"], false);
    let addr = start(&url, None);
    let all = get(addr, "/api/v1/findings").json();
    // 6 findings per cluster (one of them resolved then reopened, one suppressed).
    assert_eq!(all["total"], 12);
    let high = get(addr, "/api/v1/findings?severity=high&cluster=b").json();
    assert_eq!(high["total"], 2);
    let text = get(addr, "/api/v1/findings?q=STATEFULSET").json();
    assert_eq!(
        text["total"], 4,
        "free text matches the kind, case-insensitively"
    );
    let pct = get(addr, "/api/v1/findings?q=%25").json();
    assert_eq!(pct["total"], 0, "`%` is a literal, not a wildcard");
    let suppressed = get(addr, "/api/v1/findings?status=suppressed").json();
    assert_eq!(suppressed["total"], 2);
    assert_eq!(
        suppressed["findings"][0]["suppressed"]["reason"],
        "requests only, by design"
    );
    let risk = get(addr, "/api/v1/findings?status=open").json();
    let severities: Vec<&str> = risk["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities[..2], ["critical", "critical"]);
    assert_eq!(severities.last(), Some(&"medium"));
    let newest = get(addr, "/api/v1/findings?sort=newest&page_size=1").json();
    assert_eq!(
        newest["findings"][0]["rule"], "PS001",
        "the reopened finding is the newest"
    );
    let page2 = get(addr, "/api/v1/findings?page_size=5&page=3").json();
    assert_eq!(page2["findings"].as_array().unwrap().len(), 2);
    let csv = get(addr, "/findings.csv?cluster=a&severity=medium");
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.body.lines().count(),
        3,
        "header and two rows:\n{}",
        csv.body
    );
    assert!(
        csv.body
            .lines()
            .skip(1)
            .all(|l| l.contains("\"medium\",\"a\""))
    );
    let export = get(addr, "/findings.json?cluster=a").json();
    assert_eq!(export["findings"].as_array().unwrap().len(), 6);
    for bad in [
        "page=0",
        "page_size=100000",
        "sort=sideways",
        "severity=urgent",
    ] {
        let r = get(addr, &format!("/findings?{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body.contains("parameter `"), "{bad}: {}", r.body);
    }
    assert_eq!(get(addr, "/cluster?name=nope").status, 404);
    assert_eq!(get(addr, "/nope").status, 404);
}

#[test]
fn every_response_is_read_only_with_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["a"], true);
    let addr = start(&url, None);
    let targets = [
        "/",
        "/cluster?name=a",
        "/findings",
        "/findings.csv",
        "/findings.json",
        "/object?cluster=a&key=x",
        "/rule?id=PS004",
        "/api/v1/fleet",
        "/api/v1/findings?page=-1",
        "/assets/kspm.css",
        "/nothing-here",
    ];
    for t in targets {
        let r = get(addr, t);
        assert_eq!(
            r.header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY),
            "{t}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{t}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{t}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'"));
    for method in ["POST", "PUT", "DELETE"] {
        let r = request(addr, method, "/findings", &[("Content-Length", "0")]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        assert!(r.header("content-security-policy").is_some());
    }
    let long = format!("/findings?q={}", "a".repeat(9000));
    assert_eq!(get(addr, &long).status, 414);
}

#[test]
fn the_bearer_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["a"], false);
    let token = "s3cret-token-0123456789";
    let addr = start(&url, Some(token));
    for t in ["/", "/api/v1/fleet", "/findings.csv", "/assets/kspm.css"] {
        let none = get(addr, t);
        assert_eq!(none.status, 401, "{t}");
        assert_eq!(
            none.header("www-authenticate"),
            Some("Bearer realm=\"kspm\"")
        );
        assert!(none.header("content-security-policy").is_some());
        assert!(!none.body.contains("prod") && !none.body.contains("critical"));
        let wrong = request(
            addr,
            "GET",
            t,
            &[("Authorization", "Bearer s3cret-token-012345678")],
        );
        assert_eq!(wrong.status, 401, "{t}");
        let basic = request(
            addr,
            "GET",
            t,
            &[("Authorization", &format!("Basic {token}"))],
        );
        assert_eq!(basic.status, 401, "{t}");
        let right = request(
            addr,
            "GET",
            t,
            &[("Authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(right.status, 200, "{t}");
    }
    assert_eq!(get(addr, "/healthz").status, 200, "health needs no token");
}

#[test]
fn read_only_open_refuses_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = StoreUrl::Sqlite(dir.path().join("none.db"));
    let err = block_on(Store::open_read_only(&missing)).unwrap_err();
    assert!(err.to_string().contains("no such file"), "{err}");
    assert!(!dir.path().join("none.db").exists(), "nothing was created");
}

/// Compliance judged from the store's open findings, and exceptions grouped with their expiry,
/// on SQLite; both against the schema.
#[test]
fn compliance_and_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["prod"], false);
    block_on(async {
        let store = Store::open(&url).await.unwrap();
        support::seed_exceptions(&store, "ops", kspm_store::time::now()).await;
        store.close().await;
    });
    let addr = start(&url, None);

    let all = get(addr, "/api/v1/compliance?cluster=prod").json();
    check_schema("compliance", &all);
    assert_eq!(all["frameworks"].as_array().unwrap().len(), 10);
    let control = |v: &serde_json::Value, id: &str| -> serde_json::Value {
        v["frameworks"][0]["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no control {id}"))
            .clone()
    };
    let cis = get(addr, "/api/v1/compliance?cluster=prod&framework=cis").json();
    check_schema("compliance", &cis);
    assert_eq!(cis["frameworks"].as_array().unwrap().len(), 1);
    // prod: PS004 open once (privileged), PS001 twice (hostPID).
    assert_eq!(
        control(&cis, "5.2.2")["failing"],
        json!([{"rule": "PS004", "open": 1}])
    );
    assert_eq!(control(&cis, "5.2.2")["status"], "fail");
    assert_eq!(
        control(&cis, "5.2.3")["failing"],
        json!([{"rule": "PS001", "open": 2}])
    );
    let manual = cis["frameworks"][0]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "manual")
        .expect("CIS has manual controls");
    assert!(manual["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let score = &cis["frameworks"][0]["score"];
    let counted = ["pass", "fail", "manual", "not_applicable"]
        .iter()
        .map(|k| score[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(
        counted,
        cis["frameworks"][0]["controls"].as_array().unwrap().len() as u64
    );
    assert!(score["fail"].as_u64().unwrap() >= 2);
    // A suppressed finding never fails a control: WL003 is suppressed in prod.
    let nsa = get(addr, "/api/v1/compliance?cluster=prod&framework=nsa").json();
    let resources = control(&nsa, "resource-policies");
    assert_eq!(resources["suppressed"], 1, "{resources}");
    assert_eq!(resources["status"], "pass", "{resources}");
    // The same PS004 finding is suppressed (not expired) or open again (expired) in ops.
    let ops = get(addr, "/api/v1/compliance?cluster=ops&framework=pss").json();
    let privileged = control(&ops, "baseline:privileged");
    assert_eq!(privileged["failing"], json!([{"rule": "PS004", "open": 1}]));
    assert_eq!(privileged["suppressed"], 2);
    let bad = get(addr, "/api/v1/compliance?cluster=prod&framework=nope");
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("unknown framework `nope`"),
        "{}",
        bad.body
    );
    check_schema("error", &bad.json());
    assert_eq!(get(addr, "/api/v1/compliance?cluster=nope").status, 404);
    assert_eq!(get(addr, "/api/v1/compliance").status, 400);

    // The findings page's control filter: the control's rules' findings only.
    let by_control = get(
        addr,
        "/api/v1/findings?cluster=prod&control=cis:5.2.3&status=open",
    )
    .json();
    check_schema("findings", &by_control);
    assert_eq!(by_control["total"], 2);
    assert_eq!(by_control["filters"]["control"], "cis:5.2.3");
    assert!(
        by_control["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] == "PS001")
    );
    let privileged = get(
        addr,
        "/api/v1/findings?cluster=ops&control=pss:baseline:privileged&status=open",
    )
    .json();
    assert_eq!(privileged["total"], 1, "the expired exception's finding");
    for (bad, says) in [
        ("cis", "is not FRAMEWORK:CONTROL"),
        ("nope:1", "unknown framework `nope`"),
        ("cis:9.9.9", "cis has no control `9.9.9`"),
    ] {
        let r = get(addr, &format!("/api/v1/findings?control={bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body.contains(says), "{bad}: {}", r.body);
    }
    let page = get(addr, "/compliance?cluster=prod&framework=cis");
    assert!(
        page.body.contains(
            "href=\"/findings?cluster=prod&amp;control=cis%3A5.2.3&amp;status=open\">2 open</a>"
        ),
        "{}",
        page.body
    );
    let filtered = get(addr, "/findings?cluster=prod&control=cis:5.2.3&status=open");
    assert!(
        filtered
            .body
            .contains("<input type=\"hidden\" name=\"control\" value=\"cis:5.2.3\">"),
        "the form keeps the filter"
    );

    let ex = get(addr, "/api/v1/exceptions").json();
    check_schema("exceptions", &ex);
    let order: Vec<(&str, &str)> = ex["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["suppressed_by"].as_str().unwrap(),
                e["expiry"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("soon", "expiring"),
            ("expired", "expired"),
            ("later", "active"),
            ("kspm.yaml", "no-expiry")
        ]
    );
    assert_eq!(ex["exceptions"][3]["reason"], "requests only, by design");
    assert_eq!(ex["exceptions"][3]["findings"][0]["rule"], "WL003");
    assert_eq!(
        ex["exceptions"][0]["findings"][0]["object"]["name"],
        "agent"
    );
    let page = get(addr, "/exceptions");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("exception-expired"));
}

/// Every page in a real browser: no console error, no failed request; the links from the fleet
/// to a cluster, its findings, an object and a rule resolve; filters change the list and the
/// URL; back and forward keep the state; the trend chart has a point per day; the keyboard
/// reaches the filters.
#[test]
fn pages_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["prod", "dev"], false);
    let addr = start(&url, None);
    let base = format!("http://{addr}");
    let mut b = Browser::launch(&browser);

    b.navigate(&format!("{base}/"));
    assert_eq!(b.problems(), Vec::<String>::new(), "fleet");
    assert_eq!(
        b.eval("document.querySelectorAll('#fleet tbody tr').length"),
        2
    );
    // The stylesheet applied (a CSP or load failure would leave the header unstyled).
    assert_eq!(
        b.eval("getComputedStyle(document.querySelector('header.top')).backgroundColor"),
        "rgb(23, 32, 46)"
    );

    b.click("#fleet a[href^='/cluster']");
    assert_eq!(b.problems(), Vec::<String>::new(), "cluster");
    assert_eq!(
        b.eval("document.querySelectorAll('#trend-open circle.pt').length"),
        6,
        "one point per day"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#trend-flow rect.bar').length"),
        12
    );

    b.click("a[href^='/findings?cluster='][href*='status=open']");
    assert_eq!(
        b.problems(),
        Vec::<String>::new(),
        "findings of the cluster"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#findings tr.finding').length"),
        5
    );

    let object = b.click("#findings a[href^='/object']");
    assert_eq!(b.problems(), Vec::<String>::new(), "object {object}");
    assert!(
        b.eval("document.querySelector('pre.command').textContent")
            .as_str()
            .unwrap()
            .starts_with("kspm fix ")
    );
    assert!(
        b.eval("document.querySelectorAll('ul.events li').length")
            .as_u64()
            .unwrap()
            >= 1
    );

    let rule = b.click("section.finding h2 a[href^='/rule']");
    assert_eq!(b.problems(), Vec::<String>::new(), "rule {rule}");
    assert!(
        b.eval("document.querySelector('.doc h1').textContent")
            .as_str()
            .unwrap()
            .starts_with("PS004")
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#rule-clusters tbody tr').length"),
        2
    );

    // The cluster's compliance: every framework, one framework's controls, a failing
    // control's findings.
    b.navigate(&format!("{base}/cluster?name=prod"));
    let compliance = b.click("a[href^='/compliance?cluster=']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{compliance}");
    assert_eq!(
        b.eval("document.querySelectorAll('#frameworks tbody tr').length"),
        10
    );
    let cis = b.click("#frameworks a[href*='framework=cis']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{cis}");
    assert!(
        b.eval("document.querySelectorAll('#controls tbody tr').length")
            .as_u64()
            .unwrap()
            > 50
    );
    assert!(
        b.eval("document.querySelectorAll('#controls .status-fail').length")
            .as_u64()
            .unwrap()
            >= 2
    );
    let evidence = b.click("#controls a[href^='/findings?cluster=prod&rule=PS004']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{evidence}");
    assert_eq!(
        b.eval("document.querySelectorAll('#findings tr.finding').length"),
        1
    );

    b.navigate(&format!("{base}/compliance?cluster=prod&framework=cis"));
    let by_control = b.click("#controls a[href*='control=cis%3A5.2.3']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{by_control}");
    assert_eq!(
        b.eval("document.querySelectorAll('#findings tr.finding').length"),
        2
    );
    assert_eq!(
        b.eval("document.getElementById('f-control').textContent"),
        "cis:5.2.3"
    );

    // The cluster's RBAC paths (a graph and the list) and exposed workloads, from its overview.
    b.navigate(&format!("{base}/cluster?name=prod"));
    assert_eq!(
        b.eval("document.querySelector('.agent-health .agent').textContent"),
        "healthy"
    );
    let rbac = b.click("a[href^='/rbac?cluster=']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{rbac}");
    // ci/deployer → kube-system/ops → cluster-admin: three nodes, two hops, one path.
    assert_eq!(
        b.eval("document.querySelectorAll('#rbac-graph g.node').length"),
        3
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#rbac-graph line.hop').length"),
        2
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#paths li.path').length"),
        1
    );
    let network = b.click("a[href^='/network?cluster=']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{network}");
    assert_eq!(
        b.eval("document.querySelectorAll('#exposed tr.exposed').length"),
        1
    );
    let exposed = b.click("#exposed a[href^='/findings']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{exposed}");
    // dev was recorded by scans: no agent, no analyses, and the pages say so.
    b.navigate(&format!("{base}/rbac?cluster=dev"));
    assert_eq!(b.problems(), Vec::<String>::new(), "rbac without analysis");
    assert_eq!(
        b.eval("document.querySelectorAll('#no-analysis').length"),
        1
    );
    b.navigate(&format!("{base}/"));
    assert_eq!(
        b.eval("[...document.querySelectorAll('#fleet tbody tr')].map(r => r.cells[0].textContent + '=' + r.querySelector('td.agent-health').textContent.split(' ')[0]).sort().join(',')"),
        "dev=no,prod=healthy"
    );

    // Exceptions, from the header: both clusters' findings under the one exception.
    let exceptions = b.click("header a[href='/exceptions']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{exceptions}");
    assert_eq!(
        b.eval("document.querySelectorAll('#exceptions tr.exception').length"),
        1
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#exceptions li').length"),
        2
    );
    let waived = b.click("#exceptions a[href^='/object']");
    assert_eq!(b.problems(), Vec::<String>::new(), "{waived}");

    // Filters: change the list and the URL; back and forward keep both.
    b.navigate(&format!("{base}/findings"));
    assert_eq!(b.problems(), Vec::<String>::new(), "findings");
    let rows = "document.querySelectorAll('#findings tr.finding').length";
    assert_eq!(b.eval(rows), 12);
    b.eval("document.getElementById('f-severity').value = 'high'; document.getElementById('f-cluster').value = 'dev'; document.getElementById('filters').requestSubmit(); true");
    b.wait_for("location.search.includes('severity=high')");
    assert_eq!(b.problems(), Vec::<String>::new(), "filtered");
    assert!(
        b.eval("location.search")
            .as_str()
            .unwrap()
            .contains("cluster=dev")
    );
    assert_eq!(b.eval(rows), 2);
    assert_eq!(
        b.eval("document.getElementById('f-severity').value"),
        "high",
        "the form shows the filter"
    );
    b.eval("history.back(); true");
    b.wait_for("!location.search.includes('severity')");
    assert_eq!(b.eval(rows), 12);
    b.eval("history.forward(); true");
    b.wait_for("location.search.includes('severity=high')");
    assert_eq!(b.eval(rows), 2);
    assert_eq!(b.problems(), Vec::<String>::new(), "history");

    // Free text and sort through the form too.
    b.eval("document.getElementById('f-q').value = 'db'; document.getElementById('f-severity').value = ''; document.getElementById('filters').requestSubmit(); true");
    b.wait_for("location.search.includes('q=db')");
    // dev's findings on db: the open medium one and the suppressed low one.
    assert_eq!(b.eval(rows), 2);
    assert!(
        b.eval("location.search")
            .as_str()
            .unwrap()
            .contains("cluster=dev"),
        "the other filters stay"
    );

    // The keyboard reaches the filters: four header links, then the first filter.
    b.navigate(&format!("{base}/findings"));
    for _ in 0..5 {
        for kind in ["keyDown", "keyUp"] {
            b.call(
                "Input.dispatchKeyEvent",
                &json!({"type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9}),
            );
        }
    }
    assert_eq!(b.eval("document.activeElement.id"), "f-cluster");
    assert_eq!(b.problems(), Vec::<String>::new(), "keyboard");
}

/// Script planted in every stored text (cluster, object, namespace, message, value, path,
/// location, rule, category, exception) is shown as text on every page and never runs.
#[test]
fn planted_script_never_runs() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &[], true);
    let addr = start(&url, None);
    let base = format!("http://{addr}");
    let evil = support::hostile_cluster();
    let findings = get(addr, "/api/v1/findings").json();
    let key = findings["findings"][0]["object_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = |pairs: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let pages = [
        "/".to_owned(),
        format!("/cluster?{}", q(&[("name", evil)])),
        "/findings".to_owned(),
        format!("/findings?{}", q(&[("cluster", evil), ("q", "<script>")])),
        format!("/object?{}", q(&[("cluster", evil), ("key", &key)])),
        format!(
            "/rule?{}",
            q(&[("id", "<b onmouseover=alert('rule')>X1</b>")])
        ),
        format!("/compliance?{}", q(&[("cluster", evil)])),
        format!(
            "/compliance?{}",
            q(&[("cluster", evil), ("framework", "pss")])
        ),
        format!(
            "/compliance?{}",
            q(&[
                ("cluster", evil),
                ("framework", "<script>alert(1)</script>")
            ])
        ),
        "/exceptions".to_owned(),
        format!("/rbac?{}", q(&[("cluster", evil)])),
        format!("/network?{}", q(&[("cluster", evil)])),
        format!("/nothing?{}", q(&[("x", "<script>alert(1)</script>")])),
    ];
    let mut b = Browser::launch(&browser);
    for page in &pages {
        let reply = get(addr, page);
        assert_eq!(
            reply.header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY),
            "{page}"
        );
        assert!(
            !reply.body.contains("<script"),
            "{page} has a script element:\n{}",
            reply.body
        );
        assert!(
            !reply.body.contains("<img")
                && !reply.body.contains("<iframe")
                && !reply.body.contains("<svg onload"),
            "{page}"
        );
        b.navigate(&format!("{base}{page}"));
        let problems: Vec<String> = b
            .problems()
            .into_iter()
            .filter(|p| {
                !(page.starts_with("/nothing") && p.contains("404")
                    || page.contains("framework=%3Cscript") && p.contains("400"))
            })
            .collect();
        assert_eq!(problems, Vec::<String>::new(), "{page}");
        assert_eq!(
            b.eval("document.querySelectorAll('script, iframe, img, object, embed').length"),
            0,
            "{page}"
        );
        assert_eq!(
            b.eval("[...document.querySelectorAll('[href], [src], [action]')].filter(e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))).length"),
            0,
            "{page}"
        );
        assert_eq!(
            b.eval("[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length"),
            0,
            "{page}: an event-handler attribute"
        );
    }
    // The texts are there, as text.
    b.navigate(&format!(
        "{base}/object?{}",
        q(&[("cluster", evil), ("key", &key)])
    ));
    let text = b.eval("document.body.textContent");
    let text = text.as_str().unwrap();
    assert!(text.contains("<script>alert('name')</script>"), "{text}");
    assert!(text.contains("<script>alert('message')</script>"));
    assert!(text.contains("javascript:alert('value')"));
    assert!(text.contains("<iframe src=javascript:alert('reason')>"));
    b.navigate(&format!("{base}/exceptions"));
    let text = b.eval("document.body.textContent");
    let text = text.as_str().unwrap();
    assert!(text.contains("<script>alert('by')</script>"), "{text}");
    assert!(text.contains("<iframe src=javascript:alert('reason')>"));
    assert!(text.contains("<script>alert('name')</script>"));
    b.navigate(&format!("{base}/"));
    let text = b.eval("document.body.textContent");
    let text = text.as_str().unwrap();
    assert!(text.contains("<script>alert('version')</script>"), "{text}");
    assert!(text.contains("<img src=x onerror=alert('error')>"));
    assert!(text.contains("<script>alert('kind')</script>: javascript:alert('why')"));
    b.navigate(&format!("{base}/rbac?{}", q(&[("cluster", evil)])));
    let text = b.eval("document.body.textContent");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("ServiceAccount ci/<script>alert('sa')</script>"),
        "{text}"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#rbac-graph g.node').length"),
        3
    );
    b.navigate(&format!("{base}/network?{}", q(&[("cluster", evil)])));
    let text = b.eval("document.body.textContent");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Deployment/<img src=x onerror=alert('ns')>/javascript:alert('web')"),
        "{text}"
    );
}

#[test]
fn tls_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_store(dir.path(), &["a"], false);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let addr = support::start_with(
        &url,
        None,
        Some(kspm_serve::TlsFiles {
            cert: fixtures.join("tls.crt"),
            key: fixtures.join("tls.key"),
        }),
    );
    let r = support::get_tls(addr, &fixtures.join("tls.crt"), "/api/v1/fleet").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["clusters"][0]["cluster"], "a");
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(
        r.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    // Plain HTTP on the TLS port gets no page.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut buf);
    assert!(
        !String::from_utf8_lossy(&buf).contains("kspm"),
        "plain HTTP was served"
    );
    // A missing key file is an error that names it.
    let err = support::block_on(kspm_serve::Server::bind(
        support::block_on(Store::open_read_only(&url)).unwrap(),
        &kspm_serve::ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            token: None,
            tls: Some(kspm_serve::TlsFiles {
                cert: fixtures.join("tls.crt"),
                key: fixtures.join("missing.key"),
            }),
        },
    ))
    .err()
    .expect("refused");
    assert!(err.to_string().contains("missing.key"), "{err}");
}
