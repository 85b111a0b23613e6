//! Salesforce REST v63.0 sandbox: OAuth client credentials, SOQL, sObjects, sObject Collections,
//! `Sforce-Limit-Info`, fault injection, and a change log for generating CDC events.
//!
//! Wire formats follow the handbook's `reference/salesforce.md` (§1, §2, §6, §7).

mod bulk2;
mod describe;
mod error;
mod handlers;
mod ids;
mod query;
mod schema;
mod seed;
mod soql;
mod store;
mod values;

pub use store::{ChangeRecord, ValidationRule};

use crate::faults::{CallCounter, Faults};
use crate::serve::{Served, TlsIdentity, serve};
use error::ApiError;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use store::{Store, WriteContext};

/// The connected app's consumer key the sandbox accepts.
pub const CLIENT_ID: &str = "3MVG9b1force.sandbox.consumer.key";
/// The connected app's consumer secret the sandbox accepts.
pub const CLIENT_SECRET: &str = "b1force-sandbox-consumer-secret";
/// How many query cursors are kept before the oldest is forgotten.
const MAX_CURSORS: usize = 200;

/// How to start the sandbox.
#[derive(Clone)]
pub struct SalesforceOptions {
    /// 0 = any free port.
    pub port: u16,
    /// Serve HTTPS with this certificate instead of HTTP.
    pub tls: Option<TlsIdentity>,
    /// The org's daily API allocation (`Sforce-Limit-Info` max).
    pub api_limit: u64,
    /// Where Salesforce's documented behaviour is uncertain, behave the strict way (issue #12;
    /// `docs/wire-notes.md` §8–9): sObject Collections writes leave CDC `changeOrigin` empty, and an
    /// sObject Collections update naming one record twice fails those records. The default.
    pub strict: bool,
    /// A multi-currency org: Opportunity, OpportunityLineItem and PricebookEntry carry
    /// `CurrencyIsoCode` (corporate currency USD; a line follows its opportunity). Off by default,
    /// and then the field does not exist (SF reference §6: "multi-currency orgs only").
    pub multi_currency: bool,
}

impl Default for SalesforceOptions {
    fn default() -> Self {
        Self { port: 0, tls: None, api_limit: 100_000, strict: true, multi_currency: false }
    }
}

/// The objects with `CurrencyIsoCode` in a multi-currency org (those the sandbox models).
const CURRENCY_OBJECTS: [&str; 3] = ["Opportunity", "OpportunityLineItem", "PricebookEntry"];

/// The system permissions the shipped permission set (`force-app/.../B1Force_Integration`) grants
/// the integration user; `tests/tests/sfdx_metadata.rs` checks the two agree.
pub const INTEGRATION_USER_PERMISSIONS: &[&str] = &["ApiEnabled", "ViewSetup"];

/// A query result being paged through.
#[derive(Clone)]
struct Cursor {
    records: Arc<Vec<Value>>,
    total: usize,
    batch: usize,
}

/// State shared by all handlers.
struct Shared {
    store: Mutex<Store>,
    /// access token → authenticated requests made with it
    tokens: Mutex<HashMap<String, u64>>,
    /// Every token ever issued, expired ones included (for leak checks).
    issued: Mutex<Vec<String>>,
    cursors: Mutex<(HashMap<String, Cursor>, VecDeque<String>)>,
    next_locator: AtomicU64,
    faults: Faults,
    calls: CallCounter,
    api_used: AtomicU64,
    api_max: AtomicU64,
    origin: OnceLock<String>,
    helper_counter: AtomicUsize,
    seeded_accounts: Vec<String>,
    seeded_products: Vec<String>,
    /// See [`SalesforceOptions::strict`].
    strict: bool,
    /// System permissions per user id (`ViewSetup`, ...); the token endpoint runs as [`user_id`].
    permissions: Mutex<HashMap<String, std::collections::BTreeSet<String>>>,
    /// Bulk API 2.0 jobs.
    bulk: Mutex<bulk2::BulkJobs>,
}

/// The sandbox org's id.
fn org_id() -> String {
    ids::make_id("00D", 1)
}

/// The integration user's id.
pub(crate) fn user_id() -> String {
    ids::make_id("005", 1)
}

impl Shared {
    fn origin(&self) -> String {
        self.origin.get().cloned().unwrap_or_default()
    }

    fn issue_token(&self) -> String {
        let secret: String = uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
        let token = format!("{}!AQ{}", &org_id()[..15], &secret[..48]);
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(token.clone(), 0);
        self.issued.lock().unwrap_or_else(|e| e.into_inner()).push(token.clone());
        token
    }

    /// Checks the bearer token; with `expire_sessions_every = N` a token serves N requests.
    fn authenticate(&self, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
        let invalid = || ApiError::new(401, "INVALID_SESSION_ID", "Session expired or invalid");
        let header = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(invalid)?;
        let token =
            header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("OAuth ")).ok_or_else(invalid)?.trim();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let uses = tokens.get_mut(token).ok_or_else(invalid)?;
        *uses += 1;
        if let Some(every) = self.faults.get().expire_sessions_every
            && *uses > every.max(1)
        {
            tokens.remove(token);
            return Err(invalid());
        }
        Ok(())
    }

    /// Counts one API request against the allocation, or refuses it when none is left.
    fn charge_api_call(&self) -> Result<(), ApiError> {
        let max = self.api_max.load(Ordering::SeqCst);
        self.api_used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| (used < max).then_some(used + 1))
            .map(drop)
            .map_err(|_| handlers::request_limit_exceeded())
    }

    fn api_usage(&self) -> (u64, u64) {
        (self.api_used.load(Ordering::SeqCst), self.api_max.load(Ordering::SeqCst))
    }

    fn set_api_usage(&self, used: u64, max: u64) {
        self.api_used.store(used, Ordering::SeqCst);
        self.api_max.store(max, Ordering::SeqCst);
    }

    fn expire_tokens(&self) {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether the user the tokens run as holds `permission`.
    fn user_has(&self, permission: &str) -> bool {
        let permissions = self.permissions.lock().unwrap_or_else(|e| e.into_inner());
        permissions.get(&user_id()).is_some_and(|granted| granted.contains(permission))
    }

    fn limits(&self) -> Value {
        let (used, max) = self.api_usage();
        let unlimited = |max: u64| json!({"Max": max, "Remaining": max});
        let (batches, query_jobs) = {
            let bulk = self.bulk.lock().unwrap_or_else(|e| e.into_inner());
            (bulk.batches_used, bulk.query_jobs_used)
        };
        let remaining = |max: u64, used: u64| json!({"Max": max, "Remaining": max.saturating_sub(used)});
        json!({
            "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
            "DailyBulkApiBatches": remaining(15_000, batches),
            "DailyBulkV2QueryJobs": remaining(10_000, query_jobs),
            "DailyBulkV2QueryFileStorageMB": unlimited(976_562),
            "DataStorageMB": unlimited(1_024),
        })
    }

    /// Rolls the injected UNABLE_TO_LOCK_ROW for one write.
    fn maybe_lock_row(&self) -> Result<(), ApiError> {
        if self.faults.roll(self.faults.get().lock_row_rate) { Err(ApiError::lock_row()) } else { Ok(()) }
    }

    fn write<T>(&self, op: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        op(&mut self.store.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn register_cursor(&self, cursor: Cursor) -> String {
        let locator = ids::make_id("01g", self.next_locator.fetch_add(1, Ordering::SeqCst) + 1);
        let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *cursors;
        map.insert(locator.clone(), cursor);
        order.push_back(locator.clone());
        while order.len() > MAX_CURSORS {
            if let Some(oldest) = order.pop_front() {
                map.remove(&oldest);
            }
        }
        locator
    }

    fn cursor(&self, locator: &str) -> Option<Cursor> {
        self.cursors.lock().unwrap_or_else(|e| e.into_inner()).0.get(locator).cloned()
    }
}

/// A running Salesforce sandbox; stops when dropped.
pub struct SalesforceSandbox {
    shared: Arc<Shared>,
    served: Served,
}

fn helper_context() -> WriteContext {
    WriteContext {
        change_origin: String::new(),
        transaction_key: uuid::Uuid::new_v4().to_string(),
        now_ms: values::now_ms(),
    }
}

fn object_body(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

impl SalesforceSandbox {
    /// Seeds the org and starts serving on 127.0.0.1.
    pub async fn start(opts: SalesforceOptions) -> anyhow::Result<Self> {
        let mut store = Store::default();
        seed::seed(&mut store);
        if !opts.multi_currency {
            for object in CURRENCY_OBJECTS {
                store.security.hide(object, "CurrencyIsoCode");
            }
        }
        let ids_of = |object: &str, take: usize| -> Vec<String> {
            store.all(object).take(take).filter_map(|r| r.get("Id")?.as_str().map(str::to_string)).collect()
        };
        let seeded_accounts = ids_of("Account", seed::CARD_ACCOUNTS + 10);
        let seeded_products = ids_of("Product2", seed::GOOD_PRODUCTS);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            tokens: Mutex::default(),
            issued: Mutex::default(),
            cursors: Mutex::default(),
            next_locator: AtomicU64::new(0),
            faults: Faults::default(),
            calls: CallCounter::default(),
            api_used: AtomicU64::new(0),
            api_max: AtomicU64::new(opts.api_limit),
            origin: OnceLock::new(),
            helper_counter: AtomicUsize::new(0),
            seeded_accounts,
            seeded_products,
            strict: opts.strict,
            permissions: Mutex::new(HashMap::from([(
                user_id(),
                INTEGRATION_USER_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            )])),
            bulk: Mutex::default(),
        });
        let served = serve(handlers::router(shared.clone()), opts.port, opts.tls).await?;
        let _ = shared.origin.set(served.origin());
        Ok(Self { shared, served })
    }

    /// The sandbox origin, used both as the login URL and as the token's `instance_url`.
    pub fn login_url(&self) -> String {
        self.served.origin()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.served.addr.port()
    }

    /// The consumer key the token endpoint accepts.
    pub fn client_id(&self) -> &'static str {
        CLIENT_ID
    }

    /// The consumer secret the token endpoint accepts.
    pub fn client_secret(&self) -> &'static str {
        CLIENT_SECRET
    }

    /// Fault injection settings.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Calls per endpoint (`POST /services/oauth2/token`, `GET query`, `PATCH sobjects/Opportunity`, ...).
    pub fn calls(&self) -> &CallCounter {
        &self.shared.calls
    }

    /// Invalidates every issued access token (the next API call gets 401 INVALID_SESSION_ID).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Every access token issued so far, expired ones included: tests check none of them reaches a log.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the daily API usage reported in `Sforce-Limit-Info`; `used >= max` refuses calls with 403.
    pub fn set_api_usage(&self, used: u64, max: u64) {
        self.shared.set_api_usage(used, max);
    }

    /// `(used, max)` API requests.
    pub fn api_usage(&self) -> (u64, u64) {
        self.shared.api_usage()
    }

    /// Replaces the system permissions of the integration user (the connected app's Run As user),
    /// as an admin editing its permission set would; e.g. without `ViewSetup`, `GET /limits` is refused.
    pub fn set_user_permissions(&self, permissions: &[&str]) {
        let granted = permissions.iter().map(|p| p.to_string()).collect();
        self.shared.permissions.lock().unwrap_or_else(|e| e.into_inner()).insert(user_id(), granted);
    }

    /// Adds a record-triggered flow, as an org admin might: every update of an `object` record also
    /// sets `field` to `value` in the same transaction, so its change event names `field` beside the
    /// writer's fields and carries the writer's `changeOrigin`. Panics on an unknown object or field,
    /// or a value the field cannot hold: it is a test helper.
    pub fn add_flow(&self, object: &str, field: &str, value: impl Into<Value>) {
        let flow = store::FieldFlow::new(object, field, &value.into())
            .unwrap_or_else(|e| panic!("no flow on {object}.{field}: {} {}", e.code, e.message));
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).add_flow(flow);
    }

    /// Creates `n` new Closed Won opportunities, round-robin over the 60 seeded accounts, each with
    /// 1–3 lines of the 40 good products; deterministic across runs. Returns their ids.
    pub fn seed_closed_won(&self, n: usize) -> Vec<String> {
        let accounts = &self.shared.seeded_accounts;
        let products = &self.shared.seeded_products;
        (0..n)
            .map(|_| {
                let k = self.shared.helper_counter.fetch_add(1, Ordering::SeqCst);
                let account = &accounts[k % accounts.len()];
                let lines: Vec<Map<String, Value>> = (0..1 + k % 3)
                    .map(|j| {
                        let index = (k * 7 + j * 11) % products.len();
                        object_body(json!({"Product2Id": products[index], "Quantity": 1 + (k + j) % 4,
                                           "UnitPrice": seed::list_price(index), "SortOrder": j + 1}))
                    })
                    .collect();
                self.insert_opportunity(account, "Closed Won", &format!("Closed Won {}", k + 1), lines)
            })
            .collect()
    }

    /// Creates an opportunity at `stage` on `account_id` with one line per product code (unknown
    /// codes such as `Z99999` included, if the product exists). Panics on an unknown account or product:
    /// it is a test helper.
    pub fn create_opportunity(&self, account_id: &str, stage: &str, product_codes: &[&str]) -> String {
        let k = self.shared.helper_counter.fetch_add(1, Ordering::SeqCst);
        let lines: Vec<Map<String, Value>> = {
            let store = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
            product_codes
                .iter()
                .enumerate()
                .map(|(j, code)| {
                    let product = store.find_by("Product2", "ProductCode", code).into_iter().next();
                    let product = product.unwrap_or_else(|| panic!("no Product2 with ProductCode {code}"));
                    let price = store
                        .all("PricebookEntry")
                        .find(|e| e.get("Product2Id").and_then(Value::as_str) == Some(product.as_str()))
                        .and_then(|e| e.get("UnitPrice").cloned())
                        .unwrap_or(json!(0.0));
                    object_body(
                        json!({"Product2Id": product, "Quantity": 1 + j, "UnitPrice": price, "SortOrder": j + 1}),
                    )
                })
                .collect()
        };
        self.insert_opportunity(account_id, stage, &format!("{stage} {}", k + 1), lines)
    }

    fn insert_opportunity(
        &self,
        account_id: &str,
        stage: &str,
        suffix: &str,
        lines: Vec<Map<String, Value>>,
    ) -> String {
        let mut store = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        let account_name = store
            .get("Account", account_id)
            .and_then(|a| a.get("Name"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no Account {account_id}"))
            .to_string();
        let book = store
            .all("Pricebook2")
            .find(|b| b.get("IsStandard") == Some(&json!(true)))
            .and_then(|b| b.get("Id").cloned());
        let opportunity = object_body(json!({
            "Name": format!("{account_name} - {suffix}"), "AccountId": account_id, "StageName": stage,
            "CloseDate": "2026-11-25", "Pricebook2Id": book,
        }));
        store
            .create_opportunity_with_lines(opportunity, lines, &helper_context())
            .unwrap_or_else(|e| panic!("cannot create opportunity: {} {}", e.code, e.message))
    }

    /// Converts a lead the way the UI's Convert button does; returns (account id, contact id).
    pub fn convert_lead(&self, lead_id: &str) -> anyhow::Result<(String, String)> {
        self.shared
            .write(|store| store.convert_lead(lead_id, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// Creates a record the way a user in the UI would (change origin empty); returns its id.
    pub fn create_record(&self, object: &str, fields: Value) -> anyhow::Result<String> {
        let def = schema::object(object).ok_or_else(|| anyhow::anyhow!("unknown object {object}"))?;
        let body = fields.as_object().cloned().ok_or_else(|| anyhow::anyhow!("fields must be a JSON object"))?;
        self.shared
            .write(|store| store.create(def, body, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// Removes the integration user's access to `object.field` (field-level security): describe
    /// leaves it out, and queries and writes naming it fail as for a field that does not exist.
    pub fn hide_field(&self, object: &str, field: &str) {
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).security.hide(object, field);
    }

    /// Makes `object.field` read-only for the integration user: described neither createable nor
    /// updateable, and a write to it fails `INVALID_FIELD_FOR_INSERT_UPDATE`.
    pub fn make_field_read_only(&self, object: &str, field: &str) {
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).security.make_read_only(object, field);
    }

    /// Takes the record out of the integration user's sight (sharing): queries skip it and a GET
    /// by id answers 404, while it still exists (and changes still raise events).
    pub fn hide_record(&self, id: &str) {
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).security.hide_record(id);
    }

    /// Changes a record the way a user in the UI would (change origin empty).
    pub fn update_record(&self, object: &str, id: &str, fields: Value) -> anyhow::Result<()> {
        let def = schema::object(object).ok_or_else(|| anyhow::anyhow!("unknown object {object}"))?;
        let body = fields.as_object().cloned().ok_or_else(|| anyhow::anyhow!("fields must be a JSON object"))?;
        self.shared
            .write(|store| store.update(def, id, body, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// Deletes a record as a user would (it goes to the recycle bin; a DELETE change event).
    pub fn delete_record(&self, object: &str, id: &str) -> anyhow::Result<()> {
        let def = schema::object(object).ok_or_else(|| anyhow::anyhow!("unknown object {object}"))?;
        self.shared
            .write(|store| store.delete(def, id, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// Merges `losers` into `master` as a user does in the UI (or the SOAP `merge()` call); see
    /// [`store::Store::merge`] for the change events.
    pub fn merge_records(&self, object: &str, master: &str, losers: &[&str]) -> anyhow::Result<()> {
        let def = schema::object(object).ok_or_else(|| anyhow::anyhow!("unknown object {object}"))?;
        let losers: Vec<String> = losers.iter().map(|l| l.to_string()).collect();
        self.shared
            .write(|store| store.merge(def, master, &losers, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// Restores a deleted record from the recycle bin (an UNDELETE change event).
    pub fn undelete_record(&self, object: &str, id: &str) -> anyhow::Result<()> {
        let def = schema::object(object).ok_or_else(|| anyhow::anyhow!("unknown object {object}"))?;
        self.shared
            .write(|store| store.undelete(def, id, &helper_context()))
            .map_err(|e| anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message))
    }

    /// The record as `GET /sobjects/{object}/{id}` returns it, if it exists.
    pub fn record(&self, object: &str, id: &str) -> Option<Value> {
        let def = schema::object(object)?;
        let id = ids::normalize(id)?;
        let store = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        store.get(def.name, &id).map(|r| handlers::record_json(def, r, None, "v63.0"))
    }

    /// Every record of `object`, in creation order.
    pub fn records(&self, object: &str) -> Vec<Value> {
        let Some(def) = schema::object(object) else { return Vec::new() };
        let store = self.shared.store.lock().unwrap_or_else(|e| e.into_inner());
        store.all(def.name).map(|r| handlers::record_json(def, r, None, "v63.0")).collect()
    }

    /// Adds a validation rule, as an org admin would: a create, update or upsert whose resulting
    /// `object` record has `field` equal to `equals` fails with FIELD_CUSTOM_VALIDATION_EXCEPTION,
    /// `message` and fields `[field]` (in a collection, only that record fails). Panics on an unknown
    /// object or field, or a value the field cannot hold: it is a test helper.
    pub fn add_validation_rule(&self, object: &str, field: &str, equals: impl Into<Value>, message: &str) {
        let rule = ValidationRule::new(object, field, &equals.into(), message)
            .unwrap_or_else(|e| panic!("no validation rule on {object}.{field}: {} {}", e.code, e.message));
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).add_rule(rule);
    }

    /// Removes every validation rule.
    pub fn clear_validation_rules(&self) {
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).clear_rules();
    }

    /// Every committed change since start, in commit order.
    pub fn changes(&self) -> Vec<ChangeRecord> {
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner()).changes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    /// A REST client with a token for one sandbox.
    struct Api {
        http: reqwest::Client,
        origin: String,
        token: String,
    }

    /// What a call answered: status, `Sforce-Limit-Info`, body.
    struct Answer {
        status: u16,
        limit_info: String,
        body: Value,
    }

    impl Api {
        async fn connect(sf: &SalesforceSandbox) -> Self {
            let http = reqwest::Client::new();
            let form =
                [("grant_type", "client_credentials"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
            let url = format!("{}/services/oauth2/token", sf.login_url());
            let token: Value = http.post(url).form(&form).send().await.unwrap().json().await.unwrap();
            Self { http, origin: sf.login_url(), token: token["access_token"].as_str().unwrap().to_string() }
        }

        /// `path` below `/services/data/v63.0/`, or from the origin when it starts with `/`.
        async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
            let url = match path.strip_prefix('/') {
                Some(control) => format!("{}/{control}", self.origin),
                None => format!("{}/services/data/v63.0/{path}", self.origin),
            };
            let mut request = self.http.request(method, url).bearer_auth(&self.token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let limit_info = response
                .headers()
                .get("sforce-limit-info")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = response.json().await.unwrap_or(Value::Null);
            Answer { status, limit_info, body }
        }
    }

    fn codes(results: &Value) -> Vec<String> {
        let code = |r: &Value| r["errors"][0]["statusCode"].as_str().unwrap_or("ok").to_string();
        results.as_array().unwrap().iter().map(code).collect()
    }

    #[tokio::test]
    async fn a_platform_event_is_published_by_creating_it_and_is_never_queried_read_or_changed() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        let published =
            api.call(Method::POST, "sobjects/B1Force_Credit_Alert__e", Some(json!({"Card_Code__c": "C20000"}))).await;
        assert_eq!(published.status, 201);
        let id = published.body["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("e00") && published.body["success"] == true, "{}", published.body);
        assert_eq!(api.call(Method::GET, &format!("sobjects/B1Force_Credit_Alert__e/{id}"), None).await.status, 405);
        let patch = Some(json!({"Card_Code__c": "C1"}));
        assert_eq!(api.call(Method::PATCH, &format!("sobjects/B1Force_Credit_Alert__e/{id}"), patch).await.status, 405);
        let query = api.call(Method::GET, "query?q=SELECT+Id+FROM+B1Force_Credit_Alert__e", None).await;
        assert_eq!((query.status, query.body[0]["errorCode"].as_str()), (400, Some("INVALID_TYPE")));
        // No Change Data Capture for events: the change log holds no record of it.
        assert!(sf.changes().iter().all(|c| c.entity != "B1Force_Credit_Alert__e"));
    }

    #[tokio::test]
    async fn a_collection_upsert_sets_parents_by_external_id_and_fails_only_the_records_at_fault() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        let rule =
            json!({"object": "SAP_Invoice__c", "field": "Status__c", "equals": "BAD", "message": "Status is invalid"});
        assert_eq!(api.call(Method::POST, "/__sandbox/validation-rules", Some(rule)).await.status, 200);
        let invoice = |key: &str, card: &str, status: &str| {
            json!({"attributes": {"type": "SAP_Invoice__c"}, "SAP_Document_Key__c": key, "Status__c": status,
                   "Account__r": {"SAP_CardCode__c": card}, "Amount__c": 100})
        };
        let records = [
            invoice("Invoices/1", "C20000", "Open"),
            invoice("Invoices/2", "C99999", "Open"),
            invoice("Invoices/3", "C20001", "BAD"),
            invoice("Invoices/4", "c20002", "Open"),
        ];
        let body = json!({"allOrNone": false, "records": records});
        let answer = api.call(Method::PATCH, "composite/sobjects/SAP_Invoice__c/SAP_Document_Key__c", Some(body)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(codes(&answer.body), ["ok", "INVALID_FIELD", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "ok"]);
        assert_eq!(
            answer.body[1]["errors"][0]["message"],
            "Foreign key external ID: C99999 not found for field SAP_CardCode__c in entity Account"
        );
        assert_eq!(
            answer.body[2]["errors"][0],
            json!({"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                   "message": "Status is invalid", "fields": ["Status__c"]})
        );
        let stored = sf.record("SAP_Invoice__c", answer.body[0]["id"].as_str().unwrap()).unwrap();
        let account = sf.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20000").unwrap();
        assert_eq!(stored["Account__c"], account["Id"]);
        assert_eq!(sf.records("SAP_Invoice__c").len(), 2);

        sf.add_validation_rule("Account", "Phone", "BAD", "Phone is invalid");
        let account = |code: &str, phone: &str| json!({"attributes": {"type": "Account"}, "SAP_CardCode__c": code, "Name": code, "Phone": phone});
        let body = json!({"allOrNone": false, "records": [account("C20000", "BAD"), account("N1", "+1 1")]});
        let path = "composite/sobjects/Account/SAP_CardCode__c";
        let answer = api.call(Method::PATCH, path, Some(body.clone())).await;
        assert_eq!(codes(&answer.body), ["FIELD_CUSTOM_VALIDATION_EXCEPTION", "ok"]);
        assert_eq!(api.call(Method::GET, "/__sandbox/validation-rules", None).await.body.as_array().unwrap().len(), 2);
        assert_eq!(api.call(Method::POST, "/__sandbox/validation-rules", Some(json!([]))).await.body, json!([]));
        assert_eq!(codes(&api.call(Method::PATCH, path, Some(body.clone())).await.body), ["ok", "ok"]);
        sf.add_validation_rule("Account", "Phone", "+1 1", "again");
        assert_eq!(api.call(Method::DELETE, "/__sandbox/validation-rules", None).await.status, 204);
        assert_eq!(codes(&api.call(Method::PATCH, path, Some(body)).await.body), ["ok", "ok"]);
        let bad_rule = json!({"object": "Account", "field": "Nope", "equals": 1, "message": "m"});
        assert_eq!(api.call(Method::POST, "/__sandbox/validation-rules", Some(bad_rule)).await.status, 400);
    }

    #[tokio::test]
    async fn all_or_none_rolls_back_every_record_of_a_collection_when_one_fails() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        let (accounts, changes) = (sf.records("Account"), sf.changes().len());
        let records = [
            json!({"attributes": {"type": "Account"}, "Name": "Kept?", "SAP_CardCode__c": "N1"}),
            json!({"attributes": {"type": "Account"}, "Phone": "no name"}),
        ];
        let body = json!({"allOrNone": true, "records": records});
        let answer = api.call(Method::POST, "composite/sobjects", Some(body)).await;
        assert_eq!(codes(&answer.body), ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING"]);
        assert_eq!((sf.records("Account"), sf.changes().len()), (accounts, changes));
        let upsert = json!({"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "SAP_CardCode__c": "N1", "Name": "N"}]});
        let answer = api.call(Method::PATCH, "composite/sobjects/Account/SAP_CardCode__c", Some(upsert)).await;
        assert_eq!(answer.body[0]["created"], true, "the rolled-back record left no trace in the external id index");
    }

    #[tokio::test]
    async fn an_exhausted_allocation_refuses_every_call_and_each_call_served_is_counted() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        sf.set_api_usage(5, 5);
        for (method, path) in [
            (Method::GET, "limits"),
            (Method::GET, "query?q=SELECT+Id+FROM+Account"),
            (Method::PATCH, "sobjects/Account/SAP_CardCode__c/C20000"),
        ] {
            let answer = api.call(method, path, Some(json!({"Name": "x"}))).await;
            assert_eq!(answer.status, 403, "{path}");
            assert_eq!(
                answer.body,
                json!([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}])
            );
            assert_eq!(answer.limit_info, "api-usage=5/5");
        }
        assert_eq!(sf.api_usage(), (5, 5), "refused calls are not counted");
        sf.set_api_usage(3, 10);
        let answer = api.call(Method::GET, "query?q=SELECT+Id+FROM+Account+LIMIT+1", None).await;
        assert_eq!((answer.status, answer.limit_info.as_str()), (200, "api-usage=4/10"));
        let answer = api.call(Method::GET, "limits", None).await;
        assert_eq!((answer.status, answer.limit_info.as_str()), (200, "api-usage=5/10"));
        assert_eq!(answer.body["DailyApiRequests"], json!({"Max": 10, "Remaining": 5}));
        assert_eq!(sf.api_usage(), (5, 10));
    }

    /// Sends `Sforce-Call-Options: client=b1force` as our client does on every write.
    async fn tagged(api: &Api, method: Method, path: &str, body: Value) -> Answer {
        let url = format!("{}/services/data/v63.0/{path}", api.origin);
        let request =
            api.http.request(method, url).bearer_auth(&api.token).header("Sforce-Call-Options", "client=b1force");
        let response = request.json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        Answer { status, limit_info: String::new(), body: response.json().await.unwrap_or(Value::Null) }
    }

    /// The changeOrigin of every change logged since `from`.
    fn origins_since(sf: &SalesforceSandbox, from: usize) -> Vec<String> {
        sf.changes().into_iter().skip(from).map(|c| c.change_origin).collect()
    }

    #[tokio::test]
    async fn strict_collection_writes_leave_change_origin_empty_while_single_record_writes_keep_the_tag() {
        for strict in [true, false] {
            let sf = SalesforceSandbox::start(SalesforceOptions { strict, ..Default::default() }).await.unwrap();
            let api = Api::connect(&sf).await;
            let account = sf.records("Account")[0]["Id"].as_str().unwrap().to_string();
            let from = sf.changes().len();
            let one =
                tagged(&api, Method::PATCH, &format!("sobjects/Account/{account}"), json!({"Phone": "+1 1"})).await;
            assert_eq!(one.status, 204);
            let records = json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Id": account, "Phone": "+1 2"}]});
            assert_eq!(codes(&tagged(&api, Method::PATCH, "composite/sobjects", records).await.body), ["ok"]);
            let upsert = json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "SAP_CardCode__c": "N9", "Name": "N9"}]});
            let path = "composite/sobjects/Account/SAP_CardCode__c";
            assert_eq!(codes(&tagged(&api, Method::PATCH, path, upsert).await.body), ["ok"]);
            let tag = "com/salesforce/api/rest/63.0;client=b1force".to_string();
            let collections = if strict { String::new() } else { tag.clone() };
            assert_eq!(origins_since(&sf, from), [tag, collections.clone(), collections], "strict = {strict}");
        }
    }

    #[tokio::test]
    async fn a_strict_collection_update_naming_one_record_twice_fails_both_and_applies_the_rest() {
        for strict in [true, false] {
            let sf = SalesforceSandbox::start(SalesforceOptions { strict, ..Default::default() }).await.unwrap();
            let api = Api::connect(&sf).await;
            let ids: Vec<String> =
                sf.records("Account").iter().take(2).map(|a| a["Id"].as_str().unwrap().to_string()).collect();
            let update = |id: &str, phone: &str| json!({"attributes": {"type": "Account"}, "Id": id, "Phone": phone});
            // The second names the first by its 15-character form: still the same record.
            let body = json!({"allOrNone": false, "records": [
                update(&ids[0], "+1 1"), update(&ids[0][..15], "+1 2"), update(&ids[1], "+1 3")]});
            let answer = api.call(Method::PATCH, "composite/sobjects", Some(body)).await;
            assert_eq!(answer.status, 200);
            if strict {
                assert_eq!(codes(&answer.body), ["INVALID_FIELD", "INVALID_FIELD", "ok"]);
                assert_eq!(answer.body[0]["errors"][0]["message"], format!("Duplicate id in list: {}", ids[0]));
                assert_eq!(sf.record("Account", &ids[0]).unwrap()["Phone"], sf.records("Account")[0]["Phone"]);
                assert_ne!(sf.record("Account", &ids[0]).unwrap()["Phone"], "+1 2");
            } else {
                assert_eq!(codes(&answer.body), ["ok", "ok", "ok"]);
            }
            assert_eq!(sf.record("Account", &ids[1]).unwrap()["Phone"], "+1 3");
        }
    }

    #[tokio::test]
    async fn limits_answers_only_a_user_with_view_setup_and_configuration() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        assert_eq!(api.call(Method::GET, "limits", None).await.status, 200, "the shipped permission set grants it");
        sf.set_user_permissions(&["ApiEnabled"]);
        let answer = api.call(Method::GET, "limits", None).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body[0]["errorCode"], "INSUFFICIENT_ACCESS");
        assert!(answer.limit_info.starts_with("api-usage="), "a refusal still reports the API usage");
        assert_eq!(api.call(Method::GET, "query?q=SELECT+Id+FROM+Account+LIMIT+1", None).await.status, 200);
        sf.set_user_permissions(INTEGRATION_USER_PERMISSIONS);
        assert_eq!(api.call(Method::GET, "limits", None).await.status, 200);
    }

    #[tokio::test]
    async fn a_flow_adds_its_field_to_the_change_event_of_the_writers_update() {
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
        let api = Api::connect(&sf).await;
        sf.add_flow("Account", "Description", "touched by a flow");
        let account = sf.records("Account")[0]["Id"].as_str().unwrap().to_string();
        let from = sf.changes().len();
        let answer =
            tagged(&api, Method::PATCH, &format!("sobjects/Account/{account}"), json!({"Phone": "+1 7"})).await;
        assert_eq!(answer.status, 204);
        let change = sf.changes().into_iter().nth(from).unwrap();
        assert_eq!(change.changed_fields, ["Description", "LastModifiedDate", "Phone"]);
        assert_eq!(change.values["Description"], "touched by a flow");
        assert!(change.change_origin.ends_with(";client=b1force"), "the flow runs in the writer's transaction");
    }
}
