//! #14 item 7: a customer crossing its credit alert threshold, or frozen in SAP, tells the owners
//! of its open deals once (a `B1Force_Credit_Alert__e` platform event); staying over tells nobody
//! again, falling clear re-arms the alert; the first sync only sets each customer's baseline.

use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::engine::sf_writer::{SfWriterSettings, Stop};

const EVENT: &str = "B1Force_Credit_Alert__e";

async fn sync(stack: &LocalStack) {
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!((run.dead_lettered, run.stopped.clone()), (0, Stop::QueueEmpty), "{errors:?}");
}

/// The events about `card_code`.
fn events_of(stack: &LocalStack, card_code: &str) -> Vec<Value> {
    stack.sf_sandbox.records(EVENT).into_iter().filter(|e| e["Card_Code__c"] == card_code).collect()
}

fn account(stack: &LocalStack, card_code: &str) -> Value {
    stack.sf_sandbox.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == card_code).unwrap()
}

/// A seeded customer with a balance within its credit.
fn customer_within_credit(stack: &LocalStack) -> (String, f64) {
    stack
        .sf_sandbox
        .records("Account")
        .iter()
        .filter(|a| a["SAP_Credit_Alert__c"] == false)
        .filter_map(|a| a["SAP_CardCode__c"].as_str().map(str::to_string))
        .find_map(|code| {
            let balance = stack.sap_sandbox.business_partner(&code)?["CurrentAccountBalance"].as_f64()?;
            (balance > 0.0).then_some((code, balance))
        })
        .expect("the seed has a customer with a balance within its credit")
}

#[tokio::test]
async fn crossing_the_threshold_or_a_freeze_tells_the_owners_of_open_deals_once() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    sync(&stack).await;
    // The first sync sets each customer's baseline and tells nobody, over its threshold or not.
    let over = stack.sf_sandbox.records("Account").into_iter().filter(|a| a["SAP_Credit_Alert__c"] == true).count();
    assert!(over > 0, "the seed has customers over their threshold");
    assert!(stack.sf_sandbox.records(EVENT).is_empty());
    let (code, balance) = customer_within_credit(&stack);
    let events = || events_of(&stack, &code);
    let set_credit = |changes: Value| stack.sap_sandbox.user_update("BusinessPartners", &code, changes).unwrap();
    let account_id = account(&stack, &code)["Id"].as_str().unwrap().to_string();
    let deal = |owner: &str, stage: &str| {
        let fields = json!({"Name": format!("{owner} {stage}"), "AccountId": account_id, "StageName": stage,
                            "CloseDate": "2026-12-31", "OwnerId": owner});
        stack.sf_sandbox.create_record("Opportunity", fields).unwrap();
    };
    let (anna, bo, cy) = ("005SB0000000AnnAAA", "005SB0000000BoBAAA", "005SB0000000CyCAAA");
    deal(anna, "Prospecting");
    deal(anna, "Negotiation/Review");
    deal(bo, "Proposal/Price Quote");
    deal(cy, "Closed Lost"); // closed: its owner is not told

    // Over the 0.9 threshold: one event naming the account and both owners of the three open deals.
    set_credit(json!({"CreditLimit": balance / 0.95}));
    sync(&stack).await;
    let told = events();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["Card_Code__c"], code.as_str());
    assert_eq!(told[0]["Account_Id__c"], account_id.as_str());
    assert_eq!(told[0]["Level__c"], "threshold");
    // The seed's open deals of the account (owned by the integration user) count too.
    let open: Vec<Value> = stack
        .sf_sandbox
        .records("Opportunity")
        .into_iter()
        .filter(|o| o["AccountId"] == account_id.as_str() && o["IsClosed"] == false)
        .collect();
    let mut owners: Vec<&str> = open.iter().filter_map(|o| o["OwnerId"].as_str()).collect();
    owners.sort();
    owners.dedup();
    assert!(owners.contains(&anna) && owners.contains(&bo) && !owners.contains(&cy));
    assert_eq!(told[0]["Recipient_Ids__c"], owners.join(","));
    assert_eq!(told[0]["Open_Deals__c"].as_f64(), Some(open.len() as f64));
    assert!(open.len() >= 3);
    assert_eq!(told[0]["Balance__c"].as_f64(), Some(balance));
    assert_eq!(account(&stack, &code)["SAP_Credit_Alert__c"], true);

    // Still over after another change: the account is updated, nobody is told again.
    set_credit(json!({"CreditLimit": balance / 0.97}));
    sync(&stack).await;
    assert_eq!(events().len(), 1);

    // Clear, then over again: told again.
    set_credit(json!({"CreditLimit": balance * 10.0}));
    sync(&stack).await;
    assert_eq!(account(&stack, &code)["SAP_Credit_Alert__c"], false);
    assert_eq!(events().len(), 1);
    set_credit(json!({"CreditLimit": balance}));
    sync(&stack).await;
    assert_eq!(events().len(), 2);

    // Frozen is worse than over the threshold: told, with the level.
    set_credit(json!({"Frozen": "tYES"}));
    sync(&stack).await;
    let told = events();
    assert_eq!(told.len(), 3);
    assert_eq!(told[2]["Level__c"], "frozen");
    // Nobody else was told anything.
    assert_eq!(stack.sf_sandbox.records(EVENT).len(), 3);
}

/// Documents move a customer's balances without touching its partner's UpdateDate: the invoice
/// that pushes a customer over its threshold refreshes the account's balance and tells the owners.
#[tokio::test]
async fn an_invoice_that_pushes_the_balance_over_the_threshold_refreshes_the_account_and_tells_the_owners() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    sync(&stack).await;
    let (code, balance) = customer_within_credit(&stack);
    let account_before = account(&stack, &code);
    let limit = account_before["SAP_Credit_Limit__c"].as_f64().unwrap_or_default();
    // A limit the balance stays under until the invoice below (set in SAP: a partner change).
    let limit = if limit > 0.0 && balance / limit < 0.5 { limit } else { balance * 2.0 };
    stack.sap_sandbox.user_update("BusinessPartners", &code, json!({"CreditLimit": limit})).unwrap();
    sync(&stack).await;
    let update_date = stack.sap_sandbox.business_partner(&code).unwrap()["UpdateDate"].clone();

    let invoice = json!({"CardCode": code, "DocDueDate": "2099-12-31", "DocumentLines": [
        {"ItemCode": "A00001", "Quantity": 1, "UnitPrice": limit, "TaxCode": "EX"}]});
    stack.sap.post("Invoices", &invoice).await.unwrap();
    let partner = stack.sap_sandbox.business_partner(&code).unwrap();
    assert_eq!(partner["UpdateDate"], update_date, "an invoice leaves the partner's UpdateDate alone");
    let moved = partner["CurrentAccountBalance"].as_f64().unwrap();
    assert!(moved / limit >= 0.9, "the invoice takes {code} over its threshold: {moved} of {limit}");

    sync(&stack).await;
    let after = account(&stack, &code);
    assert_eq!(after["SAP_Balance__c"].as_f64(), Some(moved), "the account's balance follows the invoice");
    assert_eq!(after["SAP_Credit_Alert__c"], true);
    let told = events_of(&stack, &code);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!((told[0]["Level__c"].as_str(), told[0]["Balance__c"].as_f64()), (Some("threshold"), Some(moved)));
}
