//! F3: the SAP billing context shown on a Salesforce Case. Pure.

use crate::domain::{BillingContext, Record};
use serde_json::json;

/// The Case fields B1Force owns, filled from a billing context.
pub fn case_fields(context: &BillingContext) -> Record {
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
    fields.insert("SAP_Open_Invoices__c".into(), json!(context.open_invoice_count));
    fields.insert("SAP_Overdue_Amount__c".into(), json!(context.overdue_amount));
    fields.insert("SAP_Last_Payment_Date__c".into(), json!(context.last_payment_date));
    fields.insert("SAP_Open_Orders__c".into(), json!(context.open_order_count));
    fields.insert("SAP_Billing_Context__c".into(), json!(summary.replace("  ", " ")));
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
        }
    }

    #[test]
    fn the_case_gets_amounts_dates_and_a_readable_summary() {
        let fields = case_fields(&context());
        assert_eq!(fields["SAP_Open_Invoices__c"], 2);
        assert_eq!(fields["SAP_Overdue_Amount__c"], 500.0);
        assert_eq!(fields["SAP_Last_Payment_Date__c"], "2026-11-01");
        assert_eq!(fields["SAP_Open_Orders__c"], 1);
        let summary = fields["SAP_Billing_Context__c"].as_str().unwrap();
        assert!(summary.contains("500.00 EUR overdue") && summary.contains("250.00 EUR on 2026-11-01"), "{summary}");
    }

    #[test]
    fn a_customer_without_payments_says_none_and_has_a_null_date() {
        let fields = case_fields(&BillingContext { last_payment_date: None, last_payment_amount: None, ..context() });
        assert!(fields["SAP_Last_Payment_Date__c"].is_null());
        assert!(fields["SAP_Billing_Context__c"].as_str().unwrap().ends_with("last payment: none"));
    }
}
