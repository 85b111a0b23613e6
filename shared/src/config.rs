//! Typed configuration, read through an injectable source so tests never touch the process environment.

use crate::error::{Error, Result};
use crate::ports::Secret;
use secrecy::SecretString;
use std::collections::HashMap;

/// Where settings come from: the process environment in Lambda, a map in tests.
pub trait Source {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A setting that must be present.
pub fn required(src: &dyn Source, name: &str) -> Result<String> {
    src.var(name).ok_or_else(|| Error::Config(format!("{name} is not set")))
}

/// How to reach the SAP Service Layer.
#[derive(Clone)]
pub struct SapConfig {
    /// e.g. `https://sap.example.internal:50000/b1s/v2`
    pub base_url: String,
    pub company_db: String,
    pub user: String,
    pub password: Secret,
    /// PEM bundle of a private CA that signed the Service Layer certificate.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// The Orders UDF that carries the Salesforce opportunity id (e.g. `U_SF_OpportunityId`);
    /// `NumAtCard` is always written and searched as the fallback.
    pub order_reference_udf: Option<String>,
    /// `Prefer: odata.maxpagesize` for reads.
    pub page_size: u32,
    pub timeout_secs: u64,
}

impl SapConfig {
    /// Reads `SAP_URL`, `SAP_COMPANY_DB`, `SAP_USER`, `SAP_PASSWORD`, `SAP_CA_BUNDLE` (a file path),
    /// `SAP_ORDER_REFERENCE_UDF` (default `U_SF_OpportunityId`; `none` for NumAtCard only), `SAP_PAGE_SIZE`.
    pub fn from_source(src: &dyn Source) -> Result<Self> {
        let ca_bundle_pem = match src.var("SAP_CA_BUNDLE") {
            Some(path) => Some(std::fs::read(&path).map_err(|e| Error::Config(format!("SAP_CA_BUNDLE {path}: {e}")))?),
            None => None,
        };
        let udf = src.var("SAP_ORDER_REFERENCE_UDF").unwrap_or_else(|| "U_SF_OpportunityId".into());
        Ok(Self {
            base_url: required(src, "SAP_URL")?.trim_end_matches('/').to_string(),
            company_db: required(src, "SAP_COMPANY_DB")?,
            user: required(src, "SAP_USER")?,
            password: SecretString::from(required(src, "SAP_PASSWORD")?),
            ca_bundle_pem,
            order_reference_udf: (udf != "none").then_some(udf),
            page_size: parse_or(src, "SAP_PAGE_SIZE", 500)?,
            timeout_secs: parse_or(src, "SAP_TIMEOUT_SECS", 60)?,
        })
    }
}

/// How to reach Salesforce.
#[derive(Clone)]
pub struct SalesforceConfig {
    /// My Domain URL, e.g. `https://acme.my.salesforce.com`; the token reply's `instance_url` is used after login.
    pub login_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// `63.0`
    pub api_version: String,
    /// The `client=` tag sent in `Sforce-Call-Options` on writes and matched in CDC `changeOrigin`.
    pub call_options_client: String,
    pub timeout_secs: u64,
    /// Upserts of at least this many records go through Bulk API 2.0 jobs; 0 never.
    pub bulk_threshold: usize,
    /// How long a writer waits for a Bulk API job before giving the round back to the queue.
    pub bulk_wait_secs: u64,
}

impl SalesforceConfig {
    /// Reads `SF_LOGIN_URL`, `SF_CLIENT_ID`, `SF_CLIENT_SECRET`, `SF_API_VERSION`, `SF_CLIENT_TAG`,
    /// `SF_TIMEOUT_SECS`, `SF_BULK_THRESHOLD` (records; default 2000, 0 = Collections only),
    /// `SF_BULK_WAIT_SECS` (default 240).
    pub fn from_source(src: &dyn Source) -> Result<Self> {
        Ok(Self {
            login_url: required(src, "SF_LOGIN_URL")?.trim_end_matches('/').to_string(),
            client_id: required(src, "SF_CLIENT_ID")?,
            client_secret: SecretString::from(required(src, "SF_CLIENT_SECRET")?),
            api_version: src.var("SF_API_VERSION").unwrap_or_else(|| "63.0".into()),
            call_options_client: src.var("SF_CLIENT_TAG").unwrap_or_else(|| crate::ECHO_CLIENT_TAG.into()),
            timeout_secs: parse_or(src, "SF_TIMEOUT_SECS", 60)?,
            bulk_threshold: parse_or(src, "SF_BULK_THRESHOLD", DEFAULT_BULK_THRESHOLD)?,
            bulk_wait_secs: parse_or(src, "SF_BULK_WAIT_SECS", 240)?,
        })
    }
}

/// Rounds of this many upserts or more use Bulk API 2.0: about seven calls a job (create, upload,
/// close, polls, results) against ten sObject Collections calls at 2,000 records.
pub const DEFAULT_BULK_THRESHOLD: usize = 2000;

/// Parses an optional numeric setting.
pub fn parse_or<T: std::str::FromStr>(src: &dyn Source, name: &str, default: T) -> Result<T> {
    match src.var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| Error::Config(format!("{name}={v:?} is not a number"))),
    }
}
