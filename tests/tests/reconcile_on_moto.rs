//! F8's AWS sinks against moto_server: the S3 store writes the three report files with their
//! content types, and SNS hears about a run only when it found exceptions (read back through an SQS
//! queue subscribed to the topic, as an operator's e-mail or chat hook would receive it).

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::moto::MotoServer;
use serde_json::{Value, json};
use shared::aws::{S3Reports, SnsNotifier};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::f8_reconcile::{Period, ReconRequest};
use std::sync::Arc;

const BUCKET: &str = "b1force-reports";

/// A topic with a standard SQS queue subscribed to it; returns (topic ARN, queue URL).
async fn topic_with_queue(moto: &MotoServer) -> (String, String) {
    let sdk = moto.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = sns.create_topic().name("b1force-reconciliation").send().await.unwrap().topic_arn.unwrap();
    let queue_url = sqs.create_queue().queue_name("reconciliation-inbox").send().await.unwrap().queue_url.unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(queue_arn).send().await.unwrap();
    (topic, queue_url)
}

async fn inbox(moto: &MotoServer, queue_url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let received = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
    received.messages.unwrap_or_default().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect()
}

#[tokio::test]
async fn reports_land_in_s3_with_their_types_and_sns_hears_only_of_exceptions() {
    let moto = MotoServer::start().await.unwrap();
    let sdk = moto.sdk_config().await;
    let s3 = S3Reports::client(&sdk);
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let (topic, queue_url) = topic_with_queue(&moto).await;

    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    e2e::pipeline::sync_won_opportunities(&stack).await.unwrap();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    // The seed's poison product (an ItemCode SAP lacks) is the one known orphan; unlink it for a clean start.
    let poison = stack.sf_sandbox.records("Product2").into_iter().find(|p| p["SAP_ItemCode__c"] == "Z99999").unwrap();
    stack
        .sf_sandbox
        .update_record("Product2", poison["Id"].as_str().unwrap(), json!({"SAP_ItemCode__c": null}))
        .unwrap();
    let reconciler = stack.reconciler(
        Arc::new(S3Reports::new(s3.clone(), BUCKET, "reconciliation/")),
        Arc::new(SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), topic)),
    );
    let request = ReconRequest { period: Period { from: "2000-01-01".into(), to: "2099-12-31".into() }, repair: false };

    let clean = reconciler.run(&request).await.unwrap();
    assert!(clean.report.exceptions.is_empty(), "{:#?}", clean.report.exceptions);
    assert!(!clean.notified);
    let prefix = format!("reconciliation/2000-01-01_2099-12-31/{}", clean.report.run_id);
    let expected: Vec<String> =
        ["csv", "json", "html"].iter().map(|ext| format!("s3://{BUCKET}/{prefix}.{ext}")).collect();
    assert_eq!(clean.stored, expected);
    for (ext, content_type) in [("csv", "text/csv"), ("json", "application/json"), ("html", "text/html")] {
        let object = s3.get_object().bucket(BUCKET).key(format!("{prefix}.{ext}")).send().await.unwrap();
        assert!(object.content_type().unwrap().starts_with(content_type), "{ext}: {:?}", object.content_type());
        let body = object.body.collect().await.unwrap().into_bytes();
        if ext == "json" {
            let stored: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(stored["run_id"], clean.report.run_id.as_str());
        }
    }
    assert!(inbox(&moto, &queue_url).await.is_empty(), "a clean run publishes nothing");

    // One drift in Salesforce: the next run announces it, naming the kind and the report.
    let invoice = stack.sf_sandbox.records("SAP_Invoice__c").into_iter().next().unwrap();
    let amount = invoice["Amount__c"].as_f64().unwrap();
    stack
        .sf_sandbox
        .update_record("SAP_Invoice__c", invoice["Id"].as_str().unwrap(), json!({"Amount__c": amount + 1.0}))
        .unwrap();
    let drifted = reconciler.run(&request).await.unwrap();
    assert_eq!(drifted.report.exceptions.len(), 1);
    assert!(drifted.notified);
    let published = inbox(&moto, &queue_url).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let message = published[0]["Message"].as_str().unwrap();
    assert!(message.contains("amount drift: 1"), "{message}");
    assert!(
        message.contains(&format!("s3://{BUCKET}/reconciliation/2000-01-01_2099-12-31/{}.html", drifted.report.run_id))
    );
    assert!(published[0]["Subject"].as_str().unwrap().contains("1 exception(s)"));
}

/// The reconciler Lambda's wiring from its documented settings: S3, SNS, both FIFO queues, the audit
/// and sync-state tables on moto, SAP and Salesforce sandboxes never synced (so every SAP record is
/// missing in Salesforce), repair on: the repairs land on the queues and in the audit table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_wiring_reconciles_and_repairs_through_aws() {
    use shared::ports::{AuditLog, Queue};
    let e2e::moto::Systems { moto, sap: _sap, sf: _sf, mut settings } = e2e::moto::Systems::start().await.unwrap();
    let sdk = moto.sdk_config().await;
    S3Reports::client(&sdk).create_bucket().bucket(BUCKET).send().await.unwrap();
    let (topic, queue_url) = topic_with_queue(&moto).await;
    let (to_salesforce, _) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await.unwrap();
    let (to_sap, _) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await.unwrap();
    settings.extend([
        ("REPORTS_BUCKET".to_string(), BUCKET.to_string()),
        ("REPORT_TOPIC_ARN".into(), topic),
        ("TO_SALESFORCE_QUEUE_URL".into(), to_salesforce.clone()),
        ("TO_SAP_QUEUE_URL".into(), to_sap),
    ]);
    let reconciler = shared::wiring::reconciler(&sdk, &settings).await.unwrap();
    let request = ReconRequest::from_event(&json!({"period": "month_to_date", "repair": true}), "2026-11-25").unwrap();
    let outcome = reconciler.run(&request).await.unwrap();

    let summary = outcome.summary();
    let repair = outcome.report.repair.clone().unwrap();
    assert!(repair.to_salesforce > 50, "{summary}");
    assert!(
        summary["reports"][2]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3://{BUCKET}/reconciliation/2026-11-01_2026-11-25/"))
    );
    assert_eq!(inbox(&moto, &queue_url).await.len(), 1);
    let queue = shared::aws::SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), to_salesforce);
    let first = queue.receive(1).await.unwrap();
    let note = shared::domain::Notification::from_body(&first[0].body).unwrap();
    assert_eq!(
        (note.reason.as_str(), note.source_version.clone()),
        ("reconcile", format!("reconcile:{}", outcome.report.run_id))
    );
    let audit = shared::aws::DynamoAudit::new(aws_sdk_dynamodb::Client::new(&sdk), "b1force-audit".into(), None);
    let trail = audit.for_record(&note.record.to_string()).await.unwrap();
    assert_eq!(trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["reconcile_repair"]);
}
