//! F3: the SAP billing context shown on a Salesforce Case. Pure.
//!
//! Every Case field F3 writes is computed from the customer's billing context; the `derived` list
//! of the F3 section chooses which of [`COMPUTED`] are written, and the validator refuses others.

use crate::domain::{BillingContext, Record};
use serde_json::json;

/// The key F3 finds the customer by, on both sides: the case's account's CardCode. The credit-memo
/// refresh of open cases (sf-writer) finds cases the same way.
pub const CUSTOMER_KEY: (&str, &str) = ("Account.SAP_CardCode__c", "CardCode");

/// The Case fields F3 computes from a billing context.
pub const COMPUTED: [&str; 6] = [
    "SAP_Open_Invoices__c",
    "SAP_Overdue_Amount__c",
    "SAP_Last_Payment_Date__c",
    "SAP_Open_Orders__c",
    "SAP_Billing_Context__c",
    "SAP_Synced_At__c",
];

/// The Case fields F3 writes: those of `derived` it computes, filled from a billing context.
/// `synced_at` is the RFC 3339 time of the sync.
pub fn case_fields(context: &BillingContext, derived: &[String], synced_at: &str) -> Record {
    let currency = context.currency.as_deref().unwrap_or("");
    let summary = format!(
        "{} open invoice(s), {:.2} {currency} owed, {:.2} {currency} overdue; {} open order(s) worth {:.2} {currency}; last payment: {}",
        context.open_invoice_count,
        context.open_invoice_total,
        context.overdue_amount,
        context.open_order_count,
        context.open_order_total,
        match (&context.last_payment_date, context.last_payment_amount) {
            (Some(date), Some(amount)) => format!("{amount:.2} {currency} on {date}"),
            _ => "none".to_string(),
        },
    );
    let mut fields = Record::new();
    for name in derived {
        let value = match name.as_str() {
            "SAP_Open_Invoices__c" => json!(context.open_invoice_count),
            "SAP_Overdue_Amount__c" => json!(context.overdue_amount),
            "SAP_Last_Payment_Date__c" => json!(context.last_payment_date),
            "SAP_Open_Orders__c" => json!(context.open_order_count),
            "SAP_Billing_Context__c" => json!(summary.replace("  ", " ")),
            "SAP_Synced_At__c" => json!(synced_at),
            _ => continue,
        };
        fields.insert(name.clone(), value);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> BillingContext {
        BillingContext {
            open_invoice_count: 2,
            open_invoice_total: 1500.0,
            overdue_amount: 500.0,
            last_payment_date: Some("2026-11-01".into()),
            last_payment_amount: Some(250.0),
            open_order_count: 1,
            open_order_total: 800.0,
            currency: Some("EUR".into()),
            partly_paid_count: 0,
            days_overdue: 0,
        }
    }

    fn all() -> Vec<String> {
        COMPUTED.map(String::from).to_vec()
    }

    #[test]
    fn the_case_gets_amounts_dates_a_readable_summary_and_the_sync_time() {
        let fields = case_fields(&context(), &all(), "2026-11-25T10:00:00.000Z");
        assert_eq!(fields["SAP_Open_Invoices__c"], 2);
        assert_eq!(fields["SAP_Overdue_Amount__c"], 500.0);
        assert_eq!(fields["SAP_Last_Payment_Date__c"], "2026-11-01");
        assert_eq!(fields["SAP_Open_Orders__c"], 1);
        assert_eq!(fields["SAP_Synced_At__c"], "2026-11-25T10:00:00.000Z");
        let summary = fields["SAP_Billing_Context__c"].as_str().unwrap();
        assert!(summary.contains("500.00 EUR overdue") && summary.contains("250.00 EUR on 2026-11-01"), "{summary}");
    }

    #[test]
    fn only_the_derived_fields_the_mapping_lists_are_written() {
        let derived = vec!["SAP_Overdue_Amount__c".to_string()];
        let fields = case_fields(&context(), &derived, "t");
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["SAP_Overdue_Amount__c"]);
    }

    #[test]
    fn a_customer_without_payments_says_none_and_has_a_null_date() {
        let context = BillingContext { last_payment_date: None, last_payment_amount: None, ..context() };
        let fields = case_fields(&context, &all(), "t");
        assert!(fields["SAP_Last_Payment_Date__c"].is_null());
        assert!(fields["SAP_Billing_Context__c"].as_str().unwrap().ends_with("last payment: none"));
    }
}
