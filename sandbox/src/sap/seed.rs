//! The SAP seed data: business partners and items from the shared [`crate::catalogue`].

pub use crate::catalogue::{card_code, card_name, item_code, item_name, item_price};
use serde_json::{Value, json};

/// Number of seeded business partners.
pub const CUSTOMER_COUNT: usize = 50;
/// Number of seeded items.
pub const ITEM_COUNT: usize = 40;

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
    // Some customers sit above 90% of their limit, so credit-alert logic has something to find.
    let balance = (credit_limit * ((i * 37) % 120) as f64 / 100.0).round();
    json!({
        "CardCode": code,
        "CardName": card_name(i),
        "CardType": "cCustomer",
        "GroupCode": 100,
        "Currency": currency,
        "CreditLimit": credit_limit,
        "MaxCommitment": credit_limit,
        "CurrentAccountBalance": balance,
        "OpenOrdersBalance": 0.0,
        "PriceListNum": 1,
        "EmailAddress": format!("ap@{}.example", card_name(i).to_lowercase().replace(' ', "-")),
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
        "ContactEmployees": [],
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

fn item(i: usize) -> Value {
    let stock = ((i * 17) % 200) as f64;
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
        "DefaultWarehouse": "01",
        "QuantityOnStock": stock,
        "QuantityOrderedFromVendors": ((i * 5) % 30) as f64,
        "QuantityOrderedByCustomers": 0.0,
        "ItemPrices": [
            {"PriceList": 1, "Price": item_price(i), "Currency": "USD", "BasePriceList": 1, "Factor": 1.0},
            {"PriceList": 2, "Price": 0.0, "Currency": null, "BasePriceList": 2, "Factor": 1.0},
        ],
        "ItemWarehouseInfoCollection": [
            {"WarehouseCode": "01", "InStock": stock, "Committed": 0.0, "Ordered": ((i * 5) % 30) as f64}
        ],
        "CreateDate": date(i),
        "CreateTime": clock(i),
        "UpdateDate": date(90 + i * 2),
        "UpdateTime": clock(i + 5),
        "DataVersion": 1,
    })
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
}
