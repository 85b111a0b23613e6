//! F3: an opened (or reopened, or changed) Case gets its customer's SAP billing context: open
//! invoices, overdue amount, last payment, open orders. Our own write's CDC echo is dropped by the
//! receiver, so enriching cannot loop.

use super::{Applied, Done, ToSap};
use crate::domain::{CardCode, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::mapping::f3;
use serde_json::Value;

/// The Case fields F3 reads.
pub fn case_fields() -> Vec<String> {
    ["AccountId", "Account.SAP_CardCode__c", "IsClosed", "Status"].map(String::from).to_vec()
}

/// F3 for one case (None: it no longer exists).
pub async fn sync_case(ports: &ToSap, id: &SalesforceId, case: Option<&Record>) -> Result<Applied> {
    let Some(case) = case else {
        return Ok(Applied::new(Done::Skipped, "skip_missing", None));
    };
    if case.get("IsClosed").and_then(Value::as_bool).unwrap_or(false) {
        return Ok(Applied::new(Done::Skipped, "skip_closed_case", None));
    }
    let Some(raw_code) = case.get("Account").and_then(|a| a.get("SAP_CardCode__c")).and_then(Value::as_str) else {
        // A case without an SAP customer has no billing context; F2 links the account first.
        return Ok(Applied::new(Done::Skipped, "skip_account_not_in_sap", None));
    };
    let card_code = CardCode::parse(raw_code).map_err(|_| {
        Error::Mapping(format!("Case {id}'s account has SAP_CardCode__c {raw_code:?}, not a valid CardCode"))
    })?;
    let today = crate::domain::date_of(ports.clock.now_millis());
    let context = ports.sap.billing_context(&card_code, &today).await?;
    ports.salesforce.update_record("Case", id, &f3::case_fields(&context)).await?;
    tracing::info!(card_code = %card_code, open_invoices = context.open_invoice_count, "case enriched with SAP billing context");
    Ok(Applied::new(Done::Written, "enrich_case", Some(card_code.to_string())))
}
