//! #14 item 5 end to end: an account deleted in Salesforce deactivates its SAP business partner
//! (never deletes it) and an undelete brings it back; an account merged into one without a partner
//! hands its partner over (the link moves to the winner), merged into one with a partner of its own
//! it is deactivated; F4 then leaves a partner B1Force deactivated alone (no account is resurrected),
//! while a partner made inactive in SAP flags its account. Every change arrives as Salesforce's CDC
//! events (a merge: DELETE of the loser, UPDATE of the winner), delivered twice, in both orders.

use b1force_cli::local::{LocalOptions, LocalStack, change_event};
use serde_json::{Value, json};
use shared::engine::sf_writer::SfWriterSettings;
use shared::ports::AuditAction;

async fn stack() -> LocalStack {
    LocalStack::start(LocalOptions::default()).await.expect("local stack starts")
}

/// Delivers the CDC events of every change since `cursor` twice (in reverse order when `reversed`)
/// and drains the pipeline; returns the new cursor.
async fn deliver(stack: &LocalStack, cursor: usize, reversed: bool) -> usize {
    let changes = stack.sf_sandbox.changes();
    let mut events: Vec<Value> = changes[cursor..].iter().map(change_event).collect();
    if reversed {
        events.reverse();
    }
    for event in events.iter().chain(&events) {
        let _ = stack.receiver().receive(event).await;
    }
    let stats = stack.drain(u64::MAX).await.unwrap();
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!(stats.dead_lettered, 0, "{stats:?}: {errors:?}");
    changes.len()
}

/// A new account synced to SAP; returns (account id, its CardCode).
async fn synced_account(stack: &LocalStack, name: &str) -> (String, String) {
    let cursor = stack.sf_sandbox.changes().len();
    let id = stack.sf_sandbox.create_record("Account", json!({"Name": name, "Type": "Customer"})).unwrap();
    deliver(stack, cursor, false).await;
    let code = stack.sf_sandbox.record("Account", &id).unwrap()["SAP_CardCode__c"].as_str().unwrap().to_string();
    (id, code)
}

fn partner(stack: &LocalStack, code: &str) -> Value {
    stack.sap_sandbox.business_partner(code).expect("the partner is never deleted")
}

fn actions(stack: &LocalStack, account: &str) -> Vec<AuditAction> {
    let key = format!("sf:Account:{account}");
    stack.audit.all().into_iter().filter(|e| e.record_key == key).map(|e| e.action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_deactivates_its_partner_and_an_undelete_brings_it_back() {
    let stack = stack().await;
    let (account, code) = synced_account(&stack, "Heron Analytics").await;
    assert_eq!((&partner(&stack, &code)["Valid"], &partner(&stack, &code)["Frozen"]), (&json!("tYES"), &json!("tNO")));

    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.delete_record("Account", &account).unwrap();
    let cursor = deliver(&stack, cursor, false).await;
    let gone = partner(&stack, &code);
    assert_eq!((&gone["Valid"], &gone["Frozen"]), (&json!("tNO"), &json!("tYES")));
    assert_eq!(gone["FrozenRemarks"], "B1F: deleted in Salesforce");
    assert!(actions(&stack, &account).contains(&AuditAction::DeactivateBusinessPartner));

    // SAP -> Salesforce: the deactivated partner changed in SAP, but there is no account to write,
    // and upserting by its CardCode would make a new one.
    let accounts_before = stack.sf_sandbox.records("Account").len();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(stack.sf_sandbox.records("Account").len(), accounts_before, "no account resurrected");

    stack.sf_sandbox.undelete_record("Account", &account).unwrap();
    deliver(&stack, cursor, false).await;
    let back = partner(&stack, &code);
    assert_eq!((&back["Valid"], &back["Frozen"]), (&json!("tYES"), &json!("tNO")));
    assert!(back["FrozenRemarks"].is_null(), "{back}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_account_hands_its_partner_to_a_winner_without_one_whichever_event_comes_first() {
    for reversed in [false, true] {
        let stack = stack().await;
        let (loser, code) = synced_account(&stack, "Osprey Foods").await;
        // A duplicate made without a partner (outside the sync's filter, as a prospect).
        let cursor = stack.sf_sandbox.changes().len();
        let winner =
            stack.sf_sandbox.create_record("Account", json!({"Name": "Osprey Foods Ltd", "Type": "Prospect"})).unwrap();
        stack.sf_sandbox.update_record("Account", &winner, json!({"Type": "Customer"})).unwrap();
        stack.sf_sandbox.merge_records("Account", &winner, &[loser.as_str()]).unwrap();
        let partners_before = stack.sap_sandbox.documents("BusinessPartners").len();
        deliver(&stack, cursor, reversed).await;

        let won = stack.sf_sandbox.record("Account", &winner).unwrap();
        assert_eq!(won["SAP_CardCode__c"], code, "the link moved to the winner (events reversed: {reversed})");
        assert_eq!(stack.sap_sandbox.documents("BusinessPartners").len(), partners_before, "no second partner");
        let kept = partner(&stack, &code);
        assert_eq!(
            (&kept["Valid"], &kept["Frozen"], &kept["CardName"]),
            (&json!("tYES"), &json!("tNO"), &json!("Osprey Foods Ltd"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_account_whose_winner_has_a_partner_is_deactivated_with_the_winners_code() {
    let stack = stack().await;
    let (loser, loser_code) = synced_account(&stack, "Egret Logistics").await;
    let (winner, winner_code) = synced_account(&stack, "Egret Logistics AG").await;
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.merge_records("Account", &winner, &[loser.as_str()]).unwrap();
    deliver(&stack, cursor, false).await;

    let gone = partner(&stack, &loser_code);
    assert_eq!(gone["Frozen"], "tYES");
    assert_eq!(
        gone["FrozenRemarks"].as_str().unwrap(),
        format!("B1F: merged into {winner_code}").chars().take(30).collect::<String>()
    );
    assert_eq!(partner(&stack, &winner_code)["Frozen"], "tNO");
    assert_eq!(stack.sf_sandbox.record("Account", &winner).unwrap()["SAP_CardCode__c"], winner_code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_made_inactive_in_sap_flags_its_account_and_an_inactive_item_its_price_book_entry() {
    let stack = stack().await;
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    stack.sap_sandbox.user_update("BusinessPartners", "C20004", json!({"Valid": "tNO", "Frozen": "tYES"})).unwrap();
    stack.sap_sandbox.user_update("Items", "A00003", json!({"Valid": "tNO"})).unwrap();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();

    let account = stack.sf_sandbox.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20004").unwrap();
    assert_eq!(account["SAP_Inactive__c"], true);
    let product = stack.sf_sandbox.records("Product2").into_iter().find(|p| p["SAP_ItemCode__c"] == "A00003").unwrap();
    assert_eq!(product["IsActive"], false);
    let entry =
        stack.sf_sandbox.records("PricebookEntry").into_iter().find(|e| e["Product2Id"] == product["Id"]).unwrap();
    assert_eq!(entry["IsActive"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_delete_keep_a_deleted_accounts_partner_is_left_as_it_is() {
    let mut stack = stack().await;
    let keep = shared::mapping::file::MappingFile::shipped_text()
        .replace(r#"on_delete = "deactivate""#, r#"on_delete = "keep""#);
    stack.mapping = std::sync::Arc::new(shared::mapping::file::MappingFile::parse(&keep, "keep.toml").unwrap());
    let (account, code) = synced_account(&stack, "Plover Tools").await;
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.delete_record("Account", &account).unwrap();
    deliver(&stack, cursor, false).await;
    assert_eq!((&partner(&stack, &code)["Valid"], &partner(&stack, &code)["Frozen"]), (&json!("tYES"), &json!("tNO")));
    assert_eq!(actions(&stack, &account).last(), Some(&AuditAction::SkipFiltered));
}

fn contact_person(stack: &LocalStack, code: &str, contact: &str) -> Option<Value> {
    let partner = partner(stack, code);
    partner["ContactEmployees"].as_array().unwrap().iter().find(|c| c["U_SF_ContactId"] == contact).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_merged_contact_deactivates_its_contact_person_and_a_merged_accounts_contacts_move_on() {
    let stack = stack().await;
    let sf = &stack.sf_sandbox;
    let cursor = sf.changes().len();
    let account = sf.create_record("Account", json!({"Name": "Gannet Labs", "Type": "Customer"})).unwrap();
    let person = |last: &str| sf.create_record("Contact", json!({"AccountId": account, "LastName": last})).unwrap();
    let (ada, ben, cy) = (person("Ada"), person("Ben"), person("Cy"));
    deliver(&stack, cursor, false).await;
    let code = sf.record("Account", &account).unwrap()["SAP_CardCode__c"].as_str().unwrap().to_string();
    for contact in [&ada, &ben, &cy] {
        assert_eq!(contact_person(&stack, &code, contact).unwrap()["Active"], "tYES");
    }

    // Ada deleted, Ben merged into Cy: their contact persons stay in SAP, inactive; Cy's does not change.
    let cursor = sf.changes().len();
    sf.delete_record("Contact", &ada).unwrap();
    sf.merge_records("Contact", &cy, &[ben.as_str()]).unwrap();
    deliver(&stack, cursor, false).await;
    assert_eq!(contact_person(&stack, &code, &ada).unwrap()["Active"], "tNO");
    assert_eq!(contact_person(&stack, &code, &ben).unwrap()["Active"], "tNO");
    assert_eq!(contact_person(&stack, &code, &cy).unwrap()["Active"], "tYES");
    let deactivated = stack.audit.all().iter().filter(|e| e.action == AuditAction::DeactivateContactPerson).count();
    assert_eq!(deactivated, 2, "once each: the second delivery of an event is a duplicate");

    // The account merged into one with its own partner: Cy moves with it in Salesforce (silently),
    // and the winner's sync gives the winner's partner a contact person for Cy.
    let (winner, winner_code) = synced_account(&stack, "Gannet Laboratories").await;
    let cursor = sf.changes().len();
    sf.merge_records("Account", &winner, &[account.as_str()]).unwrap();
    deliver(&stack, cursor, false).await;
    assert_eq!(partner(&stack, &code)["Frozen"], "tYES");
    assert_eq!(contact_person(&stack, &winner_code, &cy).map(|c| c["Active"].clone()), Some(json!("tYES")));
}
