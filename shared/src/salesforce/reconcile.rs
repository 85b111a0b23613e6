//! [`SalesforceReconcileReads`] for [`SalesforceClient`]: F8's bulk reads, one SOQL query followed
//! through `nextRecordsUrl`, or one query per 200 keys. Literals are quoted, names checked, dates parsed.

use super::records::record_from_value;
use super::soql;
use super::{SalesforceClient, check_names};
use crate::domain::Record;
use crate::domain::parse_date;
use crate::error::Result;
use crate::ports::{DateRange, KeyedRead, SalesforceReconcileReads};
use async_trait::async_trait;

/// Keys per `IN (...)` list: keeps a query far below SOQL's 100,000-character limit.
pub const KEYS_PER_QUERY: usize = 200;

/// `Id, key, fields…` without repeats.
fn select_list(key_field: &str, fields: &[String]) -> Result<String> {
    let mut names: Vec<&str> = vec!["Id", key_field];
    for field in fields {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(field)) {
            names.push(field);
        }
    }
    check_names(&names)?;
    Ok(names.join(", "))
}

/// A LIKE pattern matching text that starts with `prefix` (its `%` and `_` escaped).
fn starts_with(prefix: &str) -> String {
    // `\%` and `\_` are SOQL escape sequences of their own, so they go in after quoting.
    let mut literal = soql::quote(prefix).replace('%', "\\%").replace('_', "\\_");
    literal.insert(literal.len() - 1, '%');
    literal
}

/// The SOQL of a [`KeyedRead`].
pub fn keyed_query(read: &KeyedRead<'_>) -> Result<String> {
    check_names(&[read.object])?;
    let mut query = format!(
        "SELECT {} FROM {} WHERE {} != null",
        select_list(read.key_field, read.fields)?,
        read.object,
        read.key_field
    );
    if let Some(prefix) = read.key_prefix.filter(|p| !p.is_empty()) {
        query.push_str(&format!(" AND {} LIKE {}", read.key_field, starts_with(prefix)));
    }
    if let Some(range) = read.dated {
        check_names(&[range.field])?;
        let (from, to) = (parse_date(range.from)?, parse_date(range.to)?);
        query.push_str(&format!(" AND {field} >= {from} AND {field} <= {to}", field = range.field));
    }
    query.push_str(" ORDER BY Id");
    Ok(query)
}

/// The SOQL of the won opportunities closed in `closed` (F8 compares them with SAP's orders).
pub fn won_query(closed: DateRange<'_>, fields: &[String]) -> Result<String> {
    check_names(&[closed.field])?;
    let (from, to) = (parse_date(closed.from)?, parse_date(closed.to)?);
    Ok(format!(
        "SELECT {} FROM Opportunity WHERE IsWon = true AND {field} >= {from} AND {field} <= {to} ORDER BY Id",
        select_list("Amount", fields)?,
        field = closed.field
    ))
}

/// The SOQL reading the records of ≤ 200 keys.
pub fn by_key_query(object: &str, key_field: &str, keys: &[String], fields: &[String]) -> Result<String> {
    check_names(&[object])?;
    let list: Vec<String> = keys.iter().map(|k| soql::quote(k)).collect();
    Ok(format!("SELECT {} FROM {object} WHERE {key_field} IN ({})", select_list(key_field, fields)?, list.join(",")))
}

#[async_trait]
impl SalesforceReconcileReads for SalesforceClient {
    async fn keyed_records(&self, read: &KeyedRead<'_>) -> Result<Vec<Record>> {
        self.query_all(&keyed_query(read)?).await?.into_iter().map(record_from_value).collect()
    }

    async fn records_by_key(
        &self,
        object: &str,
        key_field: &str,
        keys: &[String],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        let mut records = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            for value in self.query_all(&by_key_query(object, key_field, chunk, fields)?).await? {
                records.push(record_from_value(value)?);
            }
        }
        Ok(records)
    }

    async fn won_opportunities(&self, closed: DateRange<'_>, fields: &[String]) -> Result<Vec<Record>> {
        self.query_all(&won_query(closed, fields)?).await?.into_iter().map(record_from_value).collect()
    }

    async fn instance_url(&self) -> Result<String> {
        Ok(self.session().await?.instance_url.clone())
    }

    fn requests_sent(&self) -> u64 {
        self.stats().requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_won_opportunities_of_a_period_are_read_in_one_query_with_parsed_dates() {
        let closed = DateRange { field: "CloseDate", from: "2026-11-01", to: "2026-11-25" };
        assert_eq!(
            won_query(closed, &["SAP_DocEntry__c".into(), "amount".into()]).unwrap(),
            "SELECT Id, Amount, SAP_DocEntry__c FROM Opportunity WHERE IsWon = true AND CloseDate >= 2026-11-01 \
             AND CloseDate <= 2026-11-25 ORDER BY Id"
        );
        assert!(won_query(DateRange { from: "2026-11-01 OR IsWon = false", ..closed }, &[]).is_err());
    }

    #[test]
    fn a_keyed_read_filters_on_the_key_prefix_and_the_period() {
        let fields = vec!["Amount__c".to_string(), "SAP_Document_Key__c".to_string()];
        let read = KeyedRead {
            object: "SAP_Invoice__c",
            key_field: "SAP_Document_Key__c",
            key_prefix: Some("Invoices/"),
            fields: &fields,
            dated: Some(DateRange { field: "Invoice_Date__c", from: "2026-11-01", to: "2026-11-25" }),
        };
        assert_eq!(
            keyed_query(&read).unwrap(),
            "SELECT Id, SAP_Document_Key__c, Amount__c FROM SAP_Invoice__c WHERE SAP_Document_Key__c != null AND \
             SAP_Document_Key__c LIKE 'Invoices/%' AND Invoice_Date__c >= 2026-11-01 AND Invoice_Date__c <= 2026-11-25 \
             ORDER BY Id"
        );
        let bad_date =
            KeyedRead { dated: Some(DateRange { field: "Invoice_Date__c", from: "2026-11-01 OR", to: "x" }), ..read };
        assert!(keyed_query(&bad_date).is_err());
        let bad_object = KeyedRead { object: "Account WHERE", ..read };
        assert!(keyed_query(&bad_object).is_err());
    }

    #[test]
    fn keys_are_quoted_and_like_wildcards_in_prefixes_escaped() {
        let query = by_key_query("Account", "SAP_CardCode__c", &["C1".into(), "O'B".into()], &[]).unwrap();
        assert_eq!(query, r"SELECT Id, SAP_CardCode__c FROM Account WHERE SAP_CardCode__c IN ('C1','O\'B')");
        assert_eq!(starts_with("a_b%"), r"'a\_b\%%'");
    }
}
