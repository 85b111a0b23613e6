//! F1: a Closed Won opportunity becomes an SAP sales order, as the F1 section of the mapping file
//! says.
//!
//! A few pairs are structural: the code reads and checks them itself (CloseDate → DocDueDate as
//! the later of the close date and today; ProductCode → ItemCode, preferring the product's
//! `SAP_ItemCode__c`; Quantity; UnitPrice), and the mapping validator requires them. Every other
//! Salesforce-owned field pair of the section is copied through the same transform F2 uses (value
//! maps, kinds), the line match id is written into its SAP property, the `owner = "sap"` pairs
//! (DocEntry, DocNum) name where the order is written back, and `derived` says which status fields
//! the write-back sets.

use super::file::{CollectionMapping, FieldMapping, FlowMapping, Owner, RowSource};
use super::transform::new_sap_record;
use crate::domain::{
    CardCode, ItemCode, NewBusinessPartner, NewSalesOrder, OpportunityLine, OpportunitySnapshot, OrderRef, OrderState,
    OrderWriteBack, QUOTATION_OBJECT_TYPE, QuotationState, QuoteSnapshot, Record, SalesOrderLine, SalesforceId,
};
use crate::error::{Error, Result};
use serde_json::{Value, json};

/// The header pair F1 computes rather than copies: the due date is the later of the close date and today.
pub const DUE_DATE_PAIR: (&str, &str) = ("CloseDate", "DocDueDate");

/// The line pairs F1 reads and checks itself: every order line needs an item, a quantity and a price.
pub const LINE_PAIRS: [(&str, &str); 3] =
    [("ProductCode", "ItemCode"), ("Quantity", "Quantity"), ("UnitPrice", "UnitPrice")];

/// The order properties F1 writes back to the opportunity (the `owner = "sap"` pairs).
pub const WRITE_BACK: [&str; 2] = ["DocEntry", "DocNum"];

/// The Salesforce fields F1 computes for the write-back (its `derived` list chooses among them).
pub const COMPUTED: [&str; 3] = [SYNC_STATUS, SYNC_ERROR, SYNCED_AT];

const SYNC_STATUS: &str = "SAP_Sync_Status__c";
const SYNC_ERROR: &str = "SAP_Sync_Error__c";
const SYNCED_AT: &str = "SAP_Synced_At__c";

/// Order header properties F1 sets itself, and why; a mapping entry writing one would be overruled.
/// (`NumAtCard`, the customer's reference, may be mapped — e.g. from a PO number field — when the
/// order reference UDF is configured; otherwise it carries the opportunity id, the lookup key.)
pub const HEADER_SET_BY_F1: [(&str, &str); 4] = [
    ("CardCode", "the account's customer"),
    ("DocDate", "today"),
    ("DocDueDate", "the later of CloseDate and today, from the CloseDate pair"),
    ("Comments", "the opportunity's id and name"),
];

/// The longest sync error written to `SAP_Sync_Error__c` (a 255-character text field).
const SYNC_ERROR_MAX: usize = 255;

/// The collection of order lines: the one child-record collection of the F1 mapping.
pub fn lines_collection(flow: &FlowMapping) -> Result<&CollectionMapping> {
    flow.collections.iter().find(|c| matches!(c.source, RowSource::Children { .. })).ok_or_else(|| {
        Error::Config(format!("flow {} has no collection of OpportunityLineItems in the mapping file", flow.name))
    })
}

/// Opportunity fields F1 reads for its mapping: the header pairs and the write-back pairs.
pub fn header_fields(flow: &FlowMapping) -> Vec<String> {
    unique(flow.fields.iter().map(|f| f.salesforce.as_str()))
}

/// OpportunityLineItem fields F1 reads for its mapping: the line pairs and the match id.
pub fn line_fields(flow: &FlowMapping) -> Result<Vec<String>> {
    let lines = lines_collection(flow)?;
    let matched = match &lines.source {
        RowSource::Children { matched_by, .. } => Some(matched_by.salesforce.as_str()),
        RowSource::Fixed { .. } => None,
    };
    Ok(unique(lines.fields.iter().map(|f| f.salesforce.as_str()).chain(matched)))
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Builds the sales order for a won opportunity whose customer is `card_code`, as `flow` maps it.
/// `today` is `YYYY-MM-DD`; the due date is the close date when it is later, else today.
pub fn sales_order(
    opp: &OpportunitySnapshot,
    card_code: CardCode,
    today: &str,
    flow: &FlowMapping,
) -> Result<NewSalesOrder> {
    let deal = Deal { what: format!("Opportunity {}", opp.id), total_name: "Amount", total: opp.amount };
    let lines = document_lines(&deal, &opp.lines, flow, "add products before closing it won")?;
    let order = NewSalesOrder {
        card_code,
        opportunity_id: opp.id.clone(),
        doc_date: today.to_string(),
        doc_due_date: later_of(opp.close_date.as_deref(), today),
        comments: truncate(&format!("Salesforce opportunity {} {}", opp.id, opp.name), 254),
        mapped: without_nulls(new_sap_record(flow.fields.iter().filter(|f| !is_pair(f, DUE_DATE_PAIR)), &opp.fields)),
        lines,
    };
    check_totals(&deal, &opp.lines, &order, price_decimals(flow))?;
    Ok(order)
}

/// Builds the sales quotation for a quote whose customer is `card_code`: its lines mapped as an
/// order's are (F1's line collection), valid until the quote's expiration date (or today), and
/// checked to total the quote's TotalPrice to the cent. The opportunity's header mapping does not
/// apply (a quote has other fields).
pub fn quotation(quote: &QuoteSnapshot, card_code: CardCode, today: &str, flow: &FlowMapping) -> Result<NewSalesOrder> {
    let deal = Deal { what: format!("Quote {}", quote.id), total_name: "TotalPrice", total: quote.total_price };
    let opportunity_id =
        quote.opportunity_id.clone().ok_or_else(|| Error::Mapping(format!("Quote {} has no opportunity", quote.id)))?;
    let lines = document_lines(&deal, &quote.lines, flow, "add products before it is approved or presented")?;
    let number = quote.quote_number.as_deref().unwrap_or(quote.id.as_str());
    let order = NewSalesOrder {
        card_code,
        opportunity_id,
        doc_date: today.to_string(),
        doc_due_date: later_of(quote.expiration_date.as_deref(), today),
        comments: truncate(&format!("Salesforce quote {number} {}", quote.name), 254),
        mapped: Record::new(),
        lines,
    };
    check_totals(&deal, &quote.lines, &order, price_decimals(flow))?;
    Ok(order)
}

/// The order's lines that can be copied from its deal's open SAP quotation are based on it
/// (`BaseType` 23, `BaseEntry`, `BaseLine`), so SAP keeps the link and closes the quotation: each
/// order line takes the first unused open quotation line of the same item with enough open
/// quantity. Price and discount are still sent, so the order is the deal whatever the quotation
/// says. A quotation of another customer, closed or cancelled, is not used. Returns how many lines
/// were based.
pub fn based_on_quotation(order: &mut NewSalesOrder, quotation: &QuotationState) -> usize {
    if !quotation.open || quotation.card_code != order.card_code.as_str() {
        return 0;
    }
    let mut used = vec![false; quotation.lines.len()];
    let mut based = 0;
    for line in &mut order.lines {
        let found = quotation.lines.iter().enumerate().find(|(i, q)| {
            !used[*i] && q.item_code == line.item_code.as_str() && q.open_quantity >= line.quantity - 1e-9
        });
        if let Some((i, base)) = found {
            used[i] = true;
            based += 1;
            line.mapped.insert("BaseType".into(), json!(QUOTATION_OBJECT_TYPE));
            line.mapped.insert("BaseEntry".into(), json!(quotation.quotation.doc_entry));
            line.mapped.insert("BaseLine".into(), json!(base.line_num));
        }
    }
    based
}

/// The opportunity's path to its synced quote's SAP quotation (read when quotes are on).
pub const SYNCED_QUOTATION: &str = "SyncedQuote.SAP_Quotation_DocEntry__c";

/// The DocEntry of the quotation made from the opportunity's synced quote, when quotes are on.
pub fn synced_quotation(opp: &OpportunitySnapshot, flow: &FlowMapping) -> Option<i64> {
    if quote_statuses(flow).is_empty() {
        return None;
    }
    opp.fields.get(SYNCED_QUOTATION).and_then(Value::as_f64).map(|n| n as i64)
}

/// The Quote fields the quote flow writes back: the quotation's DocEntry and DocNum, the status
/// and error (as on the opportunity) and when.
pub const QUOTE_WRITE_BACK: [&str; 5] =
    [crate::domain::QUOTE_DOC_ENTRY, crate::domain::QUOTE_DOC_NUM, SYNC_STATUS, SYNC_ERROR, SYNCED_AT];

/// The Quote fields for a write-back of its quotation (or of why there is none).
pub fn quote_write_back(write_back: &OrderWriteBack, synced_at: &str) -> Record {
    let mut fields = Record::new();
    if let Some(quotation) = write_back.order {
        fields.insert(crate::domain::QUOTE_DOC_ENTRY.into(), json!(quotation.doc_entry));
        fields.insert(crate::domain::QUOTE_DOC_NUM.into(), json!(quotation.doc_num));
    }
    fields.insert(SYNC_STATUS.into(), json!(write_back.status));
    fields.insert(SYNC_ERROR.into(), json!(write_back.error.as_ref().map(|e| truncate(e, SYNC_ERROR_MAX))));
    fields.insert(SYNCED_AT.into(), json!(synced_at));
    fields
}

/// Why a quote is not sent to SAP (quotes off, not the opportunity's synced quote, or a status
/// outside F1's `quote_statuses`), if it is not.
pub fn quote_not_sent(quote: &QuoteSnapshot, flow: &FlowMapping) -> Option<String> {
    let statuses = quote_statuses(flow);
    if statuses.is_empty() {
        return Some("quotes are off (F1 quote_statuses is empty)".into());
    }
    if !quote.is_syncing {
        return Some("not its opportunity's synced quote".into());
    }
    if !statuses.iter().any(|s| s == &quote.status) {
        return Some(format!("status {:?} is not one of {}", quote.status, statuses.join(", ")));
    }
    None
}

/// After SAP has the quotation: its total before tax must be the quote's TotalPrice, else it is
/// not linked and a person decides (permanent error), as for an order.
pub fn check_quotation_total(quote: &QuoteSnapshot, quotation: OrderRef, net_total: Option<f64>) -> Result<()> {
    match (quote.total_price, net_total) {
        (Some(total), Some(net)) if (net - total).abs() >= HALF_CENT => Err(Error::Invalid(format!(
            "SAP quotation {} totals {net:.2} before tax but Quote {} is {total:.2}; correct the quotation in SAP or the \
             quote, then replay (the quotation is not linked until they agree)",
            quotation.doc_num, quote.id
        ))),
        _ => Ok(()),
    }
}

/// Whether the quote flow is on: F1's `quote_statuses` names a status (Quotes must then be
/// enabled in the org and force-app-quotes deployed). Off, Quotations are not polled either.
pub fn quotes_on(mapping: &crate::mapping::file::MappingFile) -> bool {
    mapping.flow("F1").is_ok_and(|flow| !quote_statuses(flow).is_empty())
}

/// The Quote `Status` values that send a synced quote to SAP (F1 option `quote_statuses`); none:
/// quotes stay in Salesforce.
pub fn quote_statuses(flow: &FlowMapping) -> &[String] {
    flow.list_option("quote_statuses")
}

/// Where a deal's lines come from, for messages: `Opportunity 006…` with its `Amount`, or
/// `Quote 0Q0…` with its `TotalPrice`.
struct Deal {
    what: String,
    total_name: &'static str,
    total: Option<f64>,
}

fn later_of(date: Option<&str>, today: &str) -> String {
    match date {
        Some(date) if date > today => date.to_string(),
        _ => today.to_string(),
    }
}

fn document_lines(
    deal: &Deal,
    lines: &[OpportunityLine],
    flow: &FlowMapping,
    add_products: &str,
) -> Result<Vec<SalesOrderLine>> {
    let what = &deal.what;
    if lines.is_empty() {
        return Err(Error::Mapping(format!("{what} has no line items; {add_products}")));
    }
    let collection = lines_collection(flow)?;
    lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let code = line.sap_item_code.as_deref().or(line.product_code.as_deref()).ok_or_else(|| {
                Error::Mapping(format!("{what} line {} has a product without ProductCode or SAP_ItemCode__c", n + 1))
            })?;
            let item_code = ItemCode::parse(code).map_err(|_| {
                Error::Mapping(format!("{what} line {} has product code {code:?}, not a valid SAP ItemCode", n + 1))
            })?;
            if line.quantity.is_nan() || line.quantity <= 0.0 {
                return Err(Error::Mapping(format!("{what} line {} has quantity {}", n + 1, line.quantity)));
            }
            Ok(SalesOrderLine {
                item_code,
                quantity: line.quantity,
                unit_price: line.unit_price,
                mapped: mapped_line(collection, &line.fields),
            })
        })
        .collect()
}

/// SAP's price decimals when the F1 section does not say (`price_decimals`; B1's default display
/// setting for prices).
pub const DEFAULT_PRICE_DECIMALS: u32 = 2;

/// Half a cent: totals that differ by less are equal.
const HALF_CENT: f64 = 0.005;

fn price_decimals(flow: &FlowMapping) -> u32 {
    flow.number_option("price_decimals").map_or(DEFAULT_PRICE_DECIMALS, |n| n as u32)
}

fn number_in(record: &Record, property: &str) -> f64 {
    record.get(property).and_then(Value::as_f64).unwrap_or(0.0)
}

fn round_to(value: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (value * scale).round() / scale
}

/// The total SAP computes for an order line: the price after the line's `DiscountPercent`, rounded
/// to the company's price decimals, times the quantity, rounded to cents (`docs/wire-notes.md` §14).
pub fn sap_line_total(line: &SalesOrderLine, price_decimals: u32) -> f64 {
    let discount = number_in(&line.mapped, "DiscountPercent");
    let price = round_to(line.unit_price * (1.0 - discount / 100.0), price_decimals);
    round_to(price * line.quantity, 2)
}

/// The order SAP would total differently from the deal is refused before it is posted: every
/// line's total as SAP computes it must equal the line's TotalPrice in Salesforce, and their sum
/// (after any header `DiscountPercent`) the opportunity's Amount (a quote's TotalPrice), each to
/// the cent. A difference is a permanent error naming the line and both figures; the usual causes
/// are a discount the mapping does not send and SAP rounding prices to fewer decimals than Salesforce.
fn check_totals(deal: &Deal, lines: &[OpportunityLine], order: &NewSalesOrder, price_decimals: u32) -> Result<()> {
    let what = &deal.what;
    let mut sum = 0.0;
    for (n, (line, source)) in order.lines.iter().zip(lines).enumerate() {
        let sap = sap_line_total(line, price_decimals);
        sum += sap;
        if let Some(salesforce) = source.total_price
            && (sap - salesforce).abs() >= HALF_CENT
        {
            let discount = number_in(&line.mapped, "DiscountPercent");
            return Err(Error::Mapping(format!(
                "{what} line {} ({}): SAP would total {sap:.2} ({} × {} less {discount} %, prices to {price_decimals} decimals), \
                 Salesforce's TotalPrice is {salesforce:.2}; check the F1 line discount mapping and price_decimals",
                n + 1,
                line.item_code,
                line.quantity,
                line.unit_price
            )));
        }
    }
    let total = round_to(sum * (1.0 - number_in(&order.mapped, "DiscountPercent") / 100.0), 2);
    match deal.total {
        Some(amount) if (total - amount).abs() >= HALF_CENT => Err(Error::Mapping(format!(
            "{what}: the SAP document would total {total:.2} before tax, its {} is {amount:.2}",
            deal.total_name
        ))),
        _ => Ok(()),
    }
}

/// What changed in a won deal since its order was made, if anything F1 must report: its Amount no
/// longer equals the order's total before tax (lines edited after Closed Won).
pub fn changed_since_order(opp: &OpportunitySnapshot, state: &OrderState) -> Option<String> {
    match (opp.amount, state.net_total) {
        (Some(amount), Some(net)) if (amount - net).abs() >= HALF_CENT => Some(format!(
            "the deal changed after SAP order {}: the opportunity is {amount:.2}, the order {net:.2} before tax; \
             update the order in SAP (or cancel it and replay the deal)",
            state.order.doc_num
        )),
        _ => None,
    }
}

/// After SAP has the order: its total before tax, in the document's currency, must be the
/// opportunity's Amount. Otherwise the order is not linked and a person decides (permanent error).
pub fn check_placed_total(opp: &OpportunitySnapshot, order: OrderRef, net_total: f64) -> Result<()> {
    match opp.amount {
        Some(amount) if (net_total - amount).abs() >= HALF_CENT => Err(Error::Invalid(format!(
            "SAP order {} totals {net_total:.2} before tax but Opportunity {} is {amount:.2}; correct the order in SAP \
             or the deal, then replay (the order is not linked until they agree)",
            order.doc_num, opp.id
        ))),
        _ => Ok(()),
    }
}

/// The SAP properties of one line beyond item, quantity and price: the copied pairs and the match id.
fn mapped_line(collection: &CollectionMapping, fields: &Record) -> Record {
    let copied = collection.fields.iter().filter(|f| !LINE_PAIRS.iter().any(|p| is_pair(f, *p)));
    let mut row = without_nulls(new_sap_record(copied, fields));
    if let RowSource::Children { matched_by, .. } = &collection.source
        && let Some(Value::String(id)) = fields.get(&matched_by.salesforce)
    {
        row.insert(matched_by.sap.clone(), json!(id));
    }
    row
}

fn is_pair(field: &FieldMapping, (salesforce, sap): (&str, &str)) -> bool {
    field.salesforce == salesforce && field.sap == sap
}

/// A new order has nothing to clear: an empty Salesforce field leaves SAP's default.
fn without_nulls(record: Record) -> Record {
    record.into_iter().filter(|(_, v)| !v.is_null()).collect()
}

/// The DocEntry already written back to the opportunity (through the file's DocEntry pair).
pub fn linked_doc_entry(opp: &OpportunitySnapshot, flow: &FlowMapping) -> Option<i64> {
    let field = flow.fields.iter().find(|f| f.owner == Owner::Sap && f.sap == "DocEntry")?;
    opp.fields.get(&field.salesforce).and_then(Value::as_f64).map(|n| n as i64)
}

/// The opportunity fields for a write-back: the order's DocEntry and DocNum into the fields the
/// file pairs them with, and the status fields its `derived` list names. `synced_at` is RFC 3339.
pub fn write_back(flow: &FlowMapping, write_back: &OrderWriteBack, synced_at: &str) -> Record {
    let mut fields = Record::new();
    if let Some(order) = write_back.order {
        for field in flow.fields.iter().filter(|f| f.owner == Owner::Sap) {
            let value = match field.sap.as_str() {
                "DocEntry" => order.doc_entry,
                "DocNum" => order.doc_num,
                _ => continue,
            };
            fields.insert(field.salesforce.clone(), json!(value));
        }
    }
    let error = write_back.error.as_ref().map(|e| truncate(e, SYNC_ERROR_MAX));
    for name in &flow.derived {
        let value = match name.as_str() {
            SYNC_STATUS => json!(write_back.status),
            SYNC_ERROR => json!(error),
            SYNCED_AT => json!(synced_at),
            _ => continue,
        };
        fields.insert(name.clone(), value);
    }
    fields
}

/// The customer of an opportunity: the account's CardCode, or a new BP to create when allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Customer {
    Existing(CardCode),
    /// The account has no CardCode; this BP is created (or found, if an earlier attempt created it).
    Create(NewBusinessPartner),
}

impl Customer {
    /// The CardCode the document is for: the account's, or the one the new BP gets.
    pub fn card_code(&self) -> &CardCode {
        match self {
            Customer::Existing(code) => code,
            Customer::Create(bp) => &bp.card_code,
        }
    }
}

/// Resolves the SAP customer. The CardCode of an auto-created BP is derived from the account id,
/// so a retry after a crash finds the BP it created instead of creating a second one.
pub fn customer(opp: &OpportunitySnapshot, auto_create: bool, prefix: &str) -> Result<Customer> {
    let account = DealAccount {
        what: format!("Opportunity {}", opp.id),
        id: opp.account_id.as_ref(),
        name: opp.account_name.as_deref(),
        card_code: opp.account_card_code.as_deref(),
    };
    customer_of(account, auto_create, prefix)
}

/// The SAP customer of a quote: its opportunity's account, resolved as for an order.
pub fn quote_customer(quote: &QuoteSnapshot, auto_create: bool, prefix: &str) -> Result<Customer> {
    let account = DealAccount {
        what: format!("Quote {}", quote.id),
        id: quote.account_id.as_ref(),
        name: quote.account_name.as_deref(),
        card_code: quote.account_card_code.as_deref(),
    };
    customer_of(account, auto_create, prefix)
}

/// The account a deal (an opportunity or a quote) is for.
struct DealAccount<'a> {
    what: String,
    id: Option<&'a SalesforceId>,
    name: Option<&'a str>,
    card_code: Option<&'a str>,
}

fn customer_of(deal: DealAccount<'_>, auto_create: bool, prefix: &str) -> Result<Customer> {
    let account = deal.id.ok_or_else(|| Error::Mapping(format!("{} has no account", deal.what)))?;
    if let Some(code) = deal.card_code.filter(|c| !c.trim().is_empty()) {
        return CardCode::parse(code.trim()).map(Customer::Existing).map_err(|_| {
            Error::Mapping(format!("Account {account} has SAP_CardCode__c {code:?}, which is not a valid CardCode"))
        });
    }
    if !auto_create {
        return Err(Error::Mapping(format!(
            "Account {account} has no SAP_CardCode__c and auto-create is off; set the CardCode or enable auto-create"
        )));
    }
    Ok(Customer::Create(NewBusinessPartner {
        card_code: card_code_for_account(account, prefix)?,
        card_name: truncate(deal.name.unwrap_or(account.as_str()), 100),
        salesforce_account_id: account.clone(),
    }))
}

/// The CardCode of the BP auto-created for `account`: `prefix`, then the account id's 12
/// record-specific characters read as one base-62 number and written in base 36 with upper-case
/// digits, zero-padded to a fixed width.
///
/// Why not the characters themselves: a 15-character Salesforce id is case-sensitive (its 18-character
/// form exists because other systems are not; SF-REST / SOAP API "Field Types: ID"), while B1 on SQL
/// Server compares CardCodes case-insensitively, so `SF…0000a` and `SF…0000A` would be one BP (#12
/// item 4). Base-62 → base-36 is a bijection on numbers and the digits have no case, so two accounts
/// always get two codes, under any collation. `OCRD.CardCode` is nvarchar(15) (SAP SDK Help, CardCode
/// "Length: 15 characters"); the id's 12 characters need up to 14 base-36 digits, 13 when the id's
/// sixth character is `0`. That character is commonly described as reserved and is `0` in every id
/// we have seen [U], so it goes first, as the number's highest digit, and the default prefix `SF`
/// fits. A prefix that leaves too little room for an id is refused with the length that would fit,
/// rather than truncating into collisions.
/// Only new BPs get this form: an account's stored `SAP_CardCode__c` is always used as it is.
pub fn card_code_for_account(account: &SalesforceId, prefix: &str) -> Result<CardCode> {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    /// 36^14 > 62^12: fourteen digits hold every id.
    const MAX_DIGITS: usize = 14;
    let short = account.short().as_bytes();
    // Reserved character, pod (two), record number (nine); the key prefix (three) is the same for every account.
    let ordered = [&short[5..6], &short[3..5], &short[6..15]].concat();
    let mut value = ordered.iter().fold(0u128, |acc, b| {
        acc * 62 + BASE62.iter().position(|d| d == b).expect("a SalesforceId is letters and digits") as u128
    });
    let mut digits = Vec::new();
    while value > 0 {
        digits.push(BASE36[(value % 36) as usize]);
        value /= 36;
    }
    let room = 15usize.saturating_sub(prefix.chars().count());
    let width = room.min(MAX_DIGITS);
    if digits.len() > width {
        return Err(Error::Config(format!(
            "Account {account} needs {} characters after the BP code prefix {prefix:?}, which leaves {room} of \
             CardCode's 15; shorten CARD_CODE_PREFIX to at most {} characters",
            digits.len(),
            15 - digits.len()
        )));
    }
    digits.resize(width, b'0');
    digits.reverse();
    let tail = String::from_utf8(digits).expect("base-36 digits are ASCII");
    CardCode::parse(&format!("{prefix}{tail}"))
        .map_err(|_| Error::Config(format!("BP code prefix {prefix:?} does not make valid CardCodes")))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OpportunityLine, OrderRef, QuotationLine};
    use crate::mapping::file::MappingFile;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn f1() -> FlowMapping {
        MappingFile::shipped().flow("F1").unwrap().clone()
    }

    /// The shipped F1 section with `edit` applied to its text.
    fn edited(edit: impl Fn(&str) -> String) -> FlowMapping {
        let text = edit(MappingFile::shipped_text());
        MappingFile::parse(&text, "edited.toml").unwrap_or_else(|e| panic!("{e}")).flow("F1").unwrap().clone()
    }

    fn opp(lines: Vec<OpportunityLine>, card_code: Option<&str>) -> OpportunitySnapshot {
        OpportunitySnapshot {
            id: SalesforceId::parse("006SM0000001Tb3").unwrap(),
            name: "Acme - 400 Widgets".into(),
            stage_name: "Closed Won".into(),
            is_won: true,
            close_date: Some("2026-12-01".into()),
            amount: Some(lines.iter().filter_map(|l| l.total_price).sum()),
            account_id: Some(SalesforceId::parse("001SM0000000iib").unwrap()),
            account_name: Some("Acme".into()),
            account_card_code: card_code.map(String::from),
            fields: record(json!({"CloseDate": "2026-12-01", "SAP_DocEntry__c": null, "SAP_DocNum__c": null})),
            lines,
        }
    }

    fn line(code: Option<&str>, qty: f64) -> OpportunityLine {
        OpportunityLine {
            product_code: code.map(String::from),
            sap_item_code: None,
            quantity: qty,
            unit_price: 10.0,
            total_price: Some(qty * 10.0),
            fields: record(json!({"Id": "00kSM0000000001YAA", "ProductCode": code, "Quantity": qty, "UnitPrice": 10.0,
                                  "Discount": null, "Description": null, "ServiceDate": null})),
        }
    }

    /// 10 % off, as Salesforce totals it (opp() sums the lines' totals into the Amount).
    fn discounted(mut line: OpportunityLine) -> OpportunityLine {
        line.total_price = Some(line.quantity * line.unit_price * 0.9);
        line.fields.insert("Discount".into(), json!(10.0));
        line.fields.insert("ServiceDate".into(), json!("2026-12-15"));
        line.fields.insert("Description".into(), json!("Blue pumps"));
        line
    }

    fn order(opp: &OpportunitySnapshot, flow: &FlowMapping) -> NewSalesOrder {
        sales_order(opp, CardCode::parse("C20000").unwrap(), "2026-11-25", flow).unwrap()
    }

    #[test]
    fn a_won_opportunity_maps_to_an_order_with_its_lines_and_reference() {
        let o = opp(vec![line(Some("A00001"), 2.0), line(Some("A00002"), 1.0)], Some("C20000"));
        let order = order(&o, &f1());
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[0].item_code.as_str(), "A00001");
        assert_eq!(order.opportunity_id, o.id);
        assert_eq!(order.doc_due_date, "2026-12-01");
        assert!(order.mapped.is_empty(), "CloseDate is the due-date pair, not a copied field: {:?}", order.mapped);
    }

    #[test]
    fn a_line_discount_service_date_and_description_become_sap_line_properties_through_the_mapping() {
        let o = opp(vec![discounted(line(Some("A00001"), 2.0))], Some("C20000"));
        let line = &order(&o, &f1()).lines[0];
        assert_eq!(
            line.mapped,
            record(json!({"DiscountPercent": 10.0, "ShipDate": "2026-12-15", "ItemDescription": "Blue pumps",
                          "U_SF_LineItemId": "00kSM0000000001YAA"}))
        );
        assert_eq!((line.quantity, line.unit_price), (2.0, 10.0));
    }

    #[test]
    fn a_line_sap_would_total_differently_after_rounding_its_price_is_refused_unless_sap_keeps_enough_decimals() {
        // 7 × 9.99 less 33 %: Salesforce 46.85 (46.8531); SAP with prices to 2 decimals 7 × 6.69 = 46.83.
        let mut deal = line(Some("A00001"), 7.0);
        deal.unit_price = 9.99;
        deal.total_price = Some(46.85);
        deal.fields.insert("Discount".into(), json!(33.0));
        let o = opp(vec![deal], Some("C20000"));
        let err = sales_order(&o, CardCode::parse("C20000").unwrap(), "2026-11-25", &f1()).unwrap_err();
        assert!(
            matches!(&err, Error::Mapping(m) if m.contains("line 1 (A00001): SAP would total 46.83") && m.contains("46.85")),
            "{err}"
        );
        let four_decimals = edited(|t| t.replacen("[flows.F1]\n", "[flows.F1]\nprice_decimals = 4\n", 1));
        assert_eq!(sap_line_total(&order(&o, &four_decimals).lines[0], 4), 46.85);
    }

    #[test]
    fn an_amount_that_is_not_the_sum_of_the_lines_is_refused_and_a_placed_order_must_match_it() {
        let mut o = opp(vec![line(Some("A00001"), 2.0), line(Some("A00002"), 1.0)], Some("C20000"));
        o.amount = Some(31.0);
        let err = sales_order(&o, CardCode::parse("C20000").unwrap(), "2026-11-25", &f1()).unwrap_err();
        assert!(matches!(&err, Error::Mapping(m) if m.contains("would total 30.00") && m.contains("31.00")), "{err}");
        o.amount = Some(30.0);
        let placed = OrderRef { doc_entry: 7, doc_num: 1007 };
        assert!(check_placed_total(&o, placed, 30.004).is_ok());
        let err = check_placed_total(&o, placed, 32.5).unwrap_err();
        assert!(matches!(&err, Error::Invalid(m) if m.contains("SAP order 1007 totals 32.50")), "{err}");
    }

    #[test]
    fn empty_salesforce_fields_are_left_out_so_sap_keeps_its_defaults() {
        let o = opp(vec![line(Some("A00001"), 2.0)], Some("C20000"));
        assert_eq!(order(&o, &f1()).lines[0].mapped, record(json!({"U_SF_LineItemId": "00kSM0000000001YAA"})));
    }

    #[test]
    fn removing_the_discount_entry_stops_the_discount_and_an_added_entry_is_sent() {
        let o = opp(vec![discounted(line(Some("A00001"), 2.0))], Some("C20000"));
        let without = edited(|t| {
            t.replace("  { salesforce = \"Discount\", sap = \"DiscountPercent\", owner = \"salesforce\" },\n", "")
        });
        let err = sales_order(&o, CardCode::parse("C20000").unwrap(), "2026-11-25", &without).unwrap_err();
        assert!(
            matches!(&err, Error::Mapping(m) if m.contains("SAP would total 20.00") && m.contains("TotalPrice is 18.00")),
            "a discount SAP would not get is refused, not sent at list price: {err}"
        );
        let undiscounted = opp(vec![line(Some("A00001"), 2.0)], Some("C20000"));
        assert!(!order(&undiscounted, &without).lines[0].mapped.contains_key("DiscountPercent"));
        let with_tax_date = edited(|t| {
            t.replacen(
                "  { salesforce = \"SAP_DocEntry__c\"",
                "  { salesforce = \"CloseDate\", sap = \"TaxDate\", owner = \"salesforce\" },\n  { salesforce = \"SAP_DocEntry__c\"",
                1,
            )
        });
        assert_eq!(order(&o, &with_tax_date).mapped, record(json!({"TaxDate": "2026-12-01"})));
    }

    #[test]
    fn a_line_without_a_usable_product_code_is_a_mapping_error_naming_the_line() {
        let card = || CardCode::parse("C1").unwrap();
        let err =
            sales_order(&opp(vec![line(Some("A00001"), 1.0), line(None, 1.0)], None), card(), "2026-11-25", &f1())
                .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(!err.is_retryable());
        let err =
            sales_order(&opp(vec![line(Some(&"A".repeat(51)), 1.0)], None), card(), "2026-11-25", &f1()).unwrap_err();
        assert!(matches!(err, Error::Mapping(_)), "longer than OITM.ItemCode's 50");
        let quoted = sales_order(&opp(vec![line(Some("A' or 1 eq 1"), 1.0)], None), card(), "2026-11-25", &f1());
        assert_eq!(quoted.unwrap().lines[0].item_code.as_str(), "A' or 1 eq 1", "a key SAP allows; OData quotes it");
        assert!(sales_order(&opp(vec![], None), card(), "2026-11-25", &f1()).is_err());
    }

    #[test]
    fn the_write_back_goes_to_the_fields_the_file_pairs_with_doc_entry_and_doc_num() {
        let synced =
            OrderWriteBack { order: Some(OrderRef { doc_entry: 7, doc_num: 1007 }), status: "Synced", error: None };
        assert_eq!(
            write_back(&f1(), &synced, "2026-11-25T10:00:00.000Z"),
            record(json!({"SAP_DocEntry__c": 7, "SAP_DocNum__c": 1007, "SAP_Sync_Status__c": "Synced",
                          "SAP_Sync_Error__c": null, "SAP_Synced_At__c": "2026-11-25T10:00:00.000Z"}))
        );
        let failed = OrderWriteBack { order: None, status: "Failed", error: Some("x".repeat(300)) };
        let body = write_back(&f1(), &failed, "t");
        assert!(body.get("SAP_DocEntry__c").is_none(), "a failure leaves DocEntry as it is");
        assert_eq!(body["SAP_Sync_Error__c"].as_str().unwrap().len(), 255);
        // F5 has the same entry; the first one is F1's.
        let no_doc_num =
            edited(|t| t.replacen("  { salesforce = \"SAP_DocNum__c\", sap = \"DocNum\", owner = \"sap\" },\n", "", 1));
        assert!(!write_back(&no_doc_num, &synced, "t").contains_key("SAP_DocNum__c"));
    }

    #[test]
    fn the_linked_doc_entry_is_read_from_the_doc_entry_pair() {
        let mut o = opp(vec![], None);
        assert_eq!(linked_doc_entry(&o, &f1()), None);
        o.fields.insert("SAP_DocEntry__c".into(), json!(42.0));
        assert_eq!(linked_doc_entry(&o, &f1()), Some(42));
    }

    #[test]
    fn the_read_lists_name_the_mapped_fields_and_the_line_match_once() {
        assert_eq!(header_fields(&f1()), ["CloseDate", "SAP_DocEntry__c", "SAP_DocNum__c"]);
        assert_eq!(
            line_fields(&f1()).unwrap(),
            ["ProductCode", "Quantity", "UnitPrice", "Discount", "Description", "ServiceDate", "Id"]
        );
    }

    #[test]
    fn an_account_without_card_code_gets_a_stable_derived_code_only_when_allowed() {
        let o = opp(vec![line(Some("A00001"), 1.0)], None);
        let Customer::Create(first) = customer(&o, true, "SF").unwrap() else { panic!("expected a BP to create") };
        let Customer::Create(again) = customer(&o, true, "SF").unwrap() else { panic!("expected a BP to create") };
        assert_eq!(first.card_code, again.card_code);
        assert!(first.card_code.as_str().len() <= 15);
        assert!(first.card_code.as_str().starts_with("SF"));
        let err = customer(&o, false, "SF").unwrap_err();
        assert!(err.to_string().contains("auto-create is off"));
    }

    fn derived(id: &str, prefix: &str) -> Result<String> {
        card_code_for_account(&SalesforceId::parse(id).unwrap(), prefix).map(|code| code.as_str().to_string())
    }

    #[test]
    fn accounts_whose_ids_differ_only_in_case_get_codes_that_differ_under_a_case_insensitive_collation() {
        let (a, b) = (derived("001SB000000000A", "SF").unwrap(), derived("001SB000000000a", "SF").unwrap());
        assert!(!a.eq_ignore_ascii_case(&b), "{a} and {b} are one CardCode to B1 on SQL Server");
        for code in [&a, &b] {
            assert_eq!(code.chars().count(), 15, "{code} fills OCRD.CardCode");
            let tail = code.strip_prefix("SF").expect("the prefix is kept");
            assert!(tail.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{code} has no case to fold");
        }
    }

    #[test]
    fn a_prefix_too_long_for_an_id_is_refused_with_the_length_that_fits() {
        let low_pod = derived("001000000000A0a", "SFDC-").unwrap();
        assert!(low_pod.starts_with("SFDC-") && low_pod.len() == 15, "{low_pod}");
        let err = derived("001SB000000000A", "SFDC").unwrap_err();
        assert!(err.to_string().contains("at most 2 characters"), "{err}");
        assert!(derived("001zzzzzzzzzzzz", "S").is_ok(), "one prefix character leaves room for every id");
        assert!(derived("001zz0zzzzzzzzz", "SF").is_ok(), "two leave room for every id whose sixth character is 0");
    }

    proptest::proptest! {
        #[test]
        fn a_case_change_anywhere_in_an_account_id_changes_the_code_beyond_case(
            base in "001[a-zA-Z0-9]{2}0[a-zA-Z0-9]{9}",
            flips in proptest::collection::vec(proptest::bool::ANY, 15),
        ) {
            let flipped: String = base
                .chars()
                .zip(&flips)
                .map(|(c, flip)| if *flip && c.is_ascii_lowercase() { c.to_ascii_uppercase() }
                                 else if *flip { c.to_ascii_lowercase() } else { c })
                .collect();
            let (a, b) = (derived(&base, "SF").unwrap(), derived(&flipped, "SF").unwrap());
            proptest::prop_assert_eq!(a.eq_ignore_ascii_case(&b), base == flipped, "{} {} → {} {}", base, flipped, a, b);
        }
    }

    #[test]
    fn an_account_card_code_is_used_as_is() {
        let o = opp(vec![], Some("C20001"));
        assert_eq!(customer(&o, true, "SF").unwrap(), Customer::Existing(CardCode::parse("C20001").unwrap()));
    }

    fn quote(lines: Vec<OpportunityLine>, status: &str, syncing: bool) -> QuoteSnapshot {
        QuoteSnapshot {
            id: SalesforceId::parse("0Q0SM0000000001").unwrap(),
            name: "Q-1".into(),
            quote_number: Some("00000001".into()),
            status: status.into(),
            is_syncing: syncing,
            opportunity_id: Some(SalesforceId::parse("006SM0000001Tb3").unwrap()),
            expiration_date: Some("2027-01-15".into()),
            total_price: Some(lines.iter().filter_map(|l| l.total_price).sum()),
            account_id: Some(SalesforceId::parse("001SM0000000iib").unwrap()),
            account_name: Some("Acme".into()),
            account_card_code: Some("C20000".into()),
            quotation: None,
            lines,
        }
    }

    fn quotes_on() -> FlowMapping {
        edited(|t| t.replace("quote_statuses = []", r#"quote_statuses = ["Approved", "Presented"]"#))
    }

    #[test]
    fn only_the_synced_quote_in_a_trigger_status_is_sent_and_only_while_quotes_are_on() {
        let approved = quote(vec![line(Some("A00001"), 2.0)], "Approved", true);
        assert!(quote_not_sent(&approved, &f1()).unwrap().contains("quotes are off"), "off as shipped");
        let on = quotes_on();
        assert_eq!(quote_not_sent(&approved, &on), None);
        assert!(quote_not_sent(&quote(vec![], "Approved", false), &on).unwrap().contains("synced quote"));
        let draft = quote_not_sent(&quote(vec![], "Draft", true), &on).unwrap();
        assert_eq!(draft, r#"status "Draft" is not one of Approved, Presented"#);
    }

    #[test]
    fn a_quote_maps_to_a_quotation_valid_until_its_expiration_with_its_total_checked() {
        let on = quotes_on();
        let q = quote(vec![discounted(line(Some("A00001"), 3.0)), line(Some("A00002"), 1.0)], "Approved", true);
        let doc = quotation(&q, CardCode::parse("C20000").unwrap(), "2026-11-25", &on).unwrap();
        assert_eq!((doc.doc_due_date.as_str(), doc.comments.as_str()), ("2027-01-15", "Salesforce quote 00000001 Q-1"));
        assert_eq!(doc.lines[0].mapped["DiscountPercent"], json!(10.0));
        assert!(doc.mapped.is_empty(), "the opportunity's header mapping does not apply to a quote");
        let mut wrong = q.clone();
        wrong.total_price = Some(99.0);
        let err = quotation(&wrong, CardCode::parse("C20000").unwrap(), "2026-11-25", &on).unwrap_err();
        assert!(
            err.to_string().contains("Quote 0Q0SM0000000001") && err.to_string().contains("its TotalPrice is 99.00")
        );
        let empty = quotation(&quote(vec![], "Approved", true), CardCode::parse("C20000").unwrap(), "2026-11-25", &on);
        assert!(empty.unwrap_err().to_string().contains("has no line items"));
    }

    #[test]
    fn order_lines_are_based_on_open_quotation_lines_of_the_same_item_and_enough_quantity() {
        let state = |open: bool, card: &str| QuotationState {
            quotation: OrderRef { doc_entry: 7, doc_num: 6007 },
            card_code: card.into(),
            net_total: None,
            cancelled: !open,
            open,
            lines: vec![
                QuotationLine { line_num: 0, item_code: "A00001".into(), open_quantity: 3.0 },
                QuotationLine { line_num: 1, item_code: "A00002".into(), open_quantity: 1.0 },
                QuotationLine { line_num: 2, item_code: "A00001".into(), open_quantity: 5.0 },
            ],
        };
        let deal =
            opp(vec![line(Some("A00001"), 5.0), line(Some("A00002"), 1.0), line(Some("A00003"), 1.0)], Some("C20000"));
        let mut order = order(&deal, &f1());
        assert_eq!(based_on_quotation(&mut order.clone(), &state(false, "C20000")), 0, "a closed quotation");
        assert_eq!(based_on_quotation(&mut order.clone(), &state(true, "C20001")), 0, "another customer's");
        assert_eq!(based_on_quotation(&mut order, &state(true, "C20000")), 2);
        let base = |n: usize| {
            let m = &order.lines[n].mapped;
            (m.get("BaseType").cloned(), m.get("BaseEntry").cloned(), m.get("BaseLine").cloned())
        };
        assert_eq!(base(0), (Some(json!(23)), Some(json!(7)), Some(json!(2))), "line 0 has too little open");
        assert_eq!(base(1), (Some(json!(23)), Some(json!(7)), Some(json!(1))));
        assert_eq!(base(2), (None, None, None), "an item the quotation does not have");
    }
}
