//! `b1force pause` / `b1force resume`: the stack's sync switched off or on without a stack update.
//! Pausing disables every schedule (polls, scans, the sf-writer's drain, the reconciliations, the
//! sweep) and both SQS event source mappings (`to-sap.fifo` → sap-writer, the wake queue →
//! sf-writer); receivers keep queueing what arrives (14 days' retention), so nothing is lost, and
//! no message is received while paused, so no receive count moves towards a DLQ. Resuming turns
//! them back on. Each switch is audited (`ops:sync`, `pause`/`resume`, with who and why).
//!
//! The switch is the triggers' own state, which `b1force status` reads back. A stack update that
//! changes a schedule sets its state from `SyncEnabled` again: pause again after such an update.

use async_trait::async_trait;
use serde::Serialize;
use shared::domain::state::Direction;
use shared::error::Result;
use shared::ports::{AuditAction, AuditEntry, AuditLog, Clock};

/// The audit trail's record key for pause and resume.
pub const SYNC_RECORD: &str = "ops:sync";

/// The schedules a stack names `<stack>-<suffix>` (infra/template.yaml), every one a sync trigger.
pub const SCHEDULE_SUFFIXES: [&str; 15] = [
    "poll-business-partners",
    "poll-items",
    "poll-quotations",
    "poll-orders",
    "poll-delivery-notes",
    "poll-invoices",
    "poll-credit-notes",
    "poll-incoming-payments",
    "poll-stock",
    "poll-price-lists",
    "drain-to-salesforce",
    "reconcile-daily",
    "reconcile-month-end",
    "sweep-lost-events",
    "age-invoices",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Schedule,
    EventSourceMapping,
}

/// One thing that starts sync work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The schedule's name, or the mapping's queue and function.
    pub name: String,
    /// The schedule's name or the mapping's UUID.
    #[serde(skip)]
    pub id: String,
    pub enabled: bool,
}

/// Where the triggers live (EventBridge Scheduler and Lambda on AWS).
#[async_trait]
pub trait Triggers: Send + Sync {
    /// The stack's triggers and their state; a schedule the stack does not have is left out.
    async fn list(&self) -> Result<Vec<Trigger>>;
    /// Turns one on or off.
    async fn set(&self, trigger: &Trigger, enabled: bool) -> Result<()>;
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switched {
    pub enabled: bool,
    /// Triggers changed now.
    pub changed: Vec<String>,
    /// Triggers already in the wanted state.
    pub already: usize,
    /// Every trigger as it is now (all in the wanted state).
    #[serde(skip)]
    pub now: Vec<Trigger>,
}

/// Who switched and why, for the audit trail.
pub struct Operator<'a> {
    pub by: &'a str,
    pub reason: &'a str,
}

/// Turns every trigger on (`enabled`) or off; the mappings first when pausing (the sap-writer stops
/// receiving before anything else), the schedules first when resuming. Safe to run again after a
/// partial failure: only triggers not yet in the wanted state are touched. Audited once it is done.
pub async fn switch(
    triggers: &dyn Triggers,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    enabled: bool,
    operator: &Operator<'_>,
) -> Result<Switched> {
    let mut all = triggers.list().await?;
    all.sort_by_key(|t| (t.kind == TriggerKind::Schedule) != enabled);
    let mut switched = Switched { enabled, changed: Vec::new(), already: 0, now: Vec::new() };
    for mut trigger in all {
        if trigger.enabled == enabled {
            switched.already += 1;
        } else {
            triggers.set(&trigger, enabled).await?;
            switched.changed.push(trigger.name.clone());
            trigger.enabled = enabled;
        }
        switched.now.push(trigger);
    }
    let now = clock.now_millis();
    let action = if enabled { AuditAction::Resume } else { AuditAction::Pause };
    let why = format!(
        "by {}: {} ({} changed, {} already)",
        operator.by,
        operator.reason,
        switched.changed.len(),
        switched.already
    );
    let entry = AuditEntry::action_done(
        SYNC_RECORD.into(),
        now,
        format!("{action}-{now}"),
        Direction::SapToSf,
        action,
        Some(why),
    );
    audit.record(&entry).await?;
    Ok(switched)
}

/// `running`, `paused`, or `partly paused` with what is off, for `status`.
pub fn describe(triggers: &[Trigger]) -> String {
    let off: Vec<&str> = triggers.iter().filter(|t| !t.enabled).map(|t| t.name.as_str()).collect();
    match (off.len(), triggers.len()) {
        (_, 0) => "no schedules or mappings found".into(),
        (0, n) => format!("running ({n} schedules and mappings on)"),
        (k, n) if k == n => format!("paused ({n} schedules and mappings off; b1force resume)"),
        (k, n) => format!("partly paused ({k} of {n} off: {})", off.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::embedded::{EmbeddedAudit, ManualClock};
    use std::sync::Mutex;

    struct Fake {
        triggers: Mutex<Vec<Trigger>>,
        calls: Mutex<Vec<String>>,
        fail_on: Option<&'static str>,
    }

    fn trigger(kind: TriggerKind, name: &str, enabled: bool) -> Trigger {
        Trigger { kind, name: name.into(), id: name.into(), enabled }
    }

    impl Fake {
        fn new(fail_on: Option<&'static str>) -> Self {
            let triggers = vec![
                trigger(TriggerKind::Schedule, "s-poll-items", true),
                trigger(TriggerKind::EventSourceMapping, "to-sap", true),
                trigger(TriggerKind::Schedule, "s-reconcile-daily", false),
                trigger(TriggerKind::EventSourceMapping, "wake", true),
            ];
            Self { triggers: Mutex::new(triggers), calls: Mutex::new(Vec::new()), fail_on }
        }
    }

    #[async_trait]
    impl Triggers for Fake {
        async fn list(&self) -> Result<Vec<Trigger>> {
            Ok(self.triggers.lock().unwrap().clone())
        }
        async fn set(&self, trigger: &Trigger, enabled: bool) -> Result<()> {
            if self.fail_on == Some(trigger.name.as_str()) {
                return Err(shared::error::Error::Store {
                    service: "Scheduler",
                    message: "throttled".into(),
                    retryable: true,
                });
            }
            self.calls.lock().unwrap().push(trigger.name.clone());
            for t in self.triggers.lock().unwrap().iter_mut().filter(|t| t.id == trigger.id) {
                t.enabled = enabled;
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn pausing_stops_the_mappings_first_touches_only_what_is_on_and_is_audited() {
        let (fake, audit, clock) = (Fake::new(None), EmbeddedAudit::default(), ManualClock::new(1_000));
        let operator = Operator { by: "ops@example.com", reason: "SAP upgrade" };
        let paused = switch(&fake, &audit, &clock, false, &operator).await.unwrap();
        assert_eq!(*fake.calls.lock().unwrap(), ["to-sap", "wake", "s-poll-items"]);
        assert_eq!((paused.changed.len(), paused.already), (3, 1));
        assert_eq!(describe(&fake.list().await.unwrap()), "paused (4 schedules and mappings off; b1force resume)");
        assert_eq!(
            describe(&paused.now),
            describe(&fake.list().await.unwrap()),
            "what the switch reports is what is there"
        );

        fake.calls.lock().unwrap().clear();
        let resumed = switch(&fake, &audit, &clock, true, &operator).await.unwrap();
        assert_eq!(*fake.calls.lock().unwrap(), ["s-poll-items", "s-reconcile-daily", "to-sap", "wake"]);
        assert_eq!(resumed.changed.len(), 4);
        let trail = audit.for_record(SYNC_RECORD).await.unwrap();
        let actions: Vec<_> = trail.iter().map(|e| (e.action, e.source_version.clone().unwrap_or_default())).collect();
        assert_eq!(actions[0].0, AuditAction::Pause);
        assert!(actions[0].1.contains("ops@example.com") && actions[0].1.contains("SAP upgrade"), "{actions:?}");
        assert_eq!(actions[1].0, AuditAction::Resume);
    }

    #[tokio::test]
    async fn a_switch_that_failed_halfway_is_finished_by_running_it_again_and_audited_only_then() {
        let (broken, audit, clock) = (Fake::new(Some("wake")), EmbeddedAudit::default(), ManualClock::new(1_000));
        let operator = Operator { by: "ops", reason: "test" };
        assert!(switch(&broken, &audit, &clock, false, &operator).await.is_err());
        assert!(audit.for_record(SYNC_RECORD).await.unwrap().is_empty());
        let states = broken.list().await.unwrap();
        assert!(describe(&states).starts_with("partly paused (2 of 4 off"), "{}", describe(&states));

        let fixed = Fake { fail_on: None, ..broken };
        let again = switch(&fixed, &audit, &clock, false, &operator).await.unwrap();
        assert_eq!((again.changed.clone(), again.already), (vec!["wake".to_string(), "s-poll-items".to_string()], 2));
        assert_eq!(audit.for_record(SYNC_RECORD).await.unwrap().len(), 1);
    }

    #[test]
    fn the_schedule_names_are_the_templates() {
        let template = include_str!("../../../infra/template.yaml");
        let prefix = "Name: !Sub \"${AWS::StackName}-";
        let mut named: Vec<&str> = template
            .match_indices("Type: ScheduleV2")
            .map(|(at, _)| {
                let rest = &template[at..];
                let rest = &rest[rest.find(prefix).unwrap() + prefix.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        named.sort_unstable();
        let mut ours = SCHEDULE_SUFFIXES.to_vec();
        ours.sort_unstable();
        assert_eq!(named, ours);
    }
}
