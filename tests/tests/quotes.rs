//! #14 item 2 end to end: a Salesforce quote synced to its opportunity becomes one SAP sales
//! quotation when its status reaches one of F1's `quote_statuses` (Approved, Presented); the order
//! made when the deal is won is copied from that quotation (its lines' BaseType 23), so SAP keeps
//! the link and closes the quotation; the quotation's status comes back to the quote (F5.quote).
//! A quote edited after its quotation updates the open quotation; a quotation cancelled in SAP
//! says so on the quote and the won deal's order is then made without it. Changes arrive as CDC
//! events (orgs without the CDC add-on send quotes by the webhook trigger in force-app-quotes),
//! every one delivered twice.

use b1force_cli::local::{LocalOptions, LocalStack, change_event};
use serde_json::{Value, json};
use shared::engine::sf_writer::SfWriterSettings;
use shared::mapping::file::MappingFile;
use shared::ports::AuditAction;

/// A local stack with quotes on (F1 `quote_statuses = ["Approved", "Presented"]`; off as shipped).
async fn stack() -> LocalStack {
    let mut stack = LocalStack::start(LocalOptions::default()).await.expect("local stack starts");
    let on =
        MappingFile::shipped_text().replace("quote_statuses = []", r#"quote_statuses = ["Approved", "Presented"]"#);
    assert_ne!(on, MappingFile::shipped_text(), "the shipped file has the switch");
    stack.mapping = std::sync::Arc::new(MappingFile::parse(&on, "quotes.toml").unwrap());
    stack
}

/// Delivers the CDC events of every change since `cursor` twice and drains the pipeline; returns
/// the new cursor and how many messages were dead-lettered.
async fn deliver(stack: &LocalStack, cursor: usize) -> (usize, u64) {
    let changes = stack.sf_sandbox.changes();
    let events: Vec<Value> = changes[cursor..].iter().map(change_event).collect();
    for event in events.iter().chain(&events) {
        let _ = stack.receiver().receive(event).await;
    }
    let stats = stack.drain(u64::MAX).await.unwrap();
    (changes.len(), stats.dead_lettered)
}

async fn deliver_clean(stack: &LocalStack, cursor: usize) -> usize {
    let (cursor, dead_lettered) = deliver(stack, cursor).await;
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!(dead_lettered, 0, "{errors:?}");
    cursor
}

/// The standard price book entry of a product code, and its list price.
fn entry(stack: &LocalStack, code: &str) -> (String, f64) {
    let entry = stack.sf_sandbox.records("PricebookEntry").into_iter().find(|e| e["ProductCode"] == code).unwrap();
    (entry["Id"].as_str().unwrap().to_string(), entry["UnitPrice"].as_f64().unwrap())
}

/// An open deal of C20000 with a quote of two lines (3 × A00001 less 10 %, 1 × A00002), synced
/// to the deal (its products mirror the quote's); returns (opportunity, quote).
fn quoted_deal(stack: &LocalStack) -> (String, String) {
    let sf = &stack.sf_sandbox;
    let account = sf.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20000").unwrap();
    let deal = json!({"Name": "Quoted deal", "AccountId": account["Id"], "StageName": "Proposal/Price Quote",
                      "CloseDate": "2026-12-20"});
    let opp = sf.create_record("Opportunity", deal).unwrap();
    let quote = sf
        .create_record("Quote", json!({"Name": "Q-1", "OpportunityId": opp, "ExpirationDate": "2027-01-15"}))
        .unwrap();
    for (code, quantity, discount) in [("A00001", 3, 10.0), ("A00002", 1, 0.0)] {
        let (entry, price) = entry(stack, code);
        let line = json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": price,
                          "Discount": discount});
        sf.create_record("QuoteLineItem", line).unwrap();
    }
    sf.update_record("Opportunity", &opp, json!({"SyncedQuoteId": quote})).unwrap();
    (opp, quote)
}

fn quote_now(stack: &LocalStack, quote: &str) -> Value {
    stack.sf_sandbox.record("Quote", quote).unwrap()
}

fn quotations_of(stack: &LocalStack, quote: &str) -> Vec<Value> {
    stack.sap_sandbox.documents("Quotations").into_iter().filter(|q| q["U_SF_QuoteId"] == quote).collect()
}

fn actions(stack: &LocalStack, object: &str, id: &str) -> Vec<AuditAction> {
    let key = format!("sf:{object}:{id}");
    stack.audit.all().into_iter().filter(|e| e.record_key == key).map(|e| e.action).collect()
}

fn net_total(document: &Value) -> f64 {
    let total = document["DocTotal"].as_f64().unwrap() - document["VatSum"].as_f64().unwrap_or(0.0);
    (total * 100.0).round() / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_synced_quote_becomes_one_quotation_and_the_won_deal_is_copied_from_it() {
    let stack = stack().await;
    let cursor = stack.sf_sandbox.changes().len();
    let (opp, quote) = quoted_deal(&stack);
    let cursor = deliver_clean(&stack, cursor).await;
    assert!(quotations_of(&stack, &quote).is_empty(), "a Draft quote stays in Salesforce");
    assert!(actions(&stack, "Quote", &quote).contains(&AuditAction::SkipQuoteNotSent));

    stack.sf_sandbox.update_record("Quote", &quote, json!({"Status": "Approved"})).unwrap();
    let cursor = deliver_clean(&stack, cursor).await;

    let quotations = quotations_of(&stack, &quote);
    assert_eq!(quotations.len(), 1, "one quotation, whatever the duplicates");
    let quotation = &quotations[0];
    let sent = quote_now(&stack, &quote);
    assert_eq!(net_total(quotation), sent["TotalPrice"].as_f64().unwrap(), "the quote's total, discount included");
    assert_eq!((&quotation["CardCode"], &quotation["DocDueDate"]), (&json!("C20000"), &json!("2027-01-15T00:00:00Z")));
    let lines = quotation["DocumentLines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((&lines[0]["ItemCode"], &lines[0]["DiscountPercent"]), (&json!("A00001"), &json!(10.0)));
    assert_eq!(
        (&sent["SAP_Quotation_DocEntry__c"], &sent["SAP_Quotation_DocNum__c"], &sent["SAP_Sync_Status__c"]),
        (&json!(quotation["DocEntry"].as_f64()), &json!(quotation["DocNum"].as_f64()), &json!("Synced"))
    );
    let quote_actions = actions(&stack, "Quote", &quote);
    assert_eq!(quote_actions.iter().filter(|a| **a == AuditAction::CreateQuotation).count(), 1, "{quote_actions:?}");

    // The quotation's status comes back to the quote.
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 0);
    assert_eq!(quote_now(&stack, &quote)["SAP_Quotation_Status__c"], "Open");

    // The deal is won: its order is copied from the quotation, which SAP then closes.
    stack.sf_sandbox.update_record("Opportunity", &opp, json!({"StageName": "Closed Won"})).unwrap();
    deliver_clean(&stack, cursor).await;
    let orders: Vec<Value> =
        stack.sap_sandbox.documents("Orders").into_iter().filter(|o| o["U_SF_OpportunityId"] == opp.as_str()).collect();
    assert_eq!(orders.len(), 1);
    let order_lines = orders[0]["DocumentLines"].as_array().unwrap();
    for (n, line) in order_lines.iter().enumerate() {
        assert_eq!(
            (&line["BaseType"], &line["BaseEntry"], &line["BaseLine"]),
            (&json!(23), &quotation["DocEntry"], &lines[n]["LineNum"]),
            "order line {n} is copied from the quotation"
        );
    }
    assert_eq!(net_total(&orders[0]), net_total(quotation));
    let deal = stack.sf_sandbox.record("Opportunity", &opp).unwrap();
    assert_eq!(deal["SAP_Sync_Status__c"], "Synced", "{deal}");
    let copied_from = stack.sap_sandbox.document("Quotations", quotation["DocEntry"].as_i64().unwrap()).unwrap();
    assert_eq!(copied_from["DocumentStatus"], "bost_Close", "fully copied into the order");

    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(quote_now(&stack, &quote)["SAP_Quotation_Status__c"], "Closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_quote_updates_its_open_quotation_and_one_cancelled_in_sap_is_not_copied() {
    let stack = stack().await;
    let cursor = stack.sf_sandbox.changes().len();
    let (opp, quote) = quoted_deal(&stack);
    stack.sf_sandbox.update_record("Quote", &quote, json!({"Status": "Presented"})).unwrap();
    let cursor = deliver_clean(&stack, cursor).await;
    let quotation = quotations_of(&stack, &quote).remove(0);

    let line = stack.sf_sandbox.records("QuoteLineItem").into_iter().find(|l| l["QuoteId"] == quote.as_str()).unwrap();
    stack.sf_sandbox.update_record("QuoteLineItem", line["Id"].as_str().unwrap(), json!({"Quantity": 5})).unwrap();
    let cursor = deliver_clean(&stack, cursor).await;

    let quotations = quotations_of(&stack, &quote);
    assert_eq!(quotations.len(), 1, "updated, not made again");
    assert_eq!(quotations[0]["DocEntry"], quotation["DocEntry"]);
    let edited = quote_now(&stack, &quote);
    assert_eq!(net_total(&quotations[0]), edited["TotalPrice"].as_f64().unwrap());
    assert_ne!(net_total(&quotations[0]), net_total(&quotation));
    assert!(actions(&stack, "Quote", &quote).contains(&AuditAction::UpdateQuotation));

    let doc_entry = quotation["DocEntry"].as_i64().unwrap();
    stack.sap.post_action(&format!("Quotations({doc_entry})/Cancel")).await.unwrap();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(quote_now(&stack, &quote)["SAP_Quotation_Status__c"], "Cancelled");

    stack.sf_sandbox.update_record("Opportunity", &opp, json!({"StageName": "Closed Won"})).unwrap();
    deliver_clean(&stack, cursor).await;
    let order =
        stack.sap_sandbox.documents("Orders").into_iter().find(|o| o["U_SF_OpportunityId"] == opp.as_str()).unwrap();
    let based = order["DocumentLines"].as_array().unwrap().iter().filter(|l| l["BaseType"] == 23).count();
    assert_eq!(based, 0, "a cancelled quotation is not copied; the order is the deal's own");
    assert_eq!(net_total(&order), edited["TotalPrice"].as_f64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_that_cannot_become_a_quotation_fails_alone_and_says_why_and_unsynced_quotes_are_left_alone() {
    let stack = stack().await;
    let cursor = stack.sf_sandbox.changes().len();
    let (opp, quote) = quoted_deal(&stack);
    // A second quote of the deal, approved but not the synced one; and an empty quote, approved.
    let other = stack.sf_sandbox.create_record("Quote", json!({"Name": "Q-2", "OpportunityId": opp})).unwrap();
    stack.sf_sandbox.update_record("Quote", &other, json!({"Status": "Approved"})).unwrap();
    let account = stack.sf_sandbox.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20000").unwrap();
    let deal = json!({"Name": "Empty", "AccountId": account["Id"], "StageName": "Proposal/Price Quote",
                      "CloseDate": "2026-12-20"});
    let empty_deal = stack.sf_sandbox.create_record("Opportunity", deal).unwrap();
    let empty = stack.sf_sandbox.create_record("Quote", json!({"Name": "Q-3", "OpportunityId": empty_deal})).unwrap();
    stack.sf_sandbox.update_record("Opportunity", &empty_deal, json!({"SyncedQuoteId": empty})).unwrap();
    stack.sf_sandbox.update_record("Quote", &empty, json!({"Status": "Approved"})).unwrap();
    stack.sf_sandbox.update_record("Quote", &quote, json!({"Status": "Approved"})).unwrap();

    let (_, dead_lettered) = deliver(&stack, cursor).await;

    let dead: Vec<_> = stack.audit.all().into_iter().filter(|e| e.action == AuditAction::DeadLetter).collect();
    let dead: Vec<(String, Option<String>)> = dead.into_iter().map(|e| (e.record_key, e.error)).collect();
    // Each of the empty quote's changes (created, synced, approved) is its own message and fails
    // on its own; nothing else does.
    assert!(dead_lettered >= 1 && dead.len() as u64 == dead_lettered, "{dead:#?}");
    assert!(dead.iter().all(|(key, _)| *key == format!("sf:Quote:{empty}")), "the empty quote alone: {dead:#?}");
    let failed = quote_now(&stack, &empty);
    assert_eq!(failed["SAP_Sync_Status__c"], "Failed");
    assert!(failed["SAP_Sync_Error__c"].as_str().unwrap().contains("has no line items"), "{failed}");
    assert!(actions(&stack, "Quote", &empty).contains(&AuditAction::DeadLetter));
    assert!(quotations_of(&stack, &other).is_empty(), "not the synced quote");
    assert_eq!(quotations_of(&stack, &quote).len(), 1, "the good quote is not held back by the bad one");
}

/// As shipped, quotes are off: an approved synced quote stays in Salesforce (audited why), F1
/// neither reads the synced quote (an org without Quotes has no `SyncedQuote`) nor copies from a
/// quotation, and the Quotations poll reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_shipped_quotes_are_off_and_nothing_reads_or_polls_them() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let read = shared::flows::f1_orders::opportunity_read(&stack.mapping).unwrap();
    assert!(!read.fields.iter().any(|f| f.starts_with("SyncedQuote")), "{:?}", read.fields);
    let cursor = stack.sf_sandbox.changes().len();
    let (opp, quote) = quoted_deal(&stack);
    stack.sf_sandbox.update_record("Quote", &quote, json!({"Status": "Approved"})).unwrap();
    stack.sf_sandbox.update_record("Opportunity", &opp, json!({"StageName": "Closed Won"})).unwrap();
    deliver_clean(&stack, cursor).await;

    assert!(quotations_of(&stack, &quote).is_empty());
    let skipped = stack.audit.all().into_iter().find(|e| e.action == AuditAction::SkipQuoteNotSent).unwrap();
    assert!(skipped.target_id.as_deref().unwrap_or_default().contains("quotes are off"), "{skipped:?}");
    assert_eq!(stack.sf_sandbox.record("Opportunity", &opp).unwrap()["SAP_Sync_Status__c"], "Synced");

    let before = stack.sap_sandbox.calls().snapshot();
    let report = stack.poller().run("Quotations", "off").await.unwrap();
    assert!(report.skipped.as_deref().unwrap_or_default().contains("quotes are off"), "{report:?}");
    assert_eq!(stack.sap_sandbox.calls().snapshot(), before, "no SAP call");
}
