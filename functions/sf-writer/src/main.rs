//! sf-writer Lambda: started by the wake queue's event source mapping (every send to
//! `to-salesforce.fifo` wakes it; the batching window gathers a few seconds of wakes) and by a
//! safety-net schedule. Either event only starts a run, which drains
//! `to-salesforce.fifo` in rounds until it is empty, the Salesforce API budget is low, or the
//! invocation's time is nearly up. It pulls the queue itself rather than through an SQS event
//! source mapping, because FIFO mappings deliver at most 10 messages and Salesforce takes 200 per call.
//! Clients and the SAP session are built once per container; the handler is one call plus metrics.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;
use shared::engine::sf_writer::SfWriter;
use shared::telemetry::functions::sf_writer;
use shared::wiring::ApiClients;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let (writer, clients) = &shared::wiring::sf_writer_counted(&sdk, &Env).await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| async move { handle(event, writer, clients).await },
    ))
    .await
}

async fn handle(event: LambdaEvent<Value>, writer: &SfWriter, clients: &ApiClients) -> Result<Value, Error> {
    let deadline = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
    let calls_before = clients.sent();
    let run = writer.run(deadline).await?;
    let now = writer.clock.now_millis();
    sf_writer(&run, writer.salesforce.api_usage(), clients.sent().since(calls_before)).emit(now);
    Ok(serde_json::to_value(&run)?)
}
