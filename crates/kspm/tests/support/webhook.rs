//! The real `kspm admission` binary serving on loopback with a CA and serving pair made here,
//! registered with the test cluster's real kube-apiserver as a ValidatingWebhookConfiguration.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kspm_testcluster::{TestCluster, testbin};

/// The label that puts a namespace under the test webhook.
pub const LABEL: &str = "kspm-admission-test";

/// A CA and a serving certificate for 127.0.0.1, written into `dir`.
pub struct Certs {
    pub ca_pem: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn certs(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "kspm admission test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "kspm-admission");
    let leaf = leaf.signed_by(&key, &ca).unwrap();
    let (cert, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Certs {
        ca_pem: ca.pem(),
        cert,
        key: key_path,
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `kspm admission`; killed when dropped.
pub struct Webhook {
    pub child: Child,
    pub port: u16,
    pub metrics_port: u16,
    /// Its standard output: one JSON line per audited decision.
    pub log: PathBuf,
}

impl Webhook {
    pub fn start(dir: &Path, certs: &Certs, extra: &[&str]) -> Webhook {
        let (port, metrics_port) = (free_port(), free_port());
        let log = dir.join(format!("webhook-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_kspm"))
            .arg("admission")
            .arg("--cert")
            .arg(&certs.cert)
            .arg("--key")
            .arg(&certs.key)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args(extra)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kspm admission");
        let hook = Webhook {
            child,
            port,
            metrics_port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while hook.get("/readyz").is_none_or(|r| !r.contains("ready")) {
            assert!(Instant::now() < deadline, "kspm admission did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        hook
    }

    /// A plain HTTP GET on the metrics port.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// One metric's value (first series whose line starts with `series`).
    pub fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").expect("metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Registers (or re-points) the webhook `name` at `https://127.0.0.1:port/validate` for Pods and
/// Deployments in namespaces labelled [`LABEL`], failing open (`Ignore`).
pub fn register(cluster: &TestCluster, name: &str, port: u16, ca_pem: &str) {
    let yaml = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {name}
webhooks:
  - name: {name}.kspm.io
    admissionReviewVersions: [v1]
    sideEffects: NoneOnDryRun
    failurePolicy: Ignore
    timeoutSeconds: 5
    clientConfig:
      url: https://127.0.0.1:{port}/validate
      caBundle: {ca}
    namespaceSelector:
      matchLabels: {{{LABEL}: "on"}}
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods]
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
"#,
        ca = base64(ca_pem.as_bytes())
    );
    cluster.apply(&yaml);
}

/// kubectl as the admin, not asserting success.
pub fn kubectl(cluster: &TestCluster, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(testbin().join("kubectl"))
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// A namespace under the webhook.
pub fn namespace(cluster: &TestCluster, name: &str) {
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{LABEL}: \"on\"}}}}\n"
    ));
}

/// The API server's own count of calls to `webhook` that failed open.
pub fn fail_open_count(cluster: &TestCluster, webhook: &str) -> f64 {
    let out = kubectl(cluster, &["get", "--raw", "/metrics"], None);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.starts_with("apiserver_admission_webhook_fail_open_count")
                && l.contains(&format!("name=\"{webhook}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
