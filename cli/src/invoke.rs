//! `b1force invoke <function> --event FILE`: one handler, one event, locally.
//!
//! Runs on the embedded backends and the in-process sandboxes (the SAP sandbox, the Salesforce
//! sandbox with its seed data), so the sample events in `events/` work with no account at all.

use crate::local::{LocalOptions, LocalStack};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared::sync::sap_writer::{Disposition, batch_response, from_sqs};
use std::path::Path;

/// The functions `invoke` knows.
pub const FUNCTIONS: &[&str] = &["sf-receiver", "sap-writer"];

/// Runs `function` on the event in `path` and returns what the handler returned.
pub async fn run(function: &str, path: &Path) -> anyhow::Result<Value> {
    if !FUNCTIONS.contains(&function) {
        bail!("unknown function {function:?}; expected one of: {}", FUNCTIONS.join(", "));
    }
    let raw = std::fs::read_to_string(path).with_context(|| format!("cannot read event file {}", path.display()))?;
    let event: Value = serde_json::from_str(&raw).with_context(|| format!("event file {} is not JSON", path.display()))?;
    let stack = LocalStack::start(LocalOptions::default()).await?;
    run_on(&stack, function, event).await
}

/// Runs `function` on `event` against a given local stack.
pub async fn run_on(stack: &LocalStack, function: &str, event: Value) -> anyhow::Result<Value> {
    match function {
        "sf-receiver" => {
            let report = stack.receiver().receive(&event).await.context("sf-receiver rejected the event")?;
            Ok(json!({"report": report, "queued": stack.to_sap.messages()}))
        }
        "sap-writer" => {
            let sqs: aws_lambda_events::sqs::SqsEvent =
                serde_json::from_value(event).context("sap-writer expects an SQS event ({\"Records\": [...]})")?;
            let batch = from_sqs(sqs);
            if batch.is_empty() {
                bail!("the SQS event has no Records");
            }
            let deadline = stack.clock.now_millis() + 60_000;
            let outcome = stack.writer().process_batch(&batch, deadline).await;
            let dead = outcome.dispositions.iter().filter(|(_, d)| *d == Disposition::DeadLettered).count();
            let response = batch_response(outcome.failures.clone());
            let result = json!({"response": response, "dispositions": outcome.dispositions});
            if dead > 0 {
                let reasons: Vec<String> = stack.audit.all().into_iter().filter_map(|e| e.error).collect();
                bail!("{dead} message(s) dead-lettered: {}\n{}", reasons.join("; "), serde_json::to_string_pretty(&result)?);
            }
            Ok(result)
        }
        other => bail!("unknown function {other:?}"),
    }
}
