//! sf-receiver: a CDC event becomes notifications on `to-sap.fifo`. Thin by design: it never
//! trusts the event's field values, only which records changed and when.

use super::cdc::{self, CdcAction};
use crate::domain::{Notification, digest};
use crate::error::{Error, Result};
use crate::ports::{AuditEntry, AuditLog, Clock, Outcome, OutgoingMessage, Queue};
use serde_json::Value;

/// What the receiver needs.
pub struct Receiver<'a> {
    pub to_sap: &'a dyn Queue,
    pub audit: &'a dyn AuditLog,
    pub clock: &'a dyn Clock,
    /// Our `Sforce-Call-Options` client tag.
    pub client_tag: &'a str,
}

/// What one event led to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiveReport {
    pub enqueued: usize,
    pub echoes_dropped: usize,
    pub ignored: usize,
}

impl Receiver<'_> {
    /// Parses, drops echoes, enqueues and audits. A malformed event is audited as rejected and
    /// returned as a permanent error (EventBridge sends it to the rule's DLQ); a queue failure is
    /// returned as retryable, so the event is redelivered — nothing is lost either way.
    pub async fn receive(&self, event: &Value) -> Result<ReceiveReport> {
        let action = match cdc::parse(event, self.client_tag) {
            Ok(action) => action,
            Err(err) => {
                self.audit_rejection(event, &err).await?;
                return Err(err);
            }
        };
        match action {
            CdcAction::Notify(notes) => {
                self.enqueue(&notes).await?;
                Ok(ReceiveReport { enqueued: notes.len(), ..Default::default() })
            }
            CdcAction::Echo { entity, record_ids } => {
                tracing::debug!(%entity, records = record_ids.len(), "dropped echo of our own write");
                Ok(ReceiveReport { echoes_dropped: record_ids.len(), ..Default::default() })
            }
            CdcAction::Ignore { entity, change_type, record_ids } => {
                for id in &record_ids {
                    self.audit_plain(
                        &format!("sf:{entity}:{id}"),
                        event,
                        Outcome::Skipped,
                        Some(format!("{change_type} is not acted on")),
                    )
                    .await?;
                }
                Ok(ReceiveReport { ignored: record_ids.len(), ..Default::default() })
            }
            CdcAction::Overflow { entity } => {
                let err = Error::Invalid(format!(
                    "GAP_OVERFLOW for {entity}: object resync is not built yet (issue #3); run a reconciliation"
                ));
                self.audit_rejection(event, &err).await?;
                Err(err)
            }
        }
    }

    async fn enqueue(&self, notes: &[Notification]) -> Result<()> {
        let messages: Vec<OutgoingMessage> = notes
            .iter()
            .map(|n| OutgoingMessage { group_id: n.group_id(), dedup_id: n.idempotency_key(), body: n.to_body() })
            .collect();
        self.to_sap.send(&messages).await?;
        for n in notes {
            let entry = AuditEntry {
                record_key: n.record.to_string(),
                at: self.clock.now_millis(),
                correlation_id: n.correlation_id.clone(),
                direction: "sf->sap".into(),
                action: "receive".into(),
                outcome: Outcome::Succeeded,
                source_version: Some(n.source_version.clone()),
                payload_digest: Some(digest(n.to_body().as_bytes())),
                error_code: None,
                error_class: None,
                error: None,
                target_id: None,
            };
            self.audit.record(&entry).await?;
        }
        Ok(())
    }

    async fn audit_rejection(&self, event: &Value, err: &Error) -> Result<()> {
        let key = rejected_record_key(event);
        let mut entry = self.entry(&key, event, Outcome::Rejected);
        entry.error_code = Some(err.code());
        entry.error_class = Some(err.class());
        entry.error = Some(err.to_string());
        tracing::warn!(record = %key, error = %err, "rejected event");
        self.audit.record(&entry).await
    }

    async fn audit_plain(&self, key: &str, event: &Value, outcome: Outcome, note: Option<String>) -> Result<()> {
        let mut entry = self.entry(key, event, outcome);
        entry.error = note;
        self.audit.record(&entry).await
    }

    fn entry(&self, key: &str, event: &Value, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            record_key: key.to_string(),
            at: self.clock.now_millis(),
            correlation_id: event.get("id").and_then(Value::as_str).unwrap_or("none").chars().take(64).collect(),
            direction: "sf->sap".into(),
            action: "receive".into(),
            outcome,
            source_version: None,
            payload_digest: Some(digest(event.to_string().as_bytes())),
            error_code: None,
            error_class: None,
            error: None,
            target_id: None,
        }
    }
}

/// Where a rejected event is filed: its first record id when one can be read, else `sf:rejected:<event id>`.
fn rejected_record_key(event: &Value) -> String {
    let detail = event.get("detail");
    let header =
        detail.and_then(|d| d.get("payload")).unwrap_or(detail.unwrap_or(&Value::Null)).get("ChangeEventHeader");
    let safe = |s: &str| {
        s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(64).collect::<String>()
    };
    let entity = header.and_then(|h| h.get("entityName")).and_then(Value::as_str).map(safe).filter(|s| !s.is_empty());
    let id = header
        .and_then(|h| h.get("recordIds"))
        .and_then(|r| r.get(0))
        .and_then(Value::as_str)
        .map(safe)
        .filter(|s| !s.is_empty());
    match (entity, id) {
        (Some(entity), Some(id)) => format!("sf:{entity}:{id}"),
        _ => format!(
            "sf:rejected:{}",
            event.get("id").and_then(Value::as_str).map(safe).unwrap_or_else(|| "unknown".into())
        ),
    }
}
