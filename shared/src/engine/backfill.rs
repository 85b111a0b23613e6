//! `b1force backfill` (#17): an entity's SAP history loaded into Salesforce through Bulk API 2.0.
//!
//! SAP pages (keyset on UpdateDate, UpdateTime, key, from a date) are mapped as the sf-writer maps
//! them ([`plan`]) and streamed as CSV into ingest jobs, one per Salesforce object and operation,
//! cut at [`BackfillSettings::job_bytes`]: a million invoices are a handful of jobs and a few dozen
//! API calls, where the queue and sObject Collections spend 5,000. Memory holds one chunk — the
//! jobs' CSV and a key per row — never the whole set.
//!
//! A chunk ends when a job is full or the rows run out: its parent jobs run first (accounts,
//! invoices, opportunity updates), then its child jobs (contacts, attached by the account's
//! CardCode), then each record settles on its own exactly as in the sf-writer: a failed row is
//! audited and dead-lettered when the failure is permanent, and queued for the sf-writer when it is
//! transient or configuration (which the writer holds and alarms on). Then the chunk's last row
//! becomes the backfill's checkpoint (`backfill:<since>:<entity>`, beside the schedules'
//! watermarks, under a lease): a killed backfill run again with the same date goes on from there,
//! and the chunk it was in is upserted again by external id — nothing is created twice.
//!
//! Follow-ups the sf-writer does per record after reading other SAP data are handed to it, once per
//! customer: an invoice's customer gets its payment standing and balances recomputed by one of its
//! invoices queued again (after that invoice was written). Credit alerts (a task for the owners of
//! open deals when a customer crosses its limit) are not raised for history: the account's
//! `SAP_Credit_Alert__c` flag is written, and owners are told of changes after the backfill.
//!
//! A job that fails as a whole, or a failure of the Bulk API itself, stops the backfill before the
//! checkpoint moves: the chunk is redone when it is run again.

use super::sf_writer::waits_for_parent;
use super::trail::{Delivered, Trail};
use crate::domain::bulk_csv::{CsvRows, MAX_JOB_BYTES};
use crate::domain::polled::{EntitySpec, Start, Tracking};
use crate::domain::state::{Direction, Watermark};
use crate::domain::{EpochMillis, Notification, Record, RecordKey, System};
use crate::error::{Error, ErrorClass, Result};
use crate::mapping::file::MappingFile;
use crate::mapping::plan::{self, Target};
use crate::ports::{
    AuditAction, AuditEntry, AuditLog, BulkIngest, BulkOperation, ChangeQuery, Clock, Outcome, OutgoingMessage, Queue,
    SapChanges, SyncState,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// The SAP entities a backfill loads; the others are synced again with `b1force resync`.
pub const BACKFILL_ENTITIES: [&str; 2] = ["BusinessPartners", "Invoices"];

/// Tuning of a backfill.
#[derive(Debug, Clone)]
pub struct BackfillSettings {
    /// SAP rows per read.
    pub page_size: u32,
    /// CSV bytes at which a job is cut (at most [`MAX_JOB_BYTES`]).
    pub job_bytes: usize,
    /// SAP rows per chunk at most: with the CSV, what one chunk holds in memory (a key per row).
    pub chunk_rows: usize,
    /// How long the backfill's lease lasts; renewed with every chunk.
    pub lease_secs: i64,
}

impl Default for BackfillSettings {
    fn default() -> Self {
        Self { page_size: 5000, job_bytes: MAX_JOB_BYTES, chunk_rows: 200_000, lease_secs: 3600 }
    }
}

/// A backfill's ports.
pub struct Backfill {
    pub sap: Arc<dyn SapChanges>,
    pub bulk: Arc<dyn BulkIngest>,
    /// `to-salesforce.fifo`: follow-ups and records to retry go to the sf-writer.
    pub queue: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
    pub audit: Arc<dyn AuditLog>,
    pub state: Arc<dyn SyncState>,
    pub mapping: Arc<MappingFile>,
    pub clock: Arc<dyn Clock>,
    pub settings: BackfillSettings,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackfillReport {
    pub pages: u64,
    pub rows_read: u64,
    /// Records whose every row was written.
    pub written: u64,
    /// Rows that write nothing (a partner B1Force deactivated, an invoice of no mapped object).
    pub skipped: u64,
    /// Records queued for the sf-writer after a transient or configuration failure.
    pub retried: u64,
    pub dead_lettered: u64,
    pub jobs: u64,
    pub csv_bytes: u64,
    /// Records queued for the sf-writer's per-customer follow-ups.
    pub follow_ups: u64,
    /// Where a run killed earlier had got to (UpdateDate, UpdateTime, key); `None` for a fresh start.
    pub resumed_after: Option<String>,
    /// True when every row changed since the date was read.
    pub complete: bool,
}

/// One SAP row of a chunk and its first failure: compact, as a chunk holds up to
/// [`BackfillSettings::chunk_rows`] of them.
struct Member {
    key: Box<str>,
    /// `UpdateDate` and `UpdateTime`, naming the version read.
    stamp: Box<str>,
    failure: Option<Arc<Error>>,
}

/// One ingest job being filled: its CSV and the member each row belongs to.
struct JobRows {
    csv: CsvRows,
    owners: HashMap<Box<str>, u32>,
}

/// The rows read since the last checkpoint.
#[derive(Default)]
struct Chunk {
    members: Vec<Member>,
    /// (child, operation) → rows; parents run before children.
    jobs: BTreeMap<(bool, BulkOperation), JobRows>,
    /// CardCode → a member whose record, queued again, recomputes that customer's standing.
    customers: BTreeMap<String, usize>,
    last: Option<Watermark>,
}

impl Chunk {
    /// Whether a job reached `job_bytes` or the chunk `rows`.
    fn full(&self, job_bytes: usize, rows: usize) -> bool {
        self.members.len() >= rows || self.jobs.values().any(|job| job.csv.len() >= job_bytes)
    }

    /// The notification naming member `at`'s record, as the sf-writer and the DLQ take it.
    fn note(&self, entity: &str, at: usize, run_id: &str, now: EpochMillis) -> Notification {
        let member = &self.members[at];
        Notification {
            record: RecordKey { system: System::Sap, object: entity.into(), id: member.key.to_string() },
            reason: "backfill".into(),
            changed_at: now,
            source_version: format!("backfill:{}", member.stamp),
            correlation_id: run_id.to_string(),
        }
    }
}

/// `since` as the first day read: `YYYY-MM-DD`.
fn since_day(since: &str) -> Result<&str> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(since, &format).map_err(|e| Error::Invalid(format!("--since {since:?} is not a date: {e}")))?;
    Ok(since)
}

impl Backfill {
    /// Loads `entity`'s rows changed since `since` (`YYYY-MM-DD`), resuming a killed run of the same
    /// date; `progress` hears the report after every chunk.
    pub async fn run(
        &self,
        entity: &str,
        since: &str,
        run_id: &str,
        progress: &mut dyn FnMut(&BackfillReport),
    ) -> Result<BackfillReport> {
        if !BACKFILL_ENTITIES.contains(&entity) {
            return Err(Error::Invalid(format!(
                "backfill loads {}; sync {entity:?} again with `b1force resync --entity`",
                BACKFILL_ENTITIES.join(" and ")
            )));
        }
        let spec = EntitySpec::named(entity)?;
        debug_assert_eq!(spec.tracking, Tracking::UpdateStamp);
        let name = format!("backfill:{}:{entity}", since_day(since)?);
        let now = self.clock.now_millis();
        self.state.acquire_lease(&name, run_id, now, now + self.settings.lease_secs.max(1) * 1000).await?;
        let outcome = self.load(&spec, since, &name, run_id, progress).await;
        let released = self.state.release_lease(&name, run_id).await;
        let report = outcome?;
        released?;
        Ok(report)
    }

    async fn load(
        &self,
        spec: &EntitySpec,
        since: &str,
        name: &str,
        run_id: &str,
        progress: &mut dyn FnMut(&BackfillReport),
    ) -> Result<BackfillReport> {
        let resumed = self.state.watermark(name).await?;
        let resumed_after = resumed.as_ref().map(|m| format!("{} {} {}", m.date, m.time, m.key));
        let mut report = BackfillReport { resumed_after, ..Default::default() };
        let mut start = match resumed {
            Some(mark) => Start::After(mark),
            None => {
                Start::Since(Watermark { date: since.into(), time: String::new(), key: String::new(), doc_entry: None })
            }
        };
        let read = plan::read_spec(&self.mapping, spec.name)?;
        let only = self.mapping.sap_filter(spec.entity_set);
        let also_select: Vec<String> = read.select.into_iter().filter(|p| !spec.fields.contains(&p.as_str())).collect();
        let job_bytes = self.settings.job_bytes.clamp(1, MAX_JOB_BYTES);
        let mut followed: HashSet<String> = HashSet::new();
        let mut chunk = Chunk::default();
        loop {
            let query = ChangeQuery {
                entity: spec,
                start: &start,
                limit: self.settings.page_size.max(1),
                only: &only,
                also_select: &also_select,
            };
            let page = self.sap.changed(&query).await?;
            report.pages += 1;
            report.rows_read += page.rows.len() as u64;
            for row in &page.rows {
                let position = spec.position(row)?;
                self.add_row(&mut chunk, spec, &position, row, &mut report)?;
                start = Start::After(position.clone());
                chunk.last = Some(position);
                if chunk.full(job_bytes, self.settings.chunk_rows.max(1)) {
                    self.flush(std::mem::take(&mut chunk), spec, name, run_id, &mut followed, &mut report).await?;
                    progress(&report);
                }
            }
            if !page.more {
                break;
            }
        }
        self.flush(chunk, spec, name, run_id, &mut followed, &mut report).await?;
        report.complete = true;
        progress(&report);
        Ok(report)
    }

    /// Maps one row into the chunk's jobs.
    fn add_row(
        &self,
        chunk: &mut Chunk,
        spec: &EntitySpec,
        position: &Watermark,
        row: &Record,
        report: &mut BackfillReport,
    ) -> Result<()> {
        let stamp = format!("{}T{}", position.date, position.time).into_boxed_str();
        let key = position.key.clone().into_boxed_str();
        let member = chunk.members.len();
        let synced_at = crate::domain::rfc3339_millis(self.clock.now_millis());
        let writes = match plan::plan(&self.mapping, spec.name, row, &synced_at) {
            Ok(writes) => writes,
            Err(err) if err.class() == ErrorClass::Configuration => return Err(err),
            Err(err) => {
                chunk.members.push(Member { key, stamp, failure: Some(Arc::new(err)) });
                return Ok(());
            }
        };
        if writes.is_empty() {
            report.skipped += 1;
            return Ok(());
        }
        let mut failure = None;
        for write in writes {
            let operation = match write.target {
                Target::Upsert { object, external_id } => BulkOperation::Upsert { object, external_id },
                Target::Update { object } => BulkOperation::Update { object },
                Target::PaymentStatus | Target::PartnerRefresh => {
                    if let Some(code) = write.record.get("SAP_CardCode__c").and_then(Value::as_str) {
                        chunk.customers.entry(code.to_string()).or_insert(member);
                    }
                    continue;
                }
                // Not raised for history (see the module's notes).
                Target::CreditAlert => continue,
                other => {
                    return Err(Error::Config(format!("a backfill of {} cannot write {other:?}", spec.name)));
                }
            };
            let job = chunk.jobs.entry((write.child, operation.clone())).or_insert_with(|| JobRows {
                csv: CsvRows::with_capacity(self.settings.job_bytes.min(MAX_JOB_BYTES)),
                owners: HashMap::new(),
            });
            match job.csv.push_keyed(&write.record, operation.key_column()) {
                Ok(key) => {
                    job.owners.insert(key.into_boxed_str(), member as u32);
                }
                Err(err) => failure = failure.or(Some(Arc::new(err))),
            }
        }
        chunk.members.push(Member { key, stamp, failure });
        Ok(())
    }

    /// Runs the chunk's jobs (parents, then children), settles its records, queues its follow-ups and
    /// moves the checkpoint to its last row.
    async fn flush(
        &self,
        mut chunk: Chunk,
        spec: &EntitySpec,
        name: &str,
        run_id: &str,
        followed: &mut HashSet<String>,
        report: &mut BackfillReport,
    ) -> Result<()> {
        let now = self.clock.now_millis();
        self.state.acquire_lease(name, run_id, now, now + self.settings.lease_secs.max(1) * 1000).await?;
        let jobs = std::mem::take(&mut chunk.jobs);
        for ((_, operation), rows) in jobs {
            if rows.csv.is_empty() {
                continue;
            }
            let count = rows.csv.rows();
            let csv = rows.csv.finish()?;
            report.jobs += 1;
            report.csv_bytes += csv.len() as u64;
            let outcome = self.run_job(&operation, &csv).await?;
            drop(csv);
            let mut attribute = |key: &str, err: Arc<Error>| match rows.owners.get(key) {
                Some(&member) => {
                    let failure = &mut chunk.members[member as usize].failure;
                    *failure = failure.take().or(Some(err));
                }
                None => tracing::warn!(object = operation.object(), "a failed Bulk API row names no row of the job"),
            };
            for (key, err) in &outcome.failed {
                attribute(key, Arc::new(err.clone()));
            }
            for key in &outcome.unprocessed {
                attribute(key, Arc::new(unprocessed()));
            }
            let detail = format!(
                "backfill job {}: {} {count} row(s), {} failed, {} unprocessed",
                outcome.job_id,
                operation.object(),
                outcome.failed.len(),
                outcome.unprocessed.len()
            );
            let entry = AuditEntry::action_done(
                format!("sap:{}:*", spec.entity_set),
                self.clock.now_millis(),
                run_id.to_string(),
                Direction::SapToSf,
                AuditAction::Resync,
                Some(detail),
            );
            self.audit.record(&entry).await?;
        }
        self.settle(&chunk, spec, run_id, report).await?;
        let follow_ups: Vec<OutgoingMessage> = chunk
            .customers
            .iter()
            .filter(|(_, member)| chunk.members[**member].failure.is_none())
            .filter(|(code, _)| followed.insert((*code).clone()))
            .map(|(_, member)| OutgoingMessage::from(&chunk.note(spec.entity_set, *member, run_id, now)))
            .collect();
        self.queue.send(&follow_ups).await?;
        report.follow_ups += follow_ups.len() as u64;
        if let Some(last) = &chunk.last {
            self.state.advance_watermark(name, last).await?;
        }
        Ok(())
    }

    /// One job: opened, filled, closed and waited for. Whatever stops it leaves no Open job behind.
    async fn run_job(&self, operation: &BulkOperation, csv: &bytes::Bytes) -> Result<crate::ports::BulkJobOutcome> {
        let job = self.bulk.open_job(operation).await?;
        tracing::info!(job, object = operation.object(), bytes = csv.len(), "backfill job opened");
        if let Err(err) = self.bulk.upload_and_close(&job, csv).await {
            if let Err(abandon) = self.bulk.abandon(&job).await {
                tracing::warn!(job, error = %abandon, "could not abort the backfill job");
            }
            return Err(err);
        }
        self.bulk.finish(&job, operation).await
    }

    /// Each record of the chunk as the sf-writer settles it: written; dead-lettered and audited when
    /// the failure is permanent; queued for the writer (and audited) when it is not, or when the
    /// record names a parent that is not in Salesforce yet.
    async fn settle(&self, chunk: &Chunk, spec: &EntitySpec, run_id: &str, report: &mut BackfillReport) -> Result<()> {
        let trail = Trail {
            audit: self.audit.as_ref(),
            dead_letters: self.dead_letters.as_ref(),
            clock: self.clock.as_ref(),
            direction: Direction::SapToSf,
        };
        let mut retry = Vec::new();
        let now = self.clock.now_millis();
        for (at, member) in chunk.members.iter().enumerate() {
            let Some(err) = &member.failure else {
                report.written += 1;
                continue;
            };
            let note = chunk.note(spec.entity_set, at, run_id, now);
            let message = OutgoingMessage::from(&note);
            if err.class() == ErrorClass::Permanent && !waits_for_parent(err) {
                let delivered = Delivered { message_id: "", group_id: &message.group_id, body: &message.body };
                if trail.dead_letter(&delivered, Some(&note), err).await {
                    report.dead_lettered += 1;
                    continue;
                }
            }
            trail.attempt(&note, AuditAction::Write, Outcome::Retrying, None, Some(err)).await;
            retry.push(message);
            report.retried += 1;
        }
        self.queue.send(&retry).await
    }
}

/// A row the Bulk API did not process (its job was aborted): retried by the sf-writer.
fn unprocessed() -> Error {
    Error::Transport { system: "Salesforce", message: "Bulk API did not process this row (job aborted)".into() }
}
