//! F3: an opened (or reopened, or changed) Case gets its customer's SAP billing context: open
//! invoices, overdue amount, last payment, open orders. Our own write's CDC echo is dropped by the
//! receiver, so enriching cannot loop.

use super::{Applied, Done, ToSap};
use crate::domain::{CardCode, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::mapping::f3;
use crate::mapping::file::MappingFile;
use crate::ports::AuditAction;
use serde_json::Value;

/// The Case fields F3 reads: its mapping's customer key, and whether the case is closed.
pub fn case_fields(mapping: &MappingFile) -> Result<Vec<String>> {
    let key = customer_key(mapping)?;
    Ok(vec![key.to_string(), "IsClosed".to_string()])
}

/// The Salesforce side of the F3 key (`Account.SAP_CardCode__c`).
fn customer_key(mapping: &MappingFile) -> Result<&str> {
    let flow = mapping.flow("F3")?;
    flow.key.as_ref().map(|k| k.salesforce.as_str()).ok_or_else(|| Error::Config("flow F3 has no key".into()))
}

/// The value at a field path (`Account.SAP_CardCode__c`) of a queried record.
fn at_path<'r>(record: &'r Record, path: &str) -> Option<&'r Value> {
    let mut parts = path.split('.');
    let first = record.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.get(part))
}

/// F3 for one case (None: the integration user cannot read it, or it was deleted since).
pub async fn sync_case(ports: &ToSap, id: &SalesforceId, case: Option<&Record>) -> Result<Applied> {
    let Some(case) = case else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipNotVisible, None));
    };
    if case.get("IsClosed").and_then(Value::as_bool).unwrap_or(false) {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipClosedCase, None));
    }
    let key = customer_key(&ports.mapping)?;
    let Some(raw_code) = at_path(case, key).and_then(Value::as_str) else {
        // A case without an SAP customer has no billing context; F2 links the account first.
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipAccountNotInSap, None));
    };
    let card_code = CardCode::parse(raw_code)
        .map_err(|_| Error::Mapping(format!("Case {id}'s {key} is {raw_code:?}, not a valid CardCode")))?;
    let today = crate::domain::date_of(ports.clock.now_millis());
    let context = ports.sap.billing_context(&card_code, &today).await?;
    let synced_at = crate::domain::rfc3339_millis(ports.clock.now_millis());
    let fields = f3::case_fields(&context, &ports.mapping.flow("F3")?.derived, &synced_at);
    ports.salesforce_updates.update_record("Case", id, &fields).await?;
    tracing::info!(card_code = %card_code, open_invoices = context.open_invoice_count, "case enriched with SAP billing context");
    Ok(Applied::new(Done::Written, AuditAction::EnrichCase, Some(card_code.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_customer_code_is_found_along_the_key_path() {
        let case = json!({"Account": {"SAP_CardCode__c": "C20000"}, "IsClosed": false}).as_object().cloned().unwrap();
        assert_eq!(at_path(&case, "Account.SAP_CardCode__c"), Some(&json!("C20000")));
        assert_eq!(at_path(&case, "Account.Name"), None);
        assert_eq!(at_path(&case, "IsClosed"), Some(&json!(false)));
    }

    #[test]
    fn the_case_read_names_the_mapping_key_and_the_closed_flag() {
        assert_eq!(case_fields(&MappingFile::shipped()).unwrap(), ["Account.SAP_CardCode__c", "IsClosed"]);
    }
}
