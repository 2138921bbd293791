//! `/healthz`, `/readyz` and `/metrics`: three GET routes on a plain HTTP/1.1 listener. Each
//! connection gets one request (read with a size cap and a timeout, so a slow or hostile client
//! costs one small task) and one answer, then is closed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Metrics;

/// Requests larger than this (line and headers) are refused.
const MAX_REQUEST: usize = 8 * 1024;

pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &metrics)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > MAX_REQUEST {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = route(method, path, metrics);
    respond(&mut stream, status, ctype, &body).await
}

fn route(method: &str, path: &str, metrics: &Metrics) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != "GET" && method != "HEAD" {
        return ("405 Method Not Allowed", TEXT, "only GET\n".to_owned());
    }
    match path {
        "/healthz" => ("200 OK", TEXT, "ok\n".to_owned()),
        "/readyz" if metrics.ready.load(Ordering::Relaxed) => {
            ("200 OK", TEXT, "ready\n".to_owned())
        }
        "/readyz" => (
            "503 Service Unavailable",
            TEXT,
            "the initial sync is not done\n".to_owned(),
        ),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        _ => ("404 Not Found", TEXT, "not found\n".to_owned()),
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let m = Metrics::default();
        assert_eq!(route("GET", "/healthz", &m).0, "200 OK");
        assert_eq!(route("GET", "/readyz", &m).0, "503 Service Unavailable");
        m.ready.store(true, Ordering::Relaxed);
        assert_eq!(route("GET", "/readyz", &m).0, "200 OK");
        assert!(
            route("GET", "/metrics", &m)
                .2
                .contains("kspm_agent_ready 1")
        );
        assert_eq!(route("POST", "/metrics", &m).0, "405 Method Not Allowed");
        assert_eq!(route("GET", "/nope", &m).0, "404 Not Found");
    }
}
