//! #16 item 9: the lost-event sweep, on the Salesforce and SAP sandboxes with the embedded backends.
//! Opportunities won while no CDC event reached the receiver get their SAP orders from the sweep;
//! one F1 already failed on is not retried every run; a sweep whose enqueue failed leaves its
//! window to the next run; and the business hours since the last CDC arrival are measured.

use async_trait::async_trait;
use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::assert_exactly_one_order_each_and_written_back;
use serde_json::json;
use shared::domain::business_hours::BusinessHours;
use shared::embedded::ManualClock;
use shared::engine::sweep::{CDC_ARRIVAL, SWEEP_STATE, SweepSettings};
use shared::error::{Error, Result};
use shared::ports::{AuditAction, AuditLog, Clock, OutgoingMessage, Queue, ReceivedMessage, SyncState, SystemClock};
use shared::wiring::backends;
use std::sync::Arc;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

async fn stack_at_now() -> (LocalStack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(SystemClock.now_millis()));
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..Default::default() }).await.unwrap();
    (stack, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opportunities_won_without_an_event_get_their_orders_from_the_sweep_once_and_a_failed_one_is_left_alone() {
    let (stack, clock) = stack_at_now().await;
    let lost = stack.sf_sandbox.seed_closed_won(3);
    // F1 failed on this one before (its status says so): the DLQ and the audit trail hold it, not the sweep.
    let [failed] = <[String; 1]>::try_from(stack.sf_sandbox.seed_closed_won(1)).unwrap();
    stack.sf_sandbox.update_record("Opportunity", &failed, json!({"SAP_Sync_Status__c": "Failed"})).unwrap();
    let sweep = backends::sweep(&stack, SweepSettings::default()).unwrap();

    // Within the lag CDC may still deliver them: the first run's window ends 10 minutes ago.
    let early = sweep.run("sweep-0").await.unwrap();
    assert_eq!(early.opportunities, 0, "{early:?}");
    clock.advance(11 * MINUTE);
    let report = sweep.run("sweep-1").await.unwrap();

    assert_eq!((report.opportunities, report.accounts), (3, true), "{report:?}");
    assert_eq!(stack.state.caught_up_at(SWEEP_STATE).await.unwrap(), Some(report.until));
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.dead_lettered), (3, 0), "{stats:?}");
    assert_exactly_one_order_each_and_written_back(&stack, &lost);
    assert_eq!(stack.sap_sandbox.orders().len(), 3, "none for the failed opportunity");
    for id in &lost {
        let trail = stack.audit.for_record(&format!("sf:Opportunity:{id}")).await.unwrap();
        let swept = trail.iter().find(|e| e.action == AuditAction::Resync).expect("the sweep is in the trail");
        assert_eq!(swept.source_version.as_deref(), Some(format!("sweep:{}", report.since).as_str()));
    }

    // The next run looks only past the first one's window: nothing is swept twice.
    clock.advance(15 * MINUTE);
    let next = sweep.run("sweep-2").await.unwrap();
    assert_eq!((next.since, next.opportunities), (report.until, 0), "{next:?}");
    stack.drain(u64::MAX).await.unwrap();
    assert_eq!(stack.sap_sandbox.orders().len(), 3);
}

/// A queue that refuses every send, as SQS does when it is unreachable.
struct Unreachable;

#[async_trait]
impl Queue for Unreachable {
    async fn send(&self, _: &[OutgoingMessage]) -> Result<()> {
        Err(Error::Store { service: "SQS", message: "unreachable".into(), retryable: true })
    }
    async fn receive(&self, _: usize) -> Result<Vec<ReceivedMessage>> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &str) -> Result<()> {
        Ok(())
    }
    async fn release(&self, _: &str, _: u32) -> Result<()> {
        Ok(())
    }
    async fn depth(&self) -> Result<u64> {
        Ok(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_that_could_not_enqueue_leaves_its_window_to_the_next_run() {
    let (stack, clock) = stack_at_now().await;
    let lost = stack.sf_sandbox.seed_closed_won(2);
    clock.advance(11 * MINUTE);
    let broken = shared::engine::sweep::Sweep {
        to_sap: Arc::new(Unreachable),
        ..backends::sweep(&stack, SweepSettings::default()).unwrap()
    };
    assert!(broken.run("sweep-broken").await.is_err());
    assert_eq!(stack.state.caught_up_at(SWEEP_STATE).await.unwrap(), None, "the window was not marked done");

    clock.advance(15 * MINUTE);
    let report = backends::sweep(&stack, SweepSettings::default()).unwrap().run("sweep-again").await.unwrap();
    assert_eq!(report.opportunities, 2, "{report:?}");
    stack.drain(u64::MAX).await.unwrap();
    assert_exactly_one_order_each_and_written_back(&stack, &lost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silence_since_the_last_cdc_arrival_is_counted_in_business_hours_only() {
    /// Monday 2026-12-07 06:00 UTC.
    const MONDAY_6AM: i64 = 1_796_601_600_000 + 6 * 3_600_000;
    let (stack, clock) = stack_at_now().await;
    clock.set(MONDAY_6AM);
    let sweep_with = |spec: &str| {
        let hours = BusinessHours::parse(spec, "UTC").unwrap();
        backends::sweep(&stack, SweepSettings { business_hours: Some(hours), ..Default::default() }).unwrap()
    };
    let office = sweep_with("Mon-Fri 08:00-18:00");
    assert_eq!(office.run("s-0").await.unwrap().cdc_silent_business_hours, None, "no arrival noted yet");

    stack.state.record_caught_up(CDC_ARRIVAL, clock.now_millis()).await.unwrap();
    clock.advance(5 * 60 * MINUTE);
    // 06:00 to 11:00: the office opened at 08:00, so three hours of silence count; around the clock, five.
    assert_eq!(office.run("s-1").await.unwrap().cdc_silent_business_hours, Some(3.0));
    assert_eq!(sweep_with("Mon-Sun 00:00-24:00").run("s-2").await.unwrap().cdc_silent_business_hours, Some(5.0));
    let metrics = shared::telemetry::functions::sweep(&office.run("s-3").await.unwrap());
    assert_eq!(metrics.value("CdcSilenceSeconds"), Some(&[3.0 * 3600.0][..]));
}
