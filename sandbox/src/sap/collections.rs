//! Collection properties on create and PATCH (reference §5): members with their key update in place,
//! members without one are inserted with a server-assigned key; `B1S-ReplaceCollectionsOnPatch`
//! drops members the payload leaves out. BPAddresses update in place only with all of BPCode,
//! AddressName, AddressType and RowNum; re-inserting an existing name and type is `-2035`. Pure.

use super::entities::{ADDRESS_FIELDS, CONTACT_FIELDS, LINE_FIELDS, SapError, Stamp};
use serde_json::{Map, Value, json};

/// A collection property with its own member rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    DocumentLines,
    ItemPrices,
    ContactEmployees,
    BPAddresses,
}

/// What inserting members needs from the owning row and the store.
pub struct Owner<'a> {
    /// The owner's key (CardCode) written into `ContactEmployees.CardCode` and `BPAddresses.BPCode`.
    pub code: &'a str,
    pub now: &'a Stamp,
    /// The next `InternalCode`: contact codes are unique across all partners, as in OCPR.
    pub next_contact_code: &'a mut i64,
}

const ADDRESS_KEY: [&str; 4] = ["BPCode", "AddressName", "AddressType", "RowNum"];

impl Collection {
    /// The collection a property of a row is, if it has member rules.
    pub fn of(field: &str) -> Option<Self> {
        match field {
            "DocumentLines" => Some(Self::DocumentLines),
            "ItemPrices" => Some(Self::ItemPrices),
            "ContactEmployees" => Some(Self::ContactEmployees),
            "BPAddresses" => Some(Self::BPAddresses),
            _ => None,
        }
    }

    /// The member's own key property (for BPAddresses, the server-assigned part of the key).
    fn key_field(self) -> &'static str {
        match self {
            Self::DocumentLines => "LineNum",
            Self::ItemPrices => "PriceList",
            Self::ContactEmployees => "InternalCode",
            Self::BPAddresses => "RowNum",
        }
    }

    fn member_type(self) -> &'static str {
        match self {
            Self::DocumentLines => "DocumentLine",
            Self::ItemPrices => "ItemPrice",
            Self::ContactEmployees => "ContactEmployee",
            Self::BPAddresses => "BPAddress",
        }
    }

    fn allows(self, field: &str) -> bool {
        match self {
            Self::DocumentLines => LINE_FIELDS.contains(&field) || field.starts_with("U_"),
            Self::ContactEmployees => CONTACT_FIELDS.contains(&field),
            Self::BPAddresses => ADDRESS_FIELDS.contains(&field),
            Self::ItemPrices => true,
        }
    }

    /// Properties a client cannot change on an existing member.
    fn read_only(self, field: &str) -> bool {
        field == self.key_field()
            || matches!(field, "CreateDate" | "CreateTime" | "UpdateDate" | "UpdateTime" | "BPCode" | "CardCode")
    }

    /// The position in `members` of the member `update` addresses, if it addresses one.
    fn find(self, members: &[Value], update: &Map<String, Value>) -> Option<usize> {
        match self {
            Self::BPAddresses => {
                let key: Option<Vec<&Value>> = ADDRESS_KEY.iter().map(|k| update.get(*k)).collect();
                let key = key?;
                members.iter().position(|m| ADDRESS_KEY.iter().zip(&key).all(|(k, v)| m.get(*k) == Some(*v)))
            }
            _ => {
                let key = update.get(self.key_field()).filter(|k| !k.is_null())?;
                members.iter().position(|m| m.get(self.key_field()) == Some(key))
            }
        }
    }

    /// Checks a member's shape: a JSON object with known properties only.
    pub fn validate(self, member: Value) -> Result<Map<String, Value>, SapError> {
        let Value::Object(member) = member else {
            return Err(SapError::bad_request(format!("Each member of {self:?} must be a JSON object")));
        };
        match member.keys().find(|k| !self.allows(k)) {
            Some(unknown) => {
                Err(SapError::bad_request(format!("Property '{unknown}' of '{}' is invalid", self.member_type())))
            }
            None => Ok(member),
        }
    }

    /// Merges `updates` into `current` (or replaces it, keeping members addressed by key).
    pub fn merge(
        self,
        current: &[Value],
        updates: Vec<Value>,
        replace: bool,
        owner: &mut Owner<'_>,
    ) -> Result<Vec<Value>, SapError> {
        let mut result: Vec<Value> = if replace { Vec::new() } else { current.to_vec() };
        for update in updates {
            let update = self.validate(update)?;
            match self.find(current, &update) {
                Some(i) => {
                    let mut member = current[i].clone();
                    for (field, value) in update {
                        if !self.read_only(&field) {
                            member[field.as_str()] = value;
                        }
                    }
                    if self == Self::ContactEmployees && member != current[i] {
                        member["UpdateDate"] = json!(owner.now.date);
                        member["UpdateTime"] = json!(owner.now.time);
                    }
                    let key = member.get(self.key_field()).cloned();
                    match result.iter().position(|m| m.get(self.key_field()) == key.as_ref()) {
                        Some(at) => result[at] = member,
                        None => result.push(member),
                    }
                }
                None if self == Self::ContactEmployees && update.get("InternalCode").is_some_and(|k| !k.is_null()) => {
                    return Err(SapError::new(400, "-2028", "No matching records found (ODBC -2028)"));
                }
                None => {
                    let member = self.insert(update, &result, owner)?;
                    result.push(member);
                }
            }
        }
        Ok(result)
    }

    /// A new member with its server-assigned key and stamps.
    fn insert(
        self,
        mut member: Map<String, Value>,
        existing: &[Value],
        owner: &mut Owner<'_>,
    ) -> Result<Value, SapError> {
        let next_row = || existing.iter().filter_map(|m| m[self.key_field()].as_i64()).max().map_or(0, |k| k + 1);
        match self {
            Self::ContactEmployees => {
                match member.get("Name").and_then(Value::as_str).map(str::trim) {
                    Some(name) if !name.is_empty() => {}
                    _ => return Err(SapError::new(400, "-10", "Enter a contact person name [OCPR.Name]")),
                }
                member.insert("InternalCode".into(), json!(*owner.next_contact_code));
                *owner.next_contact_code += 1;
                member.insert("CardCode".into(), json!(owner.code));
                member.entry("Active").or_insert(json!("tYES"));
                for (field, value) in [
                    ("CreateDate", &owner.now.date),
                    ("CreateTime", &owner.now.time),
                    ("UpdateDate", &owner.now.date),
                    ("UpdateTime", &owner.now.time),
                ] {
                    member.insert(field.into(), json!(value));
                }
            }
            Self::BPAddresses => {
                // Without AddressType a real server appends silently (reference §5), so only a typed insert is checked.
                if let Some(kind) = member.get("AddressType") {
                    let name = member.get("AddressName");
                    if existing.iter().any(|m| m.get("AddressName") == name && m.get("AddressType") == Some(kind)) {
                        return Err(SapError::new(
                            400,
                            "-2035",
                            "This entry already exists in the following tables (ODBC -2035)",
                        ));
                    }
                }
                // Which type B1 defaults to is not documented [U]; ship-to is the DI API's enum default.
                member.entry("AddressType").or_insert(json!("bo_ShipTo"));
                member.insert("RowNum".into(), json!(next_row()));
                member.insert("BPCode".into(), json!(owner.code));
                member.insert("CreateDate".into(), json!(owner.now.date));
                member.insert("CreateTime".into(), json!(owner.now.time));
            }
            Self::DocumentLines | Self::ItemPrices => {
                // A document's new line comes numbered after every line it ever had
                // (`Store::prepare_patched_lines`); other new members are numbered here.
                if member.get(self.key_field()).is_none_or(|k| k.is_null()) {
                    member.insert(self.key_field().into(), json!(next_row()));
                }
            }
        }
        Ok(Value::Object(member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Stamp {
        Stamp::at("2026-11-25", "11:00:00")
    }

    fn addresses() -> Vec<Value> {
        vec![
            json!({"AddressName": "Bill to", "AddressType": "bo_BillTo", "City": "Seattle", "BPCode": "C1", "RowNum": 0}),
            json!({"AddressName": "Ship to", "AddressType": "bo_ShipTo", "City": "Seattle", "BPCode": "C1", "RowNum": 1}),
        ]
    }

    fn merge(kind: Collection, current: &[Value], updates: Vec<Value>, replace: bool) -> Result<Vec<Value>, SapError> {
        let stamp = now();
        let mut next = 500;
        kind.merge(current, updates, replace, &mut Owner { code: "C1", now: &stamp, next_contact_code: &mut next })
    }

    #[test]
    fn an_address_with_its_full_key_updates_in_place() {
        let update = json!({"AddressName": "Bill to", "AddressType": "bo_BillTo", "BPCode": "C1", "RowNum": 0, "City": "Tacoma"});
        let merged = merge(Collection::BPAddresses, &addresses(), vec![update], false).unwrap();
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0]["City"], "Tacoma");
    }

    #[test]
    fn an_address_without_row_num_is_an_insert_and_a_duplicate_name_and_type_is_minus_2035() {
        let update = json!({"AddressName": "Bill to", "AddressType": "bo_BillTo", "City": "Tacoma"});
        let err = merge(Collection::BPAddresses, &addresses(), vec![update], false).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "-2035"));
        assert_eq!(err.message, "This entry already exists in the following tables (ODBC -2035)");
        let other = json!({"AddressName": "Warehouse", "AddressType": "bo_ShipTo", "City": "Tacoma"});
        let merged = merge(Collection::BPAddresses, &addresses(), vec![other], false).unwrap();
        assert_eq!((merged[2]["RowNum"].as_i64(), merged[2]["BPCode"].as_str()), (Some(2), Some("C1")));
    }

    #[test]
    fn an_address_without_a_type_is_appended_silently() {
        let untyped = json!({"AddressName": "Bill to", "City": "Tacoma"});
        let merged = merge(Collection::BPAddresses, &addresses(), vec![untyped], false).unwrap();
        assert_eq!(merged.len(), 3);
    }

    #[test]
    fn contacts_get_global_internal_codes_and_an_unknown_code_is_not_found() {
        let merged = merge(Collection::ContactEmployees, &[], vec![json!({"Name": "Ann Lee"})], false).unwrap();
        assert_eq!(merged[0]["InternalCode"], 500);
        assert_eq!(merged[0]["CardCode"], "C1");
        assert_eq!(merged[0]["Active"], "tYES");
        let err = merge(Collection::ContactEmployees, &merged, vec![json!({"InternalCode": 9, "Name": "X"})], false);
        assert_eq!(err.unwrap_err().code, "-2028");
        let nameless = merge(Collection::ContactEmployees, &[], vec![json!({"FirstName": "Ann"})], false);
        assert_eq!(nameless.unwrap_err().code, "-10");
    }

    #[test]
    fn a_contact_changed_in_place_gets_a_new_update_stamp_and_an_unchanged_one_keeps_it() {
        let current =
            vec![json!({"InternalCode": 7, "Name": "Ann", "E_Mail": "a@x", "UpdateDate": "old", "UpdateTime": "old"})];
        let same =
            merge(Collection::ContactEmployees, &current, vec![json!({"InternalCode": 7, "E_Mail": "a@x"})], false);
        assert_eq!(same.unwrap(), current);
        let changed =
            merge(Collection::ContactEmployees, &current, vec![json!({"InternalCode": 7, "E_Mail": "b@x"})], false)
                .unwrap();
        assert_eq!((changed[0]["E_Mail"].as_str(), changed[0]["UpdateTime"].as_str()), (Some("b@x"), Some("11:00:00")));
    }

    #[test]
    fn replace_mode_drops_members_left_out_and_keeps_keyed_ones() {
        let keep = json!({"AddressName": "Ship to", "AddressType": "bo_ShipTo", "BPCode": "C1", "RowNum": 1});
        let merged = merge(Collection::BPAddresses, &addresses(), vec![keep], true).unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0]["RowNum"], 1);
    }

    #[test]
    fn unknown_member_properties_are_rejected() {
        let err =
            merge(Collection::ContactEmployees, &[], vec![json!({"Name": "A", "Email": "x"})], false).unwrap_err();
        assert_eq!(err.message, "Property 'Email' of 'ContactEmployee' is invalid");
    }
}
