//! Connecting: kubeconfig (client certificates, tokens, exec plugins, as kube-rs supports them)
//! or the in-cluster service account, and turning transport failures into one-line messages.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::ClusterError;

/// Which cluster to read, and how much of it.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// A kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster
    /// service account when running in a pod.
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context; default: the current context.
    pub context: Option<String>,
    /// Only these namespaces (empty: all). Cluster-scoped kinds other than the named Namespaces
    /// are then not read.
    pub namespaces: Vec<String>,
    /// Objects per list request (`limit`); 0 means the default (500).
    pub page_size: u32,
    /// Test hook: pause this long once, after the first page of the first list that has more
    /// pages, so a test can let the continue token expire (410 Gone) on a real server.
    #[doc(hidden)]
    pub stall_after_first_page: Option<std::time::Duration>,
}

/// A connected client, and the name findings use as their source (`cluster:<context>`).
pub(crate) struct Connection {
    pub client: Client,
    pub label: String,
    pub server: String,
}

pub(crate) async fn connect(target: &Target) -> Result<Connection, ClusterError> {
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (mut config, context) = if let Some(path) = &target.kubeconfig {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
            ClusterError::Config(format!("cannot read kubeconfig {}: {}", path.display(), e))
        })?;
        let context = target
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone());
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ClusterError::Config(format!("kubeconfig {}: {}", path.display(), e)))?;
        (config, context)
    } else if target.context.is_some() {
        let config = Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ClusterError::Config(format!("kubeconfig: {e}")))?;
        (config, target.context.clone())
    } else {
        let context = Kubeconfig::read().ok().and_then(|k| k.current_context);
        let config = Config::infer().await.map_err(|e| {
            ClusterError::Config(format!(
                "no cluster configured ({e}); set KUBECONFIG, pass --kubeconfig, or run in a pod"
            ))
        })?;
        (config, context.or_else(|| Some("in-cluster".to_owned())))
    };
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_mins(1));
    let server = config.cluster_url.to_string();
    let server = server.trim_end_matches('/').to_owned();
    let client = Client::try_from(config).map_err(|e| describe(&e, &server))?;
    let label = format!(
        "cluster:{}",
        context.unwrap_or_else(|| "default".to_owned())
    );
    Ok(Connection {
        client,
        label,
        server,
    })
}

/// One line that says what went wrong talking to `server`, for a person: no debug dumps, no
/// stack of wrapped errors repeating each other.
pub(crate) fn describe(e: &kube::Error, server: &str) -> ClusterError {
    if let kube::Error::Api(status) = e {
        return match status.code {
            401 => ClusterError::Unauthorized(format!(
                "{server} rejected the credentials (401 Unauthorized): they are invalid or expired"
            )),
            _ => ClusterError::Api(format!(
                "{server} answered {} {}: {}",
                status.code, status.reason, status.message
            )),
        };
    }
    let chain = causes(e);
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("tls")
        || lower.contains("handshake")
    {
        return ClusterError::Tls(format!(
            "TLS with {server} failed: {} (check the kubeconfig's certificate-authority and client certificate)",
            deepest(e)
        ));
    }
    if let kube::Error::Auth(_) = e {
        return ClusterError::Unauthorized(format!("cannot authenticate to {server}: {chain}"));
    }
    if lower.contains("connection refused")
        || lower.contains("dns")
        || lower.contains("timed out")
        || lower.contains("timeout")
        || lower.contains("unreachable")
        || lower.contains("connect")
    {
        return ClusterError::Unreachable(format!("cannot reach {server}: {}", deepest(e)));
    }
    ClusterError::Api(format!("{server}: {chain}"))
}

fn causes(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn deepest(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        last = s.to_string();
        cur = s.source();
    }
    last
}
