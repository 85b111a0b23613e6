//! sf-receiver Lambda: Salesforce changes → notifications on `to-sap.fifo`, from CDC via Event Relay
//! or AppFlow (EventBridge) and from the Function URL (`/webhook`, `/outbound-message`).
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::ports::{Clock, SystemClock};
use shared::telemetry::functions::sf_receiver;
use shared::wiring::ReceiverDeps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let deps = ReceiverDeps::from_env(&sdk, &shared::config::Env)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (result, tally) = deps.ingress().handle_tallied(&event.payload).await;
        if result.is_ok() {
            deps.note_cdc_arrival(&event.payload).await;
        }
        sf_receiver(&tally).emit(SystemClock.now_millis());
        Ok::<_, Error>(result?)
    }))
    .await
}
