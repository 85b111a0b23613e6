//! `b1force invoke <function> --event FILE`: one handler, one event.
//!
//! By default it runs on the embedded backends and the in-process sandboxes (with their seed
//! data), so the sample events in `events/` work with no account at all. When `TO_SAP_QUEUE_URL`
//! is set it uses the Lambda functions' own wiring instead: real SQS, DynamoDB and Secrets Manager
//! (honouring `AWS_ENDPOINT_URL`/profile) and the SAP/Salesforce endpoints from the environment.

use crate::local::{LocalOptions, LocalStack};
use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::config::{Env, Source};
use shared::embedded::{EmbeddedSecrets, LocalReports};
use shared::engine::poller::PollRequest;
use shared::engine::sap_webhook::B1Webhook;
use shared::engine::sap_writer::{Disposition, SapWriter};
use shared::engine::sf_receiver::{Ingress, Receiver, WebhookAuth};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::f8_reconcile::ReconRequest;
use shared::ports::{Clock, SystemClock};
use shared::telemetry::Metrics;
use shared::telemetry::functions as metrics;
use shared::wiring::ApiClients;
use shared::wiring::lambda_events::{batch_response, from_sqs};
use std::path::Path;

/// The webhook signing key `invoke` uses locally (the sample events are signed with it).
pub const LOCAL_WEBHOOK_KEY: &str = "b1force-local-webhook-key";
const LOCAL_WEBHOOK_SECRET_ID: &str = "b1force/webhook";
const LOCAL_B1_WEBHOOK_SECRET_ID: &str = "b1force/sap-webhook";

/// The functions `invoke` knows.
pub const FUNCTIONS: &[&str] = &["sf-receiver", "sap-writer", "sap-poller", "sf-writer", "sap-webhook", "reconciler"];

/// Runs `function` on the event in `path` and returns what the handler returned.
pub async fn run(function: &str, path: &Path) -> anyhow::Result<Value> {
    if !FUNCTIONS.contains(&function) {
        bail!("unknown function {function:?}; expected one of: {}", FUNCTIONS.join(", "));
    }
    let raw = std::fs::read_to_string(path).with_context(|| format!("cannot read event file {}", path.display()))?;
    let event: Value =
        serde_json::from_str(&raw).with_context(|| format!("event file {} is not JSON", path.display()))?;
    if Env.var("TO_SAP_QUEUE_URL").is_some()
        || Env.var("TO_SALESFORCE_QUEUE_URL").is_some()
        || Env.var("REPORTS_BUCKET").is_some()
    {
        return run_on_aws(function, event).await;
    }
    let stack = LocalStack::start(LocalOptions::default()).await?;
    run_on(&stack, function, event).await
}

/// Runs `function` on `event` against a local stack; prints the EMF lines the Lambda would print
/// to stderr.
pub async fn run_on(stack: &LocalStack, function: &str, event: Value) -> anyhow::Result<Value> {
    let clients =
        ApiClients { sap: Some(stack.sap.as_ref().clone()), salesforce: Some(stack.salesforce.as_ref().clone()) };
    let calls_before = clients.sent();
    let calls = || clients.sent().since(calls_before);
    let now = || stack.clock.now_millis();
    match function {
        "sf-receiver" => {
            // Every delivery path, as in Lambda: CDC events and Function URL requests (webhook, Outbound Message).
            let secrets = EmbeddedSecrets::new().with(LOCAL_WEBHOOK_SECRET_ID, LOCAL_WEBHOOK_KEY);
            let ingress = Ingress {
                receiver: stack.receiver(),
                webhook: Some(WebhookAuth {
                    secrets: &secrets,
                    secret_id: LOCAL_WEBHOOK_SECRET_ID,
                    replays: stack.idempotency.as_ref(),
                }),
                org_id: None,
                outbound_token: None,
                refusals: None,
            };
            let (answer, tally) = ingress.handle_tallied(&event).await;
            print_metrics(&metrics::sf_receiver(&tally), now());
            let answer = answer.context("sf-receiver rejected the event")?;
            Ok(json!({"answer": answer, "queued": stack.to_sap.messages()}))
        }
        "sap-writer" => {
            write(&stack.writer(), stack.clock.as_ref(), &clients, event, || {
                stack.audit.all().into_iter().filter_map(|e| e.error).collect()
            })
            .await
        }
        "sap-poller" => {
            let report = stack.poller().run(&entity(&event)?, "invoke").await?;
            print_metrics(&metrics::sap_poller(&report, now(), calls()), now());
            Ok(json!({"report": report.to_json(), "queued": stack.to_salesforce.len()}))
        }
        "sap-webhook" => {
            // The samples are signed with the local key, as the webhook samples of sf-receiver are.
            let secrets = EmbeddedSecrets::new().with(LOCAL_B1_WEBHOOK_SECRET_ID, LOCAL_WEBHOOK_KEY);
            let webhook = B1Webhook {
                to_salesforce: stack.to_salesforce.as_ref(),
                audit: stack.audit.as_ref(),
                clock: stack.clock.as_ref(),
                secrets: &secrets,
                secret_id: LOCAL_B1_WEBHOOK_SECRET_ID,
            };
            let (answer, tally) = webhook.handle_tallied(&event).await;
            print_metrics(&metrics::sap_webhook(&tally), now());
            Ok(json!({"answer": answer, "queued": stack.to_salesforce.messages()}))
        }
        "sf-writer" => {
            // A fresh local stack has nothing queued: poll every entity first, as the schedules would.
            let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await?;
            print_metrics(&metrics::sf_writer(&run, stack.salesforce.api_usage(), calls()), now());
            let polled: Vec<Value> = polls.iter().map(|p| p.to_json()).collect();
            Ok(json!({"polled": polled, "run": run}))
        }
        "reconciler" => {
            // A fresh local stack: sync SAP into Salesforce first, as the schedules would have; the
            // report goes to a temporary folder, the announcement is kept in memory.
            stack.sync_from_sap(SfWriterSettings::default()).await?;
            let request = ReconRequest::from_event(&event, &shared::domain::date_of(stack.clock.now_millis()))?;
            let folder = std::env::temp_dir().join("b1force-reconciliation");
            let notifier = std::sync::Arc::new(shared::embedded::EmbeddedNotifier::new());
            let reconciler = stack.reconciler(std::sync::Arc::new(LocalReports::new(folder)), notifier.clone());
            let outcome = reconciler.run(&request).await?;
            print_metrics(&metrics::reconciler(&outcome.report), now());
            Ok(json!({"report": outcome.summary(), "published": notifier.messages().len()}))
        }
        other => bail!("unknown function {other:?}"),
    }
}

/// The scheduler input of the sap-poller: `{"entity": "BusinessPartners"}`.
fn entity(event: &Value) -> anyhow::Result<String> {
    let request = PollRequest::deserialize(event).context("sap-poller expects {\"entity\": \"BusinessPartners\"}")?;
    Ok(request.entity)
}

/// Runs `function` with the Lambda wiring on the services the environment names.
async fn run_on_aws(function: &str, event: Value) -> anyhow::Result<Value> {
    let sdk = shared::aws::sdk_config().await;
    match function {
        "sf-receiver" => {
            let deps = shared::wiring::ReceiverDeps::from_env(&sdk, &Env)?;
            receive(deps.receiver(), &event).await
        }
        "sap-writer" => {
            let (writer, clients) = shared::wiring::sap_writer_counted(&sdk, &Env).await?;
            write(&writer, &SystemClock, &clients, event, || vec!["see the audit table".to_string()]).await
        }
        "sap-poller" => {
            let poller = shared::wiring::sap_poller(&sdk, &Env).await?;
            Ok(json!({"report": poller.run(&entity(&event)?, "invoke").await?.to_json()}))
        }
        "sap-webhook" => {
            let deps = shared::wiring::SapWebhookDeps::from_env(&sdk, &Env)?;
            Ok(json!({"answer": deps.webhook().handle(&event).await}))
        }
        "sf-writer" => {
            let writer = shared::wiring::sf_writer(&sdk, &Env).await?;
            Ok(json!({"run": writer.run(SystemClock.now_millis() + 240_000).await?}))
        }
        "reconciler" => {
            let reconciler = shared::wiring::reconciler(&sdk, &Env).await?;
            let request = ReconRequest::from_event(&event, &shared::domain::date_of(SystemClock.now_millis()))?;
            Ok(json!({"report": reconciler.run(&request).await?.summary()}))
        }
        other => bail!("unknown function {other:?}"),
    }
}

async fn receive(receiver: Receiver<'_>, event: &Value) -> anyhow::Result<Value> {
    let report = receiver.receive(event).await.context("sf-receiver rejected the event")?;
    Ok(json!({ "report": report }))
}

/// Runs the writer on an SQS event; dead-lettered messages make the command fail with their reasons.
async fn write(
    writer: &SapWriter,
    clock: &dyn Clock,
    clients: &ApiClients,
    event: Value,
    reasons: impl FnOnce() -> Vec<String>,
) -> anyhow::Result<Value> {
    let sqs: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_value(event).context("sap-writer expects an SQS event ({\"Records\": [...]})")?;
    let batch = from_sqs(sqs);
    if batch.is_empty() {
        bail!("the SQS event has no Records");
    }
    let calls_before = clients.sent();
    let outcome = writer.process_batch(&batch, clock.now_millis() + 60_000).await;
    let now = clock.now_millis();
    let calls = clients.sent().since(calls_before);
    print_metrics(&metrics::sap_writer(&batch, &outcome, now, calls, clients.salesforce_usage()), now);
    let dead = outcome.dispositions.iter().filter(|(_, d)| *d == Disposition::DeadLettered).count();
    let result = json!({"response": batch_response(outcome.failures.clone()), "dispositions": outcome.dispositions});
    if dead > 0 {
        bail!("{dead} message(s) dead-lettered: {}\n{}", reasons().join("; "), serde_json::to_string_pretty(&result)?);
    }
    Ok(result)
}

/// The EMF lines the Lambda would print for `metrics`, on stderr (stdout stays the result).
fn print_metrics(metrics: &Metrics, now: i64) {
    match metrics.to_lines(now) {
        Ok(lines) => lines.iter().for_each(|line| eprintln!("{line}")),
        Err(err) => eprintln!("metrics: {err}"),
    }
}
