//! A list whose continue token expires mid-way (410 Gone) starts over and still judges every
//! object exactly once, on a real kube-apiserver that compacts its etcd history every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kspm_cluster::Target;
use kspm_engine::{ScanOptions, Selection, select_rules};
use kspm_testcluster::TestCluster;

#[test]
fn an_expired_continue_token_restarts_the_list() {
    let Some(c) = TestCluster::owned(&["--compaction-interval", "1s"]) else {
        return;
    };
    let mut yaml = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: paged}\n");
    for i in 0..30 {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}, namespace: paged}}\ndata: {{n: \"{i}\"}}\n"
        ));
    }
    c.apply(&yaml);

    // Writes keep the etcd revision moving, so each compaction removes the revision the first
    // page was read at.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let kubeconfig = c.kubeconfig.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let _ = std::process::Command::new(kspm_testcluster::testbin().join("kubectl"))
                    .env("KUBECONFIG", &kubeconfig)
                    .args([
                        "-n",
                        "default",
                        "create",
                        "configmap",
                        &format!("churn-{n}"),
                    ])
                    .output();
                n += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let opts = ScanOptions {
        rules: select_rules(&Selection::default()).unwrap(),
        ..ScanOptions::default()
    };
    // Compaction runs on the server's clock: on a loaded machine one pause may not be enough,
    // so pause longer until the token has expired (each scan must be right either way).
    let mut outcome = None;
    for pause in [5, 10, 20] {
        let target = Target {
            kubeconfig: Some(c.kubeconfig.clone()),
            namespaces: vec!["paged".to_owned()],
            page_size: 7,
            stall_after_first_page: Some(Duration::from_secs(pause)),
            ..Target::default()
        };
        let (result, stats) = kspm_cluster::scan(&target, &opts).unwrap();
        check_every_configmap_once(&result);
        let restarted = stats.restarts >= 1;
        outcome = Some((result, stats));
        if restarted {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (result, stats) = outcome.unwrap();

    assert!(
        stats.restarts >= 1,
        "the continue token should have expired: {stats:?}"
    );
    assert!(!result.partial, "{:?}", result.diagnostics);
}

fn check_every_configmap_once(result: &kspm_engine::ScanResult) {
    assert!(!result.partial, "{:?}", result.diagnostics);
    let mut names: Vec<&str> = result
        .scanned
        .iter()
        .filter(|s| s.id.kind == "ConfigMap")
        .map(|s| s.id.name.as_str())
        .collect();
    names.sort_unstable();
    let want: Vec<String> = (0..30).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(names, want, "every ConfigMap judged exactly once");
}
