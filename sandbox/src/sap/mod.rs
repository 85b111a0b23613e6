//! SAP Business One Service Layer sandbox (OData v4 at `/b1s/v2`): Login/Logout with B1SESSION and
//! ROUTEID cookies, BusinessPartners, Items and Orders with OData query options and server paging,
//! ETags, the documented error bodies, fault injection and per-endpoint call counters.

mod entities;
mod handlers;
mod odata_filter;
mod query;
pub mod seed;

use crate::faults::{CallCounter, Faults};
use crate::serve::{Served, TlsIdentity, serve};
use entities::{EntitySet, Key, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
}

impl Default for SapOptions {
    fn default() -> Self {
        Self { port: 0, tls: None, session_timeout_minutes: 30, default_page_size: 20 }
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
    sessions: Mutex<Sessions>,
    faults: Faults,
    calls: CallCounter,
    default_page_size: usize,
    session_timeout_minutes: u64,
    /// `http://127.0.0.1:PORT`, known once the listener is bound.
    origin: OnceLock<String>,
}

impl SapState {
    fn base_url(&self) -> String {
        format!("{}/b1s/v2", self.origin.get().map(String::as_str).unwrap_or(""))
    }

    fn expire_sessions(&self) {
        self.sessions.lock().unwrap().last_used.clear();
    }
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

    /// Every sales order, in DocEntry order.
    pub fn orders(&self) -> Vec<Value> {
        self.state.store.lock().unwrap().rows(EntitySet::Orders)
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

    fn row(&self, set: EntitySet, code: &str) -> Option<Value> {
        self.state.store.lock().unwrap().get(set, &Key::Text(code.to_string())).ok().cloned()
    }
}
