//! sap-writer Lambda: `to-sap.fifo` batches → F1 (Closed Won opportunity → SAP sales order).
//! Clients, the SAP session and secrets are built once per container; the handler is one call
//! plus the invocation's metrics (EMF lines on stdout).
#![forbid(unsafe_code)]

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::engine::sap_writer::SapWriter;
use shared::telemetry::functions::sap_writer;
use shared::wiring::ApiClients;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let (writer, clients) = match shared::wiring::sap_writer_counted(&sdk, &shared::config::Env).await {
        Ok(built) => built,
        // A set-up error (an invalid mapping file, a bad setting): keep the work queued, never let
        // the event source's retries carry it to the DLQ unaudited.
        Err(err) if err.is_configuration() => return run_held(&sdk, err).await,
        Err(err) => return Err(err.into()),
    };
    let (writer, clients) = (&writer, &clients);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle(event, writer, clients).await)
    }))
    .await
}

async fn run_held(sdk: &aws_config::SdkConfig, err: shared::Error) -> Result<(), Error> {
    tracing::error!(error = %err, "configuration error at cold start; every message stays queued");
    let held = &shared::wiring::sap_writer_held(sdk, &shared::config::Env, err)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let batch = shared::wiring::lambda_events::from_sqs(event.payload);
        let outcome = held.hold(&batch).await;
        let now = held.clock.now_millis();
        sap_writer(&batch, &outcome, now, Default::default(), None).emit(now);
        Ok::<_, Error>(shared::wiring::lambda_events::batch_response(outcome.failures))
    }))
    .await
}

async fn handle(event: LambdaEvent<SqsEvent>, writer: &SapWriter, clients: &ApiClients) -> SqsBatchResponse {
    let deadline = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
    let batch = shared::wiring::lambda_events::from_sqs(event.payload);
    let calls_before = clients.sent();
    let outcome = writer.process_batch(&batch, deadline).await;
    let now = writer.flows.clock.now_millis();
    let calls = clients.sent().since(calls_before);
    sap_writer(&batch, &outcome, now, calls, clients.salesforce_usage()).emit(now);
    shared::wiring::lambda_events::batch_response(outcome.failures)
}
