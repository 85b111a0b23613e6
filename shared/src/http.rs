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

/// Parses the URL in setting `setting`; only `https`, except plain `http` to a loopback address
/// (the sandboxes on 127.0.0.1): credentials, session cookies and tokens never cross a network in
/// clear text. The error names the setting, never a credential.
pub fn secure_url(setting: &str, raw: &str) -> Result<url::Url> {
    let url = url::Url::parse(raw.trim()).map_err(|e| Error::Config(format!("{setting} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(Error::Config(format!(
            "{setting} uses plain http to {}; use https (plain http is allowed to loopback only)",
            url.host_str().unwrap_or("?")
        ))),
        other => Err(Error::Config(format!("{setting} has scheme {other:?}; use https"))),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_plain_http_to_loopback_is_accepted() {
        for ok in [
            "https://sap.example.internal:50000/b1s/v2",
            "http://127.0.0.1:50000/b1s/v2",
            "http://127.8.0.1/",
            "http://localhost:8080",
            "http://[::1]:9000/",
        ] {
            assert!(secure_url("SAP_URL", ok).is_ok(), "{ok}");
        }
        for bad in ["http://sap.example.internal:50000/b1s/v2", "http://10.0.0.5:50000", "ftp://sap/", "sap:50000"] {
            let err = secure_url("SAP_URL", bad).unwrap_err();
            assert!(matches!(err, Error::Config(_)) && err.to_string().contains("SAP_URL"), "{bad}: {err}");
        }
        let plain = secure_url("SF_LOGIN_URL", "http://acme.my.salesforce.com").unwrap_err().to_string();
        assert!(plain.contains("use https"), "{plain}");
    }
}
