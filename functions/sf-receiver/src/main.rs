//! sf-receiver Lambda: Salesforce CDC from Event Relay (EventBridge) → notifications on `to-sap.fifo`.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::wiring::ReceiverDeps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let deps = ReceiverDeps::from_env(&sdk, &shared::config::Env)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = deps.receiver().receive(&event.payload).await?;
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
