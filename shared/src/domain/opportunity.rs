//! F1 domain: what the sap-writer reads from Salesforce and writes to SAP.

use super::{CardCode, ItemCode, SalesforceId};

/// The current state of an opportunity with what F1 needs, read in one SOQL call.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunitySnapshot {
    pub id: SalesforceId,
    pub name: String,
    pub stage_name: String,
    pub is_won: bool,
    pub close_date: Option<String>,
    pub currency: Option<String>,
    pub account_id: Option<SalesforceId>,
    pub account_name: Option<String>,
    /// The account's `SAP_CardCode__c`, as stored (validated when used).
    pub account_card_code: Option<String>,
    /// Already written back by an earlier run.
    pub sap_doc_entry: Option<i64>,
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
    pub description: Option<String>,
}

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
    pub currency: Option<String>,
    pub comments: String,
    pub lines: Vec<SalesOrderLine>,
}

/// A sales order line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SalesOrderLine {
    pub item_code: ItemCode,
    pub quantity: f64,
    pub unit_price: f64,
    pub description: Option<String>,
}

/// An SAP order that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderRef {
    pub doc_entry: i64,
    pub doc_num: i64,
}
