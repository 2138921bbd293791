//! HTTP: the listener, TLS, the bearer token, routing, and the headers every response carries.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use kspm_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::html::Html;
use crate::page::{self, PageError, Params};
use crate::{ServeError, ServeOptions, TlsFiles, Token};

/// Sent with every response. No script may run at all (`default-src 'none'` with no
/// `script-src`), styles and images only from this server, forms only to it, and the pages
/// cannot be framed. Inline SVG uses presentation attributes, which this allows.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;
/// The longest request target accepted (filters included).
const MAX_URI: usize = 8 * 1024;

const CSS: &str = include_str!("../assets/kspm.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

struct State {
    store: Store,
    token: Option<Token>,
    tls: bool,
}

/// A bound, not yet running, dashboard server.
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
}

impl Server {
    /// Binds `options.listen` (port 0 picks a free one) and loads the TLS files, if any.
    pub async fn bind(store: Store, options: &ServeOptions) -> Result<Self, ServeError> {
        let tls = options.tls.as_ref().map(acceptor).transpose()?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| ServeError::Listen {
                    addr: options.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            state: Arc::new(State {
                store,
                token: options.token.clone(),
                tls: tls.is_some(),
            }),
            tls,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else {
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let state = self.state.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(tls) => {
                        if let Ok(Ok(stream)) =
                            tokio::time::timeout(Duration::from_secs(10), tls.accept(stream)).await
                        {
                            serve_connection(TokioIo::new(stream), state).await;
                        }
                    }
                    None => serve_connection(TokioIo::new(stream), state).await,
                }
                drop(permit);
            });
        }
    }
}

async fn serve_connection<I>(io: I, state: Arc<State>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, &req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024)
        .serve_connection(io, service)
        .await;
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServeError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &std::path::Path, reason: String| ServeError::Tls {
        path: path.to_owned(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| bad(&files.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(&files.cert, "no certificate in the file".to_owned()));
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(&files.cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| bad(&files.key, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A response with the headers every response carries.
fn respond(
    state: &State,
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    r
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

fn error_page(
    state: &State,
    api: bool,
    status: StatusCode,
    message: &str,
) -> Response<Full<Bytes>> {
    if api {
        let body = serde_json::json!({ "error": message }).to_string();
        return respond(state, status, JSON, body);
    }
    let mut h = Html::new();
    h.raw("<h1>")
        .text(status)
        .raw("</h1><p id=\"error\">")
        .text(message)
        .raw("</p>");
    h.raw("<p><a href=\"/\">Back to the fleet</a></p>");
    respond(state, status, HTML, page::layout(&status.to_string(), h))
}

/// Which page a path names, and whether as the API.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Fleet,
    Cluster,
    Findings,
    FindingsCsv,
    FindingsJson,
    Object,
    Rule,
    Compliance,
    Exceptions,
    Rbac,
    Network,
}

fn route(path: &str) -> Option<(Route, bool)> {
    Some(match path {
        "/" => (Route::Fleet, false),
        "/cluster" => (Route::Cluster, false),
        "/findings" => (Route::Findings, false),
        "/findings.csv" => (Route::FindingsCsv, false),
        "/findings.json" => (Route::FindingsJson, false),
        "/object" => (Route::Object, false),
        "/rule" => (Route::Rule, false),
        "/compliance" => (Route::Compliance, false),
        "/exceptions" => (Route::Exceptions, false),
        "/rbac" => (Route::Rbac, false),
        "/network" => (Route::Network, false),
        "/api/v1/fleet" => (Route::Fleet, true),
        "/api/v1/cluster" => (Route::Cluster, true),
        "/api/v1/findings" => (Route::Findings, true),
        "/api/v1/object" => (Route::Object, true),
        "/api/v1/rule" => (Route::Rule, true),
        "/api/v1/compliance" => (Route::Compliance, true),
        "/api/v1/exceptions" => (Route::Exceptions, true),
        "/api/v1/rbac" => (Route::Rbac, true),
        "/api/v1/network" => (Route::Network, true),
        _ => return None,
    })
}

/// Answers one request, with `Server-Timing: app;dur=MS` (the time spent here, store queries
/// and rendering included; what the benchmark reads).
async fn handle(state: &State, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    let mut response = answer(state, req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.1}")) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

async fn answer(state: &State, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let api = path.starts_with("/api/");
    if req.uri().to_string().len() > MAX_URI {
        return error_page(
            state,
            api,
            StatusCode::URI_TOO_LONG,
            "the request target is longer than 8 KiB",
        );
    }
    if path == "/healthz" {
        return respond(state, StatusCode::OK, "text/plain; charset=utf-8", "ok\n");
    }
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        if !given.is_some_and(|g| token.matches(g)) {
            let mut r = error_page(
                state,
                api,
                StatusCode::UNAUTHORIZED,
                "this server needs `Authorization: Bearer TOKEN` (the token in the file given to --token-file)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kspm\""),
            );
            return r;
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = error_page(
            state,
            api,
            StatusCode::METHOD_NOT_ALLOWED,
            "this server is read-only: GET and HEAD only",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path {
        "/assets/kspm.css" => {
            return respond(state, StatusCode::OK, "text/css; charset=utf-8", CSS);
        }
        "/assets/favicon.svg" | "/favicon.ico" => {
            return respond(state, StatusCode::OK, "image/svg+xml", FAVICON);
        }
        _ => {}
    }
    let Some((route, api)) = route(path) else {
        return error_page(
            state,
            api,
            StatusCode::NOT_FOUND,
            &format!("no page `{path}`"),
        );
    };
    let params = Params::parse(req.uri().query());
    let now = kspm_store::time::now();
    let store = &state.store;
    let result: Result<Response<Full<Bytes>>, PageError> = async {
        let json = |v: serde_json::Value| respond(state, StatusCode::OK, JSON, v.to_string());
        let html = |s: String| respond(state, StatusCode::OK, HTML, s);
        Ok(match route {
            Route::Fleet => {
                let m = page::fleet::load(store, now).await?;
                if api {
                    json(page::fleet::json(&m))
                } else {
                    html(page::fleet::html(&m))
                }
            }
            Route::Cluster => {
                let m = page::cluster::load(store, &params, now).await?;
                if api {
                    json(page::cluster::json(&m))
                } else {
                    html(page::cluster::html(&m))
                }
            }
            Route::Findings => {
                let m = page::findings::load(store, &params, now).await?;
                if api {
                    json(page::findings::json(&m))
                } else {
                    html(page::findings::html(&m))
                }
            }
            Route::FindingsCsv | Route::FindingsJson => {
                let m = page::findings::export(store, &params, now).await?;
                let (body, content_type, name) = if route == Route::FindingsCsv {
                    (
                        page::findings::csv(&m),
                        "text/csv; charset=utf-8",
                        "attachment; filename=\"kspm-findings.csv\"",
                    )
                } else {
                    (
                        page::findings::json(&m).to_string(),
                        JSON,
                        "attachment; filename=\"kspm-findings.json\"",
                    )
                };
                let mut r = respond(state, StatusCode::OK, content_type, body);
                r.headers_mut()
                    .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
                r
            }
            Route::Object => {
                let m = page::object::load(store, &params, now).await?;
                if api {
                    json(page::object::json(&m))
                } else {
                    html(page::object::html(&m))
                }
            }
            Route::Rule => {
                let m = page::rule::load(store, &params, now).await?;
                if api {
                    json(page::rule::json(&m))
                } else {
                    html(page::rule::html(&m))
                }
            }
            Route::Compliance => {
                let m = page::compliance::load(store, &params, now).await?;
                if api {
                    json(page::compliance::json(&m))
                } else {
                    html(page::compliance::html(&m))
                }
            }
            Route::Exceptions => {
                let m = page::exceptions::load(store, now).await?;
                if api {
                    json(page::exceptions::json(&m))
                } else {
                    html(page::exceptions::html(&m))
                }
            }
            Route::Rbac => {
                let m = page::rbac::load(store, &params, now).await?;
                if api {
                    json(page::rbac::json(&m))
                } else {
                    html(page::rbac::html(&m))
                }
            }
            Route::Network => {
                let m = page::network::load(store, &params, now).await?;
                if api {
                    json(page::network::json(&m))
                } else {
                    html(page::network::html(&m))
                }
            }
        })
    }
    .await;
    match result {
        Ok(r) => r,
        Err(PageError::BadRequest(m)) => error_page(state, api, StatusCode::BAD_REQUEST, &m),
        Err(PageError::NotFound(m)) => error_page(state, api, StatusCode::NOT_FOUND, &m),
        Err(PageError::Store(e)) => {
            eprintln!("kspm serve: {path}: {e}");
            error_page(
                state,
                api,
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store could not answer (the server's log says why)",
            )
        }
    }
}
