//! F8's report: what the reconciler found, in a shape every renderer (CSV, JSON, HTML) and the SNS
//! summary read. Pure data.

use serde::{Deserialize, Serialize};

/// The period compared: documents dated `from` to `to`, both inclusive (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// What kind of difference one exception is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// In SAP, not in Salesforce (an SAP orphan: e.g. an invoice or business partner never synced).
    MissingInSalesforce,
    /// In Salesforce with an SAP key that SAP does not have (a Salesforce orphan).
    MissingInSap,
    /// Both sides have the record; an amount differs (by more than half a cent).
    AmountDrift,
    /// Both sides have the record; its status differs (open/paid/cancelled).
    StatusDrift,
    /// Both sides have the record; another mapped field differs (master data).
    FieldDrift,
    /// One Salesforce record, several live SAP records carrying it (e.g. two sales orders for one
    /// won opportunity).
    DuplicateInSap,
}

impl ExceptionKind {
    /// Every kind, in report order.
    pub const ALL: [ExceptionKind; 6] = [
        ExceptionKind::MissingInSalesforce,
        ExceptionKind::MissingInSap,
        ExceptionKind::AmountDrift,
        ExceptionKind::StatusDrift,
        ExceptionKind::FieldDrift,
        ExceptionKind::DuplicateInSap,
    ];

    /// The stable code, as the JSON spells it (`amount_drift`): CSV cells, the page's kind filter and
    /// the `ExceptionKind` metric dimension all name a kind this way.
    pub fn code(self) -> &'static str {
        match self {
            ExceptionKind::MissingInSalesforce => "missing_in_salesforce",
            ExceptionKind::MissingInSap => "missing_in_sap",
            ExceptionKind::AmountDrift => "amount_drift",
            ExceptionKind::StatusDrift => "status_drift",
            ExceptionKind::FieldDrift => "field_drift",
            ExceptionKind::DuplicateInSap => "duplicate_in_sap",
        }
    }

    /// A short human label (`missing in Salesforce`).
    pub fn label(self) -> &'static str {
        match self {
            ExceptionKind::MissingInSalesforce => "missing in Salesforce",
            ExceptionKind::MissingInSap => "missing in SAP",
            ExceptionKind::AmountDrift => "amount drift",
            ExceptionKind::StatusDrift => "status drift",
            ExceptionKind::FieldDrift => "field drift",
            ExceptionKind::DuplicateInSap => "duplicate in SAP",
        }
    }
}

/// Counts and sums of one entity on both sides, for the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// The SAP entity set compared (`Invoices`, `CreditNotes`, `BusinessPartners`, `Items`), or a
    /// document field compared in sum (`Invoices.PaidToDate`: what payments did, per document).
    pub entity: String,
    /// The Salesforce object it maps to (`SAP_Invoice__c`, `Account`, `Product2`).
    pub salesforce_object: String,
    pub sap_count: u64,
    pub salesforce_count: u64,
    /// Sum of the document totals (documents only; `None` for master data).
    pub sap_amount: Option<f64>,
    pub salesforce_amount: Option<f64>,
}

/// One difference, with where to look on each side and how a repair would fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconException {
    pub kind: ExceptionKind,
    /// The SAP entity set (`Invoices`, `BusinessPartners`, `Items`).
    pub entity: String,
    /// The record's SAP key (`DocEntry`, `CardCode`, `ItemCode`) as text.
    pub sap_key: String,
    /// The Salesforce record id, when Salesforce has the record.
    pub salesforce_id: Option<String>,
    /// The differing field (Salesforce API name), for drifts.
    pub field: Option<String>,
    pub sap_value: Option<String>,
    pub salesforce_value: Option<String>,
    /// A link to the SAP record (Service Layer URL), when SAP has it.
    pub sap_link: Option<String>,
    /// A link to the Salesforce record (Lightning record page), when Salesforce has it.
    pub salesforce_link: Option<String>,
    /// The record key a repair re-enqueues (`sap:Invoices:123` → to-salesforce, `sf:Account:001…`
    /// → to-sap), or `None` when only a person can fix it (the reason is in `note`).
    pub repair: Option<String>,
    pub note: Option<String>,
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairSummary {
    /// Notifications sent to `to-salesforce.fifo`.
    pub to_salesforce: u64,
    /// Notifications sent to `to-sap.fifo`.
    pub to_sap: u64,
    /// Exceptions a repair cannot fix (no `repair` key).
    pub manual: u64,
}

/// One reconciliation run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconReport {
    /// Unique per run; also names the report's S3 keys / files.
    pub run_id: String,
    /// When the run finished, RFC 3339 UTC.
    pub generated_at: String,
    pub period: Period,
    /// One entry per entity compared.
    pub totals: Vec<Totals>,
    /// Every difference, sorted by entity, kind, SAP key.
    pub exceptions: Vec<ReconException>,
    /// Present when the run repaired.
    pub repair: Option<RepairSummary>,
    /// API calls the run made: SAP reads, Salesforce queries (bulk pages, never per record).
    pub sap_calls: u64,
    pub salesforce_calls: u64,
}
