//! #14 item 7: a customer crossing its credit alert threshold, or frozen in SAP, tells the owners
//! of its open deals once (a `B1Force_Credit_Alert__e` platform event); staying over tells nobody
//! again, falling clear re-arms the alert; the first sync only sets each customer's baseline.

use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::domain::{Notification, RecordKey};
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use shared::ports::{Outcome, OutgoingMessage, Queue};

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

/// The seeded customers with a balance within their credit.
fn customers_within_credit(stack: &LocalStack) -> Vec<(String, f64)> {
    stack
        .sf_sandbox
        .records("Account")
        .iter()
        .filter(|a| a["SAP_Credit_Alert__c"] == false)
        .filter_map(|a| a["SAP_CardCode__c"].as_str().map(str::to_string))
        .filter_map(|code| {
            let balance = stack.sap_sandbox.business_partner(&code)?["CurrentAccountBalance"].as_f64()?;
            (balance > 0.0).then_some((code, balance))
        })
        .collect()
}

fn customer_within_credit(stack: &LocalStack) -> (String, f64) {
    customers_within_credit(stack).into_iter().next().expect("the seed has a customer with a balance within its credit")
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

/// A refused publish belongs to its customer: that partner's message is dead-lettered with the
/// reason and an audit entry, the other customer crossing in the same round is told, and a replay
/// after the fix tells the first one (its level was never remembered as told).
#[tokio::test]
async fn a_refused_event_fails_its_customer_alone_and_a_replay_after_the_fix_tells_it() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    sync(&stack).await;
    let within = customers_within_credit(&stack);
    assert!(within.len() >= 2, "two customers within credit: {within:?}");
    let [(refused, refused_balance), (told, told_balance)] = [within[0].clone(), within[1].clone()];
    // A fault injector (Salesforce has no validation rules on events): the refused customer's
    // event fails as a record, FIELD_CUSTOM_VALIDATION_EXCEPTION.
    stack.sf_sandbox.add_validation_rule(EVENT, "Card_Code__c", refused.as_str(), "refused for the test");
    for (code, balance) in [(&refused, refused_balance), (&told, told_balance)] {
        stack.sap_sandbox.user_update("BusinessPartners", code, json!({"CreditLimit": balance / 0.95})).unwrap();
    }
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 1, "{run:?}");
    assert_eq!(events_of(&stack, &told).len(), 1);
    assert!(events_of(&stack, &refused).is_empty());
    let key = format!("sap:BusinessPartners:{refused}");
    let dead: Vec<_> =
        stack.audit.all().into_iter().filter(|e| e.outcome == Outcome::DeadLettered && e.record_key == key).collect();
    assert_eq!(dead.len(), 1, "audited once with its reason");
    assert!(dead[0].error.as_deref().unwrap_or_default().contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"), "{dead:?}");
    assert_eq!(stack.to_salesforce_dlq.depth().await.unwrap(), 1);

    // Fixed, then replayed: told now, once.
    stack.sf_sandbox.clear_validation_rules();
    let replay = Notification {
        record: RecordKey::parse(&key).unwrap(),
        reason: "replay".into(),
        changed_at: 0,
        source_version: "replay".into(),
        correlation_id: "test".into(),
    };
    stack.to_salesforce.send(&[OutgoingMessage::from(&replay)]).await.unwrap();
    sync(&stack).await;
    assert_eq!(events_of(&stack, &refused).len(), 1);
    assert_eq!(events_of(&stack, &told).len(), 1, "the other customer is not told again");
}
