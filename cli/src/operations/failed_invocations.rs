//! The sf-receiver's failed invocations as operators see them (#13 item 1): Lambda's on-failure
//! destination holds each change event the receiver could not enqueue after its retries (an SQS or
//! DynamoDB outage, long throttling). [`list`] shows what is there and why; [`redrive`] runs each
//! event through the receiver again and deletes it only once the receiver took it, so a redrive cut
//! short can be run again: the receiver's FIFO deduplication ids make a second enqueue a no-op.

use super::dlq::{LOOK_VISIBILITY_SECS, REDRIVE_VISIBILITY_SECS};
use shared::domain::EpochMillis;
use shared::engine::sf_receiver::Receiver;
use shared::error::Result;
use shared::ingress::failed_invocation::FailedInvocation;
use shared::ports::{Queue, ReceivedMessage};

/// The on-failure destination's short name, as `--queue` takes it.
pub const NAME: &str = "receiver";

/// One message of the destination.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedEvent {
    pub message_id: String,
    pub sent_at: Option<EpochMillis>,
    /// The event and the records it names (never its fields).
    pub event: String,
    pub condition: String,
    pub attempts: u64,
    pub error: String,
}

impl FailedEvent {
    fn of(message: &ReceivedMessage) -> Self {
        let (event, condition, attempts, error) = match FailedInvocation::parse(&message.body) {
            Ok(failed) => (failed.summary(), failed.condition, failed.attempts, failed.error),
            Err(err) => ("(unreadable)".into(), String::new(), 0, err.to_string()),
        };
        Self { message_id: message.message_id.clone(), sent_at: message.sent_at, event, condition, attempts, error }
    }
}

/// `dlq list` for the destination.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedSummary {
    pub queue: &'static str,
    pub approximate_count: u64,
    pub sample: Vec<FailedEvent>,
}

/// Reads up to `sample` messages (hidden for a moment, then visible again).
pub async fn list(queue: &dyn Queue, sample: usize) -> Result<FailedSummary> {
    let approximate_count = queue.depth().await?;
    let held = receive(queue, sample, LOOK_VISIBILITY_SECS).await?;
    let events = held.iter().map(FailedEvent::of).collect();
    release(queue, &held).await?;
    Ok(FailedSummary { queue: NAME, approximate_count, sample: events })
}

/// `dlq show ID` for the destination: the message, if visible.
pub async fn find(queue: &dyn Queue, message_id: &str) -> Result<Option<FailedEvent>> {
    let held = receive(queue, usize::MAX, LOOK_VISIBILITY_SECS).await?;
    let found = held.iter().find(|m| m.message_id == message_id).map(FailedEvent::of);
    release(queue, &held).await?;
    Ok(found)
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FailedRedrive {
    pub dry_run: bool,
    /// Events the receiver took again (and deleted from the destination).
    pub redriven: usize,
    /// Notifications those events enqueued (FIFO deduplication may have dropped repeats).
    pub enqueued: usize,
    /// Events the receiver failed on again, left in the destination: (message id, error).
    pub failed: Vec<(String, String)>,
}

/// Runs each event of the destination (at most `limit`) through `receiver`; `dry_run` lists only.
pub async fn redrive(
    queue: &dyn Queue,
    receiver: &Receiver<'_>,
    dry_run: bool,
    limit: Option<usize>,
) -> Result<FailedRedrive> {
    let mut report = FailedRedrive { dry_run, ..FailedRedrive::default() };
    let held = receive(queue, limit.unwrap_or(usize::MAX), REDRIVE_VISIBILITY_SECS).await?;
    for message in &held {
        if dry_run {
            report.redriven += 1;
            continue;
        }
        let outcome = match FailedInvocation::parse(&message.body) {
            Ok(failed) => receiver.receive(&failed.event).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(received) => {
                queue.delete(&message.receipt_handle).await?;
                report.redriven += 1;
                report.enqueued += received.enqueued;
            }
            Err(err) => {
                queue.release(&message.receipt_handle, 0).await?;
                report.failed.push((message.message_id.clone(), err.to_string()));
            }
        }
    }
    if dry_run {
        release(queue, &held).await?;
    }
    Ok(report)
}

async fn receive(queue: &dyn Queue, max: usize, visibility_secs: u32) -> Result<Vec<ReceivedMessage>> {
    let mut held = Vec::new();
    while held.len() < max {
        let batch = queue.receive_for((max - held.len()).min(10), visibility_secs).await?;
        if batch.is_empty() {
            break;
        }
        held.extend(batch);
    }
    Ok(held)
}

async fn release(queue: &dyn Queue, held: &[ReceivedMessage]) -> Result<()> {
    for message in held {
        queue.release(&message.receipt_handle, 0).await?;
    }
    Ok(())
}
