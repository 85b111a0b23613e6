//! F4–F7 end to end on the sandboxes: the sap-poller reads what changed in SAP, the sf-writer
//! writes it to Salesforce in sObject Collections, parents before children.

use b1force_cli::local::{LocalOptions, LocalStack, change_event};
use serde_json::{Value, json};
use shared::domain::state::Direction;
use shared::domain::{Notification, RecordKey};
use shared::engine::sf_receiver::Receiver;
use shared::engine::sf_writer::{SfWriterSettings, Stop, WriterRun};
use shared::ports::{Clock, Outcome, OutgoingMessage, Queue};

async fn started() -> LocalStack {
    LocalStack::start(LocalOptions::default()).await.unwrap()
}

/// Polls every entity and drains `to-salesforce.fifo`; panics on anything dead-lettered.
async fn sync(stack: &LocalStack) -> WriterRun {
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!(run.dead_lettered, 0, "{errors:?}");
    assert_eq!(run.stopped, Stop::QueueEmpty);
    run
}

fn write_calls(stack: &LocalStack) -> u64 {
    let calls = stack.sf_sandbox.calls().snapshot();
    calls.iter().filter(|(name, _)| !name.starts_with("GET") && !name.contains("oauth2")).map(|(_, n)| n).sum()
}

fn by_field(records: &[Value], field: &str, value: &str) -> Vec<Value> {
    records.iter().filter(|r| r[field] == value).cloned().collect()
}

#[tokio::test]
async fn business_partners_items_and_invoices_reach_salesforce_and_a_rerun_is_no_work() {
    let stack = started().await;
    let bp = stack.sap_sandbox.business_partner("C20000").unwrap();
    let run = sync(&stack).await;
    assert!(run.written > 100, "{run:?}");

    // F4: the account with this CardCode carries SAP's balances; no second account was made.
    let accounts = stack.sf_sandbox.records("Account");
    let acme = by_field(&accounts, "SAP_CardCode__c", "C20000");
    assert_eq!(acme.len(), 1);
    assert_eq!(acme[0]["SAP_Credit_Limit__c"].as_f64(), bp["CreditLimit"].as_f64());
    assert_eq!(acme[0]["SAP_Balance__c"].as_f64(), bp["CurrentAccountBalance"].as_f64());
    assert!(acme[0]["SAP_Synced_At__c"].is_string());
    // F6: every invoice and credit note is one record, linked to its account.
    let invoices = stack.sf_sandbox.records("SAP_Invoice__c");
    let sap_invoices = stack.sap_sandbox.documents("Invoices");
    let sap_credit_notes = stack.sap_sandbox.documents("CreditNotes");
    assert_eq!(invoices.len(), sap_invoices.len() + sap_credit_notes.len());
    let first = &sap_invoices[0];
    let key = format!("Invoices/{}", first["DocEntry"]);
    let written = &by_field(&invoices, "SAP_Document_Key__c", &key)[0];
    assert_eq!(written["Amount__c"].as_f64(), first["DocTotal"].as_f64());
    let account = by_field(&accounts, "SAP_CardCode__c", first["CardCode"].as_str().unwrap());
    assert_eq!(written["Account__c"], account[0]["Id"]);
    // F7: one product per item, each with a standard price book entry when it has a list-1 price.
    let products = stack.sf_sandbox.records("Product2");
    let item = stack.sap_sandbox.item("A00001").unwrap();
    let widget = &by_field(&products, "SAP_ItemCode__c", "A00001")[0];
    assert_eq!(widget["Name"], item["ItemName"]);
    let price = item["ItemPrices"].as_array().unwrap().iter().find(|p| p["PriceList"] == 1).unwrap()["Price"].clone();
    let entries = by_field(&stack.sf_sandbox.records("PricebookEntry"), "Product2Id", widget["Id"].as_str().unwrap());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["UnitPrice"].as_f64(), price.as_f64());

    // F5: sales orders entered in SAP (no opportunity id) become Salesforce Orders of their accounts.
    let sap_orders: Vec<Value> = stack
        .sap_sandbox
        .documents("Orders")
        .into_iter()
        .filter(|o| o["U_SF_OpportunityId"].as_str().is_none_or(str::is_empty))
        .collect();
    assert!(!sap_orders.is_empty());
    let orders = stack.sf_sandbox.records("Order");
    assert_eq!(orders.len(), sap_orders.len());
    let order = &by_field(&orders, "SAP_Order_Key__c", &format!("Orders/{}", sap_orders[0]["DocEntry"]))[0];
    let customer = by_field(&accounts, "SAP_CardCode__c", sap_orders[0]["CardCode"].as_str().unwrap());
    assert_eq!(order["AccountId"], customer[0]["Id"]);
    assert_eq!(order["Status"], "Draft");
    assert_eq!(order["SAP_DocNum__c"].as_f64(), sap_orders[0]["DocNum"].as_f64());
    assert_eq!(order["SAP_Expected_Ship_Date__c"], sap_orders[0]["DocDueDate"].as_str().unwrap()[..10]);
    // Its lines are its products, in the standard price book, priced from SAP's line totals.
    let order_products = stack.sf_sandbox.records("OrderItem");
    for sap_order in &sap_orders {
        let key = format!("Orders/{}", sap_order["DocEntry"]);
        let order = &by_field(&orders, "SAP_Order_Key__c", &key)[0];
        let lines = sap_order["DocumentLines"].as_array().unwrap();
        let of_order = by_field(&order_products, "OrderId", order["Id"].as_str().unwrap());
        assert_eq!(of_order.len(), lines.len(), "{key}");
        let local: f64 = lines.iter().map(|l| l["LineTotal"].as_f64().unwrap()).sum();
        assert_eq!(order["TotalAmount"].as_f64(), Some(local), "{key}");
        for line in lines {
            let product = &by_field(&of_order, "SAP_Line_Key__c", &format!("{key}/{}", line["LineNum"]))[0];
            let item = &by_field(&products, "SAP_ItemCode__c", line["ItemCode"].as_str().unwrap())[0];
            assert_eq!(
                (&product["Product2Id"], product["Quantity"].as_f64()),
                (&item["Id"], line["Quantity"].as_f64())
            );
        }
    }

    // Every record notified again (a replay, an overlapping poll): nothing changed, so nothing is written.
    let calls_before = write_calls(&stack);
    let replays: Vec<OutgoingMessage> = stack
        .audit
        .all()
        .iter()
        .filter(|e| e.direction == Direction::SapToSf && e.outcome == Outcome::Succeeded)
        .map(|e| replay(&e.record_key))
        .collect();
    stack.to_salesforce.send(&replays).await.unwrap();
    let again = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((again.messages, again.skipped, again.written), (run.written, run.written, 0), "{again:?}");
    assert_eq!(write_calls(&stack), calls_before);
}

/// A fresh notification for a record, as `replay` or an overlapping poll would send.
fn replay(record_key: &str) -> OutgoingMessage {
    let note = Notification {
        record: RecordKey::parse(record_key).unwrap(),
        reason: "replay".into(),
        changed_at: 0,
        source_version: "replay".into(),
        correlation_id: "test".into(),
    };
    OutgoingMessage::from(&note)
}

#[tokio::test]
async fn a_credit_change_in_sap_updates_the_account_and_raises_the_alert() {
    let stack = started().await;
    sync(&stack).await;
    let balance = stack.sap_sandbox.business_partner("C20001").unwrap()["CurrentAccountBalance"].as_f64().unwrap();
    let limit = (balance / 0.95).max(1.0);
    stack.sap_sandbox.user_update("BusinessPartners", "C20001", json!({"CreditLimit": limit})).unwrap();
    let calls_before = write_calls(&stack);
    let run = sync(&stack).await;
    assert_eq!(run.written, 1, "{run:?}");
    let account = by_field(&stack.sf_sandbox.records("Account"), "SAP_CardCode__c", "C20001").remove(0);
    assert_eq!(account["SAP_Credit_Limit__c"].as_f64(), Some(limit));
    assert_eq!(account["SAP_Credit_Alert__c"], balance > 0.0);
    // One account upsert (its contacts did not change... but they are part of the record's writes).
    assert!(write_calls(&stack) - calls_before <= 2);
}

#[tokio::test]
async fn records_salesforce_rejects_fail_alone_and_are_audited_with_the_code() {
    let stack = started().await;
    stack.sf_sandbox.add_validation_rule("Account", "Phone", "000-BAD", "Phone is not a valid number");
    for code in ["C20003", "C20007"] {
        stack.sap_sandbox.user_update("BusinessPartners", code, json!({"Phone1": "000-BAD"})).unwrap();
    }
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 2, "{run:?}");
    assert_eq!(stack.to_salesforce_dlq.len(), 2);
    let accounts = stack.sf_sandbox.records("Account");
    assert_ne!(by_field(&accounts, "SAP_CardCode__c", "C20004")[0]["SAP_Synced_At__c"], Value::Null);
    for code in ["C20003", "C20007"] {
        let trail = stack.audit.all().into_iter().filter(|e| e.record_key == format!("sap:BusinessPartners:{code}"));
        let dead: Vec<_> = trail.filter(|e| e.outcome == Outcome::DeadLettered).collect();
        assert_eq!(dead.len(), 1, "{code}");
        assert_eq!(dead[0].error_code.as_deref(), Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"));
        assert_eq!(by_field(&accounts, "SAP_CardCode__c", code)[0]["SAP_Synced_At__c"], Value::Null);
    }
}

#[tokio::test]
async fn below_the_api_headroom_the_writer_stops_and_leaves_work_queued_until_the_limit_resets() {
    let stack = started().await;
    stack.sf_sandbox.set_api_usage(9_500, 10_000);
    let settings = SfWriterSettings { round_size: 20, ..SfWriterSettings::default() };
    let (_, first) = stack.sync_from_sap(settings.clone()).await.unwrap();
    assert!(matches!(first.stopped, Stop::Budget { .. }), "{first:?}");
    assert!(first.messages <= 20, "one round at most before the first reading: {first:?}");
    let queued = stack.to_salesforce.len();
    assert!(queued > 100);
    assert_eq!(stack.to_salesforce_dlq.len(), 0);

    // A later run sees the same low budget and takes nothing.
    let second = stack.sf_writer(settings.clone()).run(i64::MAX).await.unwrap();
    assert!(matches!(second.stopped, Stop::Budget { .. }));
    assert_eq!((second.messages, stack.to_salesforce.len()), (0, queued));

    // The rolling window frees calls: the next run refreshes its reading and drains everything.
    stack.sf_sandbox.set_api_usage(100, 10_000);
    let third = stack.sf_writer(settings).run(i64::MAX).await.unwrap();
    assert_eq!(third.stopped, Stop::QueueEmpty, "{third:?}");
    assert_eq!((stack.to_salesforce.len(), stack.to_salesforce_dlq.len()), (0, 0));
    assert_eq!(third.dead_lettered, 0);
}

#[tokio::test]
async fn without_view_setup_the_writer_budgets_from_sforce_limit_info_when_limits_is_refused() {
    let stack = started().await;
    stack.sf_sandbox.set_user_permissions(&["ApiEnabled"]);
    stack.sf_sandbox.set_api_usage(9_500, 10_000);
    let settings = SfWriterSettings { round_size: 20, ..SfWriterSettings::default() };
    let (_, first) = stack.sync_from_sap(settings.clone()).await.unwrap();
    assert!(matches!(first.stopped, Stop::Budget { .. }), "{first:?}");
    stack.sf_sandbox.set_api_usage(100, 10_000);
    let second = stack.sf_writer(settings).run(i64::MAX).await.unwrap();
    assert_eq!(second.stopped, Stop::QueueEmpty, "the refused /limits still carried a fresh reading: {second:?}");
    assert_eq!(second.dead_lettered, 0);
    assert!(stack.sf_sandbox.calls().matching("GET limits") >= 1, "the refresh asked /limits and was refused");
}

#[tokio::test]
async fn request_limit_refusals_leave_the_round_queued_for_a_back_off_not_in_the_dlq() {
    let stack = started().await;
    stack.sf_sandbox.set_api_usage(10_000, 10_000);
    let (_, run) =
        stack.sync_from_sap(SfWriterSettings { round_size: 50, ..SfWriterSettings::default() }).await.unwrap();
    assert_eq!(run.stopped, Stop::RequestLimit, "{run:?}");
    assert_eq!(run.written + run.dead_lettered, 0);
    assert_eq!(run.retried, run.messages);
    assert_eq!(stack.to_salesforce_dlq.len(), 0);
    let audited = stack.audit.all();
    assert!(audited.iter().any(|e| e.error_code.as_deref() == Some("REQUEST_LIMIT_EXCEEDED")));
}

#[tokio::test]
async fn a_credit_memo_refreshes_the_billing_context_of_the_customers_open_cases() {
    let stack = started().await;
    sync(&stack).await;
    let account = by_field(&stack.sf_sandbox.records("Account"), "SAP_CardCode__c", "C20002").remove(0);
    let account_id = account["Id"].as_str().unwrap();
    let open = stack
        .sf_sandbox
        .create_record("Case", json!({"AccountId": account_id, "Subject": "Invoice query", "Status": "New"}))
        .unwrap();
    let closed = stack
        .sf_sandbox
        .create_record("Case", json!({"AccountId": account_id, "Subject": "Old", "Status": "Closed"}))
        .unwrap();
    stack
        .sap
        .post(
            "CreditNotes",
            &json!({"CardCode": "C20002", "DocDate": "2026-11-25", "DocumentLines": [
                {"ItemCode": "A00001", "Quantity": 1, "UnitPrice": 50.0}
            ]}),
        )
        .await
        .unwrap();
    let run = sync(&stack).await;
    // The credit note, and its customer whose balance it lowered.
    assert!(run.written >= 1, "{run:?}");
    let case = stack.sf_sandbox.record("Case", &open).unwrap();
    let context = case["SAP_Billing_Context__c"].as_str().expect("the open case got the billing context");
    assert!(context.contains("overdue"), "{context}");
    assert!(case["SAP_Overdue_Amount__c"].as_f64().is_some_and(|a| a > 0.0), "{case}");
    assert!(case["SAP_Synced_At__c"].is_string(), "F3's derived sync time is written too: {case}");
    assert_eq!(stack.sf_sandbox.record("Case", &closed).unwrap()["SAP_Billing_Context__c"], Value::Null);
    let credit_notes = by_field(&stack.sf_sandbox.records("SAP_Invoice__c"), "Type__c", "Credit Note");
    assert_eq!(credit_notes.len(), stack.sap_sandbox.documents("CreditNotes").len());
}

/// Delivers the CDC events of the Salesforce changes logged since `cursor` and drains the sap-writer.
async fn deliver_to_sap(stack: &LocalStack, cursor: usize) {
    for change in &stack.sf_sandbox.changes()[cursor..] {
        let _ = stack.receiver().receive(&change_event(change)).await;
    }
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!(stats.dead_lettered, 0, "{stats:?}");
}

#[tokio::test]
async fn the_echo_of_our_own_write_to_sap_is_no_work_but_a_pending_sap_change_still_syncs() {
    let stack = started().await;
    sync(&stack).await;
    let account = by_field(&stack.sf_sandbox.records("Account"), "SAP_CardCode__c", "C20005").remove(0);
    let id = account["Id"].as_str().unwrap().to_string();

    // The first F2 sync of a seeded account also aligns its addresses and contacts (rows with keys
    // only SAP assigns); the sf-writer carries those back once.
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.update_record("Account", &id, json!({"Phone": "+1 555 0099"})).unwrap();
    deliver_to_sap(&stack, cursor).await;
    sync(&stack).await;

    // Salesforce -> SAP (F2), then the poller sees the partner changed: our own write, no work.
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.update_record("Account", &id, json!({"Phone": "+1 555 0100"})).unwrap();
    deliver_to_sap(&stack, cursor).await;
    assert_eq!(stack.sap_sandbox.business_partner("C20005").unwrap()["Phone1"], "+1 555 0100");
    let calls_before = write_calls(&stack);
    let echo = sync(&stack).await;
    assert_eq!((echo.written, echo.skipped), (0, 1), "{echo:?}");
    assert_eq!(write_calls(&stack), calls_before);

    // An SAP change not yet synced when Salesforce writes the partner again still reaches Salesforce.
    stack.sap_sandbox.user_update("BusinessPartners", "C20005", json!({"CreditLimit": 12345.0})).unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.update_record("Account", &id, json!({"Phone": "+1 555 0101"})).unwrap();
    deliver_to_sap(&stack, cursor).await;
    let run = sync(&stack).await;
    assert_eq!(run.written, 1, "{run:?}");
    let account = stack.sf_sandbox.record("Account", &id).unwrap();
    assert_eq!(account["SAP_Credit_Limit__c"].as_f64(), Some(12345.0));
    assert_eq!(account["Phone"], "+1 555 0101");
}

#[tokio::test]
async fn stock_moves_and_price_list_updates_reach_products_though_they_leave_update_date_alone() {
    let stack = started().await;
    sync(&stack).await;
    let item_before = stack.sap_sandbox.item("A00002").unwrap();
    // Postings move stock and price list updates change prices without touching the item's UpdateDate.
    stack.sap_sandbox.move_stock("A00002", -3.0).unwrap();
    stack.sap_sandbox.set_price("A00003", 1, 99.5).unwrap();
    let item_after = stack.sap_sandbox.item("A00002").unwrap();
    assert_eq!(item_after["UpdateDate"], item_before["UpdateDate"]);

    let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let enqueued = |entity: &str| polls.iter().find(|p| p.entity == entity).unwrap().enqueued;
    // The stamped Items poll finds nothing new (its lookback re-read is dropped by FIFO dedup).
    assert_eq!((enqueued("Stock"), enqueued("PriceLists")), (1, 1), "{polls:?}");
    assert_eq!((run.written, run.dead_lettered), (2, 0), "{run:?}");
    let products = stack.sf_sandbox.records("Product2");
    let moved = by_field(&products, "SAP_ItemCode__c", "A00002").remove(0);
    assert_eq!(moved["SAP_Stock__c"].as_f64(), item_after["QuantityOnStock"].as_f64());
    let repriced = by_field(&products, "SAP_ItemCode__c", "A00003").remove(0);
    let entries = by_field(&stack.sf_sandbox.records("PricebookEntry"), "Product2Id", repriced["Id"].as_str().unwrap());
    assert_eq!(entries.len(), 1, "updated in place, not a second entry");
    assert_eq!(entries[0]["UnitPrice"].as_f64(), Some(99.5));

    // The next scans see nothing new (the stamped polls' lookback re-reads are dropped by FIFO dedup).
    let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let enqueued = |entity: &str| polls.iter().find(|p| p.entity == entity).unwrap().enqueued;
    assert_eq!((enqueued("Stock"), enqueued("PriceLists")), (0, 0), "{polls:?}");
    assert_eq!(run.messages, 0);
}

/// The shipped mapping with `[flows.F6]` replaced by the Revenue Cloud table in docs/salesforce-setup.md.
fn revenue_cloud_mapping() -> shared::mapping::file::MappingFile {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let guide = std::fs::read_to_string(root.join("docs/salesforce-setup.md")).unwrap();
    let after = &guide[guide.find("<!-- revenue-cloud-f6").expect("the guide has the Revenue Cloud F6 table")..];
    let table = &after[after.find("```toml\n").unwrap() + 8..];
    let table = &table[..table.find("```").unwrap()];
    let shipped = std::fs::read_to_string(root.join("mapping.toml")).unwrap();
    let start = shipped.find("\n[flows.F6]\n").unwrap() + 1;
    let end = start + shipped[start..].find("\n[flows.F6.related.").unwrap() + 1;
    let text = format!("{}{table}\n{}", &shipped[..start], &shipped[end..]);
    shared::mapping::file::MappingFile::parse(&text, "mapping-revenue-cloud.toml").unwrap()
}

#[tokio::test]
async fn with_the_revenue_cloud_mapping_invoices_become_standard_invoices_of_their_accounts() {
    let stack = started().await;
    let mut writer = stack.sf_writer(SfWriterSettings::default());
    writer.mapping = std::sync::Arc::new(revenue_cloud_mapping());
    for entity in shared::domain::polled::POLLED_ENTITIES {
        stack.poller().run(entity, "revenue-cloud").await.unwrap();
    }
    let run = writer.run(i64::MAX).await.unwrap();
    assert_eq!(
        run.dead_lettered,
        0,
        "{:?}",
        stack.audit.all().iter().filter_map(|e| e.error.clone()).collect::<Vec<_>>()
    );
    let invoices = stack.sf_sandbox.records("Invoice");
    let sap_invoices = stack.sap_sandbox.documents("Invoices");
    assert_eq!(invoices.len(), sap_invoices.len());
    let first = &sap_invoices[0];
    let written = &by_field(&invoices, "SAP_Document_Key__c", &format!("Invoices/{}", first["DocEntry"]))[0];
    assert_eq!(written["SAP_Amount__c"].as_f64(), first["DocTotal"].as_f64());
    let account =
        by_field(&stack.sf_sandbox.records("Account"), "SAP_CardCode__c", first["CardCode"].as_str().unwrap());
    assert_eq!(written["BillingAccountId"], account[0]["Id"]);
    // Credit notes stay on the custom object.
    assert_eq!(stack.sf_sandbox.records("SAP_Invoice__c").len(), stack.sap_sandbox.documents("CreditNotes").len());
}

#[tokio::test]
async fn malformed_and_misrouted_messages_are_audited_and_dead_lettered_without_any_call() {
    let stack = started().await;
    let sap_before = stack.sap_sandbox.calls().total();
    let garbage = OutgoingMessage { group_id: "g".into(), dedup_id: "d1".into(), body: "{not json".into() };
    let mut misrouted = replay("sap:BusinessPartners:C20000");
    misrouted.body = misrouted.body.replace("BusinessPartners", "Quotations");
    misrouted.dedup_id = "d2".into();
    stack.to_salesforce.send(&[garbage, misrouted]).await.unwrap();
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.messages, run.dead_lettered, run.written), (2, 2, 0), "{run:?}");
    assert_eq!(stack.to_salesforce_dlq.len(), 2);
    assert_eq!(stack.sap_sandbox.calls().total(), sap_before, "nothing was read for them");
    let dead: Vec<_> = stack.audit.all().into_iter().filter(|e| e.outcome == Outcome::DeadLettered).collect();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|e| e.error_code.as_deref() == Some("INVALID_INPUT") && e.direction == Direction::SapToSf));
    assert!(dead.iter().any(|e| e.record_key.starts_with("sap:invalid:")));
}

#[tokio::test]
async fn sap_errors_and_expired_sessions_return_messages_to_the_queue_and_the_retry_writes_them() {
    let clock = std::sync::Arc::new(shared::embedded::ManualClock::new(shared::ports::SystemClock.now_millis()));
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..LocalOptions::default() }).await.unwrap();
    for entity in ["BusinessPartners", "Invoices"] {
        stack.poller().run(entity, "faults").await.unwrap();
    }
    let queued = stack.to_salesforce.len();
    assert!(queued >= 100);

    // The Service Layer answers every request with a 5xx: nothing is written, nothing dead-lettered.
    stack.sap_sandbox.faults().set(sandbox::FaultConfig { error_rate: 1.0, seed: Some(7), ..Default::default() });
    let failed = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((failed.written, failed.dead_lettered, failed.retried), (0, 0, queued as u64), "{failed:?}");
    assert_eq!((stack.to_salesforce.len(), stack.to_salesforce_dlq.len()), (queued, 0));
    let retries = stack.audit.all().into_iter().filter(|e| e.outcome == Outcome::Retrying).count();
    assert_eq!(retries, queued, "every failed record is in the audit trail");

    // After the retry delay, with sessions expiring every few requests, everything is written once.
    stack.sap_sandbox.faults().set(sandbox::FaultConfig { expire_sessions_every: Some(3), ..Default::default() });
    clock.advance(std::time::Duration::from_secs(61));
    let retried = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((retried.written, retried.dead_lettered), (queued as u64, 0), "{retried:?}");
    assert_eq!(stack.to_salesforce.len(), 0);
    assert!(stack.sap_sandbox.calls().matching("POST /Login") >= 2, "sessions were renewed");
}

#[tokio::test]
async fn two_invoices_of_one_opportunity_in_one_round_update_it_once_on_the_strict_sandbox() {
    let stack = started().await;
    sync(&stack).await;
    let opportunity = stack.sf_sandbox.seed_closed_won(1).remove(0);
    let invoices = stack.sap_sandbox.documents("Invoices");
    let (first, second) = (invoices[0]["DocEntry"].to_string(), invoices[1]["DocEntry"].to_string());
    let tag = |status: &str| json!({"U_SF_OpportunityId": opportunity, "DocumentStatus": status});
    stack.sap_sandbox.user_update("Invoices", &first, tag("bost_Open")).unwrap();
    stack.sap_sandbox.user_update("Invoices", &second, tag("bost_Close")).unwrap();
    let writes_before = stack.sf_sandbox.calls().matching("PATCH composite/sobjects");
    let run = sync(&stack).await;
    assert!(run.written >= 2, "{run:?}");
    let status = stack.sf_sandbox.record("Opportunity", &opportunity).unwrap()["SAP_Payment_Status__c"].clone();
    // The deal's standing from whichever invoice was written last (its due date decides Overdue).
    assert!(
        ["Unpaid", "Overdue", "Paid"].contains(&status.as_str().unwrap_or_default()),
        "one of the two invoices' standings: {status}"
    );
    assert!(stack.sf_sandbox.calls().matching("PATCH composite/sobjects") > writes_before);
    let opportunity_changes =
        stack.sf_sandbox.changes().into_iter().filter(|c| c.record_id == opportunity && c.change_type == "UPDATE");
    assert_eq!(opportunity_changes.count(), 1, "one update of the opportunity, not two");
}

/// Delivers the CDC events of the changes to receiver-watched records logged since `cursor`; returns
/// (events, tagged events, notifications enqueued).
async fn receive_since(stack: &LocalStack, receiver: &Receiver<'_>, cursor: usize) -> (usize, usize, usize) {
    let watched: Vec<_> = stack.sf_sandbox.changes()[cursor..]
        .iter()
        .filter(|c| shared::domain::objects::salesforce_object(&c.entity).is_some())
        .cloned()
        .collect();
    let mut enqueued = 0;
    for change in &watched {
        enqueued += receiver.receive(&change_event(change)).await.unwrap().enqueued;
    }
    (watched.len(), watched.iter().filter(|c| !c.change_origin.is_empty()).count(), enqueued)
}

#[tokio::test]
async fn untagged_echoes_of_collection_writes_are_dropped_by_content_and_a_flows_field_is_processed() {
    let stack = started().await;
    let cursor = stack.sf_sandbox.changes().len();
    sync(&stack).await;
    let (events, tagged, enqueued) = receive_since(&stack, &stack.receiver(), cursor).await;
    assert!(events >= 50, "accounts, contacts and cases were written: {events}");
    assert_eq!(tagged, 0, "the strict sandbox tags no sObject Collections write");
    assert_eq!((enqueued, stack.to_sap.len()), (0, 0), "no work from our own echoes");
    // The tag was all the old receiver had: without what the writers remember, every echo is work.
    let blind = Receiver { written: None, ..stack.receiver() };
    let (_, _, blind_work) = receive_since(&stack, &blind, cursor).await;
    assert_eq!(blind_work, events, "without the ledger each untagged echo would be processed");

    // A Flow that changes another field in our transaction: untagged (collection) and tagged (single record).
    stack.sf_sandbox.add_flow("Account", "Description", "set by a flow");
    stack.sap_sandbox.user_update("BusinessPartners", "C20001", json!({"CreditLimit": 4321.0})).unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    sync(&stack).await;
    let (events, tagged, enqueued) = receive_since(&stack, &stack.receiver(), cursor).await;
    assert!(events >= 1 && tagged == 0, "{events} {tagged}");
    assert_eq!(enqueued, 1, "the account's event carries the flow's field: someone else's change");

    let account = by_field(&stack.sf_sandbox.records("Account"), "SAP_CardCode__c", "C20002").remove(0);
    let id = shared::domain::SalesforceId::parse(account["Id"].as_str().unwrap()).unwrap();
    let flows = shared::wiring::backends::to_sap_flows(&stack, stack.settings.clone()).unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let fields = json!({"Phone": "+1 555 0142"}).as_object().unwrap().clone();
    flows.salesforce_updates.update_record("Account", &id, &fields).await.unwrap();
    let (events, tagged, enqueued) = receive_since(&stack, &stack.receiver(), cursor).await;
    assert_eq!((events, tagged, enqueued), (1, 1, 1), "tagged, but the flow's field is not ours");
}

#[tokio::test]
async fn a_tagged_single_record_write_without_a_flow_is_still_an_echo() {
    let stack = started().await;
    let account = stack.sf_sandbox.records("Account").remove(0);
    let id = shared::domain::SalesforceId::parse(account["Id"].as_str().unwrap()).unwrap();
    let flows = shared::wiring::backends::to_sap_flows(&stack, stack.settings.clone()).unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let fields = json!({"Phone": "+1 555 0142"}).as_object().unwrap().clone();
    flows.salesforce_updates.update_record("Account", &id, &fields).await.unwrap();
    assert_eq!(receive_since(&stack, &stack.receiver(), cursor).await, (1, 1, 0));
}

/// Sends a replay notification for each SAP record key.
async fn notify(stack: &LocalStack, keys: &[String]) {
    let notes: Vec<OutgoingMessage> = keys.iter().map(|key| replay(key)).collect();
    stack.to_salesforce.send(&notes).await.unwrap();
}

fn outcomes(stack: &LocalStack, outcome: Outcome) -> Vec<shared::ports::AuditEntry> {
    stack.audit.all().into_iter().filter(|e| e.outcome == outcome).collect()
}

/// #13 item 3: one business partner the Service Layer cannot serve among 1,000 changes. Its read of
/// 100 keys fails as a whole; halving isolates it: 999 written, one dead-lettered with its own key and
/// SAP's error, every record audited.
#[tokio::test]
async fn one_poison_record_among_a_thousand_fails_alone_and_the_other_999_are_written() {
    let stack = started().await;
    let codes = stack.sap_sandbox.seed_changed_business_partners(1000);
    let poison = codes[613].clone();
    stack.sap_sandbox.make_unreadable("BusinessPartners", &poison);
    let keys: Vec<String> = codes.iter().map(|code| format!("sap:BusinessPartners:{code}")).collect();
    notify(&stack, &keys).await;
    let sap_reads_before = stack.sap_sandbox.calls().matching("GET /BusinessPartners");
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.messages, run.written, run.dead_lettered, run.retried), (1000, 999, 1, 0), "{run:?}");
    let dead = outcomes(&stack, Outcome::DeadLettered);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].record_key, format!("sap:BusinessPartners:{poison}"));
    assert_eq!(dead[0].error_code.as_deref(), Some("SAP_-1"));
    assert_eq!(outcomes(&stack, Outcome::Succeeded).len(), 999, "every written record is audited");
    assert_eq!(stack.to_salesforce_dlq.len(), 1);
    let accounts = stack.sf_sandbox.records("Account");
    assert!(by_field(&accounts, "SAP_CardCode__c", &poison).is_empty());
    assert_eq!(by_field(&accounts, "SAP_CardCode__c", &codes[612]).len(), 1);
    // Ten reads of 100 keys; each of the ten halvings (1,000 → 1) re-reads both halves, a read per
    // 100 keys or fewer: 10 + (5+5) + (3+3) + (2+2) + 6 × (1+1) = 42 at most.
    let reads = stack.sap_sandbox.calls().matching("GET /BusinessPartners") - sap_reads_before;
    assert!(reads <= 42, "{reads} reads");
}

/// #13 item 3 in the writes: a customer whose billing context SAP cannot serve fails the payment-status
/// call of every customer in it; halving leaves the failure with that customer's payments alone.
#[tokio::test]
async fn a_customer_whose_billing_cannot_be_read_fails_only_its_own_payments() {
    let stack = started().await;
    let payments = stack.sap_sandbox.documents("IncomingPayments");
    assert!(payments.len() >= 4, "the seed has payments of several customers");
    let customer = payments[0]["CardCode"].as_str().unwrap().to_string();
    let open_invoice = stack
        .sap_sandbox
        .documents("Invoices")
        .into_iter()
        .find(|i| i["CardCode"] == customer.as_str() && i["DocumentStatus"] == "bost_Open")
        .expect("the customer has an open invoice");
    stack.sap_sandbox.make_unreadable("Invoices", &open_invoice["DocEntry"].to_string());
    let keys: Vec<String> = payments.iter().map(|p| format!("sap:IncomingPayments:{}", p["DocEntry"])).collect();
    notify(&stack, &keys).await;
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    let own = payments.iter().filter(|p| p["CardCode"] == customer.as_str()).count() as u64;
    // Each other customer's partner is queued once more for its balances and written (this stack
    // never synced partners), and each invoice their payments paid is re-read and written; the
    // failed customer's are not, its payments having failed.
    let others: std::collections::BTreeSet<&str> =
        payments.iter().filter_map(|p| p["CardCode"].as_str()).filter(|c| *c != customer).collect();
    let paid: std::collections::BTreeSet<i64> = payments
        .iter()
        .filter(|p| p["CardCode"] != customer.as_str())
        .flat_map(|p| p["PaymentInvoices"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["DocEntry"].as_i64())
        .collect();
    let written = payments.len() as u64 - own + others.len() as u64 + paid.len() as u64;
    assert_eq!((run.written, run.dead_lettered), (written, own), "{run:?}");
    let refreshed: Vec<String> = outcomes(&stack, Outcome::Succeeded)
        .into_iter()
        .filter(|e| e.record_key.starts_with("sap:BusinessPartners:"))
        .map(|e| e.record_key)
        .collect();
    assert_eq!(refreshed.len(), others.len(), "{refreshed:?}");
    assert!(!refreshed.contains(&format!("sap:BusinessPartners:{customer}")));
    for entry in outcomes(&stack, Outcome::DeadLettered) {
        let payment = payments.iter().find(|p| entry.record_key.ends_with(&format!(":{}", p["DocEntry"]))).unwrap();
        assert_eq!(payment["CardCode"], customer.as_str(), "{}", entry.record_key);
    }
}

/// #13 item 3, the other figure: a whole-call failure that retrying cures (Salesforce answering 5xx)
/// is not split: all 1,000 are audited as retrying, none dead-lettered, and the retry writes them.
#[tokio::test]
async fn a_transient_whole_call_failure_retries_all_thousand_and_loses_none() {
    let clock = std::sync::Arc::new(shared::embedded::ManualClock::new(shared::ports::SystemClock.now_millis()));
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..LocalOptions::default() }).await.unwrap();
    let codes = stack.sap_sandbox.seed_changed_business_partners(1000);
    notify(&stack, &codes.iter().map(|code| format!("sap:BusinessPartners:{code}")).collect::<Vec<_>>()).await;
    stack.sf_sandbox.faults().set(sandbox::FaultConfig { error_rate: 1.0, seed: Some(3), ..Default::default() });
    let failed = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((failed.written, failed.dead_lettered, failed.retried), (0, 0, 1000), "{failed:?}");
    assert_eq!(outcomes(&stack, Outcome::Retrying).len(), 1000);
    stack.sf_sandbox.faults().set(sandbox::FaultConfig::default());
    clock.advance(std::time::Duration::from_secs(61));
    let retried = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((retried.written, retried.dead_lettered), (1000, 0), "{retried:?}");
}

/// #13 item 2: a round is sized by the time the invocation has left, at the pace of the last round
/// (the first at `first_round_ms_per_message`), so it ends before the Lambda is killed mid-round.
#[tokio::test]
async fn rounds_are_sized_by_the_time_left_not_a_fixed_margin() {
    let clock = std::sync::Arc::new(shared::embedded::ManualClock::new(shared::ports::SystemClock.now_millis()));
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..LocalOptions::default() }).await.unwrap();
    let codes = stack.sap_sandbox.seed_changed_business_partners(50);
    notify(&stack, &codes.iter().map(|code| format!("sap:BusinessPartners:{code}")).collect::<Vec<_>>()).await;
    let settings = SfWriterSettings::default();
    // Inside the settling margin: no round starts, nothing is received.
    let late = stack.sf_writer(settings.clone()).run(clock.now_millis() + settings.settle_margin_ms).await.unwrap();
    assert_eq!((late.rounds, late.messages, late.stopped), (0, 0, Stop::Deadline));
    // Time for 20 messages at the assumed 100 ms each: a first round of 20; the embedded systems take
    // no clock time, so the measured pace lets the second round take the other 30.
    let deadline = clock.now_millis() + settings.settle_margin_ms + 20 * settings.first_round_ms_per_message;
    let run = stack.sf_writer(settings).run(deadline).await.unwrap();
    assert_eq!((run.rounds, run.messages, run.written), (2, 50, 50), "{run:?}");
}

/// #14 item 6: the account's payment standing follows invoices as they are created, paid in part and
/// credited — not only payments — with the days overdue of the oldest unpaid invoice.
#[tokio::test]
async fn an_accounts_payment_status_follows_its_invoices_credit_notes_and_payments() {
    let stack = started().await;
    sync(&stack).await;
    let account = || {
        let accounts = stack.sf_sandbox.records("Account");
        let account = by_field(&accounts, "SAP_CardCode__c", "C20004").remove(0);
        (account["SAP_Payment_Status__c"].clone(), account["SAP_Days_Overdue__c"].as_f64())
    };
    assert_eq!(account().0, Value::Null, "C20004 has no documents in the seed");

    // An invoice due in the past: the account is overdue as soon as the invoice reaches Salesforce.
    let invoice = json!({"CardCode": "C20004", "DocDate": "2026-10-01", "DocDueDate": "2026-10-31",
                         "DocumentLines": [{"ItemCode": "A00001", "Quantity": 2, "UnitPrice": 100.0}]});
    let created = stack.sap.post("Invoices", &invoice).await.unwrap();
    sync(&stack).await;
    let today = shared::domain::date_of(stack.clock.now_millis());
    let days =
        (shared::domain::parse_date(&today).unwrap() - shared::domain::parse_date("2026-10-31").unwrap()).whole_days();
    assert_eq!(account(), (json!("Overdue"), Some(days as f64)));

    // A credit note for the whole invoice: nothing is owed.
    let credit = json!({"CardCode": "C20004", "DocumentLines": [
        {"BaseType": 13, "BaseEntry": created["DocEntry"], "BaseLine": 0, "Quantity": 2}]});
    stack.sap.post("CreditNotes", &credit).await.unwrap();
    sync(&stack).await;
    assert_eq!(account(), (json!("Paid"), Some(0.0)));

    // A new invoice not yet due, paid in part.
    let due_later = json!({"CardCode": "C20004", "DocDueDate": "2099-12-31",
                           "DocumentLines": [{"ItemCode": "A00001", "Quantity": 1, "UnitPrice": 100.0}]});
    let second = stack.sap.post("Invoices", &due_later).await.unwrap();
    sync(&stack).await;
    assert_eq!(account().0, json!("Unpaid"));
    let payment = json!({"CardCode": "C20004", "CashSum": 40.0, "PaymentInvoices": [{"DocEntry": second["DocEntry"], "SumApplied": 40.0}]});
    stack.sap.post("IncomingPayments", &payment).await.unwrap();
    sync(&stack).await;
    assert_eq!(account().0, json!("Partially Paid"));
}
