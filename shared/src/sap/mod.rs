//! SAP Business One Service Layer client (OData v4, `/b1s/v2`).
//!
//! One [`SapClient`] per process: the session (B1SESSION + ROUTEID) is created on first use and
//! reused by every call, and by every invocation of a warm Lambda container. A 401 / code 301 causes
//! one serialized re-login and one retry of that request; N concurrent 401s cause one login.

mod api;
mod billing;
pub use billing::CUSTOMERS_PER_READ;
mod business_partners;
mod changes;
pub mod errors;
pub mod odata;
mod reconcile;
mod rows;
pub mod schema;

pub use business_partners::key_collection_members;
pub use changes::change_filter;
pub use rows::{KEYS_PER_READ, MAX_REQUEST_LINE};

use crate::config::SapConfig;
use crate::error::{Error, Result};
use crate::ports::CredentialSource;
use odata::{Filter, Property, Query};
use rand::Rng;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use url::Url;

/// Extra attempts for a GET (and Login) after a 5xx or a transport failure.
const READ_RETRIES: u32 = 2;
/// Upper bound on pages followed by one `query`, against a server that never stops paging.
const MAX_PAGES: usize = 100_000;

/// One more request header: its name and value.
type ExtraHeader = (&'static str, HeaderValue);

/// Counters since the client was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SapStats {
    /// Login requests sent.
    pub logins: u64,
    /// API requests sent (Login excluded), retries included.
    pub requests: u64,
}

/// A live session: the Cookie header value and which login produced it.
struct Session {
    /// `B1SESSION=<id>; ROUTEID=.node1`; a credential, never logged.
    cookie: SecretString,
    generation: u64,
}

struct Inner {
    http: reqwest::Client,
    /// The service root with a trailing `/`, e.g. `https://host:50000/b1s/v2/`.
    root: Url,
    company_db: String,
    user: String,
    /// Replaced when a refused login made us re-read a rotated secret.
    password: RwLock<SecretString>,
    credentials: Option<Arc<dyn CredentialSource>>,
    page_size: u32,
    order_reference_udf: Option<Property>,
    session: RwLock<Option<Arc<Session>>>,
    /// Serializes logins; holders re-check the generation so only the first of many 401s logs in.
    login_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    logins: AtomicU64,
    requests: AtomicU64,
}

/// The Service Layer client; cheap to clone and share.
#[derive(Clone)]
pub struct SapClient {
    inner: Arc<Inner>,
}

/// A reply with a 2xx status.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl SapClient {
    /// Builds the client (no network I/O): TLS verified, optional private CA from the config.
    pub fn new(cfg: SapConfig) -> Result<Self> {
        let http = crate::http::client(cfg.ca_bundle_pem.as_deref(), Duration::from_secs(cfg.timeout_secs))?;
        let root = crate::http::secure_url("SAP_URL", &format!("{}/", cfg.base_url.trim_end_matches('/')))?;
        let order_reference_udf = cfg
            .order_reference_udf
            .as_deref()
            .map(Property::parse)
            .transpose()
            .map_err(|e| Error::Config(format!("SAP_ORDER_REFERENCE_UDF: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                root,
                company_db: cfg.company_db,
                user: cfg.user,
                password: RwLock::new(cfg.password),
                credentials: None,
                page_size: cfg.page_size.max(1),
                order_reference_udf,
                session: RwLock::new(None),
                login_lock: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
                logins: AtomicU64::new(0),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The same client, re-reading its password from `source` when SAP refuses a login (a rotated
    /// secret) before it reports the refusal as a configuration error. Call before first use.
    pub fn with_credentials(mut self, source: Arc<dyn CredentialSource>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.credentials = Some(source);
        }
        self
    }

    /// Logins and requests sent so far.
    pub fn stats(&self) -> SapStats {
        SapStats {
            logins: self.inner.logins.load(Ordering::Relaxed),
            requests: self.inner.requests.load(Ordering::Relaxed),
        }
    }

    /// Every row of `entity` matching `query`, following `@odata.nextLink` (or v1 `odata.nextLink`).
    pub async fn query(&self, entity: &str, query: &Query) -> Result<Vec<Value>> {
        let entity = Property::parse(entity)?;
        let mut url = self.url(entity.as_str())?;
        let options = query.to_query_string();
        url.set_query((!options.is_empty()).then_some(options.as_str()));
        let prefer = HeaderValue::from_str(&format!("odata.maxpagesize={}", self.inner.page_size))
            .map_err(|e| Error::Config(format!("page size: {e}")))?;
        let mut rows = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.execute(Method::GET, url.clone(), None, Some(("Prefer", prefer.clone()))).await?;
            let mut page = parse_json(&reply)?;
            match page.get_mut("value").map(Value::take) {
                Some(Value::Array(values)) => rows.extend(values),
                _ => return Err(undecodable("a collection reply has no value array")),
            }
            let next = page.get("@odata.nextLink").or_else(|| page.get("odata.nextLink")).and_then(Value::as_str);
            match next {
                None => return Ok(rows),
                Some(link) => {
                    let next_url = odata::resolve(&self.inner.root, link)?;
                    if next_url == url {
                        return Err(undecodable("the nextLink points at the page just read"));
                    }
                    url = next_url;
                }
            }
        }
        Err(undecodable("too many pages"))
    }

    /// Every row of `entity` matching `filter`, read in key order by keyset paging: each request asks
    /// for the next `page_size` rows with `key gt <last key read>`, so a deep page costs the server no
    /// more than the first (a `$skip` nextLink makes it count past every earlier row). `select`
    /// must include `key`; rows without it end the read with an error rather than loop.
    pub async fn query_by_key(
        &self,
        entity: &str,
        key: &Property,
        filter: Option<Filter>,
        select: &[Property],
    ) -> Result<Vec<Value>> {
        let page_size = self.inner.page_size.max(1);
        let mut rows: Vec<Value> = Vec::new();
        for _ in 0..MAX_PAGES {
            let after = match rows.last() {
                None => None,
                Some(row) => Some(match row.get(key.as_str()) {
                    Some(Value::Number(n)) if n.is_i64() => schema::literal(key, &n.to_string())?,
                    Some(Value::String(text)) => schema::literal(key, text)?,
                    _ => return Err(undecodable("a row read by key lacks its key")),
                }),
            };
            let window = match (filter.clone(), after) {
                (Some(f), Some(after)) => Some(f.and(Filter::gt(key, after))),
                (None, Some(after)) => Some(Filter::gt(key, after)),
                (f, None) => f,
            };
            let mut query = Query::new().select(select.iter().cloned()).order_by(key.clone(), true).top(page_size);
            if let Some(window) = window {
                query = query.filter(window);
            }
            let page = self.query(entity, &query).await?;
            let full = page.len() >= page_size as usize;
            rows.extend(page);
            if !full {
                return Ok(rows);
            }
        }
        Err(undecodable("too many pages"))
    }

    /// GET a path below the service root (e.g. `BusinessPartners('C20000')?$select=CardCode`).
    pub async fn get(&self, path: &str) -> Result<Value> {
        let reply = self.execute(Method::GET, self.url(path)?, None, None).await?;
        parse_json(&reply)
    }

    /// `GET $metadata`: the server's CSDL document (XML) with the types it declares.
    pub async fn metadata(&self) -> Result<String> {
        let reply = self.execute(Method::GET, self.url("$metadata")?, None, None).await?;
        String::from_utf8(reply.body).map_err(|_| undecodable("$metadata is not UTF-8"))
    }

    /// POST a JSON body (never retried blindly); returns the created entity, or `Null` for a 204.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let reply = self.execute(Method::POST, self.url(path)?, Some(body), None).await?;
        if reply.status == 204 || reply.body.is_empty() { Ok(Value::Null) } else { parse_json(&reply) }
    }

    /// POST a bound action without a body (`Orders(3)/Cancel`); the answer is 204.
    pub async fn post_action(&self, path: &str) -> Result<()> {
        self.execute(Method::POST, self.url(path)?, None, None).await.map(|_| ())
    }

    /// PATCH a JSON body (partial update; never retried blindly).
    pub async fn patch(&self, path: &str, body: &Value) -> Result<()> {
        self.execute(Method::PATCH, self.url(path)?, Some(body), None).await.map(|_| ())
    }

    /// PATCH with `B1S-ReplaceCollectionsOnPatch: true`: collection members the body leaves out are
    /// removed (reference §5), members with their key are updated, members without one added.
    pub async fn patch_replacing_collections(&self, path: &str, body: &Value) -> Result<()> {
        let replace = ("B1S-ReplaceCollectionsOnPatch", HeaderValue::from_static("true"));
        self.execute(Method::PATCH, self.url(path)?, Some(body), Some(replace)).await.map(|_| ())
    }

    /// Ends the session (frees its licence seat); a later call logs in again.
    pub async fn logout(&self) -> Result<()> {
        let _guard = self.inner.login_lock.lock().await;
        let Some(session) = self.inner.session.write().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        let reply = self.send(Method::POST, self.url("Logout")?, None, None, Some(&session)).await?;
        match reply {
            Ok(_) => Ok(()),
            // An already expired session is as good as logged out.
            Err(err) if errors::is_session_expired(&err) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// The length of the request line `GET <path>?<options> HTTP/1.1` a query on `entity` sends, as the
    /// server's front end counts it (percent-encoded, origin-form target).
    fn request_line_len(&self, entity: &str, query: &Query) -> Result<usize> {
        let mut url = self.url(Property::parse(entity)?.as_str())?;
        let options = query.to_query_string();
        url.set_query((!options.is_empty()).then_some(options.as_str()));
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        Ok("GET ".len() + target.len() + " HTTP/1.1".len())
    }

    fn url(&self, path: &str) -> Result<Url> {
        odata::resolve(&self.inner.root, path)
    }

    /// Sends one API request with the session: re-login once on 401/301, and for GETs up to
    /// [`READ_RETRIES`] more attempts on 5xx or transport errors. Writes are never repeated after a
    /// reply other than 401, because a write that timed out at the gateway may have committed.
    async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        extra: Option<ExtraHeader>,
    ) -> Result<Reply> {
        let retries = if method == Method::GET { READ_RETRIES } else { 0 };
        let mut failures = 0;
        let mut relogged = false;
        loop {
            let session = self.session(None).await?;
            let outcome = self.send(method.clone(), url.clone(), body, extra.clone(), Some(&session)).await;
            let err = match outcome {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(err)) if errors::is_session_expired(&err) && !relogged => {
                    relogged = true;
                    self.session(Some(session.generation)).await?;
                    continue;
                }
                Ok(Err(err)) | Err(err) => err,
            };
            let transient = matches!(&err, Error::Transport { .. } | Error::Sap { status: 500.., .. });
            if !transient || failures >= retries {
                return Err(err);
            }
            failures += 1;
            backoff().await;
        }
    }

    /// The current session, logging in when there is none or when `stale` names the generation
    /// that just got a 401 and nobody has replaced it yet.
    async fn session(&self, stale: Option<u64>) -> Result<Arc<Session>> {
        let current = || self.inner.session.read().unwrap_or_else(|p| p.into_inner()).clone();
        if stale.is_none()
            && let Some(session) = current()
        {
            return Ok(session);
        }
        let _guard = self.inner.login_lock.lock().await;
        if let Some(session) = current()
            && Some(session.generation) != stale
        {
            return Ok(session);
        }
        let session = Arc::new(self.login().await?);
        *self.inner.session.write().unwrap_or_else(|p| p.into_inner()) = Some(session.clone());
        Ok(session)
    }

    /// POST /Login; the session id comes from the body, ROUTEID from Set-Cookie (no cookie jar:
    /// `B1SESSION=...;HttpOnly;` is dropped by some jars).
    async fn login(&self) -> Result<Session> {
        let url = self.url("Login")?;
        let mut failures = 0;
        let mut reread = false;
        let reply = loop {
            let password = self.inner.password.read().unwrap_or_else(|p| p.into_inner()).clone();
            let body = json!({
                "CompanyDB": self.inner.company_db,
                "UserName": self.inner.user,
                "Password": password.expose_secret(),
            });
            let err = match self.send(Method::POST, url.clone(), Some(&body), None, None).await {
                Ok(Ok(reply)) => break reply,
                Ok(Err(err)) | Err(err) => err,
            };
            let transient = matches!(&err, Error::Transport { .. } | Error::Sap { status: 500.., .. });
            if transient && failures < READ_RETRIES {
                failures += 1;
                backoff().await;
                continue;
            }
            if transient {
                return Err(err);
            }
            // Refused: believe it only once the secret was read again and had not changed.
            if !std::mem::replace(&mut reread, true)
                && let Some(fresh) = self.reread_password(&password).await
            {
                *self.inner.password.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                continue;
            }
            return Err(login_refused(&err));
        };
        let session_id = parse_json(&reply)?
            .get("SessionId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b';'))
            .map(str::to_string)
            .ok_or_else(|| undecodable("the Login reply has no usable SessionId"))?;
        let mut cookie = format!("B1SESSION={session_id}");
        if let Some(route) = route_id(&reply.headers) {
            cookie.push_str("; ROUTEID=");
            cookie.push_str(&route);
        }
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(generation, "SAP login succeeded");
        Ok(Session { cookie: SecretString::from(cookie), generation })
    }

    /// The password as the secret holds it now, when that differs from `held` (it was rotated).
    async fn reread_password(&self, held: &SecretString) -> Option<SecretString> {
        let source = self.inner.credentials.as_ref()?;
        match source.reread().await {
            Ok(fresh) if crate::ports::credential_changed(held, &fresh) => {
                tracing::info!("SAP refused the login; the secret had changed, logging in with the new one");
                Some(fresh)
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(error = %err, "SAP refused the login and the secret could not be read again");
                None
            }
        }
    }

    /// One HTTP exchange. Outer error: transport; inner error: a non-2xx reply.
    /// `extra`: one more request header (`Prefer`, `B1S-ReplaceCollectionsOnPatch`).
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        extra: Option<ExtraHeader>,
        session: Option<&Session>,
    ) -> Result<Result<Reply>> {
        let entity = entity_of(&url, &self.inner.root);
        let is_login = session.is_none();
        let counter = if is_login { &self.inner.logins } else { &self.inner.requests };
        counter.fetch_add(1, Ordering::Relaxed);
        // reqwest never sends `Expect: 100-continue`, which the SAP load balancer answers with an empty 500.
        let mut request = self.inner.http.request(method.clone(), url).header(header::ACCEPT, "application/json");
        if let Some(session) = session {
            let mut cookie = HeaderValue::from_str(session.cookie.expose_secret())
                .map_err(|_| undecodable("the session id cannot be sent as a cookie"))?;
            cookie.set_sensitive(true);
            request = request.header(header::COOKIE, cookie);
        }
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| Error::Invalid(format!("SAP request body: {e}")))?;
            request = request.header(header::CONTENT_TYPE, "application/json").body(bytes);
        }
        let response = request.send().await.map_err(|e| crate::http::transport("sap", e))?;
        let status = response.status().as_u16();
        tracing::debug!(method = %method, entity, status, "SAP request");
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| crate::http::transport("sap", e))?.to_vec();
        if (200..300).contains(&status) {
            Ok(Ok(Reply { status, headers, body }))
        } else {
            Ok(Err(errors::from_reply(status, &body)))
        }
    }

    /// Configured UDF that carries the opportunity id on Orders, if any.
    fn order_reference_udf(&self) -> Option<&Property> {
        self.inner.order_reference_udf.as_ref()
    }
}

/// `ROUTEID` from `Set-Cookie: ROUTEID=.node1; path=/b1s`.
fn route_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.trim().strip_prefix("ROUTEID="))
        .map(str::to_string)
        .find(|route| !route.is_empty() && route.bytes().all(|b| b.is_ascii_graphic()))
}

/// The entity set a URL addresses, for log lines (never the key or the query, which hold ids).
fn entity_of(url: &Url, root: &Url) -> String {
    let path = url.path().strip_prefix(root.path()).unwrap_or(url.path());
    path.split(['(', '/', '?']).next().unwrap_or_default().to_string()
}

/// SAP refused the credentials themselves (`401` "Fail to get DB Credentials from SLD", a locked
/// user, an unknown company): no record can be written until an operator fixes the set-up.
fn login_refused(err: &Error) -> Error {
    Error::Config(format!(
        "SAP refused the login ({err}); check SAP_USER, SAP_COMPANY_DB and the password in SAP_SECRET_ID"
    ))
}

fn parse_json(reply: &Reply) -> Result<Value> {
    serde_json::from_slice(&reply.body).map_err(|_| undecodable("the reply is not JSON"))
}

fn undecodable(what: &str) -> Error {
    Error::Transport { system: "sap", message: format!("undecodable reply: {what}") }
}

/// 50–200 ms, jittered so concurrent retries do not arrive together.
async fn backoff() {
    let ms = rand::rng().random_range(50..=200);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routeid_is_read_from_set_cookie_and_b1session_is_not() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("B1SESSION=abc;HttpOnly;"));
        headers.append(header::SET_COOKIE, HeaderValue::from_static("ROUTEID=.node3; path=/b1s"));
        assert_eq!(route_id(&headers).as_deref(), Some(".node3"));
        assert_eq!(route_id(&HeaderMap::new()), None);
    }

    #[test]
    fn log_lines_name_the_entity_set_only() {
        let root = Url::parse("https://h:50000/b1s/v2/").unwrap();
        let url = Url::parse("https://h:50000/b1s/v2/BusinessPartners('C1')?$select=CardCode").unwrap();
        assert_eq!(entity_of(&url, &root), "BusinessPartners");
        assert_eq!(entity_of(&Url::parse("https://h:50000/b1s/v2/Orders/$count").unwrap(), &root), "Orders");
    }
}
