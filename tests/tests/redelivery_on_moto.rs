//! #13 item 2 on SQS (moto_server): nothing reaches the DLQ without an audit entry. The sf-writer
//! settles every message itself before the queue's redrive policy could move it silently, and a crash
//! between the DLQ send and the delete does not dead-letter the message twice.

use async_trait::async_trait;
use e2e::moto::Systems;
use serde_json::json;
use shared::Result;
use shared::aws::{DynamoAudit, SqsQueue};
use shared::domain::redelivery::Deliveries;
use shared::engine::sf_writer::SfWriterSettings;
use shared::error::Error;
use shared::mapping::file::MappingFile;
use shared::ports::{
    AuditLog, Clock, IdempotencyStore, Outcome, OutgoingMessage, Queue, ReceivedMessage, SyncState, SystemClock,
    WriteLedger,
};
use shared::salesforce::SalesforceClient;
use shared::sap::SapClient;
use shared::wiring::{AwsBackends, Backends, QueueName};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MAX_RECEIVE_COUNT: u32 = 3;

/// The systems with `to-salesforce.fifo` (redriving after [`MAX_RECEIVE_COUNT`]) filled by one
/// poller run: 50 business partner changes.
async fn polled() -> anyhow::Result<(Systems, SqsQueue, SqsQueue)> {
    let mut systems = Systems::start().await?;
    let (queue_url, dlq_url) =
        systems.moto.create_fifo_queue_with_dlq("b1force-to-salesforce", MAX_RECEIVE_COUNT).await?;
    let settings = &mut systems.settings;
    settings.insert("TO_SALESFORCE_QUEUE_URL".into(), queue_url.clone());
    settings.insert("TO_SALESFORCE_DLQ_URL".into(), dlq_url.clone());
    settings.insert("MAX_RECEIVE_COUNT".into(), MAX_RECEIVE_COUNT.to_string());
    settings.insert("SF_RETRY_DELAY_SECONDS".into(), "0".into());
    let sdk = systems.moto.sdk_config().await;
    let poller = shared::wiring::sap_poller(&sdk, &systems.settings).await?;
    assert_eq!(poller.run("BusinessPartners", "moto").await?.enqueued, 50);
    let queue = SqsQueue::new(systems.moto.sqs().await, queue_url);
    let dlq = SqsQueue::new(systems.moto.sqs().await, dlq_url);
    Ok((systems, queue, dlq))
}

/// An invocation that received everything and died before settling any of it; returns once every
/// message it held is visible again (moto counts the 1 s visibility timeout coarsely, and a loaded
/// machine stretches it, so the test waits for the queue, not for a fixed time).
async fn die_holding_everything(queue: &SqsQueue) -> anyhow::Result<()> {
    let mut held = 0;
    loop {
        let batch = queue.receive_for(10, 1).await?;
        if batch.is_empty() {
            break;
        }
        held += batch.len() as u64;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    while queue.depth().await? < held {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the messages did not come back within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn last_outcomes(systems: &Systems, dlq: &SqsQueue) -> anyhow::Result<Vec<(Outcome, Option<String>)>> {
    let audit = DynamoAudit::new(systems.moto.dynamodb().await, "b1force-audit".into(), None);
    let mut outcomes = Vec::new();
    loop {
        let dead = dlq.receive(10).await?;
        if dead.is_empty() {
            break;
        }
        for message in dead {
            let note = shared::domain::Notification::from_body(&message.body)?;
            let trail = audit.for_record(&note.record.to_string()).await?;
            let last = trail.last().expect("every dead letter is audited");
            outcomes.push((last.outcome, last.error_code.clone()));
        }
    }
    Ok(outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_whose_invocations_kept_dying_are_dead_lettered_and_audited_by_the_writer_not_the_redrive_policy()
-> anyhow::Result<()> {
    let (systems, queue, dlq) = polled().await?;
    die_holding_everything(&queue).await?;
    die_holding_everything(&queue).await?;
    let sdk = systems.moto.sdk_config().await;
    let writer = shared::wiring::sf_writer(&sdk, &systems.settings).await?;
    let run = writer.run(SystemClock.now_millis() + 120_000).await?;
    assert_eq!((run.messages, run.written, run.dead_lettered), (50, 0, 50), "{run:?}");
    let outcomes = last_outcomes(&systems, &dlq).await?;
    assert_eq!(outcomes.len(), 50);
    assert!(outcomes.iter().all(|o| *o == (Outcome::DeadLettered, Some("RETRIES_EXHAUSTED".into()))), "{outcomes:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_on_the_last_allowed_attempt_is_dead_lettered_with_its_cause_and_audited() -> anyhow::Result<()> {
    let (systems, queue, dlq) = polled().await?;
    die_holding_everything(&queue).await?;
    systems.sf.faults().set(sandbox::FaultConfig { error_rate: 1.0, seed: Some(5), ..Default::default() });
    let sdk = systems.moto.sdk_config().await;
    let writer = shared::wiring::sf_writer(&sdk, &systems.settings).await?;
    let run = writer.run(SystemClock.now_millis() + 120_000).await?;
    assert_eq!((run.written, run.retried, run.dead_lettered), (0, 0, 50), "{run:?}");
    assert_eq!(queue.depth().await?, 0);
    let outcomes = last_outcomes(&systems, &dlq).await?;
    assert_eq!(outcomes.len(), 50, "every message in the DLQ, each audited");
    assert!(outcomes.iter().all(|o| o.0 == Outcome::DeadLettered && o.1.as_deref() == Some("RETRIES_EXHAUSTED")));
    Ok(())
}

/// `to-salesforce.fifo` whose first single delete fails: the invocation dies right after a DLQ send.
struct DiesAfterFirstDeadLetter {
    inner: SqsQueue,
    died: AtomicBool,
}

#[async_trait]
impl Queue for DiesAfterFirstDeadLetter {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        self.inner.send(messages).await
    }
    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        self.inner.receive(max).await
    }
    async fn delete(&self, receipt_handle: &str) -> Result<()> {
        if !self.died.swap(true, Ordering::SeqCst) {
            return Err(Error::Transport { system: "test", message: "the invocation died here".into() });
        }
        self.inner.delete(receipt_handle).await
    }
    async fn delete_many(&self, receipt_handles: &[String]) -> Result<()> {
        self.inner.delete_many(receipt_handles).await
    }
    async fn release(&self, receipt_handle: &str, seconds: u32) -> Result<()> {
        self.inner.release(receipt_handle, seconds).await
    }
    async fn depth(&self) -> Result<u64> {
        self.inner.depth().await
    }
}

/// The Lambda's own backends with the work queue replaced.
struct WithQueue<'a> {
    aws: AwsBackends<'a>,
    queue: Arc<dyn Queue>,
}

impl Backends for WithQueue<'_> {
    fn sap(&self) -> Result<Arc<SapClient>> {
        self.aws.sap()
    }
    fn salesforce(&self) -> Result<Arc<SalesforceClient>> {
        self.aws.salesforce()
    }
    fn queue(&self, name: QueueName) -> Result<Arc<dyn Queue>> {
        if name == QueueName::ToSalesforce { Ok(self.queue.clone()) } else { self.aws.queue(name) }
    }
    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>> {
        self.aws.idempotency()
    }
    fn audit(&self) -> Result<Arc<dyn AuditLog>> {
        self.aws.audit()
    }
    fn sync_state(&self) -> Result<Arc<dyn SyncState>> {
        self.aws.sync_state()
    }
    fn write_ledger(&self) -> Result<Arc<dyn WriteLedger>> {
        self.aws.write_ledger()
    }
    fn mapping(&self) -> Result<Arc<MappingFile>> {
        self.aws.mapping()
    }
    fn clock(&self) -> Arc<dyn Clock> {
        self.aws.clock()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_dlq_send_and_the_delete_does_not_dead_letter_the_message_twice() -> anyhow::Result<()> {
    let (systems, queue, dlq) = polled().await?;
    systems.sf.add_validation_rule("Account", "Phone", "000-BAD", "Phone is not a valid number");
    systems.sap.user_update("BusinessPartners", "C20001", json!({"Phone1": "000-BAD"}))?;
    // The writer reads the row as it is now: C20001's message now carries a phone Salesforce refuses.
    let sdk = systems.moto.sdk_config().await;
    let src: HashMap<String, String> = systems.settings.clone();
    let aws = AwsBackends::connect(&sdk, &src, "sf-writer").await?.with_salesforce().await?;
    let dying = Arc::new(DiesAfterFirstDeadLetter { inner: queue.clone(), died: AtomicBool::new(false) });
    let backends = WithQueue { aws, queue: dying };
    let settings = SfWriterSettings {
        deliveries: Deliveries { max_receive_count: Some(MAX_RECEIVE_COUNT) },
        retry_delay_secs: 0,
        dead_letter_hold_secs: 2,
        ..SfWriterSettings::default()
    };
    let writer = shared::wiring::backends::sf_writer(&backends, settings)?;
    assert!(writer.run(SystemClock.now_millis() + 120_000).await.is_err(), "the invocation died");
    assert_eq!(dlq.depth().await?, 1, "the DLQ send happened");
    // Hidden for 2 s, not the queue's 30 s: it returns inside the DLQ's 5-minute deduplication window.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = writer.run(SystemClock.now_millis() + 120_000).await?;
    assert_eq!(again.dead_lettered, 1, "the returned message was settled again: {again:?}");
    assert_eq!(queue.depth().await?, 0);
    assert_eq!(dlq.depth().await?, 1, "the second DLQ send was deduplicated");
    Ok(())
}
