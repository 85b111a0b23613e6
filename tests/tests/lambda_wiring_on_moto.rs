//! The Lambda functions' own wiring (`shared::wiring`) on AWS APIs served by moto_server: secrets
//! from Secrets Manager, notifications through an SQS FIFO queue, idempotency and audit in DynamoDB,
//! orders in the SAP sandbox and write-backs to the Salesforce sandbox.

use b1force_cli::local::opportunity_change_event;
use e2e::moto::Systems;
use e2e::pipeline::COMMIT_MS;
use serde_json::json;
use shared::aws::{DynamoAudit, SqsQueue};
use shared::engine::drain::drain;
use shared::ports::{AuditLog, Clock, Outcome, Queue, SystemClock};
use shared::wiring::{ReceiverDeps, sap_writer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_wiring_turns_duplicate_closed_won_events_into_one_order_each_on_moto() -> anyhow::Result<()> {
    let Systems { moto, sap, sf, mut settings } = Systems::start().await?;
    let (queue_url, dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    moto.create_idempotency_table("b1force-idempotency").await?;
    settings.insert("TO_SAP_QUEUE_URL".into(), queue_url.clone());
    settings.insert("TO_SAP_DLQ_URL".into(), dlq_url.clone());
    settings.insert("IDEMPOTENCY_TABLE".into(), "b1force-idempotency".into());
    let sdk = moto.sdk_config().await;
    let receiver = ReceiverDeps::from_env(&sdk, &settings)?;
    let writer = sap_writer(&sdk, &settings).await?;

    let ids = sf.seed_closed_won(4);
    for (i, id) in ids.iter().enumerate() {
        let event = opportunity_change_event(id, "UPDATE", "", COMMIT_MS, &format!("moto-{i}"));
        for _ in 0..2 {
            assert_eq!(receiver.receiver().receive(&event).await?.enqueued, 1);
        }
    }
    let to_sap = SqsQueue::new(moto.sqs().await, queue_url);
    assert_eq!(to_sap.depth().await?, 4, "SQS FIFO dedup kept one message per change");

    let stats = drain(&to_sap, &writer, &SystemClock, 60_000, 0, 20).await?;

    assert_eq!((stats.created, stats.failures_reported), (4, 0));
    assert_eq!(to_sap.depth().await?, 0);
    assert_eq!(SqsQueue::new(moto.sqs().await, dlq_url).depth().await?, 0);
    assert_eq!(sap.orders().len(), 4);
    let audit = DynamoAudit::new(moto.dynamodb().await, "b1force-audit".into(), None);
    for id in &ids {
        let opp = sf.record("Opportunity", id).unwrap();
        assert_eq!(opp["SAP_Sync_Status__c"], "Synced");
        let trail = audit.for_record(&format!("sf:Opportunity:{id}")).await?;
        let actions: Vec<(&str, Outcome)> = trail.iter().map(|e| (e.action.as_str(), e.outcome)).collect();
        assert!(actions.contains(&("receive", Outcome::Succeeded)), "{actions:?}");
        assert!(actions.contains(&("create_order", Outcome::Succeeded)), "{actions:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_and_sf_writer_wiring_sync_sap_changes_through_sqs_and_dynamodb_on_moto() -> anyhow::Result<()> {
    let Systems { moto, sap, sf, mut settings } = Systems::start().await?;
    let (queue_url, dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    settings.insert("TO_SALESFORCE_QUEUE_URL".into(), queue_url.clone());
    settings.insert("TO_SALESFORCE_DLQ_URL".into(), dlq_url.clone());
    // A standard queue, as in the template (SfWriterWakeQueue): wakes carry no group or dedup id.
    let wake = moto.sqs().await.create_queue().queue_name("b1force-sf-writer-wake").send().await?;
    let wake_url = wake.queue_url.unwrap_or_default();
    settings.insert("SF_WRITER_WAKE_QUEUE_URL".into(), wake_url.clone());
    let sdk = moto.sdk_config().await;
    let poller = shared::wiring::sap_poller(&sdk, &settings).await?;
    let writer = shared::wiring::sf_writer(&sdk, &settings).await?;
    sf.add_validation_rule("Account", "Phone", "000-BAD", "Phone is not a valid number");
    sap.user_update("BusinessPartners", "C20001", json!({"Phone1": "000-BAD"}))?;

    let polled = poller.run("BusinessPartners", "moto-run").await?;
    assert_eq!(polled.enqueued, 50);
    // The page of 50 went out in one send (five SendMessageBatch calls), followed by one wake.
    let wakes = moto.sqs().await.receive_message().queue_url(&wake_url).max_number_of_messages(10).send().await?;
    let bodies: Vec<_> = wakes.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec![shared::aws::WAKE_BODY]);
    // A second run re-reads its lookback window; the FIFO dedup ids keep the queue as it was.
    poller.run("BusinessPartners", "moto-run-2").await?;
    let to_salesforce = SqsQueue::new(moto.sqs().await, queue_url);
    assert_eq!(to_salesforce.depth().await?, 50);

    let run = writer.run(SystemClock.now_millis() + 120_000).await?;
    assert_eq!((run.written, run.dead_lettered, to_salesforce.depth().await?), (49, 1, 0), "{run:?}");
    let dead = SqsQueue::new(moto.sqs().await, dlq_url).receive(10).await?;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains("C20001"));
    let audit = DynamoAudit::new(moto.dynamodb().await, "b1force-audit".to_string(), None);
    let trail = audit.for_record("sap:BusinessPartners:C20001").await?;
    assert_eq!(trail.last().map(|e| e.outcome), Some(Outcome::DeadLettered));
    assert_eq!(trail.last().and_then(|e| e.error_code.clone()).as_deref(), Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"));
    let accounts = sf.records("Account");
    let synced = accounts.iter().filter(|a| a["SAP_Synced_At__c"].is_string()).count();
    assert_eq!(synced, 49);
    Ok(())
}
