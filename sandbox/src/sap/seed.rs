//! The SAP seed data: business partners (with a contact and two addresses each) and items from the
//! shared [`crate::catalogue`], two price lists, and a deterministic document history up to the seed
//! date [`TODAY`], written through the same rules as API writes so balances and stock agree with it.
//!
//! The history (amounts are in the document's currency; "overdue" = DocDueDate before [`TODAY`]):
//! - **C20000** Northwind Traders (USD, limit 10 000): order 1 (1 250) fully delivered (delivery 1),
//!   invoiced from the delivery (invoice 1) and paid (payment 1, 2026-10-01); invoice 2 (800, due
//!   2026-10-20, unpaid, overdue); invoice 3 (1 200, due 2026-11-14, 500 paid by payment 2 on
//!   2026-11-18, 700 overdue); invoice 4 (600, due 2026-12-20, open); order 3 (900) open.
//!   At [`TODAY`]: 3 open invoices owing 2 100, overdue 1 500, last payment 2026-11-18 of 500,
//!   1 open order of 900, CurrentAccountBalance 2 100.
//! - **C20001** Contoso Traders (EUR): order 2 (950) partly delivered (delivery 2: line 0), invoice 5
//!   (600) from that delivery, paid by payment 3 on 2026-10-30; nothing overdue; order 2 stays open
//!   with 350 undelivered (OpenOrdersBalance 378: balances are in local currency, USD, and EUR is
//!   at 1.08; OpenDeliveryNotesBalance 0, balance 0). Its amounts are in EUR: DocTotalFc, and the
//!   local DocTotal 1.08 times it.
//! - **C20002** Fabrikam Traders (USD): invoice 6 (2 000, due 2026-11-09), credit note 1 (500) on it,
//!   so 1 500 overdue; credit note 2 (250) on account: balance 1 250.
//! - **C20005** (limit 35 000): invoices 7 and 8, 33 750 overdue (96 % of the limit); **C20009**
//!   (limit 55 000): invoice 9, 58 000 overdue (105 %); **C20006** (limit 40 000): invoice 10, 20 000
//!   open, not due.
//! - **C20010–C20029**: one invoice paid in full by a transfer 20 days after it (August–September) and
//!   one open invoice dated 2026-11-06 + (i − 10) days (net 30, not overdue; C20029's is dated
//!   [`TODAY`] 09:xx); every third of them (C20012, C20015, …, C20027) also has an open order.
//! - **C20003, C20004** and all others: no documents.
//!
//! Every seeded write happened before 10:00 on [`TODAY`]. Item stock figures (`QuantityOnStock`,
//! warehouse `InStock`) describe the state after the history; `Committed` comes from the open orders.

use super::entities::{EntitySet, Key, Stamp};
use super::store::Store;
pub use crate::catalogue::{card_code, card_name, item_code, item_name, item_price};
use serde_json::{Value, json};

/// Number of seeded business partners.
pub const CUSTOMER_COUNT: usize = 50;
/// Number of seeded items.
pub const ITEM_COUNT: usize = 40;
/// The seed date: the history's "today", for overdue arithmetic.
pub const TODAY: &str = "2026-11-25";

const CITIES: [(&str, &str, &str); 10] = [
    ("Seattle", "US", "USD"),
    ("Munich", "DE", "EUR"),
    ("Chicago", "US", "USD"),
    ("Paris", "FR", "EUR"),
    ("Austin", "US", "USD"),
    ("Madrid", "ES", "EUR"),
    ("Boston", "US", "USD"),
    ("Milan", "IT", "EUR"),
    ("Denver", "US", "USD"),
    ("Vienna", "AT", "EUR"),
];

const FIRST_NAMES: [&str; 7] = ["Ann", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace"];
const LAST_NAMES: [&str; 5] = ["Lee", "Müller", "Okafor", "Rossi", "Tanaka"];

/// A v2 date, as the Service Layer returns it.
fn date(day_of_2024: usize) -> String {
    let date = time::Date::from_ordinal_date(2024, (day_of_2024 % 365 + 1) as u16).expect("a valid day of 2024");
    format!("{date}T00:00:00Z")
}

fn clock(i: usize) -> String {
    format!("{:02}:{:02}:{:02}", 8 + i % 10, (i * 7) % 60, (i * 13) % 60)
}

/// Seeded business partners, in CardCode order.
pub fn business_partners() -> Vec<Value> {
    (0..CUSTOMER_COUNT).map(business_partner).collect()
}

fn business_partner(i: usize) -> Value {
    let (city, country, currency) = CITIES[i % CITIES.len()];
    let code = card_code(i);
    let credit_limit = 10_000.0 + 5_000.0 * (i % 10) as f64;
    let domain = card_name(i).to_lowercase().replace(' ', "-");
    let (first, last) = (FIRST_NAMES[i % FIRST_NAMES.len()], LAST_NAMES[i % LAST_NAMES.len()]);
    json!({
        "CardCode": code,
        "CardName": card_name(i),
        "CardType": "cCustomer",
        "GroupCode": 100,
        "Currency": currency,
        "CreditLimit": credit_limit,
        "MaxCommitment": credit_limit,
        // Computed from the history by the store.
        "CurrentAccountBalance": 0.0,
        "OpenOrdersBalance": 0.0,
        "OpenDeliveryNotesBalance": 0.0,
        "PriceListNum": 1,
        "EmailAddress": format!("ap@{domain}.example"),
        "Phone1": format!("+1 555 01{:02}", i),
        "FederalTaxID": format!("TX-{:06}", 100_000 + i * 7),
        "Valid": "tYES",
        "Frozen": "tNO",
        "BilltoDefault": "Bill to",
        "ShipToDefault": "Ship to",
        "BPAddresses": [
            address(&code, "Bill to", "bo_BillTo", i, city, country, 0),
            address(&code, "Ship to", "bo_ShipTo", i, city, country, 1),
        ],
        "ContactEmployees": [{
            "InternalCode": i + 1,
            "CardCode": code,
            "Name": format!("{first} {last}"),
            "FirstName": first,
            "LastName": last,
            "Position": "Accounts Payable",
            "E_Mail": format!("{}@{domain}.example", first.to_lowercase()),
            "Phone1": format!("+1 555 02{:02}", i),
            "MobilePhone": null,
            "Active": "tYES",
            "U_SF_ContactId": null,
            "CreateDate": date(i),
            "CreateTime": clock(i),
            "UpdateDate": date(60 + i * 3),
            "UpdateTime": clock(i + 3),
        }],
        "U_SF_AccountId": null,
        "CreateDate": date(i),
        "CreateTime": clock(i),
        "UpdateDate": date(60 + i * 3),
        "UpdateTime": clock(i + 3),
        "DataVersion": 1,
    })
}

fn address(code: &str, name: &str, kind: &str, i: usize, city: &str, country: &str, row: usize) -> Value {
    json!({
        "AddressName": name,
        "AddressType": kind,
        "Street": format!("{} Market Street", 100 + i),
        "ZipCode": format!("{:05}", 10_000 + i * 11),
        "City": city,
        "State": null,
        "Country": country,
        "BPCode": code,
        "RowNum": row,
        "CreateDate": date(i),
        "CreateTime": clock(i),
    })
}

/// Seeded items, in ItemCode order.
pub fn items() -> Vec<Value> {
    (0..ITEM_COUNT).map(item).collect()
}

/// Stock on hand of seeded item `i` after the history (all warehouses).
pub fn item_stock(i: usize) -> f64 {
    ((i * 17) % 200) as f64
}

fn item(i: usize) -> Value {
    let stock = item_stock(i);
    let ordered = ((i * 5) % 30) as f64;
    // Every fourth item keeps a quarter of its stock in a second warehouse.
    let second = if i.is_multiple_of(4) { (stock / 4.0).floor() } else { 0.0 };
    let mut warehouses =
        vec![json!({"WarehouseCode": "01", "InStock": stock - second, "Committed": 0.0, "Ordered": ordered})];
    if i.is_multiple_of(4) {
        warehouses.push(json!({"WarehouseCode": "02", "InStock": second, "Committed": 0.0, "Ordered": 0.0}));
    }
    json!({
        "ItemCode": item_code(i),
        "ItemName": item_name(i),
        "ItemType": "itItems",
        "ItemsGroupCode": 100,
        "InventoryItem": "tYES",
        "SalesItem": "tYES",
        "PurchaseItem": "tYES",
        "Valid": "tYES",
        "Frozen": "tNO",
        "SalesUnit": "Each",
        "UoMGroupEntry": -1,
        "DefaultWarehouse": "01",
        "QuantityOnStock": stock,
        "QuantityOrderedFromVendors": ordered,
        "QuantityOrderedByCustomers": 0.0,
        "ItemPrices": [
            {"PriceList": 1, "Price": item_price(i), "Currency": "USD", "BasePriceList": 1, "Factor": 1.0},
            {"PriceList": 2, "Price": 0.0, "Currency": null, "BasePriceList": 2, "Factor": 1.0},
        ],
        "ItemWarehouseInfoCollection": warehouses,
        "CreateDate": date(i),
        "CreateTime": clock(i),
        "UpdateDate": date(90 + i * 2),
        "UpdateTime": clock(i + 5),
        "DataVersion": 1,
    })
}

/// The two price lists: 1 priced (USD) on every item, 2 unpriced (rows with Price 0, Currency null).
pub fn price_lists() -> Vec<Value> {
    let list = |no: i64, name: &str, factor: f64, currency: &str| {
        json!({
            "PriceListNo": no, "PriceListName": name, "BasePriceList": 1, "Factor": factor,
            "IsGrossPrice": "tNO", "Active": "tYES", "ValidFrom": null, "ValidTo": null,
            "DefaultPrimeCurrency": currency, "DefaultAdditionalCurrency1": null,
            "DefaultAdditionalCurrency2": null, "RoundingMethod": "borm_NoRounding", "GroupNum": "boplgn_Group1",
        })
    };
    vec![list(1, "Base Price", 1.0, "USD"), list(2, "Distributor Price", 0.9, "EUR")]
}

/// Writes the documented history into `store` through the ordinary create rules.
pub fn history(store: &mut Store) {
    let stock_today: Vec<f64> = (0..ITEM_COUNT).map(item_stock).collect();
    let mut write = |set: EntitySet, day: &str, time: &str, body: Value| -> i64 {
        let mut body = body;
        body["DocDate"] = json!(day);
        let (key, _) = store
            .create(set, body, &Stamp::at(day, time))
            .unwrap_or_else(|e| panic!("seed {} on {day}: {}", set.name(), e.message));
        match key {
            Key::Int(entry) => entry,
            Key::Text(_) => unreachable!("documents have integer keys"),
        }
    };
    let line =
        |item: &str, quantity: f64, price: f64| json!({"ItemCode": item, "Quantity": quantity, "UnitPrice": price});
    let copy = |base_type: i64, entry: i64, base_line: i64| json!({"BaseType": base_type, "BaseEntry": entry, "BaseLine": base_line});
    let due = |d: &str| json!(d);
    use EntitySet::*;

    // C20000: delivered, invoiced and paid; two overdue invoices (one partly paid); one open invoice and order.
    let o1 = write(
        Orders,
        "2026-09-01",
        "09:10:00",
        json!({"CardCode": "C20000", "DocDueDate": due("2026-09-05"),
        "NumAtCard": "PO-4711", "DocumentLines": [line("A00002", 10.0, 75.0), line("A00003", 5.0, 100.0)]}),
    );
    let d1 = write(
        DeliveryNotes,
        "2026-09-05",
        "09:20:00",
        json!({"CardCode": "C20000",
        "DocumentLines": [copy(17, o1, 0), copy(17, o1, 1)]}),
    );
    let i1 = write(
        Invoices,
        "2026-09-06",
        "09:30:00",
        json!({"CardCode": "C20000",
        "DocumentLines": [copy(15, d1, 0), copy(15, d1, 1)]}),
    );
    write(
        IncomingPayments,
        "2026-10-01",
        "09:40:00",
        json!({"CardCode": "C20000", "TransferSum": 1250.0,
        "TransferReference": "WIRE-0001", "PaymentInvoices": [{"DocEntry": i1, "SumApplied": 1250.0}]}),
    );
    write(
        Invoices,
        "2026-09-20",
        "09:00:00",
        json!({"CardCode": "C20000", "DocDueDate": due("2026-10-20"),
        "DocumentLines": [line("A00012", 4.0, 200.0)]}),
    );
    let i3 = write(
        Invoices,
        "2026-10-15",
        "09:00:00",
        json!({"CardCode": "C20000", "DocDueDate": due("2026-11-14"),
        "DocumentLines": [line("A00013", 6.0, 200.0)]}),
    );
    write(
        Invoices,
        "2026-11-20",
        "09:00:00",
        json!({"CardCode": "C20000", "DocDueDate": due("2026-12-20"),
        "DocumentLines": [line("A00002", 8.0, 75.0)]}),
    );
    write(
        IncomingPayments,
        "2026-11-18",
        "09:50:00",
        json!({"CardCode": "C20000", "CashSum": 500.0,
        "PaymentInvoices": [{"DocEntry": i3, "SumApplied": 500.0}]}),
    );

    // C20001: an order partly delivered; the delivered part invoiced and paid.
    let o2 = write(
        Orders,
        "2026-10-01",
        "09:05:00",
        json!({"CardCode": "C20001", "DocDueDate": due("2026-10-10"),
        "DocumentLines": [line("A00005", 4.0, 150.0), line("A00006", 2.0, 175.0)]}),
    );
    let d2 = write(
        DeliveryNotes,
        "2026-10-03",
        "09:15:00",
        json!({"CardCode": "C20001",
        "DocumentLines": [copy(17, o2, 0)]}),
    );
    let i5 =
        write(Invoices, "2026-10-04", "09:25:00", json!({"CardCode": "C20001", "DocumentLines": [copy(15, d2, 0)]}));
    write(
        IncomingPayments,
        "2026-10-30",
        "09:35:00",
        json!({"CardCode": "C20001", "TransferSum": 600.0,
        "PaymentInvoices": [{"DocEntry": i5}]}),
    );

    // C20000's open order, after the others so DocEntry order is not date order.
    write(
        Orders,
        "2026-11-22",
        "09:45:00",
        json!({"CardCode": "C20000", "DocDueDate": due("2026-12-01"),
        "DocumentLines": [line("A00010", 3.0, 300.0)]}),
    );

    // C20002: a credit note on an overdue invoice and one on account.
    let i6 = write(
        Invoices,
        "2026-10-10",
        "09:00:00",
        json!({"CardCode": "C20002", "DocDueDate": due("2026-11-09"),
        "DocumentLines": [line("A00003", 20.0, 100.0)]}),
    );
    write(
        CreditNotes,
        "2026-10-20",
        "09:00:00",
        json!({"CardCode": "C20002", "Comments": "5 units returned damaged",
        "DocumentLines": [{"BaseType": 13, "BaseEntry": i6, "BaseLine": 0, "Quantity": 5.0}]}),
    );
    write(
        CreditNotes,
        "2026-11-15",
        "09:00:00",
        json!({"CardCode": "C20002", "Comments": "Goodwill credit",
        "DocumentLines": [line("A00003", 2.0, 125.0)]}),
    );

    // Credit pressure: C20005 at 96 % of its limit, C20009 over it, C20006 at half.
    write(
        Invoices,
        "2026-09-15",
        "09:00:00",
        json!({"CardCode": "C20005", "DocDueDate": due("2026-10-15"),
        "DocumentLines": [line("A00020", 30.0, 550.0)]}),
    );
    write(
        Invoices,
        "2026-10-20",
        "09:00:00",
        json!({"CardCode": "C20005", "DocDueDate": due("2026-11-19"),
        "DocumentLines": [line("A00020", 30.0, 575.0)]}),
    );
    write(
        Invoices,
        "2026-10-01",
        "09:00:00",
        json!({"CardCode": "C20009", "DocDueDate": due("2026-10-31"),
        "DocumentLines": [line("A00040", 50.0, 1160.0)]}),
    );
    write(
        Invoices,
        "2026-11-01",
        "09:00:00",
        json!({"CardCode": "C20006", "DocDueDate": due("2026-12-01"),
        "DocumentLines": [line("A00010", 50.0, 400.0)]}),
    );

    // Volume for pollers: C20010..C20029, a paid invoice and an open one each, every third an open order.
    let day = |first: (i32, u8, u8), offset: usize| {
        let first = time::Date::from_calendar_date(first.0, time::Month::try_from(first.1).expect("a month"), first.2)
            .expect("a date");
        (first + time::Duration::days(offset as i64)).to_string()
    };
    for i in 10..30 {
        let code = card_code(i);
        let item = item_code(i % ITEM_COUNT);
        let price = item_price(i % ITEM_COUNT);
        let time = format!("{:02}:{:02}:00", 8 + i % 2, (i * 7) % 60);
        let paid = write(
            Invoices,
            &day((2026, 8, 1), i - 10),
            &time,
            json!({"CardCode": code, "DocumentLines": [line(&item, 2.0, price)]}),
        );
        write(
            IncomingPayments,
            &day((2026, 8, 21), i - 10),
            &time,
            json!({"CardCode": code,
            "TransferSum": 2.0 * price, "PaymentInvoices": [{"DocEntry": paid}]}),
        );
        write(
            Invoices,
            &day((2026, 11, 6), i - 10),
            &time,
            json!({"CardCode": code, "DocumentLines": [line(&item, 1.0, price)]}),
        );
        if i.is_multiple_of(3) {
            write(
                Orders,
                &day((2026, 11, 10), (i - 10) / 2),
                &time,
                json!({"CardCode": code,
                "DocDueDate": day((2026, 12, 15), 0), "DocumentLines": [line(&item_code((i + 1) % ITEM_COUNT), 3.0, price)]}),
            );
        }
    }
    restore_stock(store, &stock_today);
}

/// Customers `B000001`, `B000002`, ... (numbering on after those already there), created as a B1 user
/// would at `now`, so a poller sees them as changed. Balances start at zero and follow their documents.
pub fn changed_business_partners(store: &mut Store, n: usize, now: &Stamp) -> Vec<String> {
    let last = store
        .table_of(EntitySet::BusinessPartners)
        .and_then(|t| {
            t.range(Key::Text("B".into())..Key::Text("C".into())).rev().find_map(|(key, _)| match key {
                Key::Text(code) => code[1..].parse::<usize>().ok(),
                Key::Int(_) => None,
            })
        })
        .unwrap_or(0);
    (last + 1..=last + n)
        .map(|k| {
            let (_, _, currency) = CITIES[k % CITIES.len()];
            let body = json!({
                "CardCode": format!("B{k:06}"), "CardName": format!("Benchmark Customer {k:06}"),
                "CardType": "cCustomer", "Currency": currency, "CreditLimit": 5_000.0 * (1 + k % 20) as f64,
                "Phone1": format!("+1 555 {:07}", k % 10_000_000),
            });
            let (_, row) = store
                .create(EntitySet::BusinessPartners, body, now)
                .unwrap_or_else(|e| panic!("seed business partner {k}: {}", e.message));
            row["CardCode"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// `n` open A/R invoices dated `now`, round-robin over `card_codes`, each one line of a seeded item,
/// created through the ordinary document rules (numbers, totals, balances). Stock is topped up again
/// afterwards, so other tests see the catalogue's figures. Panics on an unknown CardCode: a test helper.
pub fn changed_invoices(store: &mut Store, n: usize, card_codes: &[String], now: &Stamp) -> Vec<i64> {
    assert!(n == 0 || !card_codes.is_empty(), "invoices need at least one CardCode");
    let stock_before: Vec<f64> = (0..ITEM_COUNT)
        .map(|i| {
            let item = store.get(EntitySet::Items, &Key::Text(item_code(i)));
            item.ok().and_then(|item| item["QuantityOnStock"].as_f64()).unwrap_or(0.0)
        })
        .collect();
    let entries = (0..n)
        .map(|k| {
            let item = k % ITEM_COUNT;
            let body = json!({
                "CardCode": card_codes[k % card_codes.len()], "NumAtCard": format!("PO-{:06}", k + 1),
                "DocumentLines": [{"ItemCode": item_code(item), "Quantity": 1 + k % 5, "UnitPrice": item_price(item)}],
            });
            match store.create(EntitySet::Invoices, body, now) {
                Ok((Key::Int(entry), _)) => entry,
                Ok((Key::Text(_), _)) => unreachable!("documents have integer keys"),
                Err(e) => panic!("seed invoice for {}: {}", card_codes[k % card_codes.len()], e.message),
            }
        })
        .collect();
    restore_stock(store, &stock_before);
    entries
}

/// Tops warehouse 01 up so each item's stock is `stock_today[i]` again after documents moved it.
fn restore_stock(store: &mut Store, stock_today: &[f64]) {
    for (i, wanted) in stock_today.iter().enumerate() {
        let key = Key::Text(item_code(i));
        let Ok(item) = store.get(EntitySet::Items, &key) else { continue };
        let mut item = item.clone();
        let gap = wanted - item["QuantityOnStock"].as_f64().unwrap_or(0.0);
        if let Some(main) = item["ItemWarehouseInfoCollection"][0].as_object_mut() {
            let in_stock = main.get("InStock").and_then(Value::as_f64).unwrap_or(0.0);
            main.insert("InStock".into(), json!(in_stock + gap));
        }
        item["QuantityOnStock"] = json!(wanted);
        store.insert(EntitySet::Items, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_formula_shared_with_the_salesforce_sandbox() {
        assert_eq!(card_name(0), "Northwind Traders");
        assert_eq!(card_name(11), "Contoso Ltd");
        assert_eq!(card_name(49), "Alpine Works");
        assert_eq!(item_name(0), "Industrial Pump S");
        assert_eq!(item_name(39), "Cable Kit Pro");
        assert_eq!(item_code(39), "A00040");
        assert_eq!(card_code(49), "C20049");
    }

    #[test]
    fn every_seeded_code_is_distinct() {
        let bps: std::collections::BTreeSet<_> =
            business_partners().iter().map(|b| b["CardCode"].to_string()).collect();
        let items: std::collections::BTreeSet<_> = items().iter().map(|i| i["ItemCode"].to_string()).collect();
        assert_eq!((bps.len(), items.len()), (CUSTOMER_COUNT, ITEM_COUNT));
        assert!(!items.contains("\"Z99999\""), "the poison product must not exist in SAP");
    }

    fn bp(store: &Store, code: &str) -> Value {
        store.get(EntitySet::BusinessPartners, &Key::Text(code.into())).unwrap().clone()
    }

    fn open_amount(store: &Store, set: EntitySet, code: &str) -> f64 {
        store
            .rows_where(set, |d| d["CardCode"] == code && d["DocumentStatus"] == "bost_Open")
            .iter()
            .map(|d| d["DocTotal"].as_f64().unwrap() - d["PaidToDate"].as_f64().unwrap())
            .sum()
    }

    #[test]
    fn the_documented_balances_follow_from_the_history() {
        let store = Store::seeded();
        let figures = |code: &str| {
            let row = bp(&store, code);
            (row["CurrentAccountBalance"].as_f64().unwrap(), row["OpenOrdersBalance"].as_f64().unwrap())
        };
        assert_eq!(figures("C20000"), (2100.0, 900.0));
        assert_eq!(figures("C20001"), (0.0, 378.0), "350 EUR open, in local currency at 1.08");
        assert_eq!(figures("C20002"), (1250.0, 0.0));
        assert_eq!(figures("C20004"), (0.0, 0.0));
        assert!(figures("C20005").0 / 35_000.0 > 0.9);
        assert!(figures("C20009").0 > 55_000.0);
    }

    #[test]
    fn every_balance_equals_open_invoices_minus_open_credits_and_unapplied_payments() {
        let store = Store::seeded();
        for i in 0..CUSTOMER_COUNT {
            let code = card_code(i);
            let unapplied: f64 = store
                .rows_where(EntitySet::IncomingPayments, |p| p["CardCode"] == code.as_str())
                .iter()
                .map(|p| {
                    let applied: f64 = p["PaymentInvoices"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a["SumApplied"].as_f64().unwrap())
                        .sum();
                    super::super::documents::payment_total(p) - applied
                })
                .sum();
            let expected = open_amount(&store, EntitySet::Invoices, &code)
                - open_amount(&store, EntitySet::CreditNotes, &code)
                - unapplied;
            let balance = bp(&store, &code)["CurrentAccountBalance"].as_f64().unwrap();
            assert!((balance - expected).abs() < 0.01, "{code}: {balance} vs {expected}");
        }
    }

    #[test]
    fn stock_matches_the_catalogue_and_committed_comes_from_open_orders() {
        let store = Store::seeded();
        for i in 0..ITEM_COUNT {
            let item = store.get(EntitySet::Items, &Key::Text(item_code(i))).unwrap();
            let warehouses = item["ItemWarehouseInfoCollection"].as_array().unwrap();
            let in_stock: f64 = warehouses.iter().map(|w| w["InStock"].as_f64().unwrap()).sum();
            assert_eq!((item["QuantityOnStock"].as_f64(), in_stock), (Some(item_stock(i)), item_stock(i)));
        }
        let pump = store.get(EntitySet::Items, &Key::Text("A00010".into())).unwrap();
        assert_eq!(pump["ItemWarehouseInfoCollection"][0]["Committed"], 3.0, "C20000's open order 3");
    }

    #[test]
    fn changed_partners_and_invoices_carry_the_clock_and_leave_the_seed_as_it_was() {
        let mut store = Store::seeded();
        let seeded = (store.rows(EntitySet::BusinessPartners), store.rows(EntitySet::Invoices));
        let stock = |store: &Store| {
            store.rows(EntitySet::Items).iter().map(|i| i["QuantityOnStock"].clone()).collect::<Vec<_>>()
        };
        let stock_before = stock(&store);
        let now = Stamp::at("2026-11-26", "07:30:00");
        let codes = changed_business_partners(&mut store, 3, &now);
        assert_eq!(codes, ["B000001", "B000002", "B000003"]);
        let entries = changed_invoices(&mut store, 7, &codes, &now);
        assert_eq!(entries.len(), 7);
        assert_eq!(changed_business_partners(&mut store, 1, &now), ["B000004"], "numbering goes on");

        let bp = store.get(EntitySet::BusinessPartners, &Key::Text("B000002".into())).unwrap();
        for field in ["CardName", "CreditLimit", "CurrentAccountBalance", "OpenOrdersBalance", "Phone1", "Currency"] {
            assert!(!bp[field].is_null(), "{field}");
        }
        assert_eq!(
            (bp["UpdateDate"].as_str(), bp["UpdateTime"].as_str()),
            (Some("2026-11-26T00:00:00Z"), Some("07:30:00"))
        );
        let invoices: Vec<Value> =
            entries.iter().map(|e| store.get(EntitySet::Invoices, &Key::Int(*e)).unwrap().clone()).collect();
        let first = &invoices[1];
        assert_eq!(first["CardCode"], "B000002");
        assert_eq!(
            (first["DocNum"].as_i64(), first["NumAtCard"].as_str()),
            (Some(3000 + entries[1]), Some("PO-000002"))
        );
        assert_eq!(
            (first["DocDate"].as_str(), first["DocDueDate"].as_str()),
            (Some("2026-11-26T00:00:00Z"), Some("2026-12-26T00:00:00Z"))
        );
        assert_eq!(
            (first["DocumentStatus"].as_str(), first["DocObjectCode"].as_str()),
            (Some("bost_Open"), Some("oInvoices"))
        );
        assert_eq!(
            (first["VatSum"].as_f64(), first["PaidToDate"].as_f64(), first["DocCurrency"].clone()),
            (Some(0.0), Some(0.0), bp["Currency"].clone())
        );
        assert_eq!(
            (first["UpdateDate"].as_str(), first["UpdateTime"].as_str()),
            (Some("2026-11-26T00:00:00Z"), Some("07:30:00"))
        );
        let owed: f64 =
            invoices.iter().filter(|i| i["CardCode"] == "B000002").map(|i| i["DocTotal"].as_f64().unwrap()).sum();
        assert!(owed > 0.0);
        assert_eq!(bp["CurrentAccountBalance"].as_f64(), Some(owed), "the balance follows the invoices");

        assert_eq!(stock(&store), stock_before, "stock is topped up again");
        let (partners, history) = seeded;
        let now_partners = store
            .rows_where(EntitySet::BusinessPartners, |bp| bp["CardCode"].as_str().is_some_and(|c| c.starts_with('C')));
        assert!(now_partners == partners, "the seeded partners are untouched");
        assert!(store.rows(EntitySet::Invoices)[..history.len()] == history[..], "the seeded invoices are untouched");
    }

    #[test]
    fn the_seed_is_deterministic_and_ends_before_ten_on_the_seed_date() {
        let (a, b) = (Store::seeded(), Store::seeded());
        for set in super::super::entities::DOCUMENT_SETS {
            assert_eq!(a.rows(set), b.rows(set));
            for row in a.rows(set) {
                let stamp =
                    (row["UpdateDate"].as_str().unwrap().to_string(), row["UpdateTime"].as_str().unwrap().to_string());
                assert!(stamp < (format!("{TODAY}T00:00:00Z"), "10:00:00".to_string()), "{stamp:?}");
            }
        }
        assert_eq!(a.rows(EntitySet::IncomingPayments), b.rows(EntitySet::IncomingPayments));
    }
}
