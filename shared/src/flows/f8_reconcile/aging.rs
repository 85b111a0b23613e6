//! The daily aging run (#14 item 6): an invoice turns overdue with time, without any edit in SAP, so
//! no poll or webhook brings it back and the payment status on its deal and customer would stay
//! `Unpaid`. The reconciler, with `{"aging": true}` on `AgingSchedule`, reads the open invoices whose
//! due date passed since its last run and re-sends each to the sf-writer — its written hash
//! forgotten first, as a repair does — which recomputes the deal's and the customer's standing.
//! Resumable: the day reached is stored only after every invoice was enqueued and audited.
//!
//! Payments carry no change stamps and are polled by DocEntry, so a payment cancelled later would
//! go unseen: each run also re-sends the payments cancelled in the last 90 days (by document date).
//! Their hashes are kept: one the sf-writer already wrote as cancelled is skipped, one cancelled
//! since recomputes the customer's standing and queues the invoices it had paid.

use super::run::Reconciler;
use crate::domain::state::Direction;
use crate::domain::{Notification, Record, RecordKey, System, date_of, parse_date};
use crate::error::{Error, Result};
use crate::ports::{AuditAction, AuditEntry, OutgoingMessage};
use serde_json::Value;

/// The sync-state instant up to which invoices were aged (`caught-up#aging:invoices`).
pub const AGING_STATE: &str = "aging:invoices";
/// How far the first run looks back: invoices that turned overdue in the last 90 days.
const FIRST_WINDOW_DAYS: i64 = 90;
/// How far back cancelled payments are looked for (by their document date).
const CANCELLED_PAYMENT_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AgingReport {
    /// Due dates looked at, `[since, until)` (`YYYY-MM-DD`); empty when today was aged already.
    pub since: String,
    pub until: String,
    /// Open invoices that turned overdue in the window, re-sent to the sf-writer.
    pub invoices: u64,
    /// Payments cancelled in the last 90 days, re-sent (the writer skips those it knows cancelled).
    #[serde(default)]
    pub cancelled_payments: u64,
}

impl Reconciler {
    /// One aging run (`run_id` names it in the audit trail).
    pub async fn age(&self, run_id: &str) -> Result<AgingReport> {
        let state = self
            .state
            .as_ref()
            .ok_or_else(|| Error::Config("the aging run needs the sync state (SYNC_STATE_TABLE)".into()))?;
        let now = self.clock.now_millis();
        let today = parse_date(&date_of(now))?;
        let today_ms = now - now.rem_euclid(DAY_MS);
        let since_ms = state.caught_up_at(AGING_STATE).await?.unwrap_or(today_ms - FIRST_WINDOW_DAYS * DAY_MS);
        let mut report =
            AgingReport { since: date_of(since_ms), until: today.to_string(), invoices: 0, cancelled_payments: 0 };
        if since_ms >= today_ms {
            return Ok(report);
        }
        let due = self.sap.open_documents_due("Invoices", &report.since, &report.until, &[]).await?;
        let version = format!("aging:{}", report.until);
        let note = |entity: &str, row: &Record| {
            let entry = row.get("DocEntry").and_then(Value::as_i64)?;
            Some(Notification {
                record: RecordKey { system: System::Sap, object: entity.into(), id: entry.to_string() },
                reason: "aging".into(),
                changed_at: now,
                source_version: version.clone(),
                correlation_id: run_id.to_string(),
            })
        };
        let mut notes: Vec<Notification> = due.iter().filter_map(|row| note("Invoices", row)).collect();
        for note in &notes {
            state.put_hash(&note.record.to_string(), Direction::SapToSf, &version, now).await?;
        }
        report.invoices = notes.len() as u64;
        let window = date_of(today_ms - CANCELLED_PAYMENT_DAYS * DAY_MS);
        let cancelled = self.sap.cancelled_since("IncomingPayments", &window).await?;
        notes.extend(cancelled.iter().filter_map(|row| note("IncomingPayments", row)));
        report.cancelled_payments = notes.len() as u64 - report.invoices;
        if !notes.is_empty() {
            let messages: Vec<OutgoingMessage> = notes.iter().map(OutgoingMessage::from).collect();
            self.to_salesforce.send(&messages).await?;
        }
        for note in &notes {
            let entry = AuditEntry::action_done(
                note.record.to_string(),
                now,
                run_id.to_string(),
                Direction::SapToSf,
                AuditAction::Resync,
                Some(version.clone()),
            );
            self.audit.record(&entry).await?;
        }
        state.record_caught_up(AGING_STATE, today_ms).await?;
        Ok(report)
    }
}
