//! Every trait the flows and engines are written against. Each has a real (AWS, HTTP) implementation and an embedded one.

use crate::domain::polled::{EntitySpec, Start};
use crate::domain::state::{Direction, Lease, Watermark};
use crate::domain::{
    CardCode, EpochMillis, NewBusinessPartner, NewSalesOrder, OpportunitySnapshot, OrderState, Record, SalesforceId,
    SapOrderFor,
};
use crate::error::{ErrorClass, Result};
use async_trait::async_trait;
use std::collections::HashMap;

pub mod sqs_limits;

/// A message to put on a FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// FIFO MessageGroupId: the target record key.
    pub group_id: String,
    /// FIFO MessageDeduplicationId: the idempotency key.
    pub dedup_id: String,
    pub body: String,
}

impl From<&crate::domain::Notification> for OutgoingMessage {
    /// The notification on its record's FIFO group, deduplicated by its idempotency key.
    fn from(note: &crate::domain::Notification) -> Self {
        Self { group_id: note.group_id(), dedup_id: note.idempotency_key(), body: note.to_body() }
    }
}

/// A message taken from a queue (embedded runs and operator tools; Lambda gets them from the ESM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub group_id: String,
    pub body: String,
    pub receive_count: u32,
    /// When the message was first sent to this queue (SQS `SentTimestamp`), when known.
    pub sent_at: Option<EpochMillis>,
}

/// A FIFO queue.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages durably; returns only when all of them are accepted (dedup-dropped counts as accepted).
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()>;
    /// Receives up to `max` (≤ 10) messages, honouring FIFO group locking and visibility.
    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>>;
    /// [`Queue::receive`], hiding the received messages for `visibility_secs` instead of the queue's
    /// default (operator tools: short for a look, longer for a redrive). Adapters that cannot choose
    /// use the queue's default.
    async fn receive_for(&self, max: usize, visibility_secs: u32) -> Result<Vec<ReceivedMessage>> {
        let _ = visibility_secs;
        self.receive(max).await
    }
    /// Deletes a processed message.
    async fn delete(&self, receipt_handle: &str) -> Result<()>;
    /// Deletes many processed messages (SQS: 10 per DeleteMessageBatch call).
    async fn delete_many(&self, receipt_handles: &[String]) -> Result<()> {
        for handle in receipt_handles {
            self.delete(handle).await?;
        }
        Ok(())
    }
    /// Makes an in-flight message visible again after `seconds`.
    async fn release(&self, receipt_handle: &str, seconds: u32) -> Result<()>;
    /// Approximate number of visible messages.
    async fn depth(&self) -> Result<u64>;
}

pub use crate::domain::idempotency::Claim;

/// Powertools-compatible idempotency records.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Conditional put of an INPROGRESS record. `Err(Error::InProgress)` when another invocation
    /// holds a fresh lock; `Err(Error::PayloadMismatch)` when a completed record has another hash.
    async fn claim(
        &self,
        key: &str,
        payload_hash: &str,
        now: EpochMillis,
        in_progress_until: EpochMillis,
    ) -> Result<Claim>;
    /// Marks the key COMPLETED, storing `result`, with the record expiring at `expires_at` (epoch ms).
    async fn complete(&self, key: &str, result: &str, expires_at: EpochMillis) -> Result<()>;
    /// Deletes the record after a failure, so the retry runs again.
    async fn release(&self, key: &str) -> Result<()>;
}

/// What happened in one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// Nothing to do (not won, echo, already done).
    Skipped,
    /// Retryable failure: the message returns.
    Retrying,
    /// Permanent failure: the message is in the DLQ.
    DeadLettered,
    /// Input rejected before any work (malformed event, bad signature).
    Rejected,
}

/// What an attempt did, as the audit trail records it (stored as the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// sf-receiver or sap-webhook took a delivery (or refused it).
    Receive,
    /// F1 created the SAP sales order.
    CreateOrder,
    /// F1 found an SAP order already carrying the opportunity id and linked it.
    LinkExistingOrder,
    /// F2 created the business partner.
    CreateBusinessPartner,
    /// F2 patched the business partner.
    UpdateBusinessPartner,
    /// F3 wrote the billing context to the case.
    EnrichCase,
    /// A GAP_OVERFLOW re-enqueued the object's changed records.
    Resync,
    /// The sf-writer wrote the record to Salesforce.
    Write,
    /// The record no longer exists at the source.
    SkipMissing,
    /// A Salesforce record that changed (Salesforce sends no deletions to the sap-writer) could not be
    /// read: not shared with the integration user, or deleted since. Shown among failures.
    SkipNotVisible,
    /// The opportunity is not Closed Won.
    SkipNotWon,
    /// The opportunity already has its SAP order.
    SkipAlreadyLinked,
    /// F1's order was saved as a draft awaiting SAP's approval procedure (created now or found).
    OrderDraftPending,
    /// The deal is no longer won and nothing was delivered or invoiced: F1 cancelled its SAP order.
    CancelOrder,
    /// The deal changed after its order (lost or reopened after a delivery, or lines edited): the
    /// opportunity is flagged `Needs review` for a person.
    OrderNeedsReview,
    /// What the record maps to equals what was last written.
    SkipUnchanged,
    /// F2 found nothing Salesforce owns that differs in SAP.
    SkipNoChanges,
    /// The sf-writer's mapping writes nothing for this row.
    SkipNoTarget,
    /// The row is outside the mapping's `sap_filter` (e.g. a supplier when only customers sync), or the
    /// Salesforce record outside its `salesforce_filter` (e.g. a prospect account).
    SkipFiltered,
    /// The lead is not converted to an account.
    SkipLeadNotConverted,
    /// The contact belongs to no account.
    SkipContactWithoutAccount,
    /// The case is closed.
    SkipClosedCase,
    /// The case's account has no SAP customer yet.
    SkipAccountNotInSap,
    /// The same change was processed before (idempotency record).
    SkipDuplicate,
    /// A retryable failure: the message returns to its queue.
    Retry,
    /// F2: an account deleted in Salesforce, or merged into one with another partner: its business
    /// partner was deactivated (Valid tNO, Frozen tYES, the reason in FrozenRemarks), never deleted.
    DeactivateBusinessPartner,
    /// F2: a merge's winner without a partner took over the loser's (its CardCode moved to the winner).
    MovePartnerLink,
    /// F2: a contact deleted or merged away in Salesforce: its SAP contact person made inactive.
    DeactivateContactPerson,
    /// F1: the deal's lines were edited after it was won and its open order, untouched yet, was
    /// updated to match (F1 option `on_lines_edited = "update"`).
    UpdateOrder,
    /// F1 quotes: a synced quote in a trigger status became an SAP sales quotation.
    CreateQuotation,
    /// F1 quotes: a quotation already carrying the quote id was found and linked.
    LinkExistingQuotation,
    /// F1 quotes: the quote's lines changed and its open quotation was updated to match.
    UpdateQuotation,
    /// F1 quotes: the quote is not sent (quotes off, not the synced quote, or not in a trigger status).
    SkipQuoteNotSent,
    /// A permanent failure: the message went to the DLQ.
    DeadLetter,
    /// An operator moved the message from the DLQ back to its queue.
    Redrive,
    /// An operator re-enqueued the record.
    Replay,
    /// The reconciler re-enqueued the record to repair a difference.
    ReconcileRepair,
    /// An operator paused the stack's sync (`b1force pause`: schedules and event source mappings off).
    Pause,
    /// An operator resumed it (`b1force resume`).
    Resume,
    /// A reconciliation run finished (`ops:reconcile`: its period, exceptions and report).
    Reconcile,
    /// `b1force link` wrote the link between a record and its existing twin on the other side.
    LinkExisting,
}

impl AuditAction {
    /// Every action, in the order the trail's story usually runs.
    pub const ALL: [AuditAction; 41] = [
        AuditAction::Receive,
        AuditAction::CreateOrder,
        AuditAction::LinkExistingOrder,
        AuditAction::LinkExisting,
        AuditAction::CreateBusinessPartner,
        AuditAction::UpdateBusinessPartner,
        AuditAction::EnrichCase,
        AuditAction::Resync,
        AuditAction::Write,
        AuditAction::SkipMissing,
        AuditAction::SkipNotVisible,
        AuditAction::SkipNotWon,
        AuditAction::SkipAlreadyLinked,
        AuditAction::OrderDraftPending,
        AuditAction::CancelOrder,
        AuditAction::OrderNeedsReview,
        AuditAction::SkipUnchanged,
        AuditAction::SkipNoChanges,
        AuditAction::SkipNoTarget,
        AuditAction::SkipFiltered,
        AuditAction::SkipLeadNotConverted,
        AuditAction::SkipContactWithoutAccount,
        AuditAction::SkipClosedCase,
        AuditAction::SkipAccountNotInSap,
        AuditAction::SkipDuplicate,
        AuditAction::Retry,
        AuditAction::DeactivateBusinessPartner,
        AuditAction::MovePartnerLink,
        AuditAction::DeactivateContactPerson,
        AuditAction::UpdateOrder,
        AuditAction::CreateQuotation,
        AuditAction::LinkExistingQuotation,
        AuditAction::UpdateQuotation,
        AuditAction::SkipQuoteNotSent,
        AuditAction::DeadLetter,
        AuditAction::Redrive,
        AuditAction::Replay,
        AuditAction::ReconcileRepair,
        AuditAction::Pause,
        AuditAction::Resume,
        AuditAction::Reconcile,
    ];

    /// The stored name, e.g. `create_order`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Receive => "receive",
            AuditAction::CreateOrder => "create_order",
            AuditAction::LinkExistingOrder => "link_existing_order",
            AuditAction::LinkExisting => "link_existing",
            AuditAction::CreateBusinessPartner => "create_business_partner",
            AuditAction::UpdateBusinessPartner => "update_business_partner",
            AuditAction::EnrichCase => "enrich_case",
            AuditAction::Resync => "resync",
            AuditAction::Write => "write",
            AuditAction::SkipMissing => "skip_missing",
            AuditAction::SkipNotVisible => "skip_not_visible",
            AuditAction::SkipNotWon => "skip_not_won",
            AuditAction::SkipAlreadyLinked => "skip_already_linked",
            AuditAction::OrderDraftPending => "order_draft_pending",
            AuditAction::CancelOrder => "cancel_order",
            AuditAction::OrderNeedsReview => "order_needs_review",
            AuditAction::SkipUnchanged => "skip_unchanged",
            AuditAction::SkipNoChanges => "skip_no_changes",
            AuditAction::SkipNoTarget => "skip_no_target",
            AuditAction::SkipFiltered => "skip_filtered",
            AuditAction::SkipLeadNotConverted => "skip_lead_not_converted",
            AuditAction::DeactivateBusinessPartner => "deactivate_business_partner",
            AuditAction::MovePartnerLink => "move_partner_link",
            AuditAction::DeactivateContactPerson => "deactivate_contact_person",
            AuditAction::UpdateOrder => "update_order",
            AuditAction::CreateQuotation => "create_quotation",
            AuditAction::LinkExistingQuotation => "link_existing_quotation",
            AuditAction::UpdateQuotation => "update_quotation",
            AuditAction::SkipQuoteNotSent => "skip_quote_not_sent",
            AuditAction::SkipContactWithoutAccount => "skip_contact_without_account",
            AuditAction::SkipClosedCase => "skip_closed_case",
            AuditAction::SkipAccountNotInSap => "skip_account_not_in_sap",
            AuditAction::SkipDuplicate => "skip_duplicate",
            AuditAction::Retry => "retry",
            AuditAction::DeadLetter => "dead_letter",
            AuditAction::Redrive => "redrive",
            AuditAction::Replay => "replay",
            AuditAction::ReconcileRepair => "reconcile_repair",
            AuditAction::Pause => "pause",
            AuditAction::Resume => "resume",
            AuditAction::Reconcile => "reconcile",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit item: one attempt at one record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub record_key: String,
    pub at: EpochMillis,
    pub correlation_id: String,
    pub direction: Direction,
    pub action: AuditAction,
    pub outcome: Outcome,
    pub source_version: Option<String>,
    pub payload_digest: Option<String>,
    pub error_code: Option<String>,
    pub error_class: Option<ErrorClass>,
    pub error: Option<String>,
    /// The target's id when something was written (e.g. SAP DocEntry).
    pub target_id: Option<String>,
}

impl AuditEntry {
    /// An operator's or the reconciler's action on a record that succeeded (a redrive, a replay, a
    /// repair enqueued): no error, no digest, no target.
    pub fn action_done(
        record_key: String,
        at: EpochMillis,
        correlation_id: String,
        direction: Direction,
        action: AuditAction,
        source_version: Option<String>,
    ) -> Self {
        Self {
            record_key,
            at,
            correlation_id,
            direction,
            action,
            outcome: Outcome::Succeeded,
            source_version,
            payload_digest: None,
            error_code: None,
            error_class: None,
            error: None,
            target_id: None,
        }
    }
}

/// The audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, entry: &AuditEntry) -> Result<()>;
    /// Every attempt for a record, oldest first.
    async fn for_record(&self, record_key: &str) -> Result<Vec<AuditEntry>>;
    /// Failed attempts (Retrying, DeadLettered, Rejected) and skips that hide a problem
    /// ([`NOTABLE_SKIPS`]) at or after `since`, newest first, at most `limit` of them.
    async fn failures_since(&self, since: EpochMillis, limit: Option<usize>) -> Result<Vec<AuditEntry>>;
}

/// The outcomes [`AuditLog::failures_since`] returns.
pub const FAILURE_OUTCOMES: [Outcome; 3] = [Outcome::Retrying, Outcome::DeadLettered, Outcome::Rejected];

/// Skips [`AuditLog::failures_since`] returns too: nothing failed, but a record was not synced
/// for a reason someone must look at.
pub const NOTABLE_SKIPS: [AuditAction; 1] = [AuditAction::SkipNotVisible];

impl AuditEntry {
    /// True for what `b1force audit --failures` shows: a failure, or a notable skip.
    pub fn is_failure(&self) -> bool {
        FAILURE_OUTCOMES.contains(&self.outcome)
            || (self.outcome == Outcome::Skipped && NOTABLE_SKIPS.contains(&self.action))
    }
}

/// A secret value that never prints.
pub type Secret = secrecy::SecretString;

/// Where a client's credential comes from, read again when a login with the one in hand is refused:
/// a rotated secret must not be taken for a broken set-up before it was read afresh.
#[async_trait]
pub trait CredentialSource: Send + Sync {
    /// The credential as the store holds it now (never a cached copy).
    async fn reread(&self) -> Result<Secret>;
}

/// Whether two credentials differ (compared without either reaching a log line).
pub fn credential_changed(held: &Secret, fresh: &Secret) -> bool {
    use secrecy::ExposeSecret;
    held.expose_secret() != fresh.expose_secret()
}

/// Secrets by name.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn get(&self, name: &str) -> Result<Secret>;
}

/// F1: the customer and the sales order of a won opportunity.
#[async_trait]
pub trait SapOrders: Send + Sync {
    /// True when the business partner exists.
    async fn business_partner_exists(&self, card_code: &CardCode) -> Result<bool>;
    async fn create_business_partner(&self, bp: &NewBusinessPartner) -> Result<()>;
    /// The sales order carrying this opportunity id (UDF or NumAtCard), else its order draft
    /// awaiting or refused approval, if any.
    async fn find_order_for_opportunity(&self, opportunity: &SalesforceId) -> Result<Option<SapOrderFor>>;
    /// Creates the order; under an approval procedure SAP saves a draft instead, which is returned.
    async fn create_order(&self, order: &NewSalesOrder) -> Result<SapOrderFor>;
    /// Replaces the open order's lines (and delivery date) with `order`'s (the deal's lines edited
    /// after it was won); lines left out are removed.
    async fn replace_order_lines(&self, doc_entry: i64, order: &NewSalesOrder) -> Result<()>;
    /// The order with this DocEntry as it stands (`None` when SAP has no such order).
    async fn order_state(&self, doc_entry: i64) -> Result<Option<OrderState>>;
    /// Cancels an open order nothing was copied from (`POST Orders(n)/Cancel`).
    async fn cancel_order(&self, doc_entry: i64) -> Result<()>;
    /// The sales quotation carrying this quote id (`U_SF_QuoteId`), if any.
    async fn find_quotation_for_quote(&self, quote: &SalesforceId) -> Result<Option<crate::domain::QuotationState>>;
    /// Creates a sales quotation for `quote` from the quote's lines (built as a sales order is).
    async fn create_quotation(&self, quote: &SalesforceId, lines: &NewSalesOrder) -> Result<crate::domain::OrderRef>;
    /// The quotation with this DocEntry as it stands (`None` when SAP has no such quotation).
    async fn quotation_state(&self, doc_entry: i64) -> Result<Option<crate::domain::QuotationState>>;
    /// Replaces an open quotation's lines (and valid-until date) with the quote's.
    async fn replace_quotation_lines(&self, doc_entry: i64, lines: &NewSalesOrder) -> Result<()>;
}

/// F2: business partners as mapped records.
#[async_trait]
pub trait SapPartners: Send + Sync {
    /// The business partner with only `select` properties (all when empty); `None` when it does not exist.
    async fn business_partner(&self, card_code: &CardCode, select: &[String]) -> Result<Option<Record>>;
    /// Creates a business partner from a mapped record carrying `CardCode`; when that code exists
    /// already (a replay or a race), the record is applied to it as [`SapPartners::patch_business_partner`].
    async fn create_business_partner_record(&self, record: &Record) -> Result<()>;
    /// PATCHes a business partner (never PUT). Contacts without `InternalCode` are matched to existing
    /// ones by `U_SF_ContactId`, addresses without `RowNum` by `AddressName` + `AddressType`, so they
    /// update in place instead of being inserted twice (one extra GET when some need matching).
    async fn patch_business_partner(&self, card_code: &CardCode, record: &Record) -> Result<()>;
}

/// F3 and the credit-memo refresh: a customer's billing context.
#[async_trait]
pub trait SapBilling: Send + Sync {
    /// Open invoices, overdue amount (`today` is `YYYY-MM-DD`), last payment, open orders.
    async fn billing_context(&self, card_code: &CardCode, today: &str) -> Result<crate::domain::BillingContext>;
    /// The open invoices of these customers, read in bulk: (CardCode, invoice).
    async fn open_invoices_of(&self, card_codes: &[CardCode]) -> Result<Vec<(String, crate::domain::OpenInvoice)>>;
}

/// The live lookups a rep's screen asks for.
#[async_trait]
pub trait SapLookups: Send + Sync {
    /// Limit, balance, open orders, frozen; `None` when the partner does not exist.
    async fn credit_status(&self, card_code: &CardCode) -> Result<Option<crate::domain::CreditStatus>>;
    /// Price on `price_list` and stock over all warehouses; `None` when the item does not exist.
    async fn item_availability(
        &self,
        item_code: &crate::domain::ItemCode,
        price_list: i32,
    ) -> Result<Option<crate::domain::ItemAvailability>>;
}

/// Everything the Salesforce → SAP flows ask of SAP (F1 orders, F2 partners, F3 billing).
pub trait SapApi: SapOrders + SapPartners + SapBilling {}

impl<T: SapOrders + SapPartners + SapBilling> SapApi for T {}

/// What F1 reads of each opportunity besides what it always needs (stage, account, close date, and
/// each line's product, quantity and price): the fields its mapping names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpportunityRead {
    /// Opportunity field API names.
    pub fields: Vec<String>,
    /// OpportunityLineItem field API names.
    pub line_fields: Vec<String>,
}

/// A read of Salesforce records by id: one SOQL query per 200 ids.
#[derive(Debug, Clone, Copy)]
pub struct RecordQuery<'a> {
    pub object: &'a str,
    /// Field API names, relationship paths allowed (`Account.SAP_CardCode__c`).
    pub fields: &'a [String],
    /// One child relationship subquery, e.g. `Contacts` on Account.
    pub child: Option<ChildQuery<'a>>,
}

/// A child relationship subquery.
#[derive(Debug, Clone, Copy)]
pub struct ChildQuery<'a> {
    /// The relationship name (`Contacts`).
    pub relationship: &'a str,
    pub fields: &'a [String],
}

/// What the sap-writer reads from Salesforce: a batch's records, and a resync's changed ids.
#[async_trait]
pub trait SalesforceReads: Send + Sync {
    /// Opportunities with account, line items and the `read` fields, one query for up to 200 ids.
    /// Missing ids are absent.
    async fn opportunities(&self, ids: &[SalesforceId], read: &OpportunityRead) -> Result<Vec<OpportunitySnapshot>>;
    /// Quotes with account, lines (with F1's mapped `line_fields`) and their quotation link, one
    /// query for up to 200 ids. Missing ids are absent.
    async fn quotes(&self, ids: &[SalesforceId], line_fields: &[String]) -> Result<Vec<crate::domain::QuoteSnapshot>>;
    /// Records of one object by id (missing ids are absent), with `Id` always included.
    async fn records(&self, query: &RecordQuery<'_>, ids: &[SalesforceId]) -> Result<Vec<Record>>;
    /// Ids of the object's records modified at or after `since` (GAP_OVERFLOW resync), oldest first.
    async fn changed_since(&self, object: &str, since: EpochMillis) -> Result<Vec<SalesforceId>>;
    /// Ids of Closed Won opportunities without any SAP sync status, modified in `[since, until)`
    /// (the lost-event sweep), oldest first.
    async fn won_without_status(&self, since: EpochMillis, until: EpochMillis) -> Result<Vec<SalesforceId>>;
    /// Those of these accounts that are deleted (in the recycle bin, read through `queryAll`).
    async fn deleted_accounts(&self, ids: &[SalesforceId]) -> Result<Vec<DeletedRecord>>;
    /// The deleted accounts merged into `master` (their `MasterRecordId`).
    async fn merged_into(&self, master: &SalesforceId) -> Result<Vec<DeletedRecord>>;
    /// Those of these contacts that are deleted, with their account's CardCode.
    async fn deleted_contacts(&self, ids: &[SalesforceId]) -> Result<Vec<DeletedRecord>>;
    /// Every record of `object` with these fields (`b1force link` reads all accounts), page after page.
    async fn all_records(&self, object: &str, fields: &[&str]) -> Result<Vec<Record>>;
}

/// A deleted account or contact: who it was merged into (a merge's loser), and the CardCode of the
/// account (the contact's account) when it had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedRecord {
    pub id: SalesforceId,
    pub master: Option<SalesforceId>,
    pub card_code: Option<String>,
}

/// What the Salesforce → SAP flows write back to Salesforce, one record at a time.
#[async_trait]
pub trait SalesforceUpdates: Send + Sync {
    /// Sets the account's `SAP_CardCode__c`.
    async fn set_account_card_code(&self, account: &SalesforceId, card_code: &CardCode) -> Result<()>;
    /// PATCHes fields of one record (tagged with our client id, so its CDC echo is dropped).
    async fn update_record(&self, object: &str, id: &SalesforceId, fields: &Record) -> Result<()>;
}

/// What the sf-writer reads from SAP: current rows by key, many keys per request.
#[async_trait]
pub trait SapRows: Send + Sync {
    /// The rows of `entity` whose `key` property is one of `keys` (integers for `DocEntry`), with the
    /// `select` properties plus the key; keys that do not exist are absent. At most
    /// [`crate::sap::KEYS_PER_READ`] keys go into one request.
    async fn rows_by_key(&self, entity: &str, key: &str, keys: &[String], select: &[String]) -> Result<Vec<Record>>;
}

/// What a Bulk API 2.0 ingest job does to each row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BulkOperation {
    /// Upsert by the external id field every row carries.
    Upsert { object: String, external_id: String },
    /// Update by the `Id` every row carries.
    Update { object: String },
}

impl BulkOperation {
    /// The column that names a row in the job's results.
    pub fn key_column(&self) -> &str {
        match self {
            BulkOperation::Upsert { external_id, .. } => external_id,
            BulkOperation::Update { .. } => "Id",
        }
    }

    pub fn object(&self) -> &str {
        match self {
            BulkOperation::Upsert { object, .. } | BulkOperation::Update { object } => object,
        }
    }
}

/// A finished ingest job: the rows that failed (by their key column's value, with Salesforce's
/// error) and the rows it never processed. Every other row was written.
#[derive(Debug, Default)]
pub struct BulkJobOutcome {
    pub job_id: String,
    pub processed: u64,
    pub failed: Vec<(String, crate::error::Error)>,
    pub unprocessed: Vec<String>,
}

/// Salesforce Bulk API 2.0 ingest jobs for backfills (`crate::salesforce::bulk2`): a few calls per
/// job of up to 100 MB of CSV rows, where sObject Collections spends one call per 200 records.
#[async_trait]
pub trait BulkIngest: Send + Sync {
    /// Creates an Open job; its id is what a killed run would need to find it again.
    async fn open_job(&self, operation: &BulkOperation) -> Result<String>;
    /// Uploads the job's one CSV and closes the job, which starts its processing.
    async fn upload_and_close(&self, job_id: &str, csv: &bytes::Bytes) -> Result<()>;
    /// Waits until the job finished and reads its failed and unprocessed rows. A job that failed as a
    /// whole is `BULK_JOB_FAILED` (a configuration error: every row failed for one reason).
    async fn finish(&self, job_id: &str, operation: &BulkOperation) -> Result<BulkJobOutcome>;
    /// Aborts a job that is still Open (nothing of it is processed); finished ones are left as they are.
    async fn abandon(&self, job_id: &str) -> Result<()>;
}

/// One record's result in a many-record Salesforce write (in request order): its id, or why
/// Salesforce rejected it (`Error::Salesforce` with the record's `statusCode`).
pub type RecordWrite = Result<String>;

/// What the sf-writer writes to Salesforce: sObject Collections, 200 records per call,
/// allOrNone=false, tagged with our client id; the echo is recognised by the tag where Salesforce
/// honours it and by the [`WriteLedger`] where it does not.
#[async_trait]
pub trait SalesforceWrites: Send + Sync {
    /// Upserts records of `object` by the external id field `external_id` (each record carries it).
    async fn upsert_many(&self, object: &str, external_id: &str, records: &[Record]) -> Result<Vec<RecordWrite>>;
    /// Updates records of `object` by `Id` (each record carries it).
    async fn update_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>>;
    /// Creates records of `object`.
    async fn create_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>>;
    /// The standard price book's id (cached after the first read).
    async fn standard_pricebook(&self) -> Result<SalesforceId>;
    /// Existing entries of `pricebook` for these products: product id -> entry id.
    async fn pricebook_entries(
        &self,
        pricebook: &SalesforceId,
        products: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, SalesforceId>>;
    /// Deletes records by id; an id already deleted counts as done (a retried call).
    async fn delete_many(&self, ids: &[SalesforceId]) -> Result<Vec<RecordWrite>>;
    /// Active entries of `pricebook` for the products with these `SAP_ItemCode__c`: item code -> entry id.
    async fn entries_by_item_code(
        &self,
        pricebook: &SalesforceId,
        item_codes: &[String],
    ) -> Result<HashMap<String, SalesforceId>>;
    /// These orders' price books and products (those with an `SAP_Line_Key__c`); missing orders are absent.
    async fn order_products(&self, orders: &[SalesforceId]) -> Result<Vec<OrderProducts>>;
    /// Open cases of the accounts with these CardCodes: (CardCode, case id).
    async fn open_cases(&self, card_codes: &[CardCode]) -> Result<Vec<(String, SalesforceId)>>;
    /// Open opportunities of the accounts with these CardCodes, with their owners.
    async fn open_deals(&self, card_codes: &[CardCode]) -> Result<Vec<OpenDeal>>;
    /// Publishes one platform event (`POST sobjects/<event>`, never retried: a second POST would
    /// publish twice); the id Salesforce answers.
    async fn publish_event(&self, event: &str, fields: &Record) -> Result<String>;
    /// API usage from the last response's `Sforce-Limit-Info`: (used, max).
    fn api_usage(&self) -> Option<(u64, u64)>;
    /// Asks Salesforce for the current usage (`GET /limits`), e.g. after the last reading was low:
    /// the allocation is a rolling 24 h window, so it recovers without our calls.
    async fn refresh_api_usage(&self) -> Result<Option<(u64, u64)>>;
}

/// A Salesforce Order's price book and the products it holds, by their SAP line key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderProducts {
    pub order: SalesforceId,
    pub pricebook: Option<SalesforceId>,
    pub products: Vec<OrderProduct>,
}

/// One product of a Salesforce Order that came from an SAP line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderProduct {
    pub id: SalesforceId,
    /// `SAP_Line_Key__c`: `Orders/<DocEntry>/<LineNum>`.
    pub line_key: String,
    /// The product's `SAP_ItemCode__c`.
    pub item_code: Option<String>,
}

/// An open opportunity of a customer and who owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDeal {
    pub card_code: String,
    pub opportunity: SalesforceId,
    pub owner: String,
}

/// Starts a queue's consumer now rather than at its next schedule: the sf-writer drains
/// `to-salesforce.fifo` when woken through its wake queue (the schedule is the safety net).
#[async_trait]
pub trait Wake: Send + Sync {
    /// Asks for one drain soon; several wakes close together start one drain.
    async fn wake(&self) -> Result<()>;
}

/// Wall-clock time, injectable so tests control expiry.
pub trait Clock: Send + Sync {
    fn now_millis(&self) -> EpochMillis;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> EpochMillis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

/// F8: what the reconciler reads from SAP, whole sets at a time in pages as large as the Service
/// Layer gives (`Prefer: odata.maxpagesize`), never record by record. By-key reads come from [`SapRows`].
#[async_trait]
pub trait SapReconcileReads: SapRows {
    /// Documents of `entity` (`Invoices`, `CreditNotes`, `IncomingPayments`) dated `from` to `to`
    /// (`YYYY-MM-DD`, both inclusive), with the `select` properties plus `DocEntry`, in DocEntry order.
    async fn documents_dated(&self, entity: &str, from: &str, to: &str, select: &[String]) -> Result<Vec<Record>>;
    /// Open documents of `entity` due from `from` (inclusive) to `to` (exclusive), `YYYY-MM-DD`, with
    /// the `select` properties plus `DocEntry`, in DocEntry order: what turned overdue in between.
    async fn open_documents_due(&self, entity: &str, from: &str, to: &str, select: &[String]) -> Result<Vec<Record>>;
    /// Documents of `entity` cancelled and dated from `from` (`YYYY-MM-DD`, inclusive), with `DocEntry`,
    /// in DocEntry order: payments carry no change stamps, so their cancellations are looked for.
    async fn cancelled_since(&self, entity: &str, from: &str) -> Result<Vec<Record>>;
    /// Every open document of `entity` (`DocumentStatus` bost_Open), with the `select` properties
    /// plus `DocEntry`, in DocEntry order.
    async fn open_documents(&self, entity: &str, select: &[String]) -> Result<Vec<Record>>;
    /// Every row of a master-data entity set (`BusinessPartners`, `Items`), with the `select`
    /// properties plus `key`, in key order.
    async fn all_rows(&self, entity: &str, key: &str, select: &[String]) -> Result<Vec<Record>>;
    /// The Service Layer root record links start with (`https://host:50000/b1s/v2/`).
    fn service_root(&self) -> String;
    /// API requests sent so far (logins excluded).
    fn requests_sent(&self) -> u64;
}

/// Only records whose date `field` lies between `from` and `to` (`YYYY-MM-DD`, both inclusive).
#[derive(Debug, Clone, Copy)]
pub struct DateRange<'a> {
    pub field: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// A bulk read of the Salesforce records that carry an SAP key.
#[derive(Debug, Clone, Copy)]
pub struct KeyedRead<'a> {
    pub object: &'a str,
    /// The external id field holding the SAP key (`SAP_CardCode__c`); records without one are left out.
    pub key_field: &'a str,
    /// Only keys starting with this (`Invoices/`), when set.
    pub key_prefix: Option<&'a str>,
    /// Fields besides `Id` and the key.
    pub fields: &'a [String],
    pub dated: Option<DateRange<'a>>,
}

/// F8: what the reconciler reads from Salesforce: SOQL answers followed through `nextRecordsUrl`.
#[async_trait]
pub trait SalesforceReconcileReads: Send + Sync {
    /// Every record `read` selects, `Id` and the key field always included.
    async fn keyed_records(&self, read: &KeyedRead<'_>) -> Result<Vec<Record>>;
    /// The records of `object` whose `key_field` is one of `keys` (one query per 200 keys); absent keys are absent.
    async fn records_by_key(
        &self,
        object: &str,
        key_field: &str,
        keys: &[String],
        fields: &[String],
    ) -> Result<Vec<Record>>;
    /// The won opportunities whose close date lies in `closed` (its `field` is `CloseDate`), with
    /// `Id`, `Amount` and `fields`.
    async fn won_opportunities(&self, closed: DateRange<'_>, fields: &[String]) -> Result<Vec<Record>>;
    /// The org's instance URL, where record pages live (logs in when there is no session yet).
    async fn instance_url(&self) -> Result<String>;
    /// REST requests sent so far (token requests excluded).
    fn requests_sent(&self) -> u64;
}

/// Where F8's report files go (S3, or a local folder on the embedded backends).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores `body` under the relative `name` (`2026-11-01_2026-11-25/<run>.html`); returns where it
    /// went (`s3://bucket/key`, a file path).
    async fn put(&self, name: &str, content_type: &str, body: &[u8]) -> Result<String>;
}

/// Where F8's short summary is announced (SNS, or kept in memory on the embedded backends).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, subject: &str, message: &str) -> Result<()>;
}

/// What our writers last wrote to Salesforce records, so the sf-receiver can tell an untagged
/// echo from someone else's change (issue #12 item 8, [`crate::domain::echo`]). Keys are
/// [`crate::domain::RecordKey`] strings (`sf:Opportunity:006…`).
#[async_trait]
pub trait WriteLedger: Send + Sync {
    /// Adds what was just written (at `now`) to each record to what is still remembered of it, and
    /// remembers the sum until `expires_at`.
    async fn remember(
        &self,
        written: &[(String, crate::domain::echo::WrittenFields)],
        now: EpochMillis,
        expires_at: EpochMillis,
    ) -> Result<()>;
    /// What is remembered of `record_key` at `now` (nothing once expired).
    async fn written(&self, record_key: &str, now: EpochMillis) -> Result<Option<crate::domain::echo::WrittenFields>>;
}

/// What pollers and writers remember between runs. Record keys are [`crate::domain::RecordKey`] strings
/// (`sf:Account:001…`, `sap:BusinessPartners:C20000`), so keys of different entities never collide.
#[async_trait]
pub trait SyncState: Send + Sync {
    /// The content hash we last wrote to `record_key` in `direction`.
    async fn last_hash(&self, record_key: &str, direction: Direction) -> Result<Option<String>>;
    /// Remembers the content hash just written to `record_key` in `direction` (at epoch ms `at`).
    async fn put_hash(&self, record_key: &str, direction: Direction, hash: &str, at: EpochMillis) -> Result<()>;
    /// How far the poller of `entity` has read.
    async fn watermark(&self, entity: &str) -> Result<Option<Watermark>>;
    /// Moves the watermark to `to` if that is forward, decided atomically by the store; returns whether it
    /// moved (false: the stored one is already there or past it). `Error::Invalid` for a malformed watermark.
    async fn advance_watermark(&self, entity: &str, to: &Watermark) -> Result<bool>;
    /// The instant a completed run of `entity`'s poller began: every change before it has been read.
    async fn caught_up_at(&self, entity: &str) -> Result<Option<EpochMillis>>;
    /// Records that a run of `entity`'s poller begun at `at` read every change; a later instant
    /// stays (decided atomically by the store).
    async fn record_caught_up(&self, entity: &str, at: EpochMillis) -> Result<()>;
    /// Links a Salesforce record and a SAP record both ways at once. Linking the same pair again is a no-op;
    /// re-pointing either side is `Error::Invalid` and writes nothing.
    async fn link(&self, salesforce_key: &str, sap_key: &str) -> Result<()>;
    /// Moves the SAP record's link from one Salesforce record to another (a merge's loser to its
    /// winner), in one step; moving it again is a no-op. `Error::Invalid` (writing nothing) when the
    /// SAP record is linked to a third record or `to` to another SAP record.
    async fn move_link(&self, from: &str, to: &str, sap_key: &str) -> Result<()>;
    /// The SAP record linked to a Salesforce record.
    async fn sap_key_for(&self, salesforce_key: &str) -> Result<Option<String>>;
    /// The Salesforce record linked to a SAP record.
    async fn salesforce_key_for(&self, sap_key: &str) -> Result<Option<String>>;
    /// Takes (or renews) the lease `name` until epoch ms `until` when it is free, expired or already
    /// `owner`'s; `Err(Error::InProgress)` when someone else holds it.
    async fn acquire_lease(&self, name: &str, owner: &str, now: EpochMillis, until: EpochMillis) -> Result<Lease>;
    /// Gives the lease up; does nothing unless `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()>;
}

/// One page of changed rows to read.
#[derive(Debug, Clone)]
pub struct ChangeQuery<'a> {
    pub entity: &'a EntitySpec,
    pub start: &'a Start,
    /// At most this many rows.
    pub limit: u32,
    /// Only the rows the mapping's `sap_filter` admits (sent in `$filter`).
    pub only: &'a crate::domain::polled::RowFilter,
    /// Properties read besides the entity's own fields (a backfill reads what the mapping writes).
    pub also_select: &'a [String],
}

/// Rows in paging order, and whether more may follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangePage {
    pub rows: Vec<Record>,
    pub more: bool,
}

/// Reads changed SAP rows; the Service Layer implementation is in `crate::sap`.
#[async_trait]
pub trait SapChanges: Send + Sync {
    /// One page of rows from `query.start` on, ordered by (UpdateDate, UpdateTime, key) or by DocEntry,
    /// carrying the key, the stamp and the entity's fields.
    async fn changed(&self, query: &ChangeQuery<'_>) -> Result<ChangePage>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audit_action_is_stored_under_its_name_and_read_back() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        for action in AuditAction::ALL {
            let stored = serde_json::to_value(action).unwrap();
            assert_eq!(stored, serde_json::json!(action.as_str()));
            assert_eq!(serde_json::from_value::<AuditAction>(stored).unwrap(), action);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len(), "names are distinct");
        assert!(serde_json::from_value::<AuditAction>(serde_json::json!("drop_table")).is_err());
    }
}
