//! What the dashboard tests share: data written by the real store API, the server run
//! in-process on a free loopback port, a plain HTTP client, and headless Chromium driven over
//! the DevTools protocol.

#![allow(dead_code)]

pub mod cdp;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use kspm_model::Severity;
use kspm_serve::{ServeOptions, Server, Token};
use kspm_store::{AgentStatus, ObjectRef, Observation, Snapshot, Store, StoreUrl, Suppressed};

pub const DAY: i64 = 86_400;

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub fn object(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
        uid: None,
    }
}

pub fn observation(
    o: &ObjectRef,
    rule: &str,
    slug: &str,
    severity: Severity,
    path: &str,
) -> Observation {
    Observation {
        rule: rule.into(),
        slug: slug.into(),
        severity,
        category: "pod-security".into(),
        object: o.clone(),
        path: path.into(),
        location: format!("deploy/{}.yaml:12", o.name),
        message: format!("{slug} on {}", o.name),
        value: Some("true".into()),
        suppressed: None,
        // A privileged container's fix, as the engine stores it (the pages show it; its
        // description carries markup the pages must escape).
        fix: (rule == "PS004").then(|| {
            kspm_store::StoredFix::from_json(&serde_json::json!({
                "description": "Set privileged to false. <script>alert('fix')</script>",
                "patch": [{"op": "replace", "path": "/spec/template/spec/containers/0/securityContext/privileged", "value": false}],
            }))
        }),
        risk: if rule == "PS004" { 65 } else { 0 },
    }
}

fn snapshot(observations: Vec<Observation>, objects: &[&ObjectRef]) -> Snapshot {
    Snapshot {
        observations,
        objects: objects.iter().map(|o| o.key()).collect(),
        complete: true,
        namespaces: None,
        rules: None,
    }
}

/// Six days of one cluster's history written with [`Store::sync`], ending at `now`. At the end:
/// open 1 critical, 2 high, 2 medium; 1 low suppressed; one finding resolved then reopened.
pub async fn seed(store: &Store, cluster: &str, now: i64) {
    let web = object("Deployment", "shop", "web");
    let api = object("Deployment", "pay", "api");
    let db = object("StatefulSet", "pay", "db");
    let priv_web = observation(
        &web,
        "PS004",
        "privileged-container",
        Severity::Critical,
        "spec.template.spec.containers[0].securityContext.privileged",
    );
    let pid_web = observation(
        &web,
        "PS001",
        "host-pid",
        Severity::High,
        "spec.template.spec.hostPID",
    );
    let pid_api = observation(
        &api,
        "PS001",
        "host-pid",
        Severity::High,
        "spec.template.spec.hostPID",
    );
    let latest_db = observation(
        &db,
        "WL007",
        "image-latest-tag",
        Severity::Medium,
        "spec.template.spec.containers[0].image",
    );
    let latest_api = observation(
        &api,
        "WL007",
        "image-latest-tag",
        Severity::Medium,
        "spec.template.spec.containers[0].image",
    );
    let mut cpu_db = observation(
        &db,
        "WL003",
        "missing-cpu-limit",
        Severity::Low,
        "spec.template.spec.containers[0].resources",
    );
    let objects = [&web, &api, &db];
    let day = |n: i64| now - n * DAY;
    let sync = |obs: Vec<Observation>, at: i64| {
        let snap = snapshot(obs, &objects);
        async move { store.sync(cluster, &snap, at).await.expect("sync") }
    };
    sync(
        vec![
            priv_web.clone(),
            pid_web.clone(),
            pid_api.clone(),
            latest_db.clone(),
            cpu_db.clone(),
        ],
        day(5),
    )
    .await;
    sync(
        vec![
            priv_web.clone(),
            pid_web.clone(),
            pid_api.clone(),
            latest_db.clone(),
            cpu_db.clone(),
        ],
        day(4),
    )
    .await;
    // web's hostPID fixed; api gets a latest tag.
    sync(
        vec![
            priv_web.clone(),
            pid_api.clone(),
            latest_db.clone(),
            latest_api.clone(),
            cpu_db.clone(),
        ],
        day(3),
    )
    .await;
    sync(
        vec![
            priv_web.clone(),
            pid_api.clone(),
            latest_db.clone(),
            latest_api.clone(),
            cpu_db.clone(),
        ],
        day(2),
    )
    .await;
    cpu_db.suppressed = Some(Suppressed {
        by: "kspm.yaml".into(),
        reason: "requests only, by design".into(),
        until: None,
    });
    sync(
        vec![
            priv_web.clone(),
            pid_api.clone(),
            latest_db.clone(),
            latest_api.clone(),
            cpu_db.clone(),
        ],
        day(1),
    )
    .await;
    // web's hostPID is back.
    sync(
        vec![priv_web, pid_web, pid_api, latest_db, latest_api, cpu_db],
        now,
    )
    .await;
}

/// A cluster with three exceptions recorded two days ago: one expiring in 3 days, one that
/// expired yesterday, one expiring in 60 days; and one open finding.
pub async fn seed_exceptions(store: &Store, cluster: &str, now: i64) {
    let a = object("Deployment", "ops", "agent");
    let b = object("Deployment", "ops", "backup");
    let c = object("Deployment", "ops", "cron");
    let waived = |o: &ObjectRef, by: &str, until: i64| {
        let mut x = observation(
            o,
            "PS004",
            "privileged-container",
            Severity::Critical,
            "spec.template.spec.containers[0].securityContext.privileged",
        );
        x.suppressed = Some(Suppressed {
            by: by.into(),
            reason: format!("{by} needs it"),
            until: Some(until),
        });
        x
    };
    let obs = vec![
        waived(&a, "soon", now + 3 * DAY),
        waived(&b, "expired", now - DAY),
        waived(&c, "later", now + 60 * DAY),
        observation(
            &c,
            "PS001",
            "host-pid",
            Severity::High,
            "spec.template.spec.hostPID",
        ),
    ];
    store
        .sync(cluster, &snapshot(obs, &[&a, &b, &c]), now - 2 * DAY)
        .await
        .expect("sync");
}

/// A cluster whose every name, message, value, path, location and exception reason is an
/// attempt at script injection.
pub async fn seed_hostile(store: &Store, cluster: &str, now: i64) {
    let evil = ObjectRef {
        api_version: "v1\"><script>alert('api')</script>".into(),
        kind: "Pod".into(),
        namespace: Some("javascript:alert('ns')".into()),
        name: "\"><script>alert('name')</script><img src=x onerror=alert('img')>".into(),
        uid: None,
    };
    let mut o = observation(
        &evil,
        "PS004",
        "privileged-container",
        Severity::Critical,
        "spec.containers[0]<svg onload=alert('path')>",
    );
    o.message =
        "<script>alert('message')</script><a href=\"javascript:alert('href')\">click</a>".into();
    o.value = Some("javascript:alert('value')".into());
    o.location = "javascript:alert('location')".into();
    let mut o2 = observation(
        &evil,
        "<b onmouseover=alert('rule')>X1</b>",
        "javascript:alert('slug')",
        Severity::Low,
        "spec",
    );
    o2.category = "<script>alert('category')</script>".into();
    o2.suppressed = Some(Suppressed {
        by: "<script>alert('by')</script>".into(),
        reason: "<iframe src=javascript:alert('reason')>".into(),
        until: None,
    });
    let snap = snapshot(vec![o, o2], &[&evil]);
    store.sync(cluster, &snap, now - DAY).await.expect("sync");
    store.sync(cluster, &snap, now).await.expect("sync");
}

/// A cluster's RBAC objects and workloads, in YAML: `ci/deployer` can create pods in
/// `kube-system` (where `ops` is cluster-admin) and `shop/web` sits behind a LoadBalancer. With
/// `evil`, every name the analyses repeat is a script injection attempt.
pub fn cluster_objects(evil: bool) -> String {
    let (sa, ns, web) = if evil {
        (
            "\"<script>alert('sa')</script>\"",
            "\"<img src=x onerror=alert('ns')>\"",
            "\"javascript:alert('web')\"",
        )
    } else {
        ("deployer", "shop", "web")
    };
    format!(
        r"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: pods, namespace: kube-system}}
rules:
- {{apiGroups: [''], resources: [pods], verbs: [create]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: deployer-pods, namespace: kube-system}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods}}
subjects:
- {{kind: ServiceAccount, name: {sa}, namespace: ci}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: ops-admin}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}
subjects:
- {{kind: ServiceAccount, name: ops, namespace: kube-system}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: ops-agent, namespace: kube-system}}
spec:
  template:
    spec:
      serviceAccountName: ops
      containers: [{{name: a, image: a:1}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec: {{type: LoadBalancer, selector: {{app: web}}, ports: [{{port: 80}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {web}, namespace: {ns}}}
spec:
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: w, image: w:1}}]}}
"
    )
}

/// What `kspm agent` writes beside the findings after judging `objects`: its health and the
/// RBAC and network analyses, computed by the agent's own code.
pub async fn seed_agent(
    store: &Store,
    cluster: &str,
    objects: &str,
    status: &AgentStatus,
    at: i64,
) {
    use kspm_model::yaml::{Limits, parse_stream};
    let (docs, errors) = parse_stream(objects, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    let resources: Vec<kspm_model::Resource> = docs
        .into_iter()
        .map(|d| {
            kspm_model::Resource::from_node(
                d.root,
                kspm_model::Source {
                    file: "cluster.yaml".into(),
                    doc: d.index,
                    origin: None,
                },
            )
            .unwrap()
        })
        .collect();
    store
        .heartbeat(cluster, status, at)
        .await
        .expect("heartbeat");
    kspm_agent::analyses::store(store, cluster, &resources, at)
        .await
        .expect("analyses");
}

/// A healthy agent's report.
pub fn healthy() -> AgentStatus {
    AgentStatus {
        version: "0.1.0".into(),
        sync_ok: true,
        error: None,
        objects: 1234,
        unreadable: Vec::new(),
        period_seconds: 300,
    }
}

pub fn hostile_cluster() -> &'static str {
    "<script>alert('cluster')</script>"
}

/// Starts the dashboard on a free loopback port in a thread of its own; returns its address.
pub fn start(url: &StoreUrl, token: Option<&str>) -> SocketAddr {
    start_with(url, token, None)
}

/// [`start`], with TLS.
pub fn start_with(
    url: &StoreUrl,
    token: Option<&str>,
    tls: Option<kspm_serve::TlsFiles>,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = url.clone();
    let token = token.map(|t| Token::new(t).unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store = Store::open_read_only(&url).await.expect("open read-only");
            let server = Server::bind(
                store,
                &ServeOptions {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    token,
                    tls,
                },
            )
            .await
            .expect("bind");
            tx.send(server.local_addr()).unwrap();
            server.run(std::future::pending()).await;
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("server started")
}

/// A response: status, lower-cased headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub fn request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    exchange(s, addr, method, target, headers)
}

/// One HTTPS GET, trusting only `ca` (PEM).
pub fn get_tls(
    addr: SocketAddr,
    ca: &std::path::Path,
    target: &str,
) -> Result<Reply, std::io::Error> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    // Completes the handshake, so that a refused certificate is an error here.
    stream.flush()?;
    Ok(exchange(stream, addr, "GET", target, &[]))
}

fn exchange(
    mut s: impl Read + Write,
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // A TLS peer that closes without close_notify is still a complete HTTP/1.1 reply here.
    if let Err(e) = s.read_to_end(&mut raw) {
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    }
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target, &[])
}

/// The dashboard's API schema (docs/serve-api.schema.json) narrowed to one of its `$defs`.
pub fn check_schema(def: &str, value: &serde_json::Value) {
    let root: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/serve-api.schema.json")).unwrap();
    let schema = serde_json::json!({
        "$schema": root["$schema"],
        "$defs": root["$defs"],
        "$ref": format!("#/$defs/{def}"),
    });
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{def}: {errors:#?}");
}
