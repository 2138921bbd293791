//! Admission latency under load: the real server (TLS, HTTP/1.1, judging with every default
//! rule) on loopback, driven open-loop at a fixed rate over keep-alive connections, as the API
//! server drives a webhook. Each request is timed from its scheduled send time to the end of
//! its answer, so a server that falls behind is charged for the wait (no coordinated omission).
//!
//! `cargo bench -p kspm_admission --bench latency [-- RATE SECONDS]` (default 200/s for 20 s);
//! prints p50, p90, p99 and max. Figures are in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kspm_admission::review::Policy;
use kspm_admission::tls::CertFiles;
use kspm_admission::{Config, Server};
use kspm_engine::{ObjectJudge, ScanOptions, Selection, select_rules};
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 8;

fn reviews() -> Vec<Vec<u8>> {
    let container = |sc: serde_json::Value, image: &str| {
        json!({"name": "app", "image": image, "securityContext": sc,
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
            "ports": [{"containerPort": 8080}]})
    };
    let objects = [
        // Denied: privileged.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "team"},
            "spec": {"containers": [container(json!({"privileged": true}), "nginx:1.27")]}}),
        // Warned: a latest tag.
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team", "labels": {"app": "web"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"automountServiceAccountToken": false, "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container(json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}), "nginx:latest")]}}}}),
        // Admitted (low findings only, audited).
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "team", "labels": {"app": "api"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}},
            "spec": {"automountServiceAccountToken": false, "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container(json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}), "registry.example/api@sha256:0000000000000000000000000000000000000000000000000000000000000000")]}}}}),
    ];
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let body = serde_json::to_vec(&json!({
                "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": format!("bench-{i}"), "operation": "CREATE", "namespace": "team",
                    "userInfo": {"username": "bench"}, "object": o}
            }))
            .unwrap();
            let mut req = format!(
                "POST /validate HTTP/1.1\r\nHost: kspm\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend(body);
            req
        })
        .collect()
}

/// Reads one HTTP/1.1 response with a Content-Length; returns its status code.
async fn read_response<S: tokio::io::AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.expect("read");
                assert!(n > 0, "connection closed");
                buf.extend_from_slice(&chunk[..n]);
            }
            return head[9..12].parse().unwrap_or(0);
        }
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rate: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);

    let dir = std::env::temp_dir().join(format!("kspm-admission-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();

    let rules = select_rules(&Selection::default()).unwrap();
    let count = rules.len();
    let judge = ObjectJudge::new(ScanOptions {
        rules,
        ..ScanOptions::default()
    });
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        CertFiles {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        },
    );
    config.policy = Policy::default();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let requests = Arc::new(reviews());
    let total = rate * seconds;
    let latencies = rt.block_on(async move {
        let server = Server::start(config, judge)
            .await
            .expect("start the server");
        let addr = server.addr;
        let connector = tokio_rustls::TlsConnector::from(client);
        let start = Instant::now() + Duration::from_millis(200);
        let interval = Duration::from_nanos(1_000_000_000 / rate);
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let (connector, requests) = (connector.clone(), requests.clone());
            tasks.push(tokio::spawn(async move {
                let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                tcp.set_nodelay(true).unwrap();
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let mut s = connector.connect(name, tcp).await.unwrap();
                let mut buf = Vec::new();
                let mut out = Vec::new();
                let mut i = c as u64;
                while i < total {
                    let due = start + interval * i as u32;
                    tokio::time::sleep_until(due.into()).await;
                    let req = &requests[(i as usize) % requests.len()];
                    s.write_all(req).await.unwrap();
                    let status = read_response(&mut s, &mut buf).await;
                    assert_eq!(status, 200);
                    out.push(due.elapsed());
                    i += CONNECTIONS as u64;
                }
                out
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let metrics = server.metrics.render();
        server.stop().await;
        assert!(metrics.contains("kspm_admission_requests_total{outcome=\"denied\"}"));
        all
    });
    let _ = std::fs::remove_dir_all(&dir);
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    println!(
        "admission latency, {count} default rules, {rate} requests/s for {seconds} s over {CONNECTIONS} keep-alive TLS connections ({} requests: denied, warned, admitted in turn)",
        ms.len()
    );
    println!(
        "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        at(0.50),
        at(0.90),
        at(0.99),
        ms[ms.len() - 1]
    );
}
