//! sap-lookup Lambda (Function URL): live, read-only credit and item lookups against SAP for a rep
//! quoting in Salesforce. The SAP session, the signing key and the answer cache live per container.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::engine::lookup::Lookups;
use shared::ports::{Clock, SystemClock};
use shared::telemetry::functions::sap_lookup;
use shared::wiring::ApiClients;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let (lookups, clients) = &shared::wiring::lookups_counted(&sdk, &shared::config::Env).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(handle(&event.payload, lookups, clients).await)
    }))
    .await
}

async fn handle(request: &Value, lookups: &Lookups, clients: &ApiClients) -> Value {
    let calls_before = clients.sent();
    let response = lookups.handle(request).await;
    sap_lookup(&response, clients.sent().since(calls_before)).emit(SystemClock.now_millis());
    response.to_function_url()
}
