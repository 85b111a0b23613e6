//! `b1force status [--json]` on AWS: the stack's queues (`TO_SAP_QUEUE_URL`, `TO_SAP_DLQ_URL`,
//! `TO_SALESFORCE_QUEUE_URL`, `TO_SALESFORCE_DLQ_URL`, optionally `RECEIVER_FAILED_QUEUE_URL`), its
//! `SYNC_STATE_TABLE` and `AUDIT_TABLE`, with `SF_*` settings Salesforce's `/limits`, and with
//! `B1FORCE_STACK` (+ `SF_WRITER_WAKE_QUEUE_URL`) whether the sync is paused.

use crate::operations::Route;
use crate::operations::status::{self, Status, StatusSources, WatchedQueue};
use crate::ops;
use shared::aws::{DynamoSyncState, SqsQueue};
use shared::config::Source;
use shared::ports::{Clock, SystemClock};
use std::io::Write;

/// Prints the status; an error when something needs a person (so scripts can alert on the exit code).
pub async fn run_on_aws(json: bool, src: &dyn Source, out: &mut dyn Write) -> anyhow::Result<()> {
    let pairs = ops::queue_pairs(src, &Route::ALL).await?;
    let sdk = shared::aws::sdk_config().await;
    let failed = src.var("RECEIVER_FAILED_QUEUE_URL").map(|url| SqsQueue::from_sdk(&sdk, url));
    let table = ops::required(src, "SYNC_STATE_TABLE", "the sync-state table's name")?;
    let sync_state = DynamoSyncState::from_sdk(&sdk, table);
    let audit = ops::audit_table(src).await?;
    let mut queues = Vec::new();
    for pair in &pairs {
        let name = pair.route.name();
        queues.push(watched(format!("{name}.fifo"), name, &pair.source, false));
        queues.push(watched(format!("{name} DLQ"), name, &pair.dead_letters, true));
    }
    if let Some(failed) = &failed {
        queues.push(watched("receiver failed invocations".into(), "receiver-failed", failed, true));
    }
    let ages = CloudWatchAges(aws_sdk_cloudwatch::Client::new(&sdk));
    let api_usage = match src.var("SF_LOGIN_URL") {
        None => None,
        Some(_) => Some(salesforce_usage(src).await),
    };
    let triggers = match src.var("B1FORCE_STACK") {
        Some(_) => Some(crate::pause_cmd::AwsTriggers::from_settings(&sdk, src)?),
        None => None,
    };
    let triggers = triggers.as_ref().map(|t| t as &dyn crate::operations::pause::Triggers);
    let status = status::gather(
        StatusSources { queues, sync_state: &sync_state, audit: &audit, api_usage, triggers, ages: Some(&ages) },
        SystemClock.now_millis(),
    )
    .await;
    print(&status, json, out)
}

/// A queue to report under `name`; CloudWatch knows it by its URL's last segment (`fallback` if none).
fn watched<'a>(name: String, fallback: &str, sqs: &'a SqsQueue, dead_letters: bool) -> WatchedQueue<'a> {
    WatchedQueue {
        name,
        queue: sqs,
        dead_letters,
        queue_name: physical_name(sqs.url()).unwrap_or(fallback).to_string(),
    }
}

/// A queue URL's last path segment: its name (`…/123456789012/b1force-to-sap.fifo`).
fn physical_name(url: &str) -> Option<&str> {
    url.trim_end_matches('/').rsplit('/').next().filter(|name| !name.is_empty())
}

/// The oldest-message ages SQS publishes to CloudWatch each minute.
struct CloudWatchAges(aws_sdk_cloudwatch::Client);

#[async_trait::async_trait]
impl status::QueueAges for CloudWatchAges {
    async fn oldest_age_secs(&self, queue_name: &str) -> Result<Option<f64>, String> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        let now = std::time::SystemTime::now();
        let since = now - std::time::Duration::from_secs(900);
        let output = self
            .0
            .get_metric_statistics()
            .namespace("AWS/SQS")
            .metric_name("ApproximateAgeOfOldestMessage")
            .dimensions(Dimension::builder().name("QueueName").value(queue_name).build())
            .start_time(DateTime::from(since))
            .end_time(DateTime::from(now))
            .period(60)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .map_err(|e| aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string())?;
        let newest =
            output.datapoints().iter().filter(|d| d.timestamp().is_some()).max_by_key(|d| d.timestamp().copied());
        Ok(newest.and_then(|d| d.maximum()))
    }
}

/// Today's API use as the sf-writer reads it (`SalesforceWrites::refresh_api_usage`): `GET /limits`, or
/// the `Sforce-Limit-Info` of its answer when the integration user may not read `/limits`.
async fn salesforce_usage(src: &dyn Source) -> Result<(u64, u64), String> {
    use shared::ports::SalesforceWrites;
    let client = shared::wiring::salesforce_client_from_settings(src).await.map_err(|e| e.to_string())?;
    match client.refresh_api_usage().await {
        Ok(Some(usage)) => Ok(usage),
        Ok(None) => Err("Salesforce answered without Sforce-Limit-Info".into()),
        Err(err) => Err(err.to_string()),
    }
}

/// Writes `status` as text (or JSON); an error when it needs attention.
pub fn print(status: &Status, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(status)?)?;
    } else {
        write!(out, "{}", status.human())?;
    }
    anyhow::ensure!(!status.needs_attention(), "something needs attention (above)");
    Ok(())
}
