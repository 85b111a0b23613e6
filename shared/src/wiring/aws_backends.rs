//! [`Backends`] on AWS, from the Lambda function's environment: SQS queues, DynamoDB tables,
//! Secrets Manager, and the SAP and Salesforce clients the function was connected to.

use super::backends::{Backends, QueueName};
use super::{ApiClients, published_mapping, salesforce_client, sap_client};
use crate::aws::{DynamoAudit, DynamoIdempotency, DynamoSyncState, SecretsManagerStore, SqsQueue};
use crate::config::{Source, parse_or, required};
use crate::engine::wake::WakingQueue;
use crate::error::{Error, Result};
use crate::mapping::file::MappingFile;
use crate::ports::{AuditLog, Clock, IdempotencyStore, Queue, SyncState, SystemClock, WriteLedger};
use crate::salesforce::SalesforceClient;
use crate::sap::SapClient;
use std::sync::Arc;

/// The ports of one Lambda function on AWS. Settings are read when a port is asked for, so a
/// function needs only the settings of the ports it uses.
pub struct AwsBackends<'a> {
    sdk: aws_config::SdkConfig,
    src: &'a dyn Source,
    sap: Arc<SapClient>,
    salesforce: Option<Arc<SalesforceClient>>,
    mapping: Arc<MappingFile>,
}

impl<'a> AwsBackends<'a> {
    /// Loads the mapping ([`published_mapping`]) and builds the SAP client, reading its secret from
    /// Secrets Manager (once per container). A published mapping version refused for errors is logged
    /// and counted as a `ConfigurationError` of `function` (the alarm), while the function runs on
    /// the previous valid version.
    pub async fn connect(sdk: &aws_config::SdkConfig, src: &'a dyn Source, function: &str) -> Result<Self> {
        let loaded = published_mapping(sdk, src).await?;
        for (version, errors) in &loaded.refused {
            tracing::error!(version = %version, errors = %errors, running = ?loaded.version, "published mapping refused");
        }
        if !loaded.refused.is_empty() {
            crate::telemetry::functions::mapping_refused(function, loaded.refused.len()).emit(SystemClock.now_millis());
        }
        let sap = Arc::new(sap_client(Arc::new(Self::secrets(sdk)), src).await?);
        Ok(Self { sdk: sdk.clone(), src, sap, salesforce: None, mapping: Arc::new(loaded.mapping) })
    }

    /// Adds the Salesforce client (the writers, the reconciler). A separate step, so that functions
    /// that never reach Salesforce do not link its client at all.
    pub async fn with_salesforce(mut self) -> Result<Self> {
        self.salesforce = Some(Arc::new(salesforce_client(Arc::new(Self::secrets(&self.sdk)), self.src).await?));
        Ok(self)
    }

    fn secrets(sdk: &aws_config::SdkConfig) -> SecretsManagerStore {
        SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(sdk))
    }

    /// The clients, whose counters give each invocation's API calls.
    pub fn api_clients(&self) -> ApiClients {
        ApiClients {
            sap: Some(self.sap.as_ref().clone()),
            salesforce: self.salesforce.as_ref().map(|client| client.as_ref().clone()),
        }
    }

    fn sqs(&self, url_setting: &str) -> Result<SqsQueue> {
        Ok(SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), required(self.src, url_setting)?))
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }
}

impl Backends for AwsBackends<'_> {
    fn sap(&self) -> Result<Arc<SapClient>> {
        Ok(self.sap.clone())
    }

    fn salesforce(&self) -> Result<Arc<SalesforceClient>> {
        self.salesforce
            .clone()
            .ok_or_else(|| Error::Config("this function was built without a Salesforce client".into()))
    }

    fn queue(&self, name: QueueName) -> Result<Arc<dyn Queue>> {
        Ok(match name {
            QueueName::ToSap => Arc::new(self.sqs("TO_SAP_QUEUE_URL")?),
            QueueName::ToSapDlq => Arc::new(self.sqs("TO_SAP_DLQ_URL")?),
            QueueName::ToSalesforce => Arc::new(WakingQueue {
                queue: self.sqs("TO_SALESFORCE_QUEUE_URL")?,
                wake: super::sf_writer_wake(&self.sdk, self.src),
            }),
            QueueName::ToSalesforceDlq => Arc::new(self.sqs("TO_SALESFORCE_DLQ_URL")?),
        })
    }

    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>> {
        Ok(Arc::new(DynamoIdempotency::new(self.dynamodb(), required(self.src, "IDEMPOTENCY_TABLE")?)))
    }

    fn audit(&self) -> Result<Arc<dyn AuditLog>> {
        let retention_days: u64 = parse_or(self.src, "AUDIT_RETENTION_DAYS", 90)?;
        let table = required(self.src, "AUDIT_TABLE")?;
        Ok(Arc::new(DynamoAudit::new(self.dynamodb(), table, Some(retention_days * 86_400))))
    }

    fn sync_state(&self) -> Result<Arc<dyn SyncState>> {
        Ok(Arc::new(DynamoSyncState::new(self.dynamodb(), required(self.src, "SYNC_STATE_TABLE")?)))
    }

    fn write_ledger(&self) -> Result<Arc<dyn WriteLedger>> {
        Ok(Arc::new(DynamoSyncState::new(self.dynamodb(), required(self.src, "SYNC_STATE_TABLE")?)))
    }

    fn mapping(&self) -> Result<Arc<MappingFile>> {
        Ok(self.mapping.clone())
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}
