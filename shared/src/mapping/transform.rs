//! Salesforce ⇄ SAP record transforms driven by a validated [`FlowMapping`]: pure functions.
//!
//! Each direction writes only the fields its side may write (owner, or `both` when that side's
//! change is newer), applies value maps and defaults, and leaves out what already matches the
//! target's current state, so the result is the minimal PATCH (SAP) or upsert body (Salesforce).
//! A source record that lacks a field entirely (a partial change event) leaves that field alone;
//! an explicit null clears it unless the entry has a `default`. A value a value map does not know
//! falls back to the default, else the field is left out: the writer never guesses.

use super::catalogue::{Kind, KindClass};
use super::file::{FieldMapping, FlowMapping, RowSource, same};
use crate::domain::digest;
use crate::error::Error;
use serde_json::Value;

pub use crate::domain::Record;

impl FlowMapping {
    /// The SAP PATCH body for a Salesforce record: writable, changed, value-mapped fields only.
    /// Collections are separate ([`FlowMapping::to_sap_collections`]).
    pub fn to_sap(&self, sf: &Record, current_sap: Option<&Record>, salesforce_is_newer: bool) -> Record {
        fields_to_sap(&self.fields, sf, current_sap, salesforce_is_newer)
    }

    /// The Salesforce body for an SAP record: the mirror of [`FlowMapping::to_sap`], with value maps
    /// inverted. Fixed rows (e.g. the bill-to address) feed the parent record's own fields.
    pub fn to_salesforce(&self, sap: &Record, current_sf: Option<&Record>, sap_is_newer: bool) -> Record {
        let mut body = fields_to_salesforce(&self.fields, sap, current_sf, sap_is_newer);
        for collection in &self.collections {
            if let RowSource::Fixed { row } = &collection.source
                && let Some(found) =
                    rows(Some(sap), &collection.sap_collection).into_iter().find(|r| is_fixed_row(r, row))
            {
                body.extend(fields_to_salesforce(&collection.fields, found, current_sf, sap_is_newer));
            }
        }
        body
    }

    /// Rows for the SAP collection named `name` in the file: changed rows keep their SAP row keys
    /// (an in-place update), new rows carry no row key (an insert), unchanged rows are left out.
    pub fn to_sap_collection(
        &self,
        name: &str,
        sf: &Record,
        current_sap: Option<&Record>,
        salesforce_is_newer: bool,
    ) -> Result<Vec<Record>, Error> {
        let collection = self.collection(name)?;
        let current_rows = rows(current_sap, &collection.sap_collection);
        let keep_keys = |patch: &mut Record, row: &Record| {
            for key in collection.row_key {
                if let Some(value) = row.get(*key) {
                    patch.insert(key.to_string(), value.clone());
                }
            }
        };
        let mut out = Vec::new();
        match &collection.source {
            RowSource::Children { salesforce_relationship, matched_by, .. } => {
                for child in children(sf, salesforce_relationship) {
                    let Some(id) = child.get(&matched_by.salesforce).and_then(as_text) else { continue };
                    let current = current_rows
                        .iter()
                        .find(|r| r.get(&matched_by.sap).and_then(as_text).is_some_and(|k| k == id))
                        .copied();
                    let mut patch = fields_to_sap(&collection.fields, child, current, salesforce_is_newer);
                    match current {
                        Some(row) if !patch.is_empty() => keep_keys(&mut patch, row),
                        Some(_) => continue,
                        None if all_null(&patch) => continue,
                        None => {
                            patch.insert(matched_by.sap.clone(), Value::String(id));
                        }
                    }
                    out.push(patch);
                }
            }
            RowSource::Fixed { row } => {
                let current = current_rows.iter().find(|r| is_fixed_row(r, row)).copied();
                let mut patch = fields_to_sap(&collection.fields, sf, current, salesforce_is_newer);
                match current {
                    Some(found) if !patch.is_empty() => keep_keys(&mut patch, found),
                    Some(_) => {}
                    None if all_null(&patch) => patch.clear(),
                    None => patch.extend(row.iter().cloned()),
                }
                if !patch.is_empty() {
                    out.push(patch);
                }
            }
        }
        Ok(out)
    }

    /// Every collection's rows, grouped by SAP collection property; properties with no rows are left out.
    pub fn to_sap_collections(&self, sf: &Record, current_sap: Option<&Record>, salesforce_is_newer: bool) -> Record {
        let mut body = Record::new();
        for collection in &self.collections {
            let rows =
                self.to_sap_collection(&collection.name, sf, current_sap, salesforce_is_newer).unwrap_or_default();
            if rows.is_empty() {
                continue;
            }
            let slot = body.entry(collection.sap_collection.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(all) = slot {
                all.extend(rows.into_iter().map(Value::Object));
            }
        }
        body
    }

    /// Salesforce child records for the SAP rows of collection `name` (e.g. F4 ContactEmployees →
    /// Contact): each carries its match field (and `Id` when it already exists), only changed fields.
    pub fn to_salesforce_collection(
        &self,
        name: &str,
        sap: &Record,
        current_sf_children: &[Record],
        sap_is_newer: bool,
    ) -> Result<Vec<Record>, Error> {
        let collection = self.collection(name)?;
        let RowSource::Children { matched_by, .. } = &collection.source else {
            return Err(Error::Config(format!(
                "collection {name} of flow {} is a fixed row; its fields are part of to_salesforce",
                self.name
            )));
        };
        let mut out = Vec::new();
        for row in rows(Some(sap), &collection.sap_collection) {
            let Some(key) = row.get(&matched_by.sap).and_then(as_text) else { continue };
            let current = current_sf_children
                .iter()
                .find(|c| c.get(&matched_by.salesforce).and_then(as_text).is_some_and(|k| k == key));
            let mut record = fields_to_salesforce(&collection.fields, row, current, sap_is_newer);
            match current {
                Some(_) if record.is_empty() => continue,
                Some(existing) => {
                    if let Some(id) = existing.get("Id") {
                        record.insert("Id".into(), id.clone());
                    }
                }
                None if all_null(&record) => continue,
                None => {}
            }
            // A Salesforce Id cannot be set on insert; any other match field is the upsert key.
            if matched_by.salesforce != "Id" {
                record.insert(matched_by.salesforce.clone(), Value::String(key));
            }
            out.push(record);
        }
        Ok(out)
    }
}

/// A stable digest of a record's content for echo suppression: SHA-256 hex of canonical JSON
/// (keys sorted at every level, integral numbers written without a fraction).
pub fn content_hash(record: &Record) -> String {
    let mut canonical = String::new();
    write_canonical(&Value::Object(record.clone()), &mut canonical);
    digest(canonical.as_bytes())
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            // 100 and 100.0 are the same amount whichever system rendered it.
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => out.push_str(&(x as i64).to_string()),
            _ => out.push_str(&n.to_string()),
        },
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The SAP body of a record to create, through `fields` of a mapping: every field Salesforce
/// writes, value-mapped and in the SAP kind's form; there is no current state to compare with.
pub fn new_sap_record<'f>(fields: impl IntoIterator<Item = &'f FieldMapping>, sf: &Record) -> Record {
    fields_to_sap(fields, sf, None, true)
}

fn fields_to_sap<'f>(
    fields: impl IntoIterator<Item = &'f FieldMapping>,
    sf: &Record,
    current: Option<&Record>,
    salesforce_is_newer: bool,
) -> Record {
    let mut patch = Record::new();
    for field in fields.into_iter().filter(|f| f.owner.salesforce_writes(salesforce_is_newer)) {
        let Some(source) = source_value(sf, &field.salesforce, field.default.as_ref()) else { continue };
        let value = match (&field.value_map, source) {
            (_, Value::Null) => Value::Null,
            (Some(map), source) => match map.pairs.iter().find(|(sf, _)| same(sf, &source)) {
                Some((_, sap)) => sap.clone(),
                None => continue,
            },
            (None, source) => convert(source, field.sap_kind),
        };
        if differs(field.sap_kind, &value, current.map(|c| c.get(&field.sap))) {
            patch.insert(field.sap.clone(), value);
        }
    }
    patch
}

fn fields_to_salesforce(fields: &[FieldMapping], sap: &Record, current: Option<&Record>, sap_is_newer: bool) -> Record {
    let mut body = Record::new();
    for field in fields.iter().filter(|f| f.owner.sap_writes(sap_is_newer)) {
        // The default is a Salesforce value, so it skips the inverse value map.
        let value = match sap.get(&field.sap) {
            None => continue,
            Some(Value::Null) => field.default.clone().unwrap_or(Value::Null),
            Some(source) => match &field.value_map {
                Some(map) => match map.pairs.iter().find(|(_, sap)| same(sap, source)) {
                    Some((sf, _)) => sf.clone(),
                    None => match &field.default {
                        Some(default) => default.clone(),
                        None => continue,
                    },
                },
                None => convert(source.clone(), field.salesforce_kind),
            },
        };
        if differs(field.salesforce_kind, &value, current.map(|c| c.get(&field.salesforce))) {
            body.insert(field.salesforce.clone(), value);
        }
    }
    body
}

/// The value to map: `None` when the record does not carry the field at all.
fn source_value(record: &Record, name: &str, default: Option<&Value>) -> Option<Value> {
    match record.get(name)? {
        Value::Null => Some(default.cloned().unwrap_or(Value::Null)),
        value => Some(value.clone()),
    }
}

/// Brings a value into the target kind's wire form (SAP v2 dates carry a time; numbers may come as text).
fn convert(value: Value, kind: Kind) -> Value {
    match (kind.class(), &value) {
        (KindClass::Date, Value::String(s)) if s.len() > 10 && s.is_char_boundary(10) => Value::String(s[..10].into()),
        (KindClass::Numeric, Value::String(s)) => {
            s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(value, Value::Number)
        }
        (KindClass::Textual, Value::Number(n)) => Value::String(n.to_string()),
        _ => value,
    }
}

/// Whether writing `new` would change the target; with no current record everything is written.
fn differs(kind: Kind, new: &Value, current: Option<Option<&Value>>) -> bool {
    let Some(current) = current else { return true };
    let current = current.cloned().unwrap_or(Value::Null);
    match (new, &current) {
        (Value::Null, Value::Null) => false,
        (Value::Null, _) | (_, Value::Null) => true,
        _ => {
            let current = convert(current, kind);
            match kind.class() {
                KindClass::Numeric => !same(new, &current),
                _ => new != &current,
            }
        }
    }
}

/// A key as text, whichever type the side stores it in (InternalCode 12 ↔ SAP_ContactCode__c "12").
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.as_i64().map_or_else(|| n.to_string(), |i| i.to_string())),
        _ => None,
    }
}

/// The rows of an SAP collection property.
fn rows<'a>(record: Option<&'a Record>, collection: &str) -> Vec<&'a Record> {
    let items = record.and_then(|r| r.get(collection)).and_then(Value::as_array);
    items.into_iter().flatten().filter_map(Value::as_object).collect()
}

/// Child records of a Salesforce relationship: a plain array or a SOQL subquery `{records: [...]}`.
fn children<'a>(record: &'a Record, relationship: &str) -> Vec<&'a Record> {
    let items = match record.get(relationship) {
        Some(Value::Array(items)) => Some(items),
        Some(Value::Object(query)) => query.get("records").and_then(Value::as_array),
        _ => None,
    };
    items.into_iter().flatten().filter_map(Value::as_object).collect()
}

/// Whether an SAP row is the fixed row (e.g. AddressType bo_BillTo, AddressName "Bill To"). Names
/// compare without case: B1 installs write "Bill to" and "Bill To" alike, and one address per type
/// and name is the rule either way.
fn is_fixed_row(row: &Record, fixed: &[(String, Value)]) -> bool {
    fixed.iter().all(|(name, wanted)| match (row.get(name), wanted) {
        (Some(Value::String(have)), Value::String(wanted)) => have.eq_ignore_ascii_case(wanted),
        (Some(have), wanted) => same(have, wanted),
        (None, _) => false,
    })
}

fn all_null(record: &Record) -> bool {
    record.values().all(Value::is_null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::file::MappingFile;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    const FILE: &str = r#"
version = 1
[flows.F2]
salesforce_object = "Account"
sap_entity = "BusinessPartners"
key = { salesforce = "SAP_CardCode__c", sap = "CardCode" }
fields = [
  { salesforce = "Name", sap = "CardName", owner = "salesforce" },
  { salesforce = "Phone", sap = "Phone1", owner = "both" },
  { salesforce = "SAP_Balance__c", sap = "CurrentAccountBalance", owner = "sap" },
  { salesforce = "Type", sap = "CardType", owner = "both", default = "Customer", value_map = { Customer = "cCustomer", Prospect = "cLid" } },
]
[flows.F2.collections.contacts]
sap_collection = "ContactEmployees"
salesforce_object = "Contact"
salesforce_relationship = "Contacts"
match = { salesforce = "Id", sap = "U_SF_ContactId" }
fields = [
  { salesforce = "LastName", sap = "LastName", owner = "salesforce" },
  { salesforce = "Email", sap = "E_Mail", owner = "both" },
]
[flows.F2.collections.bill_to]
sap_collection = "BPAddresses"
row = { AddressType = "bo_BillTo", AddressName = "Bill To" }
fields = [
  { salesforce = "BillingCity", sap = "City", owner = "salesforce" },
  { salesforce = "BillingCountry", sap = "Country", owner = "both" },
]
"#;

    fn f2() -> FlowMapping {
        let file = MappingFile::parse(FILE, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        file.flow("F2").unwrap().clone()
    }

    fn account() -> Record {
        record(json!({"Name": "Acme", "Phone": "+1 555", "SAP_Balance__c": 999.0, "Type": "Customer",
                      "BillingCity": "Berlin", "BillingCountry": "DE"}))
    }

    #[test]
    fn a_sap_owned_field_changed_in_salesforce_is_not_in_the_patch() {
        let patch = f2().to_sap(&account(), None, true);
        assert!(!patch.contains_key("CurrentAccountBalance"), "{patch:?}");
        assert_eq!(patch["CardName"], "Acme");
    }

    #[test]
    fn a_field_owned_by_both_follows_the_newer_side() {
        let current = record(json!({"CardName": "Acme", "Phone1": "+1 000", "CardType": "cCustomer"}));
        assert_eq!(f2().to_sap(&account(), Some(&current), true), record(json!({"Phone1": "+1 555"})));
        assert!(f2().to_sap(&account(), Some(&current), false).is_empty(), "SAP's newer phone stays");
        let sap = record(
            json!({"CardName": "Acme SAP", "Phone1": "+1 000", "CardType": "cCustomer", "CurrentAccountBalance": 5.0}),
        );
        let to_sf = f2().to_salesforce(&sap, Some(&account()), true);
        assert_eq!(to_sf, record(json!({"Phone": "+1 000", "SAP_Balance__c": 5.0})), "Name is Salesforce-owned");
        assert_eq!(f2().to_salesforce(&sap, Some(&account()), false), record(json!({"SAP_Balance__c": 5.0})));
    }

    #[test]
    fn an_unchanged_record_gives_an_empty_patch() {
        let current = record(
            json!({"CardCode": "C1", "CardName": "Acme", "Phone1": "+1 555", "CardType": "cCustomer", "CurrentAccountBalance": 1.0}),
        );
        assert!(f2().to_sap(&account(), Some(&current), true).is_empty());
        let sap = record(json!({"CurrentAccountBalance": "999", "Phone1": "+1 555"}));
        assert!(f2().to_salesforce(&sap, Some(&account()), true).is_empty(), "999 and \"999\" are the same amount");
    }

    #[test]
    fn value_maps_apply_forwards_and_inverted() {
        let mut prospect = account();
        prospect.insert("Type".into(), json!("Prospect"));
        assert_eq!(f2().to_sap(&prospect, None, true)["CardType"], "cLid");
        let sap = record(json!({"CardType": "cLid"}));
        assert_eq!(f2().to_salesforce(&sap, None, true)["Type"], "Prospect");
        let unknown = record(json!({"CardType": "cSupplier"}));
        assert_eq!(f2().to_salesforce(&unknown, None, true)["Type"], "Customer", "unmapped falls back to the default");
        prospect.insert("Type".into(), json!("Partner"));
        assert!(!f2().to_sap(&prospect, None, true).contains_key("CardType"), "no SAP value and no default: left out");
    }

    #[test]
    fn a_null_source_value_takes_the_default_and_a_missing_one_is_left_alone() {
        let mut blank = account();
        blank.insert("Type".into(), Value::Null);
        blank.insert("Phone".into(), Value::Null);
        let patch = f2().to_sap(&blank, None, true);
        assert_eq!(patch["CardType"], "cCustomer");
        assert_eq!(patch["Phone1"], Value::Null, "a cleared phone is cleared in SAP too");
        blank.remove("Type");
        assert!(!f2().to_sap(&blank, None, true).contains_key("CardType"));
    }

    #[test]
    fn contacts_keep_their_internal_code_and_new_contacts_are_inserted_without_one() {
        let sf = record(json!({"Contacts": {"totalSize": 2, "done": true, "records": [
            {"Id": "003A", "LastName": "Known", "Email": "new@x"},
            {"Id": "003B", "LastName": "Fresh", "Email": null}]}}));
        let sap = record(json!({"ContactEmployees": [
            {"InternalCode": 7, "Name": "Known", "LastName": "Known", "E_Mail": "old@x", "U_SF_ContactId": "003A"},
            {"InternalCode": 8, "Name": "Known", "LastName": "Known", "U_SF_ContactId": "003Z"}]}));
        let rows = f2().to_sap_collection("contacts", &sf, Some(&sap), true).unwrap();
        assert_eq!(rows[0], record(json!({"InternalCode": 7, "E_Mail": "new@x"})));
        assert_eq!(rows[1], record(json!({"LastName": "Fresh", "E_Mail": null, "U_SF_ContactId": "003B"})));
        assert_eq!(rows.len(), 2, "the SAP-only contact is not touched");
        let again = record(json!({"ContactEmployees": [
            {"InternalCode": 7, "LastName": "Known", "E_Mail": "new@x", "U_SF_ContactId": "003A"},
            {"InternalCode": 9, "LastName": "Fresh", "U_SF_ContactId": "003B"}]}));
        assert!(f2().to_sap_collection("contacts", &sf, Some(&again), true).unwrap().is_empty());
    }

    #[test]
    fn an_address_row_keeps_all_four_keys_for_an_in_place_update() {
        let sap = record(json!({"BPAddresses": [
            {"AddressName": "Ship to", "AddressType": "bo_ShipTo", "City": "Paris", "BPCode": "C1", "RowNum": 1},
            {"AddressName": "Bill to", "AddressType": "bo_BillTo", "City": "Paris", "Country": "DE", "BPCode": "C1", "RowNum": 0}]}));
        let rows = f2().to_sap_collection("bill_to", &account(), Some(&sap), true).unwrap();
        assert_eq!(
            rows,
            vec![record(
                json!({"City": "Berlin", "AddressName": "Bill to", "AddressType": "bo_BillTo", "BPCode": "C1", "RowNum": 0})
            )]
        );
        let fresh = f2().to_sap_collections(&account(), Some(&record(json!({"BPAddresses": []}))), true);
        assert_eq!(
            fresh,
            record(
                json!({"BPAddresses": [{"City": "Berlin", "Country": "DE", "AddressType": "bo_BillTo", "AddressName": "Bill To"}]})
            )
        );
        let to_sf = f2().to_salesforce(&sap, Some(&account()), true);
        assert_eq!(to_sf, record(json!({})), "City is Salesforce-owned and the country already agrees");
    }

    #[test]
    fn sap_rows_become_salesforce_children_matched_by_their_key() {
        let sap = record(json!({"ContactEmployees": [
            {"InternalCode": 7, "LastName": "Known", "E_Mail": "sap@x", "U_SF_ContactId": "003A"},
            {"InternalCode": 8, "LastName": "Only SAP", "E_Mail": "x@y"}]}));
        let current = [record(json!({"Id": "003A", "LastName": "Known", "Email": "sf@x"}))];
        let records = f2().to_salesforce_collection("contacts", &sap, &current, true).unwrap();
        assert_eq!(
            records,
            vec![record(json!({"Id": "003A", "Email": "sap@x"}))],
            "no key, no Salesforce match: skipped"
        );
        assert!(f2().to_salesforce_collection("bill_to", &sap, &current, true).is_err());
    }

    #[test]
    fn sap_dates_and_numeric_text_arrive_in_salesforce_form() {
        assert_eq!(convert(json!("2025-06-30T00:00:00Z"), Kind::Date), json!("2025-06-30"));
        assert_eq!(convert(json!("100"), Kind::Number), json!(100.0));
        assert_eq!(convert(json!(12), Kind::Text), json!("12"));
        assert!(!differs(Kind::Date, &json!("2025-06-30"), Some(Some(&json!("2025-06-30T00:00:00Z")))));
    }

    #[test]
    fn the_content_hash_ignores_key_order_and_number_rendering_but_not_values() {
        let a = record(json!({"b": 1, "a": {"y": [1, 2], "x": "s"}, "n": 100}));
        let b = record(json!({"a": {"x": "s", "y": [1, 2]}, "n": 100.0, "b": 1}));
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(content_hash(&a).len(), 64);
        let c = record(json!({"a": {"x": "s", "y": [2, 1]}, "n": 100.0, "b": 1}));
        assert_ne!(content_hash(&a), content_hash(&c));
    }
}
