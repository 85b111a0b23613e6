//! The SyncState contract, run against the embedded twin and against the DynamoDB adapter on moto_server,
//! so the twin pollers and writers are tested with cannot drift from what DynamoDB's conditions decide.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::moto::MotoServer;
use shared::aws::DynamoSyncState;
use shared::domain::EpochMillis;
use shared::domain::echo::WrittenFields;
use shared::domain::state::{Direction, Watermark};
use shared::embedded::{EmbeddedSyncState, EmbeddedWriteLedger};
use shared::error::Error;
use shared::ports::{SyncState, WriteLedger};

/// Some instant in 2027; the store takes time as arguments, so any fixed value works on both backends.
const T0: EpochMillis = 1_800_000_000_000;
const SECOND: EpochMillis = 1000;
const TABLE: &str = "sync-state";

async fn sync_state_contract(state: &dyn SyncState) {
    hashes_are_kept_per_record_and_direction(state).await;
    a_watermark_moves_forward_only_and_an_equal_one_is_a_no_op(state).await;
    concurrent_advances_end_at_the_furthest_watermark(state).await;
    a_malformed_watermark_is_refused_and_changes_nothing(state).await;
    the_caught_up_instant_only_moves_later(state).await;
    a_link_answers_both_ways_and_never_re_points(state).await;
    a_merge_moves_a_link_to_the_winner_once_and_never_steals_a_third_records(state).await;
    a_live_lease_keeps_other_owners_out_until_it_runs_out(state).await;
    of_two_concurrent_acquires_exactly_one_wins(state).await;
    only_the_owner_releases_a_lease(state).await;
}

fn watermark(date: &str, time: &str, key: &str, doc_entry: Option<i64>) -> Watermark {
    Watermark { date: date.into(), time: time.into(), key: key.into(), doc_entry }
}

async fn the_caught_up_instant_only_moves_later(state: &dyn SyncState) {
    assert_eq!(state.caught_up_at("Items").await.unwrap(), None);
    state.record_caught_up("Items", T0).await.unwrap();
    state.record_caught_up("Items", T0 - SECOND).await.expect("an older run finishing late is not an error");
    assert_eq!(state.caught_up_at("Items").await.unwrap(), Some(T0), "a later instant stays");
    state.record_caught_up("Items", T0 + SECOND).await.unwrap();
    assert_eq!(state.caught_up_at("Items").await.unwrap(), Some(T0 + SECOND));
    assert_eq!(state.caught_up_at("Orders").await.unwrap(), None, "per entity");
}

async fn hashes_are_kept_per_record_and_direction(state: &dyn SyncState) {
    let record = "sap:BusinessPartners:C20000";
    assert_eq!(state.last_hash(record, Direction::SapToSf).await.unwrap(), None);

    state.put_hash(record, Direction::SapToSf, "hash-out", T0).await.expect("put_hash");
    state.put_hash(record, Direction::SfToSap, "hash-in", T0).await.expect("put_hash");
    state.put_hash("sap:BusinessPartners:C20001", Direction::SapToSf, "other", T0).await.expect("put_hash");
    assert_eq!(state.last_hash(record, Direction::SapToSf).await.unwrap().as_deref(), Some("hash-out"));
    assert_eq!(state.last_hash(record, Direction::SfToSap).await.unwrap().as_deref(), Some("hash-in"));

    state.put_hash(record, Direction::SapToSf, "hash-out-2", T0 + SECOND).await.expect("put_hash");
    assert_eq!(state.last_hash(record, Direction::SapToSf).await.unwrap().as_deref(), Some("hash-out-2"));
    assert_eq!(state.last_hash(record, Direction::SfToSap).await.unwrap().as_deref(), Some("hash-in"));
}

async fn a_watermark_moves_forward_only_and_an_equal_one_is_a_no_op(state: &dyn SyncState) {
    let entity = "BusinessPartners";
    assert_eq!(state.watermark(entity).await.unwrap(), None);

    let first = watermark("2026-11-02", "10:00:00", "C100", None);
    assert!(state.advance_watermark(entity, &first).await.unwrap(), "the first watermark is stored");
    assert!(!state.advance_watermark(entity, &first).await.unwrap(), "an equal watermark does not move it");
    let older = watermark("2026-11-02", "09:59:59", "C999", None);
    assert!(!state.advance_watermark(entity, &older).await.unwrap(), "a stale writer loses");
    assert_eq!(state.watermark(entity).await.unwrap(), Some(first));

    let next = watermark("2026-11-02", "10:00:00", "C101", None);
    assert!(state.advance_watermark(entity, &next).await.unwrap());
    assert_eq!(state.watermark(entity).await.unwrap(), Some(next));

    // IncomingPayments have no UpdateDate: the DocEntry alone is the high-water mark, compared as a number.
    let payments = "IncomingPayments";
    state.advance_watermark(payments, &watermark("", "", "", Some(9))).await.unwrap();
    assert!(state.advance_watermark(payments, &watermark("", "", "", Some(10))).await.unwrap());
    assert_eq!(state.watermark(payments).await.unwrap(), Some(watermark("", "", "", Some(10))));
    assert_eq!(state.watermark(entity).await.unwrap().unwrap().key, "C101", "entities keep their own watermarks");
}

async fn concurrent_advances_end_at_the_furthest_watermark(state: &dyn SyncState) {
    let entity = "Orders";
    let candidates: Vec<Watermark> =
        [7, 3, 12, 1, 12, 9, 5].iter().map(|entry| watermark("2026-11-03", "08:00:00", "", Some(*entry))).collect();
    let results = futures::future::join_all(candidates.iter().map(|to| state.advance_watermark(entity, to))).await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!(state.watermark(entity).await.unwrap(), candidates.iter().max().cloned());
    let moved = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert!((1..candidates.len()).contains(&moved), "the repeated maximum moves it at most once: {moved}");
}

async fn a_malformed_watermark_is_refused_and_changes_nothing(state: &dyn SyncState) {
    let entity = "Items";
    let stored = watermark("2026-11-02", "10:00:00", "A1", None);
    state.advance_watermark(entity, &stored).await.unwrap();
    // The Service Layer's v2 date format, not normalized: as text it would sort after every real date.
    let raw = watermark("2026-11-03T00:00:00Z", "", "A1", None);
    let err = state.advance_watermark(entity, &raw).await.expect_err("refused");
    assert!(matches!(err, Error::Invalid(_)) && !err.is_retryable(), "{err}");
    assert_eq!(state.watermark(entity).await.unwrap(), Some(stored));
}

async fn a_link_answers_both_ways_and_never_re_points(state: &dyn SyncState) {
    let (account, card_code) = ("sf:Account:001000000000001AAA", "sap:BusinessPartners:C20000");
    assert_eq!(state.sap_key_for(account).await.unwrap(), None);
    state.link(account, card_code).await.expect("link");
    assert_eq!(state.sap_key_for(account).await.unwrap().as_deref(), Some(card_code));
    assert_eq!(state.salesforce_key_for(card_code).await.unwrap().as_deref(), Some(account));
    state.link(account, card_code).await.expect("linking the same pair again is fine");

    let other_account = "sf:Account:001000000000002AAA";
    let other_card_code = "sap:BusinessPartners:C20001";
    for (sf, sap) in [(account, other_card_code), (other_account, card_code)] {
        let err = state.link(sf, sap).await.expect_err("re-pointing a link is refused");
        assert!(matches!(err, Error::Invalid(_)) && !err.is_retryable(), "{err}");
    }
    assert_eq!(state.salesforce_key_for(other_card_code).await.unwrap(), None, "a refused link writes neither side");
    assert_eq!(state.sap_key_for(other_account).await.unwrap(), None, "a refused link writes neither side");
    assert_eq!(state.sap_key_for(account).await.unwrap().as_deref(), Some(card_code));
}

async fn a_merge_moves_a_link_to_the_winner_once_and_never_steals_a_third_records(state: &dyn SyncState) {
    let (loser, winner, partner) =
        ("sf:Account:001000000000011AAA", "sf:Account:001000000000012AAA", "sap:BusinessPartners:C20011");
    state.link(loser, partner).await.unwrap();
    for _ in 0..2 {
        state.move_link(loser, winner, partner).await.expect("moved, then a no-op");
        assert_eq!(state.salesforce_key_for(partner).await.unwrap().as_deref(), Some(winner));
        assert_eq!(state.sap_key_for(winner).await.unwrap().as_deref(), Some(partner));
        assert_eq!(state.sap_key_for(loser).await.unwrap(), None);
    }
    let err = state.move_link("sf:Account:001000000000013AAA", loser, partner).await.expect_err("a third record's");
    assert!(matches!(err, Error::Invalid(_)) && !err.is_retryable(), "{err}");
    assert_eq!(state.salesforce_key_for(partner).await.unwrap().as_deref(), Some(winner), "nothing written");
}

async fn a_live_lease_keeps_other_owners_out_until_it_runs_out(state: &dyn SyncState) {
    let name = "sap-poller:BusinessPartners";
    let lease = state.acquire_lease(name, "run-1", T0, T0 + 60 * SECOND).await.expect("a free lease");
    assert_eq!((lease.name.as_str(), lease.owner.as_str(), lease.until), (name, "run-1", T0 + 60 * SECOND));

    let refused = state.acquire_lease(name, "run-2", T0 + 60 * SECOND, T0 + 120 * SECOND).await;
    assert!(matches!(&refused, Err(Error::InProgress(m)) if m.contains("run-1")), "{refused:?}");
    assert!(refused.unwrap_err().is_retryable());

    let renewed = state.acquire_lease(name, "run-1", T0 + 30 * SECOND, T0 + 90 * SECOND).await.expect("renewal");
    assert_eq!(renewed.until, T0 + 90 * SECOND);
    let still_refused = state.acquire_lease(name, "run-2", T0 + 61 * SECOND, T0 + 121 * SECOND).await;
    assert!(matches!(still_refused, Err(Error::InProgress(_))), "the renewal extended it: {still_refused:?}");

    // run-1 crashed without releasing; its lease ran out at T0 + 90 s.
    let taken = state.acquire_lease(name, "run-2", T0 + 91 * SECOND, T0 + 151 * SECOND).await.expect("expired");
    assert_eq!(taken.owner, "run-2");
    let late = state.acquire_lease(name, "run-1", T0 + 92 * SECOND, T0 + 152 * SECOND).await;
    assert!(matches!(late, Err(Error::InProgress(_))), "the old owner cannot take it back: {late:?}");
}

async fn of_two_concurrent_acquires_exactly_one_wins(state: &dyn SyncState) {
    let name = "sap-poller:Orders";
    let (a, b) = tokio::join!(
        state.acquire_lease(name, "run-a", T0, T0 + 60 * SECOND),
        state.acquire_lease(name, "run-b", T0, T0 + 60 * SECOND)
    );
    let won = [&a, &b].iter().filter(|r| r.is_ok()).count();
    let refused = [&a, &b].iter().filter(|r| matches!(r, Err(Error::InProgress(_)))).count();
    assert_eq!((won, refused), (1, 1), "{a:?} / {b:?}");
}

async fn only_the_owner_releases_a_lease(state: &dyn SyncState) {
    let name = "sap-poller:Items";
    state.acquire_lease(name, "run-1", T0, T0 + 60 * SECOND).await.expect("acquire");
    state.release_lease(name, "run-2").await.expect("a stranger's release is not an error");
    let refused = state.acquire_lease(name, "run-2", T0 + SECOND, T0 + 61 * SECOND).await;
    assert!(matches!(refused, Err(Error::InProgress(_))), "a stranger's release did nothing: {refused:?}");

    state.release_lease(name, "run-1").await.expect("release");
    state.acquire_lease(name, "run-2", T0 + 2 * SECOND, T0 + 62 * SECOND).await.expect("free after release");
    state.release_lease("sap-poller:never-taken", "run-1").await.expect("releasing an absent lease is fine");
}

#[tokio::test]
async fn sync_state_contract_holds_embedded() {
    sync_state_contract(&EmbeddedSyncState::new()).await;
}

#[tokio::test]
async fn sync_state_contract_holds_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_sync_state_table(TABLE).await?;
    let dynamodb = moto.dynamodb().await;
    sync_state_contract(&DynamoSyncState::new(dynamodb.clone(), TABLE.into())).await;

    // Items sit where the table's documented layout says, so operators can find and fix them by hand.
    let watermark = get_item(&dynamodb, "watermark#IncomingPayments", "-").await?;
    assert_eq!(watermark["doc_entry"], AttributeValue::N("10".into()));
    let hash = get_item(&dynamodb, "hash#sap:BusinessPartners:C20000", "sap->sf").await?;
    assert_eq!(hash["hash"], AttributeValue::S("hash-out-2".into()));
    let xref = get_item(&dynamodb, "xref#sap#sap:BusinessPartners:C20000", "-").await?;
    assert_eq!(xref["salesforce_key"], AttributeValue::S("sf:Account:001000000000001AAA".into()));
    let lease = get_item(&dynamodb, "lease#sap-poller:Items", "-").await?;
    assert_eq!(lease["owner"], AttributeValue::S("run-2".into()));
    assert_eq!(lease["expiration"], AttributeValue::N(((T0 + 62 * SECOND) / 1000).to_string()), "TTL in epoch seconds");
    Ok(())
}

async fn get_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    pk: &str,
    sk: &str,
) -> anyhow::Result<std::collections::HashMap<String, AttributeValue>> {
    let output = dynamodb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await?;
    output.item.ok_or_else(|| anyhow::anyhow!("no sync-state item {pk} / {sk}"))
}

/// The write ledger (#12 item 8): what one write adds up with the last, until it expires.
async fn write_ledger_contract(ledger: &dyn WriteLedger) {
    let key = "sf:Account:001000000000001AAA";
    let fields = |value: serde_json::Value| WrittenFields::of(value.as_object().unwrap());
    assert_eq!(ledger.written(key, T0).await.unwrap(), None);
    ledger.remember(&[(key.into(), fields(serde_json::json!({"Phone": "1"})))], T0, T0 + 60 * SECOND).await.unwrap();
    let later = fields(serde_json::json!({"Phone": "2", "Fax": "3"}));
    ledger.remember(&[(key.into(), later.clone())], T0 + SECOND, T0 + 61 * SECOND).await.unwrap();
    let both = fields(serde_json::json!({"Phone": "1"})).merged(&later);
    assert_eq!(ledger.written(key, T0 + 2 * SECOND).await.unwrap(), Some(both));
    assert_eq!(ledger.written(key, T0 + 61 * SECOND).await.unwrap(), None, "expired, whether or not TTL has run");
    ledger.remember(&[(key.into(), later.clone())], T0 + 70 * SECOND, T0 + 130 * SECOND).await.unwrap();
    assert_eq!(ledger.written(key, T0 + 71 * SECOND).await.unwrap(), Some(later), "an expired entry adds nothing");
}

#[tokio::test]
async fn write_ledger_contract_holds_embedded() {
    write_ledger_contract(&EmbeddedWriteLedger::new()).await;
}

#[tokio::test]
async fn write_ledger_contract_holds_on_moto() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_sync_state_table(TABLE).await?;
    let dynamodb = moto.dynamodb().await;
    write_ledger_contract(&DynamoSyncState::new(dynamodb.clone(), TABLE.into())).await;
    let item = get_item(&dynamodb, "written#sf:Account:001000000000001AAA", "-").await?;
    assert_eq!(item["expiration"], AttributeValue::N(((T0 + 130 * SECOND) / 1000).to_string()), "TTL in epoch seconds");
    Ok(())
}
