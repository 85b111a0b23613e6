//! F8 for F6's account payment status: each account's `SAP_Payment_Status__c` against the standing
//! its customer's open invoices in SAP give today (Paid, Partially Paid, Unpaid, Overdue), the same
//! rule the sf-writer applies ([`PaymentStanding::of_invoices`]). Only the status is compared: days
//! overdue move every day and are refreshed by the daily aging run, not by the reconciler. An
//! account never given a status (a customer without invoices) counts as Paid. Pure.

use super::compare::Links;
use crate::domain::{OpenInvoice, PaymentStanding, Record, parse_date};
use crate::error::Result;
use crate::mapping::file::MappingFile;
use crate::report::model::{ExceptionKind, ReconException, Totals};
use serde_json::Value;
use std::collections::BTreeMap;

const STATUS: &str = "SAP_Payment_Status__c";
const OBJECT: &str = "Account";
const KEY: &str = "SAP_CardCode__c";

/// Whether the mapping writes the account's payment status (the F6 account section derives it).
pub fn compared(mapping: &MappingFile) -> bool {
    mapping.flow("F6.account").is_ok_and(|flow| flow.derived.iter().any(|d| d == STATUS))
}

/// What to read of each open invoice.
pub const INVOICE_SELECT: [&str; 5] = ["CardCode", "DocTotal", "PaidToDate", "DocDueDate", "DocCurrency"];

/// The Salesforce fields read of each account besides its key.
pub fn account_fields() -> Vec<String> {
    vec![STATUS.to_string()]
}

/// Compares every account carrying a CardCode with its customer's `open` invoices as of `today`
/// (`YYYY-MM-DD`). A drift is repaired by re-sending the customer's newest open invoice, which
/// recomputes the status; one of a customer with nothing open gets none here (see
/// [`repair_with_latest`]) and needs a person until then.
pub fn compare_standings(
    accounts: &[Record],
    open: &[Record],
    today: &str,
    links: &Links,
) -> Result<(Vec<ReconException>, Totals)> {
    let today = parse_date(today)?;
    let mut by_customer: BTreeMap<&str, Vec<OpenInvoice>> = BTreeMap::new();
    let mut newest: BTreeMap<String, i64> = BTreeMap::new();
    for row in open {
        let Some((code, entry)) = customer_and_entry(row) else { continue };
        by_customer.entry(code).or_default().push(open_invoice(row)?);
        newest.entry(code.to_string()).and_modify(|e| *e = (*e).max(entry)).or_insert(entry);
    }
    let mut exceptions = Vec::new();
    let mut counted = (0, 0);
    for account in accounts {
        let Some(code) = account.get(KEY).and_then(Value::as_str).map(str::trim) else { continue };
        let invoices = by_customer.get(code).map(Vec::as_slice).unwrap_or_default();
        let expected = PaymentStanding::of_invoices(invoices, today).status;
        let held = account.get(STATUS).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("Paid");
        counted.0 += u64::from(expected != "Paid");
        counted.1 += u64::from(held != "Paid");
        if held == expected {
            continue;
        }
        let id = account.get("Id").and_then(Value::as_str).unwrap_or_default();
        let repair = newest.get(code).map(|entry| format!("sap:Invoices:{entry}"));
        exceptions.push(ReconException {
            kind: ExceptionKind::StatusDrift,
            entity: "BusinessPartners".into(),
            sap_key: code.to_string(),
            salesforce_id: Some(id.to_string()),
            field: Some(STATUS.into()),
            sap_value: Some(expected.into()),
            salesforce_value: Some(held.into()),
            sap_link: Some(links.sap("BusinessPartners", code)),
            salesforce_link: Some(links.salesforce(OBJECT, id)),
            note: repair.is_none().then(|| "the customer has no invoice in SAP to recompute the status from".into()),
            repair,
        });
    }
    let totals = Totals {
        entity: "Invoices.open by customer".into(),
        salesforce_object: format!("{OBJECT}.{STATUS} not Paid"),
        sap_count: counted.0,
        salesforce_count: counted.1,
        sap_amount: None,
        salesforce_amount: None,
    };
    Ok((exceptions, totals))
}

/// Gives the drifts still without a repair (customers with nothing open) their customer's newest
/// invoice from `invoices` (`CardCode`, `DocEntry` rows), which recomputes the status as well.
pub fn repair_with_latest(exceptions: &mut [ReconException], invoices: &[Record]) {
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for (code, entry) in invoices.iter().filter_map(customer_and_entry) {
        latest.entry(code).and_modify(|e| *e = (*e).max(entry)).or_insert(entry);
    }
    for exception in exceptions.iter_mut().filter(|e| e.repair.is_none()) {
        if let Some(entry) = latest.get(exception.sap_key.as_str()) {
            exception.repair = Some(format!("sap:Invoices:{entry}"));
            exception.note = None;
        }
    }
}

/// An invoice row's customer and DocEntry.
pub fn customer_and_entry(row: &Record) -> Option<(&str, i64)> {
    Some((row.get("CardCode")?.as_str()?, row.get("DocEntry")?.as_i64()?))
}

fn open_invoice(row: &Record) -> Result<OpenInvoice> {
    let number = |p: &str| row.get(p).and_then(Value::as_f64).unwrap_or(0.0);
    let due = row.get("DocDueDate").and_then(Value::as_str).unwrap_or_default();
    Ok(OpenInvoice {
        doc_total: number("DocTotal"),
        paid_to_date: number("PaidToDate"),
        due_date: parse_date(due.get(..10).unwrap_or(due))?,
        currency: row.get("DocCurrency").and_then(Value::as_str).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records(rows: Value) -> Vec<Record> {
        rows.as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect()
    }

    #[test]
    fn an_account_whose_status_is_not_what_its_open_invoices_say_is_a_status_drift_repaired_by_an_invoice() {
        let links = Links { sap_root: "https://sap/b1s/v2/".into(), salesforce_instance: "https://sf".into() };
        let accounts = records(json!([
            {"Id": "001A", "SAP_CardCode__c": "C1", "SAP_Payment_Status__c": "Unpaid"},
            {"Id": "001B", "SAP_CardCode__c": "C2", "SAP_Payment_Status__c": "Partially Paid"},
            {"Id": "001C", "SAP_CardCode__c": "C3", "SAP_Payment_Status__c": null},
            {"Id": "001D", "SAP_CardCode__c": "C4", "SAP_Payment_Status__c": "Overdue"}
        ]));
        let open = records(json!([
            {"DocEntry": 1, "CardCode": "C1", "DocTotal": 100.0, "PaidToDate": 0.0, "DocDueDate": "2026-11-01T00:00:00Z"},
            {"DocEntry": 2, "CardCode": "C2", "DocTotal": 100.0, "PaidToDate": 40.0, "DocDueDate": "2026-12-31T00:00:00Z"}
        ]));
        let (mut found, totals) = compare_standings(&accounts, &open, "2026-12-07", &links).unwrap();
        let seen: Vec<[&str; 4]> = found
            .iter()
            .map(|e| {
                let values = [&e.sap_value, &e.salesforce_value, &e.repair].map(|v| v.as_deref().unwrap_or("-"));
                [e.sap_key.as_str(), values[0], values[1], values[2]]
            })
            .collect();
        // C1 is overdue since 1 November; C2 agrees; C3 has nothing open and no status (Paid); C4
        // was paid since and has no invoice to re-send: a person.
        assert_eq!(seen, [["C1", "Overdue", "Unpaid", "sap:Invoices:1"], ["C4", "Paid", "Overdue", "-"]]);
        assert!(found.iter().all(|e| e.kind == ExceptionKind::StatusDrift));
        assert!(found[1].note.is_some());
        assert_eq!((totals.sap_count, totals.salesforce_count), (2, 3));
        // C4's newest (paid) invoice recomputes its status too: the person is no longer needed.
        let history = records(
            json!([{"DocEntry": 4, "CardCode": "C4"}, {"DocEntry": 9, "CardCode": "C4"}, {"DocEntry": 5, "CardCode": "C1"}]),
        );
        repair_with_latest(&mut found, &history);
        assert_eq!(
            (found[0].repair.as_deref(), found[1].repair.as_deref()),
            (Some("sap:Invoices:1"), Some("sap:Invoices:9"))
        );
        assert!(found[1].note.is_none());
    }
}
