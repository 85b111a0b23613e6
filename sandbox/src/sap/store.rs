//! The rows of every entity set and the create/update rules of the Service Layer (pure: the caller
//! passes the time). Documents and payments live in `documents.rs`, collection rules in `collections.rs`.

use super::collections::{Collection, Owner};
use super::entities::{EntitySet, Key, SapError, Stamp, etag, folded};
use super::select::SortCache;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a PATCH treats its body.
#[derive(Debug, Default, Clone, Copy)]
pub struct PatchOptions<'a> {
    /// `If-Match`: the ETag the client last read.
    pub if_match: Option<&'a str>,
    /// `B1S-ReplaceCollectionsOnPatch: true`.
    pub replace_collections: bool,
}

/// The rows of one entity set by key.
pub type Table = BTreeMap<Key, Value>;

/// All rows of all entity sets, plus the numbering series and the indexes that keep big tables fast.
pub struct Store {
    pub(super) tables: BTreeMap<EntitySet, Table>,
    next_doc_entry: BTreeMap<EntitySet, i64>,
    next_doc_num: BTreeMap<EntitySet, i64>,
    pub(super) next_contact_code: i64,
    /// The last DocEntry of the seeded history per set; later ones were created through the API.
    history_end: BTreeMap<EntitySet, i64>,
    /// Bumped by every write to a set, so cached orders of it know when they are stale.
    generations: BTreeMap<EntitySet, u64>,
    /// Documents and payments per CardCode: a customer's balances are summed from its own documents only.
    by_card: HashMap<String, BTreeSet<(EntitySet, i64)>>,
    /// Tables sorted by `$orderby`, reused until the table changes.
    pub(super) sorted: SortCache,
    /// The company has an approval procedure on sales orders: `POST /Orders` saves a pending draft.
    pub(super) order_approval: bool,
}

impl Store {
    /// Master data only: 50 customers, 40 items, 2 price lists, no documents.
    pub fn master_data() -> Self {
        let mut store = Store {
            tables: BTreeMap::new(),
            next_doc_entry: BTreeMap::new(),
            next_doc_num: BTreeMap::new(),
            next_contact_code: 1,
            history_end: BTreeMap::new(),
            generations: BTreeMap::new(),
            by_card: HashMap::new(),
            sorted: SortCache::default(),
            order_approval: false,
        };
        for bp in super::seed::business_partners() {
            store.insert(EntitySet::BusinessPartners, bp);
        }
        for item in super::seed::items() {
            store.insert(EntitySet::Items, item);
        }
        for list in super::seed::price_lists() {
            store.insert(EntitySet::PriceLists, list);
        }
        store.next_contact_code = store
            .table(EntitySet::BusinessPartners)
            .flat_map(|bp| bp["ContactEmployees"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["InternalCode"].as_i64())
            .max()
            .map_or(1, |code| code + 1);
        store
    }

    /// The seeded store: master data plus the document history of [`super::seed::history`].
    pub fn seeded() -> Self {
        let mut store = Self::master_data();
        super::seed::history(&mut store);
        store.history_end = store.next_doc_entry.iter().map(|(set, next)| (*set, next - 1)).collect();
        store
    }

    pub(super) fn table(&self, set: EntitySet) -> impl Iterator<Item = &Value> {
        self.tables.get(&set).into_iter().flat_map(|t| t.values())
    }

    /// The rows of a set by key.
    pub(super) fn table_of(&self, set: EntitySet) -> Option<&Table> {
        self.tables.get(&set)
    }

    /// Changes with every write to `set`.
    pub(super) fn generation(&self, set: EntitySet) -> u64 {
        self.generations.get(&set).copied().unwrap_or(0)
    }

    /// Inserts or replaces a row as given (test helpers); the key comes from the row.
    pub fn insert(&mut self, set: EntitySet, row: Value) {
        *self.generations.entry(set).or_default() += 1;
        let key = set.key_of(&row);
        let card = (set.is_document() || set == EntitySet::IncomingPayments)
            .then(|| row["CardCode"].as_str().map(str::to_string))
            .flatten();
        let replaced = self.tables.entry(set).or_default().insert(key.clone(), row);
        let Key::Int(entry) = key else { return };
        if let Some(old) = replaced.as_ref().and_then(|r| r["CardCode"].as_str())
            && let Some(documents) = self.by_card.get_mut(&folded(old))
        {
            documents.remove(&(set, entry));
        }
        if let Some(card) = card {
            self.by_card.entry(folded(&card)).or_default().insert((set, entry));
        }
    }

    /// The documents (or payments) of one set that belong to `card_code`, in DocEntry order.
    pub(super) fn documents_of<'a>(&'a self, card_code: &str, set: EntitySet) -> impl Iterator<Item = &'a Value> {
        self.by_card
            .get(&folded(card_code))
            .into_iter()
            .flat_map(move |documents| documents.range((set, i64::MIN)..=(set, i64::MAX)))
            .filter_map(move |(_, entry)| self.tables.get(&set)?.get(&Key::Int(*entry)))
    }

    /// Every row of a set in key order.
    pub fn rows(&self, set: EntitySet) -> Vec<Value> {
        self.table(set).cloned().collect()
    }

    /// Rows created after the seeded history (documents and payments), in key order.
    pub fn rows_after_history(&self, set: EntitySet) -> Vec<Value> {
        let end = self.history_end.get(&set).copied().unwrap_or(0);
        self.rows_where(set, |row| row["DocEntry"].as_i64().is_some_and(|entry| entry > end))
    }

    /// Copies of the rows `keep` accepts; filtering before copying keeps key lookups cheap on big tables.
    pub fn rows_where(&self, set: EntitySet, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.table(set).filter(|row| keep(row)).cloned().collect()
    }

    /// One row by key.
    pub fn get(&self, set: EntitySet, key: &Key) -> Result<&Value, SapError> {
        self.tables.get(&set).and_then(|t| t.get(key)).ok_or_else(SapError::not_found)
    }

    /// The next (DocEntry, DocNum) of a set's series, consumed.
    pub(super) fn take_numbers(&mut self, set: EntitySet) -> (i64, i64) {
        let entry = self.next_doc_entry.entry(set).or_insert(1);
        let numbers = (*entry, set.first_doc_num() + *entry - 1);
        *entry += 1;
        self.next_doc_num.insert(set, numbers.1 + 1);
        numbers
    }

    /// Creates an entity from a POST body; returns its key and the stored row.
    pub fn create(&mut self, set: EntitySet, body: Value, now: &Stamp) -> Result<(Key, Value), SapError> {
        let Value::Object(body) = body else {
            return Err(SapError::bad_request("The request body must be a JSON object"));
        };
        reject_unknown_fields(set, &body)?;
        let row = match set {
            EntitySet::BusinessPartners => self.new_business_partner(body, now)?,
            EntitySet::Items => self.new_item(body, now)?,
            EntitySet::PriceLists => return Err(SapError::not_supported()),
            EntitySet::IncomingPayments => self.create_payment(body, now)?,
            _ => self.create_document(set, body, now)?,
        };
        let key = set.key_of(&row);
        if !set.is_document() && set != EntitySet::IncomingPayments {
            self.insert(set, row.clone());
        }
        Ok((key, row))
    }

    fn new_business_partner(&mut self, mut body: Map<String, Value>, now: &Stamp) -> Result<Value, SapError> {
        let code = required_text(&body, "CardCode", "Business partner code")?;
        if self.get(EntitySet::BusinessPartners, &Key::Text(code.clone())).is_ok() {
            return Err(SapError::new(
                400,
                "-10",
                format!(
                    "1320000140 - Business partner code '{code}' already assigned to a business partner; \
                     enter a unique business partner code"
                ),
            ));
        }
        let defaults = json!({
            "CardType": "cCustomer", "GroupCode": 100, "Currency": "##", "CreditLimit": 0.0, "MaxCommitment": 0.0,
            "CurrentAccountBalance": 0.0, "OpenOrdersBalance": 0.0, "OpenDeliveryNotesBalance": 0.0,
            "PriceListNum": 1, "Valid": "tYES", "Frozen": "tNO", "BPAddresses": [], "ContactEmployees": [],
            "U_SF_AccountId": null,
        });
        // Balances are computed by B1, never taken from a client.
        for read_only in ["CurrentAccountBalance", "OpenOrdersBalance", "OpenDeliveryNotesBalance"] {
            body.remove(read_only);
        }
        let collections: Vec<(String, Value)> = ["ContactEmployees", "BPAddresses"]
            .into_iter()
            .filter_map(|name| body.remove(name).map(|members| (name.to_string(), members)))
            .collect();
        let mut row = with_defaults(EntitySet::BusinessPartners, body, defaults, now);
        self.merge_collections(&mut row, &code, collections, false, now)?;
        Ok(row)
    }

    fn new_item(&self, body: Map<String, Value>, now: &Stamp) -> Result<Value, SapError> {
        let code = required_text(&body, "ItemCode", "Item code")?;
        if self.get(EntitySet::Items, &Key::Text(code.clone())).is_ok() {
            return Err(SapError::new(400, "-10", format!("Item code '{code}' already exists")));
        }
        let defaults = json!({
            "ItemType": "itItems", "InventoryItem": "tYES", "SalesItem": "tYES", "PurchaseItem": "tYES",
            "Valid": "tYES", "Frozen": "tNO", "QuantityOnStock": 0.0, "QuantityOrderedFromVendors": 0.0,
            "QuantityOrderedByCustomers": 0.0, "ItemPrices": [], "ItemWarehouseInfoCollection": [],
        });
        Ok(with_defaults(EntitySet::Items, body, defaults, now))
    }

    /// Merges collection properties into `row` by the rules of [`Collection`]; other properties are replaced.
    fn merge_collections(
        &mut self,
        row: &mut Value,
        owner_code: &str,
        fields: Vec<(String, Value)>,
        replace: bool,
        now: &Stamp,
    ) -> Result<(), SapError> {
        let mut owner = Owner { code: owner_code, now, next_contact_code: &mut self.next_contact_code };
        for (field, value) in fields {
            match (Collection::of(&field), value) {
                (Some(collection), Value::Array(updates)) => {
                    let current = row[field.as_str()].as_array().cloned().unwrap_or_default();
                    row[field.as_str()] = Value::Array(collection.merge(&current, updates, replace, &mut owner)?);
                }
                (_, value) => row[field.as_str()] = value,
            }
        }
        Ok(())
    }

    /// Applies a PATCH: read-only properties silently ignored, `If-Match` checked, collections merged
    /// by key. Every accepted PATCH gets a new DataVersion (so older ETags go stale), but UpdateDate
    /// and UpdateTime move only when content changed, so pollers do not see no-op writes [U].
    pub fn patch(
        &mut self,
        set: EntitySet,
        key: &Key,
        body: Value,
        options: PatchOptions<'_>,
        now: &Stamp,
    ) -> Result<(), SapError> {
        let Value::Object(mut body) = body else {
            return Err(SapError::bad_request("The request body must be a JSON object"));
        };
        reject_unknown_fields(set, &body)?;
        if matches!(set, EntitySet::IncomingPayments | EntitySet::PriceLists) {
            return Err(SapError::not_supported());
        }
        let current = self.get(set, key)?.clone();
        check_etag(&current, options.if_match)?;
        for read_only in [
            set.key_field(),
            "DocNum",
            "DataVersion",
            "CreateDate",
            "CreateTime",
            "CreationDate",
            "UpdateDate",
            "UpdateTime",
            "CurrentAccountBalance",
            "OpenOrdersBalance",
            "OpenDeliveryNotesBalance",
            "PaidToDate",
            "DocTotal",
        ] {
            body.remove(read_only);
        }
        body.retain(|field, _| !field.starts_with("@odata.") && !field.starts_with("odata."));
        if set.is_document() {
            self.prepare_patched_lines(set, &current, &mut body, options.replace_collections)?;
        }
        let owner_code = current[set.key_field()].as_str().unwrap_or_default().to_string();
        let mut row = current.clone();
        self.merge_collections(&mut row, &owner_code, body.into_iter().collect(), options.replace_collections, now)?;
        if set.is_document() {
            super::pricing::price_document(&mut row);
        }
        if row == current {
            row["DataVersion"] = json!(current["DataVersion"].as_i64().unwrap_or(0) + 1);
            self.insert(set, row);
            return Ok(());
        }
        touch(&mut row, now);
        self.insert(set, row.clone());
        if set.is_document() {
            self.refresh_derived(&row);
        }
        Ok(())
    }

    /// A bound action (`Close`, `Cancel`, `Reopen` on documents, `Cancel` on payments) with an optional `If-Match`.
    pub fn action(
        &mut self,
        set: EntitySet,
        key: &Key,
        action: &str,
        if_match: Option<&str>,
        now: &Stamp,
    ) -> Result<(), SapError> {
        let current = self.get(set, key)?;
        if set.has_etag() {
            check_etag(current, if_match)?;
        }
        match set {
            EntitySet::IncomingPayments if action == "Cancel" => self.cancel_payment(key),
            _ if set.is_document() => self.document_action(set, key, action, now),
            _ => Err(SapError::not_supported()),
        }
    }

    /// Sets an item's price in one price list, as the B1 price list window does: it writes ITM1, not
    /// OITM, so the item's UpdateDate and DataVersion stay as they were [U].
    pub fn set_price(&mut self, item_code: &str, price_list: i64, price: f64) -> Result<(), SapError> {
        let list = self.get(EntitySet::PriceLists, &Key::Int(price_list))?.clone();
        let mut item = self.get(EntitySet::Items, &Key::Text(item_code.to_string()))?.clone();
        let mut prices = item["ItemPrices"].as_array().cloned().unwrap_or_default();
        match prices.iter_mut().find(|p| p["PriceList"].as_i64() == Some(price_list)) {
            Some(member) => member["Price"] = json!(price),
            None => prices
                .push(json!({"PriceList": price_list, "Price": price, "Currency": list["DefaultPrimeCurrency"],
                                       "BasePriceList": list["BasePriceList"], "Factor": list["Factor"]})),
        }
        item["ItemPrices"] = Value::Array(prices);
        self.insert(EntitySet::Items, item);
        Ok(())
    }

    /// DELETE: documents, payments and price lists cannot be deleted; master data can.
    pub fn delete(&mut self, set: EntitySet, key: &Key) -> Result<(), SapError> {
        self.get(set, key)?;
        if set.has_int_key() {
            return Err(SapError::not_supported());
        }
        if let Some(table) = self.tables.get_mut(&set) {
            table.remove(key);
        }
        *self.generations.entry(set).or_default() += 1;
        Ok(())
    }
}

fn reject_unknown_fields(set: EntitySet, body: &Map<String, Value>) -> Result<(), SapError> {
    // Real servers accept odata annotations in bodies (a GET result posted back); UDFs exist only where declared.
    match body.keys().find(|k| !set.has_field(k) && !k.starts_with("@odata.") && !k.starts_with("odata.")) {
        Some(unknown) => {
            Err(SapError::bad_request(format!("Property '{unknown}' of '{}' is invalid", set.type_name())))
        }
        None => Ok(()),
    }
}

pub(super) fn required_text(body: &Map<String, Value>, field: &str, what: &str) -> Result<String, SapError> {
    match body.get(field).and_then(Value::as_str).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value.to_string()),
        _ => Err(SapError::new(400, "-10", format!("{what} is missing [{field}]"))),
    }
}

fn check_etag(current: &Value, if_match: Option<&str>) -> Result<(), SapError> {
    match if_match.map(str::trim) {
        Some(wanted) if wanted != "*" && wanted != etag(current) => Err(SapError::new(
            412,
            "-2039",
            "Another user or another operation modified data; to continue, open the window again (ODBC -2039)",
        )),
        _ => Ok(()),
    }
}

/// The body over the defaults, with the creation stamps the set carries and DataVersion 1.
pub(super) fn with_defaults(set: EntitySet, body: Map<String, Value>, defaults: Value, now: &Stamp) -> Value {
    let mut row = defaults;
    for (field, value) in body {
        if !field.starts_with("@odata.") && !field.starts_with("odata.") {
            row[field.as_str()] = value;
        }
    }
    // Documents carry CreationDate (set by the caller), master data CreateDate/CreateTime; payments none.
    for (field, value) in
        [("CreateDate", &now.date), ("UpdateDate", &now.date), ("CreateTime", &now.time), ("UpdateTime", &now.time)]
    {
        if set.has_field(field) {
            row[field] = json!(value);
        }
    }
    if set.has_etag() {
        row["DataVersion"] = json!(1);
    }
    row
}

/// Stamps a write: new UpdateDate/UpdateTime and the next DataVersion (hence a new ETag).
pub(super) fn touch(row: &mut Value, now: &Stamp) {
    row["UpdateDate"] = json!(now.date);
    row["UpdateTime"] = json!(now.time);
    row["DataVersion"] = json!(row["DataVersion"].as_i64().unwrap_or(0) + 1);
}

/// A numeric property; numbers sent as strings are accepted, as on a real server.
pub(super) fn number(body: &Map<String, Value>, field: &str) -> Result<Option<f64>, SapError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SapError::bad_request(format!("Value '{s}' of property '{field}' is not a number"))),
        Some(_) => Err(SapError::bad_request(format!("Property '{field}' must be a number"))),
    }
}

/// `2024-04-01` → `2024-04-01T00:00:00Z` (v2 date form); other shapes are kept as sent.
pub(super) fn as_v2_date(raw: &str) -> String {
    match super::odata_filter::normalize_date(raw) {
        Some(date_time) => format!("{}T00:00:00Z", &date_time[..10]),
        None => raw.to_string(),
    }
}

/// Rounds money to cents.
/// Rounded to cents; `+ 0.0` turns a negative zero (an empty float sum is −0.0) into 0.0.
pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Stamp {
        Stamp::at("2026-11-25", "10:00:00")
    }

    fn bp(store: &Store, code: &str) -> Value {
        store.get(EntitySet::BusinessPartners, &Key::Text(code.into())).unwrap().clone()
    }

    #[test]
    fn a_duplicate_business_partner_gets_the_documented_text() {
        let mut store = Store::master_data();
        let err = store.create(EntitySet::BusinessPartners, json!({"CardCode": "C20000"}), &now()).unwrap_err();
        assert_eq!(err.code, "-10");
        assert!(err.message.starts_with("1320000140 - Business partner code 'C20000' already assigned"));
    }

    #[test]
    fn a_partner_code_differing_only_in_case_is_the_same_partner() {
        let mut store = Store::master_data();
        let err = store.create(EntitySet::BusinessPartners, json!({"CardCode": "c20000"}), &now()).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "-10"));
        assert!(err.message.starts_with("1320000140 - Business partner code 'c20000' already assigned"), "{err:?}");
        assert_eq!(bp(&store, "c20000")["CardCode"], "C20000", "a key read finds the stored spelling");
        let err = store.create(EntitySet::Items, json!({"ItemCode": "a00001"}), &now()).unwrap_err();
        assert_eq!((err.code.as_str(), err.message.as_str()), ("-10", "Item code 'a00001' already exists"));
    }

    #[test]
    fn a_document_for_a_lower_case_code_is_booked_to_the_partner_as_stored() {
        let mut store = Store::master_data();
        let order = json!({"CardCode": "c20000", "DocDueDate": "2026-12-01",
                           "DocumentLines": [{"ItemCode": "a00001", "Quantity": 1, "UnitPrice": 10}]});
        let (key, row) = store.create(EntitySet::Orders, order, &now()).unwrap();
        assert_eq!(row["CardCode"], "C20000");
        assert!(matches!(key, Key::Int(_)));
        assert_eq!(store.documents_of("C20000", EntitySet::Orders).count(), 1);
        assert!(bp(&store, "C20000")["OpenOrdersBalance"].as_f64().unwrap() > 0.0, "the balance moved");
    }

    #[test]
    fn patch_ignores_the_key_checks_if_match_and_bumps_the_etag() {
        let mut store = Store::master_data();
        let key = Key::Text("C20000".into());
        let before = etag(store.get(EntitySet::BusinessPartners, &key).unwrap());
        assert_eq!(before, "W/\"356A192B7913B04C54574D18C28D46E6395428AB\"", "sha1(\"1\")");
        let body = json!({"CardCode": "HIJACK", "CardName": "Renamed"});
        let options = PatchOptions { if_match: Some(&before), ..PatchOptions::default() };
        store.patch(EntitySet::BusinessPartners, &key, body.clone(), options, &now()).unwrap();
        let row = store.get(EntitySet::BusinessPartners, &key).unwrap();
        assert_eq!((row["CardCode"].as_str(), row["CardName"].as_str()), (Some("C20000"), Some("Renamed")));
        assert_ne!(etag(row), before);
        let stale = store.patch(EntitySet::BusinessPartners, &key, body, options, &now()).unwrap_err();
        assert_eq!((stale.status, stale.code.as_str()), (412, "-2039"));
    }

    #[test]
    fn a_patch_that_changes_nothing_keeps_the_update_stamps_but_gets_a_new_etag() {
        let mut store = Store::master_data();
        let key = Key::Text("C20001".into());
        let body = json!({"Phone1": "+1 555 9999", "CurrentAccountBalance": 1e9});
        store.patch(EntitySet::BusinessPartners, &key, body.clone(), PatchOptions::default(), &now()).unwrap();
        let first = bp(&store, "C20001");
        assert_eq!((first["DataVersion"].as_i64(), first["UpdateTime"].as_str()), (Some(2), Some("10:00:00")));
        let later = Stamp::at("2026-11-25", "12:00:00");
        store.patch(EntitySet::BusinessPartners, &key, body, PatchOptions::default(), &later).unwrap();
        let mut second = bp(&store, "C20001");
        assert_eq!(second["DataVersion"], 3, "a client holding the old ETag must read again");
        second["DataVersion"] = json!(2);
        assert_eq!(second, first, "balances are read-only and the phone is unchanged: same stamps");
    }

    #[test]
    fn a_partner_is_created_with_contacts_and_addresses_keyed_by_the_server() {
        let mut store = Store::master_data();
        let body = json!({"CardCode": "N1", "CardName": "New", "U_SF_AccountId": "001SM0000001Tb3YAE",
            "ContactEmployees": [{"Name": "Ann Lee", "E_Mail": "ann@x", "U_SF_ContactId": "003SM0000001Tb3YAE"}],
            "BPAddresses": [{"AddressName": "HQ", "AddressType": "bo_BillTo", "City": "Oslo"},
                            {"AddressName": "HQ", "AddressType": "bo_ShipTo", "City": "Oslo"}]});
        let (_, row) = store.create(EntitySet::BusinessPartners, body, &now()).unwrap();
        let contact = &row["ContactEmployees"][0];
        assert!(contact["InternalCode"].as_i64().unwrap() > 50, "after the seeded contacts");
        assert_eq!((contact["CardCode"].as_str(), contact["UpdateTime"].as_str()), (Some("N1"), Some("10:00:00")));
        assert_eq!(row["BPAddresses"][1]["RowNum"], 1);
        assert_eq!(row["BPAddresses"][1]["BPCode"], "N1");
        let dup = json!({"CardCode": "N2", "BPAddresses": [{"AddressName": "HQ", "AddressType": "bo_BillTo"},
                                                           {"AddressName": "HQ", "AddressType": "bo_BillTo"}]});
        assert_eq!(store.create(EntitySet::BusinessPartners, dup, &now()).unwrap_err().code, "-2035");
        assert!(store.get(EntitySet::BusinessPartners, &Key::Text("N2".into())).is_err(), "nothing stored");
    }

    #[test]
    fn replace_collections_on_patch_drops_members_left_out() {
        let mut store = Store::master_data();
        let key = Key::Text("C20002".into());
        let ship_to = json!({"BPAddresses": [{"AddressName": "Ship to", "AddressType": "bo_ShipTo", "BPCode": "C20002", "RowNum": 1}]});
        let options = PatchOptions { replace_collections: true, ..PatchOptions::default() };
        store.patch(EntitySet::BusinessPartners, &key, ship_to, options, &now()).unwrap();
        let addresses = bp(&store, "C20002")["BPAddresses"].as_array().unwrap().clone();
        assert_eq!(addresses.len(), 1);
        assert_eq!(addresses[0]["AddressName"], "Ship to");
    }

    #[test]
    fn stock_postings_and_price_list_updates_leave_the_item_stamps_alone() {
        let mut store = Store::master_data();
        let key = Key::Text("A00002".into());
        let before = store.get(EntitySet::Items, &key).unwrap().clone();
        store.post_stock("A00002", -3.0).unwrap();
        store.set_price("A00002", 1, 99.5).unwrap();
        store.set_price("A00002", 2, 80.0).unwrap();
        let after = store.get(EntitySet::Items, &key).unwrap();
        let stock = |item: &Value| item["QuantityOnStock"].as_f64().unwrap();
        let in_01 = |item: &Value| item["ItemWarehouseInfoCollection"][0]["InStock"].as_f64().unwrap();
        assert_eq!((stock(after), in_01(after)), (stock(&before) - 3.0, in_01(&before) - 3.0));
        let prices = (after["ItemPrices"][0]["Price"].as_f64(), after["ItemPrices"][1]["Price"].as_f64());
        assert_eq!(prices, (Some(99.5), Some(80.0)));
        for stamp in ["UpdateDate", "UpdateTime", "DataVersion"] {
            assert_eq!(after[stamp], before[stamp], "{stamp}");
        }
        assert_eq!(store.set_price("A00002", 9, 1.0).unwrap_err().code, "-2028", "no price list 9");
        assert_eq!(store.post_stock("Z99999", 1.0).unwrap_err().code, "-2028");
    }

    #[test]
    fn unknown_properties_in_a_write_are_rejected_and_price_lists_are_read_only() {
        let mut store = Store::master_data();
        let err = store.create(EntitySet::BusinessPartners, json!({"CardCode": "N1", "Nope": 1}), &now()).unwrap_err();
        assert_eq!(err.message, "Property 'Nope' of 'BusinessPartner' is invalid");
        let list = store.create(EntitySet::PriceLists, json!({"PriceListName": "X"}), &now()).unwrap_err();
        assert_eq!(list.code, "-5006");
        let patch =
            store.patch(EntitySet::PriceLists, &Key::Int(1), json!({"Factor": 2}), PatchOptions::default(), &now());
        assert_eq!(patch.unwrap_err().code, "-5006");
    }
}
