//! F1 end to end on real wire protocols: CDC event → sf-receiver → to-sap.fifo → sap-writer →
//! SAP Service Layer sandbox → write-back to the Salesforce sandbox.

use async_trait::async_trait;
use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::{
    assert_exactly_one_order_each_and_written_back, deliver_closed_won, opportunity, orders_per_opportunity,
};
use sandbox::FaultConfig;
use serde_json::{Value, json};
use shared::domain::{CardCode, Record, SalesforceId};
use shared::embedded::ManualClock;
use shared::engine::sap_writer::{InboundMessage, SapWriter};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::ToSap;
use shared::mapping::file::MappingFile;
use shared::ports::{Clock, Outcome, Queue, SalesforceUpdates};
use std::sync::Arc;
use std::time::Duration;

const START: i64 = 1_795_600_800_000;

async fn stack_with_clock(mut options: LocalOptions) -> (LocalStack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    options.clock = clock.clone();
    (LocalStack::start(options).await.expect("local stack starts"), clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_closed_won_event_delivered_three_times_yields_exactly_one_order_per_opportunity() {
    let (stack, clock) = stack_with_clock(LocalOptions::default()).await;
    let ids = stack.sf_sandbox.seed_closed_won(1000);

    deliver_closed_won(&stack, &ids, 3, "tx").await.unwrap();
    let first = stack.drain(u64::MAX).await.unwrap();
    assert_eq!(first.created, 1000);

    // The same changes again after the queue's 5-minute dedup window: the idempotency store stops them.
    clock.advance(Duration::from_secs(6 * 60));
    deliver_closed_won(&stack, &ids, 1, "tx").await.unwrap();
    let second = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((second.created, second.duplicates), (0, 1000), "{second:?}");

    assert_eq!(stack.sap_sandbox.orders().len(), 1000);
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
    assert!(stack.to_sap_dlq.is_empty());
}

/// A Salesforce port whose opportunity write-back never returns: the invocation dies there.
struct DiesBeforeWriteBack(Arc<dyn SalesforceUpdates>);

#[async_trait]
impl SalesforceUpdates for DiesBeforeWriteBack {
    async fn set_account_card_code(&self, account: &SalesforceId, code: &CardCode) -> shared::Result<()> {
        self.0.set_account_card_code(account, code).await
    }
    async fn update_record(&self, object: &str, id: &SalesforceId, fields: &Record) -> shared::Result<()> {
        if object == "Opportunity" {
            return std::future::pending().await;
        }
        self.0.update_record(object, id, fields).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_order_creation_and_write_back_heals_on_redelivery_without_a_second_order() {
    let (stack, clock) = stack_with_clock(LocalOptions { visibility_timeout_secs: 540, ..Default::default() }).await;
    let ids = stack.sf_sandbox.seed_closed_won(6);
    deliver_closed_won(&stack, &ids, 1, "crash").await.unwrap();

    let received = stack.to_sap.receive(10).await.unwrap();
    let batch: Vec<InboundMessage> = received.iter().map(InboundMessage::from).collect();
    let writer = stack.writer();
    let flows =
        ToSap { salesforce_updates: Arc::new(DiesBeforeWriteBack(stack.salesforce.clone())), ..writer.flows.clone() };
    let dying = SapWriter { flows, ..writer };
    let deadline = clock.now_millis() + 90_000;
    let crashed = tokio::time::timeout(Duration::from_secs(3), dying.process_batch(&batch, deadline)).await;
    assert!(crashed.is_err(), "the invocation should have died in the write-back");
    assert_eq!(stack.sap_sandbox.orders().len(), 6, "orders were created before the crash");
    assert!(opportunity(&stack, &ids[0])["SAP_DocEntry__c"].is_null());

    // SQS makes the messages visible again after the visibility timeout; the INPROGRESS locks have expired by then.
    clock.advance(Duration::from_secs(600));
    let healed = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((healed.created, healed.linked), (0, 6));
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sap_session_expiring_mid_batch_costs_one_relogin_and_no_failed_message() {
    let (stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let ids = stack.sf_sandbox.seed_closed_won(40);
    deliver_closed_won(&stack, &ids, 1, "expiry").await.unwrap();

    let before = stack.drain(2).await.unwrap();
    stack.sap_sandbox.expire_sessions();
    let after = stack.drain(u64::MAX).await.unwrap();

    assert_eq!(before.failures_reported + after.failures_reported, 0);
    assert_eq!(stack.sap_sandbox.calls().matching("POST /Login"), 2, "one login, one relogin");
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_sap_5xx_and_salesforce_limit_and_lock_errors_still_create_every_order_once() {
    let options = LocalOptions {
        max_receive_count: 1000,
        sap_faults: FaultConfig { error_rate: 0.3, seed: Some(11), ..Default::default() },
        salesforce_faults: FaultConfig {
            request_limit_rate: 0.15,
            lock_row_rate: 0.15,
            seed: Some(12),
            ..Default::default()
        },
        ..Default::default()
    };
    let (stack, _clock) = stack_with_clock(options).await;
    let ids = stack.sf_sandbox.seed_closed_won(150);
    deliver_closed_won(&stack, &ids, 1, "faults").await.unwrap();

    let stats = stack.drain(u64::MAX).await.unwrap();

    assert!(stats.failures_reported > 0, "the faults should have caused retries");
    assert!(stack.to_sap.is_empty() && stack.to_sap_dlq.is_empty(), "nothing left over, nothing dead-lettered");
    stack.sap_sandbox.faults().set(FaultConfig::default());
    stack.sf_sandbox.faults().set(FaultConfig::default());
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
}

fn account_with_card_code(stack: &LocalStack) -> String {
    stack
        .sf_sandbox
        .records("Account")
        .into_iter()
        .find(|a| a["SAP_CardCode__c"].is_string())
        .and_then(|a| a["Id"].as_str().map(String::from))
        .expect("a seeded account with a CardCode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_audited_and_dead_lettered_while_the_rest_of_its_batch_succeeds() {
    let (stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let account = account_with_card_code(&stack);
    let mut ids = stack.sf_sandbox.seed_closed_won(8);
    let poison = stack.sf_sandbox.create_opportunity(&account, "Closed Won", &["A00001", "Z99999"]);
    ids.insert(4, poison.clone());
    deliver_closed_won(&stack, &ids, 1, "poison").await.unwrap();

    let stats = stack.drain(u64::MAX).await.unwrap();

    assert_eq!((stats.batches, stats.created, stats.dead_lettered), (1, 8, 1));
    assert_eq!(stack.to_sap_dlq.len(), 1);
    assert!(stack.to_sap_dlq.messages()[0].contains(&poison));
    let trail = stack.audit.all().into_iter().filter(|e| e.record_key.ends_with(&poison)).collect::<Vec<_>>();
    let dead = trail.iter().find(|e| e.outcome == Outcome::DeadLettered).expect("a dead-letter audit item");
    assert!(dead.error.as_deref().unwrap_or("").contains("Z99999"), "reason names the product: {dead:?}");
    assert_eq!(opportunity(&stack, &poison)["SAP_Sync_Status__c"], "Failed");
    assert!(!orders_per_opportunity(&stack).contains_key(&poison));
    let good: Vec<String> = ids.into_iter().filter(|id| *id != poison).collect();
    assert_exactly_one_order_each_and_written_back(&stack, &good);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_never_reaches_sap_or_salesforce() {
    let (stack, clock) = stack_with_clock(LocalOptions::default()).await;
    let relay = |header: Value| json!({"id": "e1", "detail": {"payload": {"ChangeEventHeader": header}}});
    let header = |entity: &str, id: &str| {
        json!({"entityName": entity, "changeType": "UPDATE", "recordIds": [id], "changeOrigin": "",
               "transactionKey": "t", "sequenceNumber": 1, "commitTimestamp": START})
    };
    let bad_events = [
        (json!("not an object"), "detail"),
        (json!({"detail": {"payload": {"unexpected": true}}}), "ChangeEventHeader"),
        (relay(header("Widget__c", "006SM0000001Tb3YAE")), "unknown object"),
        (relay(header("Opportunity", "006SM0000001Tb3' OR Name != '")), "not a Salesforce id"),
        (relay(header("Opportunity", "006') or 1 eq 1 or ('")), "not a Salesforce id"),
    ];
    for (event, expected) in &bad_events {
        let err = stack.receiver().receive(event).await.expect_err("bad event rejected");
        assert!(err.to_string().contains(expected), "{err} should say {expected}");
    }
    let rejected = stack.audit.all().into_iter().filter(|e| e.outcome == Outcome::Rejected).count();
    assert_eq!(rejected, bad_events.len(), "every rejection is audited");

    let bad_bodies = [
        "not json",
        "{}",
        r#"{"record":"sf:Widget__c:a00SM0000000iibYAA","reason":"cdc:UPDATE","changed_at":1,"source_version":"v","correlation_id":"c"}"#,
        r#"{"record":"sf:Opportunity:006') or 1 eq 1","reason":"cdc:UPDATE","changed_at":1,"source_version":"v","correlation_id":"c"}"#,
    ];
    let batch: Vec<InboundMessage> = bad_bodies
        .iter()
        .enumerate()
        .map(|(i, body)| InboundMessage {
            message_id: format!("m{i}"),
            group_id: format!("g{i}"),
            body: body.to_string(),
            ..Default::default()
        })
        .collect();
    let outcome = stack.writer().process_batch(&batch, clock.now_millis() + 60_000).await;
    assert!(outcome.failures.is_empty(), "bad bodies are dead-lettered, not retried");
    assert_eq!(stack.to_sap_dlq.len(), bad_bodies.len());

    assert!(stack.to_sap.is_empty());
    assert_eq!(stack.sap_sandbox.calls().total(), 0, "nothing sent to SAP");
    assert_eq!(stack.sf_sandbox.calls().total(), 0, "nothing sent to Salesforce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_card_code_gets_one_business_partner_even_when_its_opportunities_race() {
    let (stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let prospect = stack
        .sf_sandbox
        .records("Account")
        .into_iter()
        .find(|a| a["SAP_CardCode__c"].is_null())
        .and_then(|a| a["Id"].as_str().map(String::from))
        .expect("a seeded account without a CardCode");
    let ids: Vec<String> =
        (0..3).map(|_| stack.sf_sandbox.create_opportunity(&prospect, "Closed Won", &["A00002"])).collect();
    deliver_closed_won(&stack, &ids, 1, "prospect").await.unwrap();

    stack.drain(u64::MAX).await.unwrap();

    let code = stack.sf_sandbox.record("Account", &prospect).unwrap()["SAP_CardCode__c"].as_str().map(String::from);
    let code = code.expect("CardCode written back to the account");
    assert!(stack.sap_sandbox.business_partner(&code).is_some(), "BP {code} exists in SAP");
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
    for (id, orders) in orders_per_opportunity(&stack).iter().filter(|(id, _)| ids.contains(id)) {
        assert_eq!(orders[0]["CardCode"], code.as_str(), "order of {id} is for the one new BP");
    }
}

/// An opportunity of a seeded customer with one line: 2 × A00001 at 50.00, 10 % off, to ship on
/// 2026-12-15, closing on `close_date`. Returns (opportunity id, line id).
fn discounted_opportunity(stack: &LocalStack, close_date: &str) -> (String, String) {
    let sf = &stack.sf_sandbox;
    let opp = sf.create_opportunity(&account_with_card_code(stack), "Closed Won", &["A00001"]);
    sf.update_record("Opportunity", &opp, json!({"CloseDate": close_date})).unwrap();
    let line = sf
        .records("OpportunityLineItem")
        .into_iter()
        .find(|l| l["OpportunityId"] == opp.as_str())
        .and_then(|l| l["Id"].as_str().map(String::from))
        .expect("the opportunity's line");
    sf.update_record(
        "OpportunityLineItem",
        &line,
        json!({"Quantity": 2, "UnitPrice": 50.0, "Discount": 10, "ServiceDate": "2026-12-15"}),
    )
    .unwrap();
    (opp, line)
}

/// The shipped mapping with `edit` applied to its text, validated.
fn edited_mapping(edit: impl Fn(&str) -> String) -> Arc<MappingFile> {
    let text = edit(MappingFile::shipped_text());
    Arc::new(MappingFile::parse(&text, "edited mapping.toml").unwrap_or_else(|e| panic!("{e}")))
}

/// Syncs one opportunity and returns its one SAP order.
async fn order_for(stack: &LocalStack, opp: &str) -> Value {
    deliver_closed_won(stack, &[opp.to_string()], 1, opp).await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_exactly_one_order_each_and_written_back(stack, &[opp.to_string()]);
    orders_per_opportunity(stack).remove(opp).unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_discount_and_service_date_reach_the_sap_order_through_the_mapping_file() {
    let (stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let (opp, line) = discounted_opportunity(&stack, "2026-11-25");
    assert_eq!(stack.sf_sandbox.record("OpportunityLineItem", &line).unwrap()["TotalPrice"], 90.0);

    let order = order_for(&stack, &opp).await;

    let sap_line = &order["DocumentLines"][0];
    assert_eq!(sap_line["DiscountPercent"], 10.0, "{sap_line}");
    assert_eq!(sap_line["ShipDate"], "2026-12-15T00:00:00Z");
    assert_eq!(sap_line["U_SF_LineItemId"], line.as_str(), "the line match id");
    assert_eq!((&sap_line["UnitPrice"], &sap_line["LineTotal"]), (&json!(50.0), &json!(90.0)));
    assert_eq!(order["DocTotal"], 90.0, "SAP's total agrees with the opportunity's");
    let written_back = opportunity(&stack, &opp);
    assert_eq!(written_back["SAP_DocNum__c"].as_f64(), order["DocNum"].as_f64());
    assert!(written_back["SAP_Synced_At__c"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_discount_entry_a_discounted_deal_is_refused_never_sent_at_list_price() {
    let (mut stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let entry = "  { salesforce = \"Discount\", sap = \"DiscountPercent\", owner = \"salesforce\" },\n";
    assert!(MappingFile::shipped_text().contains(entry));
    stack.mapping = edited_mapping(|text| text.replace(entry, ""));
    let (opp, _) = discounted_opportunity(&stack, "2026-11-25");

    deliver_closed_won(&stack, std::slice::from_ref(&opp), 1, &opp).await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();

    assert_eq!((stats.created, stats.dead_lettered), (0, 1), "a permanent error: {stats:?}");
    assert!(!orders_per_opportunity(&stack).contains_key(&opp), "no order at the undiscounted 100.00");
    let flagged = opportunity(&stack, &opp);
    assert_eq!(flagged["SAP_Sync_Status__c"], "Failed");
    let reason = flagged["SAP_Sync_Error__c"].as_str().unwrap();
    assert!(reason.contains("SAP would total 100.00") && reason.contains("TotalPrice is 90.00"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_added_to_the_f1_section_is_sent_with_the_order() {
    let (mut stack, _clock) = stack_with_clock(LocalOptions::default()).await;
    let (before, _) = discounted_opportunity(&stack, "2026-12-20");
    assert_eq!(order_for(&stack, &before).await["TaxDate"], "2026-11-25T00:00:00Z", "SAP's default: DocDate");

    let due_date = "  { salesforce = \"CloseDate\", sap = \"DocDueDate\", owner = \"salesforce\" },\n";
    let tax_date = "  { salesforce = \"CloseDate\", sap = \"TaxDate\", owner = \"salesforce\" },\n";
    stack.mapping = edited_mapping(|text| text.replacen(due_date, &format!("{due_date}{tax_date}"), 1));
    let (after, _) = discounted_opportunity(&stack, "2026-12-20");

    let order = order_for(&stack, &after).await;

    assert_eq!(order["TaxDate"], "2026-12-20T00:00:00Z", "{order}");
    assert_eq!(order["DocDueDate"], "2026-12-20T00:00:00Z");
}

/// The audit actions recorded for `record_key`'s record, oldest first.
fn actions_for(stack: &LocalStack, opp: &str) -> Vec<String> {
    let key = format!("sf:Opportunity:{opp}");
    stack.audit.all().iter().filter(|e| e.record_key == key).map(|e| e.action.to_string()).collect()
}

/// On a company with an approval procedure on sales orders, `POST /Orders` saves a draft and SAP
/// answers -2028. F1 finds the draft (never a second one, however often the change is delivered),
/// says `Pending approval` on the opportunity; once approved, the poller's F5 links the order; a
/// rejected draft is reported and dead-lettered, not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_an_approval_procedure_f1_keeps_one_draft_and_the_approved_order_is_linked_by_f5() {
    let (stack, clock) = stack_with_clock(LocalOptions::default()).await;
    stack.sap_sandbox.set_order_approval(true);
    let (approved_opp, _) = discounted_opportunity(&stack, "2026-11-25");
    let (rejected_opp, _) = discounted_opportunity(&stack, "2026-11-26");
    let both = [approved_opp.clone(), rejected_opp.clone()];

    deliver_closed_won(&stack, &both, 2, "first").await.unwrap();
    let first = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((first.created, first.skipped, first.dead_lettered), (0, 2, 0), "{first:?}");
    // A later change of the same opportunities (past the dedup window) finds the drafts again.
    clock.advance(Duration::from_secs(6 * 60));
    deliver_closed_won(&stack, &both, 1, "again").await.unwrap();
    let again = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((again.created, again.skipped, again.dead_lettered), (0, 2, 0), "{again:?}");

    let drafts = stack.sap_sandbox.documents("Drafts");
    assert_eq!(drafts.len(), 2, "one draft per opportunity, however often it is delivered");
    assert!(stack.sap_sandbox.orders().is_empty());
    let draft_of = |opp: &str| {
        drafts.iter().find(|d| d["U_SF_OpportunityId"] == opp).and_then(|d| d["DocEntry"].as_i64()).unwrap()
    };
    for opp in &both {
        let written = opportunity(&stack, opp);
        assert_eq!(written["SAP_Sync_Status__c"], "Pending approval", "{written}");
        let message = written["SAP_Sync_Error__c"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("draft DocEntry {}", draft_of(opp))), "{message}");
        assert!(written["SAP_DocEntry__c"].is_null());
        assert_eq!(actions_for(&stack, opp).iter().filter(|a| *a == "order_draft_pending").count(), 2);
    }

    // The approver accepts one draft: the order appears in SAP and F5 links it to its opportunity.
    let order_entry = stack.sap_sandbox.approve_order_draft(draft_of(&approved_opp)).unwrap();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let linked = opportunity(&stack, &approved_opp);
    assert_eq!(linked["SAP_DocEntry__c"].as_f64(), Some(order_entry as f64), "{linked}");
    assert_eq!(linked["SAP_Sync_Status__c"], "Synced");
    assert!(linked["SAP_Sync_Error__c"].is_null());

    // The other is rejected: the next change of that opportunity is a permanent failure with the reason.
    stack.sap_sandbox.reject_order_draft(draft_of(&rejected_opp)).unwrap();
    clock.advance(Duration::from_secs(6 * 60));
    deliver_closed_won(&stack, std::slice::from_ref(&rejected_opp), 1, "after-rejection").await.unwrap();
    let rejected = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((rejected.created, rejected.dead_lettered), (0, 1), "{rejected:?}");
    let failed = opportunity(&stack, &rejected_opp);
    assert_eq!(failed["SAP_Sync_Status__c"], "Failed");
    assert!(failed["SAP_Sync_Error__c"].as_str().unwrap_or_default().contains("rejected"), "{failed}");
    assert_eq!(stack.sap_sandbox.documents("Drafts").len(), 2, "no new draft");
    assert_eq!(stack.sap_sandbox.orders().len(), 1, "only the approved order");
}
