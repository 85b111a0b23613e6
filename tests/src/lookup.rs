//! Helpers for the live lookup endpoint: a signed Function URL GET, and a lookup service on the SAP sandbox.

use b1force_cli::local::sap_config;
use sandbox::SapSandbox;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::engine::lookup::Lookups;
use shared::ingress::salesforce_webhook::sign;
use shared::ports::Clock;
use shared::sap::SapClient;
use std::sync::Arc;

/// The signing key the tests share with the endpoint.
pub const KEY: &str = "lookup-test-signing-key";

/// A Function URL GET for `path?query`, signed at `now_ms` with `key`.
pub fn signed_get(path: &str, query: &str, key: &str, now_ms: i64) -> Value {
    let timestamp = (now_ms / 1000).to_string();
    let signature = sign(key.as_bytes(), &timestamp, format!("{path}?{query}").as_bytes());
    json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"x-b1force-timestamp": timestamp, "x-b1force-signature": signature},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": "lookup-test"},
        "isBase64Encoded": false
    })
}

/// The lookup service on a running SAP sandbox.
pub fn lookups(sap: &SapSandbox, clock: Arc<dyn Clock>, ttl_ms: i64) -> Lookups {
    let client = SapClient::new(sap_config(sap)).expect("SAP client");
    Lookups::new(Arc::new(client), clock, SecretString::from(KEY.to_string()), ttl_ms)
}
