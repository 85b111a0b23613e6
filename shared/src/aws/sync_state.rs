//! [`SyncState`] on DynamoDB: one table, partition key `pk` (S), sort key `sk` (S), TTL attribute `expiration`.
//!
//! | item              | `pk`                                        | `sk`                  | attributes                                                                          |
//! |-------------------|---------------------------------------------|-----------------------|-------------------------------------------------------------------------------------|
//! | last-written hash | `hash#<record key>`                         | `sf->sap` / `sap->sf` | `hash`, `written_at` (epoch ms)                                                     |
//! | watermark         | `watermark#<entity>`                        | `-`                   | `order` ([`Watermark::sort_key`]), `date`, `time`, `key`, `doc_entry` (N, optional) |
//! | cross-reference   | `xref#sf#<sf key>` / `xref#sap#<sap key>`   | `-`                   | `sap_key` / `salesforce_key`                                                        |
//! | lease             | `lease#<name>`                              | `-`                   | `owner`, `until` (epoch ms), `expiration` (epoch s, TTL)                            |
//! | written fields    | `written#<record key>`                      | `-`                   | `fields` (JSON of [`WrittenFields`]), `until` (epoch ms), `expiration` (TTL)        |
//!
//! Whatever decides between concurrent writers (watermark advance, link, lease) is a condition expression
//! DynamoDB evaluates, never a read followed by a write.

use super::{malformed, store_error};
use crate::domain::EpochMillis;
use crate::domain::echo::WrittenFields;
use crate::domain::idempotency::seconds_rounded_up;
use crate::domain::state::{Direction, Lease, Watermark, check_link, check_move};
use crate::error::{Error, Result};
use crate::ports::{SyncState, WriteLedger};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use std::collections::HashMap;

const SERVICE: &str = "DynamoDB sync state";

/// The sort key of items that exist once per partition key.
const ONLY: &str = "-";

/// Cancellation reasons a later retry can get past: contention and throttling, plus `None` (the item was
/// fine) and a failed condition that no longer conflicts by the time it was read back.
const TRANSIENT_CANCELLATIONS: &[&str] =
    &["None", "ConditionalCheckFailed", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

type Item = HashMap<String, AttributeValue>;

/// DynamoDB sync-state table (partition key `pk`, sort key `sk`).
#[derive(Debug, Clone)]
pub struct DynamoSyncState {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoSyncState {
    /// Wraps a client and the table name.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// The SDK client from an SDK configuration (operator tools).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: String) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    /// The item at (`pk`, `sk`), read consistently: state decides what runs next, so it must not lag.
    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "GetItem", e))?;
        Ok(output.item)
    }

    /// One string attribute of the item at (`pk`, `-`), which must have it when it exists.
    async fn get_string(&self, pk: String, attribute: &str) -> Result<Option<String>> {
        self.get(pk.clone(), ONLY).await?.map(|item| required_string(&item, attribute, &pk)).transpose()
    }

    /// A conditional put of one side of a link: absent, or already pointing at `other`.
    /// Writes a link's items in one transaction: `None` when written, the cancellation reasons when
    /// DynamoDB cancelled it (a condition failed, or contention).
    async fn transact_links(&self, items: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>> {
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(None),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
            return Err(store_error(SERVICE, "TransactWriteItems", err));
        };
        Ok(Some(cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).map(String::from).collect()))
    }

    fn link_put(&self, pk: String, attribute: &str, other: &str) -> Result<TransactWriteItem> {
        let mut item = item_key(pk, ONLY);
        item.insert(attribute.to_string(), s(other));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #other = :other")
            .expression_attribute_names("#other", attribute)
            .expression_attribute_values(":other", s(other))
            .build()
            .map_err(|e| malformed(SERVICE, format!("building a link put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The write ledger shares the sync-state table: the sf-receiver reads it, the writers add to it.
/// A read, merge and put per record: two writers racing on one record may lose one's fields, and
/// that echo is then processed as a change, which costs a read and writes nothing new.
#[async_trait]
impl WriteLedger for DynamoSyncState {
    async fn remember(
        &self,
        written: &[(String, WrittenFields)],
        now: EpochMillis,
        expires_at: EpochMillis,
    ) -> Result<()> {
        for (record_key, fields) in written {
            let before = self.written(record_key, now).await?.unwrap_or_default();
            let json = serde_json::to_string(&before.merged(fields))
                .map_err(|e| malformed(SERVICE, format!("encoding written fields: {e}")))?;
            let mut item = item_key(written_pk(record_key), ONLY);
            item.insert("fields".into(), s(&json));
            item.insert("until".into(), n(expires_at));
            item.insert("expiration".into(), n(seconds_rounded_up(expires_at)));
            super::put_item(&self.client, SERVICE, &self.table, item).await?;
        }
        Ok(())
    }

    async fn written(&self, record_key: &str, now: EpochMillis) -> Result<Option<WrittenFields>> {
        let pk = written_pk(record_key);
        let Some(item) = self.get(pk.clone(), ONLY).await? else { return Ok(None) };
        // DynamoDB deletes expired items within days, not at once: the read decides.
        if optional_number(&item, "until", &pk)?.is_none_or(|until| until <= now) {
            return Ok(None);
        }
        let json = required_string(&item, "fields", &pk)?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| malformed(SERVICE, format!("sync-state item {pk} has unreadable fields: {e}")))
    }
}

#[async_trait]
impl SyncState for DynamoSyncState {
    async fn last_hash(&self, record_key: &str, direction: Direction) -> Result<Option<String>> {
        let pk = hash_pk(record_key);
        self.get(pk.clone(), direction.as_str()).await?.map(|item| required_string(&item, "hash", &pk)).transpose()
    }

    async fn put_hash(&self, record_key: &str, direction: Direction, hash: &str, at: EpochMillis) -> Result<()> {
        let mut item = item_key(hash_pk(record_key), direction.as_str());
        item.insert("hash".into(), s(hash));
        item.insert("written_at".into(), n(at));
        super::put_item(&self.client, SERVICE, &self.table, item).await
    }

    async fn watermark(&self, entity: &str) -> Result<Option<Watermark>> {
        let pk = watermark_pk(entity);
        self.get(pk.clone(), ONLY).await?.map(|item| watermark_from_item(&item, &pk)).transpose()
    }

    async fn advance_watermark(&self, entity: &str, to: &Watermark) -> Result<bool> {
        let order = to.sort_key()?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(watermark_item(entity, to, &order)))
            .condition_expression("attribute_not_exists(pk) OR #order < :order")
            .expression_attribute_names("#order", "order")
            .expression_attribute_values(":order", s(&order))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if matches!(err.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => {
                Ok(false)
            }
            Err(err) => Err(store_error(SERVICE, "PutItem", err)),
        }
    }

    async fn caught_up_at(&self, entity: &str) -> Result<Option<EpochMillis>> {
        let pk = caught_up_pk(entity);
        Ok(self.get(pk.clone(), ONLY).await?.map(|item| optional_number(&item, "at", &pk)).transpose()?.flatten())
    }

    async fn record_caught_up(&self, entity: &str, at: EpochMillis) -> Result<()> {
        let mut item = item_key(caught_up_pk(entity), ONLY);
        item.insert("at".into(), n(at));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #at < :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later run already recorded a later instant: it stays.
            Err(err) if matches!(err.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => {
                Ok(())
            }
            Err(err) => Err(store_error(SERVICE, "PutItem", err)),
        }
    }

    async fn link(&self, salesforce_key: &str, sap_key: &str) -> Result<()> {
        let items = vec![
            self.link_put(salesforce_xref_pk(salesforce_key), "sap_key", sap_key)?,
            self.link_put(sap_xref_pk(sap_key), "salesforce_key", salesforce_key)?,
        ];
        let Some(reasons) = self.transact_links(items).await? else { return Ok(()) };
        if reasons.iter().any(|r| r == "ConditionalCheckFailed") {
            // Which side conflicts, and with what, is worth a second read: the message is what an operator acts on.
            let linked_sap = self.sap_key_for(salesforce_key).await?;
            let linked_salesforce = self.salesforce_key_for(sap_key).await?;
            check_link(salesforce_key, sap_key, linked_sap.as_deref(), linked_salesforce.as_deref())?;
        }
        Err(link_cancelled(format!("linking {salesforce_key} and {sap_key}"), &reasons))
    }

    async fn move_link(&self, from: &str, to: &str, sap_key: &str) -> Result<()> {
        // The SAP side names the loser (or the winner: moved before) or nothing; the winner's side
        // names this SAP record or nothing; the loser's side goes if it names this SAP record.
        let mut sap_side = item_key(sap_xref_pk(sap_key), ONLY);
        sap_side.insert("salesforce_key".into(), s(to));
        let sap_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(sap_side))
            .condition_expression("attribute_not_exists(pk) OR salesforce_key IN (:from, :to)")
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .build()
            .map_err(|e| malformed(SERVICE, format!("building a link move: {e}")))?;
        let forget = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(salesforce_xref_pk(from), ONLY)))
            .condition_expression("attribute_not_exists(pk) OR sap_key = :sap")
            .expression_attribute_values(":sap", s(sap_key))
            .build()
            .map_err(|e| malformed(SERVICE, format!("building a link move: {e}")))?;
        let items = vec![
            TransactWriteItem::builder().put(sap_put).build(),
            self.link_put(salesforce_xref_pk(to), "sap_key", sap_key)?,
            TransactWriteItem::builder().delete(forget).build(),
        ];
        let Some(reasons) = self.transact_links(items).await? else { return Ok(()) };
        if reasons.iter().any(|r| r == "ConditionalCheckFailed") {
            let linked_sap = self.salesforce_key_for(sap_key).await?;
            let linked_to = self.sap_key_for(to).await?;
            check_move(from, to, sap_key, linked_sap.as_deref(), linked_to.as_deref())?;
        }
        Err(link_cancelled(format!("moving {sap_key} from {from} to {to}"), &reasons))
    }

    async fn sap_key_for(&self, salesforce_key: &str) -> Result<Option<String>> {
        self.get_string(salesforce_xref_pk(salesforce_key), "sap_key").await
    }

    async fn salesforce_key_for(&self, sap_key: &str) -> Result<Option<String>> {
        self.get_string(sap_xref_pk(sap_key), "salesforce_key").await
    }

    async fn acquire_lease(&self, name: &str, owner: &str, now: EpochMillis, until: EpochMillis) -> Result<Lease> {
        let lease = Lease::request(name, owner, now, until)?;
        let pk = lease_pk(name);
        let mut item = item_key(pk.clone(), ONLY);
        item.insert("owner".into(), s(owner));
        item.insert("until".into(), n(until));
        // TTL only tidies up; the condition below, not deletion, is what frees an expired lease.
        item.insert("expiration".into(), n(seconds_rounded_up(until)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #until < :now OR #owner = :owner")
            .expression_attribute_names("#until", "until")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":owner", s(owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(lease),
            Err(err) => err,
        };
        let Some(PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
            return Err(store_error(SERVICE, "PutItem", err));
        };
        match failed.item().map(|item| lease_from_item(name, item, &pk)).transpose()? {
            Some(held) if !held.can_be_taken_by(owner, now) => Err(held.held_elsewhere()),
            // Refused by a lease that no longer blocks (released or expired in between): try again.
            _ => Err(Error::Store {
                service: SERVICE,
                message: format!("lease {name} changed while {owner} was taking it; retry"),
                retryable: true,
            }),
        }
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(lease_pk(name), ONLY)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else's lease, or none: nothing of ours to give up.
            Err(err) if matches!(err.as_service_error(), Some(DeleteItemError::ConditionalCheckFailedException(_))) => {
                Ok(())
            }
            Err(err) => Err(store_error(SERVICE, "DeleteItem", err)),
        }
    }
}

fn hash_pk(record_key: &str) -> String {
    format!("hash#{record_key}")
}

fn written_pk(record_key: &str) -> String {
    format!("written#{record_key}")
}

fn watermark_pk(entity: &str) -> String {
    format!("watermark#{entity}")
}

fn caught_up_pk(entity: &str) -> String {
    format!("caught-up#{entity}")
}

/// A cancelled link transaction whose conditions were not the reason (or were, and still hold).
fn link_cancelled(what: String, reasons: &[String]) -> Error {
    let codes: Vec<&str> = reasons.iter().map(String::as_str).collect();
    Error::Store {
        service: SERVICE,
        message: format!("{what} was cancelled ({})", codes.join(", ")),
        retryable: cancellation_is_transient(&codes),
    }
}

fn salesforce_xref_pk(salesforce_key: &str) -> String {
    format!("xref#sf#{salesforce_key}")
}

fn sap_xref_pk(sap_key: &str) -> String {
    format!("xref#sap#{sap_key}")
}

fn lease_pk(name: &str) -> String {
    format!("lease#{name}")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn item_key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), AttributeValue::S(pk)), ("sk".to_string(), s(sk))])
}

fn required_string(item: &Item, attribute: &str, pk: &str) -> Result<String> {
    item.get(attribute)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| malformed(SERVICE, format!("sync-state item {pk} has no string {attribute}")))
}

fn optional_number(item: &Item, attribute: &str, pk: &str) -> Result<Option<i64>> {
    item.get(attribute)
        .map(|v| {
            v.as_n()
                .ok()
                .and_then(|raw| raw.parse().ok())
                .ok_or_else(|| malformed(SERVICE, format!("sync-state item {pk} has a non-integer {attribute}")))
        })
        .transpose()
}

fn watermark_from_item(item: &Item, pk: &str) -> Result<Watermark> {
    Ok(Watermark {
        date: required_string(item, "date", pk)?,
        time: required_string(item, "time", pk)?,
        key: required_string(item, "key", pk)?,
        doc_entry: optional_number(item, "doc_entry", pk)?,
    })
}

/// Whether a cancelled transaction is worth retrying: only when every item's reason is transient.
fn cancellation_is_transient(reasons: &[&str]) -> bool {
    reasons.iter().all(|reason| TRANSIENT_CANCELLATIONS.contains(reason))
}

fn watermark_item(entity: &str, to: &Watermark, order: &str) -> Item {
    let mut item = item_key(watermark_pk(entity), ONLY);
    item.insert("order".into(), s(order));
    item.insert("date".into(), s(&to.date));
    item.insert("time".into(), s(&to.time));
    item.insert("key".into(), s(&to.key));
    if let Some(doc_entry) = to.doc_entry {
        item.insert("doc_entry".into(), n(doc_entry));
    }
    item
}

fn lease_from_item(name: &str, item: &Item, pk: &str) -> Result<Lease> {
    Ok(Lease {
        name: name.to_string(),
        owner: required_string(item, "owner", pk)?,
        until: optional_number(item, "until", pk)?
            .ok_or_else(|| malformed(SERVICE, format!("sync-state item {pk} has no until")))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_survives_the_item_round_trip() {
        let watermark =
            Watermark { date: "2026-03-04".into(), time: "".into(), key: "C20000".into(), doc_entry: Some(4711) };
        let item = watermark_item("Orders", &watermark, &watermark.sort_key().unwrap());
        assert_eq!(watermark_from_item(&item, "watermark#Orders").unwrap(), watermark);
        let without_doc_entry = Watermark { doc_entry: None, ..watermark };
        let item = watermark_item("Orders", &without_doc_entry, &without_doc_entry.sort_key().unwrap());
        assert_eq!(watermark_from_item(&item, "watermark#Orders").unwrap(), without_doc_entry);
    }

    #[test]
    fn only_contention_and_throttling_make_a_cancelled_link_retryable() {
        assert!(cancellation_is_transient(&["None", "TransactionConflict"]));
        assert!(cancellation_is_transient(&["ThrottlingError", "None"]));
        assert!(!cancellation_is_transient(&["ValidationError", "None"]));
        assert!(!cancellation_is_transient(&["ItemCollectionSizeLimitExceeded", "TransactionConflict"]));
    }

    #[test]
    fn an_item_missing_an_attribute_is_a_permanent_store_error_naming_it() {
        let item = item_key(lease_pk("poller"), ONLY);
        let err = lease_from_item("poller", &item, "lease#poller").unwrap_err();
        assert!(!err.is_retryable() && err.to_string().contains("owner"), "{err}");
    }
}
