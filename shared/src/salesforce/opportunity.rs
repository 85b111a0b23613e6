//! F1 reads and writes on Opportunity: the one query, its mapping, and the write-back body. Pure.

use super::soql;
use crate::domain::{OpportunityLine, OpportunitySnapshot, SalesforceId};
use crate::error::{Error, Result};
use crate::ports::OrderWriteBack;
use serde_json::{Map, Value, json};

/// Most ids in one `WHERE Id IN (...)`, which keeps the URL well under the 16 KB limit.
pub const MAX_IDS_PER_QUERY: usize = 200;

/// The F1 query for up to [`MAX_IDS_PER_QUERY`] opportunities with account and lines.
/// `CurrencyIsoCode` is left out: it exists only in multi-currency orgs.
pub fn snapshot_query(ids: &[SalesforceId]) -> String {
    format!(
        "SELECT Id, Name, StageName, IsWon, CloseDate, AccountId, Account.Name, Account.SAP_CardCode__c, \
         SAP_DocEntry__c, (SELECT ProductCode, Product2.SAP_ItemCode__c, Quantity, UnitPrice, Description \
         FROM OpportunityLineItems ORDER BY SortOrder) FROM Opportunity WHERE Id IN {}",
        soql::in_list(ids)
    )
}

fn text(record: &Value, field: &str) -> Option<String> {
    record.get(field)?.as_str().map(str::to_string)
}

fn unexpected(id: &str, what: &str) -> Error {
    Error::Invalid(format!("Salesforce returned Opportunity {id} with {what}"))
}

/// Maps one record of [`snapshot_query`]'s answer.
pub fn snapshot_from_record(record: &Value) -> Result<OpportunitySnapshot> {
    let raw_id =
        text(record, "Id").ok_or_else(|| Error::Invalid("Salesforce returned an Opportunity without Id".into()))?;
    let id = SalesforceId::parse(&raw_id)?;
    let account = record.get("Account").filter(|a| a.is_object());
    let lines = match record.get("OpportunityLineItems") {
        // Salesforce answers null, not an empty list, when there are no lines.
        None | Some(Value::Null) => Vec::new(),
        Some(child) => child
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(&raw_id, "malformed OpportunityLineItems"))?
            .iter()
            .map(|line| line_from_record(&raw_id, line))
            .collect::<Result<_>>()?,
    };
    Ok(OpportunitySnapshot {
        name: text(record, "Name").unwrap_or_default(),
        stage_name: text(record, "StageName").unwrap_or_default(),
        is_won: record.get("IsWon").and_then(Value::as_bool).unwrap_or(false),
        close_date: text(record, "CloseDate"),
        currency: None,
        account_id: text(record, "AccountId").map(|a| SalesforceId::parse(&a)).transpose()?,
        account_name: account.and_then(|a| text(a, "Name")),
        account_card_code: account.and_then(|a| text(a, "SAP_CardCode__c")).filter(|c| !c.trim().is_empty()),
        sap_doc_entry: record.get("SAP_DocEntry__c").and_then(Value::as_f64).map(|n| n as i64),
        lines,
        id,
    })
}

fn line_from_record(opportunity: &str, line: &Value) -> Result<OpportunityLine> {
    let number = |field: &str| {
        line.get(field)
            .and_then(Value::as_f64)
            .ok_or_else(|| unexpected(opportunity, &format!("a line without {field}")))
    };
    Ok(OpportunityLine {
        product_code: text(line, "ProductCode"),
        sap_item_code: line.get("Product2").and_then(|p| text(p, "SAP_ItemCode__c")),
        quantity: number("Quantity")?,
        unit_price: number("UnitPrice")?,
        description: text(line, "Description"),
    })
}

/// The longest sync error written to `SAP_Sync_Error__c` (a 255-character text field).
const SYNC_ERROR_MAX: usize = 255;

/// The PATCH body for the order write-back. Without an order, DocEntry/DocNum are left as they are.
pub fn write_back_body(write_back: &OrderWriteBack, synced_at: &str) -> Value {
    let mut body = Map::new();
    if let Some(order) = write_back.order {
        body.insert("SAP_DocEntry__c".into(), json!(order.doc_entry));
        body.insert("SAP_DocNum__c".into(), json!(order.doc_num));
    }
    body.insert("SAP_Sync_Status__c".into(), json!(write_back.status));
    let error = write_back.error.as_ref().map(|e| e.chars().take(SYNC_ERROR_MAX).collect::<String>());
    body.insert("SAP_Sync_Error__c".into(), json!(error));
    body.insert("SAP_Synced_At__c".into(), json!(synced_at));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderRef;

    #[test]
    fn the_query_names_every_field_the_snapshot_needs_and_only_validated_ids() {
        let ids = [SalesforceId::parse("006SM0000001Tb3").unwrap()];
        let q = snapshot_query(&ids);
        assert!(q.ends_with("WHERE Id IN ('006SM0000001Tb3YAE')"), "{q}");
        assert!(q.contains("Account.SAP_CardCode__c") && q.contains("FROM OpportunityLineItems ORDER BY SortOrder"));
        assert!(!q.contains("CurrencyIsoCode"));
    }

    #[test]
    fn a_queried_record_maps_to_a_snapshot_with_lines_and_account_code() {
        let record = json!({
            "attributes": {"type": "Opportunity"}, "Id": "006SM0000001Tb3YAE", "Name": "Deal", "StageName": "Closed Won",
            "IsWon": true, "CloseDate": "2026-11-25", "AccountId": "001SM0000000iibYAA",
            "Account": {"attributes": {"type": "Account"}, "Name": "Contoso Ltd", "SAP_CardCode__c": "C20001"},
            "SAP_DocEntry__c": 42.0,
            "OpportunityLineItems": {"totalSize": 1, "done": true, "records": [
                {"ProductCode": "A00001", "Product2": {"SAP_ItemCode__c": "A00001"}, "Quantity": 2.0, "UnitPrice": 50.0, "Description": null}
            ]}
        });
        let snapshot = snapshot_from_record(&record).unwrap();
        assert!(snapshot.is_won);
        assert_eq!(snapshot.account_card_code.as_deref(), Some("C20001"));
        assert_eq!(snapshot.sap_doc_entry, Some(42));
        assert_eq!(snapshot.lines[0].sap_item_code.as_deref(), Some("A00001"));
        assert_eq!((snapshot.lines[0].quantity, snapshot.lines[0].unit_price), (2.0, 50.0));
    }

    #[test]
    fn null_relationships_map_to_none_and_no_lines() {
        let record = json!({"Id": "006SM0000001Tb3YAE", "Name": "D", "StageName": "Prospecting", "IsWon": false,
                            "AccountId": null, "Account": null, "SAP_DocEntry__c": null, "OpportunityLineItems": null});
        let snapshot = snapshot_from_record(&record).unwrap();
        assert_eq!((snapshot.account_id, snapshot.account_card_code, snapshot.sap_doc_entry), (None, None, None));
        assert!(snapshot.lines.is_empty());
    }

    #[test]
    fn the_write_back_sets_status_and_clears_the_error_when_there_is_none() {
        let ok =
            OrderWriteBack { order: Some(OrderRef { doc_entry: 7, doc_num: 1007 }), status: "Synced", error: None };
        let body = write_back_body(&ok, "2026-11-25T10:00:00.000Z");
        assert_eq!(
            body,
            json!({"SAP_DocEntry__c": 7, "SAP_DocNum__c": 1007, "SAP_Sync_Status__c": "Synced",
                   "SAP_Sync_Error__c": null, "SAP_Synced_At__c": "2026-11-25T10:00:00.000Z"})
        );
        let failed = OrderWriteBack { order: None, status: "Failed", error: Some("x".repeat(300)) };
        let body = write_back_body(&failed, "t");
        assert!(body.get("SAP_DocEntry__c").is_none());
        assert_eq!(body["SAP_Sync_Error__c"].as_str().unwrap().len(), 255);
    }
}
