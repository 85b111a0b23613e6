//! How the sandbox company prices a marketing document, as B1 does for the cases modelled: the
//! document currency and its rate, line prices after discount, tax per line, warehouses and units
//! of measure, and the totals in local and foreign currency. Pure.
//!
//! What is modelled, and from where (`docs/wire-notes.md` §14):
//! - Local currency USD. A business partner's `Currency` is one currency or `##` ("All
//!   Currencies"); documents of an all-currencies partner may be in any currency the company
//!   defines, those of a one-currency partner only in that currency (SAP Business One Solution Map
//!   "Currency Types"; sap-b1-blog "Currencies in SAP Business One"). B1 may also allow the local
//!   currency there [U]; the sandbox takes the strict side and refuses it.
//! - A foreign-currency document takes the day's rate (`DocRate`, one unit in USD) unless it posts
//!   its own; without a rate it is refused (B1 asks to "update the exchange rate") [wording U].
//! - `UnitPrice` is before the line discount, `Price` after it, rounded to the company's price
//!   decimals (2 here); the line total is Price × Quantity rounded to the amount decimals (2)
//!   (reference §4 DocumentLines; rounding the price first is the strict reading [U]).
//! - In a foreign currency the line's `RowTotalFC` is in the document currency and `LineTotal` in
//!   local currency; `DocTotalFc`/`VatSumFc` are the document-currency totals and 0 on a
//!   local-currency document; `DocTotal`/`VatSum` are always local (reference §4 header fields).
//! - Tax: a line's `TaxCode` (sales tax codes, US localisation) adds `round2(LineTotal × rate)` to
//!   `VatSum`; a line without one is untaxed (B1 would take the item's or partner's default). An
//!   unknown code is refused. `DocTotal` = Σ LineTotal + VatSum (before any header discount).
//! - A line's `WarehouseCode` must name a warehouse (01, 02); a `UoMCode` must be a unit of the item's
//!   UoM group (`UoMGroupEntry`, −1 = manual, which takes no unit code); `InventoryQuantity` is the
//!   quantity in the group's base unit.

use super::entities::SapError;
use super::store::round2;
use serde_json::{Map, Value, json};

/// The company's local currency.
pub const LOCAL_CURRENCY: &str = "USD";

/// The day's exchange rates: units of local currency per unit of the currency.
const RATES: [(&str, f64); 3] = [("EUR", 1.08), ("GBP", 1.27), ("CAD", 0.73)];

/// Sales tax codes and their rates.
const TAX_CODES: [(&str, f64); 4] = [("EX", 0.0), ("CA", 0.0725), ("NY", 0.08875), ("TX", 0.0625)];

/// The company's warehouses.
pub const WAREHOUSES: [&str; 2] = ["01", "02"];

/// UoM groups (UoMGroupEntry → unit code and its quantity in the group's base unit).
const UOM_GROUPS: [(i64, &[(&str, f64)]); 1] = [(1, &[("EA", 1.0), ("BOX12", 12.0)])];

/// The currency and rate a document is posted in. `body` is the posted header; `bp` the partner.
pub fn document_currency(body: &Map<String, Value>, bp: &Value, table: &str) -> Result<(String, f64), SapError> {
    let partner = bp["Currency"].as_str().unwrap_or("##");
    let currency = match body.get("DocCurrency").and_then(Value::as_str) {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if partner == "##" => LOCAL_CURRENCY.to_string(),
        _ => partner.to_string(),
    };
    if currency != LOCAL_CURRENCY && rate_of(&currency).is_none() {
        // Sandbox wording.
        return Err(SapError::new(400, "-5002", format!("Currency '{currency}' is not defined [{table}.DocCur]")));
    }
    if partner != "##" && partner != currency {
        // Sandbox wording.
        return Err(SapError::new(
            400,
            "-5002",
            format!(
                "Document currency {currency} differs from the business partner's currency {partner} [{table}.DocCur]"
            ),
        ));
    }
    if currency == LOCAL_CURRENCY {
        return Ok((currency, 1.0));
    }
    let posted = body.get("DocRate").and_then(Value::as_f64).filter(|r| *r > 0.0);
    let rate = posted.or_else(|| rate_of(&currency)).ok_or_else(|| {
        SapError::new(400, "-5002", format!("Update the exchange rate [{table}.DocRate] (sandbox wording)"))
    })?;
    Ok((currency, rate))
}

fn rate_of(currency: &str) -> Option<f64> {
    RATES.iter().find(|(c, _)| *c == currency).map(|(_, r)| *r)
}

/// Units of local currency per unit of `currency` (1 for the local currency), when defined.
pub fn rate_to_local(currency: &str) -> Option<f64> {
    if currency == LOCAL_CURRENCY { Some(1.0) } else { rate_of(currency) }
}

/// The currency a partner's documents default to: its own, or local for an all-currencies partner.
pub fn partner_currency(bp: &Value) -> Value {
    match bp["Currency"].as_str() {
        None | Some("##") => json!(LOCAL_CURRENCY),
        Some(currency) => json!(currency),
    }
}

fn tax_rate(code: &str) -> Option<f64> {
    TAX_CODES.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

/// Checks a line's tax code, warehouse and unit against the company's tables and sets its
/// `InventoryQuantity`. `item` is the line's item; `at` names the line in error texts.
pub fn check_line(line: &mut Map<String, Value>, item: &Value, quantity: f64, at: usize) -> Result<(), SapError> {
    let refused = |property: &str, what: &str| {
        // Sandbox wording; B1's code for an invalid line reference is -10 (as for ItemCode).
        SapError::new(400, "-10", format!("{what} is missing or invalid [DocumentLines.{property}][line: {at}]"))
    };
    if let Some(code) = line.get("TaxCode").and_then(Value::as_str)
        && tax_rate(code).is_none()
    {
        return Err(refused("TaxCode", "Tax code"));
    }
    if let Some(warehouse) = line.get("WarehouseCode").and_then(Value::as_str)
        && !WAREHOUSES.contains(&warehouse)
    {
        return Err(refused("WarehouseCode", "Warehouse code"));
    }
    let group = item["UoMGroupEntry"].as_i64().unwrap_or(-1);
    let factor = match line.get("UoMCode").and_then(Value::as_str) {
        None => 1.0,
        Some(code) => UOM_GROUPS
            .iter()
            .find(|(entry, _)| *entry == group)
            .and_then(|(_, units)| units.iter().find(|(unit, _)| *unit == code))
            .map(|(_, factor)| *factor)
            .ok_or_else(|| refused("UoMCode", "Unit of measure"))?,
    };
    line.insert("InventoryQuantity".into(), json!(quantity * factor));
    Ok(())
}

/// Prices the stored lines of a document in `currency` at `rate` and sets the header totals.
pub fn price_document(row: &mut Value) {
    let currency = row["DocCurrency"].as_str().unwrap_or(LOCAL_CURRENCY).to_string();
    let rate = row["DocRate"].as_f64().filter(|r| *r > 0.0).unwrap_or(1.0);
    let foreign = currency != LOCAL_CURRENCY;
    let (mut net, mut net_fc, mut vat, mut vat_fc) = (0.0, 0.0, 0.0, 0.0);
    for line in row["DocumentLines"].as_array_mut().into_iter().flatten() {
        let price = line["Price"].as_f64().or_else(|| line["UnitPrice"].as_f64()).unwrap_or(0.0);
        let quantity = line["Quantity"].as_f64().unwrap_or(0.0);
        let tax = line["TaxCode"].as_str().and_then(tax_rate).unwrap_or(0.0);
        let row_total = round2(price * quantity);
        let (local, document) = if foreign { (round2(row_total * rate), row_total) } else { (row_total, 0.0) };
        line["LineTotal"] = json!(local);
        line["RowTotalFC"] = json!(document);
        line["Currency"] = json!(currency);
        net += local;
        net_fc += document;
        vat += round2(local * tax);
        vat_fc += round2(document * tax);
    }
    row["VatSum"] = json!(round2(vat));
    row["VatSumFc"] = json!(round2(vat_fc));
    row["DocTotal"] = json!(round2(net + vat));
    row["DocTotalFc"] = json!(if foreign { round2(net_fc + vat_fc) } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn an_all_currencies_partner_takes_any_defined_currency_and_a_one_currency_partner_only_its_own() {
        let all = json!({"Currency": "##"});
        let euro = json!({"Currency": "EUR"});
        assert_eq!(document_currency(&body(json!({})), &all, "ORDR").unwrap(), ("USD".into(), 1.0));
        assert_eq!(
            document_currency(&body(json!({"DocCurrency": "GBP"})), &all, "ORDR").unwrap(),
            ("GBP".into(), 1.27)
        );
        assert_eq!(document_currency(&body(json!({})), &euro, "ORDR").unwrap(), ("EUR".into(), 1.08));
        let posted_rate = body(json!({"DocCurrency": "EUR", "DocRate": 1.1}));
        assert_eq!(document_currency(&posted_rate, &euro, "ORDR").unwrap().1, 1.1);
        let err = document_currency(&body(json!({"DocCurrency": "USD"})), &euro, "ORDR").unwrap_err();
        assert!(err.message.contains("differs from the business partner's currency EUR"), "{}", err.message);
        let err = document_currency(&body(json!({"DocCurrency": "XYZ"})), &all, "ORDR").unwrap_err();
        assert!(err.message.contains("'XYZ' is not defined"), "{}", err.message);
    }

    #[test]
    fn totals_carry_tax_per_line_and_foreign_documents_keep_both_currencies() {
        let mut doc = json!({"DocCurrency": "GBP", "DocRate": 1.27, "DocumentLines": [
            {"Price": 90.0, "Quantity": 2.0, "TaxCode": "CA"},
            {"Price": 10.0, "Quantity": 3.0},
        ]});
        price_document(&mut doc);
        let lines = &doc["DocumentLines"];
        assert_eq!((lines[0]["RowTotalFC"].as_f64(), lines[0]["LineTotal"].as_f64()), (Some(180.0), Some(228.6)));
        assert_eq!(doc["DocTotalFc"].as_f64(), Some(210.0 + 13.05));
        assert_eq!(doc["VatSumFc"].as_f64(), Some(13.05));
        assert_eq!(doc["VatSum"].as_f64(), Some(16.57));
        assert_eq!(doc["DocTotal"].as_f64(), Some(228.6 + 38.1 + 16.57));
        let mut local =
            json!({"DocCurrency": "USD", "DocumentLines": [{"Price": 33.33, "Quantity": 3.0, "TaxCode": "NY"}]});
        price_document(&mut local);
        assert_eq!((local["DocTotal"].as_f64(), local["VatSum"].as_f64()), (Some(99.99 + 8.87), Some(8.87)));
        assert_eq!(
            (local["DocTotalFc"].as_f64(), local["DocumentLines"][0]["RowTotalFC"].as_f64()),
            (Some(0.0), Some(0.0))
        );
    }

    #[test]
    fn lines_name_known_tax_codes_warehouses_and_units_of_the_items_group() {
        let manual = json!({"UoMGroupEntry": -1});
        let boxed = json!({"UoMGroupEntry": 1});
        let mut ok = body(json!({"TaxCode": "TX", "WarehouseCode": "02", "UoMCode": "BOX12"}));
        check_line(&mut ok, &boxed, 2.0, 1).unwrap();
        assert_eq!(ok["InventoryQuantity"], 24.0);
        for (bad, item, property) in [
            (json!({"TaxCode": "ZZ"}), &manual, "TaxCode"),
            (json!({"WarehouseCode": "99"}), &manual, "WarehouseCode"),
            (json!({"UoMCode": "BOX12"}), &manual, "UoMCode"),
            (json!({"UoMCode": "PALLET"}), &boxed, "UoMCode"),
        ] {
            let err = check_line(&mut body(bad), item, 1.0, 3).unwrap_err();
            assert!(err.message.contains(&format!("[DocumentLines.{property}][line: 3]")), "{}", err.message);
        }
    }
}
