//! GAP_OVERFLOW: a whole-object notification makes the writer re-read every record changed since
//! the overflow, through ordinary per-record notifications.

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::assert_exactly_one_order_each_and_written_back;
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
