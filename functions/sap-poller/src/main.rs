//! sap-poller Lambda: one EventBridge Scheduler schedule per entity delivers `{"entity": "..."}` as
//! is (no envelope); each run enqueues that entity's SAP changes on `to-salesforce.fifo`.
//! Clients and the SAP session are built once per container; the handler is one call plus the
//! invocation's metrics (EMF lines on stdout).
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;
use shared::engine::poller::{PollRequest, Poller};
use shared::telemetry::functions::sap_poller;
use shared::wiring::ApiClients;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let (poller, clients) = &shared::wiring::sap_poller_counted(&sdk, &Env).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<PollRequest>| async move {
        handle(event, poller, clients).await
    }))
    .await
}

async fn handle(event: LambdaEvent<PollRequest>, poller: &Poller, clients: &ApiClients) -> Result<Value, Error> {
    let calls_before = clients.sent();
    let report = poller.run(&event.payload.entity, &event.context.request_id).await?;
    let now = poller.clock.now_millis();
    sap_poller(&report, now, clients.sent().since(calls_before)).emit(now);
    Ok(report.to_json())
}
