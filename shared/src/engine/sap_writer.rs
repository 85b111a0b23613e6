//! sap-writer: work on `to-sap.fifo` (Salesforce → SAP), exactly once per change.
//!
//! The batch mechanics live here: idempotency claims, one Salesforce read per object for the whole
//! batch, FIFO groups (run concurrently; in order within a group, stopping at the first failure),
//! retry vs dead-letter, and the audit trail. The flows themselves are in their own modules:
//! F1–F3 and the GAP_OVERFLOW resync are in [`crate::flows`]; this engine routes each record to one.

use super::fifo::{Processed, batch_item_failures};
use super::trail::{Delivered, Trail, payload_hash, requeued_copy};
use crate::domain::objects::{WHOLE_OBJECT, salesforce_object};
use crate::domain::redelivery::Afterwards;
use crate::domain::state::Direction;
use crate::domain::{EpochMillis, Notification, OpportunitySnapshot, QuoteSnapshot, Record, RecordKey, SalesforceId};
use crate::error::{Error, ErrorClass, Result};
use crate::flows::{Applied, Done, ToSap, f1_orders, f1_quotes, f2_partners, f3_cases, resync};
use crate::ports::AuditAction;
use crate::ports::{AuditLog, ChildQuery, Claim, DeletedRecord, IdempotencyStore, Outcome, Queue, RecordQuery};
use futures::future::join_all;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// The sap-writer: the flows' ports, and what it settles each message with.
pub struct SapWriter {
    pub flows: ToSap,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub audit: Arc<dyn AuditLog>,
    pub dead_letters: Arc<dyn Queue>,
}

/// One queue message as the writer sees it (from an SQS event or an embedded queue).
#[derive(Debug, Clone, Default)]
pub struct InboundMessage {
    pub message_id: String,
    pub group_id: String,
    pub body: String,
    /// For hiding it before a DLQ send (empty when unknown).
    pub receipt_handle: String,
    /// `ApproximateReceiveCount` (0 when unknown).
    pub receive_count: u32,
}

impl From<&crate::ports::ReceivedMessage> for InboundMessage {
    fn from(m: &crate::ports::ReceivedMessage) -> Self {
        Self {
            message_id: m.message_id.clone(),
            group_id: m.group_id.clone(),
            body: m.body.clone(),
            receipt_handle: m.receipt_handle.clone(),
            receive_count: m.receive_count,
        }
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// A new SAP order was created (and written back).
    Created { doc_entry: i64 },
    /// An SAP order for this opportunity already existed; it was (re)linked.
    Linked { doc_entry: i64 },
    /// The same change was already processed.
    Duplicate,
    /// Nothing to do (not won, already linked, deleted).
    Skipped,
    /// A record other than an order was created or updated in the target (a BP, a Case's fields).
    Written,
    /// A whole-object resync re-enqueued this many record notifications.
    Resynced { notifications: usize },
    /// Failed retryably: the message returns after its visibility timeout.
    Retry,
    /// A configuration error (refused login, unknown field): the message returns, never dead-lettered.
    Held,
    /// A configuration error on the message's last attempts: sent again as a fresh message (deleted
    /// here), so the redrive policy never takes it.
    Requeued,
    /// Not processed because an earlier message of its group failed in this batch.
    HeldBack,
    /// Failed permanently: audited and moved to the DLQ.
    DeadLettered,
}

/// The result of one batch.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// Message ids for `batchItemFailures`.
    pub failures: Vec<String>,
    pub dispositions: Vec<(String, Disposition)>,
}

/// Current Salesforce state of the records a batch names, fetched once per batch.
#[derive(Default)]
struct Snapshots {
    pub opportunities: HashMap<SalesforceId, OpportunitySnapshot>,
    pub quotes: HashMap<SalesforceId, QuoteSnapshot>,
    /// Records of the mapping-driven flows, by id (ids are unique across objects).
    pub records: HashMap<SalesforceId, Record>,
    /// Accounts and contacts a DELETE event named that are deleted (with a merge's winning account
    /// among `records`).
    pub deleted: HashMap<SalesforceId, DeletedRecord>,
}

impl Snapshots {
    /// The record a notification ends up writing, when that differs from its own: a contact's or
    /// a converted lead's account.
    fn target_group(&self, note: &Notification) -> Option<String> {
        let id = SalesforceId::parse(&note.record.id).ok()?;
        let link = match note.record.object.as_str() {
            "Contact" => "AccountId",
            "Lead" => "ConvertedAccountId",
            _ => return None,
        };
        self.parent_account(&id, link).map(|account| RecordKey::salesforce("Account", &account).to_string())
    }

    /// The account a contact or lead points to through `field`.
    fn parent_account(&self, id: &SalesforceId, field: &str) -> Option<SalesforceId> {
        self.records.get(id)?.get(field)?.as_str().and_then(|raw| SalesforceId::parse(raw).ok())
    }

    fn insert_records(&mut self, records: Vec<Record>) {
        for record in records {
            if let Some(id) = record.get("Id").and_then(|v| v.as_str()).and_then(|raw| SalesforceId::parse(raw).ok()) {
                self.records.insert(id, record);
            }
        }
    }
}

enum Work {
    Invalid(Error),
    /// Delivered for the last allowed time without ever being settled: dead-lettered untried.
    Exhausted {
        note: Option<Notification>,
        err: Error,
    },
    Parsed {
        note: Notification,
        claim: Result<Claim>,
    },
}

impl SapWriter {
    /// Processes a FIFO batch; `deadline` is the Lambda deadline (epoch ms), after which a crashed
    /// attempt's INPROGRESS lock may be taken over.
    pub async fn process_batch(&self, batch: &[InboundMessage], deadline: EpochMillis) -> BatchOutcome {
        let now = self.flows.clock.now_millis();
        let in_progress_until = deadline.max(now + 1);
        let work: Vec<Work> = join_all(batch.iter().map(|m| async move {
            if let Some(err) = self.flows.settings.deliveries.unsettled_too_often(m.receive_count) {
                return Work::Exhausted { note: Notification::from_body(&m.body).ok(), err };
            }
            match Notification::from_body(&m.body).and_then(validate_target) {
                Err(e) => Work::Invalid(e),
                Ok(note) => {
                    let claim = self
                        .idempotency
                        .claim(&note.idempotency_key(), &payload_hash(&note), now, in_progress_until)
                        .await;
                    Work::Parsed { note, claim }
                }
            }
        }))
        .await;

        let to_fetch: Vec<&Notification> = work
            .iter()
            .filter_map(|w| match w {
                Work::Parsed { note, claim: Ok(Claim::Acquired) } => Some(note),
                _ => None,
            })
            .collect();
        let snapshots = if to_fetch.is_empty() { Ok(Snapshots::default()) } else { self.fetch(&to_fetch).await };

        // Groups run concurrently; messages of one group run in order and stop at the first failure.
        // A contact's or converted lead's message joins its account's group, since all three write
        // the same business partner: one batch never creates it twice in parallel.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            let group = match (&work[i], &snapshots) {
                (Work::Parsed { note, .. }, Ok(snapshots)) => snapshots.target_group(note),
                _ => None,
            }
            .unwrap_or_else(|| m.group_id.clone());
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((group, vec![i])),
            }
        }
        let per_group = join_all(groups.iter().map(|(_, indices)| {
            let work = &work;
            let snapshots = &snapshots;
            async move {
                let mut out = Vec::new();
                let mut broken = false;
                for &i in indices {
                    let disposition = if broken {
                        if let Work::Parsed { note, claim: Ok(Claim::Acquired) } = &work[i] {
                            self.release_quietly(note).await;
                        }
                        Disposition::HeldBack
                    } else {
                        self.settle(&batch[i], &work[i], snapshots).await
                    };
                    broken |= disposition.returns() || disposition == Disposition::Requeued;
                    out.push((i, disposition));
                }
                out
            }
        }))
        .await;
        let mut dispositions: Vec<(usize, Disposition)> = per_group.into_iter().flatten().collect();
        dispositions.sort_by_key(|(i, _)| *i);
        let failures = batch_item_failures(dispositions.iter().map(|(i, d)| Processed {
            message_id: &batch[*i].message_id,
            group_id: &batch[*i].group_id,
            succeeded: !d.returns(),
        }));
        BatchOutcome {
            failures,
            dispositions: dispositions.into_iter().map(|(i, d)| (batch[i].message_id.clone(), d)).collect(),
        }
    }

    /// Current state of every record the batch names: one Salesforce query per object (contacts and
    /// leads first, since they lead to the accounts F2 syncs).
    async fn fetch(&self, notes: &[&Notification]) -> Result<Snapshots> {
        let mut by_object: HashMap<&str, Vec<SalesforceId>> = HashMap::new();
        for note in notes.iter().filter(|n| n.record.id != WHOLE_OBJECT) {
            by_object.entry(note.record.object.as_str()).or_default().push(SalesforceId::parse(&note.record.id)?);
        }
        let mut snapshots = Snapshots::default();
        if let Some(ids) = by_object.get("Opportunity") {
            let read = f1_orders::opportunity_read(&self.flows.mapping)?;
            let found = self.flows.salesforce_reads.opportunities(ids, &read).await?;
            snapshots.opportunities.extend(found.into_iter().map(|s| (s.id.clone(), s)));
        }
        if let Some(ids) = by_object.get("Quote") {
            let line_fields = f1_quotes::quote_line_fields(&self.flows.mapping)?;
            let found = self.flows.salesforce_reads.quotes(ids, &line_fields).await?;
            snapshots.quotes.extend(found.into_iter().map(|q| (q.id.clone(), q)));
        }
        if let Some(ids) = by_object.get("Case") {
            let fields = f3_cases::case_fields(&self.flows.mapping)?;
            snapshots.insert_records(
                self.flows
                    .salesforce_reads
                    .records(&RecordQuery { object: "Case", fields: &fields, child: None }, ids)
                    .await?,
            );
        }
        let mut accounts = by_object.get("Account").cloned().unwrap_or_default();
        let account_links: [(&str, &str, &[&str]); 2] = [
            ("Contact", "AccountId", &["AccountId"]),
            ("Lead", "ConvertedAccountId", &["ConvertedAccountId", "IsConverted"]),
        ];
        for (object, link, read) in account_links {
            let Some(ids) = by_object.get(object) else { continue };
            let fields: Vec<String> = read.iter().map(|f| f.to_string()).collect();
            snapshots.insert_records(
                self.flows.salesforce_reads.records(&RecordQuery { object, fields: &fields, child: None }, ids).await?,
            );
            accounts.extend(ids.iter().filter_map(|id| snapshots.parent_account(id, link)));
        }
        let deleted = |object: &str| -> Vec<SalesforceId> {
            notes
                .iter()
                .filter(|n| n.record.object == object && n.reason.ends_with("DELETE") && n.record.id != WHOLE_OBJECT)
                .filter_map(|n| SalesforceId::parse(&n.record.id).ok())
                .collect()
        };
        let (gone_accounts, gone_contacts) = (deleted("Account"), deleted("Contact"));
        if !gone_accounts.is_empty() {
            for gone in self.flows.salesforce_reads.deleted_accounts(&gone_accounts).await? {
                accounts.extend(gone.master.clone());
                snapshots.deleted.insert(gone.id.clone(), gone);
            }
        }
        if !gone_contacts.is_empty() {
            for gone in self.flows.salesforce_reads.deleted_contacts(&gone_contacts).await? {
                snapshots.deleted.insert(gone.id.clone(), gone);
            }
        }
        if !accounts.is_empty() {
            accounts.sort();
            accounts.dedup();
            let read = f2_partners::account_read(self.flows.mapping.flow("F2")?);
            let child = read
                .contact_relationship
                .as_deref()
                .map(|relationship| ChildQuery { relationship, fields: &read.contact_fields });
            let query = RecordQuery { object: "Account", fields: &read.fields, child };
            snapshots.insert_records(self.flows.salesforce_reads.records(&query, &accounts).await?);
        }
        Ok(snapshots)
    }

    /// Runs one message to its disposition, recording the attempt.
    async fn settle(&self, message: &InboundMessage, work: &Work, snapshots: &Result<Snapshots>) -> Disposition {
        let (note, claim) = match work {
            Work::Invalid(err) => return self.dead_letter(message, None, err).await,
            Work::Exhausted { note, err } => return self.dead_letter(message, note.as_ref(), err).await,
            Work::Parsed { note, claim } => (note, claim),
        };
        let span = tracing::info_span!("sap_writer", record = %note.record, correlation_id = %note.correlation_id);
        self.settle_claimed(message, note, claim, snapshots).instrument(span).await
    }

    async fn settle_claimed(
        &self,
        message: &InboundMessage,
        note: &Notification,
        claim: &Result<Claim>,
        snapshots: &Result<Snapshots>,
    ) -> Disposition {
        match claim {
            Ok(Claim::Completed(_)) => {
                self.trail().attempt(note, AuditAction::SkipDuplicate, Outcome::Skipped, None, None).await;
                return Disposition::Duplicate;
            }
            Err(err) => return self.fail(message, note, err, false).await,
            Ok(Claim::Acquired) => {}
        }
        let snapshots = match snapshots {
            Ok(snapshots) => snapshots,
            Err(err) => return self.fail(message, note, err, true).await,
        };
        match self.apply(note, snapshots).await {
            Ok(Applied { done, action, target }) => {
                let disposition = Disposition::from(done);
                let result = serde_json::to_string(&disposition).unwrap_or_default();
                let expires = self.flows.clock.now_millis() + self.flows.settings.completed_ttl_secs * 1000;
                if let Err(err) = self.idempotency.complete(&note.idempotency_key(), &result, expires).await {
                    // The work is done and the SAP lookup makes a rerun harmless: retry the message.
                    return self.fail(message, note, &err, false).await;
                }
                self.trail().attempt(note, action, outcome_of(&disposition), target, None).await;
                disposition
            }
            Err(err) => self.fail(message, note, &err, true).await,
        }
    }

    /// Routes an acquired message to its flow.
    async fn apply(&self, note: &Notification, snapshots: &Snapshots) -> Result<Applied> {
        let flows = &self.flows;
        if note.record.id == WHOLE_OBJECT {
            return resync::resync(flows, note).await;
        }
        let id = SalesforceId::parse(&note.record.id)?;
        match note.record.object.as_str() {
            "Opportunity" => f1_orders::sync_opportunity(flows, snapshots.opportunities.get(&id)).await,
            "Quote" => f1_quotes::sync_quote(flows, snapshots.quotes.get(&id)).await,
            "Case" => f3_cases::sync_case(flows, &id, snapshots.records.get(&id)).await,
            "Account" => match (snapshots.records.get(&id), snapshots.deleted.get(&id)) {
                (None, Some(gone)) => {
                    let master = gone.master.as_ref().and_then(|m| snapshots.records.get(m));
                    f2_partners::account_deleted(flows, gone, master).await
                }
                (account, _) => f2_partners::sync_account(flows, &id, account).await,
            },
            "Contact" => match (snapshots.parent_account(&id, "AccountId"), snapshots.deleted.get(&id)) {
                (Some(account), _) => f2_partners::sync_account(flows, &account, snapshots.records.get(&account)).await,
                (None, Some(gone)) if !snapshots.records.contains_key(&id) => {
                    f2_partners::contact_deleted(flows, gone).await
                }
                (None, _) => Ok(Applied::new(Done::Skipped, AuditAction::SkipContactWithoutAccount, None)),
            },
            "Lead" => {
                let converted = snapshots.records.get(&id).and_then(|l| l.get("IsConverted")).and_then(|v| v.as_bool());
                match (converted, snapshots.parent_account(&id, "ConvertedAccountId")) {
                    (Some(true), Some(account)) => {
                        f2_partners::sync_account(flows, &account, snapshots.records.get(&account)).await
                    }
                    _ => Ok(Applied::new(Done::Skipped, AuditAction::SkipLeadNotConverted, None)),
                }
            }
            other => Err(Error::Invalid(format!("sap-writer has no flow for {other} notifications"))),
        }
    }

    /// Retryable or configuration → the message returns (on its last attempt: dead-lettered, or for
    /// configuration requeued fresh); permanent → audit, tell the opportunity, DLQ.
    async fn fail(&self, message: &InboundMessage, note: &Notification, err: &Error, claimed: bool) -> Disposition {
        if claimed {
            // Powertools semantics: a failed attempt deletes its record so the retry runs again.
            self.release_quietly(note).await;
        }
        let class = err.class();
        let err = match self.flows.settings.deliveries.after(class, err, message.receive_count) {
            Afterwards::DeadLetter(err) => err,
            Afterwards::Return => return self.keep(note, err, class).await,
            Afterwards::Requeue => {
                let copy = requeued_copy(&message.message_id, &message.group_id, &message.body);
                if let Err(send_err) = self.flows.requeue.send(&[copy]).await {
                    tracing::error!(error = %send_err, "could not requeue; the message returns instead");
                    return self.keep(note, err, class).await;
                }
                self.keep(note, err, class).await;
                return Disposition::Requeued;
            }
        };
        let err = &err;
        if claimed && let Ok(id) = SalesforceId::parse(&note.record.id) {
            // Best effort: the sales rep sees why; the DLQ and audit trail are the record of truth.
            let _ = match note.record.object.as_str() {
                "Opportunity" => f1_orders::write_back(&self.flows, &id, None, Some(err.to_string())).await,
                "Quote" => f1_quotes::write_back_failure(&self.flows, &id, err.to_string()).await,
                _ => Ok(()),
            };
        }
        self.dead_letter(message, Some(note), err).await
    }

    /// Audits a failed attempt whose message stays queued.
    async fn keep(&self, note: &Notification, err: &Error, class: ErrorClass) -> Disposition {
        tracing::warn!(error = %err, ?class, "failure; the message stays queued");
        self.trail().attempt(note, AuditAction::Retry, Outcome::Retrying, None, Some(err)).await;
        if class == ErrorClass::Configuration { Disposition::Held } else { Disposition::Retry }
    }

    /// Dead-letters and audits; the message is hidden for `dead_letter_hold_secs` first, so that if
    /// this invocation dies before SQS deletes it, it returns within the DLQ's deduplication window.
    async fn dead_letter(&self, message: &InboundMessage, note: Option<&Notification>, err: &Error) -> Disposition {
        let hold = self.flows.settings.dead_letter_hold_secs;
        if !message.receipt_handle.is_empty()
            && let Err(e) = self.flows.requeue.release(&message.receipt_handle, hold).await
        {
            tracing::warn!(error = %e, "could not hide the message before dead-lettering it");
        }
        let delivered = Delivered { message_id: &message.message_id, group_id: &message.group_id, body: &message.body };
        if self.trail().dead_letter(&delivered, note, err).await {
            Disposition::DeadLettered
        } else {
            Disposition::Retry
        }
    }

    async fn release_quietly(&self, note: &Notification) {
        if let Err(e) = self.idempotency.release(&note.idempotency_key()).await {
            // The INPROGRESS record then expires at the Lambda deadline and is taken over.
            tracing::warn!(error = %e, "could not release idempotency record");
        }
    }

    fn trail(&self) -> Trail<'_> {
        Trail {
            audit: self.audit.as_ref(),
            dead_letters: self.dead_letters.as_ref(),
            clock: self.flows.clock.as_ref(),
            direction: Direction::SfToSap,
        }
    }
}

impl From<Done> for Disposition {
    fn from(done: Done) -> Self {
        match done {
            Done::Created { doc_entry } => Disposition::Created { doc_entry },
            Done::Linked { doc_entry } => Disposition::Linked { doc_entry },
            Done::Skipped => Disposition::Skipped,
            Done::Written => Disposition::Written,
            Done::Resynced { notifications } => Disposition::Resynced { notifications },
        }
    }
}

impl Disposition {
    /// Whether the message goes back to its queue (a `batchItemFailures` entry).
    pub fn returns(&self) -> bool {
        matches!(self, Disposition::Retry | Disposition::HeldBack | Disposition::Held)
    }
}

fn outcome_of(d: &Disposition) -> Outcome {
    match d {
        Disposition::Created { .. } | Disposition::Linked { .. } => Outcome::Succeeded,
        Disposition::Resynced { .. } | Disposition::Written => Outcome::Succeeded,
        Disposition::Duplicate | Disposition::Skipped => Outcome::Skipped,
        Disposition::Retry | Disposition::HeldBack | Disposition::Held | Disposition::Requeued => Outcome::Retrying,
        Disposition::DeadLettered => Outcome::DeadLettered,
    }
}

/// Anything not addressed to one of our flows is a routing mistake: a permanent error.
fn validate_target(note: Notification) -> Result<Notification> {
    let Some(object) = salesforce_object(&note.record.object) else {
        return Err(Error::Invalid(format!("sap-writer has no flow for {}", note.record)));
    };
    if note.record.id == WHOLE_OBJECT {
        return Ok(note);
    }
    let id = SalesforceId::parse(&note.record.id)?;
    if id.key_prefix() != object.id_prefix {
        return Err(Error::Invalid(format!("{id} is not a {} id", note.record.object)));
    }
    Ok(note)
}

/// What a sap-writer whose configuration failed at cold start (an invalid mapping file, a missing
/// setting) still has: its own queue and the audit trail, to keep every message queued instead of
/// letting the event source's retries carry it to the DLQ unaudited.
pub struct HeldAtInit {
    /// `to-sap.fifo`, for requeuing a message on its last attempts.
    pub queue: Arc<dyn Queue>,
    pub audit: Arc<dyn AuditLog>,
    pub dead_letters: Arc<dyn Queue>,
    pub clock: Arc<dyn crate::ports::Clock>,
    pub deliveries: crate::domain::redelivery::Deliveries,
    /// Why the writer could not be built.
    pub error: Error,
}

impl HeldAtInit {
    /// Holds a whole batch: each message audited as retrying with the configuration error, returned
    /// (a batch item failure), or on its last attempts requeued as a fresh message; nothing is
    /// dead-lettered for the set-up's fault.
    pub async fn hold(&self, batch: &[InboundMessage]) -> BatchOutcome {
        let trail = Trail {
            audit: self.audit.as_ref(),
            dead_letters: self.dead_letters.as_ref(),
            clock: self.clock.as_ref(),
            direction: Direction::SfToSap,
        };
        let mut dispositions = Vec::with_capacity(batch.len());
        for message in batch {
            let requeue = matches!(
                self.deliveries.after(ErrorClass::Configuration, &self.error, message.receive_count),
                Afterwards::Requeue
            );
            let requeued = requeue
                && self
                    .queue
                    .send(&[requeued_copy(&message.message_id, &message.group_id, &message.body)])
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "could not requeue; the message returns instead"))
                    .is_ok();
            if let Ok(note) = Notification::from_body(&message.body) {
                trail.attempt(&note, AuditAction::Retry, Outcome::Retrying, None, Some(&self.error)).await;
            }
            dispositions.push(if requeued { Disposition::Requeued } else { Disposition::Held });
        }
        let failures = batch_item_failures(batch.iter().zip(&dispositions).map(|(m, d)| Processed {
            message_id: &m.message_id,
            group_id: &m.group_id,
            succeeded: !d.returns(),
        }));
        BatchOutcome { failures, dispositions: batch.iter().map(|m| m.message_id.clone()).zip(dispositions).collect() }
    }
}
