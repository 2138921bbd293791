//! The HTTPS server in-process, over real TLS on loopback: bad and oversized bodies are refused
//! and counted as unjudged, a good review is answered, a dry run is judged.

use std::sync::Arc;

use kspm_admission::tls::CertFiles;
use kspm_admission::{Config, Server};
use kspm_engine::{ObjectJudge, ScanOptions, Selection, select_rules};
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one request on a new TLS connection; returns (status, body).
async fn post(addr: std::net::SocketAddr, ca: &rcgen::Certificate, body: &[u8]) -> (u16, String) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut s = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let head = format!(
        "POST /validate HTTP/1.1\r\nHost: kspm\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before the whole body is sent.
    let _ = s.write_all(body).await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn review(dry_run: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "r1", "operation": "CREATE", "namespace": "team", "dryRun": dry_run,
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}}}
    }))
    .unwrap()
}

#[test]
fn bad_and_oversized_bodies_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).unwrap();
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        CertFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        },
    );
    config.max_body = 64 << 10;
    let judge = ObjectJudge::new(ScanOptions {
        rules: select_rules(&Selection::default()).unwrap(),
        ..ScanOptions::default()
    });
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let server = Server::start(config, judge).await.unwrap();
            let (status, body) = post(server.addr, &cert, &vec![b' '; 200 << 10]).await;
            assert_eq!(status, 413, "{body}");
            let (status, body) = post(server.addr, &cert, b"{not json").await;
            assert_eq!(status, 400, "{body}");
            assert!(body.contains("invalid JSON"), "{body}");
            let (status, body) = post(server.addr, &cert, &review(false)).await;
            assert_eq!(status, 200, "{body}");
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(answer["response"]["uid"], "r1");
            assert_eq!(answer["response"]["allowed"], false);
            let (status, body) = post(server.addr, &cert, &review(true)).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("privileged-container"), "{body}");
            let metrics = server.metrics.render();
            for line in [
                "kspm_admission_unjudged_total{reason=\"too_large\"} 1",
                "kspm_admission_unjudged_total{reason=\"bad_request\"} 1",
                "kspm_admission_requests_total{outcome=\"denied\"} 2",
                "kspm_admission_requests_total{outcome=\"unjudged\"} 2",
                "kspm_admission_dry_run_requests_total 1",
                "kspm_admission_request_duration_seconds_count 4",
            ] {
                assert!(metrics.contains(line), "no `{line}` in\n{metrics}");
            }
            server.stop().await;
        });
}
