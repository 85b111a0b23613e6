//! [`AuditLog`] on DynamoDB: one item per attempt.
//!
//! Table: partition key `record_key` (S), sort key `at_attempt` (S, `{at:013}#{uuid}` so attempts sort by time
//! and never overwrite each other), GSI `by_outcome` (partition `outcome` S, sort `at` N) for failure queries,
//! TTL attribute `expiration` (epoch seconds) when a retention is configured.

use super::{malformed, store_error};
use crate::domain::EpochMillis;
use crate::error::Result;
use crate::ports::{AuditEntry, AuditLog, FAILURE_OUTCOMES, NOTABLE_SKIPS, Outcome};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

const SERVICE: &str = "DynamoDB audit";

/// The GSI that lists attempts by outcome, newest last.
const BY_OUTCOME: &str = "by_outcome";

/// DynamoDB audit table.
#[derive(Debug, Clone)]
pub struct DynamoAudit {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention_secs: Option<u64>,
}

impl DynamoAudit {
    /// Wraps a client and the table name; with a retention, items get an `expiration` that far after `at`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, retention_secs: Option<u64>) -> Self {
        Self { client, table, retention_secs }
    }

    /// The SDK client from an SDK configuration (operator tools), without a retention.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: String) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table, None)
    }

    /// Attempts with `outcome` (and, when given, `action`: a filter after the index) at or after
    /// `since`, newest first, from the `by_outcome` index, page by page until `limit` are found or
    /// the index has no more.
    async fn with_outcome_since(
        &self,
        outcome: Outcome,
        action: Option<crate::ports::AuditAction>,
        since: EpochMillis,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEntry>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_OUTCOME)
            .key_condition_expression("outcome = :outcome AND #at >= :since")
            // `at` is a DynamoDB reserved word.
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":outcome", AttributeValue::S(variant_name(&outcome)))
            .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
            .scan_index_forward(false);
        if let Some(action) = action {
            query = query
                .filter_expression("#action = :action")
                .expression_attribute_names("#action", "action")
                .expression_attribute_values(":action", AttributeValue::S(action.as_str().to_string()));
        }
        self.entries(query, limit).await
    }

    /// Runs `query` page by page (each page asks for no more than is still wanted) until `limit`
    /// entries are read or there are no more.
    async fn entries(&self, query: QueryFluentBuilder, limit: Option<usize>) -> Result<Vec<AuditEntry>> {
        let mut entries = Vec::new();
        let mut start_key = None;
        loop {
            let wanted = limit.map(|limit| limit.saturating_sub(entries.len()).clamp(1, 1000) as i32);
            let page = query
                .clone()
                .set_limit(wanted)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error(SERVICE, "Query", e))?;
            for item in page.items() {
                entries.push(from_item(item)?);
            }
            let full = limit.is_some_and(|limit| entries.len() >= limit);
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() && !full => start_key = Some(key),
                _ => return Ok(entries),
            }
        }
    }
}

#[async_trait]
impl AuditLog for DynamoAudit {
    async fn record(&self, entry: &AuditEntry) -> Result<()> {
        let mut item = to_item(entry);
        if let Some(retention) = self.retention_secs {
            let expiration = entry.at.div_euclid(1000).saturating_add(retention as i64);
            item.insert("expiration".into(), AttributeValue::N(expiration.to_string()));
        }
        super::put_item(&self.client, SERVICE, &self.table, item).await
    }

    async fn for_record(&self, record_key: &str) -> Result<Vec<AuditEntry>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("record_key = :key")
            .expression_attribute_values(":key", AttributeValue::S(record_key.to_string()))
            .scan_index_forward(true);
        self.entries(query, None).await
    }

    async fn failures_since(&self, since: EpochMillis, limit: Option<usize>) -> Result<Vec<AuditEntry>> {
        let mut entries = Vec::new();
        for outcome in FAILURE_OUTCOMES {
            entries.extend(self.with_outcome_since(outcome, None, since, limit).await?);
        }
        // Skips are many (echoes, unchanged rows): only the notable ones, filtered by DynamoDB.
        for action in NOTABLE_SKIPS {
            entries.extend(self.with_outcome_since(Outcome::Skipped, Some(action), since, limit).await?);
        }
        Ok(newest_first(entries, limit))
    }
}

/// Sorts newest first (ties by record key, so the order is stable) and keeps at most `limit`.
fn newest_first(mut entries: Vec<AuditEntry>, limit: Option<usize>) -> Vec<AuditEntry> {
    entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.record_key.cmp(&b.record_key)));
    entries.truncate(limit.unwrap_or(usize::MAX));
    entries
}

/// The snake_case name serde gives a unit enum variant (`Outcome`, `ErrorClass`).
fn variant_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => format!("{other:?}"),
    }
}

fn parse_variant<T: serde::de::DeserializeOwned>(field: &str, name: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| malformed(SERVICE, format!("audit attribute {field} has unknown value {name:?}")))
}

fn to_item(entry: &AuditEntry) -> HashMap<String, AttributeValue> {
    let s = |value: &str| AttributeValue::S(value.to_string());
    let mut item = HashMap::from([
        ("record_key".to_string(), s(&entry.record_key)),
        ("at_attempt".to_string(), s(&format!("{:013}#{}", entry.at, uuid::Uuid::new_v4()))),
        ("at".to_string(), AttributeValue::N(entry.at.to_string())),
        ("correlation_id".to_string(), s(&entry.correlation_id)),
        ("direction".to_string(), s(entry.direction.as_str())),
        ("action".to_string(), s(entry.action.as_str())),
        ("outcome".to_string(), s(&variant_name(&entry.outcome))),
    ]);
    let optional = [
        ("source_version", entry.source_version.clone()),
        ("payload_digest", entry.payload_digest.clone()),
        ("error_code", entry.error_code.clone()),
        ("error_class", entry.error_class.as_ref().map(variant_name)),
        ("error", entry.error.clone()),
        ("target_id", entry.target_id.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_string(), AttributeValue::S(value));
        }
    }
    item
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Result<AuditEntry> {
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let required = |name: &str| optional(name).ok_or_else(|| malformed(SERVICE, format!("audit item without {name}")));
    let at = item
        .get("at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| malformed(SERVICE, "audit item without a numeric at".into()))?;
    Ok(AuditEntry {
        record_key: required("record_key")?,
        at,
        correlation_id: required("correlation_id")?,
        direction: parse_variant("direction", &required("direction")?)?,
        action: parse_variant("action", &required("action")?)?,
        outcome: parse_variant("outcome", &required("outcome")?)?,
        source_version: optional("source_version"),
        payload_digest: optional("payload_digest"),
        error_code: optional("error_code"),
        error_class: optional("error_class").map(|name| parse_variant("error_class", &name)).transpose()?,
        error: optional("error"),
        target_id: optional("target_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::Direction;
    use crate::error::ErrorClass;
    use crate::ports::AuditAction;
    use crate::ports::Outcome;

    #[test]
    fn entries_survive_the_item_round_trip_and_skip_absent_fields() {
        let entry = AuditEntry {
            record_key: "sf:Opportunity:006000000000001AAA".into(),
            at: 1_800_000_000_123,
            correlation_id: "c-1".into(),
            direction: Direction::SfToSap,
            action: AuditAction::CreateOrder,
            outcome: Outcome::DeadLettered,
            source_version: None,
            payload_digest: Some("abc".into()),
            error_code: Some("SAP_-10".into()),
            error_class: Some(ErrorClass::Permanent),
            error: Some("no such item".into()),
            target_id: None,
        };
        let item = to_item(&entry);
        assert_eq!(item["outcome"], AttributeValue::S("dead_lettered".into()));
        assert!(item["at_attempt"].as_s().unwrap().starts_with("1800000000123#"));
        assert!(!item.contains_key("source_version"));
        assert_eq!(from_item(&item).unwrap(), entry);
    }

    #[test]
    fn sort_keys_of_earlier_attempts_sort_first() {
        let key = |at: i64| format!("{at:013}#{}", uuid::Uuid::new_v4());
        assert!(key(999_999_999_999) < key(1_000_000_000_000));
    }
}
