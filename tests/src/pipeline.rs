//! Helpers for driving the F1 pipeline on a local stack in tests and the benchmark.

use b1force_cli::local::{LocalStack, opportunity_change_event};
use serde_json::Value;
use std::collections::BTreeMap;

/// The commit time of every change these helpers deliver.
pub const COMMIT_MS: i64 = 1_795_600_800_000;

/// Delivers one Closed Won CDC event per opportunity, `times` times each, through the receiver.
/// Transaction keys are `<tx_prefix>-<index>`, so a second call with the same prefix re-delivers the same changes.
pub async fn deliver_closed_won(
    stack: &LocalStack,
    ids: &[String],
    times: usize,
    tx_prefix: &str,
) -> anyhow::Result<()> {
    for (i, id) in ids.iter().enumerate() {
        // A redelivered change carries its original commit time.
        let event = opportunity_change_event(id, "UPDATE", "", COMMIT_MS, &format!("{tx_prefix}-{i:06}"));
        for _ in 0..times {
            stack.receiver().receive(&event).await?;
        }
    }
    Ok(())
}

/// SAP orders per opportunity id (by the `U_SF_OpportunityId` UDF).
pub fn orders_per_opportunity(stack: &LocalStack) -> BTreeMap<String, Vec<Value>> {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for order in stack.sap_sandbox.orders() {
        let key = order.get("U_SF_OpportunityId").and_then(Value::as_str).unwrap_or("<none>").to_string();
        map.entry(key).or_default().push(order);
    }
    map
}

/// The opportunity as Salesforce holds it now.
pub fn opportunity(stack: &LocalStack, id: &str) -> Value {
    stack.sf_sandbox.record("Opportunity", id).unwrap_or_else(|| panic!("opportunity {id} is not in the sandbox"))
}

/// Asserts each opportunity has exactly one SAP order and that its DocEntry was written back.
pub fn assert_exactly_one_order_each_and_written_back(stack: &LocalStack, ids: &[String]) {
    let orders = orders_per_opportunity(stack);
    for id in ids {
        let found = orders.get(id).map(Vec::len).unwrap_or(0);
        assert_eq!(found, 1, "opportunity {id} has {found} SAP orders");
        let doc_entry = orders[id][0]["DocEntry"].as_i64().expect("DocEntry");
        let opp = opportunity(stack, id);
        assert_eq!(opp["SAP_DocEntry__c"].as_f64().map(|v| v as i64), Some(doc_entry), "write-back of {id}: {opp}");
        assert_eq!(opp["SAP_Sync_Status__c"], "Synced");
    }
}

/// Sends the seeded Closed Won opportunities through F1 (the seed gives them no SAP orders), so a
/// reconciliation of won opportunities against orders starts clean. Returns how many there were.
pub async fn sync_won_opportunities(stack: &LocalStack) -> anyhow::Result<usize> {
    let won: Vec<String> = stack
        .sf_sandbox
        .records("Opportunity")
        .iter()
        .filter(|o| o["IsWon"] == true && o["SAP_DocEntry__c"].is_null())
        .filter_map(|o| o["Id"].as_str().map(str::to_string))
        .collect();
    deliver_closed_won(stack, &won, 1, "seeded-won").await?;
    let drained = stack.drain(u64::MAX).await?;
    anyhow::ensure!(drained.dead_lettered == 0, "seeded won opportunities failed: {drained:?}");
    Ok(won.len())
}
