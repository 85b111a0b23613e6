//! sap-webhook: SAP Business One webhooks (10.0 FP 2602+) → notifications on `to-salesforce.fifo`,
//! the queue the sap-poller feeds. Polling stays on as the safety net: a webhook only makes a change
//! arrive sooner, and the FIFO dedup id and the sf-writer's content hash make the overlap free.
//!
//! The Webhook Messenger calls the Function URL (any path), HMAC authentication (`AuthenticationType` H):
//! ```text
//! HEAD                                                     reachability check → 200, empty
//! GET   X-B1-Webhook-Token: <uuid>                         handshake (on create, and on Resume)
//!       X-B1-Webhook-Signature: base64(HMAC(key, token))
//!       → 200 {"Challenge":"<uuid>"}
//! POST  X-B1-Webhook-Signature: base64(HMAC(key, raw body bytes))
//!       [{"id":"5ac18923-…","specversion":"1.0","source":"/default/sap.b1/DEMODB1",
//!         "type":"sap.b1.Orders.Created.v1","subject":"91","time":"2025-11-10T23:10:22.917Z",
//!         "datacontenttype":"application/json","data":{"DocEntry":"91"}}]
//!       → 200 {"enqueued":N,"ignored":M}, only once the queue accepted every message
//! ```
//! Errors: 400 malformed (the message says which event and field, never a value), 401 missing or
//! wrong signature, 405 another method, 413 body over 256 KiB, 500 our side (the Messenger retries).
//!
//! Choices:
//! - **A signature is always required**; subscriptions with `AuthenticationType` None or Basic are
//!   refused. The secret holds the subscription's `AuthenticationCred` as SAP takes it,
//!   `{"Key": "...", "Algorithm": "HMACSha256" | "HMACSha384" | "HMACSha512"}` (SAP, "Working with
//!   SAP Business One Service Layer", EventSubscription properties: `Key` and `Algorithm` required,
//!   those three algorithms; its create example spells `hmacsha256`, so names compare
//!   case-insensitively). Also accepted: a plain string (the key, HMAC-SHA256) and the earlier
//!   `{"key": "..."}`. Any other algorithm is refused at cold start, naming the three.
//! - **One delivery is all or nothing.** An element that is not an object, lacks `id`, `type` or
//!   `data`, or names a synced object without a usable key fails the whole request with 400 and
//!   enqueues nothing: it is one delivery, so the Messenger's retry and its `EventNotifications` log
//!   show it whole, and the poller picks up the changes meanwhile.
//! - **Objects the sf-writer does not sync are ignored**, not refused: the subscription may cover
//!   more than BusinessPartners, Items, Quotations, Orders, DeliveryNotes, Invoices, CreditNotes and
//!   IncomingPayments. They count in `ignored`, as does an event id repeated within one delivery.
//! - **Every transaction type is enqueued, `Deleted` included**: a notification carries no data, so
//!   the sf-writer reads the row, finds it gone and audits `skip_missing`, which is the trace an
//!   operator looks for. `reason` is `webhook:<Transaction>`.
//! - **Redeliveries**: `source_version` is `b1event:<id>`, so a redelivered event gets the same FIFO
//!   dedup id and SQS drops it within its five-minute window; after that, the sf-writer's content
//!   hash turns it into one SAP read and no write.
//! - **No replay store**: B1 signatures carry no timestamp, so a captured request verifies forever;
//!   replaying it only makes the sf-writer re-read current SAP state (notifications carry no values),
//!   and the function's reserved concurrency caps the rate.

pub use super::function_url::HmacAlgorithm;
use super::function_url::Rejection;
use crate::domain::{EpochMillis, Notification, RecordKey, System};
use crate::error::{Error, Result};
use crate::ports::{OutgoingMessage, Secret};
use crate::secrets::SecretFields;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The handshake's token header; Function URLs lowercase header names.
pub const TOKEN_HEADER: &str = "x-b1-webhook-token";
/// The header carrying base64(HMAC-SHA256(key, token or raw body)).
pub const SIGNATURE_HEADER: &str = "x-b1-webhook-signature";
/// Larger bodies are refused with 413 before any HMAC work.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The event type version whose `data` layout we read.
const TYPE_VERSION: &str = "v1";
/// Longest event id accepted (the Messenger's are UUIDs).
const MAX_ID_LEN: usize = 100;

/// A business object whose events are enqueued: the sf-writer's entity set of the same name, and
/// the key property `data` carries. Stock and price list changes are left to the poller's scans.
struct Synced {
    object: &'static str,
    key: &'static str,
}

impl Synced {
    /// The key is the integer DocEntry.
    fn doc_entry(&self) -> bool {
        self.key == "DocEntry"
    }
}

/// The objects the sf-writer handles ([`crate::mapping::plan::ENTITY_ORDER`]), keyed as the poller keys them.
const SYNCED: [Synced; 8] = [
    Synced { object: "BusinessPartners", key: "CardCode" },
    Synced { object: "Items", key: "ItemCode" },
    Synced { object: "Quotations", key: "DocEntry" },
    Synced { object: "Orders", key: "DocEntry" },
    Synced { object: "DeliveryNotes", key: "DocEntry" },
    Synced { object: "Invoices", key: "DocEntry" },
    Synced { object: "CreditNotes", key: "DocEntry" },
    Synced { object: "IncomingPayments", key: "DocEntry" },
];

/// The key and algorithm the Webhook Messenger signs with (the subscription's `AuthenticationCred`).
#[derive(Clone, Debug)]
pub struct SigningKey {
    key: Secret,
    algorithm: HmacAlgorithm,
}

impl SigningKey {
    /// A key used with `algorithm`.
    pub fn new(key: Secret, algorithm: HmacAlgorithm) -> Self {
        Self { key, algorithm }
    }

    /// The hash function SAP signs with.
    pub fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    /// base64(HMAC(key, message)): what the Messenger puts in `X-B1-Webhook-Signature`, the message
    /// being the handshake token or the raw notification body.
    pub fn sign(&self, message: &[u8]) -> String {
        self.algorithm.sign_base64(self.key.expose_secret().as_bytes(), message)
    }

    /// Checks `X-B1-Webhook-Signature` over `message` in constant time; every failure is the same 401.
    pub fn verify(&self, signature: Option<&str>, message: &[u8]) -> std::result::Result<(), Rejection> {
        let Some(signature) = signature else {
            return Err(Rejection::new(401, "MISSING_SIGNATURE", "the X-B1-Webhook-Signature header is required"));
        };
        if self.algorithm.verifies_base64(self.key.expose_secret().as_bytes(), message, signature) {
            Ok(())
        } else {
            Err(Rejection::new(401, "BAD_SIGNATURE", "X-B1-Webhook-Signature does not verify"))
        }
    }
}

/// The `Algorithm` names SAP's `AuthenticationCred` schema allows.
const ALGORITHMS: [(&str, HmacAlgorithm); 3] = [
    ("HMACSha256", HmacAlgorithm::Sha256),
    ("HMACSha384", HmacAlgorithm::Sha384),
    ("HMACSha512", HmacAlgorithm::Sha512),
];

/// The handshake token, when it is 1 to 64 of `A-Z a-z 0-9 -` (a UUID): it is echoed back, so
/// nothing else is.
pub fn handshake_token(token: Option<&str>) -> std::result::Result<&str, Rejection> {
    token
        .filter(|t| (1..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .ok_or_else(bad_token)
}

pub(crate) fn bad_token() -> Rejection {
    Rejection::new(400, "BAD_TOKEN", "a handshake needs an X-B1-Webhook-Token of 1 to 64 letters, digits and -")
}

/// The signing key in the secret named `secret_id`: SAP's `{"Key", "Algorithm"}`, the earlier
/// `{"key"}` (HMAC-SHA256), or a plain string (HMAC-SHA256). Errors never quote the secret.
pub fn signing_key(secret_id: &str, value: &Secret) -> Result<SigningKey> {
    let (key, algorithm) = if value.expose_secret().trim_start().starts_with('{') {
        let fields = SecretFields::parse(secret_id, value)?;
        let key = match fields.optional("Key").or_else(|| fields.optional("key")) {
            Some(key) => key.clone(),
            None => {
                return Err(Error::Config(format!(
                    "secret {secret_id} has no field \"Key\" (the subscription's AuthenticationCred)"
                )));
            }
        };
        let algorithm = match fields.optional("Algorithm") {
            None => HmacAlgorithm::Sha256,
            Some(name) => algorithm_named(name.expose_secret()).ok_or_else(|| {
                Error::Config(format!(
                    "secret {secret_id}: the webhook Algorithm is not one SAP offers; use HMACSha256, HMACSha384 or HMACSha512"
                ))
            })?,
        };
        (key, algorithm)
    } else {
        (value.clone(), HmacAlgorithm::Sha256)
    };
    if key.expose_secret().is_empty() {
        return Err(Error::Config(format!("secret {secret_id} holds an empty webhook key")));
    }
    Ok(SigningKey::new(key, algorithm))
}

fn algorithm_named(name: &str) -> Option<HmacAlgorithm> {
    ALGORITHMS.iter().find(|(known, _)| known.eq_ignore_ascii_case(name.trim())).map(|(_, algorithm)| *algorithm)
}

/// What one verified notification body asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// One per event of a synced object, in delivery order, each event id once.
    pub notifications: Vec<Notification>,
    /// Events not enqueued: objects the sf-writer does not sync, and repeats of an event id.
    pub ignored: usize,
}

impl Delivery {
    /// The queue messages, FIFO-grouped by record and deduplicated by event.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        self.notifications.iter().map(OutgoingMessage::from).collect()
    }
}

/// Parses a verified body (a JSON array of CloudEvents) into notifications; an event without `time`
/// counts as changed at `received_at`. Errors are 400s naming the event and field, never a value.
pub fn parse_delivery(body: &[u8], received_at: EpochMillis) -> std::result::Result<Delivery, Rejection> {
    let bad = |message: String| Rejection::new(400, "BAD_BODY", message);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!("the body is not JSON (line {}, column {}); expected an array of events", e.line(), e.column()))
    })?;
    let Value::Array(events) = value else {
        return Err(bad("the body must be a JSON array of events".into()));
    };
    let mut delivery = Delivery { notifications: Vec::with_capacity(events.len()), ignored: 0 };
    let mut seen = HashSet::new();
    for (index, event) in events.iter().enumerate() {
        match notification(index, event, received_at)? {
            Some(note) if seen.insert(note.source_version.clone()) => delivery.notifications.push(note),
            _ => delivery.ignored += 1,
        }
    }
    Ok(delivery)
}

/// One event as a notification; `None` when its business object is not synced.
fn notification(
    index: usize,
    event: &Value,
    received_at: EpochMillis,
) -> std::result::Result<Option<Notification>, Rejection> {
    let bad = |message: String| Rejection::new(400, "BAD_EVENT", format!("event {index}: {message}"));
    let event = event.as_object().ok_or_else(|| bad("is not a JSON object".into()))?;
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| {
            (1..=MAX_ID_LEN).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .ok_or_else(|| bad(format!("\"id\" is missing or not 1 to {MAX_ID_LEN} of A-Z a-z 0-9 - _ .")))?;
    let event_type = event.get("type").and_then(Value::as_str).ok_or_else(|| bad("\"type\" is missing".into()))?;
    let (object, transaction, version) = parse_type(event_type)
        .ok_or_else(|| bad("\"type\" is not sap.b1.<BusinessObject>.<Transaction>.v<n>".into()))?;
    let data = event.get("data").and_then(Value::as_object).ok_or_else(|| bad("\"data\" is missing".into()))?;
    let changed_at = match event.get("time") {
        None | Some(Value::Null) => received_at,
        Some(time) => time
            .as_str()
            .and_then(super::cdc::iso_millis)
            .ok_or_else(|| bad("\"time\" is not an RFC 3339 instant".into()))?,
    };
    let Some(spec) = SYNCED.iter().find(|s| s.object == object) else {
        return Ok(None);
    };
    if version != TYPE_VERSION {
        return Err(bad(format!("{object} events of version {version} are not supported ({TYPE_VERSION} only)")));
    }
    let key = record_id(spec, data).ok_or_else(|| bad(format!("data.{} is missing or not a usable key", spec.key)))?;
    let change = format!("b1event:{id}");
    Ok(Some(Notification {
        record: RecordKey { system: System::Sap, object: spec.object.to_string(), id: key },
        reason: format!("webhook:{transaction}"),
        changed_at,
        source_version: change.clone(),
        correlation_id: change,
    }))
}

/// `sap.b1.<Object>.<Transaction>.v<n>` → (object, transaction, `v<n>`); names are letters, digits and `_`.
fn parse_type(event_type: &str) -> Option<(&str, &str, &str)> {
    fn name(s: &str) -> bool {
        (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
    fn versioned(s: &str) -> bool {
        s.strip_prefix('v').is_some_and(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
    }
    let mut parts = event_type.strip_prefix("sap.b1.")?.split('.');
    let (object, transaction, version) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none() && name(object) && name(transaction) && versioned(version);
    valid.then_some((object, transaction, version))
}

/// The record's key from `data`: a DocEntry as its canonical integer (`"91"` and `91` alike, as the
/// poller and the sf-writer write it), a code as given, when [`RecordKey::parse`] would accept it.
fn record_id(spec: &Synced, data: &Map<String, Value>) -> Option<String> {
    let raw = data.get(spec.key)?;
    let id = if spec.doc_entry() {
        let number = match raw {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if (1..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            _ => None,
        };
        number.filter(|n| *n > 0)?.to_string()
    } else {
        raw.as_str()?.to_string()
    };
    RecordKey::parse(&format!("sap:{}:{id}", spec.object)).ok().map(|key| key.id)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const KEY: &str = "b1-test-key";
    pub(crate) const NOW: EpochMillis = 1_762_816_222_917 + 60_000;
    pub(crate) const ORDER: &str = r#"[{"id":"5ac18923-0d43-4b6c-9d0e-6d1f2b3c4d5e","specversion":"1.0","source":"/default/sap.b1/DEMODB1","type":"sap.b1.Orders.Created.v1","subject":"91","time":"2025-11-10T23:10:22.917Z","datacontenttype":"application/json","data":{"DocEntry":"91"}}]"#;

    pub(crate) fn event(id: &str, event_type: &str, data: Value) -> Value {
        json!({"id": id, "specversion": "1.0", "source": "/default/sap.b1/DEMODB1", "type": event_type,
               "time": "2025-11-10T23:10:22.917Z", "datacontenttype": "application/json", "data": data})
    }

    fn parse(events: Value) -> std::result::Result<Delivery, Rejection> {
        parse_delivery(events.to_string().as_bytes(), NOW)
    }

    #[test]
    fn the_documented_sample_becomes_one_order_notification() {
        let delivery = parse_delivery(ORDER.as_bytes(), NOW).unwrap();
        assert_eq!(delivery.ignored, 0);
        let [note] = delivery.notifications.as_slice() else { panic!("{delivery:?}") };
        assert_eq!(note.record.to_string(), "sap:Orders:91");
        assert_eq!(note.reason, "webhook:Created");
        assert_eq!(note.changed_at, 1_762_816_222_917);
        assert_eq!(note.source_version, "b1event:5ac18923-0d43-4b6c-9d0e-6d1f2b3c4d5e");
        assert_eq!(note.correlation_id, note.source_version);
        let [message] = delivery.messages().try_into().unwrap();
        assert_eq!(
            (message.group_id.as_str(), message.dedup_id, message.body),
            ("sap:Orders:91", note.idempotency_key(), note.to_body())
        );
    }

    #[test]
    fn each_synced_object_is_keyed_as_the_poller_keys_it() {
        let events = json!([
            event("e1", "sap.b1.BusinessPartners.Updated.v1", json!({"CardCode": "C20000"})),
            event("e2", "sap.b1.Items.Created.v1", json!({"ItemCode": "A00001"})),
            event("e3", "sap.b1.DeliveryNotes.Closed.v1", json!({"DocEntry": 7})),
            event("e4", "sap.b1.Invoices.Canceled.v1", json!({"DocEntry": "12", "DocTotal": 1500.0})),
            event("e5", "sap.b1.CreditNotes.Created.v1", json!({"DocEntry": 3})),
            event("e6", "sap.b1.IncomingPayments.Created.v1", json!({"DocEntry": "40"})),
            event("e7", "sap.b1.BusinessPartners.Deleted.v1", json!({"CardCode": "C99999"})),
        ]);
        let keys: Vec<(String, String)> =
            parse(events).unwrap().notifications.iter().map(|n| (n.record.to_string(), n.reason.clone())).collect();
        let expected = [
            ("sap:BusinessPartners:C20000", "webhook:Updated"),
            ("sap:Items:A00001", "webhook:Created"),
            ("sap:DeliveryNotes:7", "webhook:Closed"),
            ("sap:Invoices:12", "webhook:Canceled"),
            ("sap:CreditNotes:3", "webhook:Created"),
            ("sap:IncomingPayments:40", "webhook:Created"),
            ("sap:BusinessPartners:C99999", "webhook:Deleted"),
        ];
        assert_eq!(keys, expected.map(|(k, r)| (k.to_string(), r.to_string())));
    }

    #[test]
    fn the_synced_objects_are_the_sf_writers_keyed_as_the_poller_keys_them() {
        let objects: Vec<&str> = SYNCED.iter().map(|s| s.object).collect();
        assert_eq!(objects, crate::mapping::plan::ENTITY_ORDER);
        for spec in &SYNCED {
            let polled = crate::domain::polled::EntitySpec::named(spec.object).unwrap();
            assert_eq!((spec.key, spec.doc_entry()), (polled.key, polled.doc_entry_key), "{}", spec.object);
        }
    }

    #[test]
    fn a_string_and_a_number_doc_entry_give_the_same_record() {
        let as_string = parse(json!([event("a", "sap.b1.Orders.Updated.v1", json!({"DocEntry": "91"}))])).unwrap();
        let as_number = parse(json!([event("b", "sap.b1.Orders.Updated.v1", json!({"DocEntry": 91}))])).unwrap();
        assert_eq!(as_string.notifications[0].record, as_number.notifications[0].record);
        assert_eq!(as_string.notifications[0].group_id(), "sap:Orders:91");
        let padded = parse(json!([event("c", "sap.b1.Orders.Updated.v1", json!({"DocEntry": "091"}))])).unwrap();
        assert_eq!(padded.notifications[0].record.id, "91", "canonical, as the sf-writer matches rows");
    }

    #[test]
    fn objects_the_sf_writer_does_not_sync_are_ignored_whatever_their_version() {
        let events = json!([
            event("q", "sap.b1.PurchaseOrders.Created.v1", json!({"DocEntry": "5"})),
            event("o", "sap.b1.Orders.Created.v1", json!({"DocEntry": "5"})),
            event("u", "sap.b1.U_MyUdo.Updated.v2", json!({})),
            // Price list changes name no item: the poller's PriceLists scan finds them.
            event("p", "sap.b1.PriceLists.Updated.v1", json!({"PriceListNo": 1})),
        ]);
        let delivery = parse(events).unwrap();
        assert_eq!((delivery.notifications.len(), delivery.ignored), (1, 3));
        assert_eq!(delivery.notifications[0].record.object, "Orders");
    }

    #[test]
    fn a_repeated_event_id_gets_the_same_dedup_id_and_is_sent_once_per_delivery() {
        let order = event("dup-1", "sap.b1.Orders.Updated.v1", json!({"DocEntry": "91"}));
        let first = parse(json!([order])).unwrap();
        let redelivered = parse_delivery(json!([order]).to_string().as_bytes(), NOW + 3_600_000).unwrap();
        assert_eq!(first.messages()[0].dedup_id, redelivered.messages()[0].dedup_id);
        let other = parse(json!([event("dup-2", "sap.b1.Orders.Updated.v1", json!({"DocEntry": "91"}))])).unwrap();
        assert_ne!(first.messages()[0].dedup_id, other.messages()[0].dedup_id, "a later change of the same order");
        let twice = parse(json!([order, order])).unwrap();
        assert_eq!((twice.notifications.len(), twice.ignored), (1, 1));
        let without_time = parse(json!([{"id": "t", "type": "sap.b1.Items.Updated.v1", "data": {"ItemCode": "A1"}}]));
        assert_eq!(without_time.unwrap().notifications[0].changed_at, NOW);
    }

    #[test]
    fn malformed_bodies_are_400s_naming_the_event_and_field_without_quoting_values() {
        let order = |data: Value| event("x", "sap.b1.Orders.Created.v1", data);
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"id": "x"}), "BAD_BODY", "JSON array"),
            (json!([order(json!({"DocEntry": "1"})), "secret-looking"]), "BAD_EVENT", "event 1: is not a JSON object"),
            (json!([{"type": "sap.b1.Orders.Created.v1", "data": {}}]), "BAD_EVENT", "\"id\""),
            (json!([{"id": "a b", "type": "sap.b1.Orders.Created.v1", "data": {}}]), "BAD_EVENT", "\"id\""),
            (json!([{"id": "x", "data": {"DocEntry": "1"}}]), "BAD_EVENT", "\"type\" is missing"),
            (json!([{"id": "x", "type": "sap.b1.Orders.Created.v1"}]), "BAD_EVENT", "\"data\""),
            (json!([{"id": "x", "type": "sap.b1.Orders.Created.v1", "data": "91"}]), "BAD_EVENT", "\"data\""),
            (json!([event("x", "com.example.Orders.Created.v1", json!({}))]), "BAD_EVENT", "sap.b1."),
            (json!([event("x", "sap.b1.Orders.Created", json!({}))]), "BAD_EVENT", "sap.b1."),
            (json!([event("x", "sap.b1.Orders.Created.v1.x", json!({}))]), "BAD_EVENT", "sap.b1."),
            (json!([event("x", "sap.b1.Orders.Created.v2", json!({"DocEntry": "1"}))]), "BAD_EVENT", "v1 only"),
            (json!([order(json!({"CardCode": "C1"}))]), "BAD_EVENT", "data.DocEntry"),
            (json!([order(json!({"DocEntry": "9x"}))]), "BAD_EVENT", "data.DocEntry"),
            (json!([order(json!({"DocEntry": 0}))]), "BAD_EVENT", "data.DocEntry"),
            (json!([order(json!({"DocEntry": 1.5}))]), "BAD_EVENT", "data.DocEntry"),
            (
                json!([event("x", "sap.b1.BusinessPartners.Created.v1", json!({"CardCode": "C1\u{7} or 1=1"}))]),
                "BAD_EVENT",
                "data.CardCode",
            ),
            (json!([event("x", "sap.b1.Items.Created.v1", json!({"ItemCode": ""}))]), "BAD_EVENT", "data.ItemCode"),
        ];
        for (body, code, needle) in cases {
            let rejection = parse(body.clone()).unwrap_err();
            assert_eq!((rejection.status, rejection.code), (400, code), "{body}");
            assert!(rejection.message.contains(needle), "{} should mention {needle}", rejection.message);
            assert!(!rejection.message.contains("secret-looking") && !rejection.message.contains("or 1=1"));
        }
        let mut bad_time = order(json!({"DocEntry": "1"}));
        bad_time["time"] = json!("yesterday");
        assert!(parse(json!([bad_time])).unwrap_err().message.contains("\"time\""));
        let not_json = parse_delivery(b"secret-looking garbage", NOW).unwrap_err();
        assert!(not_json.message.contains("not JSON") && !not_json.message.contains("secret"));
        assert_eq!(parse(json!([])).unwrap(), Delivery { notifications: vec![], ignored: 0 });
    }

    /// The Messenger's key in tests: HMAC-SHA256, as a plain-string secret gives.
    pub(crate) fn test_key() -> SigningKey {
        SigningKey::new(Secret::from(KEY.to_string()), HmacAlgorithm::Sha256)
    }

    fn secret(text: &str) -> Secret {
        Secret::from(text.to_string())
    }

    #[test]
    fn a_signature_verifies_only_over_the_same_bytes_with_the_same_key() {
        let key = test_key();
        let signature = key.sign(ORDER.as_bytes());
        assert!(key.verify(Some(&signature), ORDER.as_bytes()).is_ok());
        // SAP's sample re-serializes the body; we verify the raw bytes, so any change fails.
        let reserialized = serde_json::to_string_pretty(&serde_json::from_str::<Value>(ORDER).unwrap()).unwrap();
        let mut tampered = ORDER.as_bytes().to_vec();
        tampered[ORDER.find("91").unwrap()] = b'8';
        let other = SigningKey::new(secret("other"), HmacAlgorithm::Sha256);
        for (key, message) in [(&key, reserialized.as_bytes()), (&key, &tampered), (&other, ORDER.as_bytes())] {
            let rejection = key.verify(Some(&signature), message).unwrap_err();
            assert_eq!((rejection.status, rejection.code), (401, "BAD_SIGNATURE"));
        }
        assert_eq!(key.verify(None, ORDER.as_bytes()).unwrap_err().code, "MISSING_SIGNATURE");
        assert_eq!(key.verify(Some("not base64!"), ORDER.as_bytes()).unwrap_err().code, "BAD_SIGNATURE");
    }

    #[test]
    fn the_secret_is_saps_authentication_cred_a_plain_key_or_the_earlier_key_field() {
        // SAP's own shape, as its subscription example spells it (lower case) and as its schema does.
        for (cred, algorithm) in [
            (r#"{"Key": "k3y", "Algorithm": "hmacsha256"}"#, HmacAlgorithm::Sha256),
            (r#"{"Key": "k3y", "Algorithm": "HMACSha384"}"#, HmacAlgorithm::Sha384),
            (r#"{"Key": "k3y", "Algorithm": "HMACSha512"}"#, HmacAlgorithm::Sha512),
            (r#"{"key": "k3y", "note": "rotated"}"#, HmacAlgorithm::Sha256),
            ("k3y", HmacAlgorithm::Sha256),
        ] {
            let key = signing_key("b1", &secret(cred)).unwrap();
            assert_eq!(key.algorithm(), algorithm, "{cred}");
            let expected = SigningKey::new(secret("k3y"), algorithm).sign(b"m");
            assert!(key.verify(Some(&expected), b"m").is_ok(), "{cred}");
        }
        for bad in [
            r#"{"password": "k3y"}"#,
            "",
            r#"{"key": ""}"#,
            r#"{"key": "k3y""#,
            r#"{"Key": "k3y", "Algorithm": "HMACSha1"}"#,
            r#"{"Key": "k3y", "Algorithm": "MD5"}"#,
        ] {
            let err = signing_key("b1", &secret(bad)).unwrap_err();
            assert!(
                matches!(err, Error::Config(_)) && err.to_string().contains("b1") && !err.to_string().contains("k3y"),
                "{bad}: {err}"
            );
        }
        let unsupported = signing_key("b1", &secret(r#"{"Key": "k3y", "Algorithm": "HMACSha1"}"#)).unwrap_err();
        assert!(unsupported.to_string().contains("HMACSha256, HMACSha384 or HMACSha512"), "{unsupported}");
    }
}
