//! The Lambda functions' own wiring (`shared::wiring`) on AWS APIs served by moto_server: secrets
//! from Secrets Manager, notifications through an SQS FIFO queue, idempotency and audit in DynamoDB,
//! orders in the SAP sandbox and write-backs to the Salesforce sandbox.

use b1force_cli::local::opportunity_change_event;
use e2e::moto::MotoServer;
use e2e::pipeline::COMMIT_MS;
use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use serde_json::json;
use shared::aws::{DynamoAudit, SqsQueue};
use shared::ports::{AuditLog, Outcome, Queue, SystemClock};
use shared::sync::drain::drain;
use shared::wiring::{ReceiverDeps, sap_writer};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_wiring_turns_duplicate_closed_won_events_into_one_order_each_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    let (queue_url, dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    moto.create_idempotency_table("b1force-idempotency").await?;
    moto.create_audit_table("b1force-audit").await?;
    moto.create_sync_state_table("b1force-sync-state").await?;
    let sap = SapSandbox::start(SapOptions::default()).await?;
    let sf = SalesforceSandbox::start(SalesforceOptions::default()).await?;
    moto.create_secret("b1force/sap", &json!({"password": sap.password()}).to_string()).await?;
    moto.create_secret("b1force/salesforce", &json!({"client_secret": sf.client_secret()}).to_string()).await?;
    let settings: HashMap<String, String> = [
        ("TO_SAP_QUEUE_URL", queue_url.clone()),
        ("TO_SAP_DLQ_URL", dlq_url.clone()),
        ("IDEMPOTENCY_TABLE", "b1force-idempotency".into()),
        ("AUDIT_TABLE", "b1force-audit".into()),
        ("SYNC_STATE_TABLE", "b1force-sync-state".into()),
        ("SAP_URL", sap.base_url()),
        ("SAP_COMPANY_DB", sap.company_db().into()),
        ("SAP_USER", sap.user().into()),
        ("SAP_SECRET_ID", "b1force/sap".into()),
        ("SF_LOGIN_URL", sf.login_url()),
        ("SF_CLIENT_ID", sf.client_id().into()),
        ("SF_SECRET_ID", "b1force/salesforce".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
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
