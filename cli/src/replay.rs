//! `b1force replay RECORD_KEY [--force]`: a fresh notification for the record on its work queue
//! (`sf:` records to `to-sap.fifo`, `sap:` records to `to-salesforce.fifo`); the writer fetches the
//! record's current state, so a replay converges instead of duplicating.

use crate::operations::Route;
use crate::operations::replay::{Replayed, replay};
use crate::ops;
use shared::config::Source;
use shared::domain::RecordKey;
use shared::ports::{AuditLog, Clock, Queue};
use std::io::Write;

/// The command over any ports: one line on `out` naming the queue and the correlation id.
pub async fn run(
    record: &RecordKey,
    force: bool,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<Replayed> {
    let replayed = replay(record, force, queue, audit, clock).await?;
    writeln!(
        out,
        "replay of {record} queued on {}.fifo ({} earlier attempts); correlation id {} \
         (follow it with `b1force audit {record}`)",
        replayed.queue, replayed.prior_attempts, replayed.notification.correlation_id
    )?;
    Ok(replayed)
}

/// The command on AWS: the record's work queue and `AUDIT_TABLE` from `src`.
pub async fn run_on_aws(
    raw_record: &str,
    force: bool,
    src: &dyn Source,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let record = RecordKey::parse(raw_record)?;
    let queue = ops::work_queue(src, Route::of(&record)).await?;
    let audit = ops::audit_table(src).await?;
    run(&record, force, &queue, &audit, &shared::ports::SystemClock, out).await.map(|_| ())
}
