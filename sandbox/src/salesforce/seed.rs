//! The deterministic seed catalogue shared with the SAP sandbox (same CardCodes and ItemCodes).

use super::schema;
use super::store::{Store, WriteContext};
pub use crate::catalogue::{card_name as account_name, item_name as product_name, item_price as list_price};
use serde_json::{Value, json};

/// (city, postal code, country, phone prefix)
const CITIES: [(&str, &str, &str, &str); 10] = [
    ("Berlin", "10115", "Germany", "+49 30"),
    ("Munich", "80331", "Germany", "+49 89"),
    ("Vienna", "1010", "Austria", "+43 1"),
    ("Zurich", "8001", "Switzerland", "+41 44"),
    ("Amsterdam", "1012", "Netherlands", "+31 20"),
    ("Paris", "75001", "France", "+33 1"),
    ("Milan", "20121", "Italy", "+39 02"),
    ("Madrid", "28001", "Spain", "+34 91"),
    ("London", "EC1A", "United Kingdom", "+44 20"),
    ("Chicago", "60601", "United States", "+1 312"),
];
const STAGES: [&str; 4] = ["Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost"];

/// Number of seeded accounts with a CardCode; ten prospects without one follow them.
pub const CARD_ACCOUNTS: usize = 50;
/// Number of good products (A00001..A00040).
pub const GOOD_PRODUCTS: usize = 40;
/// The product SAP does not know.
pub const POISON_ITEM_CODE: &str = "Z99999";
/// When the seed data was "created".
pub const SEED_TIME_MS: i64 = 1_795_600_800_000; // 2026-11-25T10:00:00Z

/// Fills an empty store with the catalogue; the change log stays empty.
pub fn seed(store: &mut Store) {
    let ctx = WriteContext { change_origin: String::new(), transaction_key: "seed".into(), now_ms: SEED_TIME_MS };
    let mut create = |store: &mut Store, object: &str, body: Value| -> String {
        let def = schema::object(object).expect("seed objects are in the catalogue");
        let body = body.as_object().cloned().unwrap_or_default();
        store.create(def, body, &ctx).unwrap_or_else(|e| panic!("seed {object} rejected: {e:?}"))
    };

    let book = create(store, "Pricebook2", json!({"Name": "Standard Price Book", "IsActive": true}));
    store.mark_standard_pricebook(&book);

    let mut accounts = Vec::new();
    for i in 0..CARD_ACCOUNTS {
        let (city, postal, country, phone) = CITIES[i % CITIES.len()];
        accounts.push(create(
            store,
            "Account",
            json!({
                "Name": account_name(i), "SAP_CardCode__c": crate::catalogue::card_code(i), "Type": "Customer",
                "BillingStreet": format!("{} Market Street", 10 + i), "BillingCity": city,
                "BillingPostalCode": postal, "BillingCountry": country,
                "Phone": format!("{phone} {:07}", 5_550_000 + i * 17),
            }),
        ));
    }
    for n in 1..=10 {
        let (city, postal, country, phone) = CITIES[(n + 3) % CITIES.len()];
        accounts.push(create(
            store,
            "Account",
            json!({
                "Name": format!("Prospect {n} GmbH"), "Type": "Prospect", "BillingCity": city,
                "BillingPostalCode": postal, "BillingCountry": country, "Phone": format!("{phone} {:07}", 7_770_000 + n),
            }),
        ));
    }

    let mut products = Vec::new();
    for i in 0..GOOD_PRODUCTS {
        let code = crate::catalogue::item_code(i);
        products
            .push((create_product(store, &mut create, &book, &product_name(i), &code, list_price(i)), list_price(i)));
    }
    create_product(store, &mut create, &book, "Legacy Widget", POISON_ITEM_CODE, 99.0);

    const FIRST: [&str; 5] = ["Anna", "Ben", "Clara", "David", "Eva"];
    const LAST: [&str; 5] = ["Schmidt", "Meyer", "Weber", "Fischer", "Wagner"];
    for (i, account) in accounts.iter().take(10).enumerate() {
        create(
            store,
            "Contact",
            json!({"AccountId": account, "FirstName": FIRST[i % 5], "LastName": LAST[i / 2 % 5],
                   "Email": format!("buyer{i}@example.com"), "SAP_ContactCode__c": format!("{}", 100 + i)}),
        );
    }
    for (i, account) in accounts.iter().take(5).enumerate() {
        create(
            store,
            "Case",
            json!({"AccountId": account, "Subject": format!("Delivery question {}", i + 1), "Status": "New",
                   "Priority": "Medium", "Origin": "Email"}),
        );
    }

    for k in 0..20 {
        let account_index = (k * 7) % CARD_ACCOUNTS;
        let opportunity = create(
            store,
            "Opportunity",
            json!({"Name": format!("{} - Deal {}", account_name(account_index), k + 1), "AccountId": accounts[account_index],
                   "StageName": STAGES[k % STAGES.len()], "CloseDate": format!("2026-12-{:02}", k + 1),
                   "Pricebook2Id": book}),
        );
        for j in 0..(1 + k % 3) {
            let (product, price) = &products[(k * 3 + j * 5) % GOOD_PRODUCTS];
            create(
                store,
                "OpportunityLineItem",
                json!({"OpportunityId": opportunity, "Product2Id": product, "Quantity": 1 + (k + j) % 5,
                       "UnitPrice": price, "SortOrder": j + 1}),
            );
        }
    }
    store.clear_changes();
}

fn create_product(
    store: &mut Store,
    create: &mut impl FnMut(&mut Store, &str, Value) -> String,
    book: &str,
    name: &str,
    code: &str,
    price: f64,
) -> String {
    let product = create(
        store,
        "Product2",
        json!({"Name": name, "ProductCode": code, "SAP_ItemCode__c": code, "IsActive": true, "Family": "Hardware"}),
    );
    create(
        store,
        "PricebookEntry",
        json!({"Pricebook2Id": book, "Product2Id": product, "UnitPrice": price, "IsActive": true}),
    );
    product
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_matches_the_shared_catalogue() {
        let mut store = Store::default();
        seed(&mut store);
        let accounts: Vec<_> = store.all("Account").collect();
        assert_eq!(accounts.len(), 60);
        assert_eq!(accounts[0]["Name"], "Northwind Traders");
        assert_eq!(accounts[49]["Name"], "Alpine Works");
        assert_eq!(accounts[49]["SAP_CardCode__c"], "C20049");
        assert!(accounts[50].get("SAP_CardCode__c").is_none_or(Value::is_null));
        let products: Vec<_> = store.all("Product2").collect();
        assert_eq!(products.len(), 41);
        assert_eq!(
            (products[39]["Name"].clone(), products[39]["ProductCode"].clone()),
            (json!("Cable Kit Pro"), json!("A00040"))
        );
        assert_eq!(store.all("PricebookEntry").filter(|e| e["UnitPrice"] == json!(50.0 + 25.0 * 39.0)).count(), 1);
        let opportunities: Vec<_> = store.all("Opportunity").collect();
        assert_eq!(opportunities.len(), 20);
        assert!(opportunities.iter().any(|o| o["IsWon"] == json!(true)));
        assert!(opportunities.iter().all(|o| o["HasOpportunityLineItem"] == json!(true)));
        assert!(store.changes().is_empty());
    }
}
