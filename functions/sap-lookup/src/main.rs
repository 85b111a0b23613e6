//! sap-lookup Lambda (Function URL): live, read-only credit and item lookups against SAP for a rep
//! quoting in Salesforce. The SAP session, the signing key and the answer cache live per container.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let lookups = shared::wiring::lookups(&sdk, &shared::config::Env).await?;
    let lookups = &lookups;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(lookups.handle(&event.payload).await.to_function_url())
    }))
    .await
}
