//! reconciler Lambda (F8): run by EventBridge Scheduler, daily with `{"period": "month_to_date"}` and
//! on the 1st with `{"period": "previous_month"}` (or `{"from", "to"}`, plus `"repair": true`).
//! Compares SAP and Salesforce for the period, stores the report in S3, publishes a summary to SNS
//! when there are exceptions, and re-enqueues differing records when asked to repair.
//!
//! `{"aging": true}` (daily, `AgingSchedule`) re-sends the open invoices that turned overdue since
//! the last run, so payment statuses follow time (`shared::flows::f8_reconcile::aging`).
//! `{"sweep": true}` (every `SweepSchedule`) runs the lost-event sweep instead
//! (`shared::engine::sweep`): Salesforce changes no event brought are enqueued for the sap-writer.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;
use shared::engine::sweep::Sweep;
use shared::flows::f8_reconcile::{ReconRequest, Reconciler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let (reconciler, sweep) = &shared::wiring::reconciler_and_sweep(&sdk, &Env).await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| async move { handle(event, reconciler, sweep).await },
    ))
    .await
}

async fn handle(event: LambdaEvent<Value>, reconciler: &Reconciler, sweep: &Sweep) -> Result<Value, Error> {
    let now = reconciler.clock.now_millis();
    if event.payload == serde_json::json!({"aging": true}) {
        let report = reconciler.age(&event.context.request_id).await?;
        tracing::info!(invoices = report.invoices, since = %report.since, until = %report.until, "invoices aged");
        return Ok(serde_json::to_value(&report)?);
    }
    if event.payload == serde_json::json!({"sweep": true}) {
        let report = sweep.run(&event.context.request_id).await?;
        shared::telemetry::functions::sweep(&report).emit(now);
        return Ok(serde_json::to_value(&report)?);
    }
    let request = ReconRequest::from_event(&event.payload, &shared::domain::date_of(now))?;
    let outcome = reconciler.run(&request).await?;
    shared::telemetry::functions::reconciler(&outcome.report).emit(reconciler.clock.now_millis());
    Ok(outcome.summary())
}
