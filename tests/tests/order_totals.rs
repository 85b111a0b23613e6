//! #14 item 1 end to end: the SAP order F1 creates totals what the Salesforce deal totals —
//! discounts, tax codes, warehouses and units from the mapping, several currencies — and an order
//! SAP would total differently is a permanent error with the reason, never a different total.
//! The SAP sandbox prices documents as B1 does for the cases modelled (`sandbox/src/sap/pricing.rs`,
//! `docs/wire-notes.md` §14).

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::pipeline::{deliver_closed_won, opportunity, orders_per_opportunity};
use serde_json::{Value, json};
use shared::mapping::file::MappingFile;
use std::sync::Arc;

/// F1's line entries for tax code (by product family), warehouse (by account type) and unit (by the
/// product's unit of measure), read through relationship paths.
const LINE_ENTRIES: &str = r#"  { salesforce = "Product2.Family", sap = "TaxCode", owner = "salesforce", value_map = { "Hardware" = "CA", "Software" = "NY" } },
  { salesforce = "Opportunity.Account.Type", sap = "WarehouseCode", owner = "salesforce", value_map = { "Customer" = "02", "Prospect" = "01" } },
  { salesforce = "Product2.QuantityUnitOfMeasure", sap = "UoMCode", owner = "salesforce", value_map = { "Each" = "EA", "Box" = "BOX12" } },
"#;

const SERVICE_DATE: &str = "  { salesforce = \"ServiceDate\", sap = \"ShipDate\", owner = \"salesforce\" },\n";
const DUE_DATE: &str = "  { salesforce = \"CloseDate\", sap = \"DocDueDate\", owner = \"salesforce\" },\n";

fn mapping(extra_lines: &str, extra_header: &str) -> Arc<MappingFile> {
    let text = MappingFile::shipped_text().replacen(SERVICE_DATE, &format!("{SERVICE_DATE}{extra_lines}"), 1).replacen(
        DUE_DATE,
        &format!("{DUE_DATE}{extra_header}"),
        1,
    );
    Arc::new(MappingFile::parse(&text, "order totals mapping.toml").unwrap_or_else(|e| panic!("{e}")))
}

async fn stack(multi_currency: bool) -> LocalStack {
    let options = LocalOptions { salesforce_multi_currency: multi_currency, ..LocalOptions::default() };
    LocalStack::start(options).await.expect("local stack starts")
}

fn id_of(record: &Value) -> String {
    record["Id"].as_str().expect("an id").to_string()
}

/// A Closed Won opportunity of `account` whose lines are (product code, quantity, unit price, discount %).
fn deal(stack: &LocalStack, account: &str, lines: &[(&str, f64, f64, f64)]) -> String {
    let sf = &stack.sf_sandbox;
    let codes: Vec<&str> = lines.iter().map(|l| l.0).collect();
    let opp = sf.create_opportunity(account, "Closed Won", &codes);
    let mut items: Vec<Value> =
        sf.records("OpportunityLineItem").into_iter().filter(|l| l["OpportunityId"] == opp.as_str()).collect();
    items.sort_by(|a, b| a["SortOrder"].as_f64().partial_cmp(&b["SortOrder"].as_f64()).unwrap());
    for (item, (_, quantity, price, discount)) in items.iter().zip(lines) {
        let fields = json!({"Quantity": quantity, "UnitPrice": price, "Discount": discount});
        sf.update_record("OpportunityLineItem", &id_of(item), fields).unwrap();
    }
    opp
}

fn seeded_account(stack: &LocalStack, card_code: &str) -> String {
    let account = stack.sf_sandbox.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == card_code);
    id_of(&account.unwrap_or_else(|| panic!("the account of {card_code}")))
}

fn product(stack: &LocalStack, code: &str) -> String {
    id_of(&stack.sf_sandbox.records("Product2").into_iter().find(|p| p["ProductCode"] == code).expect("a product"))
}

/// Delivers the opportunity's Closed Won event and drains the queue once.
async fn sync(stack: &LocalStack, opp: &str) -> shared::engine::drain::DrainStats {
    deliver_closed_won(stack, &[opp.to_string()], 1, opp).await.unwrap();
    stack.drain(u64::MAX).await.unwrap()
}

fn amount(stack: &LocalStack, opp: &str) -> f64 {
    opportunity(stack, opp)["Amount"].as_f64().expect("an Amount")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounted_lines_with_two_tax_codes_a_mapped_warehouse_and_unit_total_the_opportunity_amount() {
    let mut stack = stack(false).await;
    stack.mapping = mapping(LINE_ENTRIES, "");
    let sf = &stack.sf_sandbox;
    sf.update_record(
        "Product2",
        &product(&stack, "A00002"),
        json!({"Family": "Software", "QuantityUnitOfMeasure": "Box"}),
    )
    .unwrap();
    sf.update_record("Product2", &product(&stack, "A00001"), json!({"QuantityUnitOfMeasure": "Each"})).unwrap();
    for item in ["A00001", "A00002"] {
        stack.sap.patch(&format!("Items('{item}')"), &json!({"UoMGroupEntry": 1})).await.unwrap();
    }
    // C20000 is a USD customer of type Customer: 2 × 50 less 10 % = 90 (CA 7.25 %), 3 × 80 less 25 % = 180 (NY 8.875 %).
    let opp =
        deal(&stack, &seeded_account(&stack, "C20000"), &[("A00001", 2.0, 50.0, 10.0), ("A00002", 3.0, 80.0, 25.0)]);
    assert_eq!(amount(&stack, &opp), 270.0);

    let stats = sync(&stack, &opp).await;

    assert_eq!((stats.created, stats.dead_lettered), (1, 0), "{stats:?} {}", opportunity(&stack, &opp));
    let order = orders_per_opportunity(&stack).remove(&opp).unwrap().remove(0);
    let lines = order["DocumentLines"].as_array().unwrap();
    let of_line = |field: &str| lines.iter().map(|l| l[field].clone()).collect::<Vec<_>>();
    assert_eq!(of_line("TaxCode"), [json!("CA"), json!("NY")]);
    assert_eq!(of_line("WarehouseCode"), [json!("02"), json!("02")], "from the account's Type");
    assert_eq!(of_line("UoMCode"), [json!("EA"), json!("BOX12")]);
    assert_eq!(of_line("InventoryQuantity"), [json!(2.0), json!(36.0)], "3 boxes of 12");
    assert_eq!(of_line("LineTotal"), [json!(90.0), json!(180.0)]);
    assert_eq!(order["VatSum"], json!(6.53 + 15.98), "tax per line: 90 × 7.25 % and 180 × 8.875 %, rounded");
    let net = order["DocTotal"].as_f64().unwrap() - order["VatSum"].as_f64().unwrap();
    assert!((net - 270.0).abs() < 0.005, "DocTotal − VatSum = the opportunity's Amount: {order}");
    assert_eq!(opportunity(&stack, &opp)["SAP_Sync_Status__c"], "Synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_in_pounds_becomes_an_order_in_pounds_and_a_euro_customer_refuses_it_with_the_reason() {
    let mut stack = stack(true).await;
    stack.mapping =
        mapping("", "  { salesforce = \"CurrencyIsoCode\", sap = \"DocCurrency\", owner = \"salesforce\" },\n");
    let sf = &stack.sf_sandbox;
    // A new account: F1 creates its business partner, which takes all currencies.
    let prospect = sf.records("Account").into_iter().find(|a| a["SAP_CardCode__c"].is_null()).map(|a| id_of(&a));
    let prospect = prospect.expect("a seeded prospect without CardCode");
    let pounds = deal(&stack, &prospect, &[("A00001", 2.0, 50.0, 10.0), ("A00003", 1.0, 120.0, 0.0)]);
    sf.update_record("Opportunity", &pounds, json!({"CurrencyIsoCode": "GBP"})).unwrap();
    // C20001 takes euros only.
    let euros_only = deal(&stack, &seeded_account(&stack, "C20001"), &[("A00001", 1.0, 40.0, 0.0)]);
    sf.update_record("Opportunity", &euros_only, json!({"CurrencyIsoCode": "GBP"})).unwrap();

    let stats = sync(&stack, &pounds).await;

    assert_eq!((stats.created, stats.dead_lettered), (1, 0), "{stats:?}");
    let order = orders_per_opportunity(&stack).remove(&pounds).unwrap().remove(0);
    assert_eq!((&order["DocCurrency"], &order["DocRate"]), (&json!("GBP"), &json!(1.27)));
    assert_eq!(order["DocTotalFc"], json!(amount(&stack, &pounds)), "210 GBP, untaxed");
    assert_eq!(order["DocTotal"], json!(266.7), "in local currency: 210 × 1.27");
    assert_eq!(opportunity(&stack, &pounds)["SAP_Sync_Status__c"], "Synced");

    let refused = sync(&stack, &euros_only).await;

    assert_eq!((refused.created, refused.dead_lettered), (0, 1), "a permanent error: {refused:?}");
    assert!(!orders_per_opportunity(&stack).contains_key(&euros_only));
    let flagged = opportunity(&stack, &euros_only);
    assert_eq!(flagged["SAP_Sync_Status__c"], "Failed");
    let reason = flagged["SAP_Sync_Error__c"].as_str().unwrap();
    assert!(reason.contains("GBP differs from the business partner's currency EUR"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_sap_would_total_differently_is_refused_before_it_is_posted() {
    let stack = stack(false).await;
    // 7 × 9.99 less 33 %: Salesforce totals 46.85; SAP, pricing to 2 decimals, 7 × 6.69 = 46.83.
    let opp = deal(&stack, &seeded_account(&stack, "C20000"), &[("A00001", 7.0, 9.99, 33.0)]);
    assert_eq!(amount(&stack, &opp), 46.85);

    let stats = sync(&stack, &opp).await;

    assert_eq!((stats.created, stats.dead_lettered), (0, 1), "{stats:?}");
    assert_eq!(stack.sap_sandbox.calls().snapshot().get("POST /Orders").copied().unwrap_or(0), 0, "nothing posted");
    let flagged = opportunity(&stack, &opp);
    assert_eq!(flagged["SAP_Sync_Status__c"], "Failed");
    let reason = flagged["SAP_Sync_Error__c"].as_str().unwrap();
    assert!(reason.contains("SAP would total 46.83") && reason.contains("TotalPrice is 46.85"), "{reason}");
}
