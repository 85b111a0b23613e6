//! F3 billing context and the live lookups (credit status, item availability): what Salesforce is
//! shown about a customer's or an item's state in SAP. Pure aggregation.

/// An open A/R invoice as the billing context needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenInvoice {
    pub doc_total: f64,
    pub paid_to_date: f64,
    pub due_date: time::Date,
    pub currency: Option<String>,
}

/// An incoming payment: when and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentReceived {
    pub date: time::Date,
    pub amount: f64,
}

/// An open sales order.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrder {
    pub doc_total: f64,
    pub currency: Option<String>,
}

/// A customer's billing situation, shown on a Salesforce Case (F3).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BillingContext {
    pub open_invoice_count: u32,
    /// What is still owed on open invoices: Σ (DocTotal − PaidToDate).
    pub open_invoice_total: f64,
    /// The part of `open_invoice_total` on invoices due before today.
    pub overdue_amount: f64,
    /// `YYYY-MM-DD`.
    pub last_payment_date: Option<String>,
    pub last_payment_amount: Option<f64>,
    pub open_order_count: u32,
    /// Σ DocTotal of open orders (a partly delivered order counts in full).
    pub open_order_total: f64,
    /// The documents' currency when they all agree; `None` when there are none or they differ.
    pub currency: Option<String>,
    /// Open invoices something was paid or credited on.
    #[serde(default)]
    pub partly_paid_count: u32,
    /// Days since the oldest unpaid due date (0 when nothing is overdue).
    #[serde(default)]
    pub days_overdue: u32,
}

/// A customer's or a deal's payment standing, in the values of the `SAP_Payment_Status__c`
/// picklists: `Overdue` (with its days), `Partially Paid`, `Unpaid`, or `Paid` (nothing open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentStanding {
    pub status: &'static str,
    pub days_overdue: u32,
}

impl PaymentStanding {
    /// From a customer's billing context.
    pub fn of(context: &BillingContext) -> Self {
        let status = if context.overdue_amount > 0.005 {
            "Overdue"
        } else if context.partly_paid_count > 0 {
            "Partially Paid"
        } else if context.open_invoice_count > 0 {
            "Unpaid"
        } else {
            "Paid"
        };
        Self { status, days_overdue: context.days_overdue }
    }

    /// From a deal's invoices (open or not) as of `today`.
    pub fn of_invoices(invoices: &[OpenInvoice], today: time::Date) -> Self {
        let open: Vec<OpenInvoice> =
            invoices.iter().filter(|i| i.doc_total - i.paid_to_date > 0.005).cloned().collect();
        Self::of(&BillingContext::aggregate(&open, None, &[], today))
    }
}

impl BillingContext {
    /// Aggregates open invoices, the latest payment and open orders as of `today`.
    pub fn aggregate(
        invoices: &[OpenInvoice],
        last_payment: Option<&PaymentReceived>,
        orders: &[OpenOrder],
        today: time::Date,
    ) -> Self {
        let owed = |invoice: &OpenInvoice| (invoice.doc_total - invoice.paid_to_date).max(0.0);
        let currencies = invoices.iter().map(|i| &i.currency).chain(orders.iter().map(|o| &o.currency));
        Self {
            open_invoice_count: invoices.len() as u32,
            open_invoice_total: cents(invoices.iter().map(owed).sum()),
            overdue_amount: cents(invoices.iter().filter(|i| i.due_date < today).map(owed).sum()),
            last_payment_date: last_payment.map(|p| p.date.to_string()),
            last_payment_amount: last_payment.map(|p| cents(p.amount)),
            open_order_count: orders.len() as u32,
            open_order_total: cents(orders.iter().map(|o| o.doc_total).sum()),
            currency: common(currencies),
            partly_paid_count: invoices.iter().filter(|i| i.paid_to_date > 0.005).count() as u32,
            days_overdue: invoices
                .iter()
                .filter(|i| i.due_date < today && owed(i) > 0.005)
                .map(|i| (today - i.due_date).whole_days().max(0) as u32)
                .max()
                .unwrap_or(0),
        }
    }
}

/// A customer's credit position for a live lookup.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CreditStatus {
    pub credit_limit: f64,
    /// CurrentAccountBalance: what the customer owes now.
    pub balance: f64,
    pub open_orders_balance: f64,
    pub frozen: bool,
    pub currency: Option<String>,
}

impl CreditStatus {
    /// Credit left for new orders: limit − balance − open orders (negative when over the limit).
    pub fn available_credit(&self) -> f64 {
        cents(self.credit_limit - self.balance - self.open_orders_balance)
    }
}

/// One warehouse's stock figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarehouseStock {
    pub warehouse: String,
    pub in_stock: f64,
    pub committed: f64,
    pub ordered: f64,
}

impl WarehouseStock {
    /// in_stock − committed + ordered (the usual B1 rule).
    pub fn available(&self) -> f64 {
        self.in_stock - self.committed + self.ordered
    }
}

/// An item's price on one price list and its stock over all warehouses, for a live lookup.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemAvailability {
    /// `None` when the item has no price on the list.
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub in_stock: f64,
    pub committed: f64,
    pub ordered: f64,
    /// in_stock − committed + ordered (the usual B1 rule).
    pub available: f64,
    /// The same figures per warehouse, in SAP's order.
    pub warehouses: Vec<WarehouseStock>,
}

impl ItemAvailability {
    /// Sums the warehouses and derives `available`.
    pub fn from_warehouses(price: Option<f64>, currency: Option<String>, warehouses: Vec<WarehouseStock>) -> Self {
        let in_stock = warehouses.iter().map(|w| w.in_stock).sum::<f64>();
        let committed = warehouses.iter().map(|w| w.committed).sum::<f64>();
        let ordered = warehouses.iter().map(|w| w.ordered).sum::<f64>();
        Self { price, currency, in_stock, committed, ordered, available: in_stock - committed + ordered, warehouses }
    }
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The one value all items share, if any.
fn common<'a>(mut values: impl Iterator<Item = &'a Option<String>>) -> Option<String> {
    let first = values.next()?.clone()?;
    values.all(|v| v.as_deref() == Some(first.as_str())).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn invoice(total: f64, paid: f64, due: time::Date) -> OpenInvoice {
        OpenInvoice { doc_total: total, paid_to_date: paid, due_date: due, currency: Some("USD".into()) }
    }

    #[test]
    fn overdue_counts_only_what_is_still_owed_on_invoices_due_before_today() {
        let invoices = [
            invoice(800.0, 0.0, date!(2026 - 10 - 20)),
            invoice(1200.0, 500.0, date!(2026 - 11 - 14)),
            invoice(600.0, 0.0, date!(2026 - 11 - 25)),
        ];
        let payment = PaymentReceived { date: date!(2026 - 11 - 18), amount: 500.0 };
        let orders = [OpenOrder { doc_total: 900.0, currency: Some("USD".into()) }];
        let context = BillingContext::aggregate(&invoices, Some(&payment), &orders, date!(2026 - 11 - 25));
        assert_eq!(
            context,
            BillingContext {
                open_invoice_count: 3,
                open_invoice_total: 2100.0,
                overdue_amount: 1500.0,
                last_payment_date: Some("2026-11-18".into()),
                last_payment_amount: Some(500.0),
                open_order_count: 1,
                open_order_total: 900.0,
                currency: Some("USD".into()),
                partly_paid_count: 1,
                days_overdue: 36,
            },
            "an invoice due today is not overdue yet; the oldest overdue is 36 days past due"
        );
        assert_eq!(PaymentStanding::of(&context), PaymentStanding { status: "Overdue", days_overdue: 36 });
    }

    #[test]
    fn a_deal_is_paid_partly_paid_unpaid_or_overdue_by_its_invoices() {
        let today = date!(2026 - 11 - 25);
        let standing = |invoices: &[OpenInvoice]| PaymentStanding::of_invoices(invoices, today);
        assert_eq!(standing(&[invoice(100.0, 100.0, date!(2026 - 11 - 1))]).status, "Paid");
        assert_eq!(standing(&[]).status, "Paid");
        assert_eq!(standing(&[invoice(100.0, 0.0, date!(2026 - 12 - 1))]).status, "Unpaid");
        assert_eq!(standing(&[invoice(100.0, 40.0, date!(2026 - 12 - 1))]).status, "Partially Paid");
        assert_eq!(
            standing(&[invoice(100.0, 40.0, date!(2026 - 11 - 20)), invoice(50.0, 0.0, date!(2026 - 12 - 1))]),
            PaymentStanding { status: "Overdue", days_overdue: 5 }
        );
    }

    #[test]
    fn a_customer_without_documents_has_an_empty_context() {
        let context = BillingContext::aggregate(&[], None, &[], date!(2026 - 11 - 25));
        assert_eq!((context.open_invoice_count, context.overdue_amount, context.currency), (0, 0.0, None));
        assert_eq!(context.last_payment_date, None);
    }

    #[test]
    fn mixed_currencies_give_no_currency_and_sums_are_rounded_to_cents() {
        let mut eur = invoice(0.1, 0.0, date!(2026 - 1 - 1));
        eur.currency = Some("EUR".into());
        let context =
            BillingContext::aggregate(&[invoice(0.2, 0.0, date!(2026 - 1 - 1)), eur], None, &[], date!(2026 - 11 - 25));
        assert_eq!((context.overdue_amount, context.currency), (0.3, None));
    }

    #[test]
    fn available_stock_is_in_stock_minus_committed_plus_ordered_over_all_warehouses() {
        let warehouses = vec![
            WarehouseStock { warehouse: "01".into(), in_stock: 10.0, committed: 4.0, ordered: 0.0 },
            WarehouseStock { warehouse: "02".into(), in_stock: 2.0, committed: 0.0, ordered: 5.0 },
        ];
        let item = ItemAvailability::from_warehouses(Some(50.0), Some("USD".into()), warehouses);
        assert_eq!((item.in_stock, item.committed, item.ordered, item.available), (12.0, 4.0, 5.0, 13.0));
        let per_warehouse: Vec<(&str, f64)> =
            item.warehouses.iter().map(|w| (w.warehouse.as_str(), w.available())).collect();
        assert_eq!(per_warehouse, [("01", 6.0), ("02", 7.0)]);
    }

    #[test]
    fn available_credit_goes_negative_over_the_limit() {
        let status = CreditStatus {
            credit_limit: 55_000.0,
            balance: 58_000.0,
            open_orders_balance: 100.0,
            frozen: false,
            currency: None,
        };
        assert_eq!(status.available_credit(), -3100.0);
    }
}
