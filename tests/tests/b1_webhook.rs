//! SAP B1 webhooks through the sap-webhook handler: a signed delivery becomes one notification per
//! synced event on `to-salesforce.fifo`, a redelivery adds nothing, an unsigned one nothing at all,
//! and what it queues is what the sf-writer writes to Salesforce.
//!
//! `events/sap-webhook/*.json` are signed with the CLI's local key
//! ([`b1force_cli::invoke::LOCAL_WEBHOOK_KEY`], `b1force-local-webhook-key`): HMAC-SHA256 over the
//! raw body for the notification, over the token for the handshake.

use b1force_cli::invoke::LOCAL_WEBHOOK_KEY;
use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::domain::Notification;
use shared::domain::state::Direction;
use shared::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSecrets, ManualClock};
use shared::engine::sap_webhook::B1Webhook;
use shared::engine::sf_writer::SfWriterSettings;
use shared::ingress::b1_webhook;
use shared::ports::Outcome;
use std::sync::Arc;
use std::time::Duration;

const SECRET_ID: &str = "b1force/sap-webhook";
/// 2026-11-25T10:00:00Z, just after the sample events' `time`.
const SAMPLE_TIME: i64 = 1_795_600_800_000;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/sap-webhook/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The handler's ports, embedded, with the key the samples are signed with.
struct Rig {
    clock: Arc<ManualClock>,
    queue: EmbeddedQueue,
    audit: EmbeddedAudit,
    secrets: EmbeddedSecrets,
}

impl Rig {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(SAMPLE_TIME));
        let options = EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None };
        Self {
            queue: EmbeddedQueue::new("b1force-to-salesforce.fifo", options, clock.clone()),
            clock,
            audit: EmbeddedAudit::new(),
            // The JSON form of the secret; the plain-string form is covered by the unit tests.
            secrets: EmbeddedSecrets::new().with(SECRET_ID, &json!({"key": LOCAL_WEBHOOK_KEY}).to_string()),
        }
    }

    /// Sends a Function URL event; returns (status, parsed JSON body or Null).
    async fn call(&self, event: &Value) -> (u64, Value) {
        let webhook = B1Webhook {
            to_salesforce: &self.queue,
            audit: &self.audit,
            clock: self.clock.as_ref(),
            secrets: &self.secrets,
            secret_id: SECRET_ID,
        };
        let response = webhook.handle(event).await;
        let body = response["body"].as_str().unwrap();
        (response["statusCode"].as_u64().unwrap(), serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn queued(&self) -> Vec<Notification> {
        self.queue.messages().iter().map(|body| Notification::from_body(body).unwrap()).collect()
    }
}

/// A Function URL POST of `events`, signed with `key` (re-signed, as the Messenger does per delivery).
fn delivery(events: &Value, key: &str, request_id: &str) -> Value {
    let body = events.to_string();
    let mut event = sample("notification.json");
    event["body"] = json!(body);
    event["headers"]["x-b1-webhook-signature"] = json!(
        b1_webhook::SigningKey::new(key.to_string().into(), b1_webhook::HmacAlgorithm::Sha256).sign(body.as_bytes())
    );
    event["requestContext"]["requestId"] = json!(request_id);
    event
}

fn sample_events() -> Value {
    serde_json::from_str(sample("notification.json")["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_signed_delivery_queues_one_notification_per_synced_event() {
    let rig = Rig::new();
    let (status, body) = rig.call(&sample("notification.json")).await;
    assert_eq!((status, body), (200, json!({"enqueued": 3, "ignored": 1})), "purchase orders are not synced");
    let queued: Vec<(String, String, String)> =
        rig.queued().into_iter().map(|n| (n.record.to_string(), n.reason, n.source_version)).collect();
    assert_eq!(
        queued,
        [
            ("sap:Orders:1", "webhook:Created", "b1event:5ac18923-0d43-4b6c-9d0e-6d1f2b3c4d5e"),
            ("sap:Invoices:2", "webhook:Updated", "b1event:7f3e2a10-5b6c-4d8e-9f01-2a3b4c5d6e7f"),
            ("sap:BusinessPartners:C20000", "webhook:Updated", "b1event:c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f"),
        ]
        .map(|(k, r, v)| (k.to_string(), r.to_string(), v.to_string()))
    );
    let order = &rig.queued()[0];
    assert_eq!(order.changed_at, SAMPLE_TIME - 1_880, "the event's time, 2026-11-25T09:59:58.120Z");
    assert_eq!(order.correlation_id, order.source_version);
    assert!(rig.audit.all().is_empty(), "accepted deliveries are audited by the sf-writer, not here");
}

#[tokio::test]
async fn a_redelivery_of_the_same_events_adds_nothing() {
    let rig = Rig::new();
    assert_eq!(rig.call(&sample("notification.json")).await.0, 200);
    rig.clock.advance(Duration::from_secs(60));
    // The same delivery again, and the invoice event alone in a new, differently signed batch.
    assert_eq!(rig.call(&sample("notification.json")).await.0, 200);
    let invoice_only = json!([sample_events()[1].clone()]);
    let (status, body) = rig.call(&delivery(&invoice_only, LOCAL_WEBHOOK_KEY, "retry-2")).await;
    assert_eq!((status, body), (200, json!({"enqueued": 1, "ignored": 0})), "accepted, then dropped by FIFO dedup");
    assert_eq!(rig.queue.len(), 3);
    // A new event for the same order is a new change.
    let mut updated = sample_events()[0].clone();
    updated["id"] = json!("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a");
    updated["type"] = json!("sap.b1.Orders.Updated.v1");
    assert_eq!(rig.call(&delivery(&json!([updated]), LOCAL_WEBHOOK_KEY, "new-1")).await.0, 200);
    assert_eq!(rig.queue.len(), 4);
    let groups: Vec<String> = rig.queued().iter().map(|n| n.group_id()).collect();
    assert_eq!(groups.iter().filter(|g| *g == "sap:Orders:1").count(), 2, "one FIFO group per record");
}

#[tokio::test]
async fn a_bad_signature_queues_nothing_and_is_audited() {
    let rig = Rig::new();
    let forged = delivery(&sample_events(), "not-the-key", "forged-1");
    let (status, body) = rig.call(&forged).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("BAD_SIGNATURE")));
    let mut unsigned = sample("notification.json");
    unsigned["headers"].as_object_mut().unwrap().remove("x-b1-webhook-signature");
    unsigned["requestContext"]["requestId"] = json!("unsigned-1");
    assert_eq!(rig.call(&unsigned).await.0, 401);
    let mut tampered = sample("notification.json");
    tampered["body"] = json!(tampered["body"].as_str().unwrap().replace("\"DocEntry\":\"1\"", "\"DocEntry\":\"3\""));
    tampered["requestContext"]["requestId"] = json!("tampered-1");
    assert_eq!(rig.call(&tampered).await.0, 401, "the signature covers the raw bytes");
    assert!(rig.queue.is_empty());

    let audit = rig.audit.all();
    let keys: Vec<&str> = audit.iter().map(|e| e.record_key.as_str()).collect();
    assert_eq!(keys, ["sap:rejected:forged-1", "sap:rejected:unsigned-1", "sap:rejected:tampered-1"]);
    assert!(audit.iter().all(|e| e.outcome == Outcome::Rejected && e.direction == Direction::SapToSf));
    let codes: Vec<_> = audit.iter().map(|e| e.error_code.as_deref().unwrap()).collect();
    assert_eq!(codes, ["BAD_SIGNATURE", "MISSING_SIGNATURE", "BAD_SIGNATURE"]);
    for entry in &audit {
        let stored = serde_json::to_string(entry).unwrap();
        assert!(!stored.contains(LOCAL_WEBHOOK_KEY) && !stored.contains("5ac18923"), "{stored}");
    }
}

#[tokio::test]
async fn the_handshake_sample_gets_its_challenge_and_a_malformed_batch_nothing() {
    let rig = Rig::new();
    let (status, body) = rig.call(&sample("handshake.json")).await;
    assert_eq!((status, body), (200, json!({"Challenge": "0f8fad5b-d9cb-469f-a165-70867728950e"})));
    let mut head = sample("handshake.json");
    head["requestContext"]["http"]["method"] = json!("HEAD");
    assert_eq!(rig.call(&head).await.0, 200);

    // One element without data fails the whole delivery, so the Messenger retries it whole.
    let mut events = sample_events();
    events[2].as_object_mut().unwrap().remove("data");
    let (status, body) = rig.call(&delivery(&events, LOCAL_WEBHOOK_KEY, "partial-1")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("BAD_EVENT")));
    assert!(body["message"].as_str().unwrap().starts_with("event 2:"), "{body}");
    assert!(rig.queue.is_empty());
}

#[tokio::test]
async fn what_the_webhook_queues_the_sf_writer_writes_to_salesforce() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let secrets = EmbeddedSecrets::new().with(SECRET_ID, LOCAL_WEBHOOK_KEY);
    let webhook = B1Webhook {
        to_salesforce: stack.to_salesforce.as_ref(),
        audit: stack.audit.as_ref(),
        clock: stack.clock.as_ref(),
        secrets: &secrets,
        secret_id: SECRET_ID,
    };
    let response = webhook.handle(&sample("notification.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let run = stack.sf_writer(SfWriterSettings::default()).run(stack.clock.now_millis() + 3_600_000).await.unwrap();
    let trail: Vec<(String, String)> = stack
        .audit
        .all()
        .into_iter()
        .filter(|e| e.record_key.starts_with("sap:"))
        .map(|e| (e.record_key, e.action.to_string()))
        .collect();
    // Every key resolved to an SAP row (no skip_missing); seeded order 1, entered in SAP, becomes a
    // Salesforce Order. The two documents queue their customer's partner once more (its balances),
    // which the webhook's own message already wrote: skipped as unchanged.
    let expected = [
        ("sap:Orders:1", "write"),
        ("sap:Invoices:2", "write"),
        ("sap:BusinessPartners:C20000", "write"),
        ("sap:BusinessPartners:C20000", "skip_unchanged"),
    ];
    assert_eq!(trail, expected.map(|(k, a)| (k.to_string(), a.to_string())), "{run:?}");
    assert_eq!((run.messages, run.written, run.skipped, run.dead_lettered, run.retried), (4, 3, 1, 0, 0));
    assert!(stack.to_salesforce.is_empty());
}
