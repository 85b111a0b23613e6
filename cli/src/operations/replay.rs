//! `replay RECORD_KEY`: puts a fresh notification for a record on its work queue. Safe because a
//! notification carries no data: the writer fetches the record's current state and does what an
//! original change would have done (an existing SAP order is linked, not created twice; a Salesforce
//! row whose mapped values are unchanged is not written).

use super::Route;
use shared::domain::{Notification, RecordKey, SalesforceId, System};
use shared::error::{Error, Result};
use shared::ports::AuditAction;
use shared::ports::{AuditEntry, AuditLog, Clock, OutgoingMessage, Queue};

/// What a replay enqueued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Replayed {
    pub notification: Notification,
    /// The work queue it went to.
    pub queue: &'static str,
    /// Attempts in the record's audit trail before the replay.
    pub prior_attempts: usize,
}

/// Enqueues a `replay` notification for `record` on `queue` (the work queue of [`Route::of`] the
/// record) and audits it. Refuses a record without an audit trail (a typo, or never synced) unless `force`.
pub async fn replay(
    record: &RecordKey,
    force: bool,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
) -> Result<Replayed> {
    let route = Route::of(record);
    // Even with --force, a key that cannot name a record goes nowhere: its notification would only
    // fail in the writer (and, before #13 item 3, took the other records of its round with it).
    check_key(record)?;
    let prior_attempts = audit.for_record(&record.to_string()).await?.len();
    if prior_attempts == 0 && !force {
        return Err(Error::Invalid(format!(
            "{record} has no audit trail: it was never synced, or the key is mistyped (keys look like \
             sf:Opportunity:006… or sap:BusinessPartners:C20000; see `b1force audit --failures --since 7d`); \
             pass --force to enqueue it anyway"
        )));
    }
    let run = uuid::Uuid::new_v4();
    let notification = Notification {
        record: record.clone(),
        reason: "replay".into(),
        changed_at: clock.now_millis(),
        // New, so neither the queue's dedup nor the writer's idempotency takes it for an old change.
        source_version: format!("replay:{run}"),
        correlation_id: format!("replay-{run}"),
    };
    let message = OutgoingMessage {
        group_id: notification.group_id(),
        dedup_id: notification.idempotency_key(),
        body: notification.to_body(),
    };
    queue.send(&[message]).await?;
    let entry = AuditEntry::action_done(
        record.to_string(),
        notification.changed_at,
        notification.correlation_id.clone(),
        route.direction(),
        AuditAction::Replay,
        Some(notification.source_version.clone()),
    );
    if let Err(err) = audit.record(&entry).await {
        // The notification is on its way; the writer's own audit items will show it.
        tracing::error!(error = %err, record = %entry.record_key, "audit write failed after a replay");
    }
    Ok(Replayed { notification, queue: route.name(), prior_attempts })
}

/// Whether `record` can name a record its writer handles: a Salesforce id, or a key of the SAP
/// entity's key type for an entity the sf-writer handles.
fn check_key(record: &RecordKey) -> Result<()> {
    match record.system {
        System::Sf => SalesforceId::parse(&record.id).map(drop),
        System::Sap => shared::mapping::plan::check_key(&record.object, &record.id),
    }
    .map_err(|err| Error::Invalid(format!("{record} cannot be replayed: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::state::Direction;
    use shared::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, ManualClock};
    use std::sync::Arc;

    fn setup() -> (EmbeddedQueue, EmbeddedAudit, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_795_600_800_000));
        let queue = EmbeddedQueue::new("to-sap.fifo", EmbeddedQueueOptions::default(), clock.clone());
        (queue, EmbeddedAudit::new(), clock)
    }

    #[tokio::test]
    async fn a_record_without_a_trail_is_refused_unless_forced() {
        let (queue, audit, clock) = setup();
        let record = RecordKey::parse("sf:Opportunity:006SM0000001Tb3YAE").unwrap();
        let err = replay(&record, false, &queue, &audit, clock.as_ref()).await.unwrap_err().to_string();
        assert!(err.contains("no audit trail") && err.contains("--force"), "{err}");
        assert!(queue.is_empty() && audit.all().is_empty());

        let forced = replay(&record, true, &queue, &audit, clock.as_ref()).await.unwrap();
        assert_eq!((forced.queue, forced.prior_attempts), ("to-sap", 0));
        assert_eq!(queue.len(), 1);
    }

    #[tokio::test]
    async fn a_key_that_cannot_name_a_record_is_refused_even_when_forced() {
        let (queue, audit, clock) = setup();
        for raw in [
            "sap:Invoices:1 or DocEntry gt 0",
            "sap:Invoices:-3",
            "sap:BusinessPartners:C2000000000000000",
            "sap:PurchaseOrders:1",
            "sf:Opportunity:not-an-id",
        ] {
            let record = RecordKey::parse(raw).unwrap();
            let err = replay(&record, true, &queue, &audit, clock.as_ref()).await.unwrap_err().to_string();
            assert!(err.contains("cannot be replayed"), "{raw}: {err}");
        }
        assert!(queue.is_empty() && audit.all().is_empty());
        for raw in ["sap:Invoices:1", "sap:BusinessPartners:C/9", "sap:Items:A 00'1"] {
            replay(&RecordKey::parse(raw).unwrap(), true, &queue, &audit, clock.as_ref()).await.unwrap();
        }
        assert_eq!(queue.len(), 3);
    }

    #[tokio::test]
    async fn each_replay_is_a_new_change_on_the_record_group_and_is_audited() {
        let (queue, audit, clock) = setup();
        let record = RecordKey::parse("sap:BusinessPartners:C20000").unwrap();
        let first = replay(&record, true, &queue, &audit, clock.as_ref()).await.unwrap();
        let second = replay(&record, false, &queue, &audit, clock.as_ref()).await.unwrap();
        assert_eq!((first.queue, second.prior_attempts), ("to-salesforce", 1));
        assert_ne!(first.notification.idempotency_key(), second.notification.idempotency_key());
        assert_eq!(queue.len(), 2, "two replays are two changes, not a duplicate");
        let received = queue.receive(1).await.unwrap();
        assert_eq!(received[0].group_id, "sap:BusinessPartners:C20000");
        assert_eq!(Notification::from_body(&received[0].body).unwrap().reason, "replay");
        let trail = audit.for_record("sap:BusinessPartners:C20000").await.unwrap();
        assert!(trail.iter().all(|e| e.action == AuditAction::Replay && e.direction == Direction::SapToSf));
        assert_eq!(trail[1].correlation_id, second.notification.correlation_id);
    }
}
