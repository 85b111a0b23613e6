//! The whole system in one process: both sandboxes as real HTTP servers on 127.0.0.1, the real
//! SAP and Salesforce clients talking to them, and the embedded twins of the AWS services.
//! Used by `b1force demo`, `b1force invoke`, the end-to-end tests and the benchmark.

use sandbox::salesforce::ChangeRecord;
use sandbox::{FaultConfig, SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::{SalesforceConfig, SapConfig};
use shared::embedded::{
    EmbeddedAudit, EmbeddedIdempotency, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSyncState, EmbeddedWriteLedger,
};
use shared::engine::backfill::{Backfill, BackfillSettings};
use shared::engine::drain::{DrainStats, drain};
use shared::engine::poller::{PollReport, Poller, PollerSettings};
use shared::engine::sap_writer::SapWriter;
use shared::engine::sf_receiver::Receiver;
use shared::engine::sf_writer::{SfWriter, SfWriterSettings, WriterRun};
use shared::flows::WriterSettings;
use shared::flows::link::Linker;
use shared::mapping::file::MappingFile;
use shared::ports::{AuditLog, Clock, IdempotencyStore, Queue, SyncState, SystemClock, WriteLedger};
use shared::salesforce::SalesforceClient;
use shared::sap::SapClient;
use shared::wiring::backends::{self, Backends, QueueName};
use std::sync::Arc;

/// How to set the local stack up.
pub struct LocalOptions {
    pub clock: Arc<dyn Clock>,
    pub writer: WriterSettings,
    /// SQS visibility timeout of the embedded `to-sap.fifo`; failed messages return after it.
    pub visibility_timeout_secs: u32,
    /// Deliveries before a message moves to the DLQ (SQS maxReceiveCount).
    pub max_receive_count: u32,
    pub sap_faults: FaultConfig,
    pub salesforce_faults: FaultConfig,
    /// Start the Salesforce sandbox as a multi-currency org (`CurrencyIsoCode` exists).
    pub salesforce_multi_currency: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            writer: WriterSettings::default(),
            visibility_timeout_secs: 0,
            max_receive_count: 10,
            sap_faults: FaultConfig::default(),
            salesforce_faults: FaultConfig::default(),
            salesforce_multi_currency: false,
        }
    }
}

/// Everything running, with handles to inspect it.
pub struct LocalStack {
    pub sap_sandbox: SapSandbox,
    pub sf_sandbox: SalesforceSandbox,
    pub sap: Arc<SapClient>,
    pub salesforce: Arc<SalesforceClient>,
    pub clock: Arc<dyn Clock>,
    pub to_sap: Arc<EmbeddedQueue>,
    pub to_sap_dlq: Arc<EmbeddedQueue>,
    /// SAP → Salesforce work (sap-poller → sf-writer) and its DLQ.
    pub to_salesforce: Arc<EmbeddedQueue>,
    pub to_salesforce_dlq: Arc<EmbeddedQueue>,
    pub idempotency: Arc<EmbeddedIdempotency>,
    pub audit: Arc<EmbeddedAudit>,
    pub state: Arc<EmbeddedSyncState>,
    /// What the writers wrote to Salesforce; the receiver reads it to recognise untagged echoes.
    pub written: Arc<EmbeddedWriteLedger>,
    pub mapping: Arc<MappingFile>,
    pub settings: WriterSettings,
}

impl LocalStack {
    /// Starts both sandboxes on free ports and wires clients and embedded backends to them.
    pub async fn start(options: LocalOptions) -> anyhow::Result<Self> {
        let sap_sandbox = SapSandbox::start(SapOptions::default()).await?;
        let sf_sandbox = SalesforceSandbox::start(SalesforceOptions {
            multi_currency: options.salesforce_multi_currency,
            ..SalesforceOptions::default()
        })
        .await?;
        sap_sandbox.faults().set(options.sap_faults);
        sf_sandbox.faults().set(options.salesforce_faults);
        let sap = Arc::new(SapClient::new(sap_config(&sap_sandbox))?);
        let salesforce = Arc::new(SalesforceClient::new(salesforce_config(&sf_sandbox))?);
        let clock = options.clock;
        let queue_pair = |name: &str, visibility_timeout_secs: u32| {
            let dead_letters = Arc::new(EmbeddedQueue::new(
                &format!("b1force-{name}-dlq.fifo"),
                EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None },
                clock.clone(),
            ));
            let queue = Arc::new(EmbeddedQueue::new(
                &format!("b1force-{name}.fifo"),
                EmbeddedQueueOptions {
                    visibility_timeout_secs,
                    max_receive_count: Some(options.max_receive_count),
                    dead_letter: Some(dead_letters.clone()),
                },
                clock.clone(),
            ));
            (queue, dead_letters)
        };
        let (to_sap, to_sap_dlq) = queue_pair("to-sap", options.visibility_timeout_secs);
        // The sf-writer holds a whole round in flight, so its queue hides received messages for
        // longer than a round takes, as the deployed queue does (900 s).
        let (to_salesforce, to_salesforce_dlq) = queue_pair("to-salesforce", 900);
        Ok(Self {
            sap_sandbox,
            sf_sandbox,
            sap,
            salesforce,
            clock,
            to_sap,
            to_sap_dlq,
            to_salesforce,
            to_salesforce_dlq,
            idempotency: Arc::new(EmbeddedIdempotency::new()),
            audit: Arc::new(EmbeddedAudit::new()),
            state: Arc::new(EmbeddedSyncState::new()),
            written: Arc::new(EmbeddedWriteLedger::new()),
            mapping: Arc::new(MappingFile::shipped()),
            settings: options.writer,
        })
    }

    /// The sap-writer (F1–F3) on these backends.
    pub fn writer(&self) -> SapWriter {
        backends::sap_writer(self, self.settings.clone()).expect(EVERY_PORT)
    }

    /// The sap-poller on these backends (a 10-minute lookback, pages of 1000).
    pub fn poller(&self) -> Poller {
        backends::sap_poller(self, PollerSettings::default()).expect(EVERY_PORT)
    }

    /// `b1force link`'s linker on these backends.
    pub fn linker(&self) -> Linker {
        Linker {
            sap_changes: self.sap.clone(),
            sap_partners: self.sap.clone(),
            salesforce_reads: self.salesforce.clone(),
            salesforce_writes: self.salesforce.clone(),
            audit: self.audit.clone(),
            mapping: self.mapping.clone(),
            clock: self.clock.clone(),
            page_size: 1000,
        }
    }

    /// A backfill on these backends.
    pub fn backfill(&self, settings: BackfillSettings) -> Backfill {
        backends::backfill(self, settings).expect(EVERY_PORT)
    }

    /// The sf-writer on these backends.
    pub fn sf_writer(&self, settings: SfWriterSettings) -> SfWriter {
        backends::sf_writer(self, settings).expect(EVERY_PORT)
    }

    /// Polls every SAP entity the sf-writer handles, parents first, then runs the sf-writer until
    /// the queue is empty or it stops (budget, limit).
    pub async fn sync_from_sap(&self, settings: SfWriterSettings) -> shared::Result<(Vec<PollReport>, WriterRun)> {
        let poller = self.poller();
        let mut polls = Vec::new();
        for entity in shared::domain::polled::POLLED_ENTITIES {
            polls.push(poller.run(entity, "local").await?);
        }
        let run = self.sf_writer(settings).run(self.clock.now_millis() + 3_600_000).await?;
        Ok((polls, run))
    }

    /// The reconciler (F8) on these backends: reports into `reports`, announcements kept by `notifier`.
    pub fn reconciler(
        &self,
        reports: Arc<dyn shared::ports::ReportStore>,
        notifier: Arc<dyn shared::ports::Notifier>,
    ) -> shared::flows::f8_reconcile::Reconciler {
        backends::reconciler(self, reports, notifier).expect(EVERY_PORT)
    }

    /// The sf-receiver on these backends.
    pub fn receiver(&self) -> Receiver<'_> {
        Receiver {
            to_sap: self.to_sap.as_ref(),
            audit: self.audit.as_ref(),
            clock: self.clock.as_ref(),
            client_tag: shared::ECHO_CLIENT_TAG,
            written: Some(self.written.as_ref()),
        }
    }

    /// Runs the writer over `to-sap.fifo` until it is empty (or `max_batches` ran).
    pub async fn drain(&self, max_batches: u64) -> shared::Result<DrainStats> {
        drain(self.to_sap.as_ref(), &self.writer(), self.clock.as_ref(), 60_000, 0, max_batches).await
    }
}

/// The local stack builds every port, so building an engine from it cannot fail.
const EVERY_PORT: &str = "the local stack has every port";

impl Backends for LocalStack {
    fn sap(&self) -> shared::Result<Arc<SapClient>> {
        Ok(self.sap.clone())
    }

    fn salesforce(&self) -> shared::Result<Arc<SalesforceClient>> {
        Ok(self.salesforce.clone())
    }

    fn queue(&self, name: QueueName) -> shared::Result<Arc<dyn Queue>> {
        Ok(match name {
            QueueName::ToSap => self.to_sap.clone(),
            QueueName::ToSapDlq => self.to_sap_dlq.clone(),
            QueueName::ToSalesforce => self.to_salesforce.clone(),
            QueueName::ToSalesforceDlq => self.to_salesforce_dlq.clone(),
        })
    }

    fn idempotency(&self) -> shared::Result<Arc<dyn IdempotencyStore>> {
        Ok(self.idempotency.clone())
    }

    fn audit(&self) -> shared::Result<Arc<dyn AuditLog>> {
        Ok(self.audit.clone())
    }

    fn sync_state(&self) -> shared::Result<Arc<dyn SyncState>> {
        Ok(self.state.clone())
    }

    fn write_ledger(&self) -> shared::Result<Arc<dyn WriteLedger>> {
        Ok(self.written.clone())
    }

    fn mapping(&self) -> shared::Result<Arc<MappingFile>> {
        Ok(self.mapping.clone())
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

/// Client settings for the SAP sandbox.
pub fn sap_config(sap: &SapSandbox) -> SapConfig {
    SapConfig {
        base_url: sap.base_url(),
        company_db: sap.company_db().to_string(),
        user: sap.user().to_string(),
        password: SecretString::from(sap.password().to_string()),
        ca_bundle_pem: None,
        order_reference_udf: Some("U_SF_OpportunityId".into()),
        page_size: 500,
        timeout_secs: 30,
    }
}

/// Client settings for the Salesforce sandbox.
pub fn salesforce_config(sf: &SalesforceSandbox) -> SalesforceConfig {
    SalesforceConfig {
        login_url: sf.login_url(),
        client_id: sf.client_id().to_string(),
        client_secret: SecretString::from(sf.client_secret().to_string()),
        api_version: "63.0".into(),
        call_options_client: shared::ECHO_CLIENT_TAG.into(),
        timeout_secs: 30,
        bulk_threshold: shared::config::DEFAULT_BULK_THRESHOLD,
        bulk_wait_secs: 240,
    }
}

/// An Opportunity UPDATE to Closed Won as Event Relay delivers it to EventBridge.
pub fn opportunity_change_event(
    opportunity_id: &str,
    change_type: &str,
    change_origin: &str,
    commit_ms: i64,
    transaction_key: &str,
) -> Value {
    let header = json!({
        "entityName": "Opportunity",
        "recordIds": [opportunity_id],
        "changeType": change_type,
        "changeOrigin": change_origin,
        "transactionKey": transaction_key,
        "sequenceNumber": 1,
        "commitTimestamp": commit_ms,
        "commitUser": "005SM000000146PYAQ",
        "changedFields": ["StageName", "IsWon", "IsClosed", "LastModifiedDate"]
    });
    relay_envelope("Opportunity", &format!("evt-{transaction_key}"), header, json!({"StageName": "Closed Won"}))
}

/// The CDC event Salesforce emits for a change the sandbox logged.
pub fn change_event(change: &ChangeRecord) -> Value {
    let header = json!({
        "entityName": change.entity,
        "recordIds": [change.record_id],
        "changeType": change.change_type,
        "changeOrigin": change.change_origin,
        "transactionKey": change.transaction_key,
        "sequenceNumber": change.sequence_number,
        "commitTimestamp": change.commit_timestamp,
        "commitNumber": change.commit_number,
        "commitUser": "005SM000000146PYAQ",
        "changedFields": change.changed_fields,
    });
    let event_id = format!("evt-{}-{}", change.transaction_key, change.sequence_number);
    relay_envelope(&change.entity, &event_id, header, Value::Object(change.values.clone()))
}

/// EventBridge envelope of a Salesforce Event Relay delivery: the change event under `detail.payload`.
fn relay_envelope(entity: &str, event_id: &str, header: Value, fields: Value) -> Value {
    let mut payload = fields;
    payload["ChangeEventHeader"] = header;
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": format!("{entity}ChangeEvent"),
        "source": "aws.partner/salesforce.com/00DSM000000Fxts2AC/0YLSM0000004Dfg4AE",
        "account": "123456789012",
        "time": "2026-11-25T10:00:00Z",
        "region": "eu-central-1",
        "resources": [],
        "detail": {"payload": payload}
    })
}
