//! GAP_OVERFLOW: a whole-object notification makes the writer re-read every record changed since
//! the overflow, through ordinary per-record notifications; and `b1force resync` from a date.

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::assert_exactly_one_order_each_and_written_back;
use serde_json::json;
use shared::domain::{Notification, RecordKey, System};
use shared::ports::{Clock, OutgoingMessage, Queue, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_overflow_resyncs_every_opportunity_changed_since_and_syncs_the_won_ones() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let since = SystemClock.now_millis() - 1_000;
    let ids = stack.sf_sandbox.seed_closed_won(5);
    let overflow = Notification {
        record: RecordKey { system: System::Sf, object: "Opportunity".into(), id: "*".into() },
        reason: "cdc:GAP_OVERFLOW".into(),
        changed_at: since,
        source_version: "overflow-tx:1".into(),
        correlation_id: "overflow".into(),
    };
    let message = OutgoingMessage {
        group_id: overflow.group_id(),
        dedup_id: overflow.idempotency_key(),
        body: overflow.to_body(),
    };
    stack.to_sap.send(&[message]).await.unwrap();

    let stats = stack.drain(u64::MAX).await.unwrap();

    assert!(stats.resynced >= 5, "every new opportunity was re-enqueued: {stats:?}");
    assert_eq!(stats.created, 5, "{stats:?}");
    assert_eq!(stats.dead_lettered, 0);
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
}

/// #16 item 8: `b1force resync --entity Invoices --since …` re-reads every row changed since the date
/// (so a change stamped behind the schedule's watermark is written), resumes after a kill, leaves the
/// scheduled watermark where it was, and gets past the queue's deduplication of the schedule's own
/// notifications.
#[tokio::test]
async fn a_sap_resync_writes_what_the_schedule_passed_resumes_after_a_kill_and_moves_no_scheduled_watermark() {
    use b1force_cli::operations::resync_cmd;
    use shared::engine::sf_writer::SfWriterSettings;
    use shared::ports::{AuditAction, AuditLog, SyncState};
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let scheduled = stack.state.watermark("Invoices").await.unwrap();
    let invoices = stack.sap_sandbox.documents("Invoices");
    assert!(invoices.len() >= 3, "the sandbox seeds invoices");

    // A change stamped in the past (a restored backup, a wrong server clock): the schedule's watermark
    // is past its stamp, so the next poll does not see it.
    let doc_entry = invoices[0]["DocEntry"].as_i64().unwrap();
    stack.sap_sandbox.set_clock(Some("2001-06-01T10:00:00")).unwrap();
    stack.sap_sandbox.user_update("Invoices", &doc_entry.to_string(), json!({"NumAtCard": "PO-RESYNC"})).unwrap();
    stack.sap_sandbox.set_clock(None).unwrap();
    let (_, missed) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(missed.written, 0, "{missed:?}");

    // The resync's first invocation dies after one page of two rows ...
    let mut killed = stack.poller();
    killed.settings.page_size = 2;
    killed.settings.max_pages = 1;
    killed.settings.lookback_secs = 0;
    killed.settings.initial_date = "2000-01-01".into();
    killed.settings.state_prefix = "resync:2000-01-01:".into();
    let first = killed.run("Invoices", "resync-killed").await.unwrap();
    assert!(!first.complete && first.rows_read == 2 && first.watermark_after.is_some(), "{first:?}");

    // ... and run again with the same date it goes on from where that one stopped, to the end.
    let mut starts = Vec::new();
    let report = resync_cmd::sap_to_salesforce(stack.poller(), "Invoices", "2000-01-01", "resync-1", &mut |run| {
        starts.push(run.watermark_before.clone())
    })
    .await
    .unwrap();
    assert!(report.complete && report.runs == 1, "{report:?}");
    assert_eq!(starts, std::slice::from_ref(&first.watermark_after), "resumed from the killed run's watermark");
    assert_eq!(stack.state.watermark("Invoices").await.unwrap(), scheduled, "the schedule's watermark stays");

    assert_eq!(first.enqueued + report.enqueued, first.rows_read + report.rows_read);
    let queued = stack.to_salesforce.depth().await.unwrap();
    assert_eq!(queued, invoices.len() as u64, "not swallowed by the schedule's deduplication, and once each");
    // Every row reaches the writer once more: the missed change is written, what Salesforce already
    // holds is skipped, not rewritten. The written invoice queues its customer's partner (balances),
    // unchanged and skipped too.
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.messages, run.written, run.skipped), (queued + 1, 1, queued), "{run:?}");
    let written = stack.sf_sandbox.records("SAP_Invoice__c");
    let changed = written.iter().find(|r| r["SAP_Document_Key__c"] == format!("Invoices/{doc_entry}")).unwrap();
    assert_eq!(changed["Customer_Reference__c"], json!("PO-RESYNC"));
    let trail = stack.audit.for_record("sap:Invoices:*").await.unwrap();
    assert_eq!(trail.iter().map(|e| e.action).collect::<Vec<_>>(), [AuditAction::Resync]);

    // Salesforce → SAP: one whole-object notification, audited.
    let note = resync_cmd::salesforce_to_sap(
        stack.to_sap.as_ref(),
        stack.audit.as_ref(),
        stack.clock.as_ref(),
        "Opportunity",
        "2025-01-01",
        "resync-2",
    )
    .await
    .unwrap();
    assert_eq!(note.record.to_string(), "sf:Opportunity:*");
    assert_eq!(note.changed_at, 1_735_689_600_000);
    assert_eq!(stack.to_sap.depth().await.unwrap(), 1);
    assert_eq!(stack.audit.for_record("sf:Opportunity:*").await.unwrap().len(), 1);
}
