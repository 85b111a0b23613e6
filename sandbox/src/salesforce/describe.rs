//! `GET /sobjects/{Object}/describe` and the integration user's field-level security.
//!
//! The describe answer carries what a preflight reads of each field, with Salesforce's names
//! (REST API Developer Guide, "sObject Describe"; `DescribeFieldResult` in the SOAP API guide):
//! `name`, `type` (`id`, `reference`, `string`, `double`, `boolean`, `date`, `datetime`),
//! `createable`, `updateable`, `externalId`, `unique`, `nillable`, `referenceTo`. A field the user
//! cannot see is absent from describe, and a query or write naming it fails as if it did not exist
//! (`INVALID_FIELD`); a read-only one is described `createable: false, updateable: false` and a
//! write to it fails `INVALID_FIELD_FOR_INSERT_UPDATE`.

use super::schema::{Access, FieldDef, FieldType, ObjectDef};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Fields hidden from, or read-only for, the integration user (per sandbox; none by default).
#[derive(Debug, Default)]
pub struct FieldSecurity {
    hidden: HashSet<String>,
    read_only: HashSet<String>,
    /// Record ids not shared with the user.
    hidden_records: HashSet<String>,
}

fn key(object: &str, field: &str) -> String {
    format!("{}.{}", object.to_ascii_lowercase(), field.to_ascii_lowercase())
}

impl FieldSecurity {
    /// Hides `object.field` from the user (no read access in its permission sets).
    pub fn hide(&mut self, object: &str, field: &str) {
        self.hidden.insert(key(object, field));
    }

    /// Makes `object.field` read-only for the user (read but not edit access).
    pub fn make_read_only(&mut self, object: &str, field: &str) {
        self.read_only.insert(key(object, field));
    }

    /// Stops sharing record `id` with the user.
    pub fn hide_record(&mut self, id: &str) {
        self.hidden_records.insert(id.get(..15).unwrap_or(id).to_string());
    }

    /// True when record `id` (15 or 18 characters) is not shared with the user.
    pub fn is_record_hidden(&self, id: &str) -> bool {
        !self.hidden_records.is_empty() && self.hidden_records.contains(id.get(..15).unwrap_or(id))
    }

    /// True when the user cannot see the field.
    pub fn is_hidden(&self, object: &str, field: &str) -> bool {
        self.hidden.contains(&key(object, field))
    }

    /// True when the user can see but not edit the field.
    pub fn is_read_only(&self, object: &str, field: &str) -> bool {
        self.read_only.contains(&key(object, field))
    }

    /// The object's describe answer as this user sees it.
    pub fn describe(&self, def: &ObjectDef) -> Value {
        let fields: Vec<Value> = def
            .fields
            .iter()
            .filter(|f| !self.is_hidden(def.name, f.name))
            .map(|f| self.describe_field(def, f))
            .collect();
        json!({
            "name": def.name,
            "keyPrefix": def.prefix,
            "custom": def.name.ends_with("__c"),
            "createable": true,
            "updateable": true,
            "queryable": true,
            "fields": fields,
        })
    }

    fn describe_field(&self, def: &ObjectDef, field: &FieldDef) -> Value {
        let editable = !self.is_read_only(def.name, field.name);
        let (createable, updateable) = match field.access {
            Access::ReadWrite => (editable, editable),
            Access::CreateOnly => (editable, false),
            Access::ReadOnly => (false, false),
        };
        let (ty, reference_to): (&str, Vec<&str>) = match field.ty {
            FieldType::Id => ("id", vec![]),
            FieldType::Reference(target) => ("reference", vec![target]),
            FieldType::Text => ("string", vec![]),
            FieldType::Number => ("double", vec![]),
            FieldType::Boolean => ("boolean", vec![]),
            FieldType::Date => ("date", vec![]),
            FieldType::DateTime => ("datetime", vec![]),
        };
        json!({
            "name": field.name,
            "type": ty,
            "createable": createable,
            "updateable": updateable,
            "externalId": field.external_id,
            "unique": field.unique,
            "nillable": !field.required,
            "referenceTo": reference_to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema;

    #[test]
    fn describe_lists_fields_with_access_and_hides_what_the_user_cannot_see() {
        let account = schema::object("Account").unwrap();
        let mut security = FieldSecurity::default();
        let field = |described: &Value, name: &str| {
            described["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned()
        };
        let open = security.describe(account);
        let card_code = field(&open, "SAP_CardCode__c").expect("described");
        assert_eq!((card_code["type"].as_str(), card_code["externalId"].as_bool()), (Some("string"), Some(true)));
        assert_eq!(card_code["updateable"], true);
        assert_eq!(field(&open, "Id").unwrap()["updateable"], false);

        security.hide("Account", "SAP_CardCode__c");
        security.make_read_only("account", "phone");
        let restricted = security.describe(account);
        assert!(field(&restricted, "SAP_CardCode__c").is_none(), "a hidden field is not described");
        let phone = field(&restricted, "Phone").unwrap();
        assert_eq!((phone["createable"].as_bool(), phone["updateable"].as_bool()), (Some(false), Some(false)));
    }
}
