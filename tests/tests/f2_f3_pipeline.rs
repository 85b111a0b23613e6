//! F2 and F3 end to end on the sandboxes: accounts (and converted leads, and contacts) become SAP
//! business partners; cases get the customer's SAP billing context. Every change reaches the
//! pipeline as the CDC event Salesforce would emit for it, delivered more than once.

use b1force_cli::local::{LocalOptions, LocalStack, change_event};
use serde_json::{Value, json};
use shared::engine::drain::DrainStats;

/// Delivers the CDC events of every change Salesforce logged since `cursor`, `times` times each;
/// returns the new cursor.
async fn deliver_changes(stack: &LocalStack, cursor: usize, times: usize) -> usize {
    let changes = stack.sf_sandbox.changes();
    for change in &changes[cursor..] {
        let event = change_event(change);
        for _ in 0..times {
            // Objects without a flow (e.g. line items) are rejected by the receiver; that is fine here.
            let _ = stack.receiver().receive(&event).await;
        }
    }
    changes.len()
}

async fn drain(stack: &LocalStack) -> DrainStats {
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!(
        stats.dead_lettered,
        0,
        "{stats:?}: {:?}",
        stack.audit.all().iter().filter_map(|e| e.error.clone()).collect::<Vec<_>>()
    );
    stats
}

fn card_code_of(stack: &LocalStack, account: &str) -> String {
    stack.sf_sandbox.record("Account", account).unwrap()["SAP_CardCode__c"]
        .as_str()
        .unwrap_or_else(|| panic!("account {account} got no CardCode"))
        .to_string()
}

fn new_account(stack: &LocalStack, name: &str) -> String {
    let account = stack
        .sf_sandbox
        .create_record(
            "Account",
            json!({"Name": name, "Phone": "+49 30 1234", "BillingStreet": "Unter den Linden 1", "BillingCity": "Berlin",
                   "BillingPostalCode": "10117", "BillingCountry": "DE", "Type": "Customer"}),
        )
        .unwrap();
    for (first, last) in [("Ada", "Lovelace"), ("Grace", "Hopper")] {
        stack
            .sf_sandbox
            .create_record(
                "Contact",
                json!({"AccountId": account, "FirstName": first, "LastName": last,
                                            "Email": format!("{}@example.com", first.to_lowercase())}),
            )
            .unwrap();
    }
    account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_with_contacts_becomes_one_business_partner_even_delivered_three_times() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let account = new_account(&stack, "Kestrel Robotics GmbH");
    // A quick second edit: two different changes of one account in the same FIFO group.
    stack.sf_sandbox.update_record("Account", &account, json!({"Website": "https://kestrel.example"})).unwrap();

    let cursor = deliver_changes(&stack, cursor, 3).await;
    drain(&stack).await;

    let code = card_code_of(&stack, &account);
    let partner = stack.sap_sandbox.business_partner(&code).expect("the business partner exists in SAP");
    assert_eq!(partner["CardName"], "Kestrel Robotics GmbH");
    assert_eq!(partner["Website"], "https://kestrel.example");
    assert_eq!(partner["CardType"], "cCustomer");
    let contacts = partner["ContactEmployees"].as_array().unwrap();
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert!(contacts.iter().all(|c| c["U_SF_ContactId"].as_str().is_some_and(|id| id.starts_with("003"))));
    let bill_to = partner["BPAddresses"].as_array().unwrap().iter().find(|a| a["AddressType"] == "bo_BillTo").cloned();
    assert_eq!(bill_to.expect("a bill-to address")["City"], "Berlin");
    assert_eq!(stack.sap_sandbox.calls().matching("POST /BusinessPartners"), 1, "created once");

    // The CardCode write-back comes back as CDC carrying our client tag: no work at all.
    let sap_calls = stack.sap_sandbox.calls().total();
    deliver_changes(&stack, cursor, 1).await;
    drain(&stack).await;
    assert_eq!(stack.sap_sandbox.calls().total(), sap_calls, "our own write's echo caused SAP calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_edit_updates_its_contact_person_in_place() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let account = new_account(&stack, "Osprey Logistics AG");
    let cursor = deliver_changes(&stack, cursor, 1).await;
    drain(&stack).await;
    let code = card_code_of(&stack, &account);
    let contact =
        stack.sf_sandbox.records("Contact").into_iter().rev().find(|c| c["AccountId"] == account.as_str()).unwrap();
    let contact_id = contact["Id"].as_str().unwrap().to_string();

    stack.sf_sandbox.update_record("Contact", &contact_id, json!({"Email": "new.address@example.com"})).unwrap();
    deliver_changes(&stack, cursor, 2).await;
    drain(&stack).await;

    let partner = stack.sap_sandbox.business_partner(&code).unwrap();
    let people = partner["ContactEmployees"].as_array().unwrap();
    assert_eq!(people.len(), 2, "updated in place, not inserted: {people:?}");
    let person = people.iter().find(|p| p["U_SF_ContactId"] == contact_id.as_str()).unwrap();
    assert_eq!(person["E_Mail"], "new.address@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converted_lead_becomes_a_business_partner() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let lead = stack
        .sf_sandbox
        .create_record(
            "Lead",
            json!({"FirstName": "Linus", "LastName": "Pauling", "Company": "Heron Chemicals Ltd",
                                    "Email": "linus@heron.example", "Status": "Working"}),
        )
        .unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let (account, _contact) = stack.sf_sandbox.convert_lead(&lead).unwrap();
    // Only the Lead's event is delivered: the receiver must find the account through it.
    let lead_changes: Vec<Value> =
        stack.sf_sandbox.changes()[cursor..].iter().filter(|c| c.entity == "Lead").map(change_event).collect();
    assert_eq!(lead_changes.len(), 1);
    for _ in 0..3 {
        stack.receiver().receive(&lead_changes[0]).await.unwrap();
    }
    drain(&stack).await;

    let code = card_code_of(&stack, &account);
    let partner = stack.sap_sandbox.business_partner(&code).unwrap();
    assert_eq!(partner["CardName"], "Heron Chemicals Ltd");
    assert_eq!(partner["ContactEmployees"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sap_owned_fields_stay_in_sap_and_co_owned_fields_follow_the_newer_side() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let account = stack
        .sf_sandbox
        .records("Account")
        .into_iter()
        .find(|a| a["SAP_CardCode__c"] == "C20003")
        .and_then(|a| a["Id"].as_str().map(String::from))
        .unwrap();
    let before = stack.sap_sandbox.business_partner("C20003").unwrap();

    // Salesforce edits an SAP-owned field and a co-owned one; SAP's copy of the co-owned one is older.
    stack.sap_sandbox.set_clock(Some("2026-01-01T00:00:00")).unwrap();
    stack.sap_sandbox.user_update("BusinessPartners", "C20003", json!({"Phone1": "+1 000 SAP OLD"})).unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    stack
        .sf_sandbox
        .update_record("Account", &account, json!({"SAP_Credit_Limit__c": 999999, "Phone": "+1 555 SALESFORCE"}))
        .unwrap();
    let cursor = deliver_changes(&stack, cursor, 1).await;
    drain(&stack).await;
    let after = stack.sap_sandbox.business_partner("C20003").unwrap();
    assert_eq!(after["CreditLimit"], before["CreditLimit"], "an SAP-owned field was written from Salesforce");
    assert_eq!(after["Phone1"], "+1 555 SALESFORCE", "Salesforce changed Phone last, so it wins");

    // Now SAP changes the phone after Salesforce did; Salesforce's older value must not overwrite it.
    stack.sap_sandbox.set_clock(Some("2099-01-01T00:00:00")).unwrap();
    stack.sap_sandbox.user_update("BusinessPartners", "C20003", json!({"Phone1": "+1 777 SAP NEW"})).unwrap();
    stack.sf_sandbox.update_record("Account", &account, json!({"Website": "https://c20003.example"})).unwrap();
    deliver_changes(&stack, cursor, 1).await;
    drain(&stack).await;
    let last = stack.sap_sandbox.business_partner("C20003").unwrap();
    assert_eq!(last["Phone1"], "+1 777 SAP NEW", "SAP changed Phone last, so it wins");
    assert_eq!(last["Website"], "https://c20003.example", "Salesforce-owned fields still flow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_case_gets_its_customers_sap_billing_context() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let account = stack
        .sf_sandbox
        .records("Account")
        .into_iter()
        .find(|a| a["SAP_CardCode__c"] == "C20000")
        .and_then(|a| a["Id"].as_str().map(String::from))
        .unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    let case = stack
        .sf_sandbox
        .create_record(
            "Case",
            json!({"AccountId": account, "Subject": "Where is my refund?", "Status": "New", "Origin": "Phone"}),
        )
        .unwrap();

    let cursor = deliver_changes(&stack, cursor, 3).await;
    drain(&stack).await;

    let enriched = stack.sf_sandbox.record("Case", &case).unwrap();
    assert_eq!(enriched["SAP_Open_Invoices__c"].as_f64(), Some(3.0), "{enriched}");
    assert_eq!(enriched["SAP_Overdue_Amount__c"].as_f64(), Some(1500.0));
    assert_eq!(enriched["SAP_Last_Payment_Date__c"], "2026-11-18");
    assert_eq!(enriched["SAP_Open_Orders__c"].as_f64(), Some(1.0));
    assert!(enriched["SAP_Billing_Context__c"].as_str().unwrap().contains("2100.00"));
    let synced_at = enriched["SAP_Synced_At__c"].as_str().unwrap_or_default();
    assert!(synced_at.starts_with("20") && synced_at.ends_with("+0000"), "the sync time, RFC 3339: {enriched}");

    // Our write to the Case comes back as an echo and does nothing.
    let sap_calls = stack.sap_sandbox.calls().total();
    deliver_changes(&stack, cursor, 1).await;
    drain(&stack).await;
    assert_eq!(stack.sap_sandbox.calls().total(), sap_calls);
}
