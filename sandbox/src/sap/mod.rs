//! SAP Business One Service Layer sandbox (OData v4 at `/b1s/v2`): Login/Logout with B1SESSION and
//! ROUTEID cookies; BusinessPartners (contacts, addresses), Items (prices, warehouse stock),
//! PriceLists, Orders, DeliveryNotes, Invoices, CreditNotes and IncomingPayments with a seeded
//! history (see [`seed`]); UserFieldsMD (UDF definitions); OData query options and server paging,
//! ETags, the documented error bodies, fault injection and per-endpoint call counters.

mod collections;
mod documents;
mod entities;
mod handlers;
mod metadata;
mod odata_filter;
mod pricing;
mod query;
pub mod seed;
mod select;
mod store;
mod user_fields;

pub use handlers::LIMIT_REQUEST_LINE;

use crate::faults::{CallCounter, Faults};
use crate::serve::{Served, TlsIdentity, serve};
use entities::{EntitySet, Key, SapError, Stamp};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use store::{PatchOptions, Store};
use user_fields::UserFields;

/// The company database the sandbox accepts at Login.
pub const COMPANY_DB: &str = "SBODEMOUS";
/// The user the sandbox accepts at Login.
pub const USER: &str = "manager";
/// The fixed sandbox password (a local test server's, not a secret).
pub const PASSWORD: &str = "B1Force-sandbox-1234";

/// How to run the SAP sandbox.
#[derive(Clone)]
pub struct SapOptions {
    /// 0 = any free port.
    pub port: u16,
    /// Serve HTTPS with this certificate when set.
    pub tls: Option<TlsIdentity>,
    /// Inactivity timeout of a session (sliding), in minutes; reported as `SessionTimeout` at Login.
    pub session_timeout_minutes: u64,
    /// Rows per page when the client asks for none (`Prefer: odata.maxpagesize` / `B1S-PageSize`).
    pub default_page_size: usize,
    /// Whether UserFieldsMD starts with the B1Force UDF definitions (`b1force setup sap` has run) or
    /// without them (a fresh company). Entities carry their `U_SF_*` properties either way.
    pub udfs_installed: bool,
}

impl Default for SapOptions {
    fn default() -> Self {
        Self { port: 0, tls: None, session_timeout_minutes: 30, default_page_size: 20, udfs_installed: true }
    }
}

/// Live sessions by id, with their last use (the timeout slides with every request).
struct Sessions {
    last_used: HashMap<String, Instant>,
    timeout: Duration,
    /// Authenticated API requests so far, for `expire_sessions_every`.
    authenticated: u64,
    /// Every session id ever issued, so tests can check none of them leaks into logs.
    issued: Vec<String>,
}

impl Sessions {
    fn open(&mut self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.last_used.insert(id.clone(), Instant::now());
        self.issued.push(id.clone());
        id
    }

    /// True (and the session refreshed) when `id` is live; an expired one is forgotten.
    fn touch(&mut self, id: &str) -> bool {
        let now = Instant::now();
        match self.last_used.get_mut(id) {
            Some(last) if now.duration_since(*last) < self.timeout => {
                *last = now;
                true
            }
            Some(_) => {
                self.last_used.remove(id);
                false
            }
            None => false,
        }
    }
}

/// Everything the handlers share.
pub(crate) struct SapState {
    store: Mutex<Store>,
    user_fields: Mutex<UserFields>,
    sessions: Mutex<Sessions>,
    faults: Faults,
    calls: CallCounter,
    default_page_size: usize,
    session_timeout_minutes: u64,
    /// `http://127.0.0.1:PORT`, known once the listener is bound.
    origin: OnceLock<String>,
    /// A frozen clock for writes (tests); `None` = the system clock.
    frozen_clock: Mutex<Option<Stamp>>,
    /// The company's zone: B1 stamps writes in local wall-clock time (UTC unless set).
    time_zone: Mutex<jiff::tz::TimeZone>,
    /// Property types this company's `$metadata` declares differently (tests).
    redeclared: Mutex<metadata::Redeclared>,
    /// Records the server fails to serve, as (entity set, key): a fault injector (tests).
    unreadable: Mutex<std::collections::BTreeSet<(String, String)>>,
}

impl SapState {
    /// The moment of a write.
    fn now(&self) -> Stamp {
        if let Some(frozen) = self.frozen_clock.lock().unwrap().clone() {
            return frozen;
        }
        self.stamp_at(jiff::Timestamp::now())
    }

    /// The wall-clock stamp B1 gives a write at `at`, in the company's zone.
    fn stamp_at(&self, at: jiff::Timestamp) -> Stamp {
        let local = self.time_zone.lock().unwrap().to_datetime(at);
        Stamp { date: format!("{}T00:00:00Z", local.date()), time: local.time().strftime("%H:%M:%S").to_string() }
    }

    fn base_url(&self) -> String {
        format!("{}/b1s/v2", self.origin.get().map(String::as_str).unwrap_or(""))
    }

    fn expire_sessions(&self) {
        self.sessions.lock().unwrap().last_used.clear();
    }
}

/// A store error as the Rust helpers report it.
fn helper_error(e: SapError) -> anyhow::Error {
    anyhow::anyhow!("{} {}: {}", e.status, e.code, e.message)
}

/// A running SAP Service Layer sandbox; stops when dropped.
pub struct SapSandbox {
    served: Served,
    state: Arc<SapState>,
}

impl SapSandbox {
    /// Starts the sandbox on 127.0.0.1 with the seed catalogue.
    pub async fn start(opts: SapOptions) -> anyhow::Result<SapSandbox> {
        let state = Arc::new(SapState {
            store: Mutex::new(Store::seeded()),
            user_fields: Mutex::new(UserFields::new(opts.udfs_installed)),
            sessions: Mutex::new(Sessions {
                last_used: HashMap::new(),
                timeout: Duration::from_secs(opts.session_timeout_minutes * 60),
                authenticated: 0,
                issued: Vec::new(),
            }),
            faults: Faults::default(),
            calls: CallCounter::default(),
            default_page_size: opts.default_page_size,
            session_timeout_minutes: opts.session_timeout_minutes,
            origin: OnceLock::new(),
            frozen_clock: Mutex::new(None),
            time_zone: Mutex::new(jiff::tz::TimeZone::UTC),
            redeclared: Mutex::new(metadata::Redeclared::new()),
            unreadable: Mutex::new(std::collections::BTreeSet::new()),
        });
        let served = serve(handlers::router(state.clone()), opts.port, opts.tls).await?;
        let _ = state.origin.set(served.origin());
        Ok(SapSandbox { served, state })
    }

    /// `<origin>/b1s/v2`.
    pub fn base_url(&self) -> String {
        format!("{}/b1s/v2", self.served.origin())
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`): where `/__sandbox/*` lives.
    pub fn origin(&self) -> String {
        self.served.origin()
    }

    /// The company database to log in to.
    pub fn company_db(&self) -> &'static str {
        COMPANY_DB
    }

    /// The user to log in as.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// The sandbox password.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// Fault injection for API requests.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Requests per endpoint (`POST /Login`, `GET /Orders`, ...).
    pub fn calls(&self) -> &CallCounter {
        &self.state.calls
    }

    /// A fault: the server fails to serve this record (a row B1 cannot serialise, damaged data). Every
    /// read it would be part of answers 400 `-1`, so a query naming it with other keys fails for all
    /// of them, and a page holding it fails whole. A modelled fault, not a documented behaviour: the
    /// strict side of what a damaged record does to a read (docs/wire-notes.md).
    pub fn make_unreadable(&self, entity_set: &str, key: &str) {
        self.state.unreadable.lock().unwrap().insert((entity_set.to_string(), key.to_string()));
    }

    /// Turns the company's approval procedure on sales orders on or off: while on, `POST /Orders`
    /// saves a pending draft in `Drafts` instead of an order.
    pub fn set_order_approval(&self, on: bool) {
        self.state.store.lock().unwrap().order_approval = on;
    }

    /// The approver accepts order draft `draft_entry`: the order is created from it. Its DocEntry.
    pub fn approve_order_draft(&self, draft_entry: i64) -> anyhow::Result<i64> {
        let order = self
            .state
            .store
            .lock()
            .unwrap()
            .approve_order_draft(draft_entry, &self.state.now())
            .map_err(helper_error)?;
        order["DocEntry"].as_i64().ok_or_else(|| anyhow::anyhow!("the order has no DocEntry"))
    }

    /// The approver rejects order draft `draft_entry`.
    pub fn reject_order_draft(&self, draft_entry: i64) -> anyhow::Result<()> {
        self.state.store.lock().unwrap().reject_order_draft(draft_entry, &self.state.now()).map_err(helper_error)
    }

    /// Invalidates every session: the next request of each client gets 401 / code 301.
    pub fn expire_sessions(&self) {
        self.state.expire_sessions();
    }

    /// Every B1SESSION id issued so far (live or not).
    pub fn session_ids(&self) -> Vec<String> {
        self.state.sessions.lock().unwrap().issued.clone()
    }

    /// Number of live sessions (a logout removes one).
    pub fn active_sessions(&self) -> usize {
        self.state.sessions.lock().unwrap().last_used.len()
    }

    /// Sales orders created since start, in DocEntry order (the seeded history is in [`Self::documents`]).
    pub fn orders(&self) -> Vec<Value> {
        self.state.store.lock().unwrap().rows_after_history(EntitySet::Orders)
    }

    /// Every row of an entity set by its URL name (`Invoices`, `IncomingPayments`, ...), seed included, in key order.
    pub fn documents(&self, entity_set: &str) -> Vec<Value> {
        EntitySet::from_name(entity_set).map(|set| self.state.store.lock().unwrap().rows(set)).unwrap_or_default()
    }

    /// One document or payment of an entity set by its URL name, by DocEntry, as stored.
    pub fn document(&self, entity_set: &str, doc_entry: i64) -> Option<Value> {
        let set = EntitySet::from_name(entity_set)?;
        self.state.store.lock().unwrap().get(set, &Key::Int(doc_entry)).ok().cloned()
    }

    /// Changes a record as an SAP user would in the B1 client: a PATCH without If-Match, stamped
    /// with the sandbox clock (new UpdateDate/UpdateTime when anything changed; new DataVersion always).
    /// `key` is the CardCode/ItemCode, or the DocEntry as text.
    pub fn user_update(&self, entity_set: &str, key: &str, changes: Value) -> anyhow::Result<()> {
        let set = EntitySet::from_name(entity_set).ok_or_else(|| anyhow::anyhow!("no entity set {entity_set}"))?;
        let key = if set.has_int_key() { Key::Int(key.parse()?) } else { Key::Text(key.to_string()) };
        let now = self.state.now();
        self.state.store.lock().unwrap().patch(set, &key, changes, PatchOptions::default(), &now).map_err(helper_error)
    }

    /// [`Self::user_update`] with the document's lines replaced by those in `changes` (`B1S-ReplaceCollectionsOnPatch`):
    /// lines left out are removed, as deleting rows in the B1 client does.
    pub fn user_update_replacing_lines(&self, entity_set: &str, doc_entry: i64, changes: Value) -> anyhow::Result<()> {
        let set = EntitySet::from_name(entity_set).ok_or_else(|| anyhow::anyhow!("no entity set {entity_set}"))?;
        let now = self.state.now();
        let options = PatchOptions { replace_collections: true, ..PatchOptions::default() };
        self.state.store.lock().unwrap().patch(set, &Key::Int(doc_entry), changes, options, &now).map_err(helper_error)
    }

    /// Posts a stock movement of `delta` units of `item_code` in warehouse 01, as a goods receipt
    /// (positive) or issue (negative) would: the stock figures change, the item's UpdateDate does not.
    pub fn move_stock(&self, item_code: &str, delta: f64) -> anyhow::Result<()> {
        self.state.store.lock().unwrap().post_stock(item_code, delta).map_err(helper_error)
    }

    /// Sets `item_code`'s price in price list `price_list`, as the B1 price list window does: the item's
    /// UpdateDate does not change.
    pub fn set_price(&self, item_code: &str, price_list: i64, price: f64) -> anyhow::Result<()> {
        self.state.store.lock().unwrap().set_price(item_code, price_list, price).map_err(helper_error)
    }

    /// Freezes the clock that stamps writes at `YYYY-MM-DDTHH:MM:SS` (UTC); `None` returns to the system clock.
    pub fn set_clock(&self, at: Option<&str>) -> anyhow::Result<()> {
        let frozen = match at {
            None => None,
            Some(at) => {
                let (day, time) =
                    at.split_once('T').ok_or_else(|| anyhow::anyhow!("{at} is not YYYY-MM-DDTHH:MM:SS"))?;
                let valid = odata_filter::normalize_date(at).is_some() && time.len() == 8;
                anyhow::ensure!(valid, "{at} is not YYYY-MM-DDTHH:MM:SS");
                Some(Stamp::at(day, time))
            }
        };
        *self.state.frozen_clock.lock().unwrap() = frozen;
        Ok(())
    }

    /// Sets the company's time zone (an IANA name): writes are stamped in its local time, as B1
    /// stamps UpdateDate/UpdateTime in the server's local time, repeating an hour when the clocks go back.
    pub fn set_time_zone(&self, name: &str) -> anyhow::Result<()> {
        *self.state.time_zone.lock().unwrap() = jiff::tz::TimeZone::get(name)?;
        Ok(())
    }

    /// Declares `property` of `entity_set`'s entity type as `type_name` (`Edm.String`, ...) in
    /// `$metadata`, and type-checks `$filter` literals against that: a server that judges the
    /// client's literal form wrong.
    pub fn redeclare_property(&self, entity_set: &str, property: &str, type_name: &str) -> anyhow::Result<()> {
        let set = EntitySet::from_name(entity_set).ok_or_else(|| anyhow::anyhow!("no entity set {entity_set}"))?;
        let edm = metadata::scalar(type_name).ok_or_else(|| anyhow::anyhow!("{type_name} is not a scalar Edm type"))?;
        self.state.redeclared.lock().unwrap().insert((set.type_name().to_string(), property.to_string()), edm);
        Ok(())
    }

    /// Freezes the clock that stamps writes at the instant `epoch_ms`, shown in the company's zone.
    pub fn set_clock_instant(&self, epoch_ms: i64) -> anyhow::Result<()> {
        let stamp = self.state.stamp_at(jiff::Timestamp::from_millisecond(epoch_ms)?);
        *self.state.frozen_clock.lock().unwrap() = Some(stamp);
        Ok(())
    }

    /// One business partner as stored.
    pub fn business_partner(&self, card_code: &str) -> Option<Value> {
        self.row(EntitySet::BusinessPartners, card_code)
    }

    /// One item as stored.
    pub fn item(&self, item_code: &str) -> Option<Value> {
        self.row(EntitySet::Items, item_code)
    }

    /// Inserts or replaces a business partner as given (it must carry `CardCode`).
    pub fn insert_business_partner(&self, row: Value) {
        self.state.store.lock().unwrap().insert(EntitySet::BusinessPartners, row);
    }

    /// Inserts or replaces an item as given (it must carry `ItemCode`).
    pub fn insert_item(&self, row: Value) {
        self.state.store.lock().unwrap().insert(EntitySet::Items, row);
    }

    /// Creates `n` customers `B000001`, `B000002`, ... stamped with the sandbox clock (see [`Self::set_clock`]),
    /// as if just changed in SAP; returns their CardCodes. Fast: no HTTP, for benchmarks.
    pub fn seed_changed_business_partners(&self, n: usize) -> Vec<String> {
        let now = self.state.now();
        seed::changed_business_partners(&mut self.state.store.lock().unwrap(), n, &now)
    }

    /// Creates `n` open A/R invoices stamped with the sandbox clock, round-robin over `card_codes`;
    /// returns their DocEntries. Fast: no HTTP, for benchmarks. Panics on an unknown CardCode.
    pub fn seed_changed_invoices(&self, n: usize, card_codes: &[String]) -> Vec<i64> {
        let now = self.state.now();
        seed::changed_invoices(&mut self.state.store.lock().unwrap(), n, card_codes, &now)
    }

    /// Every UDF definition in UserFieldsMD, in (TableName, FieldID) order.
    pub fn user_fields(&self) -> Vec<Value> {
        self.state.user_fields.lock().unwrap().rows().to_vec()
    }

    fn row(&self, set: EntitySet, code: &str) -> Option<Value> {
        self.state.store.lock().unwrap().get(set, &Key::Text(code.to_string())).ok().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// GETs `<base>/<path_and_query>` with a session, as the sap-poller does; returns the `value` rows.
    async fn rows(http: &reqwest::Client, sap: &SapSandbox, session: &str, path_and_query: &str) -> Vec<Value> {
        let response = http
            .get(format!("{}/{path_and_query}", sap.base_url()))
            .header("Cookie", format!("B1SESSION={session}"))
            .header("Prefer", "odata.maxpagesize=100")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path_and_query}");
        let body: Value = response.json().await.unwrap();
        assert!(body.get("@odata.nextLink").is_none(), "$top fits the page: no nextLink");
        body["value"].as_array().unwrap().clone()
    }

    /// Under an approval procedure `POST /Orders` saves a draft and answers -2028 (or 204 with
    /// `Prefer: return-no-content`), as REF 1.27 documents; the draft is found in `Drafts`, has no
    /// effect on balances, and becomes an order carrying the opportunity id once approved.
    #[tokio::test]
    async fn an_order_under_approval_becomes_a_pending_draft_then_an_order_when_approved() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        sap.set_order_approval(true);
        let http = reqwest::Client::new();
        let login = json!({"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD});
        let login: Value =
            http.post(format!("{}/Login", sap.base_url())).json(&login).send().await.unwrap().json().await.unwrap();
        let cookie = format!("B1SESSION={}", login["SessionId"].as_str().unwrap());
        let balance_before = sap.business_partner("C20000").unwrap()["OpenOrdersBalance"].clone();
        let order = |opp: &str| {
            json!({"CardCode": "C20000", "DocDueDate": "2026-12-31", "NumAtCard": opp, "U_SF_OpportunityId": opp,
                   "DocumentLines": [{"ItemCode": "A00001", "Quantity": 2, "UnitPrice": 10.0}]})
        };
        let post = |body: Value, prefer: bool| {
            let mut request = http.post(format!("{}/Orders", sap.base_url())).header("Cookie", &cookie).json(&body);
            if prefer {
                request = request.header("Prefer", "return-no-content");
            }
            request.send()
        };
        let plain = post(order("006000000000001"), false).await.unwrap();
        assert_eq!(plain.status(), 400);
        let error: Value = plain.json().await.unwrap();
        assert_eq!(error["error"]["code"], "-2028", "{error}");
        let quiet = post(order("006000000000002"), true).await.unwrap();
        assert_eq!(quiet.status(), 204);
        assert!(quiet.headers().get("location").is_none(), "where a draft's Location points is not documented");
        assert!(sap.orders().is_empty(), "no order until approved");
        let drafts = sap.documents("Drafts");
        assert_eq!(drafts.len(), 2, "the -2028 answer still saved its draft");
        assert!(drafts.iter().all(|d| d["AuthorizationStatus"] == "dasPending" && d["DocObjectCode"] == "oOrders"));
        assert_eq!(sap.business_partner("C20000").unwrap()["OpenOrdersBalance"], balance_before);
        let found = rows(
            &http,
            &sap,
            &cookie["B1SESSION=".len()..],
            "Drafts?$filter=U_SF_OpportunityId%20eq%20'006000000000002'&$select=DocEntry,AuthorizationStatus",
        )
        .await;
        assert_eq!(found.len(), 1);

        let order_entry = sap.approve_order_draft(drafts[0]["DocEntry"].as_i64().unwrap()).unwrap();
        let approved = sap.document("Orders", order_entry).unwrap();
        assert_eq!(approved["U_SF_OpportunityId"], "006000000000001");
        assert_eq!(approved["DocTotal"], 20.0);
        assert_eq!(
            sap.document("Drafts", drafts[0]["DocEntry"].as_i64().unwrap()).unwrap()["AuthorizationStatus"],
            "dasGenerated"
        );
        sap.reject_order_draft(drafts[1]["DocEntry"].as_i64().unwrap()).unwrap();
        assert_eq!(
            sap.document("Drafts", drafts[1]["DocEntry"].as_i64().unwrap()).unwrap()["AuthorizationStatus"],
            "dasRejected"
        );
        assert!(
            sap.approve_order_draft(drafts[1]["DocEntry"].as_i64().unwrap()).is_err(),
            "a rejected draft stays rejected"
        );
        sap.set_order_approval(false);
        assert_eq!(post(order("006000000000003"), false).await.unwrap().status(), 201);
    }

    #[tokio::test]
    async fn seeded_changes_page_by_keyset_and_read_back_in_key_batches_over_http() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        sap.set_clock(Some("2026-11-26T07:30:00")).unwrap();
        let codes = sap.seed_changed_business_partners(250);
        let entries = sap.seed_changed_invoices(150, &codes);
        let http = reqwest::Client::new();
        let login = json!({"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD});
        let login = http.post(format!("{}/Login", sap.base_url())).json(&login).send().await.unwrap();
        let login: Value = login.json().await.unwrap();
        let session = login["SessionId"].as_str().unwrap().to_string();

        let order =
            "$orderby=UpdateDate asc,UpdateTime asc,CardCode asc&$select=CardCode,UpdateDate,UpdateTime&$top=100";
        let mut filter = "UpdateDate ge 2026-11-26T00:00:00Z".to_string();
        let mut paged = Vec::new();
        loop {
            let page = rows(&http, &sap, &session, &format!("BusinessPartners?$filter={filter}&{order}")).await;
            let Some(last) = page.last() else { break };
            filter = format!(
                "(UpdateDate gt 2026-11-26T00:00:00Z) or (UpdateDate eq 2026-11-26T00:00:00Z and UpdateTime gt 07:30:00) or \
                 (UpdateDate eq 2026-11-26T00:00:00Z and UpdateTime eq 07:30:00 and CardCode gt '{}')",
                last["CardCode"].as_str().unwrap()
            );
            paged.extend(page.iter().map(|r| r["CardCode"].as_str().unwrap().to_string()));
        }
        assert_eq!(paged, codes, "every changed partner once, in key order (one timestamp)");

        let batch: Vec<String> = codes[100..200].iter().map(|c| format!("CardCode eq '{c}'")).collect();
        let query =
            format!("BusinessPartners?$filter={}&$select=CardCode,CurrentAccountBalance&$top=100", batch.join(" or "));
        let found = rows(&http, &sap, &session, &query).await;
        let found: Vec<&str> = found.iter().map(|r| r["CardCode"].as_str().unwrap()).collect();
        assert_eq!(found, codes[100..200]);

        let batch: Vec<String> = entries[..100].iter().map(|e| format!("DocEntry eq {e}")).collect();
        let query = format!("Invoices?$filter={}&$select=DocEntry,DocTotal&$top=100", batch.join(" or "));
        let found: Vec<i64> =
            rows(&http, &sap, &session, &query).await.iter().map(|r| r["DocEntry"].as_i64().unwrap()).collect();
        assert_eq!(found, entries[..100]);
    }

    async fn login(http: &reqwest::Client, sap: &SapSandbox) -> String {
        let login = json!({"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD});
        let login = http.post(format!("{}/Login", sap.base_url())).json(&login).send().await.unwrap();
        let login: Value = login.json().await.unwrap();
        login["SessionId"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn user_fields_md_is_queried_by_table_and_name_and_a_duplicate_post_is_refused() {
        let sap = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await.unwrap();
        let http = reqwest::Client::new();
        let session = login(&http, &sap).await;
        let cookie = format!("B1SESSION={session}");
        let wanted = "UserFieldsMD?$filter=(TableName eq 'OCRD' and Name eq 'SF_AccountId') or \
                      (TableName eq 'ORDR' and Name eq 'SF_OpportunityId')&$select=TableName,Name,Type,Size,FieldID";
        assert!(rows(&http, &sap, &session, wanted).await.is_empty(), "a fresh company has no B1Force UDFs");

        let definition = json!({"Name": "SF_AccountId", "Type": "db_Alpha", "Size": 18, "TableName": "OCRD",
                                "Description": "Salesforce Account Id (B1Force)"});
        let post = || http.post(format!("{}/UserFieldsMD", sap.base_url())).header("Cookie", &cookie).json(&definition);
        let created = post().send().await.unwrap();
        assert_eq!(created.status(), 201);
        let location = created.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, "/b1s/v2/UserFieldsMD(TableName='OCRD',FieldID=0)");
        let created: Value = created.json().await.unwrap();
        assert_eq!((created["FieldID"].as_i64(), created["EditSize"].as_i64()), (Some(0), Some(18)));

        let again = post().send().await.unwrap();
        assert_eq!(again.status(), 400);
        let error: Value = again.json().await.unwrap();
        assert_eq!(error["error"]["code"], "-2035");
        assert!(error["error"]["message"].as_str().unwrap().contains("already exists"), "{error}");

        let found = rows(&http, &sap, &session, wanted).await;
        assert_eq!(
            found,
            vec![json!({"TableName": "OCRD", "Name": "SF_AccountId", "Type": "db_Alpha", "Size": 18,
                                      "FieldID": 0})]
        );
        let one = http.get(format!("{}{}", sap.origin(), location)).header("Cookie", &cookie).send().await.unwrap();
        let one: Value = one.json().await.unwrap();
        assert_eq!(one["Description"], "Salesforce Account Id (B1Force)");
        let unknown = http
            .get(format!("{}/UserFieldsMD?$filter=Alias eq 'x'", sap.base_url()))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 400);
        assert_eq!(sap.calls().snapshot().get("POST /UserFieldsMD"), Some(&2));
        assert_eq!(sap.user_fields().len(), 1);
    }

    #[tokio::test]
    async fn an_installed_company_lists_the_b1force_udfs() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        let http = reqwest::Client::new();
        let session = login(&http, &sap).await;
        let found = rows(&http, &sap, &session, "UserFieldsMD?$filter=startswith(Name, 'SF_')&$top=100").await;
        let mut found: Vec<String> = found
            .iter()
            .map(|r| format!("{}.U_{}", r["TableName"].as_str().unwrap(), r["Name"].as_str().unwrap()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "OCPR.U_SF_ContactId",
                "OCRD.U_SF_AccountId",
                "ODLN.U_SF_OpportunityId",
                "OINV.U_SF_OpportunityId",
                "OQUT.U_SF_QuoteId",
                "ORDR.U_SF_OpportunityId",
                "ORIN.U_SF_OpportunityId",
                "RDR1.U_SF_LineItemId"
            ]
        );
    }

    /// GETs `<base>/<path_and_query>` with a session; returns the status and the body text.
    async fn get(http: &reqwest::Client, sap: &SapSandbox, session: &str, path_and_query: &str) -> (u16, String) {
        let url = format!("{}/{path_and_query}", sap.base_url());
        let response = http.get(url).header("Cookie", format!("B1SESSION={session}")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn metadata_is_served_to_a_session_and_declares_the_v2_types() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        let http = reqwest::Client::new();
        let anonymous = http.get(format!("{}/$metadata", sap.base_url())).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "the metadata needs a session, as on a real server");
        let session = login(&http, &sap).await;
        let (status, xml) = get(&http, &sap, &session, "$metadata").await;
        assert_eq!(status, 200);
        assert!(xml.starts_with("<?xml") && xml.contains("<edmx:Edmx Version=\"4.0\""), "{}", &xml[..80]);
        for declared in [
            "<EntitySet Name=\"BusinessPartners\" EntityType=\"SAPB1.BusinessPartner\"/>",
            "<Property Name=\"DocumentStatus\" Type=\"SAPB1.BoStatus\"/>",
            "<Property Name=\"UpdateTime\" Type=\"Edm.TimeOfDay\"/>",
            "<Member Name=\"bost_Open\" Value=\"0\"/>",
        ] {
            assert!(xml.contains(declared), "{declared}");
        }
    }

    /// The forms the project sent before #12 item 1, each refused with the v2 error shape, and the
    /// OData v4 form of the same question answered.
    #[tokio::test]
    async fn old_literal_forms_are_refused_and_their_v4_forms_answered() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        let http = reqwest::Client::new();
        let session = login(&http, &sap).await;
        let pairs = [
            // the poller's watermark (shared/src/sap/changes.rs)
            (
                "BusinessPartners?$filter=(UpdateDate gt 2020-01-01) or (UpdateDate eq 2020-01-01 and UpdateTime ge '10:00:00')",
                "BusinessPartners?$filter=(UpdateDate gt 2020-01-01T00:00:00Z) or (UpdateDate eq 2020-01-01T00:00:00Z and UpdateTime ge 10:00:00)",
            ),
            ("Items?$filter=UpdateDate ge 2020-01-01", "Items?$filter=UpdateDate ge 2020-01-01T00:00:00Z"),
            ("Orders?$filter=UpdateTime gt '00:00:00'", "Orders?$filter=UpdateTime gt 00:00:00"),
            // the reconciler's period (shared/src/sap/reconcile.rs)
            (
                "Invoices?$filter=(DocDate ge 2020-01-01) and (DocDate le 2099-12-31)",
                "Invoices?$filter=(DocDate ge 2020-01-01T00:00:00Z) and (DocDate le 2099-12-31T00:00:00Z)",
            ),
            // billing's status filters (shared/src/sap/billing.rs)
            (
                "Invoices?$filter=DocumentStatus eq 'bost_Open'",
                "Invoices?$filter=DocumentStatus eq SAPB1.BoStatus'bost_Open'",
            ),
            (
                "IncomingPayments?$filter=Cancelled eq 'tNO'",
                "IncomingPayments?$filter=Cancelled eq SAPB1.BoYesNoEnum'tNO'",
            ),
            // key reads (shared/src/sap/rows.rs): a quoted number for an Edm.Int32 key, a bare one for a string
            ("Invoices?$filter=DocEntry eq '1'", "Invoices?$filter=DocEntry eq 1"),
            ("BusinessPartners?$filter=CardCode eq 20000", "BusinessPartners?$filter=CardCode eq 'C20000'"),
        ];
        for (old, new) in pairs {
            let (status, body) = get(&http, &sap, &session, old).await;
            assert_eq!(status, 400, "{old}: {body}");
            let error: Value = serde_json::from_str(&body).unwrap();
            assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{body}");
            assert!(error["error"]["message"].as_str().unwrap().contains("Invalid $filter"), "{body}");
            let (status, body) = get(&http, &sap, &session, new).await;
            assert_eq!(status, 200, "{new}: {body}");
            let found: Value = serde_json::from_str(&body).unwrap();
            assert!(!found["value"].as_array().unwrap().is_empty(), "{new} finds seeded rows");
        }
        let (status, body) = get(&http, &sap, &session, "Invoices/$count?$filter=Cancelled eq 'tNO'").await;
        assert_eq!(status, 400, "$count checks its filter too: {body}");
    }

    #[tokio::test]
    async fn a_request_line_over_8190_bytes_gets_apaches_414() {
        let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
        let http = reqwest::Client::new();
        let session = login(&http, &sap).await;
        // `GET /b1s/v2/BusinessPartners?$filter=CardCode%20ne%20%27<pad>%27 HTTP/1.1`, padded to a given
        // length (written encoded, as the URL parser would encode a `'` in a query anyway).
        let path = |line_len: usize| {
            let head = "BusinessPartners?$filter=CardCode%20ne%20%27";
            let fixed = "GET /b1s/v2/".len() + head.len() + "%27 HTTP/1.1".len();
            format!("{head}{}%27", "x".repeat(line_len - fixed))
        };
        let (status, body) = get(&http, &sap, &session, &path(LIMIT_REQUEST_LINE)).await;
        assert_eq!(status, 200, "exactly at the limit is served: {}", &body[..body.len().min(200)]);
        let response = http
            .get(format!("{}/{}", sap.base_url(), path(LIMIT_REQUEST_LINE + 1)))
            .header("Cookie", format!("B1SESSION={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 414);
        assert_eq!(response.headers()["content-type"], "text/html; charset=iso-8859-1");
        assert!(response.text().await.unwrap().contains("<title>414 Request-URI Too Long</title>"));
        let calls = sap.calls().snapshot();
        assert_eq!(
            calls.get("GET /BusinessPartners"),
            Some(&1),
            "Apache refuses it before the Service Layer counts it"
        );
    }
}
