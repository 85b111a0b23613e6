//! The SAP entity sets the pollers read, and how each one's changes are found (pure).

use crate::domain::Record;
use crate::domain::state::Watermark;
use crate::error::{Error, Result};
use serde_json::Value;

/// Every entity a schedule may name, in the order a full sync polls them (parents first).
pub const POLLED_ENTITIES: [&str; 10] = [
    "BusinessPartners",
    "Items",
    "Stock",
    "PriceLists",
    "Quotations",
    "Orders",
    "DeliveryNotes",
    "Invoices",
    "CreditNotes",
    "IncomingPayments",
];

/// Which SAP rows a flow syncs (`sap_filter` in the mapping file): each property's allowed values,
/// any of them; every property together. Empty: every row. The pollers send it in `$filter`; the
/// writers check the rows they read by key (webhooks, replays, resyncs) with [`RowFilter::admits`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    pub only: Vec<(String, Vec<String>)>,
}

impl RowFilter {
    pub fn is_empty(&self) -> bool {
        self.only.is_empty()
    }

    /// Whether `row` has, for each filtered property, one of its allowed values. A row that lacks a
    /// filtered property is not admitted (the reader must `$select` it: [`RowFilter::properties`]).
    pub fn admits(&self, row: &Record) -> bool {
        self.only.iter().all(|(property, allowed)| {
            let value = match row.get(property) {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => return false,
            };
            allowed.contains(&value)
        })
    }

    /// The filtered properties, for a `$select`.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.only.iter().map(|(property, _)| property.as_str())
    }

    /// `CardType in [cCustomer, cLid]`, for messages and audit entries.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.only.iter().map(|(property, allowed)| format!("{property} in [{}]", allowed.join(", "))).collect();
        parts.join(" and ")
    }
}

/// How an entity's changes are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// `UpdateDate` + `UpdateTime`, then the key.
    UpdateStamp,
    /// No update stamp (IncomingPayments): a DocEntry high-water mark; edits of old rows go unseen.
    DocEntry,
    /// Nothing marks the change at all (stock moves and price list updates leave the item's
    /// UpdateDate alone): every run reads all rows in key order and enqueues those whose content
    /// differs from what the previous scan saw (a digest per row in the sync state).
    Scan,
}

/// One pollable SAP entity set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySpec {
    /// What a schedule names, e.g. `BusinessPartners`, `Stock`.
    pub name: &'static str,
    /// The Service Layer entity set read, and the object its notifications name (`Items` for `Stock`).
    pub entity_set: &'static str,
    /// The key property: `CardCode`, `ItemCode` or `DocEntry`.
    pub key: &'static str,
    /// Whether the key is the integer DocEntry.
    pub doc_entry_key: bool,
    pub tracking: Tracking,
    /// Properties read and digested besides the key and the update stamp.
    pub fields: &'static [&'static str],
}

const BP_FIELDS: &[&str] = &[
    "CardName",
    "CardType",
    "Currency",
    "CreditLimit",
    "CurrentAccountBalance",
    "OpenOrdersBalance",
    "EmailAddress",
    "Phone1",
    "Valid",
    "Frozen",
    "BPAddresses",
    "ContactEmployees",
];
const ITEM_FIELDS: &[&str] = &["ItemName", "Valid", "Frozen", "SalesUnit", "QuantityOnStock", "ItemPrices"];
const DOCUMENT_FIELDS: &[&str] =
    &["DocNum", "CardCode", "DocDate", "DocDueDate", "DocTotal", "PaidToDate", "DocumentStatus", "Cancelled"];
const PAYMENT_FIELDS: &[&str] = &["DocNum", "CardCode", "DocDate", "CashSum", "TransferSum", "Cancelled"];
const STOCK_FIELDS: &[&str] = &["QuantityOnStock"];
const PRICE_FIELDS: &[&str] = &["ItemPrices"];

impl EntitySpec {
    /// The spec of a pollable entity set; `Error::Invalid` names the ones there are.
    pub fn named(entity: &str) -> Result<EntitySpec> {
        let document = |name| EntitySpec {
            name,
            entity_set: name,
            key: "DocEntry",
            doc_entry_key: true,
            tracking: Tracking::UpdateStamp,
            fields: DOCUMENT_FIELDS,
        };
        Ok(match entity {
            "BusinessPartners" => EntitySpec {
                name: "BusinessPartners",
                entity_set: "BusinessPartners",
                key: "CardCode",
                doc_entry_key: false,
                tracking: Tracking::UpdateStamp,
                fields: BP_FIELDS,
            },
            "Items" => EntitySpec {
                name: "Items",
                entity_set: "Items",
                key: "ItemCode",
                doc_entry_key: false,
                tracking: Tracking::UpdateStamp,
                fields: ITEM_FIELDS,
            },
            "Quotations" => document("Quotations"),
            "Orders" => document("Orders"),
            "DeliveryNotes" => document("DeliveryNotes"),
            "Invoices" => document("Invoices"),
            "CreditNotes" => document("CreditNotes"),
            "Stock" | "PriceLists" => EntitySpec {
                name: if entity == "Stock" { "Stock" } else { "PriceLists" },
                entity_set: "Items",
                key: "ItemCode",
                doc_entry_key: false,
                tracking: Tracking::Scan,
                fields: if entity == "Stock" { STOCK_FIELDS } else { PRICE_FIELDS },
            },
            "IncomingPayments" => EntitySpec {
                name: "IncomingPayments",
                entity_set: "IncomingPayments",
                key: "DocEntry",
                doc_entry_key: true,
                tracking: Tracking::DocEntry,
                fields: PAYMENT_FIELDS,
            },
            other => {
                return Err(Error::Invalid(format!(
                    "{:?} is not a polled entity; expected BusinessPartners, Items, Quotations, Orders, DeliveryNotes, Invoices, CreditNotes, IncomingPayments, Stock or PriceLists",
                    other.chars().take(40).collect::<String>()
                )));
            }
        })
    }

    /// Where a row sits in the paging order, as a watermark; `Error::Invalid` when the row lacks its
    /// key or carries a malformed stamp. A missing or null UpdateTime becomes an empty time, which
    /// sorts first in its day, as the Service Layer orders nulls.
    pub fn position(&self, row: &Record) -> Result<Watermark> {
        let missing = |what: &str| Error::Invalid(format!("a {} row has no usable {what}", self.name));
        let key = match row.get(self.key) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) if n.is_i64() => n.to_string(),
            _ => return Err(missing(self.key)),
        };
        let doc_entry =
            if self.doc_entry_key { Some(key.parse::<i64>().map_err(|_| missing(self.key))?) } else { None };
        let (date, time) = match self.tracking {
            Tracking::DocEntry | Tracking::Scan => (String::new(), String::new()),
            Tracking::UpdateStamp => {
                let date = row.get("UpdateDate").and_then(Value::as_str).and_then(|d| d.get(..10));
                let date = date.ok_or_else(|| missing("UpdateDate"))?.to_string();
                let time = row.get("UpdateTime").and_then(Value::as_str).unwrap_or_default().to_string();
                (date, time)
            }
        };
        let position = Watermark { date, time, key, doc_entry };
        position.sort_key()?;
        Ok(position)
    }
}

/// Where a read of changes starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// At or after this date and time, plus the rows of that date without an UpdateTime (the first page).
    /// An empty time means the whole day. For [`Tracking::DocEntry`], after the DocEntry.
    Since(Watermark),
    /// Strictly after this row in the paging order (every later page).
    After(Watermark),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_filter_admits_rows_with_an_allowed_value_of_every_property_and_refuses_rows_without_one() {
        let filter = RowFilter {
            only: vec![
                ("CardType".into(), vec!["cCustomer".into(), "cLid".into()]),
                ("Valid".into(), vec!["tYES".into()]),
            ],
        };
        let row = |value: Value| value.as_object().unwrap().clone();
        assert!(filter.admits(&row(serde_json::json!({"CardType": "cLid", "Valid": "tYES"}))));
        assert!(!filter.admits(&row(serde_json::json!({"CardType": "cSupplier", "Valid": "tYES"}))));
        assert!(!filter.admits(&row(serde_json::json!({"CardType": "cCustomer", "Valid": "tNO"}))));
        assert!(!filter.admits(&row(serde_json::json!({"CardType": "cCustomer"}))), "unread is not admitted");
        assert!(RowFilter::default().admits(&row(serde_json::json!({}))));
        assert_eq!(filter.describe(), "CardType in [cCustomer, cLid] and Valid in [tYES]");
    }
}
