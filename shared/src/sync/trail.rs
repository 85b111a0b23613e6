//! The audit trail and dead-letter queue as both writers use them: one audit item per attempt per
//! record, and a permanent failure parked in the DLQ (audited) instead of burning retries.

use crate::domain::{Notification, digest};
use crate::error::Error;
use crate::ports::{AuditEntry, AuditLog, Clock, Outcome, OutgoingMessage, Queue};

/// A writer's audit log and DLQ, for one direction (`sf->sap` or `sap->sf`).
pub(super) struct Trail<'a> {
    pub audit: &'a dyn AuditLog,
    pub dead_letters: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub direction: &'static str,
}

/// A message as it arrived, for dead-lettering it unchanged.
pub(super) struct Delivered<'a> {
    pub message_id: &'a str,
    pub group_id: &'a str,
    pub body: &'a str,
}

impl Trail<'_> {
    /// Records one attempt at the notification's record.
    pub async fn attempt(
        &self,
        note: &Notification,
        action: &str,
        outcome: Outcome,
        target: Option<String>,
        err: Option<&Error>,
    ) {
        let entry = AuditEntry {
            record_key: note.record.to_string(),
            at: self.clock.now_millis(),
            correlation_id: note.correlation_id.clone(),
            direction: self.direction.into(),
            action: action.into(),
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
            dedup_id: note
                .map(|n| n.idempotency_key())
                .unwrap_or_else(|| digest(message.body.as_bytes())[..64].to_string()),
            body: message.body.to_string(),
        };
        if let Err(send_err) = self.dead_letters.send(&[dead]).await {
            tracing::error!(error = %send_err, "could not dead-letter; message returns instead");
            if let Some(n) = note {
                self.attempt(n, "dead_letter", Outcome::Retrying, None, Some(&send_err)).await;
            }
            return false;
        }
        tracing::warn!(error = %err, "permanent failure; message dead-lettered");
        match note {
            Some(n) => self.attempt(n, "dead_letter", Outcome::DeadLettered, None, Some(err)).await,
            None => {
                let entry = AuditEntry {
                    // Unparseable: named by the system it came from and the message id.
                    record_key: format!(
                        "{}:invalid:{}",
                        if self.direction == "sf->sap" { "sf" } else { "sap" },
                        message.message_id.chars().take(64).collect::<String>()
                    ),
                    at: self.clock.now_millis(),
                    correlation_id: message.message_id.to_string(),
                    direction: self.direction.into(),
                    action: "dead_letter".into(),
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

/// The idempotency payload hash: the change itself, not who delivered it.
pub(super) fn payload_hash(note: &Notification) -> String {
    digest(format!("{}|{}|{}|{}", note.record, note.reason, note.source_version, note.changed_at).as_bytes())
}
