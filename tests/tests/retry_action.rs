//! #18 Retry SAP sync, as far as our side goes: the quick action's Apex (B1ForceRetry) sends one
//! signed webhook `{"object": …, "recordIds": [id], "reason": "retry"}`; the receiver queues it like
//! any webhook, and the sap-writer runs the record's flow again with an audit entry. A deal that
//! failed for a reason fixed in SAP since gets its order; the same signed request sent twice is a
//! replay (refused); a later retry of a synced deal makes no second order.

use b1force_cli::local::{LocalOptions, LocalStack, opportunity_change_event};
use serde_json::{Value, json};
use shared::embedded::{EmbeddedIdempotency, EmbeddedSecrets};
use shared::engine::sf_receiver::{Ingress, Receiver, WebhookAuth};
use shared::ingress::salesforce_webhook;
use shared::ports::{AuditAction, Outcome};

const SECRET_ID: &str = "b1force/webhook";
const KEY: &str = "retry-test-webhook-key";

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/sf-receiver/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The Function URL request B1ForceRetry.retry sends (B1ForceWebhook.send), signed at `now_ms`.
fn retry_request(object: &str, id: &str, now_ms: i64) -> Value {
    let body = json!({"object": object, "recordIds": [id], "reason": "retry"}).to_string();
    let mut event = sample("webhook-function-url.json");
    let ts = (now_ms / 1000).to_string();
    event["headers"]["x-b1force-timestamp"] = json!(ts);
    event["headers"]["x-b1force-signature"] = json!(salesforce_webhook::sign(KEY.as_bytes(), &ts, body.as_bytes()));
    event["body"] = json!(body);
    event
}

struct Webhook {
    secrets: EmbeddedSecrets,
    replays: EmbeddedIdempotency,
}

impl Webhook {
    fn new() -> Self {
        Self { secrets: EmbeddedSecrets::new().with(SECRET_ID, KEY), replays: EmbeddedIdempotency::new() }
    }

    /// The sf-receiver's Function URL on the stack's queue; returns (status, body).
    async fn post(&self, stack: &LocalStack, request: &Value) -> (u16, Value) {
        let ingress = Ingress {
            receiver: Receiver {
                to_sap: stack.to_sap.as_ref(),
                audit: stack.audit.as_ref(),
                clock: stack.clock.as_ref(),
                client_tag: shared::ECHO_CLIENT_TAG,
                written: Some(stack.written.as_ref()),
            },
            webhook: Some(WebhookAuth { secrets: &self.secrets, secret_id: SECRET_ID, replays: &self.replays }),
            org_id: None,
            outbound_token: None,
            refusals: None,
        };
        let response = ingress.handle_http(request).await;
        (response.status, serde_json::from_str(&response.body).unwrap_or(Value::Null))
    }
}

fn orders_of(stack: &LocalStack, opp: &str) -> usize {
    stack.sap_sandbox.orders().iter().filter(|o| o["U_SF_OpportunityId"] == opp).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_cause_is_fixed_in_sap_syncs_the_deal_once_with_an_audit_entry() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let sf = &stack.sf_sandbox;
    // The account names a customer SAP does not have yet: the order is refused, for good.
    let account = sf.create_record("Account", json!({"Name": "Osprey Tools", "SAP_CardCode__c": "C77777"})).unwrap();
    let opp = sf.create_opportunity(&account, "Closed Won", &["A00001"]);
    let event = opportunity_change_event(&opp, "UPDATE", "", stack.clock.now_millis(), "won-1");
    stack.receiver().receive(&event).await.unwrap();
    let first = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((first.dead_lettered, orders_of(&stack, &opp)), (1, 0));
    assert_eq!(sf.record("Opportunity", &opp).unwrap()["SAP_Sync_Status__c"], "Failed");

    // Someone creates the customer in SAP; nothing changes in Salesforce, so only a retry helps.
    stack
        .sap
        .post("BusinessPartners", &json!({"CardCode": "C77777", "CardName": "Osprey Tools", "CardType": "cCustomer"}))
        .await
        .unwrap();
    let webhook = Webhook::new();
    let request = retry_request("Opportunity", &opp, stack.clock.now_millis());
    let (status, answer) = webhook.post(&stack, &request).await;
    assert_eq!((status, answer), (202, json!({"enqueued": 1})), "one record queued");
    let (replayed, _) = webhook.post(&stack, &request).await;
    assert_eq!(replayed, 401, "the same signed request again is a replay");

    let retried = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((retried.created, retried.dead_lettered), (1, 0));
    assert_eq!(orders_of(&stack, &opp), 1);
    assert_eq!(sf.record("Opportunity", &opp).unwrap()["SAP_Sync_Status__c"], "Synced");
    let key = format!("sf:Opportunity:{opp}");
    let entries: Vec<_> = stack.audit.all().into_iter().filter(|e| e.record_key == key).collect();
    let created: Vec<_> = entries.iter().filter(|e| e.action == AuditAction::CreateOrder).collect();
    assert_eq!(created.len(), 1, "{entries:#?}");
    assert_eq!(created[0].outcome, Outcome::Succeeded);
    assert!(created[0].source_version.as_deref().unwrap_or_default().starts_with("signature:"), "{:?}", created[0]);

    // A later retry (another click, newly signed) of the synced deal makes no second order.
    let later = retry_request("Opportunity", &opp, stack.clock.now_millis() + 1_000);
    assert_eq!(webhook.post(&stack, &later).await.0, 202);
    stack.drain(u64::MAX).await.unwrap();
    assert_eq!(orders_of(&stack, &opp), 1);
}
