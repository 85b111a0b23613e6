//! F3 billing context and the live lookups (credit status, item availability): `$select`ed reads
//! turned into domain values. Row parsing is pure; the arithmetic lives in `domain::billing`.

use super::MAX_REQUEST_LINE;
use super::odata::{Filter, Literal, Property, Query, key_path};
use super::rows::{NEXT_LINK_ROOM, runs_that_fit};
use super::schema;
use super::{SapClient, errors, undecodable};
use crate::domain::{
    BillingContext, CardCode, CreditStatus, ItemAvailability, ItemCode, OpenInvoice, OpenOrder, PaymentReceived,
    WarehouseStock,
};
use crate::error::{Error, Result};
use serde_json::Value;

/// Customers per bulk read of open invoices at most: 40 short `CardCode eq '…'` terms make a request
/// line near 2 KB; long non-ASCII codes make runs shorter (the request line stays within 8190 bytes).
pub const CUSTOMERS_PER_READ: usize = 40;

impl SapClient {
    /// Three queries at once: open invoices, the latest payment, open orders.
    pub(super) async fn read_billing_context(&self, card_code: &CardCode, today: &str) -> Result<BillingContext> {
        let today = parse_date(today)
            .ok_or_else(|| Error::Invalid(format!("billing context: {today:?} is not a YYYY-MM-DD date")))?;
        let (card, status, cancelled): (Property, Property, Property) =
            ("CardCode".into(), "DocumentStatus".into(), "Cancelled".into());
        let customer = Filter::eq(&card, schema::literal(&card, card_code.as_str())?);
        let open = Filter::eq(&status, schema::literal(&status, "bost_Open")?);
        let not_cancelled = Filter::eq(&cancelled, schema::literal(&cancelled, "tNO")?);
        let customer = || customer.clone();
        let open = || open.clone();
        let invoices = Query::new()
            .filter(customer().and(open()))
            .select(["DocEntry", "DocTotal", "PaidToDate", "DocDueDate", "DocCurrency"])
            .order_by("DocEntry", true);
        // Payments have no UpdateDate; the newest is the latest DocDate, then the highest DocEntry.
        let last_payment = Query::new()
            .filter(customer().and(not_cancelled))
            .select(["DocEntry", "DocDate", "CashSum", "TransferSum", "PaymentChecks", "PaymentCreditCards"])
            .order_by("DocDate", false)
            .order_by("DocEntry", false)
            .top(1);
        let orders = Query::new()
            .filter(customer().and(open()))
            .select(["DocEntry", "DocTotal", "DocCurrency"])
            .order_by("DocEntry", true);
        let (invoices, payments, orders) = tokio::try_join!(
            self.query("Invoices", &invoices),
            self.query("IncomingPayments", &last_payment),
            self.query("Orders", &orders),
        )?;
        let invoices = invoices.iter().map(open_invoice).collect::<Result<Vec<_>>>()?;
        let payment = payments.first().map(payment_received).transpose()?;
        let orders: Vec<OpenOrder> = orders.iter().map(open_order).collect();
        Ok(BillingContext::aggregate(&invoices, payment.as_ref(), &orders, today))
    }

    /// The open invoices of many customers: one query (every page of it) per run of at most
    /// [`CUSTOMERS_PER_READ`] customers whose request line fits the server's limit, for the payment
    /// standings of a whole round. (CardCode, invoice) pairs.
    pub(super) async fn read_open_invoices_of(&self, card_codes: &[CardCode]) -> Result<Vec<(String, OpenInvoice)>> {
        let (card, status): (Property, Property) = ("CardCode".into(), "DocumentStatus".into());
        let open = Filter::eq(&status, schema::literal(&status, "bost_Open")?);
        let literals = card_codes.iter().map(|c| schema::literal(&card, c.as_str())).collect::<Result<Vec<_>>>()?;
        let query = |run: &[Literal]| {
            let customers = Filter::any(run.iter().map(|literal| Filter::eq(&card, literal.clone())));
            Query::new()
                .filter(open.clone().and(customers))
                .select(["DocEntry", "CardCode", "DocTotal", "PaidToDate", "DocDueDate", "DocCurrency"])
                .order_by("DocEntry", true)
        };
        let fits = |run: &[Literal]| -> Result<bool> {
            Ok(self.request_line_len("Invoices", &query(run))? + NEXT_LINK_ROOM <= MAX_REQUEST_LINE)
        };
        let mut invoices = Vec::new();
        for run in runs_that_fit(&literals, CUSTOMERS_PER_READ, fits)? {
            for row in self.query("Invoices", &query(run)).await? {
                let code = row["CardCode"].as_str().unwrap_or_default().to_string();
                invoices.push((code, open_invoice(&row)?));
            }
        }
        Ok(invoices)
    }

    /// One `$select`ed GET of the partner.
    pub(super) async fn read_credit_status(&self, card_code: &CardCode) -> Result<Option<CreditStatus>> {
        let path = format!(
            "{}?$select=CreditLimit,CurrentAccountBalance,OpenOrdersBalance,Frozen,Currency",
            key_path("BusinessPartners", card_code.as_str())
        );
        Ok(self.get_if_exists(&path).await?.as_ref().map(credit_status))
    }

    /// One `$select`ed GET of the item.
    pub(super) async fn read_item_availability(
        &self,
        item_code: &ItemCode,
        price_list: i32,
    ) -> Result<Option<ItemAvailability>> {
        let path = format!("{}?$select=ItemPrices,ItemWarehouseInfoCollection", key_path("Items", item_code.as_str()));
        Ok(self.get_if_exists(&path).await?.map(|row| item_availability(&row, price_list)))
    }

    async fn get_if_exists(&self, path: &str) -> Result<Option<Value>> {
        match self.get(path).await {
            Ok(row) => Ok(Some(row)),
            Err(err) if errors::is_not_found(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// A number, also when sent as a string; absent or null is 0.
fn amount(row: &Value, field: &str) -> f64 {
    match &row[field] {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `2026-10-20T00:00:00Z` (v2) or `2026-10-20` (v1).
fn parse_date(raw: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.get(..10)?, &format).ok()
}

fn date_of(row: &Value, field: &str) -> Result<time::Date> {
    row[field].as_str().and_then(parse_date).ok_or_else(|| undecodable(&format!("a document without a valid {field}")))
}

fn currency(row: &Value, field: &str) -> Option<String> {
    // "##" is B1's "all currencies" on a partner, not a currency.
    row[field].as_str().filter(|c| !c.is_empty() && *c != "##").map(str::to_string)
}

fn open_invoice(row: &Value) -> Result<OpenInvoice> {
    Ok(OpenInvoice {
        doc_total: amount(row, "DocTotal"),
        paid_to_date: amount(row, "PaidToDate"),
        due_date: date_of(row, "DocDueDate")?,
        currency: currency(row, "DocCurrency"),
    })
}

fn payment_received(row: &Value) -> Result<PaymentReceived> {
    let sum_of = |collection: &str, field: &str| -> f64 {
        row[collection].as_array().into_iter().flatten().map(|m| amount(m, field)).sum()
    };
    let total = amount(row, "CashSum")
        + amount(row, "TransferSum")
        + sum_of("PaymentChecks", "CheckSum")
        + sum_of("PaymentCreditCards", "CreditSum");
    Ok(PaymentReceived { date: date_of(row, "DocDate")?, amount: total })
}

fn open_order(row: &Value) -> OpenOrder {
    OpenOrder { doc_total: amount(row, "DocTotal"), currency: currency(row, "DocCurrency") }
}

fn credit_status(row: &Value) -> CreditStatus {
    CreditStatus {
        credit_limit: amount(row, "CreditLimit"),
        balance: amount(row, "CurrentAccountBalance"),
        open_orders_balance: amount(row, "OpenOrdersBalance"),
        frozen: row["Frozen"] == "tYES",
        currency: currency(row, "Currency"),
    }
}

fn item_availability(row: &Value, price_list: i32) -> ItemAvailability {
    let price_row = row["ItemPrices"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["PriceList"].as_i64() == Some(i64::from(price_list)));
    // An unpriced row comes back as Price 0 with Currency null (reference §4): no price, not a free item.
    let (price, currency) = match price_row {
        Some(p) if !(p["Currency"].is_null() && amount(p, "Price") == 0.0) => {
            (Some(amount(p, "Price")), currency(p, "Currency"))
        }
        _ => (None, None),
    };
    let warehouses: Vec<WarehouseStock> = row["ItemWarehouseInfoCollection"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| WarehouseStock {
            warehouse: w["WarehouseCode"].as_str().unwrap_or_default().to_string(),
            in_stock: amount(w, "InStock"),
            committed: amount(w, "Committed"),
            ordered: amount(w, "Ordered"),
        })
        .collect();
    ItemAvailability::from_warehouses(price, currency, warehouses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unpriced_row_is_no_price_and_stock_sums_over_warehouses() {
        let row = json!({
            "ItemPrices": [{"PriceList": 1, "Price": 300.0, "Currency": "USD"}, {"PriceList": 2, "Price": 0.0, "Currency": null}],
            "ItemWarehouseInfoCollection": [
                {"WarehouseCode": "01", "InStock": "100", "Committed": 3.0, "Ordered": 15.0},
                {"WarehouseCode": "02", "InStock": 20.0, "Committed": 0.0, "Ordered": 0.0},
            ],
        });
        let listed = item_availability(&row, 1);
        assert_eq!((listed.price, listed.currency.as_deref(), listed.available), (Some(300.0), Some("USD"), 132.0));
        let codes: Vec<&str> = listed.warehouses.iter().map(|w| w.warehouse.as_str()).collect();
        assert_eq!((codes, listed.warehouses[0].available()), (vec!["01", "02"], 112.0));
        assert_eq!(item_availability(&row, 2).price, None);
        assert_eq!(item_availability(&row, 9).price, None);
    }

    #[test]
    fn payment_amount_adds_every_means_and_dates_accept_both_versions() {
        let row = json!({"DocDate": "2026-11-18", "CashSum": 100.0, "TransferSum": "50.5",
            "PaymentChecks": [{"CheckSum": 10.0}], "PaymentCreditCards": [{"CreditSum": 1.0}]});
        let payment = payment_received(&row).unwrap();
        assert_eq!((payment.date.to_string(), payment.amount), ("2026-11-18".into(), 161.5));
        assert_eq!(parse_date("2026-10-20T00:00:00Z"), parse_date("2026-10-20"));
        assert!(open_invoice(&json!({"DocTotal": 1.0})).is_err(), "an invoice without a due date is not guessed");
    }

    #[test]
    fn a_partner_in_all_currencies_has_no_currency_and_frozen_is_read_from_tyes() {
        let status = credit_status(&json!({"CreditLimit": 10.0, "Frozen": "tYES", "Currency": "##"}));
        assert_eq!((status.frozen, status.currency, status.balance), (true, None, 0.0));
    }
}
