//! sf-receiver Lambda: Salesforce changes → notifications on `to-sap.fifo`, from CDC via Event Relay
//! or AppFlow (EventBridge) and from the Function URL (`/webhook`, `/outbound-message`).
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
        Ok::<_, Error>(deps.ingress().handle(&event.payload).await?)
    }))
    .await
}
