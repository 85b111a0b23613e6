//! Generic record reads for the mapping-driven flows: the SOQL they send and how answers become
//! [`Record`]s. Pure.

use super::soql;
use crate::domain::{EpochMillis, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::ports::RecordQuery;
use serde_json::Value;

/// A field list entry: an API name or a one-level relationship path (`Account.SAP_CardCode__c`).
fn is_field_path(path: &str) -> bool {
    let mut parts = path.split('.');
    let ok = parts.by_ref().take(2).all(soql::is_api_name);
    ok && parts.next().is_none()
}

fn field_list(fields: &[String]) -> Result<String> {
    let mut names: Vec<&str> = vec!["Id"];
    for f in fields {
        if !is_field_path(f) {
            return Err(Error::Invalid(format!("{f:?} is not a Salesforce field name")));
        }
        if !names.iter().any(|n| n.eq_ignore_ascii_case(f)) {
            names.push(f);
        }
    }
    Ok(names.join(", "))
}

/// `SELECT Id, <fields>[, (SELECT ... FROM <child>)] FROM <object> WHERE Id IN (...)` for ≤ 200 ids.
pub fn records_query(query: &RecordQuery<'_>, ids: &[SalesforceId]) -> Result<String> {
    if !soql::is_api_name(query.object) {
        return Err(Error::Invalid(format!("{:?} is not a Salesforce object name", query.object)));
    }
    let mut select = field_list(query.fields)?;
    if let Some(child) = &query.child {
        if !soql::is_api_name(child.relationship) {
            return Err(Error::Invalid(format!("{:?} is not a relationship name", child.relationship)));
        }
        select.push_str(&format!(", (SELECT {} FROM {})", field_list(child.fields)?, child.relationship));
    }
    Ok(format!("SELECT {select} FROM {} WHERE Id IN {}", query.object, soql::in_list(ids)))
}

/// `SELECT Id FROM <object> WHERE SystemModstamp >= <since> ORDER BY SystemModstamp, Id`.
pub fn changed_since_query(object: &str, since: EpochMillis) -> Result<String> {
    if !soql::is_api_name(object) {
        return Err(Error::Invalid(format!("{object:?} is not a Salesforce object name")));
    }
    let literal = datetime_literal(since)?;
    Ok(format!("SELECT Id FROM {object} WHERE SystemModstamp >= {literal} ORDER BY SystemModstamp, Id"))
}

/// Closed Won opportunities F1 never wrote a status to (`SAP_Sync_Status__c` empty: no order, no
/// failure, no pending draft), modified in `[since, until)`: what the lost-event sweep re-enqueues.
/// A failed one keeps its status, so the sweep never retries a permanent failure every run.
pub fn won_without_status_query(since: EpochMillis, until: EpochMillis) -> Result<String> {
    Ok(format!(
        "SELECT Id FROM Opportunity WHERE IsWon = true AND SAP_Sync_Status__c = null \
         AND SystemModstamp >= {} AND SystemModstamp < {} ORDER BY SystemModstamp, Id",
        datetime_literal(since)?,
        datetime_literal(until)?
    ))
}

/// A SOQL datetime literal (UTC, whole seconds, rounded down).
fn datetime_literal(at_ms: EpochMillis) -> Result<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .map_err(|_| Error::Invalid(format!("{at_ms} is not a valid timestamp")))?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

/// A query answer row without its `attributes` blocks (also inside relationships and child lists).
pub fn record_from_value(value: Value) -> Result<Record> {
    match strip_attributes(value) {
        Value::Object(map) => Ok(map),
        other => Err(Error::Invalid(format!("Salesforce returned a record that is not an object: {}", kind(&other)))),
    }
}

fn strip_attributes(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(k, _)| k != "attributes").map(|(k, v)| (k, strip_attributes(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_attributes).collect()),
        other => other,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ChildQuery;
    use serde_json::json;

    #[test]
    fn a_record_query_names_fields_child_and_ids_and_always_selects_the_id() {
        let fields = vec!["Name".to_string(), "Account.SAP_CardCode__c".to_string(), "id".to_string()];
        let child_fields = vec!["Email".to_string()];
        let q = RecordQuery {
            object: "Account",
            fields: &fields,
            child: Some(ChildQuery { relationship: "Contacts", fields: &child_fields }),
        };
        let ids = [SalesforceId::parse("001SM0000000iib").unwrap()];
        assert_eq!(
            records_query(&q, &ids).unwrap(),
            "SELECT Id, Name, Account.SAP_CardCode__c, (SELECT Id, Email FROM Contacts) FROM Account WHERE Id IN ('001SM0000000iibYAA')"
        );
    }

    #[test]
    fn names_carrying_soql_syntax_are_refused() {
        for bad in ["Name, (SELECT Id FROM User)", "Name FROM User --", "A.B.C", "", "Name'"] {
            let fields = vec![bad.to_string()];
            let q = RecordQuery { object: "Account", fields: &fields, child: None };
            assert!(records_query(&q, &[]).is_err(), "{bad:?}");
        }
        assert!(changed_since_query("Account WHERE 1=1", 0).is_err());
    }

    #[test]
    fn the_resync_query_uses_an_unquoted_utc_datetime_literal() {
        assert_eq!(
            changed_since_query("Account", 1_795_600_800_999).unwrap(),
            "SELECT Id FROM Account WHERE SystemModstamp >= 2026-11-25T10:00:00Z ORDER BY SystemModstamp, Id"
        );
    }

    #[test]
    fn attributes_are_stripped_everywhere() {
        let r = record_from_value(json!({"attributes": {"type": "Account"}, "Id": "x",
            "Owner": {"attributes": {}, "Name": "n"}, "Contacts": {"records": [{"attributes": {}, "Id": "c"}]}}))
        .unwrap();
        assert_eq!(
            Value::Object(r),
            json!({"Id": "x", "Owner": {"Name": "n"}, "Contacts": {"records": [{"Id": "c"}]}})
        );
    }
}
