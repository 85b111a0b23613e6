//! GAP_OVERFLOW: Salesforce dropped the details of a huge transaction, so every record of the
//! object changed since then is re-read: the resync fans out into ordinary per-record notifications.

use super::{Applied, Done, ToSap};
use crate::domain::{Notification, RecordKey};
use crate::error::Result;
use crate::ports::AuditAction;
use crate::ports::OutgoingMessage;

/// How far before the overflow's commit time the resync looks, for clock skew between the systems.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Re-enqueues one notification per record of `note.record.object` modified since the overflow.
pub async fn resync(ports: &ToSap, note: &Notification) -> Result<Applied> {
    let ids = ports.salesforce_reads.changed_since(&note.record.object, note.changed_at - LOOKBACK_MS).await?;
    let messages: Vec<OutgoingMessage> = ids
        .iter()
        .map(|id| {
            let record = Notification {
                record: RecordKey::salesforce(&note.record.object, id),
                reason: "resync".into(),
                changed_at: note.changed_at,
                source_version: format!("resync:{}", note.source_version),
                correlation_id: note.correlation_id.clone(),
            };
            OutgoingMessage::from(&record)
        })
        .collect();
    ports.requeue.send(&messages).await?;
    tracing::info!(object = %note.record.object, records = messages.len(), "resync re-enqueued the object's changes");
    Ok(Applied::new(Done::Resynced { notifications: messages.len() }, AuditAction::Resync, None))
}
