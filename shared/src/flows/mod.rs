//! The flows, one module each: what a record's change means for the other system. Each is a function
//! over the ports it needs ([`ToSap`] for the Salesforce → SAP flows) returning an [`Applied`]
//! outcome; the engines claim, batch, retry and audit around them. No flow imports another.
//!
//! - [`f1_orders`]: a Closed Won opportunity becomes an SAP sales order.
//! - [`f1_quotes`]: F1's quotes — a synced quote becomes an SAP sales quotation (it shares F1's
//!   status words with `f1_orders`, the one import between flow modules).
//! - [`f2_partners`]: an account (or its contact, or a converted lead) becomes a business partner.
//! - [`f3_cases`]: a case gets its customer's SAP billing context.
//! - [`resync`]: a GAP_OVERFLOW re-reads a whole object.
//! - F4–F7 (SAP → Salesforce) are write plans from the mapping file ([`crate::mapping::plan`]) that
//!   the sf-writer engine applies.
//! - [`f8_reconcile`]: SAP vs Salesforce for a period, exception report, repair by re-enqueueing.

pub mod f1_orders;
pub mod f1_quotes;
pub mod f2_partners;
pub mod f3_cases;
pub mod f8_reconcile;
pub mod link;
pub mod resync;

use crate::mapping::file::MappingFile;
use crate::ports::{AuditAction, Clock, Queue, SalesforceReads, SalesforceUpdates, SapApi, SyncState};
use std::sync::Arc;

/// Knobs for the Salesforce → SAP flows.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Create a BP for an account without `SAP_CardCode__c` (else: a permanent mapping error).
    pub auto_create_customers: bool,
    /// Prefix of derived CardCodes for auto-created BPs.
    pub card_code_prefix: String,
    /// How long a COMPLETED idempotency record keeps duplicates out.
    pub completed_ttl_secs: i64,
    /// `to-sap.fifo`'s `maxReceiveCount`: the writer settles a message itself before the redrive
    /// policy would move it unaudited.
    pub deliveries: crate::domain::redelivery::Deliveries,
    /// A message is hidden this long before its DLQ send (longer than an invocation, shorter than the
    /// DLQ's 5-minute deduplication window), so a second send after a crash is dropped there.
    pub dead_letter_hold_secs: u32,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            auto_create_customers: true,
            card_code_prefix: "SF".into(),
            completed_ttl_secs: 7 * 24 * 3600,
            deliveries: Default::default(),
            dead_letter_hold_secs: 120,
        }
    }
}

/// The ports the Salesforce → SAP flows (F1–F3, resync) work with.
#[derive(Clone)]
pub struct ToSap {
    pub sap: Arc<dyn SapApi>,
    /// The sap-writer's batch reads and a resync's changed ids.
    pub salesforce_reads: Arc<dyn SalesforceReads>,
    /// What the flows write back (CardCodes, order links, case context).
    pub salesforce_updates: Arc<dyn SalesforceUpdates>,
    /// Content hashes and cross-references (echo suppression, identity).
    pub state: Arc<dyn SyncState>,
    /// The field mapping.
    pub mapping: Arc<MappingFile>,
    /// `to-sap.fifo` itself: a resync fans out into per-record notifications here.
    pub requeue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub settings: WriterSettings,
}

impl ToSap {
    /// A customer to create is created in SAP (unless it exists: two deals of one new account may
    /// race here, and the loser finds the winner's BP) and its CardCode written to the account.
    pub async fn create_customer_if_new(&self, customer: &crate::mapping::f1::Customer) -> crate::error::Result<()> {
        let crate::mapping::f1::Customer::Create(bp) = customer else {
            return Ok(());
        };
        if !self.sap.business_partner_exists(&bp.card_code).await?
            && let Err(err) = self.sap.create_business_partner(bp).await
            && !self.sap.business_partner_exists(&bp.card_code).await?
        {
            return Err(err);
        }
        self.salesforce_updates.set_account_card_code(&bp.salesforce_account_id, &bp.card_code).await
    }
}

/// What a flow did to the target system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// A new SAP order was created (and written back).
    Created { doc_entry: i64 },
    /// An SAP order for this opportunity already existed; it was (re)linked.
    Linked { doc_entry: i64 },
    /// Nothing to do (not won, already linked, deleted, unchanged).
    Skipped,
    /// A record other than an order was created or updated in the target (a BP, a Case's fields).
    Written,
    /// A whole-object resync re-enqueued this many record notifications.
    Resynced { notifications: usize },
}

/// What a flow did with one record: the outcome, the audited action, and the target's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub done: Done,
    pub action: AuditAction,
    pub target: Option<String>,
}

impl Applied {
    /// A flow's result.
    pub fn new(done: Done, action: AuditAction, target: Option<String>) -> Self {
        Self { done, action, target }
    }
}
