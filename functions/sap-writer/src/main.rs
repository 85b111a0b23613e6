//! sap-writer Lambda: `to-sap.fifo` batches → F1 (Closed Won opportunity → SAP sales order).
//! Clients, the SAP session and secrets are built once per container; the handler is one call.
#![forbid(unsafe_code)]

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::sync::sap_writer::SapWriter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let writer = shared::wiring::sap_writer(&sdk, &shared::config::Env).await?;
    let writer = &writer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle(event, writer).await)
    }))
    .await
}

async fn handle(event: LambdaEvent<SqsEvent>, writer: &SapWriter) -> SqsBatchResponse {
    let deadline = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
    let batch = shared::sync::sap_writer::from_sqs(event.payload);
    let outcome = writer.process_batch(&batch, deadline).await;
    shared::sync::sap_writer::batch_response(outcome.failures)
}
