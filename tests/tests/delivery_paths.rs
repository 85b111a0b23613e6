//! Every delivery path into sf-receiver — CDC via EventBridge (Relay, AppFlow, GAP, GAP_OVERFLOW),
//! signed Flow/Apex webhooks and SOAP Outbound Messages via the Function URL — ends as the same
//! notifications on `to-sap.fifo`, and nothing else gets in.

use async_trait::async_trait;
use b1force_cli::local::opportunity_change_event;
use serde_json::{Value, json};
use shared::domain::{Notification, SalesforceId};
use shared::embedded::{
    EmbeddedAudit, EmbeddedIdempotency, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSecrets, ManualClock,
};
use shared::engine::sf_receiver::{Ingress, OutboundToken, Receiver, WebhookAuth};
use shared::ingress::salesforce_webhook;
use shared::ports::{Clock, Outcome, OutgoingMessage, Queue, ReceivedMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 2026-11-25T10:00:00Z, the time every sample event was made at.
const SAMPLE_TIME: i64 = 1_795_600_800_000;
const SECRET_ID: &str = "b1force/webhook";
/// The key `events/sf-receiver/webhook-function-url.json` is signed with.
const SAMPLE_KEY: &str = "b1force-local-webhook-key";
const OPPORTUNITY: &str = "006SB00000001GHYAY";
const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/sf-receiver/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The receiver's ports, embedded, with a clock standing at the samples' time.
struct Rig {
    clock: Arc<ManualClock>,
    to_sap: Arc<EmbeddedQueue>,
    audit: EmbeddedAudit,
    replays: EmbeddedIdempotency,
    secrets: EmbeddedSecrets,
    org_id: Option<SalesforceId>,
}

impl Rig {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(SAMPLE_TIME));
        let options = EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None };
        Self {
            to_sap: Arc::new(EmbeddedQueue::new("b1force-to-sap.fifo", options, clock.clone())),
            clock,
            audit: EmbeddedAudit::new(),
            replays: EmbeddedIdempotency::new(),
            secrets: EmbeddedSecrets::new().with(SECRET_ID, SAMPLE_KEY),
            org_id: Some(SalesforceId::parse("00DSB0000000001").unwrap()),
        }
    }

    fn ingress_on<'a>(&'a self, to_sap: &'a dyn Queue) -> Ingress<'a> {
        Ingress {
            receiver: Receiver {
                to_sap,
                audit: &self.audit,
                clock: self.clock.as_ref(),
                client_tag: shared::ECHO_CLIENT_TAG,
                written: None,
            },
            webhook: Some(WebhookAuth { secrets: &self.secrets, secret_id: SECRET_ID, replays: &self.replays }),
            org_id: self.org_id.as_ref(),
            outbound_token: None,
            refusals: None,
        }
    }

    async fn handle(&self, event: &Value) -> shared::Result<Value> {
        self.ingress_on(self.to_sap.as_ref()).handle(event).await
    }

    /// Sends a Function URL event and returns (status, content type, body).
    async fn http(&self, event: &Value) -> (u16, String, String) {
        let response = self.handle(event).await.expect("HTTP requests always get an answer");
        let status = response["statusCode"].as_u64().unwrap() as u16;
        (
            status,
            response["headers"]["content-type"].as_str().unwrap().into(),
            response["body"].as_str().unwrap().into(),
        )
    }

    fn queued(&self) -> Vec<Notification> {
        self.to_sap.messages().iter().map(|body| Notification::from_body(body).unwrap()).collect()
    }

    fn rejections(&self) -> Vec<shared::ports::AuditEntry> {
        self.audit.all().into_iter().filter(|e| e.outcome == Outcome::Rejected).collect()
    }
}

/// A webhook Function URL event for `body`, signed now with `key`.
fn webhook_request(body: &str, key: &str, now: i64) -> Value {
    let mut event = sample("webhook-function-url.json");
    let ts = (now / 1000).to_string();
    event["headers"]["x-b1force-timestamp"] = json!(ts);
    event["headers"]["x-b1force-signature"] = json!(salesforce_webhook::sign(key.as_bytes(), &ts, body.as_bytes()));
    event["body"] = json!(body);
    event
}

fn outbound_request(xml: &str) -> Value {
    let mut event = sample("outbound-message-function-url.json");
    event["body"] = json!(xml);
    event
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap()["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_path_puts_the_same_message_shape_for_the_same_record_on_the_queue() {
    let rig = Rig::new();
    let cdc = opportunity_change_event(OPPORTUNITY, "UPDATE", "", SAMPLE_TIME, "tx-shape");
    assert_eq!(rig.handle(&cdc).await.unwrap()["enqueued"], 1);
    assert_eq!(rig.http(&sample("webhook-function-url.json")).await.0, 202, "the sample is signed with the sample key");
    assert_eq!(rig.http(&sample("outbound-message-function-url.json")).await.0, 200);

    let queued = rig.queued();
    let reasons: Vec<&str> = queued.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(reasons, ["cdc:UPDATE", "webhook:updated", "outbound:04kSB0000000001YAA"]);
    for note in &queued {
        assert_eq!(note.record.to_string(), format!("sf:Opportunity:{OPPORTUNITY}"));
        assert_eq!(note.group_id(), queued[0].group_id(), "one FIFO group per record, whatever the path");
    }
    let shapes: Vec<Vec<String>> = rig
        .to_sap
        .messages()
        .iter()
        .map(|body| serde_json::from_str::<serde_json::Map<String, Value>>(body).unwrap().keys().cloned().collect())
        .collect();
    assert!(shapes.iter().all(|keys| *keys == shapes[0]), "{shapes:?}");
}

#[tokio::test]
async fn each_path_delivered_three_times_enqueues_one_message_per_change() {
    let rig = Rig::new();
    let cdc = sample("account-update.json");
    let outbound = sample("outbound-message-function-url.json");
    let signed_once = sample("webhook-function-url.json");
    let body = signed_once["body"].as_str().unwrap().to_string();
    let mut webhook_statuses = Vec::new();
    for attempt in 0..3 {
        rig.handle(&cdc).await.unwrap();
        let (status, content_type, ack) = rig.http(&outbound).await;
        assert_eq!((status, content_type.as_str(), ack.as_str()), (200, "text/xml", ACK), "every delivery is acked");
        webhook_statuses.push(rig.http(&signed_once).await.0);
        // The same change re-sent and re-signed a second later: changedAt names the change.
        rig.clock.advance(Duration::from_secs(1));
        if attempt > 0 {
            assert_eq!(rig.http(&webhook_request(&body, SAMPLE_KEY, rig.clock.now_millis())).await.0, 202);
        }
    }
    assert_eq!(webhook_statuses, [202, 401, 401], "the same signed request is a replay");
    let keys: Vec<(String, String)> = rig.queued().iter().map(|n| (n.record.to_string(), n.reason.clone())).collect();
    assert_eq!(
        keys,
        [
            ("sf:Account:001SB00000001ABYAY".to_string(), "cdc:UPDATE".to_string()),
            (format!("sf:Opportunity:{OPPORTUNITY}"), "outbound:04kSB0000000001YAA".to_string()),
            (format!("sf:Opportunity:{OPPORTUNITY}"), "webhook:updated".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_good_webhook_is_accepted_with_202_and_the_number_enqueued() {
    let rig = Rig::new();
    let body = r#"{"object":"Contact","recordIds":["003SB00000001CDYAY","00QSB00000001EF2AY"],"reason":"x"}"#;
    let (status, _, answer) = rig.http(&webhook_request(body, SAMPLE_KEY, SAMPLE_TIME)).await;
    assert_eq!((status, error_code(&answer).as_str()), (400, "BAD_BODY"), "a Lead id is not a Contact id");

    let body = r#"{"object":"Case","recordIds":["500SB00000001IJYAY","500SB00000001IJ"],"reason":"escalated"}"#;
    let (status, content_type, answer) = rig.http(&webhook_request(body, SAMPLE_KEY, SAMPLE_TIME)).await;
    assert_eq!((status, content_type.as_str()), (202, "application/json"));
    assert_eq!(serde_json::from_str::<Value>(&answer).unwrap(), json!({"enqueued": 1}));
    let queued = rig.queued();
    assert_eq!(queued[0].record.to_string(), "sf:Case:500SB00000001IJYAY");
    assert_eq!((queued[0].reason.as_str(), queued[0].changed_at), ("webhook:escalated", SAMPLE_TIME));
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_replays_and_oversized_webhooks_are_refused_and_nothing_is_queued() {
    let rig = Rig::new();
    let body =
        r#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"reason":"updated","marker":"PAYLOAD-MARKER"}"#;
    let good = webhook_request(body, SAMPLE_KEY, SAMPLE_TIME);
    let mut tampered = good.clone();
    tampered["body"] = json!(body.replace("001SB00000001ABYAY", "001SB00000002KLYAY"));
    let mut unsigned = good.clone();
    unsigned["headers"].as_object_mut().unwrap().remove("x-b1force-signature");
    let huge =
        format!(r#"{{"object":"Account","recordIds":[],"pad":"{}"}}"#, "x".repeat(salesforce_webhook::MAX_BODY_BYTES));
    let cases = [
        ("wrong key", webhook_request(body, "not-the-key", SAMPLE_TIME), 401, "BAD_SIGNATURE"),
        ("tampered body", tampered, 401, "BAD_SIGNATURE"),
        ("no signature", unsigned, 401, "MISSING_SIGNATURE"),
        ("stale", webhook_request(body, SAMPLE_KEY, SAMPLE_TIME - 301_000), 401, "STALE_TIMESTAMP"),
        ("from the future", webhook_request(body, SAMPLE_KEY, SAMPLE_TIME + 301_000), 401, "STALE_TIMESTAMP"),
        ("oversized", webhook_request(&huge, SAMPLE_KEY, SAMPLE_TIME), 413, "BODY_TOO_LARGE"),
    ];
    for (what, event, status, code) in &cases {
        let (got, _, answer) = rig.http(event).await;
        assert_eq!((got, error_code(&answer)), (*status, code.to_string()), "{what}");
    }
    assert!(rig.to_sap.is_empty(), "nothing enqueued on any rejection");

    // A well-signed body with an unknown field is refused after verification; then a replay of a good one.
    let (status, _, _) = rig.http(&good).await;
    assert_eq!(status, 400);
    let good_body = r#"{"object":"Account","recordIds":["001SB00000001ABYAY"]}"#;
    let good = webhook_request(good_body, SAMPLE_KEY, SAMPLE_TIME);
    assert_eq!(rig.http(&good).await.0, 202);
    rig.clock.advance(Duration::from_secs(200));
    let (status, _, answer) = rig.http(&good).await;
    assert_eq!((status, error_code(&answer).as_str()), (401, "REPLAYED"));
    assert_eq!(rig.to_sap.len(), 1);

    let rejections = rig.rejections();
    assert_eq!(rejections.len(), cases.len() + 2, "every rejection is audited");
    for entry in &rejections {
        let stored = serde_json::to_string(entry).unwrap();
        assert!(!stored.contains("PAYLOAD-MARKER"), "no body in the audit trail: {stored}");
        assert!(entry.record_key.starts_with("sf:rejected:"), "{}", entry.record_key);
    }
    assert!(rejections.iter().any(|e| e.error_code.as_deref() == Some("BODY_TOO_LARGE") && e.payload_digest.is_none()));
}

#[tokio::test]
async fn the_documented_outbound_message_is_enqueued_and_acked_with_the_exact_envelope() {
    let rig = Rig::new();
    let (status, content_type, body) = rig.http(&sample("outbound-message-function-url.json")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/xml"));
    assert_eq!(body, ACK);
    let queued = rig.queued();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].source_version, "04lSB0000000001YAA", "the Notification Id deduplicates retries");
    let trail = rig.audit.all();
    assert_eq!((trail.len(), trail[0].outcome), (1, Outcome::Succeeded));
}

#[tokio::test]
async fn an_outbound_message_from_another_org_or_of_an_unknown_object_is_refused() {
    let rig = Rig::new();
    let xml = sample("outbound-message-function-url.json")["body"].as_str().unwrap().to_string();
    let (status, _, body) = rig.http(&outbound_request(&xml.replace("00DSB00000000012AA", "00DSB0000000002"))).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "WRONG_ORG"));
    let (status, _, body) = rig.http(&outbound_request(&xml.replace("sf:Opportunity", "sf:Contract"))).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "UNKNOWN_OBJECT"));
    let message = serde_json::from_str::<Value>(&body).unwrap()["message"].as_str().unwrap().to_string();
    assert!(message.contains("\"Contract\"") && message.contains("Opportunity"), "{message}");
    assert!(rig.to_sap.is_empty());

    let anyone = Rig { org_id: None, ..Rig::new() };
    let other_org = outbound_request(&xml.replace("00DSB00000000012AA", "00DSB0000000002"));
    assert_eq!(anyone.http(&other_org).await.0, 200, "without SF_ORG_ID any org is accepted");
}

#[tokio::test]
async fn billion_laughs_and_xxe_are_refused_at_once_and_nothing_is_read_or_queued() {
    let rig = Rig::new();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret.txt");
    std::fs::write(&secret_file, "FILE-CONTENT-MUST-NOT-LEAK").unwrap();
    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file://{}">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&xxe;</OrganizationId><ActionId>04kSB0000000001YAA</ActionId><Notification><Id>04lSB0000000001YAA</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006SB00000001GHYAY</sf:Id><sf:Name>&xxe;</sf:Name></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#,
        secret_file.display()
    );
    let mut entities = String::from(r#"<!ENTITY lol0 "lol">"#);
    for level in 1..=9 {
        let refs = format!("&lol{};", level - 1).repeat(10);
        entities.push_str(&format!(r#"<!ENTITY lol{level} "{refs}">"#));
    }
    let laughs = format!(r#"<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>"#);
    let undeclared =
        sample("outbound-message-function-url.json")["body"].as_str().unwrap().replace("Closed Won", "&lol9;");
    for (what, xml, code) in [
        ("XXE", xxe, "DTD_REFUSED"),
        ("billion laughs", laughs, "DTD_REFUSED"),
        ("entity without DTD", undeclared, "UNDECLARED_ENTITY"),
    ] {
        let started = Instant::now();
        let (status, _, body) = rig.http(&outbound_request(&xml)).await;
        assert!(started.elapsed() < Duration::from_secs(1), "{what} took {:?}", started.elapsed());
        assert_eq!((status, error_code(&body).as_str()), (400, code), "{what}");
        assert!(!body.contains("FILE-CONTENT") && !body.contains("lollol"), "{what}: {body}");
    }
    assert!(rig.to_sap.is_empty());
    let rejections = rig.rejections();
    assert_eq!(rejections.len(), 3, "each attack is audited");
    assert!(rejections.iter().all(|e| !serde_json::to_string(e).unwrap().contains("FILE-CONTENT")));
}

/// A queue that refuses every send, like SQS during an outage.
struct Down;

#[async_trait]
impl Queue for Down {
    async fn send(&self, _: &[OutgoingMessage]) -> shared::Result<()> {
        Err(shared::Error::Store { service: "SQS", message: "service unavailable".into(), retryable: true })
    }
    async fn receive(&self, _: usize) -> shared::Result<Vec<ReceivedMessage>> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &str) -> shared::Result<()> {
        Ok(())
    }
    async fn release(&self, _: &str, _: u32) -> shared::Result<()> {
        Ok(())
    }
    async fn depth(&self) -> shared::Result<u64> {
        Ok(0)
    }
}

#[tokio::test]
async fn when_the_queue_is_down_nothing_is_acked_and_the_same_request_succeeds_later() {
    let rig = Rig::new();
    let down = rig.ingress_on(&Down);
    let outbound = sample("outbound-message-function-url.json");
    let webhook = sample("webhook-function-url.json");
    for event in [&outbound, &webhook] {
        let response = down.handle(event).await.unwrap();
        assert_eq!(response["statusCode"], 500, "Salesforce or the sender retries");
        assert!(!response["body"].as_str().unwrap().contains("<Ack>"));
    }
    assert!(rig.rejections().is_empty(), "our failure is not the sender's rejection");
    assert!(down.handle(&sample("account-update.json")).await.unwrap_err().is_retryable(), "EventBridge retries CDC");

    // The sender's retry of the very same signed request is not mistaken for a replay.
    assert_eq!(rig.http(&webhook).await.0, 202);
    assert_eq!(rig.http(&outbound).await.0, 200);
    assert_eq!(rig.to_sap.len(), 2);
}

#[tokio::test]
async fn gap_events_notify_their_named_ids_and_gap_overflow_asks_for_one_whole_object_resync() {
    let rig = Rig::new();
    rig.handle(&sample("opportunity-gap-update.json")).await.unwrap();
    let overflow = sample("account-gap-overflow.json");
    assert_eq!(rig.handle(&overflow).await.unwrap()["enqueued"], 1);
    let queued = rig.queued();
    let keys: Vec<(String, String)> = queued.iter().map(|n| (n.record.to_string(), n.reason.clone())).collect();
    assert_eq!(
        keys,
        [
            ("sf:Opportunity:006SB00000001GHYAY".to_string(), "cdc:GAP_UPDATE".to_string()),
            ("sf:Opportunity:006SB00000002MNYAY".to_string(), "cdc:GAP_UPDATE".to_string()),
            ("sf:Account:*".to_string(), "cdc:GAP_OVERFLOW".to_string()),
        ]
    );
    let commit = overflow["detail"]["payload"]["ChangeEventHeader"]["commitTimestamp"].as_i64().unwrap();
    assert_eq!(queued[2].changed_at, commit, "the writer resyncs from the overflow's commit time");
    assert!(rig.rejections().is_empty());
}

#[tokio::test]
async fn every_cdc_sample_is_enqueued_and_deletes_and_echoes_are_not() {
    let rig = Rig::new();
    for file in [
        "account-update.json",
        "contact-create.json",
        "lead-update.json",
        "case-create.json",
        "appflow-account-update.json",
    ] {
        rig.handle(&sample(file)).await.unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let objects: Vec<String> = rig.queued().iter().map(|n| n.record.object.clone()).collect();
    assert_eq!(objects, ["Account", "Contact", "Lead", "Case"], "AppFlow's copy of the Account change deduplicates");

    let mut delete = sample("case-create.json");
    delete["detail"]["payload"]["ChangeEventHeader"]["changeType"] = json!("DELETE");
    assert_eq!(rig.handle(&delete).await.unwrap()["ignored"], 1);
    let mut echo = sample("lead-update.json");
    echo["detail"]["payload"]["ChangeEventHeader"]["changeOrigin"] =
        json!("com/salesforce/api/rest/63.0;client=b1force");
    assert_eq!(rig.handle(&echo).await.unwrap()["echoes_dropped"], 1);
    assert_eq!(rig.to_sap.len(), 4);
    let skipped = rig.audit.all().into_iter().filter(|e| e.outcome == Outcome::Skipped).count();
    assert_eq!(skipped, 1, "the delete is audited as skipped");
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_a_disabled_webhook_get_clear_statuses() {
    let rig = Rig::new();
    let mut elsewhere = sample("webhook-function-url.json");
    elsewhere["rawPath"] = json!("/wp-login.php");
    assert_eq!(rig.http(&elsewhere).await.0, 404);
    let mut get = sample("outbound-message-function-url.json");
    get["requestContext"]["http"]["method"] = json!("GET");
    assert_eq!(rig.http(&get).await.0, 405);
    let mut form = sample("outbound-message-function-url.json");
    form["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    assert_eq!(rig.http(&form).await.0, 415);

    let disabled = Ingress { webhook: None, ..rig.ingress_on(rig.to_sap.as_ref()) };
    let response = disabled.handle(&sample("webhook-function-url.json")).await.unwrap();
    assert_eq!(response["statusCode"], 404);
    assert!(rig.to_sap.is_empty());
    assert!(rig.handle(&json!("not an event")).await.unwrap_err().to_string().contains("detail"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_wiring_serves_the_function_url_on_moto_with_replay_protection_in_dynamodb() -> anyhow::Result<()> {
    use shared::ports::SystemClock;
    use shared::wiring::ReceiverDeps;
    use std::collections::HashMap;
    let moto = e2e::moto::MotoServer::start().await?;
    let (queue_url, _dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    moto.create_idempotency_table("b1force-idempotency").await?;
    moto.create_audit_table("b1force-audit").await?;
    moto.create_secret(SECRET_ID, SAMPLE_KEY).await?;
    let mut settings: HashMap<String, String> = [
        ("TO_SAP_QUEUE_URL", queue_url.clone()),
        ("AUDIT_TABLE", "b1force-audit".into()),
        ("WEBHOOK_SECRET_ID", SECRET_ID.into()),
        ("IDEMPOTENCY_TABLE", "b1force-idempotency".into()),
        ("SF_ORG_ID", "00DSB00000000012AA".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sdk = moto.sdk_config().await;
    let deps = ReceiverDeps::from_env(&sdk, &settings)?;
    let ingress = deps.ingress();

    let signed = webhook_request(
        r#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"reason":"updated"}"#,
        SAMPLE_KEY,
        SystemClock.now_millis(),
    );
    let outbound = sample("outbound-message-function-url.json");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        statuses.push(ingress.handle(&signed).await?["statusCode"].as_u64().unwrap());
        let acked = ingress.handle(&outbound).await?;
        assert_eq!((acked["statusCode"].as_u64(), acked["body"].as_str()), (Some(200), Some(ACK)));
    }
    assert_eq!(statuses, [202, 401], "the second delivery of one signed request is a replay");
    let other_org =
        outbound_request(&outbound["body"].as_str().unwrap().replace("00DSB00000000012AA", "00DSB0000000002"));
    assert_eq!(ingress.handle(&other_org).await?["statusCode"], 401);
    let to_sap = shared::aws::SqsQueue::new(moto.sqs().await, queue_url);
    assert_eq!(to_sap.depth().await?, 2, "one webhook and one Outbound Message notification");

    settings.remove("IDEMPOTENCY_TABLE");
    let err = ReceiverDeps::from_env(&sdk, &settings).err().expect("a webhook without replay protection is refused");
    assert!(err.to_string().contains("IDEMPOTENCY_TABLE"), "{err}");
    Ok(())
}

#[tokio::test]
async fn an_outbound_message_endpoint_with_a_token_refuses_requests_without_it() {
    let rig = Rig::new();
    rig.secrets.insert("b1force/outbound-token", "s3cret-token-value");
    let ingress = Ingress {
        outbound_token: Some(OutboundToken { secrets: &rig.secrets, secret_id: "b1force/outbound-token" }),
        ..rig.ingress_on(rig.to_sap.as_ref())
    };
    let status = |response: Value| response["statusCode"].as_u64().unwrap();
    let mut event = sample("outbound-message-function-url.json");
    for query in ["", "token=wrong", "other=s3cret-token-value"] {
        event["rawQueryString"] = query.into();
        assert_eq!(status(ingress.handle(&event).await.unwrap()), 401, "{query:?}");
    }
    assert!(rig.to_sap.is_empty(), "nothing enqueued without the token");
    event["rawQueryString"] = "token=s3cret-token-value".into();
    assert_eq!(status(ingress.handle(&event).await.unwrap()), 200);
    assert_eq!(rig.to_sap.len(), 1);
}
