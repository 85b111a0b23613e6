//! F1 sap-writer: a Closed Won opportunity becomes an SAP sales order, exactly once.
//!
//! Per message: idempotency claim → current opportunity state from Salesforce (one query for the
//! whole batch) → skip unless won → resolve the customer (create the BP if allowed) → look up an
//! SAP order carrying the opportunity id before creating one → write DocEntry/DocNum back → audit.
//! The lookup makes a lost idempotency record or a crash between create and write-back harmless.

use super::fifo::{Processed, batch_item_failures};
use crate::domain::{EpochMillis, Notification, OpportunitySnapshot, OrderRef, SalesforceId, digest};
use crate::error::{Error, ErrorClass, Result};
use crate::mapping::f1::{self, Customer};
use crate::ports::{
    AuditEntry, AuditLog, Claim, Clock, IdempotencyStore, OrderWriteBack, Outcome, OutgoingMessage, Queue,
    SalesforceApi, SapApi,
};
use futures::future::join_all;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// Knobs for F1.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Create a BP for an account without `SAP_CardCode__c` (else: a permanent mapping error).
    pub auto_create_customers: bool,
    /// Prefix of derived CardCodes for auto-created BPs.
    pub card_code_prefix: String,
    /// How long a COMPLETED idempotency record keeps duplicates out.
    pub completed_ttl_secs: i64,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self { auto_create_customers: true, card_code_prefix: "SF".into(), completed_ttl_secs: 7 * 24 * 3600 }
    }
}

/// The F1 writer and the ports it uses.
pub struct SapWriter {
    pub sap: Arc<dyn SapApi>,
    pub salesforce: Arc<dyn SalesforceApi>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub audit: Arc<dyn AuditLog>,
    pub dead_letters: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub settings: WriterSettings,
}

/// One queue message as the writer sees it (from an SQS event or an embedded queue).
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub message_id: String,
    pub group_id: String,
    pub body: String,
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
    /// Failed retryably: the message returns after its visibility timeout.
    Retry,
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

enum Work {
    Invalid(Error),
    Parsed { note: Notification, claim: Result<Claim> },
}

impl SapWriter {
    /// Processes a FIFO batch; `deadline` is the Lambda deadline (epoch ms), after which a crashed
    /// attempt's INPROGRESS lock may be taken over.
    pub async fn process_batch(&self, batch: &[InboundMessage], deadline: EpochMillis) -> BatchOutcome {
        let now = self.clock.now_millis();
        let in_progress_until = deadline.max(now + 1);
        let work: Vec<Work> = join_all(batch.iter().map(|m| async move {
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

        let to_fetch: Vec<SalesforceId> = work
            .iter()
            .filter_map(|w| match w {
                Work::Parsed { note, claim: Ok(Claim::Acquired) } => SalesforceId::parse(&note.record.id).ok(),
                _ => None,
            })
            .collect();
        let snapshots = if to_fetch.is_empty() { Ok(HashMap::new()) } else { self.fetch(&to_fetch).await };

        // Groups run concurrently; messages of one group run in order and stop at the first failure.
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            match groups.iter_mut().find(|(g, _)| *g == m.group_id) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((&m.group_id, vec![i])),
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
                    broken |= matches!(disposition, Disposition::Retry | Disposition::HeldBack);
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
            succeeded: !matches!(d, Disposition::Retry | Disposition::HeldBack),
        }));
        BatchOutcome {
            failures,
            dispositions: dispositions.into_iter().map(|(i, d)| (batch[i].message_id.clone(), d)).collect(),
        }
    }

    async fn fetch(&self, ids: &[SalesforceId]) -> Result<HashMap<SalesforceId, OpportunitySnapshot>> {
        let snaps = self.salesforce.opportunities(ids).await?;
        Ok(snaps.into_iter().map(|s| (s.id.clone(), s)).collect())
    }

    /// Runs one message to its disposition, recording the attempt.
    async fn settle(
        &self,
        message: &InboundMessage,
        work: &Work,
        snapshots: &Result<HashMap<SalesforceId, OpportunitySnapshot>>,
    ) -> Disposition {
        let (note, claim) = match work {
            Work::Invalid(err) => return self.dead_letter(message, None, err).await,
            Work::Parsed { note, claim } => (note, claim),
        };
        let span = tracing::info_span!("f1", record = %note.record, correlation_id = %note.correlation_id);
        self.settle_claimed(message, note, claim, snapshots).instrument(span).await
    }

    async fn settle_claimed(
        &self,
        message: &InboundMessage,
        note: &Notification,
        claim: &Result<Claim>,
        snapshots: &Result<HashMap<SalesforceId, OpportunitySnapshot>>,
    ) -> Disposition {
        match claim {
            Ok(Claim::Completed(_)) => {
                self.audit_attempt(note, "skip_duplicate", Outcome::Skipped, None, None).await;
                return Disposition::Duplicate;
            }
            Err(err) => return self.fail(message, note, err, false).await,
            Ok(Claim::Acquired) => {}
        }
        let snapshot = match snapshots {
            Ok(map) => SalesforceId::parse(&note.record.id).ok().and_then(|id| map.get(&id)),
            Err(err) => return self.fail(message, note, err, true).await,
        };
        match self.apply(snapshot).await {
            Ok((disposition, action, target)) => {
                let result = serde_json::to_string(&disposition).unwrap_or_default();
                let expires = self.clock.now_millis() + self.settings.completed_ttl_secs * 1000;
                if let Err(err) = self.idempotency.complete(&note.idempotency_key(), &result, expires).await {
                    // The work is done and the SAP lookup makes a rerun harmless: retry the message.
                    return self.fail(message, note, &err, false).await;
                }
                self.audit_attempt(note, action, outcome_of(&disposition), target, None).await;
                disposition
            }
            Err(err) => self.fail(message, note, &err, true).await,
        }
    }

    /// The flow itself, for an acquired message.
    async fn apply(
        &self,
        snapshot: Option<&OpportunitySnapshot>,
    ) -> Result<(Disposition, &'static str, Option<String>)> {
        let Some(opp) = snapshot else {
            return Ok((Disposition::Skipped, "skip_missing", None));
        };
        if !opp.is_won {
            return Ok((Disposition::Skipped, "skip_not_won", None));
        }
        if let Some(doc_entry) = opp.sap_doc_entry {
            return Ok((Disposition::Skipped, "skip_already_linked", Some(doc_entry.to_string())));
        }
        let today = super::date_of(self.clock.now_millis());
        let customer = f1::customer(opp, self.settings.auto_create_customers, &self.settings.card_code_prefix)?;
        let card_code = match &customer {
            Customer::Existing(code) => code.clone(),
            Customer::Create(bp) => bp.card_code.clone(),
        };
        // Map before any write, so a bad line fails without side effects.
        let draft = f1::sales_order(opp, card_code, &today)?;
        if let Customer::Create(bp) = &customer {
            if !self.sap.business_partner_exists(&bp.card_code).await? {
                // Two opportunities of one new account may race here; the loser finds the winner's BP.
                if let Err(err) = self.sap.create_business_partner(bp).await
                    && !self.sap.business_partner_exists(&bp.card_code).await?
                {
                    return Err(err);
                }
            }
            self.salesforce.set_account_card_code(&bp.salesforce_account_id, &bp.card_code).await?;
        }
        let (order, disposition, action) = match self.sap.find_order_for_opportunity(&opp.id).await? {
            Some(existing) => (existing, Disposition::Linked { doc_entry: existing.doc_entry }, "link_existing_order"),
            None => {
                let created = self.sap.create_order(&draft).await.map_err(|err| with_order_lines(err, &draft))?;
                (created, Disposition::Created { doc_entry: created.doc_entry }, "create_order")
            }
        };
        self.write_back(&opp.id, Some(order), None).await?;
        tracing::info!(doc_entry = order.doc_entry, doc_num = order.doc_num, action, "opportunity synced to SAP order");
        Ok((disposition, action, Some(order.doc_entry.to_string())))
    }

    async fn write_back(&self, opp: &SalesforceId, order: Option<OrderRef>, error: Option<String>) -> Result<()> {
        let status = if error.is_some() { "Failed" } else { "Synced" };
        self.salesforce.write_back_order(opp, &OrderWriteBack { order, status, error }).await
    }

    /// Retryable → the message returns; permanent → audit, tell the opportunity, DLQ.
    async fn fail(&self, message: &InboundMessage, note: &Notification, err: &Error, claimed: bool) -> Disposition {
        if claimed {
            // Powertools semantics: a failed attempt deletes its record so the retry runs again.
            self.release_quietly(note).await;
        }
        if err.class() == ErrorClass::Retryable {
            tracing::warn!(error = %err, "retryable failure; message returns");
            self.audit_attempt(note, "retry", Outcome::Retrying, None, Some(err)).await;
            return Disposition::Retry;
        }
        if claimed && let Ok(id) = SalesforceId::parse(&note.record.id) {
            // Best effort: the sales rep sees why; the DLQ and audit trail are the record of truth.
            let _ = self.write_back(&id, None, Some(err.to_string())).await;
        }
        self.dead_letter(message, Some(note), err).await
    }

    async fn dead_letter(&self, message: &InboundMessage, note: Option<&Notification>, err: &Error) -> Disposition {
        let dead = OutgoingMessage {
            group_id: message.group_id.clone(),
            dedup_id: note
                .map(|n| n.idempotency_key())
                .unwrap_or_else(|| digest(message.body.as_bytes())[..64].to_string()),
            body: message.body.clone(),
        };
        if let Err(send_err) = self.dead_letters.send(&[dead]).await {
            tracing::error!(error = %send_err, "could not dead-letter; message returns instead");
            if let Some(n) = note {
                self.audit_attempt(n, "dead_letter", Outcome::Retrying, None, Some(&send_err)).await;
            }
            return Disposition::Retry;
        }
        tracing::warn!(error = %err, "permanent failure; message dead-lettered");
        match note {
            Some(n) => self.audit_attempt(n, "dead_letter", Outcome::DeadLettered, None, Some(err)).await,
            None => {
                let entry = AuditEntry {
                    record_key: format!("sf:invalid:{}", message.message_id.chars().take(64).collect::<String>()),
                    at: self.clock.now_millis(),
                    correlation_id: message.message_id.clone(),
                    direction: "sf->sap".into(),
                    action: "dead_letter".into(),
                    outcome: Outcome::DeadLettered,
                    source_version: None,
                    payload_digest: Some(digest(message.body.as_bytes())),
                    error_code: Some(err.code()),
                    error_class: Some(err.class()),
                    error: Some(err.to_string()),
                    target_id: None,
                };
                self.record_audit(&entry).await;
            }
        }
        Disposition::DeadLettered
    }

    async fn release_quietly(&self, note: &Notification) {
        if let Err(e) = self.idempotency.release(&note.idempotency_key()).await {
            // The INPROGRESS record then expires at the Lambda deadline and is taken over.
            tracing::warn!(error = %e, "could not release idempotency record");
        }
    }

    async fn audit_attempt(
        &self,
        note: &Notification,
        action: &str,
        outcome: Outcome,
        target: Option<String>,
        err: Option<&Error>,
    ) {
        let entry = AuditEntry {
            record_key: note.record.to_string(),
            at: self.clock.now_millis(),
            correlation_id: note.correlation_id.clone(),
            direction: "sf->sap".into(),
            action: action.into(),
            outcome,
            source_version: Some(note.source_version.clone()),
            payload_digest: Some(payload_hash(note)),
            error_code: err.map(Error::code),
            error_class: err.map(Error::class),
            error: err.map(|e| e.to_string()),
            target_id: target,
        };
        self.record_audit(&entry).await;
    }

    async fn record_audit(&self, entry: &AuditEntry) {
        if let Err(e) = self.audit.record(entry).await {
            // Audit is best effort at this point: the outcome is already decided and the queue holds the message.
            tracing::error!(error = %e, record = %entry.record_key, "audit write failed");
        }
    }
}

/// SAP names a rejected line by number only ("[line: 2]"); add the item codes so the audit says which product.
fn with_order_lines(err: Error, draft: &crate::domain::NewSalesOrder) -> Error {
    match err {
        Error::Sap { status, code, message } if status < 500 => {
            let lines: Vec<String> =
                draft.lines.iter().enumerate().map(|(i, l)| format!("{}={}", i + 1, l.item_code)).collect();
            Error::Sap { status, code, message: format!("{message} (order lines: {})", lines.join(", ")) }
        }
        other => other,
    }
}

fn outcome_of(d: &Disposition) -> Outcome {
    match d {
        Disposition::Created { .. } | Disposition::Linked { .. } => Outcome::Succeeded,
        Disposition::Duplicate | Disposition::Skipped => Outcome::Skipped,
        Disposition::Retry | Disposition::HeldBack => Outcome::Retrying,
        Disposition::DeadLettered => Outcome::DeadLettered,
    }
}

/// The idempotency payload hash: the change itself, not who delivered it.
fn payload_hash(note: &Notification) -> String {
    digest(format!("{}|{}|{}|{}", note.record, note.reason, note.source_version, note.changed_at).as_bytes())
}

/// F1 only handles opportunities; anything else on this queue is a routing mistake.
fn validate_target(note: Notification) -> Result<Notification> {
    if note.record.object != "Opportunity" {
        return Err(Error::Invalid(format!("sap-writer handles Opportunity notifications, not {}", note.record)));
    }
    let id = SalesforceId::parse(&note.record.id)?;
    if id.key_prefix() != "006" {
        return Err(Error::Invalid(format!("{id} is not an Opportunity id")));
    }
    Ok(note)
}

/// The writer's view of an SQS event (FIFO attributes carry the group id).
pub fn from_sqs(event: aws_lambda_events::sqs::SqsEvent) -> Vec<InboundMessage> {
    event
        .records
        .into_iter()
        .map(|r| InboundMessage {
            group_id: r.attributes.get("MessageGroupId").cloned().unwrap_or_default(),
            message_id: r.message_id.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect()
}

/// `batchItemFailures` for the failed message ids.
pub fn batch_response(failures: Vec<String>) -> aws_lambda_events::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
    for id in failures {
        let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}
