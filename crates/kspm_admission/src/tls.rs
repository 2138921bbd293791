//! The serving certificate: read from PEM files, and read again when they change on disk
//! (cert-manager renews the Secret, the kubelet swaps the mounted files), so a rotation needs no
//! restart. A changed pair that cannot be loaded (half-written, mismatched) is reported and the
//! previous pair keeps serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::ring;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::metrics::{Metrics, add};

/// The certificate and key files.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate pair cannot serve. Never quotes the key's content: only which file and
/// what kind of problem.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file too large to be a certificate bundle.
    #[error("{}: over 1 MiB, not a PEM bundle", .0.display())]
    TooLarge(PathBuf),
    /// The certificate file is not PEM.
    #[error("{}: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{}: no certificate", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no private key in a form rustls reads.
    #[error("{}: no usable private key ({source})", path.display())]
    NoKey {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    /// The key is of a kind ring cannot sign with.
    #[error("{}: {source}", path.display())]
    Unsupported {
        path: PathBuf,
        source: rustls::Error,
    },
    /// The key is not the certificate's.
    #[error("{} and {} do not belong together: {source}", cert.display(), key.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    /// rustls refused the server configuration.
    #[error("{0}")]
    Config(rustls::Error),
    /// The reload task stopped before it said (the runtime is shutting down).
    #[error("{0}")]
    Interrupted(String),
}

/// The files' bytes, to tell a change from a touch.
type Stamp = (Vec<u8>, Vec<u8>);

fn read(files: &CertFiles) -> Result<Stamp, CertError> {
    let read = |p: &Path| {
        let failed = |source| CertError::Read {
            path: p.to_path_buf(),
            source,
        };
        // A certificate bundle is small: anything over 1 MiB is not one.
        let meta = std::fs::metadata(p).map_err(failed)?;
        if meta.len() > 1 << 20 {
            return Err(CertError::TooLarge(p.to_path_buf()));
        }
        std::fs::read(p).map_err(failed)
    };
    Ok((read(&files.cert)?, read(&files.key)?))
}

fn certified(files: &CertFiles, (cert, key): &Stamp) -> Result<Arc<CertifiedKey>, CertError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|source| CertError::Pem {
            path: files.cert.clone(),
            source,
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate(files.cert.clone()));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|source| CertError::NoKey {
        path: files.key.clone(),
        source,
    })?;
    let signer = ring::sign::any_supported_type(&key).map_err(|source| CertError::Unsupported {
        path: files.key.clone(),
        source,
    })?;
    let certified = CertifiedKey::new(chain, signer);
    certified
        .keys_match()
        .map_err(|source| CertError::Mismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })?;
    Ok(Arc::new(certified))
}

/// Serves the current pair to every handshake.
#[derive(Debug)]
pub struct Reloading {
    files: CertFiles,
    current: RwLock<(Stamp, Arc<CertifiedKey>)>,
}

impl Reloading {
    /// Loads the pair once; an error here stops the start-up.
    pub fn load(files: CertFiles) -> Result<Arc<Self>, CertError> {
        let stamp = read(&files)?;
        let key = certified(&files, &stamp)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((stamp, key)),
        }))
    }

    /// Reads the files again; loads them when they changed. `Ok(true)`: a new pair serves.
    pub fn refresh(&self) -> Result<bool, CertError> {
        let stamp = read(&self.files)?;
        if self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            == stamp
        {
            return Ok(false);
        }
        let key = certified(&self.files, &stamp)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (stamp, key);
        Ok(true)
    }

    /// A TLS server configuration that asks this resolver for every handshake (TLS 1.2 and
    /// 1.3, ring, HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, CertError> {
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(CertError::Config)?
                .with_no_client_auth()
                .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .1
                .clone(),
        )
    }
}

/// Looks at the files every `period` until the runtime stops.
pub async fn watch(reloading: Arc<Reloading>, period: Duration, metrics: Arc<Metrics>) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last_error = None;
    loop {
        tick.tick().await;
        let r = reloading.clone();
        let outcome = tokio::task::spawn_blocking(move || r.refresh())
            .await
            .unwrap_or_else(|e| Err(CertError::Interrupted(e.to_string())))
            .map_err(|e| e.to_string());
        match outcome {
            Ok(true) => {
                add(&metrics.certificate_reloads);
                crate::log(&format!(
                    "serving the new certificate from {}",
                    reloading.files.cert.display()
                ));
                last_error = None;
            }
            Ok(false) => last_error = None,
            Err(why) => {
                // Once per distinct problem: a file being rewritten fails once, then loads.
                if last_error.as_ref() != Some(&why) {
                    add(&metrics.certificate_reload_errors);
                    crate::log(&format!(
                        "cannot load the changed certificate, still serving the previous one: {why}"
                    ));
                }
                last_error = Some(why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
        cert.der().to_vec()
    }

    fn serving(r: &Reloading) -> Vec<u8> {
        r.current.read().unwrap().1.cert[0].to_vec()
    }

    #[test]
    fn a_rotated_pair_is_served_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let first = pair(dir.path(), "first");
        let files = CertFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        };
        let r = Reloading::load(files.clone()).unwrap();
        assert_eq!(serving(&r), first);
        assert!(!r.refresh().unwrap(), "nothing changed");
        let second = pair(dir.path(), "second");
        assert!(r.refresh().unwrap());
        assert_eq!(serving(&r), second);
        // A key that does not belong to the certificate: refused, the second pair serves on.
        let cert = std::fs::read(&files.cert).unwrap();
        pair(dir.path(), "third");
        std::fs::write(&files.cert, cert).unwrap();
        let err = r.refresh().unwrap_err();
        assert!(matches!(err, CertError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("do not belong together"), "{err}");
        std::fs::write(&files.key, "-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
        let err = r.refresh().unwrap_err().to_string();
        assert!(err.contains("tls.key"), "{err}");
        assert!(
            !err.contains("not a key"),
            "the key's content leaked: {err}"
        );
        assert_eq!(serving(&r), second);
        // Missing files at start are an error naming the file.
        let missing = Reloading::load(CertFiles {
            cert: dir.path().join("nope.crt"),
            key: files.key.clone(),
        })
        .unwrap_err();
        assert!(matches!(missing, CertError::Read { .. }), "{missing}");
        assert!(missing.to_string().contains("nope.crt"), "{missing}");
    }
}
