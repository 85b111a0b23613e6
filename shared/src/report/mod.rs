//! The reconciliation report (F8): its model ([`model`]) and the files people and tools read: CSV, JSON and one self-contained HTML page.

pub(crate) mod csv_file;
pub(crate) mod html_page;
pub mod model;

use model::{ExceptionKind, ReconReport};

/// The report as pretty JSON (the machine-readable copy).
pub fn json(report: &ReconReport) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes")
}

/// One CSV row per exception, with a header row (RFC 4180, CRLF line ends, formula-injection guarded).
pub fn csv(report: &ReconReport) -> String {
    csv_file::render(report)
}

/// A self-contained HTML page: summary, totals per side, a sortable and filterable exception table.
pub fn html(report: &ReconReport) -> String {
    html_page::render(report)
}

/// Every kind, in the order the summary lists them.
const KINDS: [ExceptionKind; ExceptionKind::ALL.len()] = ExceptionKind::ALL;

fn or_empty(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::model::{Period, ReconException, RepairSummary, Totals};

    /// A report with one exception of every kind and totals for a document and a master-data entity.
    pub(crate) fn sample_report() -> ReconReport {
        let exception = |kind, key: &str| ReconException {
            kind,
            entity: "Invoices".into(),
            sap_key: key.into(),
            salesforce_id: Some(format!("a0B000000000{key}AAA")),
            field: None,
            sap_value: None,
            salesforce_value: None,
            sap_link: Some(format!("https://sap.example.com:50000/b1s/v2/Invoices({key})")),
            salesforce_link: Some(format!("https://acme.lightning.force.com/lightning/r/SAP_Invoice__c/a0B{key}/view")),
            repair: Some(format!("sap:Invoices:{key}")),
            note: None,
        };
        ReconReport {
            run_id: "recon-2026-11-25T06-00-00Z-7f3a".into(),
            generated_at: "2026-11-25T06:00:12Z".into(),
            period: Period { from: "2026-10-01".into(), to: "2026-10-31".into() },
            totals: vec![
                Totals {
                    entity: "Invoices".into(),
                    salesforce_object: "SAP_Invoice__c".into(),
                    sap_count: 1200,
                    salesforce_count: 1198,
                    sap_amount: Some(1_234_567.5),
                    salesforce_amount: Some(1_230_000.25),
                },
                Totals {
                    entity: "BusinessPartners".into(),
                    salesforce_object: "Account".into(),
                    sap_count: 40,
                    salesforce_count: 40,
                    sap_amount: None,
                    salesforce_amount: None,
                },
            ],
            exceptions: vec![
                ReconException { salesforce_id: None, salesforce_link: None, ..exception(KINDS[0], "101") },
                ReconException {
                    sap_link: None,
                    repair: Some("sf:SAP_Invoice__c:a0B102".into()),
                    ..exception(KINDS[1], "102")
                },
                ReconException {
                    field: Some("Total__c".into()),
                    sap_value: Some("-12.50".into()),
                    salesforce_value: Some("12.50".into()),
                    ..exception(KINDS[2], "103")
                },
                ReconException {
                    field: Some("Status__c".into()),
                    sap_value: Some("paid".into()),
                    salesforce_value: Some("open".into()),
                    ..exception(KINDS[3], "104")
                },
                ReconException {
                    entity: "BusinessPartners".into(),
                    field: Some("Name".into()),
                    sap_value: Some("Müller GmbH".into()),
                    salesforce_value: Some("Mueller GmbH".into()),
                    repair: None,
                    note: Some("both sides edited; a person decides".into()),
                    ..exception(KINDS[4], "C20000")
                },
            ],
            repair: Some(RepairSummary { to_salesforce: 3, to_sap: 1, manual: 1 }),
            sap_calls: 7,
            salesforce_calls: 4,
        }
    }

    #[test]
    fn kind_codes_are_the_json_names() {
        for kind in KINDS {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
        let mut distinct = KINDS.to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), KINDS.len());
    }

    #[test]
    fn json_round_trips_the_model() {
        let report = sample_report();
        let back: ReconReport = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(back, report);
    }
}
