//! The Lambda log format (`shared::telemetry::json_subscriber`, what `init_lambda` installs) is one
//! JSON object per line, and the work for a record carries its notification's `correlation_id` in
//! the span fields through the sf-receiver, the sap-writer, the sap-poller and the sf-writer.

use b1force_cli::local::{LocalOptions, LocalStack, opportunity_change_event};
use e2e::logs::Captured;
use e2e::pipeline::{COMMIT_MS, deliver_closed_won};
use serde_json::Value;
use shared::engine::sf_writer::SfWriterSettings;

/// Every line, each parsed as JSON (a line that is not JSON fails the test).
fn json_lines(logs: &Captured) -> Vec<Value> {
    logs.text().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// The lines logged in span `span` carrying `correlation_id`, as their messages.
fn messages_in(lines: &[Value], span: &str, correlation_id: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["span"]["name"] == span && l["span"]["correlation_id"] == correlation_id)
        .map(|l| l["fields"]["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The correlation id the audit trail recorded for the first record whose key starts with `prefix`
/// (the notification's), and that key.
fn audited_correlation(stack: &LocalStack, prefix: &str) -> (String, String) {
    let entries = stack.audit.all();
    let entry = entries.iter().find(|e| e.record_key.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} audited"));
    (entry.record_key.clone(), entry.correlation_id.clone())
}

// One current-thread runtime: the thread-local subscriber sees all the work.
#[tokio::test]
async fn every_flow_logs_json_lines_carrying_the_records_correlation_id() {
    let logs = Captured::default();
    let _guard = tracing::subscriber::set_default(shared::telemetry::json_subscriber(logs.clone(), "debug"));
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();

    // sf-receiver → sap-writer: one Closed Won opportunity becomes an SAP order.
    let ids = stack.sf_sandbox.seed_closed_won(1);
    deliver_closed_won(&stack, &ids, 1, "corr").await.unwrap();
    stack.drain(u64::MAX).await.unwrap();
    // sf-receiver: an event without record ids is rejected (and logged) under its event id.
    let mut broken = opportunity_change_event(&ids[0], "UPDATE", "", COMMIT_MS, "corr-broken");
    broken["detail"]["payload"]["ChangeEventHeader"]["recordIds"] = serde_json::json!([]);
    assert!(stack.receiver().receive(&broken).await.is_err());
    // sap-poller → sf-writer: SAP's records reach Salesforce.
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();

    let lines = json_lines(&logs);
    assert!(lines.len() > 10, "{} lines", lines.len());
    assert!(lines.iter().all(|l| l["level"].is_string() && l["fields"].is_object()), "the Lambda JSON shape");

    let (_, opportunity) = audited_correlation(&stack, &format!("sf:Opportunity:{}", ids[0]));
    assert!(!opportunity.is_empty());
    let writer = messages_in(&lines, "sap_writer", &opportunity);
    assert!(writer.iter().any(|m| m == "opportunity synced to SAP order"), "{writer:?}");

    let rejected = messages_in(&lines, "sf_receiver", "evt-corr-broken");
    assert!(rejected.iter().any(|m| m == "rejected event"), "{rejected:?}");

    let (invoice, polled) = audited_correlation(&stack, "sap:Invoices:");
    assert!(polled.starts_with("poll:Invoices:"), "{invoice}: {polled}");
    assert!(messages_in(&lines, "sap_poller", &polled).iter().any(|m| m == "poll done"));
    let settled = messages_in(&lines, "sf_writer", &polled);
    assert!(settled.iter().any(|m| m == "record settled"), "{settled:?}");
}
