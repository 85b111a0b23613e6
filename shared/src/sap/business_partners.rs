//! F2 business partner reads and writes, and the key matching that lets a PATCH update contacts and
//! addresses in place (reference §5: members without their key are inserted, and re-inserting an
//! address name and type is `-2035`).

use super::odata::{Property, Query, key_path};
use super::{SapClient, errors, undecodable};
use crate::domain::{CardCode, Record};
use crate::error::{Error, Result};
use serde_json::Value;

impl SapClient {
    /// GET one business partner with `$select`; `None` on `-2028`.
    pub(super) async fn read_business_partner(
        &self,
        card_code: &CardCode,
        select: &[String],
    ) -> Result<Option<Record>> {
        let properties = select.iter().map(|name| Property::parse(name)).collect::<Result<Vec<_>>>()?;
        let options = Query::new().select(properties).to_query_string();
        let mut path = key_path("BusinessPartners", card_code.as_str());
        if !options.is_empty() {
            path.push('?');
            path.push_str(&options);
        }
        match self.get(&path).await {
            Ok(Value::Object(mut row)) => {
                row.retain(|field, _| !field.starts_with("@odata.") && !field.starts_with("odata."));
                Ok(Some(row))
            }
            Ok(_) => Err(undecodable("a business partner reply is not an object")),
            Err(err) if errors::is_not_found(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// POST the record; an existing CardCode turns the create into a PATCH.
    pub(super) async fn create_business_partner_from(&self, record: &Record) -> Result<()> {
        let code = record
            .get("CardCode")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Mapping("a business partner record needs a CardCode".into()))
            .and_then(CardCode::parse)?;
        match self.post("BusinessPartners", &Value::Object(record.clone())).await {
            Ok(_) => Ok(()),
            Err(err) if errors::is_duplicate_business_partner(&err) => {
                tracing::info!(card_code = %code, "business partner exists; updating it instead");
                self.patch_business_partner_with(&code, record).await
            }
            Err(err) => Err(err),
        }
    }

    /// PATCH with collection members keyed against the partner's current contacts and addresses.
    pub(super) async fn patch_business_partner_with(&self, card_code: &CardCode, record: &Record) -> Result<()> {
        let mut body = record.clone();
        // The key is read-only (silently ignored by SAP); sending it only invites confusion.
        body.remove("CardCode");
        if needs_matching(&body) {
            let select = ["ContactEmployees".to_string(), "BPAddresses".to_string()];
            if let Some(current) = self.read_business_partner(card_code, &select).await? {
                key_collection_members(&mut body, &current);
            }
        }
        self.patch(&key_path("BusinessPartners", card_code.as_str()), &Value::Object(body)).await
    }
}

fn members<'a>(record: &'a Record, collection: &str) -> impl Iterator<Item = &'a Value> {
    record.get(collection).and_then(Value::as_array).into_iter().flatten()
}

/// True when some contact lacks `InternalCode` or some address lacks `RowNum`.
fn needs_matching(record: &Record) -> bool {
    members(record, "ContactEmployees").any(|c| c.get("InternalCode").is_none_or(Value::is_null))
        || members(record, "BPAddresses").any(|a| a.get("RowNum").is_none_or(Value::is_null))
}

/// Gives each contact in `record` without `InternalCode` the code of the current contact with the same
/// `U_SF_ContactId`, and each address without `RowNum` the `BPCode` and `RowNum` of the current address
/// with the same `AddressName` and `AddressType`. Unmatched members stay keyless: SAP inserts them.
pub fn key_collection_members(record: &mut Record, current: &Record) {
    let current_contacts: Vec<Value> = members(current, "ContactEmployees").cloned().collect();
    let current_addresses: Vec<Value> = members(current, "BPAddresses").cloned().collect();
    if let Some(Value::Array(contacts)) = record.get_mut("ContactEmployees") {
        for contact in contacts.iter_mut().filter(|c| c.get("InternalCode").is_none_or(Value::is_null)) {
            let Some(id) = contact.get("U_SF_ContactId").and_then(Value::as_str).filter(|id| !id.is_empty()) else {
                continue;
            };
            if let Some(code) = current_contacts.iter().find(|c| c["U_SF_ContactId"] == id).map(|c| &c["InternalCode"])
            {
                contact["InternalCode"] = code.clone();
            }
        }
    }
    if let Some(Value::Array(addresses)) = record.get_mut("BPAddresses") {
        for address in addresses.iter_mut().filter(|a| a.get("RowNum").is_none_or(Value::is_null)) {
            let (Some(name), Some(kind)) = (address.get("AddressName"), address.get("AddressType")) else {
                continue;
            };
            let matching = current_addresses
                .iter()
                .find(|a| a.get("AddressName") == Some(name) && a.get("AddressType") == Some(kind));
            if let Some(matching) = matching {
                address["BPCode"] = matching["BPCode"].clone();
                address["RowNum"] = matching["RowNum"].clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn current() -> Record {
        record(json!({
            "ContactEmployees": [
                {"InternalCode": 7, "Name": "Ann Lee", "U_SF_ContactId": "003A"},
                {"InternalCode": 8, "Name": "Ben Okafor", "U_SF_ContactId": null},
            ],
            "BPAddresses": [
                {"AddressName": "Bill to", "AddressType": "bo_BillTo", "BPCode": "C1", "RowNum": 0},
                {"AddressName": "Bill to", "AddressType": "bo_ShipTo", "BPCode": "C1", "RowNum": 1},
            ],
        }))
    }

    #[test]
    fn contacts_are_matched_by_salesforce_id_and_addresses_by_name_and_type() {
        let mut desired = record(json!({
            "ContactEmployees": [
                {"Name": "Ann Lee-Smith", "U_SF_ContactId": "003A"},
                {"Name": "Cara New", "U_SF_ContactId": "003C"},
                {"Name": "Ben Okafor"},
            ],
            "BPAddresses": [
                {"AddressName": "Bill to", "AddressType": "bo_ShipTo", "City": "Tacoma"},
                {"AddressName": "Depot", "AddressType": "bo_ShipTo", "City": "Tacoma"},
                {"AddressName": "Bill to", "City": "untyped"},
            ],
        }));
        assert!(needs_matching(&desired));
        key_collection_members(&mut desired, &current());
        let contacts = desired["ContactEmployees"].as_array().unwrap();
        assert_eq!(contacts[0]["InternalCode"], 7);
        assert!(contacts[1].get("InternalCode").is_none(), "a new Salesforce contact is inserted");
        assert!(contacts[2].get("InternalCode").is_none(), "no name matching, ever");
        let addresses = desired["BPAddresses"].as_array().unwrap();
        assert_eq!((addresses[0]["RowNum"].as_i64(), addresses[0]["BPCode"].as_str()), (Some(1), Some("C1")));
        assert!(addresses[1].get("RowNum").is_none());
        assert!(addresses[2].get("RowNum").is_none(), "without a type there is no unique match");
    }

    #[test]
    fn a_record_whose_members_all_carry_keys_needs_no_lookup() {
        let keyed = record(json!({"CardName": "X", "ContactEmployees": [{"InternalCode": 7}],
            "BPAddresses": [{"RowNum": 0, "AddressName": "Bill to"}]}));
        assert!(!needs_matching(&keyed));
        assert!(!needs_matching(&record(json!({"Phone1": "1"}))));
    }
}
