//! One builder of engines for both sets of backends: AWS (the Lambda functions, [`super::AwsBackends`])
//! and the embedded twins with the sandboxes (the CLI's local stack and the tests). An engine is
//! assembled here once; a backend only says where each port comes from. The builders are generic
//! rather than over `&dyn Backends`, so a function links only the adapters its engine asks for
//! (a vtable would pull in every port of the backend).

use crate::engine::backfill::{Backfill, BackfillSettings};
use crate::engine::poller::{Poller, PollerSettings};
use crate::engine::remember::Remembering;
use crate::engine::sap_writer::SapWriter;
use crate::engine::sf_writer::{SfWriter, SfWriterSettings};
use crate::engine::sweep::{Sweep, SweepSettings};
use crate::error::Result;
use crate::flows::f8_reconcile::Reconciler;
use crate::flows::{ToSap, WriterSettings};
use crate::mapping::file::MappingFile;
use crate::ports::{AuditLog, Clock, IdempotencyStore, Notifier, Queue, ReportStore, SyncState, WriteLedger};
use crate::salesforce::SalesforceClient;
use crate::sap::SapClient;
use std::sync::Arc;

/// The four FIFO queues: work for each direction and its dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueName {
    /// `to-sap.fifo`: Salesforce changes for the sap-writer.
    ToSap,
    /// `to-sap-dlq.fifo`.
    ToSapDlq,
    /// `to-salesforce.fifo`: SAP changes for the sf-writer.
    ToSalesforce,
    /// `to-salesforce-dlq.fifo`.
    ToSalesforceDlq,
}

/// Where the engines' ports come from. A getter fails with a configuration error that names what is
/// missing (a setting, a client this function was not connected to).
pub trait Backends {
    /// The Service Layer client (session reused across calls).
    fn sap(&self) -> Result<Arc<SapClient>>;
    /// The Salesforce REST client.
    fn salesforce(&self) -> Result<Arc<SalesforceClient>>;
    /// One of the queues.
    fn queue(&self, name: QueueName) -> Result<Arc<dyn Queue>>;
    /// Idempotency records.
    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>>;
    /// The audit trail.
    fn audit(&self) -> Result<Arc<dyn AuditLog>>;
    /// Watermarks, content hashes, links and leases.
    fn sync_state(&self) -> Result<Arc<dyn SyncState>>;
    /// What our writers wrote to Salesforce records (echo suppression without a changeOrigin tag).
    fn write_ledger(&self) -> Result<Arc<dyn WriteLedger>>;
    /// The validated mapping file.
    fn mapping(&self) -> Result<Arc<MappingFile>>;
    /// The clock every port and engine agrees on.
    fn clock(&self) -> Arc<dyn Clock>;
}

/// The Salesforce client, noting what it writes so the receiver knows our echoes.
fn remembering<B: Backends + ?Sized>(backends: &B) -> Result<Remembering<SalesforceClient>> {
    Ok(Remembering { inner: backends.salesforce()?, ledger: backends.write_ledger()?, clock: backends.clock() })
}

/// The Salesforce → SAP flows' ports.
pub fn to_sap_flows<B: Backends + ?Sized>(backends: &B, settings: WriterSettings) -> Result<ToSap> {
    Ok(ToSap {
        sap: backends.sap()?,
        salesforce_reads: backends.salesforce()?,
        salesforce_updates: Arc::new(remembering(backends)?),
        state: backends.sync_state()?,
        mapping: backends.mapping()?,
        requeue: backends.queue(QueueName::ToSap)?,
        clock: backends.clock(),
        settings,
    })
}

/// The sap-writer (`to-sap.fifo` → F1–F3).
pub fn sap_writer<B: Backends + ?Sized>(backends: &B, settings: WriterSettings) -> Result<SapWriter> {
    Ok(SapWriter {
        flows: to_sap_flows(backends, settings)?,
        idempotency: backends.idempotency()?,
        audit: backends.audit()?,
        dead_letters: backends.queue(QueueName::ToSapDlq)?,
    })
}

/// The sf-writer (`to-salesforce.fifo` → F4–F7).
pub fn sf_writer<B: Backends + ?Sized>(backends: &B, settings: SfWriterSettings) -> Result<SfWriter> {
    let sap = backends.sap()?;
    Ok(SfWriter {
        sap: sap.clone(),
        billing: sap,
        salesforce: Arc::new(remembering(backends)?),
        queue: backends.queue(QueueName::ToSalesforce)?,
        dead_letters: backends.queue(QueueName::ToSalesforceDlq)?,
        audit: backends.audit()?,
        state: backends.sync_state()?,
        mapping: backends.mapping()?,
        clock: backends.clock(),
        settings,
        fault: Default::default(),
    })
}

/// A backfill: SAP pages into Salesforce Bulk API 2.0 jobs; retries and follow-ups on
/// `to-salesforce.fifo`, permanent failures on its DLQ.
pub fn backfill<B: Backends + ?Sized>(backends: &B, settings: BackfillSettings) -> Result<Backfill> {
    Ok(Backfill {
        sap: backends.sap()?,
        bulk: backends.salesforce()?,
        queue: backends.queue(QueueName::ToSalesforce)?,
        dead_letters: backends.queue(QueueName::ToSalesforceDlq)?,
        audit: backends.audit()?,
        state: backends.sync_state()?,
        mapping: backends.mapping()?,
        clock: backends.clock(),
        settings,
    })
}

/// The sap-poller (SAP changes → `to-salesforce.fifo`).
pub fn sap_poller<B: Backends + ?Sized>(backends: &B, mut settings: PollerSettings) -> Result<Poller> {
    let mapping = backends.mapping()?;
    for entity_set in ["BusinessPartners", "Items"] {
        let only = mapping.sap_filter(entity_set);
        if !only.is_empty() {
            settings.row_filters.insert(entity_set.to_string(), only);
        }
    }
    if !crate::mapping::f1::quotes_on(&mapping) {
        settings.switched_off.insert("Quotations".into(), "quotes are off (F1 quote_statuses is empty)".into());
    }
    Ok(Poller {
        sap: backends.sap()?,
        queue: backends.queue(QueueName::ToSalesforce)?,
        dead_letters: backends.queue(QueueName::ToSalesforceDlq)?,
        audit: backends.audit()?,
        state: backends.sync_state()?,
        clock: backends.clock(),
        settings,
    })
}

/// The reconciler (F8). Without a sync state it still reports; its repairs then fail with that reason.
pub fn reconciler<B: Backends + ?Sized>(
    backends: &B,
    reports: Arc<dyn ReportStore>,
    notifier: Arc<dyn Notifier>,
) -> Result<Reconciler> {
    Ok(Reconciler {
        sap: backends.sap()?,
        salesforce: backends.salesforce()?,
        to_salesforce: backends.queue(QueueName::ToSalesforce)?,
        to_sap: backends.queue(QueueName::ToSap)?,
        audit: backends.audit()?,
        state: backends.sync_state().ok(),
        reports,
        notifier,
        mapping: backends.mapping()?,
        clock: backends.clock(),
        progress: None,
    })
}

/// The lost-event sweep: Salesforce reads, `to-sap.fifo`, its window in the sync state, the audit trail.
pub fn sweep<B: Backends + ?Sized>(backends: &B, settings: SweepSettings) -> Result<Sweep> {
    Ok(Sweep {
        salesforce: backends.salesforce()?,
        to_sap: backends.queue(QueueName::ToSap)?,
        state: backends.sync_state()?,
        audit: backends.audit()?,
        clock: backends.clock(),
        settings,
    })
}
