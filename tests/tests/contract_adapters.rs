//! One contract per port, run against the embedded twin and against the AWS adapter on moto_server,
//! so the twins the demo and most tests rely on cannot drift from what AWS does.
//!
//! Each moto-backed test starts its own moto_server (isolation); there is one per port to keep the suite fast.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use e2e::moto::MotoServer;
use secrecy::ExposeSecret;
use shared::aws::{DynamoAudit, DynamoIdempotency, SecretsManagerStore, SqsQueue};
use shared::domain::EpochMillis;
use shared::domain::state::Direction;
use shared::embedded::{
    EmbeddedAudit, EmbeddedIdempotency, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSecrets, ManualClock,
};
use shared::error::{Error, ErrorClass};
use shared::ports::AuditAction;
use shared::ports::{
    AuditEntry, AuditLog, Claim, IdempotencyStore, Outcome, OutgoingMessage, Queue, ReceivedMessage, Secret,
    SecretStore,
};
use shared::secrets::{CachedSecrets, SecretFields};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Some instant in 2027; the stores take time as arguments, so any fixed value works on both backends.
const T0: EpochMillis = 1_800_000_000_000;
const MAX_RECEIVE_COUNT: u32 = 2;
const SAP_SECRET_NAME: &str = "b1force/sap-service-layer";
const SAP_SECRET_VALUE: &str = r#"{"username":"manager","password":"correct horse battery staple"}"#;
const MISSING_SECRET_NAME: &str = "b1force/does-not-exist";

// ---------------------------------------------------------------------------------------------
// Queue

async fn queue_contract(queue: &dyn Queue, dead_letter: &dyn Queue) {
    a_sent_message_is_received_once_and_gone_after_delete(queue).await;
    a_repeated_dedup_id_is_accepted_but_not_enqueued(queue).await;
    a_group_delivers_in_order_and_stays_locked_while_a_message_is_in_flight(queue).await;
    a_message_received_too_often_moves_to_the_dead_letter_queue(queue, dead_letter).await;
    more_than_ten_messages_are_all_sent_and_keep_their_order(queue).await;
}

fn message(group: &str, dedup: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage { group_id: group.into(), dedup_id: dedup.into(), body: body.into() }
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

async fn receive(queue: &dyn Queue, max: usize) -> Vec<ReceivedMessage> {
    queue.receive(max).await.expect("receive")
}

async fn delete_all(queue: &dyn Queue, messages: &[ReceivedMessage]) {
    for m in messages {
        queue.delete(&m.receipt_handle).await.expect("delete");
    }
}

async fn a_sent_message_is_received_once_and_gone_after_delete(queue: &dyn Queue) {
    queue.send(&[message("basic", "basic-1", "hello")]).await.expect("send");
    assert_eq!(queue.depth().await.unwrap(), 1);

    let received = receive(queue, 10).await;
    assert_eq!(bodies(&received), ["hello"]);
    assert_eq!(received[0].group_id, "basic");
    assert_eq!(received[0].receive_count, 1);
    assert!(!received[0].message_id.is_empty());
    assert_eq!(queue.depth().await.unwrap(), 0, "an in-flight message is not counted as waiting");

    delete_all(queue, &received).await;
    assert!(receive(queue, 10).await.is_empty());
}

async fn a_repeated_dedup_id_is_accepted_but_not_enqueued(queue: &dyn Queue) {
    queue.send(&[message("dedup", "dedup-1", "first")]).await.expect("send");
    queue.send(&[message("dedup", "dedup-1", "second")]).await.expect("a duplicate send still succeeds");
    assert_eq!(queue.depth().await.unwrap(), 1);

    let received = receive(queue, 10).await;
    assert_eq!(bodies(&received), ["first"]);
    delete_all(queue, &received).await;
}

async fn a_group_delivers_in_order_and_stays_locked_while_a_message_is_in_flight(queue: &dyn Queue) {
    queue.send(&[message("A", "a1", "a1"), message("A", "a2", "a2"), message("B", "b1", "b1")]).await.expect("send");

    // Which group comes first is the queue's choice; that a2 never precedes a1 is not.
    let first = receive(queue, 1).await;
    let second = receive(queue, 1).await;
    let mut heads = [bodies(&first), bodies(&second)].concat();
    heads.sort();
    assert_eq!(heads, ["a1", "b1"], "each group's first message, one per receive");
    assert!(receive(queue, 10).await.is_empty(), "both groups are locked while a1 and b1 are in flight");

    let (a1, b1) = if first[0].body == "a1" { (&first, &second) } else { (&second, &first) };
    delete_all(queue, a1).await;
    let next = receive(queue, 10).await;
    assert_eq!(bodies(&next), ["a2"], "A unlocks when a1 is deleted; B stays locked by b1");

    delete_all(queue, b1).await;
    delete_all(queue, &next).await;
    assert!(receive(queue, 10).await.is_empty());
}

async fn a_message_received_too_often_moves_to_the_dead_letter_queue(queue: &dyn Queue, dead_letter: &dyn Queue) {
    queue.send(&[message("poison", "poison-1", "poison")]).await.expect("send");
    for expected_count in 1..=MAX_RECEIVE_COUNT {
        let received = receive(queue, 1).await;
        assert_eq!(bodies(&received), ["poison"]);
        assert_eq!(received[0].receive_count, expected_count);
        queue.release(&received[0].receipt_handle, 0).await.expect("release");
    }

    assert!(receive(queue, 10).await.is_empty(), "the receive after the last allowed one moves the message");
    let dead = receive(dead_letter, 10).await;
    assert_eq!(bodies(&dead), ["poison"]);
    assert_eq!(dead[0].group_id, "poison");
    delete_all(dead_letter, &dead).await;
}

async fn more_than_ten_messages_are_all_sent_and_keep_their_order(queue: &dyn Queue) {
    let expected: Vec<String> = (0..23).map(|i| format!("bulk-{i:02}")).collect();
    let outgoing: Vec<OutgoingMessage> = expected.iter().map(|body| message("bulk", body, body)).collect();
    queue.send(&outgoing).await.expect("send 23 messages");
    assert_eq!(queue.depth().await.unwrap(), 23);

    let mut seen = Vec::new();
    for _ in 0..expected.len() {
        let received = receive(queue, 10).await;
        assert!(received.len() <= 10);
        seen.extend(received.iter().map(|m| m.body.clone()));
        delete_all(queue, &received).await;
        if seen.len() >= expected.len() {
            break;
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn queue_contract_holds_embedded() {
    let clock = Arc::new(ManualClock::new(T0));
    let dead_letter = Arc::new(EmbeddedQueue::new("work-dlq.fifo", EmbeddedQueueOptions::default(), clock.clone()));
    let options = EmbeddedQueueOptions {
        visibility_timeout_secs: 30,
        max_receive_count: Some(MAX_RECEIVE_COUNT),
        dead_letter: Some(dead_letter.clone()),
    };
    let queue = EmbeddedQueue::new("work.fifo", options, clock);
    queue_contract(&queue, dead_letter.as_ref()).await;
    assert!(queue.is_empty() && dead_letter.is_empty());
}

#[tokio::test]
async fn queue_contract_holds_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    let (url, dlq_url) = moto.create_fifo_queue_with_dlq("work", MAX_RECEIVE_COUNT).await?;
    let sqs = moto.sqs().await;
    let queue = SqsQueue::new(sqs.clone(), url);
    let dead_letter = SqsQueue::new(sqs, dlq_url);
    queue_contract(&queue, &dead_letter).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Idempotency

const SECOND: EpochMillis = 1000;

async fn idempotency_contract(store: &dyn IdempotencyStore) {
    a_completed_key_returns_its_result_and_rejects_another_payload(store).await;
    of_two_concurrent_claims_exactly_one_acquires(store).await;
    a_stale_in_progress_record_is_taken_over(store).await;
    an_expired_completed_record_is_claimed_afresh(store).await;
    a_released_key_can_be_claimed_again(store).await;
}

async fn a_completed_key_returns_its_result_and_rejects_another_payload(store: &dyn IdempotencyStore) {
    let key = "sap-writer#opportunity-1";
    assert_eq!(store.claim(key, "hash-a", T0, T0 + 30 * SECOND).await.unwrap(), Claim::Acquired);
    let second = store.claim(key, "hash-a", T0 + SECOND, T0 + 31 * SECOND).await;
    assert!(matches!(&second, Err(Error::InProgress(k)) if k == key), "{second:?}");
    assert!(second.unwrap_err().is_retryable());

    store.complete(key, r#"{"DocEntry":42}"#, T0 + 3600 * SECOND).await.expect("complete");
    let again = store.claim(key, "hash-a", T0 + 2 * SECOND, T0 + 32 * SECOND).await.unwrap();
    assert_eq!(again, Claim::Completed(Some(r#"{"DocEntry":42}"#.into())));

    let other_payload = store.claim(key, "hash-b", T0 + 2 * SECOND, T0 + 32 * SECOND).await;
    assert!(matches!(&other_payload, Err(Error::PayloadMismatch(k)) if k == key), "{other_payload:?}");
    assert_eq!(other_payload.unwrap_err().class(), ErrorClass::Permanent);
}

async fn of_two_concurrent_claims_exactly_one_acquires(store: &dyn IdempotencyStore) {
    let key = "sap-writer#opportunity-2";
    let (a, b) = tokio::join!(
        store.claim(key, "hash-a", T0, T0 + 30 * SECOND),
        store.claim(key, "hash-a", T0, T0 + 30 * SECOND)
    );
    let acquired = [&a, &b].iter().filter(|r| matches!(r, Ok(Claim::Acquired))).count();
    let in_progress = [&a, &b].iter().filter(|r| matches!(r, Err(Error::InProgress(_)))).count();
    assert_eq!((acquired, in_progress), (1, 1), "{a:?} / {b:?}");
}

async fn a_stale_in_progress_record_is_taken_over(store: &dyn IdempotencyStore) {
    let key = "sap-writer#opportunity-3";
    assert_eq!(store.claim(key, "hash-a", T0, T0 + SECOND).await.unwrap(), Claim::Acquired);
    // The first holder crashed; its lock ran out at T0 + 1 s.
    let takeover = store.claim(key, "hash-a", T0 + 5 * SECOND, T0 + 35 * SECOND).await.unwrap();
    assert_eq!(takeover, Claim::Acquired);
    let third = store.claim(key, "hash-a", T0 + 6 * SECOND, T0 + 36 * SECOND).await;
    assert!(matches!(third, Err(Error::InProgress(_))), "the new holder's lock is fresh: {third:?}");
}

async fn an_expired_completed_record_is_claimed_afresh(store: &dyn IdempotencyStore) {
    let key = "sap-writer#opportunity-4";
    assert_eq!(store.claim(key, "hash-a", T0, T0 + 30 * SECOND).await.unwrap(), Claim::Acquired);
    store.complete(key, "old result", T0 + 10 * SECOND).await.expect("complete");
    assert_eq!(
        store.claim(key, "hash-a", T0 + 10 * SECOND, T0 + 40 * SECOND).await.unwrap(),
        Claim::Completed(Some("old result".into())),
        "not expired at its expiry instant"
    );
    let later = store.claim(key, "hash-b", T0 + 20 * SECOND, T0 + 50 * SECOND).await.unwrap();
    assert_eq!(later, Claim::Acquired, "an expired record neither answers nor validates the payload");
}

async fn a_released_key_can_be_claimed_again(store: &dyn IdempotencyStore) {
    let key = "sap-writer#opportunity-5";
    assert_eq!(store.claim(key, "hash-a", T0, T0 + 30 * SECOND).await.unwrap(), Claim::Acquired);
    store.release(key).await.expect("release");
    assert_eq!(store.claim(key, "hash-a", T0 + SECOND, T0 + 31 * SECOND).await.unwrap(), Claim::Acquired);
    store.release("sap-writer#never-claimed").await.expect("releasing an absent key is fine");
}

#[tokio::test]
async fn idempotency_contract_holds_embedded() {
    idempotency_contract(&EmbeddedIdempotency::new()).await;
}

#[tokio::test]
async fn idempotency_contract_holds_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_idempotency_table("idempotency").await?;
    let dynamodb = moto.dynamodb().await;
    let store = DynamoIdempotency::new(dynamodb.clone(), "idempotency".into());
    idempotency_contract(&store).await;

    // The stored items are Powertools' format, so a Python or TypeScript function could share the table.
    let key = "sap-writer#powertools-format";
    store.claim(key, "hash-a", T0 + 1, T0 + 30 * SECOND + 1).await?;
    let item = get_item(&dynamodb, key).await?;
    assert_eq!(item["status"], AttributeValue::S("INPROGRESS".into()));
    assert_eq!(item["in_progress_expiration"], AttributeValue::N((T0 + 30 * SECOND + 1).to_string()));
    assert_eq!(item["validation"], AttributeValue::S("hash-a".into()));
    let expiration: i64 = item["expiration"].as_n().unwrap().parse()?;
    assert!(expiration > (T0 + 30 * SECOND) / 1000 && expiration < T0 / 100, "epoch seconds: {expiration}");

    store.complete(key, "result", T0 + 3600 * SECOND).await?;
    let item = get_item(&dynamodb, key).await?;
    assert_eq!(item["status"], AttributeValue::S("COMPLETED".into()));
    assert_eq!(item["data"], AttributeValue::S("result".into()));
    assert_eq!(item["expiration"], AttributeValue::N(((T0 + 3600 * SECOND) / 1000).to_string()));
    Ok(())
}

async fn get_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    key: &str,
) -> anyhow::Result<std::collections::HashMap<String, AttributeValue>> {
    let output = dynamodb
        .get_item()
        .table_name("idempotency")
        .key("id", AttributeValue::S(key.into()))
        .consistent_read(true)
        .send()
        .await?;
    output.item.ok_or_else(|| anyhow::anyhow!("no idempotency item {key}"))
}

// ---------------------------------------------------------------------------------------------
// Audit

const RECORD_A: &str = "sf:Opportunity:006000000000001AAA";
const RECORD_B: &str = "sf:Opportunity:006000000000002AAA";

fn attempt(record_key: &str, at: EpochMillis, correlation_id: &str, outcome: Outcome) -> AuditEntry {
    let failed = outcome == Outcome::Retrying;
    AuditEntry {
        record_key: record_key.into(),
        at,
        correlation_id: correlation_id.into(),
        direction: Direction::SfToSap,
        action: AuditAction::CreateOrder,
        outcome,
        source_version: Some("2026-11-02T10:00:00Z".into()),
        payload_digest: Some("ab12".into()),
        error_code: failed.then(|| "SAP_-2039".into()),
        error_class: failed.then_some(ErrorClass::Retryable),
        error: failed.then(|| "document locked by another user".into()),
        target_id: (outcome == Outcome::Succeeded).then(|| "4711".into()),
    }
}

/// The attempts the contract records, deliberately not in time order, two of them in the same millisecond.
fn recorded_attempts() -> Vec<AuditEntry> {
    vec![
        attempt(RECORD_A, T0 + 2000, "c-3", Outcome::Succeeded),
        attempt(RECORD_A, T0, "c-1", Outcome::Retrying),
        attempt(RECORD_B, T0 + 500, "c-b", Outcome::Skipped),
        attempt(RECORD_A, T0 + 1000, "c-2a", Outcome::Retrying),
        attempt(RECORD_A, T0 + 1000, "c-2b", Outcome::Retrying),
    ]
}

async fn audit_contract(audit: &dyn AuditLog) {
    for entry in recorded_attempts() {
        audit.record(&entry).await.expect("record");
    }

    let history = audit.for_record(RECORD_A).await.expect("for_record");
    let times: Vec<EpochMillis> = history.iter().map(|e| e.at).collect();
    assert_eq!(times, [T0, T0 + 1000, T0 + 1000, T0 + 2000], "oldest first, every attempt kept");
    let mut expected: Vec<AuditEntry> = recorded_attempts().into_iter().filter(|e| e.record_key == RECORD_A).collect();
    let mut got = history.clone();
    // Attempts in the same millisecond have no defined order between them.
    for entries in [&mut expected, &mut got] {
        entries.sort_by(|x, y| (x.at, &x.correlation_id).cmp(&(y.at, &y.correlation_id)));
    }
    assert_eq!(got, expected, "entries come back exactly as recorded");

    let other = audit.for_record(RECORD_B).await.expect("for_record");
    assert_eq!(other, [attempt(RECORD_B, T0 + 500, "c-b", Outcome::Skipped)]);
    assert!(audit.for_record("sf:Opportunity:006000000000009AAA").await.unwrap().is_empty());
}

#[tokio::test]
async fn audit_contract_holds_embedded() {
    let audit = EmbeddedAudit::new();
    audit_contract(&audit).await;
    assert_eq!(audit.all().len(), recorded_attempts().len());
}

#[tokio::test]
async fn audit_contract_holds_on_moto() -> anyhow::Result<()> {
    const RETENTION_SECS: u64 = 90 * 24 * 3600;
    let moto = MotoServer::start().await?;
    moto.create_audit_table("audit").await?;
    let dynamodb = moto.dynamodb().await;
    audit_contract(&DynamoAudit::new(dynamodb.clone(), "audit".into(), Some(RETENTION_SECS))).await;

    // Failures are found through the by_outcome index, newest first, with their retention expiry.
    let retrying = dynamodb
        .query()
        .table_name("audit")
        .index_name("by_outcome")
        .key_condition_expression("outcome = :outcome")
        .expression_attribute_values(":outcome", AttributeValue::S("retrying".into()))
        .scan_index_forward(false)
        .send()
        .await?;
    let items = retrying.items();
    let times: Vec<&str> = items.iter().map(|item| item["at"].as_n().unwrap().as_str()).collect();
    let (t1000, t0) = ((T0 + 1000).to_string(), T0.to_string());
    assert_eq!(times, [t1000.as_str(), t1000.as_str(), t0.as_str()]);
    let expected_expiration = (T0 / 1000 + RETENTION_SECS as i64).to_string();
    assert_eq!(items[2]["expiration"], AttributeValue::N(expected_expiration));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Counts the calls that reach the store behind the cache.
struct CountingSecrets {
    inner: Arc<dyn SecretStore>,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl SecretStore for CountingSecrets {
    async fn get(&self, name: &str) -> shared::error::Result<Secret> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get(name).await
    }
}

/// Expects [`SAP_SECRET_NAME`] to hold [`SAP_SECRET_VALUE`] and [`MISSING_SECRET_NAME`] not to exist.
async fn secrets_contract(store: Arc<dyn SecretStore>) {
    let secret = store.get(SAP_SECRET_NAME).await.expect("get");
    assert_eq!(secret.expose_secret(), SAP_SECRET_VALUE);
    let fields = SecretFields::parse(SAP_SECRET_NAME, &secret).expect("a JSON object");
    assert_eq!(fields.field("password").unwrap().expose_secret(), "correct horse battery staple");

    let missing = store.get(MISSING_SECRET_NAME).await.expect_err("a missing secret is an error");
    assert!(!missing.is_retryable(), "retrying cannot create the secret: {missing}");
    assert!(missing.to_string().contains(MISSING_SECRET_NAME), "the error names the secret: {missing}");

    let calls = Arc::new(AtomicUsize::new(0));
    let counting = CountingSecrets { inner: store, calls: calls.clone() };
    let clock = Arc::new(ManualClock::new(T0));
    let cached = CachedSecrets::new(counting, Duration::from_secs(300), clock.clone());
    let (a, b) = tokio::join!(cached.get(SAP_SECRET_NAME), cached.get(SAP_SECRET_NAME));
    assert_eq!(a.unwrap().expose_secret(), SAP_SECRET_VALUE);
    assert_eq!(b.unwrap().expose_secret(), SAP_SECRET_VALUE);
    clock.advance(Duration::from_secs(299));
    cached.get(SAP_SECRET_NAME).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "concurrent first gets and a get within the TTL share one fetch");
    clock.advance(Duration::from_secs(1));
    cached.get(SAP_SECRET_NAME).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "after the TTL the secret is fetched again");
}

#[tokio::test]
async fn secrets_contract_holds_embedded() {
    secrets_contract(Arc::new(EmbeddedSecrets::new().with(SAP_SECRET_NAME, SAP_SECRET_VALUE))).await;
}

#[tokio::test]
async fn secrets_contract_holds_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_secret(SAP_SECRET_NAME, SAP_SECRET_VALUE).await?;
    secrets_contract(Arc::new(SecretsManagerStore::new(moto.secrets_manager().await))).await;
    Ok(())
}
