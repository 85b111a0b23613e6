//! F1's read of opportunities: the one query and its answer as snapshots. Pure.

use super::soql;
use crate::domain::{
    OpportunityLine, OpportunitySnapshot, QUOTE_DOC_ENTRY, QUOTE_DOC_NUM, QuoteSnapshot, Record, SalesforceId,
};
use crate::error::{Error, Result};
use crate::ports::OpportunityRead;
use serde_json::Value;

/// Most ids in one `WHERE Id IN (...)`, which keeps the URL well under the 16 KB limit.
pub const MAX_IDS_PER_QUERY: usize = 200;

/// What F1 reads of every opportunity, whatever the mapping says: stage, account, close date and
/// the amount the order's total must equal.
const OPPORTUNITY_FIELDS: [&str; 9] =
    ["Id", "Name", "StageName", "IsWon", "CloseDate", "Amount", "AccountId", "Account.Name", "Account.SAP_CardCode__c"];

/// What F1 reads of every line: the product, the quantity and price the order line needs, and the
/// line total SAP's must equal.
const LINE_FIELDS: [&str; 5] = ["ProductCode", "Product2.SAP_ItemCode__c", "Quantity", "UnitPrice", "TotalPrice"];

/// The F1 query for up to [`MAX_IDS_PER_QUERY`] opportunities with account, lines and the mapped
/// fields of `read` (refused unless they are plain API names). `CurrencyIsoCode` is left out: it
/// exists only in multi-currency orgs.
pub fn snapshot_query(ids: &[SalesforceId], read: &OpportunityRead) -> Result<String> {
    let header = select_list(&OPPORTUNITY_FIELDS, &read.fields)?;
    let lines = select_list(&LINE_FIELDS, &read.line_fields)?;
    Ok(format!(
        "SELECT {header}, (SELECT {lines} FROM OpportunityLineItems ORDER BY SortOrder) FROM Opportunity WHERE Id IN {}",
        soql::in_list(ids)
    ))
}

/// What the quote flow reads of every quote: its status and sync, the opportunity's account, the
/// total its quotation must equal and the quotation already made.
const QUOTE_FIELDS: [&str; 13] = [
    "Id",
    "Name",
    "QuoteNumber",
    "Status",
    "IsSyncing",
    "OpportunityId",
    "ExpirationDate",
    "TotalPrice",
    "AccountId",
    "Account.Name",
    "Account.SAP_CardCode__c",
    QUOTE_DOC_ENTRY,
    QUOTE_DOC_NUM,
];

/// What the quote flow reads of every quote line: as for opportunity lines, but QuoteLineItem has
/// no ProductCode of its own (it is the product's).
const QUOTE_LINE_FIELDS: [&str; 5] =
    ["Product2.ProductCode", "Product2.SAP_ItemCode__c", "Quantity", "UnitPrice", "TotalPrice"];

/// The quote query for up to [`MAX_IDS_PER_QUERY`] quotes, their lines with F1's mapped line
/// fields (`line_fields`, less `ProductCode`, which quote lines take from the product).
pub fn quote_query(ids: &[SalesforceId], line_fields: &[String]) -> Result<String> {
    let mapped: Vec<String> = line_fields.iter().filter(|f| !f.eq_ignore_ascii_case("ProductCode")).cloned().collect();
    let lines = select_list(&QUOTE_LINE_FIELDS, &mapped)?;
    Ok(format!(
        "SELECT {}, (SELECT {lines} FROM QuoteLineItems ORDER BY LineNumber) FROM Quote WHERE Id IN {}",
        QUOTE_FIELDS.join(", "),
        soql::in_list(ids)
    ))
}

/// Maps one record of [`quote_query`]'s answer.
pub fn quote_from_record(record: &Value, line_fields: &[String]) -> Result<QuoteSnapshot> {
    let raw_id = text(record, "Id").ok_or_else(|| Error::Invalid("Salesforce returned a Quote without Id".into()))?;
    let id_of = |field: &str| text(record, field).map(|raw| SalesforceId::parse(&raw)).transpose();
    let account = record.get("Account").filter(|a| a.is_object());
    Ok(QuoteSnapshot {
        name: text(record, "Name").unwrap_or_default(),
        quote_number: text(record, "QuoteNumber"),
        status: text(record, "Status").unwrap_or_default(),
        is_syncing: record.get("IsSyncing").and_then(Value::as_bool).unwrap_or(false),
        opportunity_id: id_of("OpportunityId")?,
        expiration_date: text(record, "ExpirationDate"),
        total_price: record.get("TotalPrice").and_then(Value::as_f64),
        account_id: id_of("AccountId")?,
        account_name: account.and_then(|a| text(a, "Name")),
        account_card_code: account.and_then(|a| text(a, "SAP_CardCode__c")).filter(|c| !c.trim().is_empty()),
        quotation: record.get(QUOTE_DOC_ENTRY).and_then(Value::as_f64).map(|n| n as i64),
        lines: child_lines(record, "QuoteLineItems", &raw_id, line_fields)?,
        id: SalesforceId::parse(&raw_id)?,
    })
}

/// The rows of a child relationship as deal lines (none when Salesforce answers null).
fn child_lines(record: &Value, relationship: &str, parent: &str, mapped: &[String]) -> Result<Vec<OpportunityLine>> {
    match record.get(relationship) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(child) => child
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(parent, &format!("malformed {relationship}")))?
            .iter()
            .map(|line| line_from_record(parent, line, mapped))
            .collect(),
    }
}

/// `always` and then the mapped names (fields or relationship paths), each once: SOQL refuses a
/// field selected twice, and field names ignore case.
fn select_list(always: &[&str], mapped: &[String]) -> Result<String> {
    if let Some(bad) = mapped.iter().find(|n| !soql::is_field_path(n)) {
        return Err(Error::Invalid(format!(
            "{:?} is not a Salesforce field or relationship path",
            bad.chars().take(40).collect::<String>()
        )));
    }
    let mut names: Vec<&str> = always.to_vec();
    for name in mapped {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name);
        }
    }
    Ok(names.join(", "))
}

fn text(record: &Value, field: &str) -> Option<String> {
    record.get(field)?.as_str().map(str::to_string)
}

fn unexpected(id: &str, what: &str) -> Error {
    Error::Invalid(format!("Salesforce returned record {id} with {what}"))
}

/// The values of `names` in a query answer row, under the names asked for (Salesforce answers
/// with the field's own spelling, which may differ in case). A relationship path follows the
/// nested records; an empty lookup (`"Product2": null`) gives null.
fn mapped_values(record: &Value, names: &[String]) -> Record {
    let mut values = Record::new();
    for name in names {
        if let Some(value) = value_at(record, name) {
            values.insert(name.clone(), value);
        }
    }
    values
}

fn value_at(record: &Value, path: &str) -> Option<Value> {
    let mut current = record;
    for segment in path.split('.') {
        if current.is_null() {
            return Some(Value::Null);
        }
        let row = current.as_object()?;
        current =
            row.get(segment).or_else(|| row.iter().find(|(k, _)| k.eq_ignore_ascii_case(segment)).map(|(_, v)| v))?;
    }
    Some(current.clone())
}

/// Maps one record of [`snapshot_query`]'s answer.
pub fn snapshot_from_record(record: &Value, read: &OpportunityRead) -> Result<OpportunitySnapshot> {
    let raw_id =
        text(record, "Id").ok_or_else(|| Error::Invalid("Salesforce returned an Opportunity without Id".into()))?;
    let id = SalesforceId::parse(&raw_id)?;
    let account = record.get("Account").filter(|a| a.is_object());
    // Salesforce answers null, not an empty list, when there are no lines.
    let lines = child_lines(record, "OpportunityLineItems", &raw_id, &read.line_fields)?;
    Ok(OpportunitySnapshot {
        name: text(record, "Name").unwrap_or_default(),
        stage_name: text(record, "StageName").unwrap_or_default(),
        is_won: record.get("IsWon").and_then(Value::as_bool).unwrap_or(false),
        close_date: text(record, "CloseDate"),
        amount: record.get("Amount").and_then(Value::as_f64),
        account_id: text(record, "AccountId").map(|a| SalesforceId::parse(&a)).transpose()?,
        account_name: account.and_then(|a| text(a, "Name")),
        account_card_code: account.and_then(|a| text(a, "SAP_CardCode__c")).filter(|c| !c.trim().is_empty()),
        fields: mapped_values(record, &read.fields),
        lines,
        id,
    })
}

fn line_from_record(opportunity: &str, line: &Value, mapped: &[String]) -> Result<OpportunityLine> {
    let number = |field: &str| {
        line.get(field)
            .and_then(Value::as_f64)
            .ok_or_else(|| unexpected(opportunity, &format!("a line without {field}")))
    };
    Ok(OpportunityLine {
        product_code: text(line, "ProductCode").or_else(|| line.get("Product2").and_then(|p| text(p, "ProductCode"))),
        sap_item_code: line.get("Product2").and_then(|p| text(p, "SAP_ItemCode__c")),
        quantity: number("Quantity")?,
        unit_price: number("UnitPrice")?,
        total_price: line.get("TotalPrice").and_then(Value::as_f64),
        fields: mapped_values(line, mapped),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read() -> OpportunityRead {
        OpportunityRead {
            fields: vec!["SAP_DocEntry__c".into(), "closedate".into()],
            line_fields: vec!["Id".into(), "Discount".into(), "ServiceDate".into()],
        }
    }

    #[test]
    fn the_query_names_the_fixed_and_the_mapped_fields_once_and_only_validated_ids() {
        let ids = [SalesforceId::parse("006SM0000001Tb3").unwrap()];
        let q = snapshot_query(&ids, &read()).unwrap();
        assert!(q.ends_with("WHERE Id IN ('006SM0000001Tb3YAE')"), "{q}");
        assert!(q.starts_with(
            "SELECT Id, Name, StageName, IsWon, CloseDate, Amount, AccountId, Account.Name, Account.SAP_CardCode__c, SAP_DocEntry__c, \
             (SELECT ProductCode, Product2.SAP_ItemCode__c, Quantity, UnitPrice, TotalPrice, Id, Discount, ServiceDate \
             FROM OpportunityLineItems ORDER BY SortOrder) FROM Opportunity"
        ), "{q}");
        assert!(!q.contains("CurrencyIsoCode"));
    }

    #[test]
    fn mapped_names_carrying_soql_syntax_are_refused() {
        for bad in ["Discount, (SELECT Id FROM User)", "Name FROM User --", "Account..Name", "", "Discount'"] {
            let header = OpportunityRead { fields: vec![bad.into()], line_fields: Vec::new() };
            let lines = OpportunityRead { fields: Vec::new(), line_fields: vec![bad.into()] };
            assert!(snapshot_query(&[], &header).is_err(), "{bad:?}");
            assert!(snapshot_query(&[], &lines).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_queried_record_maps_to_a_snapshot_with_lines_account_code_and_mapped_values() {
        let record = json!({
            "attributes": {"type": "Opportunity"}, "Id": "006SM0000001Tb3YAE", "Name": "Deal", "StageName": "Closed Won",
            "IsWon": true, "CloseDate": "2026-11-25", "AccountId": "001SM0000000iibYAA",
            "Account": {"attributes": {"type": "Account"}, "Name": "Contoso Ltd", "SAP_CardCode__c": "C20001"},
            "SAP_DocEntry__c": 42.0,
            "OpportunityLineItems": {"totalSize": 1, "done": true, "records": [
                {"Id": "00kSM0000000001YAA", "ProductCode": "A00001", "Product2": {"SAP_ItemCode__c": "A00001"},
                 "Quantity": 2.0, "UnitPrice": 50.0, "Discount": 10.0, "ServiceDate": null}
            ]}
        });
        let snapshot = snapshot_from_record(&record, &read()).unwrap();
        assert!(snapshot.is_won);
        assert_eq!(snapshot.account_card_code.as_deref(), Some("C20001"));
        assert_eq!(
            snapshot.fields,
            json!({"SAP_DocEntry__c": 42.0, "closedate": "2026-11-25"}).as_object().cloned().unwrap()
        );
        let line = &snapshot.lines[0];
        assert_eq!(line.sap_item_code.as_deref(), Some("A00001"));
        assert_eq!((line.quantity, line.unit_price), (2.0, 50.0));
        assert_eq!(
            line.fields,
            json!({"Id": "00kSM0000000001YAA", "Discount": 10.0, "ServiceDate": null}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn null_relationships_map_to_none_and_no_lines() {
        let record = json!({"Id": "006SM0000001Tb3YAE", "Name": "D", "StageName": "Prospecting", "IsWon": false,
                            "AccountId": null, "Account": null, "SAP_DocEntry__c": null, "OpportunityLineItems": null});
        let snapshot = snapshot_from_record(&record, &read()).unwrap();
        assert_eq!((snapshot.account_id, snapshot.account_card_code), (None, None));
        assert_eq!(snapshot.fields["SAP_DocEntry__c"], Value::Null);
        assert!(snapshot.lines.is_empty());
    }

    #[test]
    fn the_quote_query_reads_status_sync_account_and_lines_with_the_products_code() {
        let ids = [SalesforceId::parse("0Q0SM0000000001").unwrap()];
        let q = quote_query(&ids, &["Id".into(), "ProductCode".into(), "Discount".into()]).unwrap();
        assert!(
            q.starts_with(
                "SELECT Id, Name, QuoteNumber, Status, IsSyncing, OpportunityId, ExpirationDate, TotalPrice, \
             AccountId, Account.Name, Account.SAP_CardCode__c, SAP_Quotation_DocEntry__c, SAP_Quotation_DocNum__c, \
             (SELECT Product2.ProductCode, Product2.SAP_ItemCode__c, Quantity, UnitPrice, TotalPrice, Id, Discount \
             FROM QuoteLineItems ORDER BY LineNumber) FROM Quote WHERE Id IN ("
            ),
            "{q}"
        );
        let record = json!({"Id": "0Q0SM00000000010AA", "Name": "Q-1", "Status": "Approved", "IsSyncing": true,
            "OpportunityId": "006SM0000001Tb3YAE", "TotalPrice": 90.0, "AccountId": "001SM0000000iibYAA",
            "Account": {"Name": "Acme", "SAP_CardCode__c": "C20000"}, "SAP_Quotation_DocEntry__c": 7.0,
            "QuoteLineItems": {"records": [{"Id": "0QLSM0000000001", "Product2": {"ProductCode": "A00001",
                "SAP_ItemCode__c": null}, "Quantity": 2.0, "UnitPrice": 50.0, "TotalPrice": 90.0, "Discount": 10.0}]}});
        let quote = quote_from_record(&record, &["Id".into(), "Discount".into()]).unwrap();
        assert!(quote.is_syncing);
        assert_eq!((quote.quotation, quote.account_card_code.as_deref()), (Some(7), Some("C20000")));
        assert_eq!(quote.lines[0].product_code.as_deref(), Some("A00001"), "the product's code");
        assert_eq!(quote.lines[0].fields["Discount"], json!(10.0));
    }
}
