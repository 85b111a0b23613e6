//! Live lookups on a Function URL: a rep quoting in Salesforce (Flow, Apex, LWC) asks synchronously
//! for a customer's credit status or an item's price and stock. Read-only against SAP, with a short
//! per-container cache so one page load does not hit SAP twice.
//!
//! ```text
//! GET /credit?cardCode=C20000            → {"cardCode","creditLimit","balance","openOrdersBalance","available","frozen","currency","cached"}
//! GET /item?itemCode=A00001&priceList=1  → {"itemCode","priceList","price","currency","inStock","committed","ordered","available",
//!                                            "warehouses":[{"warehouse","inStock","committed","ordered","available"}],"cached"}
//! X-B1Force-Timestamp: <unix seconds>
//! X-B1Force-Signature: base64(HMAC-SHA256(key, timestamp + "." + path + "?" + rawQueryString))
//! ```
//! The signature covers the question, so it cannot be reused for another customer or item. A
//! replay of the same question within the ±300 s window only gets the same answer again, so no
//! replay store is kept. Answers: 200, 400 bad parameters, 401 signature, 404 unknown customer or
//! item or path, 405 not GET, 502 SAP failed (nothing cached).

use crate::domain::{CardCode, EpochMillis, ItemCode};
use crate::error::Error;
use crate::ingress::function_url::{FunctionUrlRequest, HttpResponse};
use crate::ingress::salesforce_webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use crate::ports::{Clock, SapLookups};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Entries kept at most; the cache is per warm container and only smooths page loads.
const MAX_CACHED: usize = 10_000;

/// The lookup endpoint and its cache.
pub struct Lookups {
    sap: Arc<dyn SapLookups>,
    clock: Arc<dyn Clock>,
    key: SecretString,
    ttl_ms: i64,
    cache: Mutex<HashMap<String, (EpochMillis, u16, Value)>>,
    sap_reads: AtomicU64,
}

impl Lookups {
    /// Lookups answered from `sap`, signed with `key`, cached for `ttl_ms`.
    pub fn new(sap: Arc<dyn SapLookups>, clock: Arc<dyn Clock>, key: SecretString, ttl_ms: i64) -> Self {
        Self { sap, clock, key, ttl_ms, cache: Mutex::new(HashMap::new()), sap_reads: AtomicU64::new(0) }
    }

    /// How many answers needed SAP (cache misses).
    pub fn sap_reads(&self) -> u64 {
        self.sap_reads.load(Ordering::Relaxed)
    }

    /// Answers one Function URL request.
    pub async fn handle(&self, event: &Value) -> HttpResponse {
        let request = FunctionUrlRequest::from_event(event);
        if request.method != "GET" {
            return error(405, "METHOD_NOT_ALLOWED", "lookups are GET requests");
        }
        let (path, query) = (request.path.as_str(), request.query.as_str());
        let now = self.clock.now_millis();
        let signed = format!("{path}?{query}");
        if let Err(rejection) = verify(
            self.key.expose_secret().as_bytes(),
            request.header(TIMESTAMP_HEADER),
            request.header(SIGNATURE_HEADER),
            signed.as_bytes(),
            now,
        ) {
            return HttpResponse::from(&rejection);
        }
        let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let cache_key =
            format!("{path}?{}", url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish());
        if let Some((status, mut body)) = self.cached(&cache_key, now) {
            body["cached"] = json!(true);
            return HttpResponse::json(status, body);
        }
        let (status, body) = match self.answer(path, &params).await {
            Ok(answer) => answer,
            Err(err @ (Error::Invalid(_) | Error::Mapping(_))) => return error(400, "BAD_REQUEST", &err.to_string()),
            Err(err) => {
                tracing::warn!(error = %err, path, "lookup failed in SAP");
                return error(502, "SAP_UNAVAILABLE", "SAP did not answer; try again");
            }
        };
        // A miss for an unknown path cost no SAP call, so only real answers (found or not) are kept.
        if path == "/credit" || path == "/item" {
            self.remember(cache_key, now, status, body.clone());
        }
        let mut body = body;
        body["cached"] = json!(false);
        HttpResponse::json(status, body)
    }

    async fn answer(&self, path: &str, params: &BTreeMap<String, String>) -> Result<(u16, Value), Error> {
        let param = |name: &str| {
            params.get(name).map(String::as_str).ok_or_else(|| Error::Invalid(format!("{name} is required")))
        };
        match path {
            "/credit" => {
                let code = CardCode::parse(param("cardCode")?)?;
                self.sap_reads.fetch_add(1, Ordering::Relaxed);
                Ok(match self.sap.credit_status(&code).await? {
                    None => (404, json!({"error": "NOT_FOUND", "message": format!("no business partner {code}")})),
                    Some(s) => (
                        200,
                        json!({"cardCode": code, "creditLimit": s.credit_limit, "balance": s.balance,
                        "openOrdersBalance": s.open_orders_balance, "available": s.available_credit(),
                        "frozen": s.frozen, "currency": s.currency}),
                    ),
                })
            }
            "/item" => {
                let code = ItemCode::parse(param("itemCode")?)?;
                let list: i32 = params.get("priceList").map_or(Ok(1), |p| {
                    p.parse().map_err(|_| Error::Invalid(format!("priceList {p:?} is not a number")))
                })?;
                self.sap_reads.fetch_add(1, Ordering::Relaxed);
                Ok(match self.sap.item_availability(&code, list).await? {
                    None => (404, json!({"error": "NOT_FOUND", "message": format!("no item {code}")})),
                    Some(a) => {
                        let warehouses: Vec<Value> = a
                            .warehouses
                            .iter()
                            .map(|w| {
                                json!({"warehouse": w.warehouse, "inStock": w.in_stock, "committed": w.committed,
                                "ordered": w.ordered, "available": w.available()})
                            })
                            .collect();
                        let answer = json!({"itemCode": code, "priceList": list, "price": a.price, "currency": a.currency,
                        "inStock": a.in_stock, "committed": a.committed, "ordered": a.ordered, "available": a.available,
                        "warehouses": warehouses});
                        (200, answer)
                    }
                })
            }
            _ => Ok((404, json!({"error": "NOT_FOUND", "message": "paths are /credit and /item"}))),
        }
    }

    fn cached(&self, key: &str, now: EpochMillis) -> Option<(u16, Value)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).filter(|(at, _, _)| now - at < self.ttl_ms).map(|(_, status, body)| (*status, body.clone()))
    }

    fn remember(&self, key: String, now: EpochMillis, status: u16, body: Value) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            let ttl = self.ttl_ms;
            cache.retain(|_, (at, _, _)| now - *at < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (now, status, body));
    }
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::json(status, json!({"error": code, "message": message}))
}
