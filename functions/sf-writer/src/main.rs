//! sf-writer Lambda: run by an EventBridge Scheduler schedule (every minute); each run drains
//! `to-salesforce.fifo` in rounds until it is empty, the Salesforce API budget is low, or the
//! invocation's time is nearly up. It pulls the queue itself rather than through an SQS event
//! source mapping, because FIFO mappings deliver at most 10 messages and Salesforce takes 200 per call.
//! Clients and the SAP session are built once per container; the handler is one call plus metrics.
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;
use shared::sync::sf_writer::{SfWriter, Stop, WriterRun};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let writer = &shared::wiring::sf_writer(&sdk, &Env).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move { handle(event, writer).await })).await
}

async fn handle(event: LambdaEvent<Value>, writer: &SfWriter) -> Result<Value, Error> {
    let deadline = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
    let run = writer.run(deadline).await?;
    println!(
        "{}",
        metrics(&run, writer.salesforce.api_usage(), shared::ports::Clock::now_millis(writer.clock.as_ref()))
    );
    Ok(serde_json::to_value(&run)?)
}

/// The run as one EMF line: records by outcome, and the API headroom the budget guard watches.
fn metrics(run: &WriterRun, usage: Option<(u64, u64)>, now: i64) -> String {
    let headroom = usage.map_or(1.0, |(used, max)| max.saturating_sub(used) as f64 / max.max(1) as f64);
    let budget_stop = if matches!(run.stopped, Stop::Budget { .. } | Stop::RequestLimit) { 1.0 } else { 0.0 };
    shared::telemetry::emf_line(
        "B1Force",
        &[("Function", "sf-writer")],
        &[
            ("RecordsWritten", run.written as f64, "Count"),
            ("RecordsSkipped", run.skipped as f64, "Count"),
            ("RecordsRetried", run.retried as f64, "Count"),
            ("RecordsDeadLettered", run.dead_lettered as f64, "Count"),
            ("SalesforceApiHeadroom", headroom * 100.0, "Percent"),
            ("BudgetStops", budget_stop, "Count"),
        ],
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stopped: Stop) -> WriterRun {
        WriterRun { rounds: 1, messages: 20, written: 17, skipped: 1, retried: 2, dead_lettered: 0, stopped }
    }

    #[test]
    fn a_budget_stop_is_a_metric_with_the_headroom_left() {
        let line: serde_json::Value =
            serde_json::from_str(&metrics(&run(Stop::Budget { used: 9_500, max: 10_000 }), Some((9_500, 10_000)), 1))
                .unwrap();
        assert_eq!(line["BudgetStops"], 1.0);
        assert_eq!(line["SalesforceApiHeadroom"], 5.0);
        assert_eq!(line["RecordsWritten"], 17.0);
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"BudgetStops") && names.contains(&"SalesforceApiHeadroom"));
        let quiet: serde_json::Value = serde_json::from_str(&metrics(&run(Stop::QueueEmpty), None, 1)).unwrap();
        assert_eq!((quiet["BudgetStops"].as_f64(), quiet["SalesforceApiHeadroom"].as_f64()), (Some(0.0), Some(100.0)));
    }
}
