//! Serving an axum router on 127.0.0.1, over HTTP or HTTPS with a given certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A PEM certificate chain and private key for HTTPS.
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_chain_pem: String,
    pub private_key_pem: String,
}

/// A running server; aborted when dropped.
pub struct Served {
    pub addr: SocketAddr,
    pub scheme: &'static str,
    task: JoinHandle<()>,
}

impl Served {
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT` (the name a test certificate is issued for).
    pub fn origin(&self) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}", self.addr.port()),
            _ => format!("http://127.0.0.1:{}", self.addr.port()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:`port` (0 = any free port) and serves `router` in the background.
pub async fn serve(router: axum::Router, port: u16, tls: Option<TlsIdentity>) -> anyhow::Result<Served> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    match tls {
        None => {
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            Ok(Served { addr, scheme: "http", task })
        }
        Some(identity) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&identity)?));
            let task = tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let acceptor = acceptor.clone();
                    let router = router.clone();
                    tokio::spawn(async move {
                        // A client that refuses our certificate ends the handshake here; that is the point.
                        let Ok(tls_stream) = acceptor.accept(stream).await else { return };
                        let service = hyper_util::service::TowerToHyperService::new(router);
                        let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                            .serve_connection(hyper_util::rt::TokioIo::new(tls_stream), service)
                            .await;
                    });
                }
            });
            Ok(Served { addr, scheme: "https", task })
        }
    }
}

fn server_config(identity: &TlsIdentity) -> anyhow::Result<tokio_rustls::rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut identity.cert_chain_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut identity.private_key_pem.as_bytes())?
        .ok_or_else(|| anyhow::anyhow!("no private key in the PEM"))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    Ok(tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?)
}
