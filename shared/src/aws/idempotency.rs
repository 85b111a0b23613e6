//! [`IdempotencyStore`] on DynamoDB with AWS Lambda Powertools' record format and lock condition.
//!
//! Table: partition key `id` (S), TTL attribute `expiration`. Items:
//! `{id, status: INPROGRESS|COMPLETED, expiration: epoch seconds, in_progress_expiration: epoch ms, data, validation}`.
//! The pure half ([`crate::domain::idempotency`]) is shared with the embedded twin so both decide alike.

use super::{malformed, store_error};
use crate::domain::EpochMillis;
use crate::domain::idempotency::{IdempotencyRecord, Status, now_seconds, refused_claim, seconds_rounded_up};
use crate::error::Result;
use crate::ports::{Claim, IdempotencyStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

const SERVICE: &str = "DynamoDB idempotency";

/// DynamoDB idempotency table (partition key `id`).
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoIdempotency {
    /// Wraps a client and the table name.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        key: &str,
        payload_hash: &str,
        now: EpochMillis,
        in_progress_until: EpochMillis,
    ) -> Result<Claim> {
        let record = IdempotencyRecord::in_progress(payload_hash, in_progress_until);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(key, &record)))
            .condition_expression(
                "attribute_not_exists(#id) OR #expiry < :now OR \
                 (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)",
            )
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiry", "in_progress_expiration")
            .expression_attribute_values(":now", number(now_seconds(now)))
            .expression_attribute_values(":now_in_millis", number(now))
            .expression_attribute_values(":inprogress", AttributeValue::S(Status::InProgress.as_str().into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let existing = failed
                        .item()
                        .ok_or_else(|| malformed(SERVICE, format!("claim of {key} refused without the existing item")))
                        .and_then(|item| from_item(key, item))?;
                    refused_claim(key, &existing, payload_hash, now)
                }
                _ => Err(store_error(SERVICE, "PutItem", err)),
            },
        }
    }

    async fn complete(&self, key: &str, result: &str, expires_at: EpochMillis) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .update_expression("SET #status = :completed, #data = :data, #expiry = :expiry")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_values(":completed", AttributeValue::S(Status::Completed.as_str().into()))
            .expression_attribute_values(":data", AttributeValue::S(result.to_string()))
            .expression_attribute_values(":expiry", number(seconds_rounded_up(expires_at)))
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "UpdateItem", e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "DeleteItem", e))?;
        Ok(())
    }
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn to_item(key: &str, record: &IdempotencyRecord) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("id".to_string(), AttributeValue::S(key.to_string())),
        ("status".to_string(), AttributeValue::S(record.status.as_str().into())),
        ("expiration".to_string(), number(record.expiration)),
    ]);
    if let Some(until) = record.in_progress_expiration {
        item.insert("in_progress_expiration".into(), number(until));
    }
    if let Some(data) = &record.data {
        item.insert("data".into(), AttributeValue::S(data.clone()));
    }
    if let Some(validation) = &record.validation {
        item.insert("validation".into(), AttributeValue::S(validation.clone()));
    }
    item
}

fn from_item(key: &str, item: &HashMap<String, AttributeValue>) -> Result<IdempotencyRecord> {
    let string = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let int = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
    let status = string("status")
        .as_deref()
        .and_then(Status::parse)
        .ok_or_else(|| malformed(SERVICE, format!("idempotency record {key} has no valid status")))?;
    let expiration = int("expiration")
        .ok_or_else(|| malformed(SERVICE, format!("idempotency record {key} has no numeric expiration")))?;
    Ok(IdempotencyRecord {
        status,
        expiration,
        in_progress_expiration: int("in_progress_expiration"),
        data: string("data"),
        validation: string("validation"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMillis = 1_800_000_000_500;

    #[test]
    fn records_survive_the_item_round_trip() {
        let record = IdempotencyRecord { data: Some("r".into()), ..IdempotencyRecord::in_progress("h", NOW) };
        assert_eq!(from_item("k", &to_item("k", &record)).unwrap(), record);
    }
}
