//! The seed catalogue both sandboxes share, so Salesforce accounts and products match SAP
//! business partners and items: customers C20000..C20049, items A00001..A00040.

/// Company-name adjectives; BP `i` is named `ADJ[i % 10] NOUN[i / 10]` (the Salesforce sandbox uses the same formula).
pub const ADJ: [&str; 10] = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Adventure",
    "Litware",
    "Proseware",
    "Lucerne",
    "Alpine",
];
/// Company-name nouns (see [`ADJ`]).
pub const NOUN: [&str; 5] = ["Traders", "Ltd", "Industries", "Toys", "Works"];
/// Item kinds; item `i` is named `KIND[i % 8] SIZE[i / 8]`.
pub const KIND: [&str; 8] = [
    "Industrial Pump",
    "Valve Assembly",
    "Control Unit",
    "Pressure Sensor",
    "Drive Motor",
    "Filter Cartridge",
    "Gear Box",
    "Cable Kit",
];
/// Item sizes (see [`KIND`]).
pub const SIZE: [&str; 5] = ["S", "M", "L", "XL", "Pro"];

/// The CardCode of seeded customer `i`.
pub fn card_code(i: usize) -> String {
    format!("C{}", 20000 + i)
}

/// The CardName of seeded customer `i`.
pub fn card_name(i: usize) -> String {
    format!("{} {}", ADJ[i % 10], NOUN[i / 10])
}

/// The ItemCode of seeded item `i`.
pub fn item_code(i: usize) -> String {
    format!("A{:05}", i + 1)
}

/// The ItemName of seeded item `i`.
pub fn item_name(i: usize) -> String {
    format!("{} {}", KIND[i % 8], SIZE[i / 8])
}

/// The price-list-1 price of seeded item `i`.
pub fn item_price(i: usize) -> f64 {
    50.0 + 25.0 * i as f64
}
