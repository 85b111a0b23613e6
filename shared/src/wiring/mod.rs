//! Builds the Lambda functions' dependencies on real AWS services and real SAP/Salesforce
//! endpoints from the environment. Everything here runs once per container, in `main`.

pub mod aws_backends;
pub mod backends;
pub mod lambda_events;

pub use aws_backends::AwsBackends;
pub use backends::{Backends, QueueName};

use crate::aws::{DynamoAudit, DynamoIdempotency, SecretsManagerStore, SqsQueue};
use crate::config::{SalesforceConfig, SapConfig, Source, required};
use crate::domain::SalesforceId;
use crate::domain::redelivery::Deliveries;
use crate::engine::backfill::{Backfill, BackfillSettings};
use crate::engine::lookup::Lookups;
use crate::engine::poller::{Poller, PollerSettings};
use crate::engine::sap_webhook::B1Webhook;
use crate::engine::sap_writer::{HeldAtInit, SapWriter};
use crate::engine::sf_writer::{SfWriter, SfWriterSettings};
use crate::engine::wake::WakingQueue;
use crate::error::{Error, Result};
use crate::flows::WriterSettings;
use crate::mapping::file::MappingFile;
use crate::ports::CredentialSource;
use crate::ports::{SecretStore, SystemClock};
use crate::salesforce::SalesforceClient;
use crate::sap::SapClient;
use crate::secrets::{CachedSecrets, SecretField, SecretFields};
use crate::telemetry::functions::ApiCalls;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Settings read first, overridden by values fetched from Secrets Manager.
struct Layered<'a> {
    secrets: HashMap<String, String>,
    base: &'a dyn Source,
}

impl Source for Layered<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned().or_else(|| self.base.var(name))
    }
}

/// The JSON secret named by the `id_var` setting, when that setting is present.
async fn secret_fields(store: &dyn SecretStore, src: &dyn Source, id_var: &str) -> Result<Option<SecretFields>> {
    let Some(id) = src.var(id_var) else { return Ok(None) };
    SecretFields::parse(&id, &store.get(&id).await?).map(Some)
}

/// Copies a secret's `field` into the setting `setting`, when both exist.
fn expose(fields: &Option<SecretFields>, field: &str, setting: &str, into: &mut HashMap<String, String>) {
    if let Some(value) = fields.as_ref().and_then(|f| f.optional(field)) {
        into.insert(setting.to_string(), value.expose_secret().to_string());
    }
}

/// The SAP client from `SAP_*` settings; with `SAP_SECRET_ID`, its secret's password wins over
/// `SAP_PASSWORD` and its `ca_bundle_pem` is used when `SAP_CA_BUNDLE` is not set.
/// A refused login re-reads the secret's password before it is believed (a rotation).
pub async fn sap_client(secrets: Arc<dyn SecretStore>, src: &dyn Source) -> Result<SapClient> {
    let sap_secret = secret_fields(secrets.as_ref(), src, "SAP_SECRET_ID").await?;
    let mut fetched = HashMap::new();
    expose(&sap_secret, "password", "SAP_PASSWORD", &mut fetched);
    let mut config = SapConfig::from_source(&Layered { secrets: fetched, base: src })?;
    if config.ca_bundle_pem.is_none() {
        config.ca_bundle_pem = sap_secret
            .as_ref()
            .and_then(|f| f.optional("ca_bundle_pem"))
            .map(|pem| pem.expose_secret().as_bytes().to_vec());
    }
    let client = SapClient::new(config)?;
    Ok(match credential(secrets, src, "SAP_SECRET_ID", "password") {
        Some(source) => client.with_credentials(source),
        None => client,
    })
}

/// The secret field a client re-reads after a refused login, when its settings name a secret.
fn credential(
    secrets: Arc<dyn SecretStore>,
    src: &dyn Source,
    id_var: &str,
    field: &str,
) -> Option<Arc<dyn CredentialSource>> {
    let secret_id = src.var(id_var)?;
    Some(Arc::new(SecretField { store: secrets, secret_id, field: field.into() }))
}

/// The sap-writer on AWS: SQS DLQ, DynamoDB idempotency, audit and sync state, SAP and Salesforce
/// clients. `SF_SECRET_ID` names `{"client_secret"}`. Secrets are read once per container, at init.
pub async fn sap_writer(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<SapWriter> {
    Ok(sap_writer_counted(sdk, src).await?.0)
}

/// [`sap_writer`] and its clients, whose counters give each invocation's API calls.
pub async fn sap_writer_counted(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<(SapWriter, ApiClients)> {
    let aws = AwsBackends::connect(sdk, src, "sap-writer").await?.with_salesforce().await?;
    Ok((backends::sap_writer(&aws, writer_settings(src)?)?, aws.api_clients()))
}

/// What the sap-writer keeps when building it failed for its configuration (see
/// [`crate::engine::sap_writer::HeldAtInit`]): `TO_SAP_QUEUE_URL`, `TO_SAP_DLQ_URL`, `AUDIT_TABLE`,
/// `MAX_RECEIVE_COUNT` only, so a bad mapping file or SAP setting still keeps the work queued.
pub fn sap_writer_held(sdk: &aws_config::SdkConfig, src: &dyn Source, error: Error) -> Result<HeldAtInit> {
    let sqs = |setting: &str| -> Result<Arc<dyn crate::ports::Queue>> {
        Ok(Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), required(src, setting)?)))
    };
    Ok(HeldAtInit {
        queue: sqs("TO_SAP_QUEUE_URL")?,
        dead_letters: sqs("TO_SAP_DLQ_URL")?,
        audit: Arc::new(DynamoAudit::new(
            aws_sdk_dynamodb::Client::new(sdk),
            required(src, "AUDIT_TABLE")?,
            Some(crate::config::parse_or::<u64>(src, "AUDIT_RETENTION_DAYS", 90)? * 86_400),
        )),
        clock: Arc::new(SystemClock),
        deliveries: deliveries(src)?,
        error,
    })
}

/// The Salesforce client from `SF_*` settings, its client secret from `SF_SECRET_ID`.
async fn salesforce_client(secrets: Arc<dyn SecretStore>, src: &dyn Source) -> Result<SalesforceClient> {
    let sf_secret = secret_fields(secrets.as_ref(), src, "SF_SECRET_ID").await?;
    let mut fetched = HashMap::new();
    expose(&sf_secret, "client_secret", "SF_CLIENT_SECRET", &mut fetched);
    let client = SalesforceClient::new(SalesforceConfig::from_source(&Layered { secrets: fetched, base: src })?)?;
    Ok(match credential(secrets, src, "SF_SECRET_ID", "client_secret") {
        Some(source) => client.with_credentials(source),
        None => client,
    })
}

/// The sf-writer with AWS adapters: `TO_SALESFORCE_QUEUE_URL`, `TO_SALESFORCE_DLQ_URL`, `AUDIT_TABLE`,
/// `SYNC_STATE_TABLE`, the SAP and Salesforce settings and secrets as for the sap-writer, and
/// optionally `SF_MIN_API_HEADROOM` (0.1), `SF_WRITER_ROUND_SIZE` (1000), `SF_RETRY_DELAY_SECONDS` (60),
/// `MAX_RECEIVE_COUNT` (the queue's; without it the writer never gives a message up itself).
pub async fn sf_writer(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<SfWriter> {
    Ok(sf_writer_counted(sdk, src).await?.0)
}

/// [`sf_writer`] and its clients, whose counters give each invocation's API calls.
pub async fn sf_writer_counted(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<(SfWriter, ApiClients)> {
    let defaults = SfWriterSettings::default();
    let settings = SfWriterSettings {
        min_headroom: crate::config::parse_or(src, "SF_MIN_API_HEADROOM", defaults.min_headroom)?,
        round_size: crate::config::parse_or(src, "SF_WRITER_ROUND_SIZE", defaults.round_size)?,
        retry_delay_secs: crate::config::parse_or(src, "SF_RETRY_DELAY_SECONDS", defaults.retry_delay_secs)?,
        deliveries: deliveries(src)?,
        ..defaults
    };
    let aws = AwsBackends::connect(sdk, src, "sf-writer").await?.with_salesforce().await?;
    Ok((backends::sf_writer(&aws, settings)?, aws.api_clients()))
}

/// A backfill (`b1force backfill`) with the sf-writer's AWS settings and secrets; `BACKFILL_PAGE_SIZE`
/// (SAP rows per read, default 5000), `BACKFILL_JOB_MB` (CSV megabytes per Bulk API job at most,
/// default 100) and `BACKFILL_CHUNK_ROWS` (rows per chunk of jobs at most, default 200000).
pub async fn backfill(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<(Backfill, ApiClients)> {
    let settings = backfill_settings(src)?;
    let aws = AwsBackends::connect(sdk, src, "backfill").await?.with_salesforce().await?;
    Ok((backends::backfill(&aws, settings)?, aws.api_clients()))
}

/// `BACKFILL_PAGE_SIZE` and `BACKFILL_JOB_MB`, checked.
pub fn backfill_settings(src: &dyn Source) -> Result<BackfillSettings> {
    let defaults = BackfillSettings::default();
    let page_size = crate::config::parse_or(src, "BACKFILL_PAGE_SIZE", defaults.page_size)?;
    let job_mb = crate::config::parse_or(src, "BACKFILL_JOB_MB", defaults.job_bytes / (1024 * 1024))?;
    let max_mb = crate::domain::bulk_csv::MAX_JOB_BYTES / (1024 * 1024);
    let chunk_rows = crate::config::parse_or(src, "BACKFILL_CHUNK_ROWS", defaults.chunk_rows)?;
    if page_size == 0 || chunk_rows == 0 || !(1..=max_mb).contains(&job_mb) {
        return Err(Error::Config(format!(
            "BACKFILL_PAGE_SIZE and BACKFILL_CHUNK_ROWS must be at least 1 and BACKFILL_JOB_MB 1 to {max_mb} \
             (got {page_size}, {chunk_rows}, {job_mb})"
        )));
    }
    Ok(BackfillSettings { page_size, job_bytes: job_mb * 1024 * 1024, chunk_rows, ..defaults })
}

/// The live lookup endpoint: the SAP client plus the signing key named by `LOOKUP_SECRET_ID`;
/// `LOOKUP_CACHE_SECONDS` (default 30) is the answer cache's lifetime.
pub async fn lookups(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<Lookups> {
    Ok(lookups_counted(sdk, src).await?.0)
}

/// [`lookups`] and its SAP client, whose counters give each invocation's API calls.
pub async fn lookups_counted(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<(Lookups, ApiClients)> {
    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(sdk));
    let sap = sap_client(Arc::new(secrets.clone()), src).await?;
    let clients = ApiClients { sap: Some(sap.clone()), salesforce: None };
    let key = secrets.get(&required(src, "LOOKUP_SECRET_ID")?).await?;
    let ttl_secs: i64 = crate::config::parse_or(src, "LOOKUP_CACHE_SECONDS", 30)?;
    Ok((Lookups::new(Arc::new(sap), Arc::new(SystemClock), key, ttl_secs * 1000), clients))
}

/// How many of the newest published mapping versions a cold start tries before it gives up.
pub const MAPPING_VERSIONS_TRIED: usize = 5;

/// The mapping a function runs on, where it came from, and the newer published versions it refused.
pub struct LoadedMapping {
    pub mapping: MappingFile,
    /// The S3 version id, when the mapping was published.
    pub version: Option<String>,
    /// Newer published versions that failed validation, newest first, with their errors.
    pub refused: Vec<(String, crate::mapping::file::MappingErrors)>,
}

/// With `MAPPING_S3_URI` (`s3://bucket/key` in a versioned bucket): the newest published version
/// that validates, trying at most [`MAPPING_VERSIONS_TRIED`]; a newer invalid one is refused and
/// reported, so the previous version keeps running. Never published (or deleted): the shipped
/// defaults. None valid: a configuration error (work stays queued). Without it: [`mapping_file`].
pub async fn published_mapping(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<LoadedMapping> {
    let Some(uri) = src.var("MAPPING_S3_URI").filter(|uri| !uri.is_empty()) else {
        return Ok(LoadedMapping { mapping: mapping_file(src)?, version: None, refused: Vec::new() });
    };
    let store = crate::aws::S3MappingStore::new(crate::aws::s3_client(sdk), &uri)?;
    let versions = store.versions(MAPPING_VERSIONS_TRIED).await?;
    if versions.is_empty() {
        tracing::info!(uri = %store.uri(), "no mapping published; running on the shipped defaults");
        return Ok(LoadedMapping { mapping: MappingFile::shipped(), version: None, refused: Vec::new() });
    }
    let mut refused = Vec::new();
    for version in versions {
        let text = store.read(&version).await?;
        match MappingFile::parse(&text, &format!("{}?versionId={version}", store.uri())) {
            Ok(mapping) => return Ok(LoadedMapping { mapping, version: Some(version), refused }),
            Err(errors) => refused.push((version, errors)),
        }
    }
    let (newest, errors) = &refused[0];
    Err(Error::Config(format!(
        "no valid mapping among the newest {} versions of {}; the newest ({newest}) has:\n{errors}",
        refused.len(),
        store.uri()
    )))
}

/// The mapping file named by `MAPPING_FILE`, else the shipped defaults; validated here, at cold start.
pub fn mapping_file(src: &dyn Source) -> Result<MappingFile> {
    match src.var("MAPPING_FILE") {
        Some(path) => MappingFile::load(std::path::Path::new(&path)).map_err(Error::from),
        None => Ok(MappingFile::shipped()),
    }
}

/// F1 settings: `AUTO_CREATE_CUSTOMERS` (true), `CARD_CODE_PREFIX` (SF).
pub fn writer_settings(src: &dyn Source) -> Result<WriterSettings> {
    let defaults = WriterSettings::default();
    let auto = match src.var("AUTO_CREATE_CUSTOMERS").as_deref() {
        None => defaults.auto_create_customers,
        Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(Error::Config(format!("AUTO_CREATE_CUSTOMERS={other:?} must be true or false"))),
    };
    Ok(WriterSettings {
        auto_create_customers: auto,
        card_code_prefix: src.var("CARD_CODE_PREFIX").unwrap_or(defaults.card_code_prefix),
        deliveries: deliveries(src)?,
        ..defaults
    })
}

/// `MAX_RECEIVE_COUNT`: the writer's queue's `maxReceiveCount` (the template passes its own).
fn deliveries(src: &dyn Source) -> Result<Deliveries> {
    let max_receive_count = match src.var("MAX_RECEIVE_COUNT") {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if n >= 2 => Some(n),
            _ => return Err(Error::Config(format!("MAX_RECEIVE_COUNT={raw:?} must be a whole number of at least 2"))),
        },
    };
    Ok(Deliveries { max_receive_count })
}

/// The sf-receiver's ports on AWS.
pub struct ReceiverDeps {
    pub to_sap: SqsQueue,
    pub audit: DynamoAudit,
    pub clock: SystemClock,
    pub client_tag: String,
    /// Holds the webhook HMAC key, read at most every five minutes.
    pub secrets: CachedSecrets<SecretsManagerStore>,
    /// `WEBHOOK_SECRET_ID`: `/webhook` is enabled only when set.
    pub webhook_secret_id: Option<String>,
    /// `IDEMPOTENCY_TABLE`: webhook replay protection (required with `WEBHOOK_SECRET_ID`).
    pub replays: Option<DynamoIdempotency>,
    /// `SF_ORG_ID`: Outbound Messages from any other org are refused.
    pub org_id: Option<SalesforceId>,
    /// `OUTBOUND_TOKEN_SECRET_ID`: Outbound Messages must carry this secret as `?token=`.
    pub outbound_token_secret_id: Option<String>,
    /// `SYNC_STATE_TABLE`: what our writers wrote, so untagged echoes are dropped (docs/wire-notes.md §8).
    pub written: Option<crate::aws::DynamoSyncState>,
    /// One unauthenticated refusal per minute and container is audited; the rest are only counted.
    pub refusals: crate::ingress::function_url::OncePerInterval,
    /// One CDC arrival per minute and container is noted in the sync state, for the no-CDC alarm.
    pub cdc_arrivals: crate::ingress::function_url::OncePerInterval,
}

impl ReceiverDeps {
    /// Reads `TO_SAP_QUEUE_URL`, `AUDIT_TABLE`, `AUDIT_RETENTION_DAYS`, `SF_CLIENT_TAG`, `SYNC_STATE_TABLE`, and for the
    /// Function URL the optional `WEBHOOK_SECRET_ID` (+ `IDEMPOTENCY_TABLE`) and `SF_ORG_ID`.
    pub fn from_env(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<Self> {
        let retention_days: u64 = crate::config::parse_or(src, "AUDIT_RETENTION_DAYS", 90)?;
        let webhook_secret_id = src.var("WEBHOOK_SECRET_ID").filter(|id| !id.is_empty());
        let replays = match (src.var("IDEMPOTENCY_TABLE"), &webhook_secret_id) {
            (Some(table), _) => Some(DynamoIdempotency::new(aws_sdk_dynamodb::Client::new(sdk), table)),
            (None, Some(_)) => {
                return Err(Error::Config("WEBHOOK_SECRET_ID needs IDEMPOTENCY_TABLE for replay protection".into()));
            }
            (None, None) => None,
        };
        let org_id = src
            .var("SF_ORG_ID")
            .map(|id| SalesforceId::parse(&id).map_err(|e| Error::Config(format!("SF_ORG_ID: {e}"))))
            .transpose()?;
        Ok(Self {
            secrets: CachedSecrets::new(
                SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(sdk)),
                std::time::Duration::from_secs(300),
                Arc::new(SystemClock),
            ),
            webhook_secret_id,
            replays,
            org_id,
            outbound_token_secret_id: src.var("OUTBOUND_TOKEN_SECRET_ID"),
            written: src
                .var("SYNC_STATE_TABLE")
                .map(|table| crate::aws::DynamoSyncState::new(aws_sdk_dynamodb::Client::new(sdk), table)),
            to_sap: SqsQueue::new(aws_sdk_sqs::Client::new(sdk), required(src, "TO_SAP_QUEUE_URL")?),
            audit: DynamoAudit::new(
                aws_sdk_dynamodb::Client::new(sdk),
                required(src, "AUDIT_TABLE")?,
                Some(retention_days * 86_400),
            ),
            clock: SystemClock,
            client_tag: src.var("SF_CLIENT_TAG").unwrap_or_else(|| crate::ECHO_CLIENT_TAG.into()),
            refusals: crate::ingress::function_url::OncePerInterval::every(60_000),
            cdc_arrivals: crate::ingress::function_url::OncePerInterval::every(60_000),
        })
    }

    /// The receiver borrowing these ports.
    pub fn receiver(&self) -> crate::engine::sf_receiver::Receiver<'_> {
        crate::engine::sf_receiver::Receiver {
            to_sap: &self.to_sap,
            audit: &self.audit,
            clock: &self.clock,
            client_tag: &self.client_tag,
            written: self.written.as_ref().map(|w| w as &dyn crate::ports::WriteLedger),
        }
    }

    /// Notes in the sync state that a CDC event arrived (`caught-up#cdc:arrival`), at most once a
    /// minute per container; the lost-event sweep turns its age into the no-CDC alarm's metric. A
    /// failed note is logged only: it must not fail the event it follows.
    pub async fn note_cdc_arrival(&self, event: &serde_json::Value) {
        let is_cdc = event.get("detail-type").and_then(|t| t.as_str()).is_some_and(|t| t.ends_with("ChangeEvent"));
        let Some(state) = self.written.as_ref().filter(|_| is_cdc) else { return };
        let now = crate::ports::Clock::now_millis(&self.clock);
        if !self.cdc_arrivals.take(now) {
            return;
        }
        if let Err(error) =
            crate::ports::SyncState::record_caught_up(state, crate::engine::sweep::CDC_ARRIVAL, now).await
        {
            tracing::warn!(%error, "could not note the CDC arrival; the no-CDC alarm may fire early");
        }
    }

    /// Every delivery path (EventBridge CDC and the Function URL) borrowing these ports.
    pub fn ingress(&self) -> crate::engine::sf_receiver::Ingress<'_> {
        crate::engine::sf_receiver::Ingress {
            receiver: self.receiver(),
            webhook: match (&self.webhook_secret_id, &self.replays) {
                (Some(secret_id), Some(replays)) => {
                    Some(crate::engine::sf_receiver::WebhookAuth { secrets: &self.secrets, secret_id, replays })
                }
                _ => None,
            },
            org_id: self.org_id.as_ref(),
            outbound_token: self
                .outbound_token_secret_id
                .as_deref()
                .map(|secret_id| crate::engine::sf_receiver::OutboundToken { secrets: &self.secrets, secret_id }),
            refusals: Some(&self.refusals),
        }
    }
}

/// [`sap_client`] for tools run by people (`b1force setup sap`): Secrets Manager is reached (with the
/// SDK's usual configuration) only when `SAP_SECRET_ID` is set.
pub async fn sap_client_from_settings(src: &dyn Source) -> Result<SapClient> {
    if src.var("SAP_SECRET_ID").is_none() {
        return SapClient::new(SapConfig::from_source(src)?);
    }
    let sdk = crate::aws::sdk_config().await;
    sap_client(Arc::new(SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&sdk))), src).await
}

/// The Salesforce client for tools run by people (`b1force check`), as [`sap_client_from_settings`]:
/// Secrets Manager is reached only when `SF_SECRET_ID` is set.
pub async fn salesforce_client_from_settings(src: &dyn Source) -> Result<SalesforceClient> {
    if src.var("SF_SECRET_ID").is_none() {
        return SalesforceClient::new(SalesforceConfig::from_source(src)?);
    }
    let sdk = crate::aws::sdk_config().await;
    salesforce_client(Arc::new(SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&sdk))), src).await
}

/// The sap-poller: `TO_SALESFORCE_QUEUE_URL`, `SYNC_STATE_TABLE`, `SAP_*`; optional `POLL_INITIAL_DATE`
/// (2000-01-01), `POLL_LOOKBACK_SECONDS` (600), `POLL_PAGE_SIZE` (1000), `POLL_MAX_PAGES` (200),
/// `POLL_LEASE_SECONDS` (900), `SAP_TIME_ZONE` (UTC: the IANA zone SAP stamps changes in).
pub async fn sap_poller(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<Poller> {
    Ok(sap_poller_counted(sdk, src).await?.0)
}

/// [`sap_poller`] and its SAP client, whose counters give each invocation's API calls.
pub async fn sap_poller_counted(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<(Poller, ApiClients)> {
    use crate::config::parse_or;
    let defaults = PollerSettings::default();
    let settings = PollerSettings {
        initial_date: src.var("POLL_INITIAL_DATE").unwrap_or(defaults.initial_date),
        lookback_secs: parse_or(src, "POLL_LOOKBACK_SECONDS", defaults.lookback_secs)?,
        page_size: parse_or(src, "POLL_PAGE_SIZE", defaults.page_size)?,
        lease_secs: parse_or(src, "POLL_LEASE_SECONDS", defaults.lease_secs)?,
        max_pages: parse_or(src, "POLL_MAX_PAGES", defaults.max_pages)?,
        time_zone: sap_time_zone(src)?,
        row_filters: Default::default(),
        switched_off: Default::default(),
        state_prefix: String::new(),
    };
    let aws = AwsBackends::connect(sdk, src, "sap-poller").await?;
    Ok((backends::sap_poller(&aws, settings)?, aws.api_clients()))
}

/// `SAP_TIME_ZONE`: the IANA zone B1 stamps UpdateDate/UpdateTime in (UTC when unset or empty).
pub fn sap_time_zone(src: &dyn Source) -> Result<crate::domain::sap_time::SapTimeZone> {
    match src.var("SAP_TIME_ZONE").filter(|name| !name.trim().is_empty()) {
        Some(name) => crate::domain::sap_time::SapTimeZone::named(&name),
        None => Ok(crate::domain::sap_time::SapTimeZone::utc()),
    }
}

/// `SF_WRITER_WAKE_QUEUE_URL`: the standard queue whose event source mapping starts the sf-writer
/// (unset: the sf-writer runs on its schedule only).
pub fn sf_writer_wake(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Option<Arc<dyn crate::ports::Wake>> {
    let url = src.var("SF_WRITER_WAKE_QUEUE_URL").filter(|url| !url.trim().is_empty())?;
    Some(Arc::new(crate::aws::SqsWake::new(aws_sdk_sqs::Client::new(sdk), url)))
}

/// How long a warm container reuses the HMAC key; a rotated key is picked up within this time
/// (meanwhile the Messenger's deliveries get 401 and are retried).
const KEY_CACHE: Duration = Duration::from_secs(300);

/// The sap-webhook function's ports on AWS.
pub struct SapWebhookDeps {
    /// Each accepted delivery also wakes the sf-writer (`SF_WRITER_WAKE_QUEUE_URL`, optional).
    pub to_salesforce: WakingQueue<SqsQueue>,
    pub audit: DynamoAudit,
    pub secrets: CachedSecrets<SecretsManagerStore>,
    /// `B1_WEBHOOK_SECRET_ID`: the subscription's `AuthenticationCred` (`{"Key": "...", "Algorithm":
    /// "HMACSha256"}`), or the key as a plain string; see [`crate::ingress::b1_webhook::signing_key`].
    pub secret_id: String,
    pub clock: SystemClock,
}

impl SapWebhookDeps {
    /// Reads `TO_SALESFORCE_QUEUE_URL`, `AUDIT_TABLE`, `B1_WEBHOOK_SECRET_ID` and optionally
    /// `AUDIT_RETENTION_DAYS` (90).
    pub fn from_env(sdk: &aws_config::SdkConfig, src: &dyn Source) -> Result<Self> {
        let retention_days: u64 = crate::config::parse_or(src, "AUDIT_RETENTION_DAYS", 90)?;
        Ok(Self {
            to_salesforce: WakingQueue {
                queue: SqsQueue::new(aws_sdk_sqs::Client::new(sdk), required(src, "TO_SALESFORCE_QUEUE_URL")?),
                wake: sf_writer_wake(sdk, src),
            },
            audit: DynamoAudit::new(
                aws_sdk_dynamodb::Client::new(sdk),
                required(src, "AUDIT_TABLE")?,
                Some(retention_days * 86_400),
            ),
            secrets: CachedSecrets::new(
                SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(sdk)),
                KEY_CACHE,
                Arc::new(SystemClock),
            ),
            secret_id: required(src, "B1_WEBHOOK_SECRET_ID")?,
            clock: SystemClock,
        })
    }

    /// The handler borrowing these ports.
    pub fn webhook(&self) -> B1Webhook<'_> {
        B1Webhook {
            to_salesforce: &self.to_salesforce,
            audit: &self.audit,
            clock: &self.clock,
            secrets: &self.secrets,
            secret_id: &self.secret_id,
        }
    }
}

#[cfg(feature = "reports")]
/// The reconciler (F8) on AWS: `REPORTS_BUCKET`, `REPORTS_PREFIX` (`reconciliation/`),
/// `REPORT_TOPIC_ARN`, `TO_SALESFORCE_QUEUE_URL`, `TO_SAP_QUEUE_URL`, `AUDIT_TABLE`,
/// `AUDIT_RETENTION_DAYS` (90), the SAP and Salesforce settings and secrets as for the writers, and
/// `SYNC_STATE_TABLE`, which runs with `"repair": true` need (without it they fail with that reason).
pub async fn reconciler(
    sdk: &aws_config::SdkConfig,
    src: &dyn Source,
) -> Result<crate::flows::f8_reconcile::Reconciler> {
    let aws = AwsBackends::connect(sdk, src, "reconciler").await?.with_salesforce().await?;
    reconciler_on(&aws, sdk, src)
}

#[cfg(feature = "reports")]
/// The reconciler function's two jobs on one connection: the reconciliation ([`reconciler`]) and
/// the lost-event sweep ([`sweep_settings`]; `SYNC_STATE_TABLE` is required for it).
pub async fn reconciler_and_sweep(
    sdk: &aws_config::SdkConfig,
    src: &dyn Source,
) -> Result<(crate::flows::f8_reconcile::Reconciler, crate::engine::sweep::Sweep)> {
    let aws = AwsBackends::connect(sdk, src, "reconciler").await?.with_salesforce().await?;
    Ok((reconciler_on(&aws, sdk, src)?, backends::sweep(&aws, sweep_settings(src)?)?))
}

/// The sweep's settings: `SWEEP_LAG_MINUTES` (10), `SWEEP_FIRST_WINDOW_MINUTES` (60), and for the
/// no-CDC alarm `BUSINESS_HOURS` (e.g. `Mon-Fri 08:00-18:00`; unset or empty: not measured) in
/// `BUSINESS_TIME_ZONE` (UTC).
pub fn sweep_settings(src: &dyn Source) -> Result<crate::engine::sweep::SweepSettings> {
    let minutes = |name: &str, default: i64| -> Result<i64> {
        let value: i64 = crate::config::parse_or(src, name, default)?;
        if value < 0 {
            return Err(Error::Config(format!("{name} must not be negative")));
        }
        Ok(value * 60_000)
    };
    let business_hours = match src.var("BUSINESS_HOURS").filter(|spec| !spec.trim().is_empty()) {
        Some(spec) => Some(crate::domain::business_hours::BusinessHours::parse(
            &spec,
            &src.var("BUSINESS_TIME_ZONE").unwrap_or_else(|| "UTC".into()),
        )?),
        None => None,
    };
    Ok(crate::engine::sweep::SweepSettings {
        lag_ms: minutes("SWEEP_LAG_MINUTES", 10)?,
        first_window_ms: minutes("SWEEP_FIRST_WINDOW_MINUTES", 60)?,
        business_hours,
    })
}

#[cfg(feature = "reports")]
fn reconciler_on(
    aws: &AwsBackends<'_>,
    sdk: &aws_config::SdkConfig,
    src: &dyn Source,
) -> Result<crate::flows::f8_reconcile::Reconciler> {
    use crate::aws::{S3Reports, SnsNotifier};
    let reports = Arc::new(S3Reports::new(
        S3Reports::client(sdk),
        required(src, "REPORTS_BUCKET")?,
        src.var("REPORTS_PREFIX").unwrap_or_else(|| "reconciliation/".into()),
    ));
    let notifier = Arc::new(SnsNotifier::new(aws_sdk_sns::Client::new(sdk), required(src, "REPORT_TOPIC_ARN")?));
    backends::reconciler(aws, reports, notifier)
}

/// The SAP and Salesforce clients a function was built with (clones share their counters). One
/// Lambda container runs one invocation at a time, so the counters' difference across an
/// invocation is that invocation's calls.
#[derive(Clone, Default)]
pub struct ApiClients {
    pub sap: Option<SapClient>,
    pub salesforce: Option<SalesforceClient>,
}

impl ApiClients {
    /// `(used, max)` daily Salesforce API requests from the last `Sforce-Limit-Info`, once one was seen.
    pub fn salesforce_usage(&self) -> Option<(u64, u64)> {
        self.salesforce.as_ref().and_then(SalesforceClient::api_usage)
    }

    /// HTTP requests sent so far to each system, logins and token requests included.
    pub fn sent(&self) -> ApiCalls {
        ApiCalls {
            sap: self.sap.as_ref().map(|c| c.stats()).map(|s| s.requests + s.logins),
            salesforce: self.salesforce.as_ref().map(|c| c.stats()).map(|s| s.requests + s.token_requests),
        }
    }
}
