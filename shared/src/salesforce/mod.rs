//! Salesforce REST client (API v63.0): client-credentials login with a cached token, SOQL with
//! paging, single-record and sObject Collections writes, `Sforce-Limit-Info` tracking, and the
//! [`SalesforceReads`] and [`SalesforceUpdates`] ports for the Salesforce → SAP flows.
//!
//! Every write carries `Sforce-Call-Options: client=<tag>` so our own changes can be recognised in
//! CDC `changeOrigin` (echo suppression); sObject Collections may ignore it (it is not documented
//! for them), so the writers also note what they wrote ([`crate::engine::remember`]). Tokens have no expiry in the reply: a 401
//! `INVALID_SESSION_ID` triggers one serialized re-login and one retry.

mod bulk;
pub mod bulk2;
mod opportunity;
pub mod reconcile;
mod records;
pub mod soql;
mod wire;

pub use opportunity::{MAX_IDS_PER_QUERY, snapshot_from_record, snapshot_query};
pub use wire::{RecordError, RecordResult, UpsertResult, error_from_body, parse_limit_info};

use crate::config::SalesforceConfig;
use crate::domain::{CardCode, EpochMillis, OpportunitySnapshot, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::ports::CredentialSource;
use crate::ports::{DeletedRecord, OpportunityRead, RecordQuery, SalesforceReads, SalesforceUpdates};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Most records in one sObject Collections call.
pub const COLLECTION_CHUNK: usize = 200;
/// sObject Collections calls of one write in flight at once.
const PARALLEL_COLLECTION_CALLS: usize = 3;
/// Extra attempts for idempotent requests after a 5xx, a lock error or a transport failure.
const EXTRA_ATTEMPTS: u32 = 2;
/// Everything but unreserved characters is escaped in a path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The code of a refused client-credentials login (Salesforce's own is in the message).
pub const LOGIN_REFUSED: &str = "LOGIN_REFUSED";
const SYSTEM: &str = "Salesforce";

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SalesforceStats {
    /// Token requests (logins) made.
    pub token_requests: u64,
    /// REST API requests made (retries and re-sent requests included).
    pub requests: u64,
}

/// A Salesforce REST client; build it once and clone it freely (clones share token and counters).
#[derive(Clone)]
pub struct SalesforceClient {
    inner: Arc<Inner>,
    query_batch_size: Option<u32>,
}

struct Inner {
    http: reqwest::Client,
    cfg: SalesforceConfig,
    /// The connected app's secret; replaced when a refused login made us re-read a rotated secret.
    client_secret: RwLock<SecretString>,
    credentials: Option<Arc<dyn CredentialSource>>,
    session: RwLock<Option<Arc<Session>>>,
    /// Serializes logins so a burst of 401s causes one token request.
    login: tokio::sync::Mutex<u64>,
    api_used: AtomicU64,
    /// 0 until the first `Sforce-Limit-Info` is seen.
    api_max: AtomicU64,
    token_requests: AtomicU64,
    requests: AtomicU64,
    standard_pricebook: tokio::sync::OnceCell<SalesforceId>,
}

struct Session {
    token: SecretString,
    instance_url: String,
    generation: u64,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient").field("login_url", &self.inner.cfg.login_url).finish_non_exhaustive()
    }
}

/// Whether a request may be sent again after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Never,
    /// GETs, PATCH by Id and upserts by external id: sending twice has the effect of sending once.
    Idempotent,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

/// A request body: JSON for REST, CSV for Bulk API 2.0 uploads.
#[derive(Clone, Copy)]
enum Payload<'a> {
    None,
    Json(&'a Value),
    /// Shared, so a resend after a re-login copies no bytes.
    Csv(&'a bytes::Bytes),
}

impl SalesforceClient {
    /// Builds the client; no request is made until the first call.
    pub fn new(cfg: SalesforceConfig) -> Result<Self> {
        crate::http::secure_url("SF_LOGIN_URL", &cfg.login_url)?;
        let http = crate::http::client(None, Duration::from_secs(cfg.timeout_secs))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                client_secret: RwLock::new(cfg.client_secret.clone()),
                credentials: None,
                cfg,
                session: RwLock::new(None),
                login: tokio::sync::Mutex::new(0),
                api_used: AtomicU64::new(0),
                api_max: AtomicU64::new(0),
                token_requests: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                standard_pricebook: tokio::sync::OnceCell::new(),
            }),
            query_batch_size: None,
        })
    }

    /// The same client, re-reading the connected app's secret from `source` when Salesforce refuses
    /// the login (a rotated secret) before it reports the refusal as configuration. Call before first use.
    pub fn with_credentials(mut self, source: Arc<dyn CredentialSource>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.credentials = Some(source);
        }
        self
    }

    /// The same client asking for query pages of `size` records (`Sforce-Query-Options: batchSize`, 200–2000).
    pub fn with_query_batch_size(mut self, size: u32) -> Self {
        self.query_batch_size = Some(size.clamp(200, 2000));
        self
    }

    /// `(used, max)` daily API requests from the last `Sforce-Limit-Info`, once one was seen.
    pub fn api_usage(&self) -> Option<(u64, u64)> {
        let max = self.inner.api_max.load(Ordering::Relaxed);
        (max > 0).then(|| (self.inner.api_used.load(Ordering::Relaxed), max))
    }

    /// Requests made so far.
    pub fn stats(&self) -> SalesforceStats {
        SalesforceStats {
            token_requests: self.inner.token_requests.load(Ordering::Relaxed),
            requests: self.inner.requests.load(Ordering::Relaxed),
        }
    }

    // ---- session ------------------------------------------------------------------------------

    fn current_session(&self) -> Option<Arc<Session>> {
        self.inner.session.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn session(&self) -> Result<Arc<Session>> {
        match self.current_session() {
            Some(session) => Ok(session),
            None => self.login(None).await,
        }
    }

    /// Logs in, unless another task already replaced the session we found stale (or, with `None`, logged in at all).
    async fn login(&self, stale: Option<u64>) -> Result<Arc<Session>> {
        let mut generation = self.inner.login.lock().await;
        if let Some(current) = self.current_session()
            && stale.is_none_or(|g| current.generation != g)
        {
            return Ok(current);
        }
        *generation += 1;
        let session = match self.request_token(*generation).await {
            Err(Error::Salesforce { code, .. }) if code == LOGIN_REFUSED && self.reread_secret().await => {
                self.request_token(*generation).await?
            }
            other => other?,
        };
        let session = Arc::new(session);
        *self.inner.session.write().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
        Ok(session)
    }

    /// True when the connected app's secret was read again and had changed (now in use).
    async fn reread_secret(&self) -> bool {
        let Some(source) = self.inner.credentials.as_ref() else { return false };
        let held = self.inner.client_secret.read().unwrap_or_else(|e| e.into_inner()).clone();
        match source.reread().await {
            Ok(fresh) if crate::ports::credential_changed(&held, &fresh) => {
                tracing::info!("Salesforce refused the login; the secret had changed, logging in with the new one");
                *self.inner.client_secret.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                true
            }
            Ok(_) => false,
            Err(err) => {
                tracing::warn!(error = %err, "Salesforce refused the login and the secret could not be read again");
                false
            }
        }
    }

    async fn request_token(&self, generation: u64) -> Result<Session> {
        let cfg = &self.inner.cfg;
        let client_secret = self.inner.client_secret.read().unwrap_or_else(|e| e.into_inner()).clone();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", client_secret.expose_secret()),
        ];
        self.inner.token_requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(login_url = %cfg.login_url, "requesting a Salesforce access token");
        let response = self
            .inner
            .http
            .post(format!("{}/services/oauth2/token", cfg.login_url))
            .form(&form)
            .send()
            .await
            .map_err(|e| crate::http::transport(SYSTEM, e))?;
        let status = response.status().as_u16();
        self.observe_limits(response.headers());
        let body = response.bytes().await.map_err(|e| crate::http::transport(SYSTEM, e))?;
        if !(200..300).contains(&status) {
            return Err(match error_from_body(status, &body) {
                // Configuration (see `error::salesforce_class`): the secret was re-read before this is
                // believed, and the work stays queued until an operator fixes the app.
                Error::Salesforce { status, code, message } if status < 500 => Error::Salesforce {
                    status,
                    code: LOGIN_REFUSED.into(),
                    message: format!(
                        "Salesforce refused the client-credentials login ({code}: {message}); check SF_CLIENT_ID, \
                         SF_CLIENT_SECRET and that the connected app has the client credentials flow and a Run As user"
                    ),
                },
                other => other,
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            access_token: String,
            instance_url: String,
        }
        let reply: TokenReply = serde_json::from_slice(&body).map_err(|e| Error::Transport {
            system: SYSTEM,
            message: format!("token reply is not the expected JSON: {e}"),
        })?;
        let instance_url = reply.instance_url.trim_end_matches('/').to_string();
        if crate::http::secure_url("instance_url", &instance_url).is_err() {
            return Err(Error::Config(format!("Salesforce returned an unusable instance_url {instance_url:?}")));
        }
        Ok(Session { token: SecretString::from(reply.access_token), instance_url, generation })
    }

    fn observe_limits(&self, headers: &reqwest::header::HeaderMap) {
        let usage = headers.get("sforce-limit-info").and_then(|v| v.to_str().ok()).and_then(parse_limit_info);
        if let Some((used, max)) = usage {
            self.inner.api_used.store(used, Ordering::Relaxed);
            self.inner.api_max.store(max, Ordering::Relaxed);
        }
    }

    // ---- transport ----------------------------------------------------------------------------

    fn data_path(&self, tail: &str) -> String {
        format!("/services/data/v{}/{tail}", self.inner.cfg.api_version)
    }

    /// Sends a request to `path` (starting `/services/data/`), re-logging in once on an expired
    /// session and retrying idempotent requests on transient failures. Returns 2xx replies only.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>, retry: Retry) -> Result<Reply> {
        self.send_payload(method, path, body.map_or(Payload::None, Payload::Json), retry).await
    }

    async fn send_payload(&self, method: Method, path: &str, body: Payload<'_>, retry: Retry) -> Result<Reply> {
        let mut attempt = 0;
        let mut logged_in_again = false;
        loop {
            let session = self.session().await?;
            let error = match self.send_once(&session, &method, path, body).await {
                Ok(reply) if (200..300).contains(&reply.status) => return Ok(reply),
                Ok(reply) if reply.status == 300 => {
                    return Err(Error::Salesforce {
                        status: 300,
                        code: "MULTIPLE_CHOICES".into(),
                        message: "the external id matches more than one record; make the field unique".into(),
                    });
                }
                Ok(reply) => error_from_body(reply.status, &reply.body),
                Err(transport) => transport,
            };
            if let Error::Salesforce { status: 401, code, message } = &error {
                if code != "INVALID_SESSION_ID" {
                    return Err(Error::Config(format!("Salesforce refused the session ({code}: {message})")));
                }
                if !logged_in_again {
                    logged_in_again = true;
                    tracing::info!("Salesforce session expired; logging in again");
                    self.login(Some(session.generation)).await?;
                    continue;
                }
                return Err(error);
            }
            if retry == Retry::Idempotent && attempt < EXTRA_ATTEMPTS && is_transient(&error) {
                attempt += 1;
                let pause = rand::rng().random_range(50..=200);
                tracing::warn!(attempt, code = %error.code(), "transient Salesforce failure; retrying");
                tokio::time::sleep(Duration::from_millis(pause)).await;
                continue;
            }
            return Err(error);
        }
    }

    async fn send_once(&self, session: &Session, method: &Method, path: &str, body: Payload<'_>) -> Result<Reply> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), format!("{}{path}", session.instance_url))
            .bearer_auth(session.token.expose_secret());
        if *method != Method::GET {
            request = request.header("Sforce-Call-Options", format!("client={}", self.inner.cfg.call_options_client));
        }
        if let Some(size) = self.query_batch_size
            && *method == Method::GET
        {
            request = request.header("Sforce-Query-Options", format!("batchSize={size}"));
        }
        request = match body {
            Payload::None => request,
            Payload::Json(body) => request.json(body),
            Payload::Csv(csv) => request.header("Content-Type", "text/csv").body(csv.clone()),
        };
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = request.send().await.map_err(|e| crate::http::transport(SYSTEM, e))?;
        self.observe_limits(response.headers());
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let body = response.bytes().await.map_err(|e| crate::http::transport(SYSTEM, e))?;
        Ok(Reply { status, headers, body: body.to_vec() })
    }

    // ---- generic operations -------------------------------------------------------------------

    /// The `Id`s a `SELECT Id ...` query returns, every page.
    async fn ids(&self, soql: &str) -> Result<Vec<SalesforceId>> {
        self.query_all(soql)
            .await?
            .iter()
            .map(|row| SalesforceId::parse(row.get("Id").and_then(Value::as_str).unwrap_or_default()))
            .collect()
    }

    /// Runs a SOQL query and follows `nextRecordsUrl` until done. Build `soql` with [`soql::quote`]
    /// and [`soql::in_list`]; never paste raw input into it.
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Value>> {
        self.query_pages("query", soql).await
    }

    /// [`Self::query_all`] through `queryAll`: deleted records (the recycle bin, `IsDeleted = true`,
    /// with `MasterRecordId` on the losers of a merge) are returned too.
    pub async fn query_including_deleted(&self, soql: &str) -> Result<Vec<Value>> {
        self.query_pages("queryAll", soql).await
    }

    async fn query_pages(&self, resource: &str, soql: &str) -> Result<Vec<Value>> {
        let encoded: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        let mut path = self.data_path(&format!("{resource}?q={encoded}"));
        let mut records = Vec::new();
        loop {
            let page: Value = parse_json(&self.send(Method::GET, &path, None, Retry::Idempotent).await?)?;
            if let Some(batch) = page.get("records").and_then(Value::as_array) {
                records.extend(batch.iter().cloned());
            }
            let done = page.get("done").and_then(Value::as_bool).unwrap_or(true);
            match page.get("nextRecordsUrl").and_then(Value::as_str) {
                Some(next) if !done => {
                    if !next.starts_with("/services/data/") {
                        return Err(Error::Invalid(format!("unexpected nextRecordsUrl {next:?}")));
                    }
                    path = next.to_string();
                }
                _ => return Ok(records),
            }
        }
    }

    /// `GET /limits`: the org's limits; its `Sforce-Limit-Info` header refreshes [`Self::api_usage`].
    /// Needs "View Setup and Configuration": see [`limits_not_permitted`] for the refusal.
    pub async fn limits(&self) -> Result<Value> {
        parse_json(&self.send(Method::GET, &self.data_path("limits"), None, Retry::Idempotent).await?)
    }

    /// `GET /sobjects/{object}/describe`: the object's fields as the integration user sees them
    /// (`name`, `type`, `createable`, `updateable`, `externalId`, `unique`, ...); `None` when the
    /// object does not exist or the user cannot see it.
    pub async fn describe(&self, object: &str) -> Result<Option<Value>> {
        check_names(&[object])?;
        let path = self.data_path(&format!("sobjects/{object}/describe"));
        match self.send(Method::GET, &path, None, Retry::Idempotent).await {
            Ok(reply) => parse_json(&reply).map(Some),
            Err(Error::Salesforce { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One record with the given fields (all fields when empty); `None` when it does not exist.
    pub async fn get_record(&self, object: &str, id: &SalesforceId, fields: &[&str]) -> Result<Option<Value>> {
        check_names(&[object])?;
        check_names(fields)?;
        let mut tail = format!("sobjects/{object}/{id}");
        if !fields.is_empty() {
            tail.push_str(&format!("?fields={}", fields.join(",")));
        }
        match self.send(Method::GET, &self.data_path(&tail), None, Retry::Idempotent).await {
            Ok(reply) => parse_json(&reply).map(Some),
            Err(Error::Salesforce { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates one record and returns its id. Never retried: a second POST would create a duplicate
    /// (prefer [`Self::upsert`] by external id where one exists).
    pub async fn create(&self, object: &str, fields: &Value) -> Result<SalesforceId> {
        check_names(&[object])?;
        let path = self.data_path(&format!("sobjects/{object}"));
        let reply: Value = parse_json(&self.send(Method::POST, &path, Some(fields), Retry::Never).await?)?;
        let id = reply.get("id").and_then(Value::as_str).unwrap_or_default();
        SalesforceId::parse(id)
    }

    /// PATCHes `fields` onto record `id`.
    pub async fn update(&self, object: &str, id: &SalesforceId, fields: &Value) -> Result<()> {
        check_names(&[object])?;
        let path = self.data_path(&format!("sobjects/{object}/{id}"));
        self.send(Method::PATCH, &path, Some(fields), Retry::Idempotent).await.map(drop)
    }

    /// Inserts or updates the record whose external id `ext_field` is `value`.
    pub async fn upsert(&self, object: &str, ext_field: &str, value: &str, fields: &Value) -> Result<UpsertResult> {
        check_names(&[object, ext_field])?;
        if value.is_empty() {
            return Err(Error::Invalid(format!("empty {object}.{ext_field} for an upsert")));
        }
        let encoded = utf8_percent_encode(value, PATH_SEGMENT);
        let path = self.data_path(&format!("sobjects/{object}/{ext_field}/{encoded}"));
        let reply = self.send(Method::PATCH, &path, Some(fields), Retry::Idempotent).await?;
        if reply.body.is_empty() {
            // API versions before 46.0 answer an update with 204 and no body.
            return Ok(UpsertResult { id: String::new(), created: reply.status == 201 });
        }
        parse_json(&reply)
    }

    /// Upserts many records of one object by external id, 200 per call, allOrNone=false;
    /// one result per record, in order.
    pub async fn collection_upsert(
        &self,
        object: &str,
        ext_field: &str,
        records: &[Value],
    ) -> Result<Vec<RecordResult>> {
        check_names(&[object, ext_field])?;
        let typed = records
            .iter()
            .map(|record| {
                let mut record = record
                    .as_object()
                    .cloned()
                    .ok_or_else(|| Error::Invalid("a record must be a JSON object".into()))?;
                if record.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
                    return Err(Error::Invalid(format!("a {object} upserted by {ext_field} must not carry an Id")));
                }
                record.insert("attributes".into(), json!({"type": object}));
                Ok(Value::Object(record))
            })
            .collect::<Result<Vec<_>>>()?;
        let path = self.data_path(&format!("composite/sobjects/{object}/{ext_field}"));
        self.collection(Method::PATCH, &path, &typed).await
    }

    /// Updates many records by Id, 200 per call, allOrNone=false; every record needs `attributes.type`
    /// and a valid `Id`. One result per record, in order.
    pub async fn collection_update(&self, records: &[Value]) -> Result<Vec<RecordResult>> {
        for record in records {
            let object = record.pointer("/attributes/type").and_then(Value::as_str).unwrap_or_default();
            check_names(&[object])?;
            let id = record
                .get("Id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Invalid("a record to update has no Id".into()))?;
            SalesforceId::parse(id)?;
        }
        // One record per id: Salesforce refuses a list naming a record twice (docs/wire-notes.md §9).
        let (merged, slots) = merge_repeated_ids(records);
        let path = self.data_path("composite/sobjects");
        let results = self.collection(Method::PATCH, &path, &merged).await?;
        Ok(slots.into_iter().map(|slot| results[slot].clone()).collect())
    }

    /// Creates many records, 200 per call, allOrNone=false; every record needs `attributes.type`.
    /// Never retried blindly: a second POST would create duplicates.
    pub async fn collection_create(&self, records: &[Value]) -> Result<Vec<RecordResult>> {
        for record in records {
            check_names(&[record.pointer("/attributes/type").and_then(Value::as_str).unwrap_or_default()])?;
        }
        let path = self.data_path("composite/sobjects");
        self.collection(Method::POST, &path, records).await
    }

    /// Deletes records by id, 200 per call (`DELETE composite/sobjects?ids=…&allOrNone=false`); one
    /// result per id, in order. Ids are checked, so the query string carries nothing else.
    pub async fn collection_delete(&self, ids: &[SalesforceId]) -> Result<Vec<RecordResult>> {
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(COLLECTION_CHUNK) {
            let list: Vec<&str> = chunk.iter().map(SalesforceId::as_str).collect();
            let path = self.data_path(&format!("composite/sobjects?ids={}&allOrNone=false", list.join(",")));
            let reply = self.send(Method::DELETE, &path, None, Retry::Idempotent).await?;
            let answered: Vec<RecordResult> = parse_json(&reply)?;
            if answered.len() != chunk.len() {
                return Err(Error::Transport {
                    system: SYSTEM,
                    message: format!("delete answered {} results for {} ids", answered.len(), chunk.len()),
                });
            }
            results.extend(answered);
        }
        Ok(results)
    }

    async fn collection(&self, method: Method, path: &str, records: &[Value]) -> Result<Vec<RecordResult>> {
        let retry = if method == Method::POST { Retry::Never } else { Retry::Idempotent };
        let send_chunk = |chunk: &[Value]| {
            let body = json!({"allOrNone": false, "records": chunk});
            let (method, expected) = (method.clone(), chunk.len());
            async move {
                let reply = self.send(method, path, Some(&body), retry).await?;
                let results: Vec<RecordResult> = parse_json(&reply)?;
                if results.len() != expected {
                    return Err(Error::Transport {
                        system: SYSTEM,
                        message: format!("collection answered {} results for {expected} records", results.len()),
                    });
                }
                Ok(results)
            }
        };
        // A few calls in flight (well below the org's 25 concurrent long-running requests), results in order.
        let chunks: Vec<Vec<RecordResult>> = futures::stream::iter(records.chunks(COLLECTION_CHUNK).map(send_chunk))
            .buffered(PARALLEL_COLLECTION_CALLS)
            .try_collect()
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }
}

/// Records to update by `Id`, with every record naming an id already named merged into the first
/// (its fields applied over the earlier ones, as sending them in order would), and for each input
/// record the index of the merged record that carries it. Ids compare by their 15-character case-
/// sensitive base, so a 15- and an 18-character form of one id are one record. Deterministic.
pub fn merge_repeated_ids(records: &[Value]) -> (Vec<Value>, Vec<usize>) {
    let mut merged: Vec<Value> = Vec::with_capacity(records.len());
    let mut first: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let slots = records
        .iter()
        .map(|record| {
            let base = record.get("Id").and_then(Value::as_str).map(|id| id.chars().take(15).collect::<String>());
            match base.as_ref().and_then(|b| first.get(b)) {
                Some(&slot) => {
                    if let (Some(into), Some(fields)) = (merged[slot].as_object_mut(), record.as_object()) {
                        let later = fields.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("Id") && *k != "attributes");
                        into.extend(later.map(|(k, v)| (k.clone(), v.clone())));
                    }
                    slot
                }
                None => {
                    merged.push(record.clone());
                    if let Some(base) = base {
                        first.insert(base, merged.len() - 1);
                    }
                    merged.len() - 1
                }
            }
        })
        .collect();
    (merged, slots)
}

/// Whether a `GET /limits` failure means the integration user may not read the org's limits: any
/// 403 but REQUEST_LIMIT_EXCEEDED. The resource needs "View Setup and Configuration" (REST API
/// Developer Guide, Limits resource); the refusal's code is not documented, so none is relied on.
pub fn limits_not_permitted(error: &Error) -> bool {
    matches!(error, Error::Salesforce { status: 403, code, .. } if code != "REQUEST_LIMIT_EXCEEDED")
}

/// 5xx, lock errors and transport failures may pass on a second try; a spent API budget will not.
fn is_transient(error: &Error) -> bool {
    match error {
        Error::Transport { .. } => true,
        Error::Salesforce { status, code, .. } => *status >= 500 || code.contains("UNABLE_TO_LOCK_ROW"),
        _ => false,
    }
}

/// Refuses any name that is not a Salesforce API name, before it goes into a query or a URL.
pub(super) fn check_names(names: &[&str]) -> Result<()> {
    match names.iter().find(|n| !soql::is_api_name(n)) {
        Some(bad) => {
            Err(Error::Invalid(format!("{:?} is not a Salesforce API name", bad.chars().take(40).collect::<String>())))
        }
        None => Ok(()),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| Error::Transport { system: SYSTEM, message: format!("unexpected Salesforce reply: {e}") })
}

#[async_trait]
impl SalesforceReads for SalesforceClient {
    async fn opportunities(&self, ids: &[SalesforceId], read: &OpportunityRead) -> Result<Vec<OpportunitySnapshot>> {
        let mut snapshots = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            for record in self.query_all(&snapshot_query(chunk, read)?).await? {
                snapshots.push(snapshot_from_record(&record, read)?);
            }
        }
        Ok(snapshots)
    }

    async fn quotes(&self, ids: &[SalesforceId], line_fields: &[String]) -> Result<Vec<crate::domain::QuoteSnapshot>> {
        let mut quotes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            for record in self.query_all(&opportunity::quote_query(chunk, line_fields)?).await? {
                quotes.push(opportunity::quote_from_record(&record, line_fields)?);
            }
        }
        Ok(quotes)
    }

    async fn records(&self, query: &RecordQuery<'_>, ids: &[SalesforceId]) -> Result<Vec<Record>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            for row in self.query_all(&records::records_query(query, chunk)?).await? {
                out.push(records::record_from_value(row)?);
            }
        }
        Ok(out)
    }

    async fn changed_since(&self, object: &str, since: EpochMillis) -> Result<Vec<SalesforceId>> {
        self.ids(&records::changed_since_query(object, since)?).await
    }

    async fn won_without_status(&self, since: EpochMillis, until: EpochMillis) -> Result<Vec<SalesforceId>> {
        self.ids(&records::won_without_status_query(since, until)?).await
    }

    async fn deleted_accounts(&self, ids: &[SalesforceId]) -> Result<Vec<DeletedRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            let soql = format!(
                "SELECT Id, MasterRecordId, SAP_CardCode__c FROM Account WHERE IsDeleted = true AND Id IN {}",
                soql::in_list(chunk)
            );
            for row in self.query_including_deleted(&soql).await? {
                out.push(deleted_account(&row)?);
            }
        }
        Ok(out)
    }

    async fn deleted_contacts(&self, ids: &[SalesforceId]) -> Result<Vec<DeletedRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            let soql = format!(
                "SELECT Id, MasterRecordId, Account.SAP_CardCode__c FROM Contact WHERE IsDeleted = true AND Id IN {}",
                soql::in_list(chunk)
            );
            for row in self.query_including_deleted(&soql).await? {
                out.push(deleted_record(&row, "/Account/SAP_CardCode__c")?);
            }
        }
        Ok(out)
    }

    async fn merged_into(&self, master: &SalesforceId) -> Result<Vec<DeletedRecord>> {
        let soql = format!(
            "SELECT Id, MasterRecordId, SAP_CardCode__c FROM Account WHERE IsDeleted = true AND MasterRecordId = {}",
            soql::quote(master.as_str())
        );
        self.query_including_deleted(&soql).await?.iter().map(deleted_account).collect()
    }

    async fn all_records(&self, object: &str, fields: &[&str]) -> Result<Vec<Record>> {
        check_names(&[object])?;
        check_names(fields)?;
        let soql = format!("SELECT {} FROM {object}", fields.join(", "));
        Ok(self.query_all(&soql).await?.into_iter().filter_map(|row| row.as_object().cloned()).collect())
    }
}

fn deleted_account(row: &Value) -> Result<DeletedRecord> {
    deleted_record(row, "/SAP_CardCode__c")
}

/// A deleted record's id, `MasterRecordId`, and the CardCode at `card_code` (a JSON pointer).
fn deleted_record(row: &Value, card_code: &str) -> Result<DeletedRecord> {
    let text = |pointer: &str| row.pointer(pointer).and_then(Value::as_str).filter(|v| !v.trim().is_empty());
    Ok(DeletedRecord {
        id: SalesforceId::parse(text("/Id").unwrap_or_default())?,
        master: text("/MasterRecordId").map(SalesforceId::parse).transpose()?,
        card_code: text(card_code).map(|c| c.trim().to_string()),
    })
}

#[async_trait]
impl SalesforceUpdates for SalesforceClient {
    async fn set_account_card_code(&self, account: &SalesforceId, card_code: &CardCode) -> Result<()> {
        self.update("Account", account, &json!({"SAP_CardCode__c": card_code.as_str()})).await
    }

    async fn update_record(&self, object: &str, id: &SalesforceId, fields: &Record) -> Result<()> {
        self.update(object, id, &Value::Object(fields.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_errors_5xx_and_transport_are_transient_but_limits_and_validation_are_not() {
        let sf = |status, code: &str| Error::Salesforce { status, code: code.into(), message: String::new() };
        assert!(is_transient(&sf(503, "SERVER_UNAVAILABLE")));
        assert!(is_transient(&sf(400, "UNABLE_TO_LOCK_ROW")));
        assert!(is_transient(&Error::Transport { system: SYSTEM, message: "timeout".into() }));
        assert!(!is_transient(&sf(403, "REQUEST_LIMIT_EXCEEDED")));
        assert!(!is_transient(&sf(400, "INVALID_FIELD")));
    }

    #[test]
    fn records_naming_one_id_twice_are_merged_in_order_and_each_keeps_a_result_slot() {
        let opp = "006SB0000000001AAA";
        let records = [
            json!({"attributes": {"type": "Opportunity"}, "Id": opp, "SAP_Payment_Status__c": "Unpaid", "A": 1}),
            json!({"attributes": {"type": "Opportunity"}, "Id": "006SB0000000002AAA", "A": 2}),
            json!({"attributes": {"type": "Opportunity"}, "Id": &opp[..15], "SAP_Payment_Status__c": "Paid"}),
        ];
        let (merged, slots) = merge_repeated_ids(&records);
        assert_eq!(slots, [0, 1, 0]);
        assert_eq!(
            merged[0],
            json!({"attributes": {"type": "Opportunity"}, "Id": opp, "SAP_Payment_Status__c": "Paid", "A": 1})
        );
        assert_eq!(merged.len(), 2);
        let unique = [records[0].clone(), records[1].clone()];
        assert_eq!(merge_repeated_ids(&unique), (unique.to_vec(), vec![0, 1]), "nothing to merge");
    }

    #[test]
    fn a_403_from_limits_is_a_missing_permission_unless_the_budget_is_spent() {
        let sf = |status, code: &str| Error::Salesforce { status, code: code.into(), message: String::new() };
        assert!(limits_not_permitted(&sf(403, "INSUFFICIENT_ACCESS")));
        assert!(limits_not_permitted(&sf(403, "FUNCTIONALITY_NOT_ENABLED")));
        assert!(!limits_not_permitted(&sf(403, "REQUEST_LIMIT_EXCEEDED")));
        assert!(!limits_not_permitted(&sf(401, "INVALID_SESSION_ID")));
    }

    #[test]
    fn external_id_values_are_escaped_as_one_path_segment() {
        assert_eq!(utf8_percent_encode("C 1/2?x#'", PATH_SEGMENT).to_string(), "C%201%2F2%3Fx%23%27");
        assert_eq!(utf8_percent_encode("A-1_2.3~", PATH_SEGMENT).to_string(), "A-1_2.3~");
    }
}
