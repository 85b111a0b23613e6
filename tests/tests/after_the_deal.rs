//! #14 item 4 end to end: a deal that changes after its SAP order exists. Lost before anything was
//! delivered: the order is cancelled. Lost after a delivery, or lines edited after Closed Won: the
//! opportunity is flagged `Needs review` with the reason. An order cancelled in SAP says so on the
//! deal (F5), and F1 flags a deal still won whose order is cancelled.

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::{deliver_closed_won, opportunity, orders_per_opportunity};
use serde_json::{Value, json};
use shared::engine::sf_writer::SfWriterSettings;
use shared::ports::AuditAction;

async fn stack() -> LocalStack {
    LocalStack::start(LocalOptions::default()).await.expect("local stack starts")
}

/// A won deal of C20000 (2 × A00001, 1 × A00002) synced to SAP; returns (opportunity, its order).
async fn won_with_order(stack: &LocalStack) -> (String, Value) {
    let sf = &stack.sf_sandbox;
    let account = sf.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20000").unwrap();
    let opp = sf.create_opportunity(account["Id"].as_str().unwrap(), "Closed Won", &["A00001", "A00002"]);
    changed(stack, &opp, "won").await;
    let order = orders_per_opportunity(stack).remove(&opp).expect("the order").remove(0);
    assert_eq!(opportunity(stack, &opp)["SAP_Sync_Status__c"], "Synced");
    (opp, order)
}

/// Delivers one change event of the opportunity (a new transaction per `step`) and drains the queue.
async fn changed(stack: &LocalStack, opp: &str, step: &str) {
    deliver_closed_won(stack, &[opp.to_string()], 1, &format!("{opp}-{step}")).await.unwrap();
    let drained = stack.drain(u64::MAX).await.unwrap();
    assert_eq!(drained.dead_lettered, 0, "{drained:?}");
}

fn order_now(stack: &LocalStack, order: &Value) -> Value {
    stack.sap_sandbox.document("Orders", order["DocEntry"].as_i64().unwrap()).unwrap()
}

fn last_action(stack: &LocalStack, opp: &str) -> AuditAction {
    let key = format!("sf:Opportunity:{opp}");
    stack.audit.all().into_iter().rfind(|e| e.record_key == key).unwrap().action
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_lost_before_anything_was_delivered_cancels_its_order_once() {
    let stack = stack().await;
    let (opp, order) = won_with_order(&stack).await;

    stack.sf_sandbox.update_record("Opportunity", &opp, json!({"StageName": "Closed Lost"})).unwrap();
    changed(&stack, &opp, "lost").await;

    assert_eq!(order_now(&stack, &order)["Cancelled"], "tYES");
    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Cancelled");
    assert!(deal["SAP_Sync_Error__c"].as_str().unwrap().contains("Closed Lost"), "{deal}");
    assert_eq!(last_action(&stack, &opp), AuditAction::CancelOrder);
    let cancels = |stack: &LocalStack| stack.sap_sandbox.calls().snapshot().get("POST /Orders/Cancel").copied();
    assert_eq!(cancels(&stack), Some(1));

    changed(&stack, &opp, "lost-again").await;
    assert_eq!(cancels(&stack), Some(1), "a cancelled order is left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_lost_after_a_delivery_is_flagged_and_its_order_kept() {
    let stack = stack().await;
    let (opp, order) = won_with_order(&stack).await;
    let delivery = json!({"CardCode": "C20000", "DocumentLines": [
        {"BaseType": 17, "BaseEntry": order["DocEntry"], "BaseLine": 0, "Quantity": 1}]});
    stack.sap.post("DeliveryNotes", &delivery).await.unwrap();

    stack.sf_sandbox.update_record("Opportunity", &opp, json!({"StageName": "Prospecting"})).unwrap();
    changed(&stack, &opp, "reopened").await;

    assert_eq!(order_now(&stack, &order)["Cancelled"], "tNO");
    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Needs review");
    let reason = deal["SAP_Sync_Error__c"].as_str().unwrap();
    assert!(reason.contains("Prospecting") && reason.contains("partly delivered or invoiced"), "{reason}");
    assert_eq!(last_action(&stack, &opp), AuditAction::OrderNeedsReview);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_edited_after_closed_won_flag_the_deal_with_both_totals() {
    let stack = stack().await;
    let (opp, order) = won_with_order(&stack).await;
    let sf = &stack.sf_sandbox;
    let line = sf.records("OpportunityLineItem").into_iter().find(|l| l["OpportunityId"] == opp.as_str()).unwrap();
    sf.update_record("OpportunityLineItem", line["Id"].as_str().unwrap(), json!({"Quantity": 5})).unwrap();

    changed(&stack, &opp, "edited").await;

    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Needs review");
    let reason = deal["SAP_Sync_Error__c"].as_str().unwrap();
    let (amount, total) = (deal["Amount"].as_f64().unwrap(), order["DocTotal"].as_f64().unwrap());
    assert!(reason.contains(&format!("{amount:.2}")) && reason.contains(&format!("{total:.2}")), "{reason}");
    assert_eq!(order_now(&stack, &order)["DocTotal"], order["DocTotal"], "the order is not changed behind SAP's back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_cancelled_in_sap_says_so_on_the_deal_and_a_deal_still_won_is_flagged() {
    let stack = stack().await;
    let (opp, order) = won_with_order(&stack).await;
    stack.sap.post_action(&format!("Orders({})/Cancel", order["DocEntry"])).await.unwrap();

    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 0);
    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Cancelled", "F5 carries the cancellation: {deal}");
    assert!(deal["SAP_Sync_Error__c"].as_str().unwrap().contains("cancelled in SAP"));

    changed(&stack, &opp, "still-won").await;
    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Needs review");
    assert!(deal["SAP_Sync_Error__c"].as_str().unwrap().contains("is cancelled; clear SAP_DocEntry__c and replay"));
}

/// With F1 `on_lines_edited = "update"`: a deal's lines edited after Closed Won replace its open
/// order's lines (SAP reprices them; the order's net total is the new Amount) and the deal says
/// Synced; once the order is partly delivered, an edit is flagged instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_lines_edited_update_an_untouched_order_takes_the_edited_lines_and_a_delivered_one_is_flagged() {
    let mut stack = stack().await;
    let update = shared::mapping::file::MappingFile::shipped_text()
        .replace(r#"on_lines_edited = "flag""#, r#"on_lines_edited = "update""#);
    stack.mapping = std::sync::Arc::new(shared::mapping::file::MappingFile::parse(&update, "update.toml").unwrap());
    let (opp, order) = won_with_order(&stack).await;
    let sf = &stack.sf_sandbox;
    let lines: Vec<Value> =
        sf.records("OpportunityLineItem").into_iter().filter(|l| l["OpportunityId"] == opp.as_str()).collect();
    sf.update_record("OpportunityLineItem", lines[0]["Id"].as_str().unwrap(), json!({"Quantity": 5})).unwrap();

    changed(&stack, &opp, "edited").await;

    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Synced", "{deal}");
    let updated = order_now(&stack, &order);
    assert_eq!(updated["DocTotal"].as_f64(), deal["Amount"].as_f64(), "the order totals the edited deal (no tax)");
    assert_ne!(updated["DocTotal"], order["DocTotal"]);
    let sap_lines = updated["DocumentLines"].as_array().unwrap();
    assert_eq!(sap_lines.len(), lines.len());
    let edited = sap_lines.iter().find(|l| l["U_SF_LineItemId"] == lines[0]["Id"]).expect("matched by line id");
    assert_eq!(edited["Quantity"].as_f64(), Some(5.0));
    assert_eq!(last_action(&stack, &opp), AuditAction::UpdateOrder);
    assert_eq!(crate::orders_of(&stack, &opp), 1, "updated, not a second order");

    let delivery = json!({"CardCode": "C20000", "DocumentLines": [
        {"BaseType": 17, "BaseEntry": order["DocEntry"], "BaseLine": sap_lines[0]["LineNum"], "Quantity": 1}]});
    stack.sap.post("DeliveryNotes", &delivery).await.unwrap();
    sf.update_record("OpportunityLineItem", lines[0]["Id"].as_str().unwrap(), json!({"Quantity": 7})).unwrap();
    changed(&stack, &opp, "edited-again").await;
    let deal = opportunity(&stack, &opp);
    assert_eq!(deal["SAP_Sync_Status__c"], "Needs review");
    assert!(
        deal["SAP_Sync_Error__c"].as_str().unwrap().contains("not updated: the order is partly delivered"),
        "{deal}"
    );
    assert_eq!(order_now(&stack, &order)["DocTotal"], updated["DocTotal"]);
}

fn orders_of(stack: &LocalStack, opp: &str) -> usize {
    orders_per_opportunity(stack).get(opp).map_or(0, Vec::len)
}
