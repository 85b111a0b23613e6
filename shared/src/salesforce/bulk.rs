//! [`SalesforceWrites`] for [`SalesforceClient`]: the sf-writer's many-record writes (sObject
//! Collections, 200 per call) and the standard price book reads F7 needs.

use super::{MAX_IDS_PER_QUERY, RecordResult, SalesforceClient, soql};
use crate::domain::{CardCode, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::ports::{OpenDeal, OrderProduct, OrderProducts, RecordWrite, SalesforceWrites};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashMap;

#[async_trait]
impl SalesforceWrites for SalesforceClient {
    async fn upsert_many(&self, object: &str, external_id: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        let threshold = self.inner.cfg.bulk_threshold;
        if threshold > 0 && records.len() >= threshold {
            return Ok(outcomes(self.bulk_upsert_in_jobs(object, external_id, records).await?));
        }
        let values: Vec<Value> = records.iter().cloned().map(Value::Object).collect();
        Ok(outcomes(self.collection_upsert(object, external_id, &values).await?))
    }

    async fn update_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        Ok(outcomes(self.collection_update(&typed(object, records)).await?))
    }

    async fn create_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        Ok(outcomes(self.collection_create(&typed(object, records)).await?))
    }

    async fn standard_pricebook(&self) -> Result<SalesforceId> {
        let found = self
            .inner
            .standard_pricebook
            .get_or_try_init(|| async {
                let rows = self.query_all("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1").await?;
                let id = rows.first().and_then(|r| r.get("Id")).and_then(Value::as_str);
                SalesforceId::parse(
                    id.ok_or_else(|| Error::Mapping("the org has no standard price book; F7 prices need one".into()))?,
                )
            })
            .await?;
        Ok(found.clone())
    }

    async fn pricebook_entries(
        &self,
        pricebook: &SalesforceId,
        products: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, SalesforceId>> {
        let mut entries = HashMap::with_capacity(products.len());
        for chunk in products.chunks(MAX_IDS_PER_QUERY) {
            let query = format!(
                "SELECT Id, Product2Id FROM PricebookEntry WHERE Pricebook2Id = '{}' AND Product2Id IN {}",
                pricebook.as_str(),
                soql::in_list(chunk)
            );
            for row in self.query_all(&query).await? {
                let id = |field: &str| SalesforceId::parse(row.get(field).and_then(Value::as_str).unwrap_or_default());
                entries.insert(id("Product2Id")?, id("Id")?);
            }
        }
        Ok(entries)
    }

    async fn delete_many(&self, ids: &[SalesforceId]) -> Result<Vec<RecordWrite>> {
        let results = self.collection_delete(ids).await?;
        Ok(results
            .into_iter()
            .zip(ids)
            .map(|(result, id)| match result.error() {
                Some(Error::Salesforce { code, .. }) if code == "ENTITY_IS_DELETED" => Ok(id.as_str().to_string()),
                Some(error) => Err(error),
                None => Ok(id.as_str().to_string()),
            })
            .collect())
    }

    async fn entries_by_item_code(
        &self,
        pricebook: &SalesforceId,
        item_codes: &[String],
    ) -> Result<HashMap<String, SalesforceId>> {
        let mut entries = HashMap::with_capacity(item_codes.len());
        for chunk in item_codes.chunks(MAX_IDS_PER_QUERY) {
            let codes: Vec<String> = chunk.iter().map(|c| soql::quote(c)).collect();
            let query = format!(
                "SELECT Id, Product2.SAP_ItemCode__c FROM PricebookEntry WHERE Pricebook2Id = '{}' \
                 AND IsActive = true AND Product2.SAP_ItemCode__c IN ({})",
                pricebook.as_str(),
                codes.join(",")
            );
            for row in self.query_all(&query).await? {
                let code = row.pointer("/Product2/SAP_ItemCode__c").and_then(Value::as_str).unwrap_or_default();
                let id = SalesforceId::parse(row.get("Id").and_then(Value::as_str).unwrap_or_default())?;
                entries.insert(code.to_string(), id);
            }
        }
        Ok(entries)
    }

    async fn order_products(&self, orders: &[SalesforceId]) -> Result<Vec<OrderProducts>> {
        let mut found = Vec::with_capacity(orders.len());
        for chunk in orders.chunks(MAX_IDS_PER_QUERY) {
            let query = format!(
                "SELECT Id, Pricebook2Id, (SELECT Id, SAP_Line_Key__c, Product2.SAP_ItemCode__c FROM OrderItems) \
                 FROM Order WHERE Id IN {}",
                soql::in_list(chunk)
            );
            for row in self.query_all(&query).await? {
                let id = |value: Option<&Value>| value.and_then(Value::as_str).map(SalesforceId::parse).transpose();
                let products = row
                    .pointer("/OrderItems/records")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|item| {
                        let line_key = item.get("SAP_Line_Key__c").and_then(Value::as_str)?.to_string();
                        let item_code =
                            item.pointer("/Product2/SAP_ItemCode__c").and_then(Value::as_str).map(str::to_string);
                        Some(id(item.get("Id")).transpose()?.map(|id| OrderProduct { id, line_key, item_code }))
                    })
                    .collect::<Result<Vec<_>>>()?;
                found.push(OrderProducts {
                    order: id(row.get("Id"))?.ok_or_else(|| Error::Invalid("an Order row without an Id".into()))?,
                    pricebook: id(row.get("Pricebook2Id"))?,
                    products,
                });
            }
        }
        Ok(found)
    }

    async fn open_cases(&self, card_codes: &[CardCode]) -> Result<Vec<(String, SalesforceId)>> {
        let mut cases = Vec::new();
        for chunk in card_codes.chunks(MAX_IDS_PER_QUERY) {
            let codes: Vec<String> = chunk.iter().map(|c| soql::quote(c.as_str())).collect();
            let query = format!(
                "SELECT Id, Account.SAP_CardCode__c FROM Case WHERE IsClosed = false AND Account.SAP_CardCode__c IN ({})",
                codes.join(",")
            );
            for row in self.query_all(&query).await? {
                let code = row.pointer("/Account/SAP_CardCode__c").and_then(Value::as_str).unwrap_or_default();
                let id = SalesforceId::parse(row.get("Id").and_then(Value::as_str).unwrap_or_default())?;
                cases.push((code.to_string(), id));
            }
        }
        Ok(cases)
    }

    async fn open_deals(&self, card_codes: &[CardCode]) -> Result<Vec<OpenDeal>> {
        let mut deals = Vec::new();
        for chunk in card_codes.chunks(MAX_IDS_PER_QUERY) {
            let codes: Vec<String> = chunk.iter().map(|c| soql::quote(c.as_str())).collect();
            let query = format!(
                "SELECT Id, OwnerId, Account.SAP_CardCode__c FROM Opportunity \
                 WHERE IsClosed = false AND Account.SAP_CardCode__c IN ({})",
                codes.join(",")
            );
            for row in self.query_all(&query).await? {
                let text = |pointer: &str| row.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
                deals.push(OpenDeal {
                    card_code: text("/Account/SAP_CardCode__c"),
                    opportunity: SalesforceId::parse(&text("/Id"))?,
                    owner: text("/OwnerId"),
                });
            }
        }
        Ok(deals)
    }

    async fn publish_event(&self, event: &str, fields: &Record) -> Result<String> {
        Ok(self.create(event, &Value::Object(fields.clone())).await?.to_string())
    }

    fn api_usage(&self) -> Option<(u64, u64)> {
        SalesforceClient::api_usage(self)
    }

    async fn refresh_api_usage(&self) -> Result<Option<(u64, u64)>> {
        match self.limits().await {
            // Every response carries Sforce-Limit-Info, a refusal for the limit included.
            Ok(_) => Ok(SalesforceClient::api_usage(self)),
            Err(err) if super::limits_not_permitted(&err) => {
                // No "View Setup and Configuration": the refusal's Sforce-Limit-Info is the reading.
                tracing::warn!(
                    code = %err.code(),
                    "GET /limits refused: the integration user lacks View Setup and Configuration; \
                     the API budget check uses the Sforce-Limit-Info of the last response"
                );
                Ok(SalesforceClient::api_usage(self))
            }
            Err(Error::Salesforce { status: 403, .. }) => Ok(SalesforceClient::api_usage(self)),
            Err(err) => Err(err),
        }
    }
}

/// Records with `attributes.type`, as the by-Id collection calls need.
fn typed(object: &str, records: &[Record]) -> Vec<Value> {
    records
        .iter()
        .map(|record| {
            let mut record = record.clone();
            record.insert("attributes".into(), json!({"type": object}));
            Value::Object(record)
        })
        .collect()
}

fn outcomes(results: Vec<RecordResult>) -> Vec<RecordWrite> {
    results
        .into_iter()
        .map(|result| match result.error() {
            Some(error) => Err(error),
            None => Ok(result.id.unwrap_or_default()),
        })
        .collect()
}
