//! Keys as SAP keeps them (#12 items 4 and 6), end to end on the sandboxes and the embedded backends:
//! B1 compares CardCodes case-insensitively, and CardCodes and ItemCodes may hold quotes, `/`, spaces
//! and non-ASCII letters. The embedded queues refuse what SQS refuses, so a key that would make SQS
//! refuse a page of notifications fails these tests as it would stall a real poll.

use b1force_cli::local::{LocalOptions, LocalStack, change_event};
use e2e::pipeline::{assert_exactly_one_order_each_and_written_back, deliver_closed_won, orders_per_opportunity};
use serde_json::{Value, json};
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use std::collections::HashMap;

async fn started() -> LocalStack {
    LocalStack::start(LocalOptions::default()).await.expect("local stack starts")
}

/// Two new accounts whose 15-character ids differ only in case (the sandbox issues ids in sequence,
/// so `…A` and `…a` come 26 accounts apart).
fn accounts_differing_only_in_case(stack: &LocalStack) -> (String, String) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for n in 0..200 {
        let id = stack.sf_sandbox.create_record("Account", json!({"Name": format!("Twin {n}")})).unwrap();
        if let Some(earlier) = seen.insert(id[..15].to_ascii_lowercase(), id.clone()) {
            assert_ne!(earlier[..15], id[..15]);
            return (earlier, id);
        }
    }
    panic!("no two account ids differing only in case");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_whose_ids_differ_only_in_case_get_two_business_partners_and_their_own_orders() {
    let stack = started().await;
    let (first, second) = accounts_differing_only_in_case(&stack);
    let opportunities: Vec<String> = [&first, &second]
        .iter()
        .map(|account| stack.sf_sandbox.create_opportunity(account, "Closed Won", &["A00001"]))
        .collect();
    deliver_closed_won(&stack, &opportunities, 1, "twins").await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.dead_lettered), (2, 0), "{stats:?}");
    assert_exactly_one_order_each_and_written_back(&stack, &opportunities);

    let code = |account: &str| {
        let account = stack.sf_sandbox.record("Account", account).unwrap();
        account["SAP_CardCode__c"].as_str().expect("CardCode written back").to_string()
    };
    let (first_code, second_code) = (code(&first), code(&second));
    assert!(!first_code.eq_ignore_ascii_case(&second_code), "{first_code} and {second_code} are one BP to B1");
    let orders = orders_per_opportunity(&stack);
    for (opportunity, card_code) in opportunities.iter().zip([&first_code, &second_code]) {
        let bp = stack.sap_sandbox.business_partner(card_code).expect("the BP exists");
        assert_eq!(bp["CardCode"], card_code.as_str(), "its own BP, not one spelled differently");
        assert_eq!(orders[opportunity][0]["CardCode"], card_code.as_str(), "order of {opportunity}");
    }
}

/// A copy of a seeded row under a new key: every mention of the old key (the row's own, its
/// addresses' and contacts') becomes the new one.
fn renamed(row: Value, old: &str, new: &str) -> Value {
    let text = row.to_string().replace(&json!(old).to_string(), &json!(new).to_string());
    serde_json::from_str(&text).unwrap()
}

fn one(records: Vec<Value>, field: &str, value: &str) -> Value {
    let mut found: Vec<Value> = records.into_iter().filter(|r| r[field] == value).collect();
    assert_eq!(found.len(), 1, "{field} = {value:?}");
    found.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_and_items_keyed_with_slashes_quotes_spaces_and_umlauts_sync_both_ways_without_stalling_the_poll() {
    let stack = started().await;
    let card_codes = ["C/9 Ü'x", "d 10#?%&+="];
    // 50 characters (OITM.ItemCode's width), 98 bytes; as a queue id it is cut and digested.
    let long_item = format!("Ä{}x", "ü/ ".repeat(16));
    let item_codes = ["Ü/ß 'x#?%1", long_item.as_str()];
    for code in card_codes {
        let mut row = renamed(stack.sap_sandbox.business_partner("C20000").unwrap(), "C20000", code);
        row["CardName"] = json!(format!("Keyed {code}"));
        row["U_SF_AccountId"] = Value::Null;
        stack.sap_sandbox.insert_business_partner(row);
    }
    for code in item_codes {
        let row = renamed(stack.sap_sandbox.item("A00001").unwrap(), "A00001", code);
        stack.sap_sandbox.insert_item(row);
    }

    // SAP -> Salesforce: every key polled, notified on the strict queue and written.
    let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await.expect("no page refused by the queue");
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!((run.dead_lettered, run.stopped), (0, Stop::QueueEmpty), "{errors:?}");
    assert!(polls.iter().all(|p| p.complete), "{polls:?}");
    for code in card_codes {
        one(stack.sf_sandbox.records("Account"), "SAP_CardCode__c", code);
    }
    for code in item_codes {
        one(stack.sf_sandbox.records("Product2"), "SAP_ItemCode__c", code);
    }
    // The watermark passed them: the next poll finds nothing new to write.
    let (_, again) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!((again.written, again.dead_lettered), (0, 0), "{again:?}");

    // Salesforce -> SAP: an account edit (F2, a PATCH by key) and a won opportunity of that account
    // for both odd items (F1: BP read by key, items by key, the order posted).
    let account = one(stack.sf_sandbox.records("Account"), "SAP_CardCode__c", card_codes[0]);
    let account_id = account["Id"].as_str().unwrap();
    let cursor = stack.sf_sandbox.changes().len();
    stack.sf_sandbox.update_record("Account", account_id, json!({"Phone": "+49 30 1234"})).unwrap();
    for change in &stack.sf_sandbox.changes()[cursor..] {
        stack.receiver().receive(&change_event(change)).await.unwrap();
    }
    let opportunity = stack.sf_sandbox.create_opportunity(account_id, "Closed Won", &item_codes);
    deliver_closed_won(&stack, std::slice::from_ref(&opportunity), 1, "odd-keys").await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!((stats.created, stats.dead_lettered), (1, 0), "{stats:?} {errors:?}");
    assert_eq!(stack.sap_sandbox.business_partner(card_codes[0]).unwrap()["Phone1"], "+49 30 1234");
    let order = orders_per_opportunity(&stack).remove(&opportunity).unwrap().remove(0);
    assert_eq!(order["CardCode"], card_codes[0]);
    let lines: Vec<&str> =
        order["DocumentLines"].as_array().unwrap().iter().map(|l| l["ItemCode"].as_str().unwrap()).collect();
    assert_eq!(lines, item_codes);
}
