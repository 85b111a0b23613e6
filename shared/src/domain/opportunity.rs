//! F1 domain: what the sap-writer reads from Salesforce and writes to SAP.

use super::{CardCode, ItemCode, Record, SalesforceId};

/// The current state of an opportunity with what F1 needs, read in one SOQL call.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunitySnapshot {
    pub id: SalesforceId,
    pub name: String,
    pub stage_name: String,
    pub is_won: bool,
    pub close_date: Option<String>,
    /// The roll-up of the lines' TotalPrice, in the opportunity's currency.
    pub amount: Option<f64>,
    pub account_id: Option<SalesforceId>,
    pub account_name: Option<String>,
    /// The account's `SAP_CardCode__c`, as stored (validated when used).
    pub account_card_code: Option<String>,
    /// The opportunity fields the F1 mapping names, as Salesforce returned them (e.g. `SAP_DocEntry__c`).
    pub fields: Record,
    pub lines: Vec<OpportunityLine>,
}

/// One OpportunityLineItem.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunityLine {
    pub product_code: Option<String>,
    /// `Product2.SAP_ItemCode__c` when present.
    pub sap_item_code: Option<String>,
    pub quantity: f64,
    pub unit_price: f64,
    /// Quantity × UnitPrice less the line's Discount, as Salesforce computed it.
    pub total_price: Option<f64>,
    /// The line fields the F1 mapping names, as Salesforce returned them (e.g. `Discount`, `ServiceDate`).
    pub fields: Record,
}

/// A Salesforce Quote with what the quote flow needs (F1 option `quote_statuses`), read in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteSnapshot {
    pub id: SalesforceId,
    pub name: String,
    pub quote_number: Option<String>,
    /// The Quote `Status` picklist value (Draft, Approved, Presented, Accepted, ...).
    pub status: String,
    /// The opportunity's synced quote (`Opportunity.SyncedQuoteId`): the one whose lines it mirrors.
    pub is_syncing: bool,
    pub opportunity_id: Option<SalesforceId>,
    pub expiration_date: Option<String>,
    /// The lines' TotalPrice summed: after line discounts, before tax and shipping.
    pub total_price: Option<f64>,
    pub account_id: Option<SalesforceId>,
    pub account_name: Option<String>,
    pub account_card_code: Option<String>,
    /// `SAP_Quotation_DocEntry__c`: the SAP sales quotation made from it, once written back.
    pub quotation: Option<i64>,
    pub lines: Vec<OpportunityLine>,
}

/// Where a quote's SAP sales quotation is written back (its DocEntry).
pub const QUOTE_DOC_ENTRY: &str = "SAP_Quotation_DocEntry__c";
/// The quotation's document number, for people.
pub const QUOTE_DOC_NUM: &str = "SAP_Quotation_DocNum__c";

/// A sales quotation as it stands in SAP, with the open lines a sales order can be copied from.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotationState {
    pub quotation: OrderRef,
    pub card_code: String,
    /// The total before tax in the quotation's currency ([`order_net_total`]).
    pub net_total: Option<f64>,
    pub cancelled: bool,
    /// Open and not cancelled: lines can still be copied from it.
    pub open: bool,
    pub lines: Vec<QuotationLine>,
}

/// One quotation line still open for copying.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotationLine {
    pub line_num: i64,
    pub item_code: String,
    pub open_quantity: f64,
}

/// The SAP object type of sales quotations, a copied line's `BaseType`.
pub const QUOTATION_OBJECT_TYPE: i64 = 23;

/// A business partner to create for an account without a CardCode.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewBusinessPartner {
    pub card_code: CardCode,
    pub card_name: String,
    pub salesforce_account_id: SalesforceId,
}

/// A sales order to create.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewSalesOrder {
    pub card_code: CardCode,
    pub opportunity_id: SalesforceId,
    pub doc_date: String,
    pub doc_due_date: String,
    pub comments: String,
    /// Further header properties from the F1 mapping (SAP name → value); the fields above win.
    pub mapped: Record,
    pub lines: Vec<SalesOrderLine>,
}

/// A sales order line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SalesOrderLine {
    pub item_code: ItemCode,
    pub quantity: f64,
    pub unit_price: f64,
    /// Further line properties from the F1 mapping (e.g. `DiscountPercent`, `ShipDate`); the fields above win.
    pub mapped: Record,
}

/// An SAP order that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderRef {
    pub doc_entry: i64,
    pub doc_num: i64,
}

/// What SAP holds for an opportunity: its sales order, or, on a company with an approval procedure
/// on sales orders, the draft `POST /Orders` saved instead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SapOrderFor {
    /// The order and its total before tax in the document's currency (`DocTotalFc − VatSumFc` on a
    /// foreign-currency order, else `DocTotal − VatSum`), when SAP reported them.
    Order {
        order: OrderRef,
        net_total: Option<f64>,
    },
    Draft(OrderDraft),
}

/// An order F1 made, as it stands when the deal has changed since.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderState {
    pub order: OrderRef,
    /// The total before tax in the order's currency ([`order_net_total`]).
    pub net_total: Option<f64>,
    pub cancelled: bool,
    /// `DocumentStatus` open (and not cancelled).
    pub open: bool,
    /// Some quantity was copied into a delivery or an invoice (a line's open quantity fell).
    pub fulfilled_in_part: bool,
}

/// An order's total before tax in its own currency: `DocTotalFc − VatSumFc` when the order is in a
/// foreign currency (`DocTotalFc` is 0 on a local-currency order), else `DocTotal − VatSum`
/// (reference §4: `DocTotal`/`VatSum` are local currency). `None` without the totals.
pub fn order_net_total(row: &Record) -> Option<f64> {
    let amount = |field: &str| row.get(field).and_then(serde_json::Value::as_f64);
    let rounded = |x: f64| (x * 100.0).round() / 100.0;
    match amount("DocTotalFc") {
        Some(foreign) if foreign != 0.0 => Some(rounded(foreign - amount("VatSumFc").unwrap_or(0.0))),
        _ => amount("DocTotal").map(|local| rounded(local - amount("VatSum").unwrap_or(0.0))),
    }
}

/// What F1 and F8 read of an order to know its net total.
pub const ORDER_TOTAL_FIELDS: [&str; 4] = ["DocTotal", "VatSum", "DocTotalFc", "VatSumFc"];

/// A sales-order draft awaiting (or refused) approval; its DocEntry is in the drafts' numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderDraft {
    pub doc_entry: i64,
    pub rejected: bool,
}

/// What F1 tells the opportunity: its SAP order (`Synced`) or why there is none (`Failed`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderWriteBack {
    pub order: Option<OrderRef>,
    /// `Synced`, `Failed` or `Pending approval`.
    pub status: &'static str,
    pub error: Option<String>,
}
