//! `b1force resync`: sync an entity again from a date, without editing DynamoDB by hand.
//!
//! - SAP → Salesforce (`--entity Invoices --since 2025-01-01`): the poller engine reads the entity's
//!   rows changed since the date under its own watermark and lease (`resync:<since>:<entity>`), so it
//!   runs beside the schedules without moving theirs, and a killed resync resumes where it stopped
//!   when run again with the same date. Every row is enqueued as the poller enqueues it; the sf-writer
//!   writes what differs from what it last wrote (a changed mapping, a missed change) and skips the rest.
//! - Salesforce → SAP (`--object Opportunity --since …`): one whole-object notification, as a CDC
//!   GAP_OVERFLOW sends, which the sap-writer fans out into one notification per record changed since.
//!
//! Both are audited (`resync`) under `sap:<entity>:*` / `sf:<object>:*`.

use shared::domain::state::Direction;
use shared::domain::{EpochMillis, Notification, polled::EntitySpec, polled::Tracking};
use shared::engine::poller::{PollReport, Poller};
use shared::error::{Error, Result};
use shared::ports::{AuditAction, AuditEntry, AuditLog, Clock, OutgoingMessage, Queue};

/// What a SAP → Salesforce resync did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ResyncReport {
    pub runs: u64,
    pub pages: u64,
    pub rows_read: u64,
    pub enqueued: u64,
    pub dead_lettered: u64,
    /// True when every row changed since the date was read.
    pub complete: bool,
}

/// `since` (`YYYY-MM-DD`) checked, so it can name the resync's own watermark.
fn since_date(since: &str) -> Result<&str> {
    let shaped = since.len() == 10 && since.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) == (b == b'-'));
    if !shaped || !since.bytes().filter(|b| *b != b'-').all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid(format!("--since {since:?} is not a date YYYY-MM-DD")));
    }
    Ok(since)
}

/// Reads `entity` from `since` with `poller`'s ports under the resync's own watermark, run after run
/// (each at most the poller's page budget) until it has read everything, `progress` told after each.
pub async fn sap_to_salesforce(
    mut poller: Poller,
    entity: &str,
    since: &str,
    run_id: &str,
    progress: &mut dyn FnMut(&PollReport),
) -> Result<ResyncReport> {
    let spec = EntitySpec::named(entity)?;
    if spec.tracking == Tracking::Scan {
        return Err(Error::Invalid(format!(
            "{entity} has no change stamp: every scheduled run already compares all of it (ScanSchedule)"
        )));
    }
    poller.settings.initial_date = since_date(since)?.to_string();
    poller.settings.state_prefix = format!("resync:{since}:");
    // A resync reads history: it goes on from its own watermark, with no lookback for late stamps.
    poller.settings.lookback_secs = 0;
    let started = poller.clock.now_millis();
    audit(poller.audit.as_ref(), &format!("sap:{entity}:*"), Direction::SapToSf, run_id, since, started).await?;
    let mut report = ResyncReport::default();
    loop {
        let run = poller.run(entity, &format!("{run_id}-{}", report.runs + 1)).await?;
        if let Some(holder) = &run.skipped {
            return Err(Error::InProgress(format!("another resync of {entity} from {since} runs ({holder})")));
        }
        let stalled = !run.complete && run.watermark_after == run.watermark_before;
        report.runs += 1;
        report.pages += run.pages;
        report.rows_read += run.rows_read;
        report.enqueued += run.enqueued;
        report.dead_lettered += run.dead_lettered;
        progress(&run);
        if run.complete {
            report.complete = true;
            return Ok(report);
        }
        if stalled {
            // More rows share one change stamp than a run reads: another run would read the same ones.
            return Err(Error::Config(format!(
                "the resync of {entity} made no progress in a run of {} page(s): raise POLL_PAGE_SIZE or POLL_MAX_PAGES",
                run.pages
            )));
        }
    }
}

/// Enqueues one whole-object notification for `object` changed since `since_ms` on `to_sap`.
pub async fn salesforce_to_sap(
    to_sap: &dyn Queue,
    audit_log: &dyn AuditLog,
    clock: &dyn Clock,
    object: &str,
    since: &str,
    run_id: &str,
) -> Result<Notification> {
    let since_ms = epoch_of(since_date(since)?)?;
    let record = shared::ingress::cdc::whole_object_key(object)?;
    let now = clock.now_millis();
    let note = Notification {
        record,
        reason: "resync".into(),
        changed_at: since_ms,
        source_version: format!("resync:{since}:{run_id}"),
        correlation_id: run_id.to_string(),
    };
    let message = OutgoingMessage::from(&note);
    to_sap.send(&[message]).await?;
    audit(audit_log, &note.record.to_string(), Direction::SfToSap, run_id, since, now).await?;
    Ok(note)
}

fn epoch_of(day: &str) -> Result<EpochMillis> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day, &format).map_err(|e| Error::Invalid(format!("--since {day:?}: {e}")))?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

async fn audit(
    log: &dyn AuditLog,
    record_key: &str,
    direction: Direction,
    run_id: &str,
    since: &str,
    at: EpochMillis,
) -> Result<()> {
    let entry = AuditEntry::action_done(
        record_key.to_string(),
        at,
        run_id.to_string(),
        direction,
        AuditAction::Resync,
        Some(format!("since {since}")),
    );
    log.record(&entry).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_calendar_date() {
        assert_eq!(since_date("2025-01-01").unwrap(), "2025-01-01");
        for bad in ["2025-1-01", "20250101", "2025-01-0x", "yesterday", "2025/01/01"] {
            assert!(since_date(bad).is_err(), "{bad}");
        }
        assert_eq!(epoch_of("1970-01-02").unwrap(), 86_400_000);
        assert!(epoch_of("2025-02-30").is_err());
    }
}
