//! The one place HTTP clients are built: TLS always verified, optional private CA bundle.

use crate::error::{Error, Result};
use std::time::Duration;

/// Builds a reqwest client that verifies TLS against the system roots plus, when given, the
/// certificates in `ca_bundle_pem` (an on-prem Service Layer with a private CA).
/// There is deliberately no switch that turns verification off.
pub fn client(ca_bundle_pem: Option<&[u8]>, timeout: Duration) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        // The Service Layer's Apache closes idle connections after 5 s (Keep-Alive: timeout=5).
        .pool_idle_timeout(Duration::from_secs(4))
        .user_agent(concat!("b1force/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_bundle_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::Config(format!("CA bundle is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Config("CA bundle holds no certificate".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))
}

/// Maps a reqwest failure (connect, timeout, TLS, body) to a retryable transport error.
/// The message never contains the URL's query (it may hold ids) nor headers.
pub fn transport(system: &'static str, err: reqwest::Error) -> Error {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect failed"
    } else if err.is_decode() {
        "undecodable body"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Transport { system, message }
}
