//! The safety net for lost Salesforce events (#16 item 9). A stopped Event Relay, a CDC event lost
//! past EventBridge's retries, or a relay that was never started leaves Salesforce changes that
//! nothing sends to SAP. Every run of the sweep (the reconciler, `{"sweep": true}`, on
//! `SweepSchedule`) looks at the window from where the last run stopped to `lag` ago — CDC had
//! that long to deliver — and enqueues on `to-sap.fifo`:
//! - each Closed Won opportunity in the window that F1 never wrote a status to (no order, no
//!   failure, no draft pending), one notification each, audited: these are the events that got lost;
//! - one whole-object Account notification from the window's start, which the sap-writer expands
//!   into the accounts changed since (those in step with SAP are skipped by their content digest).
//!
//! It also reports how many business hours passed since the CDC receiver last noted an event
//! (`CDC_ARRIVAL`), which the no-CDC alarm watches.

use crate::domain::business_hours::BusinessHours;
use crate::domain::state::Direction;
use crate::domain::{EpochMillis, Notification, RecordKey};
use crate::error::Result;
use crate::ports::{AuditAction, AuditEntry, AuditLog, Clock, OutgoingMessage, Queue, SalesforceReads, SyncState};
use std::sync::Arc;

/// The sync-state instant up to which the sweep has looked (`caught-up#sweep:salesforce`).
pub const SWEEP_STATE: &str = "sweep:salesforce";
/// The sync-state instant of the newest CDC event a receiver noted (`caught-up#cdc:arrival`).
pub const CDC_ARRIVAL: &str = "cdc:arrival";

#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// How long CDC has to deliver a change before the sweep takes it (`SWEEP_LAG_MINUTES`).
    pub lag_ms: EpochMillis,
    /// The first run looks back this far before `now - lag` (nothing older: history is not swept).
    pub first_window_ms: EpochMillis,
    /// When set, the run reports the business hours since the last CDC event.
    pub business_hours: Option<BusinessHours>,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self { lag_ms: 10 * 60_000, first_window_ms: 60 * 60_000, business_hours: None }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SweepReport {
    /// The window looked at, `[since, until)` (epoch ms); empty when the last run reached `until`.
    pub since: EpochMillis,
    pub until: EpochMillis,
    /// Closed Won opportunities without any SAP status found in the window and re-enqueued.
    pub opportunities: u64,
    /// Whether the whole-object Account notification was enqueued.
    pub accounts: bool,
    /// Business hours since the newest CDC event a receiver noted (none noted yet, or no
    /// business hours configured: `None`).
    pub cdc_silent_business_hours: Option<f64>,
}

/// The sweep's ports.
pub struct Sweep {
    pub salesforce: Arc<dyn SalesforceReads>,
    pub to_sap: Arc<dyn Queue>,
    pub state: Arc<dyn SyncState>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
    pub settings: SweepSettings,
}

impl Sweep {
    /// One run. Resumable: the window's end is stored only after everything in it was enqueued and
    /// audited, and a repeated run enqueues the same notifications (same deduplication ids).
    pub async fn run(&self, run_id: &str) -> Result<SweepReport> {
        let now = self.clock.now_millis();
        let until = now - self.settings.lag_ms;
        let since = match self.state.caught_up_at(SWEEP_STATE).await? {
            Some(at) => at,
            None => until - self.settings.first_window_ms,
        };
        let mut report = SweepReport { since, until, ..Default::default() };
        if since < until {
            let won = self.salesforce.won_without_status(since, until).await?;
            let source_version = format!("sweep:{since}");
            let note = |record: RecordKey, changed_at| Notification {
                record,
                reason: "sweep".into(),
                changed_at,
                source_version: source_version.clone(),
                correlation_id: run_id.to_string(),
            };
            let mut notes: Vec<Notification> =
                won.iter().map(|id| note(RecordKey::salesforce("Opportunity", id), until)).collect();
            notes.push(note(crate::ingress::cdc::whole_object_key("Account")?, since));
            let messages: Vec<OutgoingMessage> = notes.iter().map(OutgoingMessage::from).collect();
            self.to_sap.send(&messages).await?;
            for swept in &notes {
                let entry = AuditEntry::action_done(
                    swept.record.to_string(),
                    now,
                    run_id.to_string(),
                    Direction::SfToSap,
                    AuditAction::Resync,
                    Some(source_version.clone()),
                );
                self.audit.record(&entry).await?;
            }
            if !won.is_empty() {
                tracing::warn!(
                    opportunities = won.len(),
                    since,
                    until,
                    "Closed Won opportunities no event brought; swept"
                );
            }
            self.state.record_caught_up(SWEEP_STATE, until).await?;
            report.opportunities = won.len() as u64;
            report.accounts = true;
        }
        if let Some(hours) = &self.settings.business_hours {
            let last = self.state.caught_up_at(CDC_ARRIVAL).await?;
            report.cdc_silent_business_hours = last.map(|at| hours.hours_between(at, now));
        }
        Ok(report)
    }
}
