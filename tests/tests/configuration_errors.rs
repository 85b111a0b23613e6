//! #13 item 5, configuration is not data: a refused login (a wrong or rotated secret, a revoked app)
//! keeps every record queued, never dead-lettered; the writers count it as `ConfigurationError`; a
//! secret that changed is re-read before the refusal is believed; and the redrive policy never gets
//! the held work (it is requeued fresh on its last attempt). On the sandboxes and embedded backends.

use b1force_cli::local::{LocalOptions, LocalStack, salesforce_config, sap_config};
use b1force_cli::preflight::held_work;
use secrecy::SecretString;
use serde_json::json;
use shared::domain::redelivery::Deliveries;
use shared::domain::{Notification, RecordKey};
use shared::embedded::{EmbeddedSecrets, ManualClock};
use shared::engine::drain::drain;
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use shared::error::ErrorClass;
use shared::flows::WriterSettings;
use shared::ports::{Clock, Outcome, OutgoingMessage, Queue, SystemClock};
use shared::salesforce::SalesforceClient;
use shared::sap::SapClient;
use shared::secrets::SecretField;
use std::sync::Arc;
use std::time::Duration;

const MAX_RECEIVE_COUNT: u32 = 3;

fn notification(record_key: &str) -> OutgoingMessage {
    let note = Notification {
        record: RecordKey::parse(record_key).unwrap(),
        reason: "test".into(),
        changed_at: 0,
        source_version: "v1".into(),
        correlation_id: "config-test".into(),
    };
    OutgoingMessage::from(&note)
}

async fn stack(clock: Arc<ManualClock>) -> LocalStack {
    let writer = WriterSettings {
        deliveries: Deliveries { max_receive_count: Some(MAX_RECEIVE_COUNT) },
        ..WriterSettings::default()
    };
    let options = LocalOptions {
        clock,
        writer,
        max_receive_count: MAX_RECEIVE_COUNT,
        visibility_timeout_secs: 30,
        ..Default::default()
    };
    LocalStack::start(options).await.unwrap()
}

fn held_entries(stack: &LocalStack) -> usize {
    stack
        .audit
        .all()
        .iter()
        .filter(|e| e.outcome == Outcome::Retrying && e.error_class == Some(ErrorClass::Configuration))
        .count()
}

#[tokio::test]
async fn a_wrong_sap_password_holds_the_sf_writers_work_probes_with_one_message_and_a_rotated_secret_resumes() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_millis()));
    let mut stack = stack(clock.clone()).await;
    let codes = stack.sap_sandbox.seed_changed_business_partners(50);
    let keys: Vec<OutgoingMessage> = codes.iter().map(|c| notification(&format!("sap:BusinessPartners:{c}"))).collect();
    stack.to_salesforce.send(&keys).await.unwrap();
    // The container holds a wrong password, and so does the secret (an operator's typo).
    let secrets = Arc::new(EmbeddedSecrets::new().with("b1force/sap", &json!({"password": "typo"}).to_string()));
    let mut cfg = sap_config(&stack.sap_sandbox);
    cfg.password = SecretString::from("typo");
    let source = SecretField { store: secrets.clone(), secret_id: "b1force/sap".into(), field: "password".into() };
    let sap = Arc::new(SapClient::new(cfg).unwrap().with_credentials(Arc::new(source)));
    stack.sap = sap.clone();
    let settings = SfWriterSettings {
        deliveries: Deliveries { max_receive_count: Some(MAX_RECEIVE_COUNT) },
        ..SfWriterSettings::default()
    };
    let writer = stack.sf_writer(settings);

    let first = writer.run(i64::MAX).await.unwrap();
    assert_eq!((first.messages, first.written, first.dead_lettered, first.held), (50, 0, 0, 50), "{first:?}");
    assert!(matches!(&first.stopped, Stop::Configuration { code, .. } if code == "CONFIG"), "{:?}", first.stopped);
    assert_eq!(sap.stats().logins, 1, "one refused login, not one per halving");
    assert_eq!(held_entries(&stack), 50, "every held record is audited with its class");
    let metrics = shared::telemetry::functions::sf_writer(&first, None, Default::default());
    assert_eq!(metrics.value("ConfigurationError"), Some(&[50.0][..]));
    let seen = held_work(stack.audit.as_ref(), clock.now_millis()).await;
    assert!(seen.is_failed() && seen.line().contains("50 record(s) kept queued"), "{}", seen.line());
    assert!(seen.line().contains("SAP refused the login"), "{}", seen.line());

    // Unfixed: each run tries one message; receive counts stay off the redrive policy (requeued fresh).
    for _ in 0..5 {
        clock.advance(Duration::from_secs(61));
        let probe = writer.run(i64::MAX).await.unwrap();
        assert_eq!((probe.messages, probe.held, probe.dead_lettered), (1, 1, 0), "{probe:?}");
    }
    assert_eq!((stack.to_salesforce.len(), stack.to_salesforce_dlq.len()), (50, 0), "nothing lost, nothing dead");

    // The operator fixes the secret; the container's next refused login re-reads it and goes on.
    secrets.insert("b1force/sap", &json!({"password": stack.sap_sandbox.password()}).to_string());
    clock.advance(Duration::from_secs(61));
    let fixed = writer.run(i64::MAX).await.unwrap();
    assert_eq!((fixed.written, fixed.dead_lettered, fixed.held), (50, 0, 0), "{fixed:?}");
    assert_eq!(fixed.stopped, Stop::QueueEmpty);
    assert_eq!(stack.to_salesforce_dlq.len(), 0);
    clock.advance(Duration::from_secs(11 * 60));
    assert!(
        !held_work(stack.audit.as_ref(), clock.now_millis()).await.is_failed(),
        "check is green once it went through"
    );
}

#[tokio::test]
async fn a_revoked_salesforce_app_holds_the_sap_writers_batch_and_requeues_it_before_the_redrive_policy_can_move_it() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_millis()));
    let mut stack = stack(clock.clone()).await;
    let accounts = ["001SM0000001Tb1YAE", "001SM0000001Tb2YAE", "001SM0000001Tb3YAE"];
    let notes: Vec<OutgoingMessage> = accounts.iter().map(|id| notification(&format!("sf:Account:{id}"))).collect();
    stack.to_sap.send(&notes).await.unwrap();
    let mut cfg = salesforce_config(&stack.sf_sandbox);
    cfg.client_secret = SecretString::from("revoked");
    stack.salesforce = Arc::new(SalesforceClient::new(cfg).unwrap());

    // Deliveries 1..=2 of each message, then its fresh copy's first: never the DLQ.
    for delivery in 1..=(MAX_RECEIVE_COUNT + 1) {
        let stats = drain(stack.to_sap.as_ref(), &stack.writer(), clock.as_ref(), 60_000, 0, 1).await.unwrap();
        assert_eq!((stats.messages, stats.held, stats.dead_lettered), (3, 3, 0), "delivery {delivery}: {stats:?}");
        clock.advance(Duration::from_secs(31));
    }
    assert_eq!((stack.to_sap.len(), stack.to_sap_dlq.len()), (3, 0));
    assert_eq!(held_entries(&stack), 12, "each attempt audited");

    stack.salesforce = Arc::new(SalesforceClient::new(salesforce_config(&stack.sf_sandbox)).unwrap());
    clock.advance(Duration::from_secs(31));
    let stats = drain(stack.to_sap.as_ref(), &stack.writer(), clock.as_ref(), 60_000, 0, 5).await.unwrap();
    assert_eq!((stats.held, stats.dead_lettered, stats.failures_reported), (0, 0, 0), "{stats:?}");
    assert_eq!(stack.to_sap.len(), 0);
}

#[tokio::test]
async fn a_mapped_sap_field_the_company_does_not_have_holds_the_round_instead_of_dead_lettering_it() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_millis()));
    let mut stack = stack(clock.clone()).await;
    // F4 reads a user field this company never defined (the mapping is valid: a `U_` field with a kind).
    let shipped = shared::mapping::file::MappingFile::shipped_text();
    let f4 = shipped.find("[flows.F4]").unwrap();
    let line = r#"{ salesforce = "Phone", sap = "Phone1", owner = "both" },"#;
    let at = f4 + shipped[f4..].find(line).unwrap() + line.len();
    let extra = r#"
  { salesforce = "Industry", sap = "U_Industry", owner = "sap", kind = "text" },"#;
    let text = format!("{}{extra}{}", &shipped[..at], &shipped[at..]);
    stack.mapping = Arc::new(shared::mapping::file::MappingFile::parse(&text, "edited.toml").unwrap());
    let codes = stack.sap_sandbox.seed_changed_business_partners(50);
    let keys: Vec<OutgoingMessage> = codes.iter().map(|c| notification(&format!("sap:BusinessPartners:{c}"))).collect();
    stack.to_salesforce.send(&keys).await.unwrap();
    let reads_before = stack.sap_sandbox.calls().matching("GET /BusinessPartners");

    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();

    assert_eq!((run.written, run.dead_lettered, run.held), (0, 0, 50), "{run:?}");
    assert!(matches!(&run.stopped, Stop::Configuration { code, .. } if code == "SAP_-1000"), "{:?}", run.stopped);
    assert_eq!(stack.sap_sandbox.calls().matching("GET /BusinessPartners") - reads_before, 1, "not split");
    assert_eq!((stack.to_salesforce.len(), stack.to_salesforce_dlq.len()), (50, 0));
}

/// A sap-writer that cannot even be built (an invalid mapping file at cold start) still keeps its
/// batches: audited as held, returned, and requeued fresh before the redrive policy could take them.
#[tokio::test]
async fn a_sap_writer_whose_mapping_file_is_invalid_holds_every_batch_instead_of_burning_it_to_the_dlq() {
    use shared::engine::sap_writer::{Disposition, HeldAtInit, InboundMessage};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, "[flows.F1]\nsalesforce_object = 7\n").unwrap();
    let settings: std::collections::HashMap<String, String> =
        [("MAPPING_FILE".to_string(), path.display().to_string())].into_iter().collect();
    let error = shared::wiring::mapping_file(&settings).unwrap_err();
    assert!(error.is_configuration(), "{error}");

    let clock = Arc::new(ManualClock::new(SystemClock.now_millis()));
    let stack = stack(clock.clone()).await;
    let notes: Vec<OutgoingMessage> = ["001SM0000001Tb1YAE", "001SM0000001Tb2YAE"]
        .iter()
        .map(|id| notification(&format!("sf:Account:{id}")))
        .collect();
    stack.to_sap.send(&notes).await.unwrap();
    let held = HeldAtInit {
        queue: stack.to_sap.clone(),
        dead_letters: stack.to_sap_dlq.clone(),
        audit: stack.audit.clone(),
        clock: clock.clone(),
        deliveries: Deliveries { max_receive_count: Some(MAX_RECEIVE_COUNT) },
        error,
    };
    for delivery in 1..=(MAX_RECEIVE_COUNT + 1) {
        let received = stack.to_sap.receive(10).await.unwrap();
        assert_eq!(received.len(), 2, "delivery {delivery}");
        let batch: Vec<InboundMessage> = received.iter().map(InboundMessage::from).collect();
        let outcome = held.hold(&batch).await;
        for (message, (_, disposition)) in received.iter().zip(&outcome.dispositions) {
            // What the event source does with the answer: successes deleted, failures returned.
            if *disposition == Disposition::Requeued {
                stack.to_sap.delete(&message.receipt_handle).await.unwrap();
            } else {
                stack.to_sap.release(&message.receipt_handle, 0).await.unwrap();
            }
        }
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!((stack.to_sap.len(), stack.to_sap_dlq.len()), (2, 0), "kept, never dead-lettered");
    assert_eq!(held_entries(&stack), 8, "every attempt audited with the configuration error");
}
