//! The audit trail and dead-letter queue as both writers use them: one audit item per attempt per
//! record, and a permanent failure parked in the DLQ (audited) instead of burning retries.

use crate::domain::state::Direction;
use crate::domain::{Notification, digest};
use crate::error::Error;
use crate::ports::AuditAction;
use crate::ports::{AuditEntry, AuditLog, Clock, Outcome, OutgoingMessage, Queue};

/// A writer's audit log and DLQ, for one direction (`sf->sap` or `sap->sf`).
pub(crate) struct Trail<'a> {
    pub audit: &'a dyn AuditLog,
    pub dead_letters: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub direction: Direction,
}

/// A message as it arrived, for dead-lettering it unchanged.
pub(crate) struct Delivered<'a> {
    pub message_id: &'a str,
    pub group_id: &'a str,
    pub body: &'a str,
}

impl Trail<'_> {
    /// Records one attempt at the notification's record.
    pub async fn attempt(
        &self,
        note: &Notification,
        action: AuditAction,
        outcome: Outcome,
        target: Option<String>,
        err: Option<&Error>,
    ) {
        let entry = AuditEntry {
            record_key: note.record.to_string(),
            at: self.clock.now_millis(),
            correlation_id: note.correlation_id.clone(),
            direction: self.direction,
            action,
            outcome,
            source_version: Some(note.source_version.clone()),
            payload_digest: Some(payload_hash(note)),
            error_code: err.map(Error::code),
            error_class: err.map(Error::class),
            error: err.map(|e| e.to_string()),
            target_id: target,
        };
        self.record(&entry).await;
    }

    /// Moves a message to the DLQ and audits it; false when the DLQ refused it (the message must
    /// then return to its queue instead of being deleted).
    pub async fn dead_letter(&self, message: &Delivered<'_>, note: Option<&Notification>, err: &Error) -> bool {
        let dead = OutgoingMessage {
            group_id: message.group_id.to_string(),
            dedup_id: dead_letter_dedup_id(message),
            body: message.body.to_string(),
        };
        if let Err(send_err) = self.dead_letters.send(&[dead]).await {
            tracing::error!(error = %send_err, "could not dead-letter; message returns instead");
            if let Some(n) = note {
                self.attempt(n, AuditAction::DeadLetter, Outcome::Retrying, None, Some(&send_err)).await;
            }
            return false;
        }
        tracing::warn!(error = %err, "permanent failure; message dead-lettered");
        match note {
            Some(n) => self.attempt(n, AuditAction::DeadLetter, Outcome::DeadLettered, None, Some(err)).await,
            None => {
                let entry = AuditEntry {
                    // Unparseable: named by the system it came from and the message id.
                    record_key: format!(
                        "{}:invalid:{}",
                        if self.direction == Direction::SfToSap { "sf" } else { "sap" },
                        message.message_id.chars().take(64).collect::<String>()
                    ),
                    at: self.clock.now_millis(),
                    correlation_id: message.message_id.to_string(),
                    direction: self.direction,
                    action: AuditAction::DeadLetter,
                    outcome: Outcome::DeadLettered,
                    source_version: None,
                    payload_digest: Some(digest(message.body.as_bytes())),
                    error_code: Some(err.code()),
                    error_class: Some(err.class()),
                    error: Some(err.to_string()),
                    target_id: None,
                };
                self.record(&entry).await;
            }
        }
        true
    }

    async fn record(&self, entry: &AuditEntry) {
        if let Err(e) = self.audit.record(entry).await {
            // Best effort at this point: the outcome is decided and the queue holds the message.
            tracing::error!(error = %e, record = %entry.record_key, "audit write failed");
        }
    }
}

/// The DLQ's MessageDeduplicationId: one per queue message, not per change. A delivery of the same
/// message dead-lettered twice (the DLQ send worked, the delete did not) lands once; a message
/// redriven from the DLQ is a new message, so if it fails again within SQS's 5-minute dedup window it
/// still reaches the DLQ instead of being dropped there and then deleted from its queue.
fn dead_letter_dedup_id(message: &Delivered<'_>) -> String {
    let identity = if message.message_id.is_empty() { message.body } else { message.message_id };
    format!("dlq-{}", &digest(identity.as_bytes())[..60])
}

/// A fresh copy of a delivered message for [`Afterwards::Requeue`]: same group and body. Its dedup id
/// is derived from the delivered message, so a copy sent twice (the delete after it failed) is one.
pub(crate) fn requeued_copy(message_id: &str, group_id: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage {
        group_id: group_id.to_string(),
        dedup_id: format!("requeued-{}", &digest(message_id.as_bytes())[..54]),
        body: body.to_string(),
    }
}

/// The idempotency payload hash: the change itself, not who delivered it.
pub(crate) fn payload_hash(note: &Notification) -> String {
    digest(format!("{}|{}|{}|{}", note.record, note.reason, note.source_version, note.changed_at).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RecordKey, System};
    use crate::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, ManualClock};
    use std::sync::Arc;

    #[test]
    fn a_requeued_copy_keeps_group_and_body_and_has_one_dedup_id_per_delivered_message() {
        let a = requeued_copy("m-1", "sap:Invoices:7", "{}");
        assert_eq!((a.group_id.as_str(), a.body.as_str()), ("sap:Invoices:7", "{}"));
        assert_eq!(a.dedup_id, requeued_copy("m-1", "g", "b").dedup_id);
        assert_ne!(a.dedup_id, requeued_copy("m-2", "g", "b").dedup_id);
        assert!(a.dedup_id.len() <= 128);
    }

    #[tokio::test]
    async fn a_redriven_message_that_fails_again_reaches_the_dlq_again_and_a_repeat_of_one_delivery_does_not() {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let dlq = EmbeddedQueue::new("dlq.fifo", EmbeddedQueueOptions::default(), clock.clone());
        let audit = EmbeddedAudit::new();
        let trail = Trail { audit: &audit, dead_letters: &dlq, clock: clock.as_ref(), direction: Direction::SapToSf };
        let note = Notification {
            record: RecordKey { system: System::Sap, object: "Invoices".into(), id: "7".into() },
            reason: "poll".into(),
            changed_at: 1,
            source_version: "v1".into(),
            correlation_id: "c".into(),
        };
        let body = note.to_body();
        let group = note.group_id();
        let delivered = |message_id| Delivered { message_id, group_id: &group, body: &body };
        let err = Error::Invalid("rejected".into());
        assert!(trail.dead_letter(&delivered("m-1"), Some(&note), &err).await);
        // The same delivery again (its delete failed after the DLQ send): still one in the DLQ.
        assert!(trail.dead_letter(&delivered("m-1"), Some(&note), &err).await);
        assert_eq!(dlq.len(), 1);
        // Redriven (a new message id, same change) and failing again a minute later: a second copy.
        clock.advance(std::time::Duration::from_secs(60));
        assert!(trail.dead_letter(&delivered("m-2"), Some(&note), &err).await);
        assert_eq!(dlq.len(), 2);
        assert_eq!(audit.all().iter().filter(|e| e.outcome == Outcome::DeadLettered).count(), 3);
    }
}
