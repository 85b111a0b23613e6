//! #13 item 1 on SQS (moto_server): a change event the sf-receiver could not enqueue (its queue
//! unavailable through Lambda's retries) is not lost. Lambda puts its invocation record on the
//! function's on-failure destination (`EventInvokeConfig` in `infra/template.yaml`; the Lambda service
//! itself is not in moto, so the test writes the record in Lambda's documented shape); `b1force dlq
//! list` shows it, and `b1force dlq redrive --queue receiver` runs the event through the receiver
//! again: one notification, once.

use b1force_cli::dlq::{self as dlq_cmd, DlqCommand, FailedQueue, QueueChoice};
use b1force_cli::local::opportunity_change_event;
use e2e::moto::Systems;
use e2e::pipeline::COMMIT_MS;
use serde_json::{Value, json};
use shared::aws::SqsQueue;
use shared::ports::{Clock, Queue, SystemClock};
use shared::wiring::ReceiverDeps;
use std::collections::HashMap;

/// What Lambda sends to an on-failure destination after the last retry [AWS Lambda Developer Guide,
/// "Capturing records of Lambda asynchronous invocations", example invocation record].
fn invocation_record(event: &Value, error: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-12-06T10:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:eu-central-1:123456789012:function:b1force-SfReceiver:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": error, "errorType": "lambda_runtime::Error"}
    })
    .to_string()
}

async fn run(command: DlqCommand, failed: FailedQueue<'_>, systems: &Systems) -> String {
    let audit = shared::aws::DynamoAudit::new(systems.moto.dynamodb().await, "b1force-audit".into(), None);
    let mut out = Vec::new();
    dlq_cmd::run(command, &[], Some(failed), &audit, &SystemClock, &mut out, &mut |_| {}).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_receiver_could_not_enqueue_lands_in_the_destination_and_a_redrive_enqueues_it_once()
-> anyhow::Result<()> {
    let systems = Systems::start().await?;
    let (to_sap_url, _) = systems.moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    let sqs = systems.moto.sqs().await;
    let destination_url = sqs.create_queue().queue_name("b1force-receiver-failed").send().await?.queue_url.unwrap();
    let destination = SqsQueue::new(sqs.clone(), destination_url.clone());
    let to_sap = SqsQueue::new(sqs.clone(), to_sap_url.clone());
    let sdk = systems.moto.sdk_config().await;
    let mut settings: HashMap<String, String> = systems.settings.clone();

    // The outage: the receiver's queue does not answer (here: does not exist). Lambda's three
    // attempts all fail; any error of the handler, retryable or not, ends in the destination.
    settings.insert("TO_SAP_QUEUE_URL".into(), format!("{}-unavailable", to_sap_url.trim_end_matches(".fifo")));
    let broken = ReceiverDeps::from_env(&sdk, &settings)?;
    let id = systems.sf.seed_closed_won(1).remove(0);
    let event = opportunity_change_event(&id, "UPDATE", "", COMMIT_MS, "moto-outage");
    let mut last_error = String::new();
    for _ in 0..3 {
        last_error = broken.receiver().receive(&event).await.expect_err("the queue is down").to_string();
    }
    // Lambda's own delivery to the standard queue (no group or deduplication id).
    let record = invocation_record(&event, &last_error);
    let deliver = || sqs.send_message().queue_url(&destination_url).message_body(&record).send();
    deliver().await?;
    assert_eq!(to_sap.depth().await?, 0);

    let listed = run(
        DlqCommand::List { sample: 10, json: false },
        FailedQueue { queue: &destination, receiver: None },
        &systems,
    )
    .await;
    assert!(listed.contains("receiver failed invocations: 1 message(s)"), "{listed}");
    assert!(
        listed.contains(&format!("OpportunityChangeEvent {id}")) && listed.contains("RetriesExhausted x3"),
        "{listed}"
    );
    assert!(!listed.contains("StageName"), "no payload fields in a listing: {listed}");

    // Fixed: the redrive runs the event through the receiver with the function's settings.
    settings.insert("TO_SAP_QUEUE_URL".into(), to_sap_url.clone());
    let fixed = ReceiverDeps::from_env(&sdk, &settings)?;
    let redrive = || DlqCommand::Redrive { queue: QueueChoice::Receiver, filter: None, dry_run: false, limit: None };
    let failed = FailedQueue { queue: &destination, receiver: Some(fixed.receiver()) };
    let redriven = run(redrive(), failed, &systems).await;
    assert!(
        redriven.contains("1 event(s) taken by the receiver again (1 notification(s) enqueued), 0 failed"),
        "{redriven}"
    );
    assert_eq!((to_sap.depth().await?, destination.depth().await?), (1, 0));

    // Once: the same record redriven again (Lambda delivered it twice, or an operator re-ran it).
    deliver().await?;
    let failed = FailedQueue { queue: &destination, receiver: Some(fixed.receiver()) };
    run(redrive(), failed, &systems).await;
    assert_eq!((to_sap.depth().await?, destination.depth().await?), (1, 0), "FIFO deduplication kept one notification");
    Ok(())
}

/// #13 item 8 on moto: a flood of unsigned requests on the public Function URL costs no DynamoDB
/// write per request (counted in `RequestsRefused`, one audited per minute as a sample), while a
/// signed request is audited in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unsigned_requests_is_counted_not_audited_and_a_signed_one_is_audited_in_full() -> anyhow::Result<()>
{
    use shared::ingress::salesforce_webhook::sign;
    use shared::ports::{AuditLog, Outcome};
    let systems = Systems::start().await?;
    let (to_sap_url, _) = systems.moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    systems.moto.create_idempotency_table("b1force-idempotency").await?;
    let key = "b1force-moto-webhook-key-0123456789abcdef";
    systems.moto.create_secret("b1force/webhook", key).await?;
    let mut settings: HashMap<String, String> = systems.settings.clone();
    settings.insert("TO_SAP_QUEUE_URL".into(), to_sap_url.clone());
    settings.insert("WEBHOOK_SECRET_ID".into(), "b1force/webhook".into());
    settings.insert("IDEMPOTENCY_TABLE".into(), "b1force-idempotency".into());
    let sdk = systems.moto.sdk_config().await;
    let deps = ReceiverDeps::from_env(&sdk, &settings)?;
    let sample = std::fs::read_to_string(format!(
        "{}/../events/sf-receiver/webhook-function-url.json",
        env!("CARGO_MANIFEST_DIR")
    ))?;
    let request = |body: &str, signature: &str, ts: &str, id: usize| {
        let mut event: Value = serde_json::from_str(&sample).unwrap();
        event["headers"]["x-b1force-timestamp"] = json!(ts);
        event["headers"]["x-b1force-signature"] = json!(signature);
        event["requestContext"]["requestId"] = json!(format!("flood-{id}"));
        event["body"] = json!(body);
        event
    };
    let body = r#"{"object":"Opportunity","recordIds":["006SB00000001GHYAY"],"reason":"updated"}"#;
    let ts = (SystemClock.now_millis() / 1000).to_string();

    let mut refused = 0;
    for i in 0..200 {
        let (response, tally) = deps.ingress().handle_http_tallied(&request(body, "Zm9yZ2Vk", &ts, i)).await;
        assert_eq!(response.status, 401);
        refused += tally.refused;
    }
    assert_eq!(refused, 200, "each refusal is counted");
    let audit = shared::aws::DynamoAudit::new(systems.moto.dynamodb().await, "b1force-audit".into(), None);
    let rejected = audit.failures_since(0, None).await?.into_iter().filter(|e| e.outcome == Outcome::Rejected).count();
    assert_eq!(rejected, 1, "one refusal audited as the minute's sample, not 200 DynamoDB writes");

    let signed = request(body, &sign(key.as_bytes(), &ts, body.as_bytes()), &ts, 999);
    let (response, tally) = deps.ingress().handle_http_tallied(&signed).await;
    assert_eq!((response.status, tally.enqueued, tally.refused), (202, 1, 0));
    let trail = audit.for_record("sf:Opportunity:006SB00000001GHYAY").await?;
    assert!(trail.iter().any(|e| e.outcome == Outcome::Succeeded), "the accepted request is audited: {trail:?}");
    Ok(())
}
