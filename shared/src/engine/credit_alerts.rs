//! F4's credit alerts for a person (issue #14 item 7): when a customer crosses the alert threshold
//! or is frozen, one `B1Force_Credit_Alert__e` platform event names the account and the owners of
//! its open deals; force-app's trigger turns it into a custom notification (issue #18).
//!
//! The level last seen is remembered per customer in the sync state, so a customer staying over
//! the threshold is told once, and falling clear re-arms the alert; the first sight of a customer
//! only sets the baseline. The event is published before the level is remembered: a crash between
//! the two tells the owners twice rather than never.

use crate::domain::credit::CreditLevel;
use crate::domain::state::Direction;
use crate::domain::{CardCode, EpochMillis, Record};
use crate::error::{Error, Result};
use crate::ports::{SalesforceWrites, SyncState};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The platform event force-app declares (`objects/B1Force_Credit_Alert__e`).
pub const CREDIT_ALERT_EVENT: &str = "B1Force_Credit_Alert__e";

/// Where the level last seen for a customer is remembered.
pub fn told_key(card_code: &str) -> String {
    format!("sap:BusinessPartners:{card_code}#credit-alert")
}

/// One customer's credit level as the plan wrote it, with its account's id once upserted.
pub struct Standing<'a> {
    pub record: &'a Record,
    pub account: Option<String>,
}

/// Tells the owners of open deals of each customer whose level is news; a result per customer:
/// the event's id, or what stayed the same.
pub async fn tell_owners(
    state: &dyn SyncState,
    salesforce: &dyn SalesforceWrites,
    standings: &[Standing<'_>],
    now: EpochMillis,
) -> Result<Vec<Result<String>>> {
    let mut told = Vec::with_capacity(standings.len());
    for standing in standings {
        let code = text(standing.record, "SAP_CardCode__c");
        let level = CreditLevel::parse(&text(standing.record, "Level"))
            .ok_or_else(|| Error::Mapping(format!("credit alert of {code} has no level")))?;
        let previous = state.last_hash(&told_key(&code), Direction::SapToSf).await?;
        told.push((code, level, previous.as_deref().and_then(CreditLevel::parse)));
    }
    let news: Vec<CardCode> = told
        .iter()
        .filter(|(_, level, previous)| level.is_news_after(*previous))
        .map(|(code, ..)| CardCode::parse(code))
        .collect::<Result<_>>()?;
    let mut deals: BTreeMap<String, (BTreeSet<String>, u64)> = BTreeMap::new();
    if !news.is_empty() {
        for deal in salesforce.open_deals(&news).await? {
            let (owners, count) = deals.entry(deal.card_code).or_default();
            owners.insert(deal.owner);
            *count += 1;
        }
    }
    let mut results = Vec::with_capacity(standings.len());
    for (standing, (code, level, previous)) in standings.iter().zip(told) {
        let result = if level.is_news_after(previous) {
            let (owners, open) = deals.remove(&code).unwrap_or_default();
            let event = event(standing, &code, level, &owners, open);
            match salesforce.publish_event(CREDIT_ALERT_EVENT, &event).await {
                Ok(id) => state.put_hash(&told_key(&code), Direction::SapToSf, level.as_str(), now).await.map(|_| id),
                Err(err) => Err(err),
            }
        } else if previous != Some(level) {
            // First seen (the baseline), eased or cleared: remembered so the next crossing is news.
            let remembered = state.put_hash(&told_key(&code), Direction::SapToSf, level.as_str(), now).await;
            remembered.map(|_| format!("credit level {}", level.as_str()))
        } else {
            Ok(format!("credit level {} unchanged", level.as_str()))
        };
        results.push(result);
    }
    Ok(results)
}

fn event(standing: &Standing<'_>, code: &str, level: CreditLevel, owners: &BTreeSet<String>, open: u64) -> Record {
    let number = |name: &str| standing.record.get(name).cloned().unwrap_or(Value::Null);
    Record::from_iter([
        ("Card_Code__c".to_string(), json!(code)),
        ("Account_Id__c".to_string(), json!(standing.account)),
        ("Level__c".to_string(), json!(level.as_str())),
        ("Balance__c".to_string(), number("Balance")),
        ("Credit_Limit__c".to_string(), number("CreditLimit")),
        ("Recipient_Ids__c".to_string(), json!(owners.iter().cloned().collect::<Vec<_>>().join(","))),
        ("Open_Deals__c".to_string(), json!(open)),
    ])
}

fn text(record: &Record, name: &str) -> String {
    record.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}
