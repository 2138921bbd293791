//! `kspm serve`: wiring only. The dashboard lives in `kspm_serve`.

use std::path::PathBuf;

use anyhow::Result;

/// `kspm serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The finding store to show, opened read-only [default: sqlite://$XDG_STATE_HOME/kspm/kspm.db, see docs/store.md].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Address to listen on (port 0 picks a free one); loopback unless you say otherwise.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Require `Authorization: Bearer TOKEN` on every request but /healthz, with TOKEN read from this file (16 to 4096 printable characters).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[cfg(feature = "serve")]
pub fn run(args: &ServeArgs) -> Result<u8> {
    let listen = args.listen.parse::<std::net::SocketAddr>().map_err(|e| {
        anyhow::anyhow!(
            "--listen {}: {e} (an address such as 127.0.0.1:8080)",
            args.listen
        )
    })?;
    let store = match &args.store {
        Some(url) => kspm_store::StoreUrl::parse(url)?,
        None => kspm_store::StoreUrl::default_sqlite(),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(kspm_serve::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let served = args
        .token_file
        .as_deref()
        .map(kspm_serve::Token::from_file)
        .transpose()
        .and_then(|token| {
            let options = kspm_serve::ServeOptions { listen, token, tls };
            kspm_serve::run(&store, &options)
        });
    // Errors become exit codes in one place (`exit::of_error`): a store, token, TLS file or
    // address that cannot be used is an input error (2), a store URL a usage error (3).
    served?;
    Ok(crate::exit::OK)
}

#[cfg(not(feature = "serve"))]
pub fn run(_: &ServeArgs) -> Result<u8> {
    anyhow::bail!("this kspm was built without the dashboard (the `serve` feature)")
}
