//! Marketing documents (Orders, DeliveryNotes, Invoices, CreditNotes) and IncomingPayments, with
//! what they do to each other: base-document links consume open quantities and close their source,
//! payments and credit notes raise an invoice's PaidToDate and close it when fully paid, and the
//! figures B1 computes (CurrentAccountBalance, OpenOrdersBalance, Committed, InStock) follow. Pure.
//!
//! Error texts marked "sandbox wording" are ours; the reference documents only their codes.

use super::entities::{EntitySet, Key, PAYMENT_INVOICE_FIELDS, SapError, Stamp};
use super::pricing;
use super::store::{Store, as_v2_date, number, round2, touch, with_defaults};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Amounts below a cent are rounding noise.
const CENT: f64 = 0.005;
const OPEN: &str = "bost_Open";
const CLOSED: &str = "bost_Close";

/// One target line's claim on a base document line.
#[derive(Debug, Clone, PartialEq)]
struct BaseLink {
    set: EntitySet,
    doc_entry: i64,
    line: i64,
    quantity: f64,
    amount: f64,
}

fn is_open(doc: &Value) -> bool {
    doc["DocumentStatus"] == OPEN && doc["Cancelled"] != "tYES"
}

fn closed_base() -> SapError {
    SapError::new(400, "-5002", "One of the base documents has already been closed")
}

/// The sets a document's lines may copy from.
fn allowed_bases(set: EntitySet) -> &'static [EntitySet] {
    match set {
        EntitySet::Orders => &[EntitySet::Quotations],
        EntitySet::DeliveryNotes => &[EntitySet::Orders],
        EntitySet::Invoices => &[EntitySet::Orders, EntitySet::DeliveryNotes],
        EntitySet::CreditNotes => &[EntitySet::Invoices],
        _ => &[],
    }
}

fn lines(row: &Value) -> impl Iterator<Item = &Value> {
    row["DocumentLines"].as_array().into_iter().flatten()
}

fn qty(line: &Value, field: &str) -> f64 {
    line[field].as_f64().unwrap_or(0.0)
}

/// The value still open on a document, in local currency: Σ Price × RemainingOpenQuantity of its
/// open lines at the document's rate.
fn open_value(doc: &Value) -> f64 {
    let rate = doc["DocRate"].as_f64().filter(|r| *r > 0.0).unwrap_or(1.0);
    lines(doc)
        .filter(|l| l["LineStatus"] == OPEN)
        .map(|l| qty(l, "Price") * qty(l, "RemainingOpenQuantity"))
        .sum::<f64>()
        * rate
}

/// CashSum + TransferSum + checks + credit cards, in local currency (a payment's means are in its
/// own currency, `DocCurrency`).
pub(super) fn payment_total(payment: &Value) -> f64 {
    let sum_of = |collection: &str, field: &str| -> f64 {
        payment[collection].as_array().into_iter().flatten().map(|m| qty(m, field)).sum()
    };
    let means = qty(payment, "CashSum")
        + qty(payment, "TransferSum")
        + sum_of("PaymentChecks", "CheckSum")
        + sum_of("PaymentCreditCards", "CreditSum");
    let rate = payment["DocCurrency"].as_str().and_then(pricing::rate_to_local).unwrap_or(1.0);
    round2(means * rate)
}

impl Store {
    /// The document's partner, found as B1 compares keys (case-insensitively); the document keeps the
    /// partner's own spelling of the code, so `c20000` posts to and is listed under `C20000` [U].
    fn business_partner_for(&self, set: EntitySet, body: &mut Map<String, Value>) -> Result<Value, SapError> {
        let card_code = body.get("CardCode").and_then(Value::as_str).unwrap_or_default();
        let bp = self.get(EntitySet::BusinessPartners, &Key::Text(card_code.to_string())).cloned().map_err(|_| {
            SapError::new(400, "-10", format!("Invalid BP code [{}.CardCode] , '{card_code}'", set.table()))
        })?;
        body.insert("CardCode".into(), bp["CardCode"].clone());
        Ok(bp)
    }

    /// A document copied from a base document keeps the base's currency and rate unless it names its
    /// own (B1 copies the header of the base document to the target).
    fn inherit_currency(&self, body: &mut Map<String, Value>) {
        if body.get("DocCurrency").is_some_and(|c| !c.is_null()) {
            return;
        }
        let first = body.get("DocumentLines").and_then(|l| l.get(0));
        let base = first.and_then(|l| {
            let set = EntitySet::from_object_type(l.get("BaseType")?.as_i64()?)?;
            self.get(set, &Key::Int(l.get("BaseEntry")?.as_i64()?)).ok()
        });
        if let Some(base) = base {
            body.insert("DocCurrency".into(), base["DocCurrency"].clone());
            body.entry("DocRate").or_insert(base["DocRate"].clone());
        }
    }

    /// Creates a document, then applies what it does to its base documents, stock and balances.
    pub(super) fn create_document(
        &mut self,
        set: EntitySet,
        body: Map<String, Value>,
        now: &Stamp,
    ) -> Result<Value, SapError> {
        let (row, links) = self.new_document(set, set, body, now)?;
        let credited = self.credit_against_invoices(&row, &links);
        let mut row = row;
        if credited > 0.0 {
            row["PaidToDate"] = json!(round2(credited));
            if credited >= qty(&row, "DocTotal") - CENT {
                row["DocumentStatus"] = json!(CLOSED);
            }
        }
        self.insert(set, row.clone());
        self.consume_bases(&links, &row, now);
        self.move_stock(set, &row);
        self.refresh_derived(&row);
        Ok(row)
    }

    /// A sales order under an approval procedure: validated as an order, stored as a pending
    /// draft (`Drafts`, numbered in the drafts series, `DocObjectCode` oOrders), with no effect on
    /// stock or balances until it is approved (SAP B1: a document that needs approval is saved as a
    /// draft; REF 1.27 `POST Orders`).
    pub(super) fn create_order_draft(&mut self, body: Map<String, Value>, now: &Stamp) -> Result<Value, SapError> {
        let (mut row, _) = self.new_document(EntitySet::Orders, EntitySet::Drafts, body, now)?;
        row["AuthorizationStatus"] = json!("dasPending");
        self.insert(EntitySet::Drafts, row.clone());
        Ok(row)
    }

    /// The approver accepts a pending order draft: the order is created from it (its UDFs, NumAtCard
    /// and lines copied) and the draft is closed as `dasGenerated`. Returns the order.
    pub(super) fn approve_order_draft(&mut self, draft_entry: i64, now: &Stamp) -> Result<Value, SapError> {
        let draft = self.pending_draft(draft_entry)?;
        let mut body: Map<String, Value> = draft.as_object().cloned().unwrap_or_default();
        for drafts_own in ["DocEntry", "DocNum", "DocObjectCode", "AuthorizationStatus", "DataVersion"] {
            body.remove(drafts_own);
        }
        let lines: Vec<Value> = lines(&draft)
            .map(|l| {
                let keep = [
                    "ItemCode",
                    "ItemDescription",
                    "Quantity",
                    "UnitPrice",
                    "DiscountPercent",
                    "ShipDate",
                    "TaxCode",
                    "WarehouseCode",
                    "UoMCode",
                    "U_SF_LineItemId",
                ];
                Value::Object(keep.iter().filter_map(|k| l.get(*k).map(|v| (k.to_string(), v.clone()))).collect())
            })
            .collect();
        body.insert("DocumentLines".into(), Value::Array(lines));
        let order = self.create_document(EntitySet::Orders, body, now)?;
        self.set_draft_status(draft_entry, "dasGenerated", now);
        Ok(order)
    }

    /// The approver rejects a pending order draft.
    pub(super) fn reject_order_draft(&mut self, draft_entry: i64, now: &Stamp) -> Result<(), SapError> {
        self.pending_draft(draft_entry)?;
        self.set_draft_status(draft_entry, "dasRejected", now);
        Ok(())
    }

    fn pending_draft(&self, draft_entry: i64) -> Result<Value, SapError> {
        let draft = self.get(EntitySet::Drafts, &Key::Int(draft_entry))?.clone();
        if draft["AuthorizationStatus"] != "dasPending" {
            return Err(SapError::bad_request(format!(
                "Draft {draft_entry} is not pending approval (sandbox wording)"
            )));
        }
        Ok(draft)
    }

    fn set_draft_status(&mut self, draft_entry: i64, status: &str, now: &Stamp) {
        let Ok(mut draft) = self.get(EntitySet::Drafts, &Key::Int(draft_entry)).cloned() else { return };
        draft["AuthorizationStatus"] = json!(status);
        if status == "dasGenerated" {
            draft["DocumentStatus"] = json!(CLOSED);
        }
        touch(&mut draft, now);
        self.insert(EntitySet::Drafts, draft);
    }

    /// A validated, priced document of `set` numbered in `series`'s numbering, not yet stored, with
    /// the base lines it claims.
    fn new_document(
        &mut self,
        set: EntitySet,
        series: EntitySet,
        mut body: Map<String, Value>,
        now: &Stamp,
    ) -> Result<(Value, Vec<BaseLink>), SapError> {
        let bp = self.business_partner_for(set, &mut body)?;
        self.inherit_currency(&mut body);
        let (currency, rate) = pricing::document_currency(&body, &bp, set.table())?;
        if set == EntitySet::Orders && body.get("DocDueDate").and_then(Value::as_str).is_none() {
            return Err(SapError::new(400, "-5002", "Enter a delivery date [ORDR.DocDueDate]"));
        }
        let lines = match body.remove("DocumentLines") {
            Some(Value::Array(lines)) if !lines.is_empty() => lines,
            _ => return Err(SapError::new(400, "-5002", "Document must contain at least one row [DocumentLines]")),
        };
        let mut stored_lines = Vec::with_capacity(lines.len());
        let mut links: Vec<BaseLink> = Vec::new();
        for (index, line) in lines.into_iter().enumerate() {
            let (line, link) = self.new_line(set, line, index, &bp, &links)?;
            stored_lines.push(line);
            links.extend(link.map(|link| BaseLink { amount: round2(link.amount * rate), ..link }));
        }
        for server_assigned in ["DocEntry", "DocNum", "PaidToDate", "DocTotal", "DocumentStatus"] {
            body.remove(server_assigned);
        }
        let doc_date = body.get("DocDate").and_then(Value::as_str).map(as_v2_date).unwrap_or_else(|| now.date.clone());
        // Invoices default to the customer's payment terms, modelled as net 30; other documents to DocDate.
        let due_days = if set == EntitySet::Invoices { 30 } else { 0 };
        let (doc_entry, doc_num) = self.take_numbers(series);
        let defaults = json!({
            "DocEntry": doc_entry,
            "DocNum": doc_num,
            "DocType": "dDocument_Items",
            "DocObjectCode": set.object_code(),
            "Series": 1,
            "CardName": bp["CardName"],
            "DocDate": doc_date,
            "DocDueDate": add_days(&doc_date, due_days),
            "TaxDate": doc_date,
            "DiscountPercent": 0.0,
            "PaidToDate": 0.0,
            "NumAtCard": null,
            "Comments": null,
            "U_SF_OpportunityId": null,
            "U_SF_QuoteId": null,
            "DocumentStatus": OPEN,
            "Cancelled": "tNO",
            "CancelStatus": "csNo",
            "AuthorizationStatus": "dasWithout",
            "CreationDate": now.date,
            "DocTime": now.time,
        });
        let mut row = with_defaults(set, body, defaults, now);
        for date_field in ["DocDate", "DocDueDate", "TaxDate"] {
            if let Some(Value::String(d)) = row.get(date_field) {
                row[date_field] = Value::String(as_v2_date(d));
            }
        }
        row["DocCurrency"] = json!(currency);
        row["DocRate"] = json!(rate);
        row["DocumentLines"] = Value::Array(stored_lines);
        pricing::price_document(&mut row);
        Ok((row, links))
    }

    /// A PATCH of a document's `DocumentLines`: a line without `LineNum` is new and is validated and
    /// priced as on create (item, list price, discount, warehouse, open quantity), numbered after the
    /// lines the document ever had; a line that was copied into a target document (some quantity
    /// delivered or invoiced) cannot be left out under `B1S-ReplaceCollectionsOnPatch` [wording U].
    /// Copying from a base document is only possible on create.
    pub(super) fn prepare_patched_lines(
        &self,
        set: EntitySet,
        current: &Value,
        body: &mut Map<String, Value>,
        replace: bool,
    ) -> Result<(), SapError> {
        let Some(Value::Array(lines)) = body.get_mut("DocumentLines") else { return Ok(()) };
        let existing: Vec<&Value> = super::documents::lines(current).collect();
        if replace {
            let kept: Vec<i64> = lines.iter().filter_map(|l| l.get("LineNum").and_then(Value::as_i64)).collect();
            let copied = existing.iter().find(|l| {
                !kept.contains(&l["LineNum"].as_i64().unwrap_or(-1))
                    && qty(l, "RemainingOpenQuantity") < qty(l, "Quantity") - CENT
            });
            if let Some(line) = copied {
                return Err(SapError::new(
                    400,
                    "-5002",
                    format!("Cannot remove row {} that was copied to a target document", line["LineNum"]),
                ));
            }
        }
        let bp =
            self.get(EntitySet::BusinessPartners, &Key::Text(current["CardCode"].as_str().unwrap_or_default().into()))?;
        let mut next = existing.iter().filter_map(|l| l["LineNum"].as_i64()).max().map_or(0, |n| n + 1);
        for (index, line) in lines.iter_mut().enumerate() {
            if line.get("LineNum").is_some_and(|n| !n.is_null()) {
                continue;
            }
            if line.get("BaseType").and_then(Value::as_i64).is_some_and(|t| t != -1) {
                return Err(SapError::new(
                    400,
                    "-5002",
                    "Rows can be copied from a base document only when the document is added",
                ));
            }
            let (mut prepared, _) = self.new_line(set, line.take(), index, bp, &[])?;
            prepared["LineNum"] = json!(next);
            next += 1;
            *line = prepared;
        }
        Ok(())
    }

    /// Validates one line, fills what it copies from its base line, prices it.
    fn new_line(
        &self,
        set: EntitySet,
        line: Value,
        index: usize,
        bp: &Value,
        earlier: &[BaseLink],
    ) -> Result<(Value, Option<BaseLink>), SapError> {
        let mut line = super::collections::Collection::DocumentLines.validate(line)?;
        let base = self.base_line(set, &mut line, index, bp, earlier)?;
        let item_code = line.get("ItemCode").and_then(Value::as_str).unwrap_or_default().to_string();
        let Ok(item) = self.get(EntitySet::Items, &Key::Text(item_code)) else {
            return Err(SapError::new(
                400,
                "-10",
                format!("Item number is missing or invalid [DocumentLines.ItemCode][line: {}]", index + 1),
            ));
        };
        let quantity = number(&line, "Quantity")?.unwrap_or(1.0);
        let list_price = item["ItemPrices"][0]["Price"].as_f64().unwrap_or(0.0);
        let unit_price = number(&line, "UnitPrice")?.unwrap_or(list_price);
        // UnitPrice is before the line discount, Price after it (reference §4, DocumentLines); the
        // line total and so DocTotal follow the discounted price.
        let discount = number(&line, "DiscountPercent")?.unwrap_or(0.0);
        let price = round2(unit_price * (1.0 - discount / 100.0));
        if line.get("ItemDescription").is_none_or(Value::is_null) {
            line.insert("ItemDescription".into(), item["ItemName"].clone());
        }
        // A line's delivery date (reference §4, DocumentLines `ShipDate`) is a date like DocDueDate:
        // posted as `YYYY-MM-DD`, returned by v2 as `YYYY-MM-DDT00:00:00Z` (reference §3).
        if let Some(Value::String(ship_date)) = line.get("ShipDate") {
            let normalized = as_v2_date(ship_date);
            line.insert("ShipDate".into(), json!(normalized));
        }
        line.insert("LineNum".into(), json!(index));
        line.insert("Quantity".into(), json!(quantity));
        line.insert("UnitPrice".into(), json!(unit_price));
        line.insert("DiscountPercent".into(), json!(discount));
        line.insert("Price".into(), json!(price));
        line.entry("WarehouseCode").or_insert(json!("01"));
        pricing::check_line(&mut line, item, quantity, index + 1)?;
        line.insert("LineStatus".into(), json!(OPEN));
        line.insert("RemainingOpenQuantity".into(), json!(quantity));
        if base.is_none() {
            line.insert("BaseType".into(), json!(-1));
            line.insert("BaseEntry".into(), Value::Null);
            line.insert("BaseLine".into(), Value::Null);
        }
        let link = base.map(|(set, doc_entry, base_line)| BaseLink {
            set,
            doc_entry,
            line: base_line,
            quantity,
            amount: round2(price * quantity),
        });
        Ok((Value::Object(line), link))
    }

    /// Resolves `BaseType`/`BaseEntry`/`BaseLine`; copies ItemCode, price and open quantity when omitted.
    fn base_line(
        &self,
        set: EntitySet,
        line: &mut Map<String, Value>,
        index: usize,
        bp: &Value,
        earlier: &[BaseLink],
    ) -> Result<Option<(EntitySet, i64, i64)>, SapError> {
        let base_type = line.get("BaseType").and_then(Value::as_i64).filter(|t| *t != -1);
        let Some(base_type) = base_type else {
            return Ok(None);
        };
        let at = |what: &str| format!("[DocumentLines.{what}][line: {}]", index + 1);
        let base_set =
            EntitySet::from_object_type(base_type).filter(|s| allowed_bases(set).contains(s)).ok_or_else(|| {
                // Sandbox wording.
                SapError::new(
                    400,
                    "-5002",
                    format!("Base document type {base_type} cannot be copied here {}", at("BaseType")),
                )
            })?;
        let (Some(entry), Some(line_num)) =
            (line.get("BaseEntry").and_then(Value::as_i64), line.get("BaseLine").and_then(Value::as_i64))
        else {
            return Err(SapError::new(400, "-5002", format!("Base document and row are required {}", at("BaseEntry"))));
        };
        let base = self
            .get(base_set, &Key::Int(entry))
            .map_err(|_| SapError::new(400, "-2028", "No matching records found (ODBC -2028)"))?;
        if base["CardCode"] != bp["CardCode"] {
            return Err(SapError::new(400, "-10", "Base document card and target document card do not match."));
        }
        if !is_open(base) {
            return Err(closed_base());
        }
        let source = lines(base).find(|l| l["LineNum"].as_i64() == Some(line_num)).ok_or_else(|| {
            SapError::new(400, "-2028", format!("No matching records found (ODBC -2028) {}", at("BaseLine")))
        })?;
        if source["LineStatus"] != OPEN {
            return Err(closed_base());
        }
        let already: f64 = earlier
            .iter()
            .filter(|l| l.set == base_set && l.doc_entry == entry && l.line == line_num)
            .map(|l| l.quantity)
            .sum();
        let open = qty(source, "RemainingOpenQuantity") - already;
        match line.get("ItemCode").and_then(Value::as_str) {
            Some(code) if Some(code) != source["ItemCode"].as_str() => {
                // Sandbox wording.
                return Err(SapError::new(
                    400,
                    "-5002",
                    format!("Item differs from the base document row {}", at("ItemCode")),
                ));
            }
            _ => {
                line.insert("ItemCode".into(), source["ItemCode"].clone());
            }
        }
        for copied in ["UnitPrice", "DiscountPercent", "WarehouseCode", "TaxCode", "UoMCode"] {
            if line.get(copied).is_none_or(Value::is_null) {
                line.insert(copied.into(), source[copied].clone());
            }
        }
        let quantity = number(line, "Quantity")?.unwrap_or(open);
        if quantity <= 0.0 || quantity > open + 1e-9 {
            // Sandbox wording.
            return Err(SapError::new(
                400,
                "-5002",
                format!("Quantity exceeds the open quantity of the base document row {}", at("Quantity")),
            ));
        }
        line.insert("Quantity".into(), json!(quantity));
        Ok(Some((base_set, entry, line_num)))
    }

    /// The amount a credit note applies to its base invoices (each capped at what is still open).
    fn credit_against_invoices(&self, credit_note: &Value, links: &[BaseLink]) -> f64 {
        if credit_note["DocObjectCode"] != EntitySet::CreditNotes.object_code() {
            return 0.0;
        }
        per_document(links, EntitySet::Invoices)
            .into_iter()
            .map(|(entry, amount)| {
                let open = self.get(EntitySet::Invoices, &Key::Int(entry)).map(invoice_open_amount).unwrap_or(0.0);
                amount.min(open)
            })
            .sum()
    }

    /// Lowers the open quantities of the base lines (closing lines and documents that reach zero);
    /// a credit note raises its base invoices' PaidToDate instead.
    fn consume_bases(&mut self, links: &[BaseLink], target: &Value, now: &Stamp) {
        if target["DocObjectCode"] == EntitySet::CreditNotes.object_code() {
            for (entry, amount) in per_document(links, EntitySet::Invoices) {
                self.pay_invoice(entry, amount, Some(now));
            }
            return;
        }
        for link in links {
            let Ok(base) = self.get(link.set, &Key::Int(link.doc_entry)) else {
                continue;
            };
            let mut base = base.clone();
            if let Some(lines) = base["DocumentLines"].as_array_mut() {
                for line in lines.iter_mut().filter(|l| l["LineNum"].as_i64() == Some(link.line)) {
                    let remaining = (qty(line, "RemainingOpenQuantity") - link.quantity).max(0.0);
                    line["RemainingOpenQuantity"] = json!(remaining);
                    if remaining <= 1e-9 {
                        line["LineStatus"] = json!(CLOSED);
                    }
                }
            }
            if lines(&base).all(|l| l["LineStatus"] == CLOSED) {
                base["DocumentStatus"] = json!(CLOSED);
            }
            touch(&mut base, now);
            self.insert(link.set, base);
        }
    }

    /// Adds `amount` (negative to reverse) to an invoice's PaidToDate; closes it when fully paid, reopens it otherwise.
    /// Moves an invoice's PaidToDate (and status). A credit note copied from it stamps it, as copying
    /// does to any base document; a payment does not (`stamp` None): whether B1 stamps an invoice
    /// when a payment is applied to it or cancelled is not documented [U], so the sandbox takes the
    /// strict side and the client must not depend on it (docs/wire-notes.md §7i).
    fn pay_invoice(&mut self, doc_entry: i64, amount: f64, stamp: Option<&Stamp>) {
        let Ok(invoice) = self.get(EntitySet::Invoices, &Key::Int(doc_entry)) else {
            return;
        };
        let mut invoice = invoice.clone();
        let total = qty(&invoice, "DocTotal");
        let paid = round2((qty(&invoice, "PaidToDate") + amount).clamp(0.0, total));
        invoice["PaidToDate"] = json!(paid);
        invoice["DocumentStatus"] = json!(if paid >= total - CENT { CLOSED } else { OPEN });
        if let Some(now) = stamp {
            touch(&mut invoice, now);
        }
        self.insert(EntitySet::Invoices, invoice);
    }

    /// Deliveries take stock out; invoices too unless they copy a delivery; credit notes bring it back.
    fn move_stock(&mut self, set: EntitySet, doc: &Value) {
        let sign = match set {
            EntitySet::DeliveryNotes | EntitySet::Invoices => -1.0,
            EntitySet::CreditNotes => 1.0,
            _ => return,
        };
        let moves: Vec<(String, String, f64)> = lines(doc)
            .filter(|l| {
                !(set == EntitySet::Invoices && l["BaseType"].as_i64() == EntitySet::DeliveryNotes.object_type())
            })
            .map(|l| {
                let item = l["ItemCode"].as_str().unwrap_or_default().to_string();
                let warehouse = l["WarehouseCode"].as_str().unwrap_or("01").to_string();
                (item, warehouse, sign * qty(l, "Quantity"))
            })
            .collect();
        for (item, warehouse, delta) in moves {
            self.with_warehouse(&item, &warehouse, |row| row["InStock"] = json!(qty(row, "InStock") + delta));
        }
    }

    /// A stock posting (goods receipt or issue) of `delta` units in warehouse 01.
    pub(super) fn post_stock(&mut self, item_code: &str, delta: f64) -> Result<(), SapError> {
        self.get(EntitySet::Items, &Key::Text(item_code.to_string()))?;
        self.with_warehouse(item_code, "01", |row| row["InStock"] = json!(qty(row, "InStock") + delta));
        Ok(())
    }

    /// Runs `change` on an item's warehouse row (created when missing) and refreshes the item's totals.
    /// Stock moves leave Items.UpdateDate alone: on B1 they write OITW, not OITM [U].
    fn with_warehouse(&mut self, item_code: &str, warehouse: &str, change: impl FnOnce(&mut Value)) {
        let Ok(item) = self.get(EntitySet::Items, &Key::Text(item_code.to_string())) else {
            return;
        };
        let mut item = item.clone();
        let mut rows = item["ItemWarehouseInfoCollection"].as_array().cloned().unwrap_or_default();
        let at = match rows.iter().position(|w| w["WarehouseCode"] == warehouse) {
            Some(at) => at,
            None => {
                rows.push(json!({"WarehouseCode": warehouse, "InStock": 0.0, "Committed": 0.0, "Ordered": 0.0}));
                rows.len() - 1
            }
        };
        change(&mut rows[at]);
        item["QuantityOnStock"] = json!(rows.iter().map(|w| qty(w, "InStock")).sum::<f64>());
        item["QuantityOrderedByCustomers"] = json!(rows.iter().map(|w| qty(w, "Committed")).sum::<f64>());
        item["ItemWarehouseInfoCollection"] = Value::Array(rows);
        self.insert(EntitySet::Items, item);
    }

    /// Recomputes what a document write changes: its customer's balances and its items' committed stock.
    pub(super) fn refresh_derived(&mut self, doc: &Value) {
        let items: BTreeSet<String> = lines(doc).filter_map(|l| l["ItemCode"].as_str().map(str::to_string)).collect();
        for item in items {
            self.refresh_committed(&item);
        }
        if let Some(card_code) = doc["CardCode"].as_str() {
            self.refresh_account(card_code);
        }
    }

    /// Committed per warehouse = open quantity of the item on open sales orders.
    fn refresh_committed(&mut self, item_code: &str) {
        let mut committed: BTreeMap<String, f64> = BTreeMap::new();
        for order in self.table(EntitySet::Orders).filter(|o| is_open(o)) {
            for line in lines(order).filter(|l| l["LineStatus"] == OPEN && l["ItemCode"] == item_code) {
                let warehouse = line["WarehouseCode"].as_str().unwrap_or("01").to_string();
                *committed.entry(warehouse).or_default() += qty(line, "RemainingOpenQuantity");
            }
        }
        let warehouses: Vec<String> = self
            .get(EntitySet::Items, &Key::Text(item_code.to_string()))
            .map(|item| {
                item["ItemWarehouseInfoCollection"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w["WarehouseCode"].as_str().map(str::to_string))
                    .chain(committed.keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        for warehouse in warehouses {
            let value = committed.get(&warehouse).copied().unwrap_or(0.0);
            self.with_warehouse(item_code, &warehouse, |row| row["Committed"] = json!(value));
        }
    }

    /// CurrentAccountBalance = invoices − credit notes − payments; open orders and deliveries at their open value.
    /// Balances are postings, not edits: they leave the partner's UpdateDate and DataVersion alone [U].
    pub(super) fn refresh_account(&mut self, card_code: &str) {
        let of_customer = |set: EntitySet| self.documents_of(card_code, set).filter(|d| d["Cancelled"] != "tYES");
        let invoiced: f64 = of_customer(EntitySet::Invoices).map(|d| qty(d, "DocTotal")).sum();
        let credited: f64 = of_customer(EntitySet::CreditNotes).map(|d| qty(d, "DocTotal")).sum();
        let paid: f64 = of_customer(EntitySet::IncomingPayments).map(payment_total).sum();
        let open_orders: f64 = of_customer(EntitySet::Orders).filter(|d| is_open(d)).map(open_value).sum();
        let open_deliveries: f64 = of_customer(EntitySet::DeliveryNotes).filter(|d| is_open(d)).map(open_value).sum();
        let key = Key::Text(card_code.to_string());
        let Ok(bp) = self.get(EntitySet::BusinessPartners, &key) else {
            return;
        };
        let mut bp = bp.clone();
        bp["CurrentAccountBalance"] = json!(round2(invoiced - credited - paid));
        bp["OpenOrdersBalance"] = json!(round2(open_orders));
        bp["OpenDeliveryNotesBalance"] = json!(round2(open_deliveries));
        self.insert(EntitySet::BusinessPartners, bp);
    }

    /// `Close`, `Cancel` or `Reopen` on a sales order or quotation (the Service Layer reference
    /// lists `Cancel` and `Close` for Quotations as for Orders); `Close` on the other documents.
    pub(super) fn document_action(
        &mut self,
        set: EntitySet,
        key: &Key,
        action: &str,
        now: &Stamp,
    ) -> Result<(), SapError> {
        let mut row = self.get(set, key)?.clone();
        if !matches!(set, EntitySet::Orders | EntitySet::Quotations) && action != "Close" {
            // Cancelling an invoice or delivery creates a reversal document on B1; the sandbox does not model it.
            return Err(SapError::not_supported());
        }
        // A document that is closed, or whose lines were copied into a delivery or invoice, cannot be
        // cancelled (B1 cancels only open documents without target documents; wording sandbox's).
        let copied = lines(&row).any(|l| qty(l, "RemainingOpenQuantity") < qty(l, "Quantity") - 1e-9);
        if action == "Cancel" && (!is_open(&row) || copied) {
            return Err(SapError::new(
                400,
                "-5002",
                "Cannot cancel a document that is closed or has target documents (sandbox wording)",
            ));
        }
        let (status, cancelled) = match action {
            "Close" => (CLOSED, "tNO"),
            "Cancel" => (CLOSED, "tYES"),
            "Reopen" => (OPEN, "tNO"),
            other => return Err(SapError::bad_request(format!("Unknown action '{other}'"))),
        };
        row["DocumentStatus"] = json!(status);
        row["Cancelled"] = json!(cancelled);
        if cancelled == "tYES" {
            row["CancelStatus"] = json!("csYes");
        }
        if let Some(lines) = row["DocumentLines"].as_array_mut() {
            for line in lines {
                let reopen = status == OPEN && qty(line, "RemainingOpenQuantity") > 1e-9;
                line["LineStatus"] = json!(if reopen { OPEN } else { CLOSED });
            }
        }
        touch(&mut row, now);
        self.insert(set, row.clone());
        self.refresh_derived(&row);
        Ok(())
    }

    /// Creates an incoming payment; each `PaymentInvoices` member raises that invoice's PaidToDate.
    pub(super) fn create_payment(&mut self, mut body: Map<String, Value>, now: &Stamp) -> Result<Value, SapError> {
        let bp = self.business_partner_for(EntitySet::IncomingPayments, &mut body)?;
        match body.get("DocType").and_then(Value::as_str) {
            None | Some("rCustomer") => {}
            Some(_) => return Err(SapError::not_supported()),
        }
        let applications = match body.remove("PaymentInvoices") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(members)) => members,
            Some(_) => return Err(SapError::bad_request("PaymentInvoices must be an array")),
        };
        for server_assigned in ["DocEntry", "DocNum"] {
            body.remove(server_assigned);
        }
        let doc_date = body.get("DocDate").and_then(Value::as_str).map(as_v2_date).unwrap_or_else(|| now.date.clone());
        let transfer = number(&body, "TransferSum")?.unwrap_or(0.0);
        let defaults = json!({
            "DocType": "rCustomer",
            "CardName": bp["CardName"],
            "DocDate": doc_date,
            "DocCurrency": pricing::partner_currency(&bp),
            "TaxDate": doc_date,
            "DueDate": doc_date,
            "Remarks": null,
            "JournalRemarks": format!("Incoming Payments - {}", bp["CardCode"].as_str().unwrap_or_default()),
            "Cancelled": "tNO",
            "CancelStatus": "csNo",
            "DocObjectCode": EntitySet::IncomingPayments.object_code(),
            "CashSum": 0.0,
            "CashAccount": null,
            "TransferSum": 0.0,
            "TransferAccount": null,
            "TransferDate": if transfer > 0.0 { json!(doc_date) } else { Value::Null },
            "TransferReference": null,
            "PaymentChecks": [],
            "PaymentCreditCards": [],
        });
        let mut row = with_defaults(EntitySet::IncomingPayments, body, defaults, now);
        for field in ["CashSum", "TransferSum"] {
            let Value::Object(map) = &row else { unreachable!("rows are objects") };
            let value = number(map, field)?.unwrap_or(0.0);
            row[field] = json!(value);
        }
        for date_field in ["DocDate", "TaxDate", "DueDate", "TransferDate"] {
            if let Some(Value::String(d)) = row.get(date_field) {
                row[date_field] = Value::String(as_v2_date(d));
            }
        }
        // A payment is in its own currency; what it applies to invoices is in local currency.
        if row["DocCurrency"].as_str().and_then(pricing::rate_to_local).is_none() {
            return Err(SapError::new(400, "-5002", "Currency is not defined [ORCT.DocCurrency] (sandbox wording)"));
        }
        let total = payment_total(&row);
        if total <= 0.0 {
            // Sandbox wording.
            return Err(SapError::new(400, "-5002", "Enter a payment amount [ORCT.DocTotal]"));
        }
        let stored = self.applications(applications, &bp, total)?;
        let (doc_entry, doc_num) = self.take_numbers(EntitySet::IncomingPayments);
        row["DocEntry"] = json!(doc_entry);
        row["DocNum"] = json!(doc_num);
        row["PaymentInvoices"] = Value::Array(stored);
        self.insert(EntitySet::IncomingPayments, row.clone());
        for (entry, amount) in applied(&row) {
            self.pay_invoice(entry, amount, None);
        }
        self.refresh_account(bp["CardCode"].as_str().unwrap_or_default());
        Ok(row)
    }

    /// Validates `PaymentInvoices`: the customer's open invoices, each applied at most its open amount.
    fn applications(&self, members: Vec<Value>, bp: &Value, total: f64) -> Result<Vec<Value>, SapError> {
        let mut stored = Vec::with_capacity(members.len());
        let mut applied_so_far: BTreeMap<i64, f64> = BTreeMap::new();
        for (index, member) in members.into_iter().enumerate() {
            let Value::Object(mut member) = member else {
                return Err(SapError::bad_request("Each member of PaymentInvoices must be a JSON object"));
            };
            if let Some(unknown) = member.keys().find(|k| !PAYMENT_INVOICE_FIELDS.contains(&k.as_str())) {
                return Err(SapError::bad_request(format!("Property '{unknown}' of 'PaymentInvoice' is invalid")));
            }
            if member.get("InvoiceType").and_then(Value::as_str).is_some_and(|t| t != "it_Invoice") {
                // Credit notes, down payments and journal entries in a payment are not modelled.
                return Err(SapError::not_supported());
            }
            let entry = member.get("DocEntry").and_then(Value::as_i64).unwrap_or(-1);
            let invoice = self
                .get(EntitySet::Invoices, &Key::Int(entry))
                .map_err(|_| SapError::new(400, "-2028", "No matching records found (ODBC -2028)"))?;
            if invoice["CardCode"] != bp["CardCode"] {
                return Err(SapError::new(400, "-10", "Base document card and target document card do not match."));
            }
            if !is_open(invoice) {
                return Err(closed_base());
            }
            let open = invoice_open_amount(invoice) - applied_so_far.get(&entry).copied().unwrap_or(0.0);
            let sum = number(&member, "SumApplied")?.unwrap_or(open);
            if sum <= 0.0 || sum > open + CENT {
                // Sandbox wording.
                return Err(SapError::new(
                    400,
                    "-5002",
                    format!("Amount applied exceeds the open amount [PaymentInvoices.SumApplied][line: {}]", index + 1),
                ));
            }
            *applied_so_far.entry(entry).or_default() += sum;
            member.insert("LineNum".into(), json!(index));
            member.insert("DocNum".into(), invoice["DocNum"].clone());
            member.insert("SumApplied".into(), json!(round2(sum)));
            member.entry("AppliedFC").or_insert(json!(0.0));
            member.insert("InvoiceType".into(), json!("it_Invoice"));
            member.entry("DocLine").or_insert(json!(0));
            member.entry("InstallmentId").or_insert(json!(1));
            stored.push(Value::Object(member));
        }
        if applied_so_far.values().sum::<f64>() > total + CENT {
            // Sandbox wording.
            return Err(SapError::new(400, "-5002", "The amounts applied exceed the payment total"));
        }
        Ok(stored)
    }

    /// Cancels a payment: its applications are reversed and the invoices reopen.
    pub(super) fn cancel_payment(&mut self, key: &Key) -> Result<(), SapError> {
        let mut payment = self.get(EntitySet::IncomingPayments, key)?.clone();
        if payment["Cancelled"] == "tYES" {
            // Sandbox wording.
            return Err(SapError::new(400, "-5002", "The document is already cancelled"));
        }
        payment["Cancelled"] = json!("tYES");
        payment["CancelStatus"] = json!("csYes");
        self.insert(EntitySet::IncomingPayments, payment.clone());
        for (entry, amount) in applied(&payment) {
            self.pay_invoice(entry, -amount, None);
        }
        self.refresh_account(payment["CardCode"].as_str().unwrap_or_default());
        Ok(())
    }
}

/// DocTotal − PaidToDate.
fn invoice_open_amount(invoice: &Value) -> f64 {
    round2(qty(invoice, "DocTotal") - qty(invoice, "PaidToDate"))
}

/// (invoice DocEntry, SumApplied) of a payment.
fn applied(payment: &Value) -> Vec<(i64, f64)> {
    payment["PaymentInvoices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["DocEntry"].as_i64()?, qty(m, "SumApplied"))))
        .collect()
}

/// Link amounts summed per base document of one set.
fn per_document(links: &[BaseLink], set: EntitySet) -> BTreeMap<i64, f64> {
    let mut amounts = BTreeMap::new();
    for link in links.iter().filter(|l| l.set == set) {
        *amounts.entry(link.doc_entry).or_insert(0.0) += link.amount;
    }
    amounts
}

/// `2026-11-01T00:00:00Z` plus `days`, in the same form.
fn add_days(v2_date: &str, days: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(v2_date.get(..10).unwrap_or_default(), &format) {
        Ok(date) => format!("{}T00:00:00Z", date + time::Duration::days(days)),
        Err(_) => v2_date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str) -> Stamp {
        Stamp::at("2026-11-25", time)
    }

    fn order(card: &str, item: &str) -> Value {
        json!({"CardCode": card, "DocDueDate": "2025-06-30", "NumAtCard": "006X",
               "DocumentLines": [{"ItemCode": "A00001", "Quantity": "2", "UnitPrice": 10.5}, {"ItemCode": item, "Quantity": 1}]})
    }

    fn doc(store: &Store, set: EntitySet, entry: i64) -> Value {
        store.get(set, &Key::Int(entry)).unwrap().clone()
    }

    fn bp(store: &Store, code: &str) -> Value {
        store.get(EntitySet::BusinessPartners, &Key::Text(code.into())).unwrap().clone()
    }

    #[test]
    fn a_quotation_moves_no_balance_and_an_order_copied_from_it_closes_it() {
        let mut store = Store::master_data();
        let before = bp(&store, "C20000");
        let quote = json!({"CardCode": "C20000", "DocDueDate": "2026-12-31", "DocumentLines": [
            {"ItemCode": "A00001", "Quantity": 4, "UnitPrice": 25.0, "DiscountPercent": 10}]});
        let (key, quotation) = store.create(EntitySet::Quotations, quote, &at("09:00:00")).unwrap();
        assert_eq!(
            (quotation["DocNum"].as_i64(), quotation["DocObjectCode"].as_str()),
            (Some(6001), Some("oQuotations"))
        );
        assert_eq!(quotation["DocTotal"].as_f64(), Some(90.0));
        assert_eq!(bp(&store, "C20000")["OpenOrdersBalance"], before["OpenOrdersBalance"], "a quotation is no order");
        let order = json!({"CardCode": "C20000", "DocDueDate": "2026-12-20", "DocumentLines": [
            {"BaseType": 23, "BaseEntry": 1, "BaseLine": 0}]});
        let (_, placed) = store.create(EntitySet::Orders, order, &at("10:00:00")).unwrap();
        assert_eq!(
            (placed["DocTotal"].as_f64(), placed["DocumentLines"][0]["BaseType"].as_i64()),
            (Some(90.0), Some(23))
        );
        let closed = store.get(EntitySet::Quotations, &key).unwrap();
        assert_eq!(closed["DocumentStatus"], "bost_Close", "fully copied");
        let again = json!({"CardCode": "C20000", "DocDueDate": "2026-12-20", "DocumentLines": [
            {"BaseType": 23, "BaseEntry": 1, "BaseLine": 0}]});
        assert_eq!(store.create(EntitySet::Orders, again, &at("11:00:00")).unwrap_err().code, "-5002");
        let from_order =
            json!({"CardCode": "C20000", "DocumentLines": [{"BaseType": 23, "BaseEntry": 1, "BaseLine": 0}]});
        let err = store.create(EntitySet::Invoices, from_order, &at("12:00:00")).unwrap_err();
        assert!(err.message.contains("cannot be copied here"), "{}", err.message);
    }

    #[test]
    fn lines_patched_into_an_order_are_priced_as_on_create_and_copied_lines_cannot_be_removed() {
        let mut store = Store::master_data();
        let (key, _) = store.create(EntitySet::Orders, order("C20000", "A00002"), &at("09:00:00")).unwrap();
        let replace = super::super::store::PatchOptions { replace_collections: true, ..Default::default() };
        let lines = json!({"DocumentLines": [
            {"LineNum": 0, "ItemCode": "A00001", "Quantity": 3, "UnitPrice": 10.5},
            {"ItemCode": "A00003", "Quantity": 2, "UnitPrice": 20.0, "DiscountPercent": 10}]});
        store.patch(EntitySet::Orders, &key, lines, replace, &at("10:00:00")).unwrap();
        let patched = doc(&store, EntitySet::Orders, 1);
        let added = &patched["DocumentLines"][1];
        assert_eq!(patched["DocumentLines"].as_array().unwrap().len(), 2);
        assert_eq!(
            (added["LineNum"].as_i64(), added["Price"].as_f64(), added["LineTotal"].as_f64()),
            (Some(2), Some(18.0), Some(36.0)),
            "numbered after every line it had"
        );
        assert_eq!(
            (added["RemainingOpenQuantity"].as_f64(), added["LineStatus"].as_str()),
            (Some(2.0), Some("bost_Open"))
        );
        assert_eq!(patched["DocTotal"].as_f64(), Some(31.5 + 36.0));
        let delivery = json!({"CardCode": "C20000", "DocumentLines": [{"BaseType": 17, "BaseEntry": 1, "BaseLine": 2, "Quantity": 1}]});
        store.create(EntitySet::DeliveryNotes, delivery, &at("11:00:00")).unwrap();
        let without_it = json!({"DocumentLines": [{"LineNum": 0, "Quantity": 4}]});
        let err = store.patch(EntitySet::Orders, &key, without_it, replace, &at("12:00:00")).unwrap_err();
        assert!(err.message.contains("copied to a target document"), "{}", err.message);
    }

    fn item(store: &Store, code: &str) -> Value {
        store.get(EntitySet::Items, &Key::Text(code.into())).unwrap().clone()
    }

    #[test]
    fn an_order_gets_numbers_lines_and_a_computed_total() {
        let mut store = Store::master_data();
        let (key, row) = store.create(EntitySet::Orders, order("C20000", "A00002"), &at("10:00:00")).unwrap();
        assert_eq!(key, Key::Int(1));
        assert_eq!((row["DocEntry"].as_i64(), row["DocNum"].as_i64()), (Some(1), Some(1001)));
        assert_eq!(row["DocumentLines"][1]["LineNum"], 1);
        assert_eq!(row["DocTotal"], 2.0 * 10.5 + 75.0, "line 2 takes the list price of A00002");
        assert_eq!(row["DocDueDate"], "2025-06-30T00:00:00Z");
        assert_eq!(row["DocumentStatus"], "bost_Open");
        assert_eq!(row["CreationDate"], "2026-11-25T00:00:00Z");
        assert!(row.get("CreateDate").is_none(), "documents have CreationDate, not CreateDate");
        let (second, _) = store.create(EntitySet::Orders, order("C20001", "A00003"), &at("10:00:00")).unwrap();
        assert_eq!(second, Key::Int(2));
        let (invoice, row) = store
            .create(
                EntitySet::Invoices,
                json!({"CardCode": "C20001", "DocDate": "2026-11-01",
                "DocumentLines": [{"ItemCode": "A00002"}]}),
                &at("10:00:00"),
            )
            .unwrap();
        assert_eq!((invoice, row["DocNum"].as_i64()), (Key::Int(1), Some(3001)), "each set has its own series");
        assert_eq!(row["DocDueDate"], "2026-12-01T00:00:00Z", "net 30 by default");
    }

    #[test]
    fn a_line_discount_lowers_price_line_total_and_doc_total_and_its_ship_date_is_a_v2_date() {
        let mut store = Store::master_data();
        let body = json!({"CardCode": "C20000", "DocDueDate": "2025-06-30", "DocumentLines": [
            {"ItemCode": "A00001", "Quantity": 2, "UnitPrice": 50.0, "DiscountPercent": 10, "ShipDate": "2025-07-15"}]});
        let (_, row) = store.create(EntitySet::Orders, body, &at("10:00:00")).unwrap();
        let line = &row["DocumentLines"][0];
        assert_eq!(
            (&line["UnitPrice"], &line["DiscountPercent"], &line["Price"]),
            (&json!(50.0), &json!(10.0), &json!(45.0))
        );
        assert_eq!(line["LineTotal"], 90.0);
        assert_eq!(line["ShipDate"], "2025-07-15T00:00:00Z");
        assert_eq!(row["DocTotal"], 90.0);
    }

    #[test]
    fn an_order_for_an_unknown_customer_or_item_is_rejected_with_code_minus_10() {
        let mut store = Store::master_data();
        let bad_bp = store.create(EntitySet::Orders, order("C99999", "A00002"), &at("10:00:00")).unwrap_err();
        assert_eq!((bad_bp.status, bad_bp.code.as_str()), (400, "-10"));
        assert_eq!(bad_bp.message, "Invalid BP code [ORDR.CardCode] , 'C99999'");
        let bad_item = store.create(EntitySet::Orders, order("C20000", "Z99999"), &at("10:00:00")).unwrap_err();
        assert_eq!(bad_item.message, "Item number is missing or invalid [DocumentLines.ItemCode][line: 2]");
        assert!(store.rows(EntitySet::Orders).is_empty(), "nothing is stored for a rejected order");
        let invoice = json!({"CardCode": "C99999", "DocumentLines": [{"ItemCode": "A00002"}]});
        let err = store.create(EntitySet::Invoices, invoice, &at("10:00:00")).unwrap_err();
        assert_eq!(err.message, "Invalid BP code [OINV.CardCode] , 'C99999'");
    }

    #[test]
    fn a_delivery_consumes_its_order_and_closes_it_when_nothing_is_left() {
        let mut store = Store::master_data();
        let stock_before = item(&store, "A00002")["QuantityOnStock"].as_f64().unwrap();
        store.create(EntitySet::Orders, order("C20000", "A00002"), &at("09:00:00")).unwrap();
        assert_eq!(item(&store, "A00002")["ItemWarehouseInfoCollection"][0]["Committed"], 1.0);
        assert_eq!(bp(&store, "C20000")["OpenOrdersBalance"], 96.0);
        let partial = json!({"CardCode": "C20000", "DocumentLines": [
            {"BaseType": 17, "BaseEntry": 1, "BaseLine": 1}, {"BaseType": 17, "BaseEntry": 1, "BaseLine": 0, "Quantity": 1}]});
        let (_, delivery) = store.create(EntitySet::DeliveryNotes, partial, &at("10:00:00")).unwrap();
        assert_eq!(delivery["DocumentLines"][0]["ItemCode"], "A00002", "copied from the base line");
        let order = doc(&store, EntitySet::Orders, 1);
        assert_eq!(
            (order["DocumentStatus"].as_str(), order["UpdateTime"].as_str()),
            (Some("bost_Open"), Some("10:00:00"))
        );
        assert_eq!(order["DocumentLines"][0]["RemainingOpenQuantity"], 1.0);
        assert_eq!(order["DocumentLines"][1]["LineStatus"], "bost_Close");
        assert_eq!(item(&store, "A00002")["QuantityOnStock"].as_f64().unwrap(), stock_before - 1.0);
        assert_eq!(item(&store, "A00002")["QuantityOrderedByCustomers"], 0.0);
        let too_much = json!({"CardCode": "C20000", "DocumentLines": [{"BaseType": 17, "BaseEntry": 1, "BaseLine": 0, "Quantity": 2}]});
        assert_eq!(store.create(EntitySet::DeliveryNotes, too_much, &at("10:00:00")).unwrap_err().code, "-5002");
        let rest = json!({"CardCode": "C20000", "DocumentLines": [{"BaseType": 17, "BaseEntry": 1, "BaseLine": 0}]});
        store.create(EntitySet::DeliveryNotes, rest.clone(), &at("11:00:00")).unwrap();
        assert_eq!(doc(&store, EntitySet::Orders, 1)["DocumentStatus"], "bost_Close");
        assert_eq!(bp(&store, "C20000")["OpenOrdersBalance"], 0.0);
        let err = store.create(EntitySet::DeliveryNotes, rest, &at("11:00:00")).unwrap_err();
        assert_eq!(err.message, "One of the base documents has already been closed");
    }

    #[test]
    fn an_order_that_was_delivered_from_or_closed_cannot_be_cancelled() {
        let mut store = Store::master_data();
        store.create(EntitySet::Orders, order("C20000", "A00002"), &at("09:00:00")).unwrap();
        let partial = json!({"CardCode": "C20000", "DocumentLines": [{"BaseType": 17, "BaseEntry": 1, "BaseLine": 0, "Quantity": 1}]});
        store.create(EntitySet::DeliveryNotes, partial, &at("10:00:00")).unwrap();
        let err = store.action(EntitySet::Orders, &Key::Int(1), "Cancel", None, &at("11:00:00")).unwrap_err();
        assert!(err.message.contains("has target documents"), "{}", err.message);
        store.create(EntitySet::Orders, order("C20000", "A00002"), &at("12:00:00")).unwrap();
        store.action(EntitySet::Orders, &Key::Int(2), "Close", None, &at("12:30:00")).unwrap();
        assert!(store.action(EntitySet::Orders, &Key::Int(2), "Cancel", None, &at("13:00:00")).is_err());
        assert_eq!(doc(&store, EntitySet::Orders, 1)["Cancelled"], "tNO");
    }

    #[test]
    fn payments_raise_paid_to_date_close_paid_invoices_and_lower_the_balance() {
        let mut store = Store::master_data();
        let invoice = json!({"CardCode": "C20004", "DocDueDate": "2026-11-01",
            "DocumentLines": [{"ItemCode": "A00005", "Quantity": 4, "UnitPrice": 250}]});
        store.create(EntitySet::Invoices, invoice, &at("08:00:00")).unwrap();
        assert_eq!(bp(&store, "C20004")["CurrentAccountBalance"], 1000.0);
        let partial =
            json!({"CardCode": "C20004", "CashSum": "400", "PaymentInvoices": [{"DocEntry": 1, "SumApplied": 400}]});
        let (key, payment) = store.create(EntitySet::IncomingPayments, partial, &at("09:00:00")).unwrap();
        assert!(payment.get("UpdateDate").is_none() && payment.get("DataVersion").is_none());
        assert_eq!(payment["PaymentInvoices"][0]["DocNum"], 3001);
        let open = doc(&store, EntitySet::Invoices, 1);
        assert_eq!((open["PaidToDate"].as_f64(), open["DocumentStatus"].as_str()), (Some(400.0), Some("bost_Open")));
        assert_eq!(bp(&store, "C20004")["CurrentAccountBalance"], 600.0);
        let too_much =
            json!({"CardCode": "C20004", "TransferSum": 700, "PaymentInvoices": [{"DocEntry": 1, "SumApplied": 700}]});
        assert_eq!(store.create(EntitySet::IncomingPayments, too_much, &at("09:30:00")).unwrap_err().code, "-5002");
        let rest = json!({"CardCode": "C20004", "TransferSum": 600, "PaymentInvoices": [{"DocEntry": 1}]});
        store.create(EntitySet::IncomingPayments, rest, &at("10:00:00")).unwrap();
        let paid = doc(&store, EntitySet::Invoices, 1);
        assert_eq!((paid["PaidToDate"].as_f64(), paid["DocumentStatus"].as_str()), (Some(1000.0), Some("bost_Close")));
        assert_eq!(paid["UpdateTime"], open["UpdateTime"], "a payment leaves the invoice's stamps alone [U]");
        assert_eq!(bp(&store, "C20004")["CurrentAccountBalance"], 0.0);
        store.action(EntitySet::IncomingPayments, &key, "Cancel", None, &at("11:00:00")).unwrap();
        let reopened = doc(&store, EntitySet::Invoices, 1);
        assert_eq!(
            (reopened["PaidToDate"].as_f64(), reopened["DocumentStatus"].as_str()),
            (Some(600.0), Some("bost_Open"))
        );
        assert_eq!(bp(&store, "C20004")["CurrentAccountBalance"], 400.0);
    }

    #[test]
    fn a_credit_note_on_an_invoice_lowers_what_is_still_open() {
        let mut store = Store::master_data();
        let invoice =
            json!({"CardCode": "C20002", "DocumentLines": [{"ItemCode": "A00003", "Quantity": 10, "UnitPrice": 200}]});
        store.create(EntitySet::Invoices, invoice, &at("08:00:00")).unwrap();
        let credit = json!({"CardCode": "C20002", "DocumentLines": [{"BaseType": 13, "BaseEntry": 1, "BaseLine": 0, "Quantity": 2}]});
        let (_, note) = store.create(EntitySet::CreditNotes, credit, &at("09:00:00")).unwrap();
        assert_eq!((note["DocTotal"].as_f64(), note["DocumentStatus"].as_str()), (Some(400.0), Some("bost_Close")));
        assert_eq!(doc(&store, EntitySet::Invoices, 1)["PaidToDate"], 400.0);
        assert_eq!(bp(&store, "C20002")["CurrentAccountBalance"], 1600.0);
        let from_order =
            json!({"CardCode": "C20002", "DocumentLines": [{"BaseType": 17, "BaseEntry": 1, "BaseLine": 0}]});
        assert_eq!(store.create(EntitySet::CreditNotes, from_order, &at("09:00:00")).unwrap_err().code, "-5002");
    }

    #[test]
    fn only_orders_can_be_cancelled_and_documents_cannot_be_deleted() {
        let mut store = Store::master_data();
        store.create(EntitySet::Orders, order("C20000", "A00002"), &at("09:00:00")).unwrap();
        store.action(EntitySet::Orders, &Key::Int(1), "Cancel", None, &at("10:00:00")).unwrap();
        let cancelled = doc(&store, EntitySet::Orders, 1);
        assert_eq!((cancelled["Cancelled"].as_str(), cancelled["DataVersion"].as_i64()), (Some("tYES"), Some(2)));
        assert_eq!(item(&store, "A00002")["ItemWarehouseInfoCollection"][0]["Committed"], 0.0);
        assert_eq!(store.delete(EntitySet::Orders, &Key::Int(1)).unwrap_err().code, "-5006");
    }
}
