//! #14 item 3 end to end: a sales order entered in SAP reaches Salesforce as an Order **with its
//! products** (standard price book entries found by ItemCode, prices after discount), follows the
//! edits made in SAP (quantities, removed and added lines), is dated by its deliveries, and says
//! when it was cancelled. An order whose item has no active entry fails alone, with the reason.

use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::engine::sf_writer::{SfWriterSettings, WriterRun};
use shared::ports::{Outcome, SapOrders};

async fn stack() -> LocalStack {
    LocalStack::start(LocalOptions::default()).await.expect("local stack starts")
}

/// Polls every entity and drains `to-salesforce.fifo`.
async fn sync(stack: &LocalStack) -> WriterRun {
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap().1
}

fn by_field(records: &[Value], field: &str, value: &str) -> Vec<Value> {
    records.iter().filter(|r| r[field] == value).cloned().collect()
}

/// The Salesforce Order of SAP order `doc_entry`, and its products.
fn order_of(stack: &LocalStack, doc_entry: i64) -> (Value, Vec<Value>) {
    let key = format!("Orders/{doc_entry}");
    let order = by_field(&stack.sf_sandbox.records("Order"), "SAP_Order_Key__c", &key).remove(0);
    let products = by_field(&stack.sf_sandbox.records("OrderItem"), "OrderId", order["Id"].as_str().unwrap());
    (order, products)
}

fn product_of_line(products: &[Value], doc_entry: i64, line: i64) -> Value {
    by_field(products, "SAP_Line_Key__c", &format!("Orders/{doc_entry}/{line}")).remove(0)
}

fn product2_id(stack: &LocalStack, item_code: &str) -> Value {
    by_field(&stack.sf_sandbox.records("Product2"), "SAP_ItemCode__c", item_code).remove(0)["Id"].clone()
}

async fn post_order(stack: &LocalStack, body: Value) -> Value {
    let created = stack.sap.post("Orders", &body).await.unwrap();
    stack.sap_sandbox.document("Orders", created["DocEntry"].as_i64().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_entered_in_sap_brings_its_products_and_follows_edits_deliveries_and_a_cancel() {
    let stack = stack().await;
    sync(&stack).await;
    let order = post_order(
        &stack,
        json!({"CardCode": "C20000", "DocDueDate": "2026-12-15", "DocumentLines": [
            {"ItemCode": "A00001", "Quantity": 3, "UnitPrice": 40.0, "DiscountPercent": 12.5, "ShipDate": "2026-12-12"},
            {"ItemCode": "A00004", "Quantity": 2, "UnitPrice": 19.99}]}),
    )
    .await;
    let entry = order["DocEntry"].as_i64().unwrap();
    let run = sync(&stack).await;
    assert_eq!(run.dead_lettered, 0, "{run:?}");

    let (sf_order, products) = order_of(&stack, entry);
    assert_eq!(products.len(), 2);
    let (first, removed) = (product_of_line(&products, entry, 0), product_of_line(&products, entry, 1));
    // The price after SAP's 12.5 % discount, so the order's total is SAP's (no tax on these lines).
    assert_eq!(
        (&first["Product2Id"], first["Quantity"].as_f64(), first["UnitPrice"].as_f64()),
        (&product2_id(&stack, "A00001"), Some(3.0), Some(35.0))
    );
    assert_eq!(first["ServiceDate"], "2026-12-12");
    assert_eq!(sf_order["TotalAmount"].as_f64(), order["DocTotal"].as_f64());
    assert_eq!(sf_order["TotalAmount"].as_f64(), Some(144.98));
    assert_eq!(sf_order["SAP_Expected_Ship_Date__c"], "2026-12-15");
    let standard = stack.sf_sandbox.records("Pricebook2").into_iter().find(|b| b["IsStandard"] == true).unwrap();
    assert_eq!(sf_order["Pricebook2Id"], standard["Id"]);

    // Edited in SAP: line 0 now 5, line 1 removed, a new line added.
    stack
        .sap_sandbox
        .user_update_replacing_lines(
            "Orders",
            entry,
            json!({"DocumentLines": [
                {"LineNum": 0, "ItemCode": "A00001", "Quantity": 5, "UnitPrice": 40.0, "DiscountPercent": 12.5},
                {"ItemCode": "A00006", "Quantity": 1, "UnitPrice": 10.0}]}),
        )
        .unwrap();
    let edited = stack.sap_sandbox.document("Orders", entry).unwrap();
    sync(&stack).await;
    let (sf_order, products) = order_of(&stack, entry);
    let lines: Vec<i64> =
        edited["DocumentLines"].as_array().unwrap().iter().map(|l| l["LineNum"].as_i64().unwrap()).collect();
    assert_eq!(products.len(), lines.len());
    let kept = product_of_line(&products, entry, 0);
    assert_eq!((&kept["Id"], kept["Quantity"].as_f64()), (&first["Id"], Some(5.0)), "updated in place");
    // Whether B1 gives the new line a fresh LineNum or the removed one's [U], the removed line's
    // product is deleted (an entry cannot change) and the new line has its own.
    assert!(
        by_field(&products, "Id", removed["Id"].as_str().unwrap()).is_empty(),
        "the removed line's product is deleted"
    );
    let added = product_of_line(&products, entry, *lines.last().unwrap());
    assert_eq!(added["Product2Id"], product2_id(&stack, "A00006"));
    assert_eq!(sf_order["TotalAmount"].as_f64(), edited["DocTotal"].as_f64());

    // Delivered in part: the order is dated by its delivery (its products stay as they are).
    let delivery = json!({"CardCode": "C20000", "DocDate": "2026-12-10", "DocumentLines": [
        {"BaseType": 17, "BaseEntry": entry, "BaseLine": 0, "Quantity": 2}]});
    stack.sap.post("DeliveryNotes", &delivery).await.unwrap();
    let run = sync(&stack).await;
    assert_eq!(run.dead_lettered, 0, "{run:?}");
    let (sf_order, after_delivery) = order_of(&stack, entry);
    assert_eq!(sf_order["SAP_Delivery_Date__c"], "2026-12-10");
    assert_eq!(after_delivery.len(), products.len());

    // A second order, cancelled in SAP: its Order says so.
    let second = post_order(
        &stack,
        json!({"CardCode": "C20000", "DocDueDate": "2026-12-20", "DocumentLines": [
            {"ItemCode": "A00002", "Quantity": 1}]}),
    )
    .await;
    let second = second["DocEntry"].as_i64().unwrap();
    sync(&stack).await;
    assert_eq!(order_of(&stack, second).0["SAP_Fulfilment_Status__c"], "Open");
    stack.sap.cancel_order(second).await.unwrap();
    sync(&stack).await;
    assert_eq!(order_of(&stack, second).0["SAP_Fulfilment_Status__c"], "Cancelled");

    // Nothing changed since: a rerun writes nothing.
    let writes_before = stack.sf_sandbox.calls().snapshot();
    let again = sync(&stack).await;
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(stack.sf_sandbox.calls().snapshot(), writes_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_item_has_no_active_price_book_entry_fails_alone_with_the_reason() {
    let stack = stack().await;
    sync(&stack).await;
    // A price book entry an admin switched off in Salesforce.
    let product = product2_id(&stack, "A00007");
    let entry =
        by_field(&stack.sf_sandbox.records("PricebookEntry"), "Product2Id", product.as_str().unwrap()).remove(0);
    stack
        .sf_sandbox
        .update_record("PricebookEntry", entry["Id"].as_str().unwrap(), json!({"IsActive": false}))
        .unwrap();

    let blocked = post_order(
        &stack,
        json!({"CardCode": "C20004", "DocDueDate": "2026-12-15", "DocumentLines": [
        {"ItemCode": "A00001", "Quantity": 1}, {"ItemCode": "A00007", "Quantity": 1}]}),
    )
    .await;
    let fine = post_order(
        &stack,
        json!({"CardCode": "C20004", "DocDueDate": "2026-12-15", "DocumentLines": [
        {"ItemCode": "A00001", "Quantity": 2}]}),
    )
    .await;
    let run = sync(&stack).await;
    assert_eq!(run.dead_lettered, 1, "{run:?}");

    let (_, blocked_products) = order_of(&stack, blocked["DocEntry"].as_i64().unwrap());
    assert!(blocked_products.is_empty(), "no partial order: {blocked_products:?}");
    let (fine_order, fine_products) = order_of(&stack, fine["DocEntry"].as_i64().unwrap());
    assert_eq!(fine_products.len(), 1);
    assert_eq!(fine_order["TotalAmount"].as_f64(), fine["DocTotal"].as_f64());
    let key = format!("sap:Orders:{}", blocked["DocEntry"]);
    let failure = stack.audit.all().into_iter().rfind(|e| e.record_key == key).unwrap();
    assert_eq!(failure.outcome, Outcome::DeadLettered);
    let reason = failure.error.unwrap();
    assert!(reason.contains("A00007") && reason.contains("no active entry"), "{reason}");
}
