//! Drives a writer over a queue until it is empty: the embedded stand-in for the SQS event
//! source mapping (receive ≤ 10, invoke, delete successes, let failures return).

use super::sap_writer::{BatchOutcome, Disposition, InboundMessage, SapWriter};
use crate::error::Result;
use crate::ports::{Clock, Queue};

/// Counts from a drain run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainStats {
    pub batches: u64,
    pub messages: u64,
    pub failures_reported: u64,
    pub created: u64,
    pub linked: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub dead_lettered: u64,
    /// Kept queued (returned or requeued) for a configuration error.
    pub held: u64,
    pub resynced: u64,
    pub written: u64,
}

impl DrainStats {
    fn count(&mut self, disposition: &Disposition) {
        match disposition {
            Disposition::Created { .. } => self.created += 1,
            Disposition::Linked { .. } => self.linked += 1,
            Disposition::Duplicate => self.duplicates += 1,
            Disposition::Skipped => self.skipped += 1,
            Disposition::DeadLettered => self.dead_lettered += 1,
            Disposition::Written => self.written += 1,
            Disposition::Resynced { notifications } => self.resynced += *notifications as u64,
            Disposition::Held | Disposition::Requeued => self.held += 1,
            Disposition::Retry | Disposition::HeldBack => {}
        }
    }
}

/// Receives batches from `queue` and hands them to `writer` until nothing is visible or
/// `max_batches` ran. Failed messages are made visible again after `retry_delay_secs`.
pub async fn drain(
    queue: &dyn Queue,
    writer: &SapWriter,
    clock: &dyn Clock,
    invocation_budget_ms: i64,
    retry_delay_secs: u32,
    max_batches: u64,
) -> Result<DrainStats> {
    let mut stats = DrainStats::default();
    while stats.batches < max_batches {
        let received = queue.receive(10).await?;
        if received.is_empty() {
            break;
        }
        let batch: Vec<InboundMessage> = received.iter().map(InboundMessage::from).collect();
        let BatchOutcome { failures, dispositions } =
            writer.process_batch(&batch, clock.now_millis() + invocation_budget_ms).await;
        for m in &received {
            if failures.contains(&m.message_id) {
                queue.release(&m.receipt_handle, retry_delay_secs).await?;
            } else {
                queue.delete(&m.receipt_handle).await?;
            }
        }
        for (_, disposition) in &dispositions {
            stats.count(disposition);
        }
        stats.batches += 1;
        stats.messages += received.len() as u64;
        stats.failures_reported += failures.len() as u64;
    }
    Ok(stats)
}
