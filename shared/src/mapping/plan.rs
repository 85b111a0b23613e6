//! What one SAP row becomes in Salesforce (F4–F7): the writes, in parent-then-child order, and a
//! digest of their content for echo suppression. Pure: driven by the mapping file.

use crate::domain::credit::CreditLevel;
use crate::domain::deactivation;
use crate::domain::{OpenInvoice, PaymentStanding, Record, SalesforceId};
use crate::error::{Error, Result};
use crate::mapping::file::{FlowMapping, MappingFile, RowSource};
use crate::mapping::transform::content_hash;
use serde_json::{Value, json};

/// The entities the sf-writer handles, parents first: accounts exist before the invoices that point
/// at them, products before their price book entries.
pub const ENTITY_ORDER: [&str; 8] = [
    "BusinessPartners",
    "Items",
    "Quotations",
    "Orders",
    "DeliveryNotes",
    "Invoices",
    "CreditNotes",
    "IncomingPayments",
];

/// The derived timestamp every synced record carries; left out of the content digest.
const SYNCED_AT: &str = "SAP_Synced_At__c";

/// How a write reaches Salesforce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Upsert by an external id field the record carries.
    Upsert { object: String, external_id: String },
    /// Update by the `Id` the record carries.
    Update { object: String },
    /// The item's entry in the standard price book, created or updated once the product's Id is
    /// known (the record carries `UnitPrice`).
    StandardPrice,
    /// The account's payment status (`SAP_CardCode__c` in the record), computed from the
    /// customer's open and overdue invoices when the write runs.
    PaymentStatus,
    /// F3 again after a credit memo: the billing context on the customer's open cases
    /// (`SAP_CardCode__c` in the record), read when the write runs.
    CaseBilling,
    /// F4 again for the document's customer (`SAP_CardCode__c`): its partner is queued to be re-read
    /// and written, because documents move its balances (`CurrentAccountBalance`,
    /// `OpenOrdersBalance`) without touching its UpdateDate, so no poll would see them move.
    PartnerRefresh,
    /// F6 again for an invoice a payment was applied to (`DocEntry`): queued to be re-read, so its
    /// paid amount and status follow the payment, and a cancelled payment's reopen it. (B1 may or
    /// may not stamp the invoice when a payment moves its `PaidToDate` [U]: this does not rely on it.)
    InvoiceRefresh,
    /// F5's order products for an order entered in SAP (`SAP_Order_Key__c`, `Lines`): each line
    /// created in the standard price book (entry by `ItemCode`) or updated by its `SAP_Line_Key__c`,
    /// and the products of lines no longer in SAP deleted, once the order's Id is known.
    OrderProducts,
    /// F4's credit alert for a person: when the customer (`SAP_CardCode__c`) crossed the alert
    /// threshold or was frozen since it was last told (`Level`), the owners of its open deals are
    /// told through a `B1Force_Credit_Alert__e` platform event ([`crate::domain::credit`]).
    CreditAlert,
}

/// One Salesforce record to write for an SAP row.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub target: Target,
    pub record: Record,
    /// Children run after every parent write of the same row succeeded.
    pub child: bool,
}

/// What to read from SAP for an entity: its key and the properties the flows map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSpec {
    pub key: &'static str,
    pub select: Vec<String>,
}

/// The flows that write an entity (its main flow first).
fn flows<'m>(mapping: &'m MappingFile, entity: &str) -> Result<Vec<&'m FlowMapping>> {
    let names: &[&str] = match entity {
        "BusinessPartners" => &["F4"],
        "Quotations" => &["F5.quote"],
        "Orders" => &["F5", "F5.order"],
        "DeliveryNotes" => &["F5.delivery"],
        "Invoices" => &["F6", "F6.opportunity"],
        "CreditNotes" => &["F6.credit_notes"],
        "IncomingPayments" => &[],
        "Items" => &["F7", "F7.standard_price"],
        other => return Err(unhandled(other)),
    };
    names.iter().map(|name| mapping.flow(name)).collect()
}

fn unhandled(entity: &str) -> Error {
    Error::Invalid(format!(
        "the sf-writer does not handle SAP entity {:?}",
        entity.chars().take(40).collect::<String>()
    ))
}

/// The property that keys an entity's rows.
pub fn key_property(entity: &str) -> &'static str {
    match entity {
        "BusinessPartners" => "CardCode",
        "Items" => "ItemCode",
        _ => "DocEntry",
    }
}

/// Whether `id` can name a row of `entity` (an entity the sf-writer handles): a key of the key
/// property's type (`DocEntry` is an `Edm.Int32`, codes are text within SAP's widths). A key that
/// cannot is refused alone, before any read (#13 item 3: `sap:Invoices:1 or DocEntry gt 0`).
pub fn check_key(entity: &str, id: &str) -> Result<()> {
    if !ENTITY_ORDER.contains(&entity) {
        return Err(unhandled(entity));
    }
    match key_property(entity) {
        "CardCode" => crate::domain::CardCode::parse(id).map(drop),
        "ItemCode" => crate::domain::ItemCode::parse(id).map(drop),
        _ => {
            let entry = id.parse::<i32>().ok().filter(|n| *n > 0);
            entry.map(drop).ok_or_else(|| {
                Error::Invalid(format!(
                    "{:?} is not a DocEntry (a positive whole number)",
                    id.chars().take(40).collect::<String>()
                ))
            })
        }
    }
}

/// The key and `$select` list for an entity.
pub fn read_spec(mapping: &MappingFile, entity: &str) -> Result<ReadSpec> {
    let key = key_property(entity);
    let mut select: Vec<String> = vec![key.to_string()];
    let extra: &[&str] = match entity {
        "Orders" => &["CardCode", "DocNum", "U_SF_OpportunityId", "Cancelled"],
        "Quotations" => &["CardCode", "U_SF_QuoteId", "Cancelled"],
        "Invoices" | "CreditNotes" => &["CardCode", "DocNum", "U_SF_OpportunityId"],
        "IncomingPayments" => &["CardCode", "DocNum", "Cancelled", "PaymentInvoices"],
        // The lines name the orders a delivery was copied from (BaseType 17, BaseEntry).
        "DeliveryNotes" => &["CardCode", "DocumentLines"],
        // Whether B1Force deactivated the partner (its account is gone) or the item is inactive.
        "BusinessPartners" => &deactivation::PROPERTIES,
        "Items" => &["Valid", "Frozen"],
        _ => &[],
    };
    // The credit level reads the balance, the limit and the frozen flag, mapped or not.
    let credit: &[&str] = match flows(mapping, entity)?.first() {
        Some(flow) if entity == "BusinessPartners" && flow.derived.iter().any(|d| d == CREDIT_ALERT) => {
            &["CreditLimit", "CurrentAccountBalance", "Frozen"]
        }
        _ => &[],
    };
    let names = flows(mapping, entity)?
        .into_iter()
        .flat_map(|f| f.sap_fields())
        .chain(extra.iter().copied())
        .chain(credit.iter().copied());
    for name in names {
        if !select.iter().any(|s| s == name) {
            select.push(name.to_string());
        }
    }
    Ok(ReadSpec { key, select })
}

/// The writes for one SAP row of `entity`; empty when the row concerns no Salesforce record (an
/// order without an opportunity). `synced_at` is the ISO time stamped on derived fields.
pub fn plan(mapping: &MappingFile, entity: &str, row: &Record, synced_at: &str) -> Result<Vec<Write>> {
    let flows = flows(mapping, entity)?;
    let mut writes = Vec::new();
    match entity {
        // Deactivated by B1Force because its account was deleted or merged away: no account to write.
        "BusinessPartners" if deactivation::by_us(row) => return Ok(Vec::new()),
        "BusinessPartners" => {
            let flow = flows[0];
            let (mut account, card_code) = keyed_upsert(flow, row, synced_at)?;
            if flow.derived.iter().any(|d| d == INACTIVE) {
                account.record.insert(INACTIVE.into(), Value::Bool(!is_active(row)));
            }
            writes.push(account);
            if flow.collection("contacts").is_ok() {
                writes.extend(contact_writes(flow, row, &card_code)?);
            }
            if let Some(level) = credit_level(flow, row) {
                writes[0].record.insert("SAP_Credit_Alert__c".into(), Value::Bool(level != CreditLevel::Clear));
                let number = |p: &str| row.get(p).cloned().unwrap_or(Value::Null);
                let record = Record::from_iter([
                    ("SAP_CardCode__c".to_string(), json!(card_code)),
                    ("Level".to_string(), json!(level.as_str())),
                    ("Balance".to_string(), number("CurrentAccountBalance")),
                    ("CreditLimit".to_string(), number("CreditLimit")),
                ]);
                writes.push(Write { target: Target::CreditAlert, record, child: true });
            }
        }
        "Items" => {
            writes.push(keyed_upsert(flows[0], row, synced_at)?.0);
            let mut price = flows[1].to_salesforce(row, None, true);
            // An item made inactive or frozen in SAP can no longer be sold from the price book.
            price.insert("IsActive".into(), Value::Bool(is_active(row)));
            if price.get("UnitPrice").is_some_and(|p| !p.is_null()) {
                writes.push(Write { target: Target::StandardPrice, record: price, child: true });
            }
        }
        "Orders" => match opportunity_update(flows[0], row, synced_at)? {
            Some(update) => writes.push(update),
            None => {
                let order = sap_order_upsert(flows[1], row, synced_at)?;
                let products = order_products(flows[1], row, &order.record)?;
                writes.push(order);
                writes.extend(products);
            }
        },
        // Only quotations made from a Salesforce quote; a cancelled one says so whatever its status.
        "Quotations" => {
            if let Some(mut update) = opportunity_update(flows[0], row, synced_at)? {
                if row.get("Cancelled").and_then(Value::as_str) == Some("tYES")
                    && update.record.contains_key(QUOTATION_STATUS)
                {
                    update.record.insert(QUOTATION_STATUS.into(), json!("Cancelled"));
                }
                writes.push(update);
            }
        }
        "DeliveryNotes" => match opportunity_update(flows[0], row, synced_at)? {
            Some(update) => writes.push(update),
            None => writes.extend(delivered_orders(flows[0], row, synced_at)),
        },
        "Invoices" | "CreditNotes" => {
            writes.push(document_upsert(flows[0], entity, row, synced_at)?);
            if let Some(opportunity) = flows.get(1) {
                writes.extend(opportunity_update(opportunity, row, synced_at)?);
            }
            // An invoice created, paid or credited changes what its customer owes: the account's
            // payment status is recomputed, not only when a payment arrives.
            if mapping.flow("F6.account").is_ok()
                && let Some(card_code) = text(row, "CardCode")
            {
                let record = Record::from_iter([("SAP_CardCode__c".to_string(), json!(card_code))]);
                writes.push(Write { target: Target::PaymentStatus, record, child: false });
            }
            if entity == "CreditNotes"
                && let Some(card_code) = text(row, "CardCode")
            {
                let record = Record::from_iter([("SAP_CardCode__c".to_string(), json!(card_code))]);
                writes.push(Write { target: Target::CaseBilling, record, child: true });
            }
        }
        "IncomingPayments" => {
            let card_code = text(row, "CardCode").ok_or_else(|| missing(entity, "CardCode"))?;
            let record = Record::from_iter([("SAP_CardCode__c".to_string(), json!(card_code))]);
            writes.push(Write { target: Target::PaymentStatus, record, child: false });
            if mapping.flow("F6").is_ok() {
                writes.extend(paid_invoices(row));
            }
        }
        _ => unreachable!("flows() refused the entity"),
    }
    if entity != "BusinessPartners"
        && entity != "Items"
        && mapping.flow("F4").is_ok()
        && let Some(card_code) = text(row, "CardCode")
    {
        let record = Record::from_iter([("SAP_CardCode__c".to_string(), json!(card_code))]);
        writes.push(Write { target: Target::PartnerRefresh, record, child: true });
    }
    Ok(writes)
}

/// The invoices a payment was applied to, each queued to be re-read; the payment's `Cancelled`
/// goes with them, so a payment cancelled later is new content (its digest changes) and reopens them.
fn paid_invoices(row: &Record) -> Vec<Write> {
    let cancelled = row.get("Cancelled").cloned().unwrap_or(Value::Null);
    let members = row.get("PaymentInvoices").and_then(Value::as_array).into_iter().flatten();
    distinct_entries(
        members
            .filter(|m| m.get("InvoiceType").and_then(Value::as_str).is_none_or(|t| t == "it_Invoice"))
            .filter_map(|m| m.get("DocEntry").and_then(Value::as_i64)),
    )
    .into_iter()
    .map(|entry| {
        let record =
            Record::from_iter([("DocEntry".to_string(), json!(entry)), ("Cancelled".to_string(), cancelled.clone())]);
        Write { target: Target::InvoiceRefresh, record, child: true }
    })
    .collect()
}

/// DocEntry numbers once each, in order.
fn distinct_entries(entries: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut entries: Vec<i64> = entries.collect();
    entries.sort_unstable();
    entries.dedup();
    entries
}

/// A digest of what the writes would put into Salesforce, without sync timestamps: equal for an
/// unchanged row, so a re-read or an echo of our own write is no work.
pub fn content_digest(writes: &[Write]) -> String {
    let parts: Vec<Value> = writes
        .iter()
        .map(|w| {
            let mut record = w.record.clone();
            record.remove(SYNCED_AT);
            json!([format!("{:?}", w.target), record])
        })
        .collect();
    let mut all = Record::new();
    all.insert("writes".into(), Value::Array(parts));
    content_hash(&all)
}

fn missing(entity: &str, property: &str) -> Error {
    Error::Mapping(format!("a {entity} row has no {property}"))
}

fn text(row: &Record, property: &str) -> Option<String> {
    match row.get(property)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn stamp(flow: &FlowMapping, record: &mut Record, synced_at: &str) {
    if flow.derived.iter().any(|d| d == SYNCED_AT) {
        record.insert(SYNCED_AT.into(), json!(synced_at));
    }
}

/// The flow's record upserted by its external id key; also returns the key's value.
fn keyed_upsert(flow: &FlowMapping, row: &Record, synced_at: &str) -> Result<(Write, String)> {
    let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {} has no key", flow.name)))?;
    let value = text(row, &key.sap).ok_or_else(|| missing(&flow.sap_entity, &key.sap))?;
    let mut record = flow.to_salesforce(row, None, true);
    record.insert(key.salesforce.clone(), json!(value));
    stamp(flow, &mut record, synced_at);
    let target = Target::Upsert { object: flow.salesforce_object.clone(), external_id: key.salesforce.clone() };
    Ok((Write { target, record, child: false }, value))
}

/// F4 contacts: a contact that came from Salesforce (it carries `U_SF_ContactId`) is updated by that
/// Id, so it is never created twice; the others are upserted by their SAP contact code and attached
/// to the account by its CardCode.
fn contact_writes(flow: &FlowMapping, row: &Record, card_code: &str) -> Result<Vec<Write>> {
    let collection = flow.collection("contacts")?;
    let RowSource::Children { matched_by, salesforce_object: object, .. } = &collection.source else {
        return Ok(Vec::new());
    };
    let rows: Vec<&Record> = row
        .get(&collection.sap_collection)
        .and_then(Value::as_array)
        .map(|all| all.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut writes = Vec::new();
    for mut record in flow.to_salesforce_collection("contacts", row, &[], true)? {
        let code = record.get(&matched_by.salesforce).and_then(Value::as_str).map(str::to_string);
        let source = rows.iter().find(|r| code.is_some() && text(r, &matched_by.sap) == code);
        let salesforce_id = source.and_then(|r| text(r, "U_SF_ContactId")).and_then(|id| SalesforceId::parse(&id).ok());
        let target = match salesforce_id {
            Some(id) => {
                record.insert("Id".into(), json!(id.as_str()));
                Target::Update { object: object.clone() }
            }
            None => {
                record.insert("Account".into(), json!({"SAP_CardCode__c": card_code}));
                Target::Upsert { object: object.clone(), external_id: matched_by.salesforce.clone() }
            }
        };
        writes.push(Write { target, record, child: true });
    }
    Ok(writes)
}

/// F4's derived flag on the account: the partner is inactive or frozen in SAP.
const INACTIVE: &str = "SAP_Inactive__c";

/// A partner or item is active in SAP unless `Valid` is tNO or `Frozen` is tYES.
fn is_active(row: &Record) -> bool {
    let flag = |p: &str| row.get(p).and_then(Value::as_str);
    flag("Valid") != Some("tNO") && flag("Frozen") != Some("tYES")
}

/// F4's derived credit alert flag on the account.
const CREDIT_ALERT: &str = "SAP_Credit_Alert__c";

/// F4's credit level when the flow derives the alert: balance / limit at or above the threshold
/// (no alert without a limit), or the partner frozen.
fn credit_level(flow: &FlowMapping, row: &Record) -> Option<CreditLevel> {
    if !flow.derived.iter().any(|d| d == CREDIT_ALERT) {
        return None;
    }
    Some(CreditLevel::of(row, flow.number_option("credit_alert_threshold").unwrap_or(0.9)))
}

/// F5 and F6.opportunity: the opportunity named by the document's `U_SF_OpportunityId`, updated by
/// Id; nothing for a document created in SAP without one. With `SAP_Sync_Status__c` (and
/// `SAP_Sync_Error__c`) derived, an order says `Synced` (and clears the error): this is how an order
/// approved in SAP after F1 left its draft `Pending approval` reaches the opportunity.
fn opportunity_update(flow: &FlowMapping, row: &Record, synced_at: &str) -> Result<Option<Write>> {
    let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {} has no key", flow.name)))?;
    let Some(id) = text(row, &key.sap) else { return Ok(None) };
    let id =
        SalesforceId::parse(&id).map_err(|_| Error::Mapping(format!("{} {id:?} is not a Salesforce id", key.sap)))?;
    let mut record = flow.to_salesforce(row, None, true);
    let derived = |name: &str| flow.derived.iter().any(|d| d == name);
    if derived("SAP_Sync_Status__c") && text(row, "DocEntry").is_some() {
        // An order cancelled in SAP says so on the deal (F1 then flags a deal still won).
        let cancelled = row.get("Cancelled").and_then(Value::as_str) == Some("tYES");
        record.insert("SAP_Sync_Status__c".into(), json!(if cancelled { "Cancelled" } else { "Synced" }));
        if derived("SAP_Sync_Error__c") {
            let error = cancelled
                .then(|| format!("SAP order {} was cancelled in SAP", text(row, "DocNum").unwrap_or_default()));
            record.insert("SAP_Sync_Error__c".into(), json!(error));
        }
    }
    add_payment_standing(flow, &mut record, row, synced_at);
    if record.is_empty() {
        return Ok(None);
    }
    record.insert("Id".into(), json!(id.as_str()));
    Ok(Some(Write { target: Target::Update { object: flow.salesforce_object.clone() }, record, child: false }))
}

/// F6.opportunity: with `SAP_Payment_Status__c` (and `SAP_Days_Overdue__c`) derived, the deal's
/// payment standing from this invoice as of the sync day: Paid, Partially Paid, Unpaid or Overdue.
fn add_payment_standing(flow: &FlowMapping, record: &mut Record, row: &Record, synced_at: &str) {
    let derived = |name: &str| flow.derived.iter().any(|d| d == name);
    let number = |p: &str| row.get(p).and_then(Value::as_f64);
    let date = |text: &str| text.get(..10).and_then(|d| crate::domain::parse_date(d).ok());
    let (today, due) = (date(synced_at), text(row, "DocDueDate").as_deref().and_then(date));
    if let (true, Some(today), Some(due_date), Some(doc_total)) =
        (derived(PAYMENT_STATUS), today, due, number("DocTotal"))
    {
        let paid_to_date = number("PaidToDate").unwrap_or(0.0);
        let invoice = OpenInvoice { doc_total, paid_to_date, due_date, currency: None };
        let standing = PaymentStanding::of_invoices(&[invoice], today);
        record.insert(PAYMENT_STATUS.into(), json!(standing.status));
        if derived(DAYS_OVERDUE) {
            record.insert(DAYS_OVERDUE.into(), json!(standing.days_overdue));
        }
    }
}

const PAYMENT_STATUS: &str = "SAP_Payment_Status__c";
const DAYS_OVERDUE: &str = "SAP_Days_Overdue__c";

/// F5 for a sales order entered in SAP (no opportunity): a Salesforce Order of the partner's
/// account, keyed `Orders/<DocEntry>`, created as Draft (activating needs order products).
fn sap_order_upsert(flow: &FlowMapping, row: &Record, synced_at: &str) -> Result<Write> {
    let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {} has no key", flow.name)))?;
    let doc_entry = text(row, "DocEntry").ok_or_else(|| missing("Orders", "DocEntry"))?;
    let card_code = text(row, "CardCode").ok_or_else(|| missing("Orders", "CardCode"))?;
    let mut record = flow.to_salesforce(row, None, true);
    record.insert(key.salesforce.clone(), json!(format!("Orders/{doc_entry}")));
    let derived = |name: &str| flow.derived.iter().any(|d| d == name);
    if derived("AccountId") {
        record.insert("Account".into(), json!({"SAP_CardCode__c": card_code}));
    }
    if derived("Status") {
        record.insert("Status".into(), json!("Draft"));
    }
    // A cancelled order is closed in SAP (DocumentStatus bost_Close); the status says which.
    if row.get("Cancelled").and_then(Value::as_str) == Some("tYES") && record.contains_key(FULFILMENT_STATUS) {
        record.insert(FULFILMENT_STATUS.into(), json!("Cancelled"));
    }
    stamp(flow, &mut record, synced_at);
    let target = Target::Upsert { object: flow.salesforce_object.clone(), external_id: key.salesforce.clone() };
    Ok(Write { target, record, child: false })
}

const FULFILMENT_STATUS: &str = "SAP_Fulfilment_Status__c";
const QUOTATION_STATUS: &str = "SAP_Quotation_Status__c";

/// F5.order `lines`: the order's products, one entry per SAP line keyed `Orders/<DocEntry>/<LineNum>`,
/// with the mapped fields, the line's `ItemCode` (to find its price book entry) and `UnitPrice`
/// from the line total after discount (`LineTotal / Quantity`, local currency, to the cent). None
/// without a `lines` collection in the mapping.
fn order_products(flow: &FlowMapping, row: &Record, order: &Record) -> Result<Option<Write>> {
    let Ok(collection) = flow.collection("lines") else { return Ok(None) };
    let RowSource::Children { matched_by, .. } = &collection.source else { return Ok(None) };
    let order_key = flow.key.as_ref().and_then(|k| order.get(&k.salesforce)).cloned().unwrap_or(Value::Null);
    let sap_lines: Vec<&Record> = row
        .get(&collection.sap_collection)
        .and_then(Value::as_array)
        .map(|all| all.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut lines = Vec::with_capacity(sap_lines.len());
    for mut product in flow.to_salesforce_collection("lines", row, &[], true)? {
        let line_num = product.get(&matched_by.salesforce).and_then(Value::as_str).unwrap_or_default().to_string();
        let line = sap_lines
            .iter()
            .find(|l| text(l, &matched_by.sap).as_deref() == Some(line_num.as_str()))
            .ok_or_else(|| missing("Orders", "DocumentLines"))?;
        let item_code = text(line, "ItemCode").ok_or_else(|| {
            Error::Mapping(format!("line {line_num} of the order has no ItemCode, so it has no product"))
        })?;
        let quantity = line.get("Quantity").and_then(Value::as_f64).filter(|q| *q > 0.0);
        let (Some(quantity), Some(total)) = (quantity, line.get("LineTotal").and_then(Value::as_f64)) else {
            return Err(Error::Mapping(format!("line {line_num} of the order has no positive Quantity and LineTotal")));
        };
        product.insert(
            matched_by.salesforce.clone(),
            json!(format!("{}/{line_num}", order_key.as_str().unwrap_or_default())),
        );
        product.insert(ITEM_CODE.into(), json!(item_code));
        product.insert("UnitPrice".into(), json!((total / quantity * 100.0).round() / 100.0));
        lines.push(Value::Object(product));
    }
    let record =
        Record::from_iter([("SAP_Order_Key__c".to_string(), order_key), (LINES.to_string(), Value::Array(lines))]);
    Ok(Some(Write { target: Target::OrderProducts, record, child: true }))
}

/// In an [`Target::OrderProducts`] record: the products, and in each the item code of its entry
/// (neither is a Salesforce field; the writer takes them out).
pub const LINES: &str = "Lines";
pub const ITEM_CODE: &str = "ItemCode";

/// F5.delivery for a delivery without an opportunity id: the delivery date on the Salesforce Order
/// of each sales order it was copied from (line `BaseType` 17, `BaseEntry`), upserted by its key.
/// The order's own write created that Order; where it did not (an order outside the sync), the
/// upsert lacks the Order's required fields and fails alone, audited.
fn delivered_orders(flow: &FlowMapping, row: &Record, synced_at: &str) -> Vec<Write> {
    const SALES_ORDER: i64 = 17;
    let lines = row.get("DocumentLines").and_then(Value::as_array).into_iter().flatten();
    distinct_entries(
        lines
            .filter(|l| l.get("BaseType").and_then(Value::as_i64) == Some(SALES_ORDER))
            .filter_map(|l| l.get("BaseEntry").and_then(Value::as_i64)),
    )
    .into_iter()
    .map(|entry| {
        let mut record = flow.to_salesforce(row, None, true);
        record.insert("SAP_Order_Key__c".into(), json!(format!("Orders/{entry}")));
        stamp(flow, &mut record, synced_at);
        let target = Target::Upsert { object: "Order".into(), external_id: "SAP_Order_Key__c".into() };
        Write { target, record, child: false }
    })
    .collect()
}

/// F6: an invoice or credit note record keyed `<Entity>/<DocEntry>` (DocEntry numbers repeat across
/// document types), named after its number, linked to its account and opportunity.
fn document_upsert(flow: &FlowMapping, entity: &str, row: &Record, synced_at: &str) -> Result<Write> {
    let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {} has no key", flow.name)))?;
    let doc_entry = text(row, "DocEntry").ok_or_else(|| missing(entity, "DocEntry"))?;
    let mut record = flow.to_salesforce(row, None, true);
    record.insert(key.salesforce.clone(), json!(format!("{entity}/{doc_entry}")));
    let derived = |name: &str| flow.derived.iter().any(|d| d == name);
    if derived("Name") {
        let kind = if entity == "CreditNotes" { "Credit Note" } else { "Invoice" };
        let number = text(row, "DocNum").unwrap_or(doc_entry);
        record.insert("Name".into(), json!(format!("{kind} {number}")));
    }
    // The account lookup, set through the account's external id: `Account__c` on SAP_Invoice__c,
    // `BillingAccountId` on Revenue Cloud's Invoice.
    let account = [("Account__c", "Account__r"), ("BillingAccountId", "BillingAccount")]
        .into_iter()
        .find(|(field, _)| derived(field));
    if let (Some((_, relationship)), Some(card_code)) = (account, text(row, "CardCode")) {
        record.insert(relationship.into(), json!({"SAP_CardCode__c": card_code}));
    }
    if derived("Opportunity__c")
        && let Some(id) = text(row, "U_SF_OpportunityId").and_then(|id| SalesforceId::parse(&id).ok())
    {
        record.insert("Opportunity__c".into(), json!(id.as_str()));
    }
    stamp(flow, &mut record, synced_at);
    let target = Target::Upsert { object: flow.salesforce_object.clone(), external_id: key.salesforce.clone() };
    Ok(Write { target, record, child: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> MappingFile {
        MappingFile::shipped()
    }

    fn row(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_business_partner_becomes_an_account_upsert_then_its_contacts_with_a_credit_alert() {
        let bp = row(json!({
            "CardCode": "C1", "CardName": "Acme", "CardType": "cCustomer", "CreditLimit": 1000.0,
            "CurrentAccountBalance": 950.0, "OpenOrdersBalance": 10.0, "Phone1": "555",
            "ContactEmployees": [
                {"InternalCode": 7, "FirstName": "Ann", "LastName": "Lee", "U_SF_ContactId": null},
                {"InternalCode": 8, "FirstName": "Ben", "LastName": "Ode", "U_SF_ContactId": "003SM0000000001"}
            ]
        }));
        let writes = plan(&shipped(), "BusinessPartners", &row(json!(bp)), "2026-11-25T10:00:00.000Z").unwrap();
        let account = &writes[0];
        assert_eq!(account.target, Target::Upsert { object: "Account".into(), external_id: "SAP_CardCode__c".into() });
        assert_eq!(account.record["SAP_CardCode__c"], "C1");
        assert_eq!(account.record["SAP_Balance__c"], 950.0);
        assert_eq!(account.record["SAP_Credit_Alert__c"], true);
        assert!(!account.child);
        assert_eq!(writes.len(), 4);
        // After the contacts, the credit level for the owners of open deals (told when it is news).
        assert_eq!(writes[3].target, Target::CreditAlert);
        assert_eq!(
            (writes[3].record["Level"].as_str(), writes[3].record["Balance"].as_f64()),
            (Some("threshold"), Some(950.0))
        );
        assert!(writes[3].child);
        assert_eq!(writes[1].record["SAP_ContactCode__c"], "7");
        assert_eq!(writes[1].record["Account"], json!({"SAP_CardCode__c": "C1"}));
        assert_eq!(writes[2].target, Target::Update { object: "Contact".into() });
        assert_eq!(writes[2].record["Id"], SalesforceId::parse("003SM0000000001").unwrap().as_str());
        assert!(writes[1].child && writes[2].child);
    }

    #[test]
    fn an_invoice_is_keyed_by_entity_and_doc_entry_and_points_at_account_and_opportunity() {
        let invoice = row(json!({
            "DocEntry": 12, "DocNum": 1012, "CardCode": "C1", "DocTotal": 100.0, "PaidToDate": 0.0,
            "DocumentStatus": "bost_Open", "U_SF_OpportunityId": "006SM0000000001", "DocDueDate": "2026-12-20T00:00:00Z"
        }));
        let writes = plan(&shipped(), "Invoices", &invoice, "2026-11-25T10:00:00.000Z").unwrap();
        assert_eq!(writes[0].record["SAP_Document_Key__c"], "Invoices/12");
        assert_eq!(writes[0].record["Name"], "Invoice 1012");
        assert_eq!(writes[0].record["Account__r"], json!({"SAP_CardCode__c": "C1"}));
        assert_eq!(writes[0].record["Opportunity__c"], SalesforceId::parse("006SM0000000001").unwrap().as_str());
        assert_eq!(writes[0].record["Status__c"], "Open");
        assert_eq!(writes[1].target, Target::Update { object: "Opportunity".into() });
        assert_eq!(
            (&writes[1].record["SAP_Payment_Status__c"], &writes[1].record["SAP_Days_Overdue__c"]),
            (&json!("Unpaid"), &json!(0))
        );
        assert_eq!(
            (&writes[2].target, &writes[2].record["SAP_CardCode__c"]),
            (&Target::PaymentStatus, &json!("C1")),
            "the account too"
        );
        let late = row(json!({"DocEntry": 12, "DocNum": 1012, "CardCode": "C1", "DocTotal": 100.0, "PaidToDate": 30.0,
                              "U_SF_OpportunityId": "006SM0000000001", "DocDueDate": "2026-11-15T00:00:00Z"}));
        let writes = plan(&shipped(), "Invoices", &late, "2026-11-25T10:00:00.000Z").unwrap();
        assert_eq!(
            (&writes[1].record["SAP_Payment_Status__c"], &writes[1].record["SAP_Days_Overdue__c"]),
            (&json!("Overdue"), &json!(10))
        );
        let paid =
            row(json!({"DocEntry": 12, "DocNum": 1012, "CardCode": "C1", "DocTotal": 100.0, "PaidToDate": 100.0,
                              "U_SF_OpportunityId": "006SM0000000001", "DocDueDate": "2026-11-15T00:00:00Z"}));
        let writes = plan(&shipped(), "Invoices", &paid, "2026-11-25T10:00:00.000Z").unwrap();
        assert_eq!(writes[1].record["SAP_Payment_Status__c"], "Paid");
    }

    #[test]
    fn an_order_entered_in_sap_becomes_a_salesforce_order_and_a_bad_id_is_a_mapping_error() {
        let order = row(json!({"DocEntry": 3, "DocNum": 1003, "CardCode": "C1", "DocDate": "2026-11-20",
                               "DocDueDate": "2026-11-30T00:00:00Z", "DocumentStatus": "bost_Open", "DocumentLines": [
            {"LineNum": 0, "ItemCode": "A1", "Quantity": 3.0, "Price": 33.33, "LineTotal": 99.99, "ShipDate": "2026-11-28T00:00:00Z"},
            {"LineNum": 1, "ItemCode": "A2", "Quantity": 3.0, "Price": 10.0, "LineTotal": 32.4}]}));
        let writes = plan(&shipped(), "Orders", &order, "t").unwrap();
        assert_eq!(writes.len(), 3);
        assert_eq!(writes[0].target, Target::Upsert { object: "Order".into(), external_id: "SAP_Order_Key__c".into() });
        assert_eq!(writes[0].record["SAP_Order_Key__c"], "Orders/3");
        assert_eq!(writes[0].record["Account"], json!({"SAP_CardCode__c": "C1"}));
        assert_eq!(writes[0].record["EffectiveDate"], "2026-11-20");
        assert_eq!(writes[0].record["SAP_Expected_Ship_Date__c"], "2026-11-30");
        assert_eq!(writes[0].record["Status"], "Draft");
        // Its products once the order exists, priced from the line total (local currency, to the cent).
        assert_eq!((&writes[1].target, writes[1].child), (&Target::OrderProducts, true));
        assert_eq!(
            writes[1].record[LINES],
            json!([
                {"SAP_Line_Key__c": "Orders/3/0", "ItemCode": "A1", "Quantity": 3.0, "UnitPrice": 33.33,
                 "ServiceDate": "2026-11-28"},
                {"SAP_Line_Key__c": "Orders/3/1", "ItemCode": "A2", "Quantity": 3.0, "UnitPrice": 10.8}
            ])
        );
        // The order moved its customer's open order balance: the partner is refreshed after it.
        assert_eq!((&writes[2].target, &writes[2].record["SAP_CardCode__c"]), (&Target::PartnerRefresh, &json!("C1")));
        assert!(writes[2].child);
        let mut cancelled = order.clone();
        cancelled.insert("Cancelled".into(), json!("tYES"));
        cancelled.insert("DocumentStatus".into(), json!("bost_Close"));
        let writes = plan(&shipped(), "Orders", &cancelled, "t").unwrap();
        assert_eq!(writes[0].record["SAP_Fulfilment_Status__c"], "Cancelled");
        // A delivery copied from it (and one other order) dates both Orders; one copied from nothing, none.
        let delivery = row(json!({"DocEntry": 3, "DocDate": "2026-11-21", "DocumentLines": [
            {"BaseType": 17, "BaseEntry": 3}, {"BaseType": 17, "BaseEntry": 5}, {"BaseType": 17, "BaseEntry": 3}]}));
        let writes = plan(&shipped(), "DeliveryNotes", &delivery, "t").unwrap();
        let dated: Vec<(&Value, &Value)> =
            writes.iter().map(|w| (&w.record["SAP_Order_Key__c"], &w.record["SAP_Delivery_Date__c"])).collect();
        assert_eq!(dated, [(&json!("Orders/3"), &json!("2026-11-21")), (&json!("Orders/5"), &json!("2026-11-21"))]);
        let alone = row(json!({"DocEntry": 4, "DocDate": "2026-11-21", "DocumentLines": [{"BaseType": -1}]}));
        assert!(plan(&shipped(), "DeliveryNotes", &alone, "t").unwrap().is_empty());
        let bad = row(json!({"DocEntry": 3, "DocumentStatus": "bost_Open", "U_SF_OpportunityId": "x' OR 1"}));
        assert!(matches!(plan(&shipped(), "Orders", &bad, "t"), Err(Error::Mapping(_))));
    }

    #[test]
    fn an_item_with_a_price_on_list_one_gets_a_standard_price_after_its_product() {
        let item = row(json!({
            "ItemCode": "A1", "ItemName": "Widget", "Valid": "tYES", "QuantityOnStock": 5.0,
            "ItemPrices": [{"PriceList": 2, "Price": 9.0}, {"PriceList": 1, "Price": 12.5}]
        }));
        let writes = plan(&shipped(), "Items", &item, "t").unwrap();
        assert_eq!(writes[0].record["SAP_ItemCode__c"], "A1");
        assert_eq!(writes[0].record["IsActive"], true);
        assert_eq!(
            writes[1],
            Write {
                target: Target::StandardPrice,
                record: row(json!({"UnitPrice": 12.5, "IsActive": true})),
                child: true
            }
        );
        // Made inactive, or frozen, in SAP: the product and its price book entry are switched off.
        for (valid, frozen) in [("tNO", "tNO"), ("tYES", "tYES")] {
            let mut off = item.clone();
            off.extend(row(json!({"Valid": valid, "Frozen": frozen})));
            let writes = plan(&shipped(), "Items", &off, "t").unwrap();
            assert_eq!(writes[1].record["IsActive"], false, "{valid} {frozen}");
        }
    }

    #[test]
    fn a_partner_inactive_in_sap_flags_its_account_but_one_b1force_deactivated_writes_nothing() {
        let mapping = shipped();
        let bp = row(json!({"CardCode": "C1", "CardName": "Acme", "Valid": "tNO", "Frozen": "tNO"}));
        assert_eq!(plan(&mapping, "BusinessPartners", &bp, "t").unwrap()[0].record["SAP_Inactive__c"], true);
        let mut ours = bp.clone();
        ours.extend(deactivation::deactivate("deleted in Salesforce"));
        assert!(plan(&mapping, "BusinessPartners", &ours, "t").unwrap().is_empty());
        assert!(read_spec(&mapping, "BusinessPartners").unwrap().select.contains(&"FrozenRemarks".to_string()));
    }

    #[test]
    fn a_payment_recomputes_its_customers_standing_and_re_reads_its_invoices_and_a_cancel_is_new_content() {
        let payment = row(json!({"DocEntry": 7, "CardCode": "C1", "Cancelled": "tNO", "PaymentInvoices": [
            {"DocEntry": 12, "InvoiceType": "it_Invoice"}, {"DocEntry": 3, "InvoiceType": "it_CredItnote"}, {"DocEntry": 9}]}));
        let writes = plan(&shipped(), "IncomingPayments", &payment, "t").unwrap();
        let refreshed: Vec<&Value> =
            writes.iter().filter(|w| w.target == Target::InvoiceRefresh).map(|w| &w.record["DocEntry"]).collect();
        assert_eq!(refreshed, [&json!(9), &json!(12)], "invoices only, a credit note is not");
        assert_eq!(writes[0].target, Target::PaymentStatus);
        let mut cancelled = payment.clone();
        cancelled.insert("Cancelled".into(), json!("tYES"));
        let after = plan(&shipped(), "IncomingPayments", &cancelled, "t").unwrap();
        assert_ne!(content_digest(&writes), content_digest(&after));
        assert!(read_spec(&shipped(), "IncomingPayments").unwrap().select.contains(&"PaymentInvoices".to_string()));
    }

    #[test]
    fn the_digest_ignores_the_sync_time_but_not_the_content() {
        let bp = row(json!({"CardCode": "C1", "CreditLimit": 10.0}));
        let a = content_digest(&plan(&shipped(), "BusinessPartners", &bp, "2026-01-01T00:00:00Z").unwrap());
        let b = content_digest(&plan(&shipped(), "BusinessPartners", &bp, "2026-02-02T00:00:00Z").unwrap());
        assert_eq!(a, b);
        let changed = row(json!({"CardCode": "C1", "CreditLimit": 11.0}));
        assert_ne!(a, content_digest(&plan(&shipped(), "BusinessPartners", &changed, "t").unwrap()));
    }

    #[test]
    fn the_read_spec_selects_the_key_and_every_mapped_property_once() {
        let spec = read_spec(&shipped(), "Items").unwrap();
        assert_eq!(spec.key, "ItemCode");
        assert!(spec.select.iter().any(|s| s == "ItemPrices"));
        assert_eq!(spec.select.iter().filter(|s| *s == "ItemCode").count(), 1);
        assert!(read_spec(&shipped(), "PurchaseOrders").is_err());
    }
}
