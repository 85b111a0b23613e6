//! sap-poller Lambda: one EventBridge Scheduler schedule per entity delivers `{"entity": "..."}` as
//! is (no envelope); each run enqueues that entity's SAP changes on `to-salesforce.fifo`.
//! Clients and the SAP session are built once per container; the handler is one call.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::aws::{DynamoSyncState, SqsQueue};
use shared::config::{Env, Source, parse_or, required};
use shared::ports::SystemClock;
use shared::sync::poller::{Poller, PollerSettings};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let poller = &poller(&sdk).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move { handle(event, poller).await })).await
}

/// `TO_SALESFORCE_QUEUE_URL`, `SYNC_STATE_TABLE`, `SAP_*`; optional `POLL_INITIAL_DATE` (2000-01-01),
/// `POLL_LOOKBACK_SECONDS` (600), `POLL_PAGE_SIZE` (1000), `POLL_MAX_PAGES` (200), `POLL_LEASE_SECONDS` (900).
async fn poller(sdk: &aws_config::SdkConfig) -> shared::Result<Poller> {
    let defaults = PollerSettings::default();
    let settings = PollerSettings {
        initial_date: Env.var("POLL_INITIAL_DATE").unwrap_or(defaults.initial_date),
        lookback_secs: parse_or(&Env, "POLL_LOOKBACK_SECONDS", defaults.lookback_secs)?,
        page_size: parse_or(&Env, "POLL_PAGE_SIZE", defaults.page_size)?,
        lease_secs: parse_or(&Env, "POLL_LEASE_SECONDS", defaults.lease_secs)?,
        max_pages: parse_or(&Env, "POLL_MAX_PAGES", defaults.max_pages)?,
    };
    Ok(Poller {
        sap: Arc::new(shared::wiring::sap_client_from_env(sdk, &Env).await?),
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), required(&Env, "TO_SALESFORCE_QUEUE_URL")?)),
        state: Arc::new(DynamoSyncState::new(aws_sdk_dynamodb::Client::new(sdk), required(&Env, "SYNC_STATE_TABLE")?)),
        clock: Arc::new(SystemClock),
        settings,
    })
}

async fn handle(event: LambdaEvent<Value>, poller: &Poller) -> Result<Value, Error> {
    let entity = event.payload.get("entity").and_then(Value::as_str).ok_or("the input has no \"entity\"")?;
    let report = poller.run(entity, &event.context.request_id).await?;
    Ok(report.to_json())
}
