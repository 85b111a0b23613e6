//! `UserFieldsMD`: the definitions of user-defined fields (UDFs), table CUFD in a company database.
//! Read with the usual query options, created with POST; a definition is keyed by `TableName` and a
//! `FieldID` numbered per table from 0. Pure: the handlers hold the lock and shape the answers.
//!
//! Definitions and entity properties are independent here: the sandbox's entities carry their
//! `U_SF_*` properties whether or not a definition exists, and a definition created through the API
//! adds no property (a real Service Layer shows a new UDF only after a restart anyway).

use super::entities::SapError;
use super::store::required_text;
use serde_json::{Map, Value, json};

/// Properties of one `UserFieldMD`.
pub const USER_FIELD_FIELDS: &[&str] = &[
    "Name",
    "Type",
    "Size",
    "Description",
    "SubType",
    "LinkedTable",
    "DefaultValue",
    "TableName",
    "FieldID",
    "EditSize",
    "Mandatory",
    "LinkedUDO",
    "LinkedSystemObject",
    "ValidValuesMD",
];

/// The `Type` values the Service Layer accepts (`BoFieldTypes`).
const TYPES: [&str; 5] = ["db_Alpha", "db_Memo", "db_Numeric", "db_Date", "db_Float"];

/// Size of a `db_Alpha` field created without one [U: the DI API documents no default].
const DEFAULT_ALPHA_SIZE: i64 = 10;

/// Longest `Description` (CUFD.Descr is nvarchar(80)) [U].
const MAX_DESCRIPTION: usize = 80;

/// The B1Force UDFs as an installed company has them: the ids the sandbox's entities carry
/// (`U_SF_QuoteId` on sales quotations, `U_SF_OpportunityId` on every document header, `U_SF_LineItemId` on order lines,
/// `U_SF_AccountId` on partners, `U_SF_ContactId` on contact persons), written out here rather
/// than taken from `shared`, so a wrong list there cannot agree with itself.
const B1FORCE_FIELDS: [(&str, &str, &str); 8] = [
    ("OQUT", "SF_QuoteId", "Salesforce Quote Id (B1Force)"),
    ("ORDR", "SF_OpportunityId", "Salesforce Opportunity Id (B1Force)"),
    ("ODLN", "SF_OpportunityId", "Salesforce Opportunity Id (B1Force)"),
    ("OINV", "SF_OpportunityId", "Salesforce Opportunity Id (B1Force)"),
    ("ORIN", "SF_OpportunityId", "Salesforce Opportunity Id (B1Force)"),
    ("RDR1", "SF_LineItemId", "Salesforce Line Item Id (B1Force)"),
    ("OCRD", "SF_AccountId", "Salesforce Account Id (B1Force)"),
    ("OCPR", "SF_ContactId", "Salesforce Contact Id (B1Force)"),
];

/// Every UDF definition of the company, in (TableName, FieldID) order.
#[derive(Debug, Default)]
pub struct UserFields {
    rows: Vec<Value>,
}

impl UserFields {
    /// A company with the B1Force UDFs installed (`installed`), or a fresh one without any.
    pub fn new(installed: bool) -> Self {
        let mut fields = Self::default();
        if installed {
            for (table, name, description) in B1FORCE_FIELDS {
                let body = json!({"TableName": table, "Name": name, "Type": "db_Alpha", "Size": 18,
                                  "Description": description});
                let body = body.as_object().cloned().unwrap_or_default();
                fields.create(body).expect("the seeded definitions are valid and distinct");
            }
        }
        fields
    }

    /// Every definition, in (TableName, FieldID) order.
    pub fn rows(&self) -> &[Value] {
        &self.rows
    }

    /// One definition by its key.
    pub fn get(&self, table: &str, field_id: i64) -> Result<&Value, SapError> {
        self.rows
            .iter()
            .find(|row| row["TableName"] == table && row["FieldID"] == field_id)
            .ok_or_else(SapError::not_found)
    }

    /// Creates a definition from a POST body; returns it as stored, with its `FieldID`.
    pub fn create(&mut self, mut body: Map<String, Value>) -> Result<Value, SapError> {
        body.retain(|field, _| !field.starts_with("@odata.") && !field.starts_with("odata."));
        if let Some(unknown) = body.keys().find(|k| !USER_FIELD_FIELDS.contains(&k.as_str())) {
            return Err(SapError::bad_request(format!("Property '{unknown}' of 'UserFieldMD' is invalid")));
        }
        let table = required_text(&body, "TableName", "Table name")?;
        let name = required_text(&body, "Name", "Field name")?;
        let field_type = body.get("Type").and_then(Value::as_str).unwrap_or("db_Alpha").to_string();
        if !TYPES.contains(&field_type.as_str()) {
            return Err(SapError::bad_request(format!("Value '{field_type}' of property 'Type' is invalid")));
        }
        if body.get("Description").and_then(Value::as_str).is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return Err(SapError::new(400, "-10", format!("Description is longer than {MAX_DESCRIPTION} characters")));
        }
        // Names compare as the default SQL Server collation does: without regard to case.
        let taken = self.rows.iter().any(|row| {
            row["TableName"] == table.as_str()
                && row["Name"].as_str().is_some_and(|existing| existing.eq_ignore_ascii_case(&name))
        });
        if taken {
            // Code and text as reported by integrations that create UDFs idempotently [U: not seen on a server here].
            return Err(SapError::new(
                400,
                "-2035",
                format!("Field name already exists: '{name}' on table '{table}' (ODBC -2035)"),
            ));
        }
        let size = ["Size", "EditSize"].iter().find_map(|f| body.get(*f).and_then(Value::as_i64));
        let size = size.unwrap_or(if field_type == "db_Alpha" { DEFAULT_ALPHA_SIZE } else { 0 });
        let field_id = self
            .rows
            .iter()
            .filter(|row| row["TableName"] == table.as_str())
            .filter_map(|row| row["FieldID"].as_i64())
            .max()
            .map_or(0, |id| id + 1);
        let mut row = json!({
            "Name": name, "Type": field_type, "Size": size, "Description": null, "SubType": "st_None",
            "LinkedTable": null, "DefaultValue": null, "TableName": table, "FieldID": field_id, "EditSize": size,
            "Mandatory": "tNO", "LinkedUDO": null, "LinkedSystemObject": null, "ValidValuesMD": [],
        });
        for (field, value) in body {
            if !matches!(field.as_str(), "FieldID" | "Size" | "EditSize" | "Type" | "Name" | "TableName") {
                row[field.as_str()] = value;
            }
        }
        let at = self.rows.partition_point(|r| {
            (r["TableName"].as_str().unwrap_or_default(), r["FieldID"].as_i64().unwrap_or_default())
                <= (table.as_str(), field_id)
        });
        self.rows.insert(at, row.clone());
        Ok(row)
    }
}

/// The key part of `UserFieldsMD(TableName='OCRD',FieldID=0)` (without the parentheses).
pub fn parse_key(inside: &str) -> Result<(String, i64), SapError> {
    let bad = || SapError::bad_request(format!("Invalid key value for UserFieldsMD: {inside}"));
    let mut table = None;
    let mut field_id = None;
    for part in inside.split(',') {
        let (name, value) = part.split_once('=').ok_or_else(bad)?;
        match name.trim() {
            "TableName" => {
                let quoted = value.trim().strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).ok_or_else(bad)?;
                table = Some(quoted.replace("''", "'"));
            }
            "FieldID" => field_id = Some(value.trim().parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    Ok((table.ok_or_else(bad)?, field_id.ok_or_else(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn an_installed_company_has_the_eight_b1force_fields_and_a_fresh_one_none() {
        let installed = UserFields::new(true);
        let keys: Vec<(&str, &str, i64)> = installed
            .rows()
            .iter()
            .map(|r| (r["TableName"].as_str().unwrap(), r["Name"].as_str().unwrap(), r["FieldID"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            keys,
            [
                ("OCPR", "SF_ContactId", 0),
                ("OCRD", "SF_AccountId", 0),
                ("ODLN", "SF_OpportunityId", 0),
                ("OINV", "SF_OpportunityId", 0),
                ("OQUT", "SF_QuoteId", 0),
                ("ORDR", "SF_OpportunityId", 0),
                ("ORIN", "SF_OpportunityId", 0),
                ("RDR1", "SF_LineItemId", 0),
            ]
        );
        assert!(installed.rows().iter().all(|r| r["Type"] == "db_Alpha" && r["Size"] == 18 && r["EditSize"] == 18));
        assert!(UserFields::new(false).rows().is_empty());
    }

    #[test]
    fn field_ids_count_per_table_and_a_duplicate_name_in_any_case_is_minus_2035() {
        let mut fields = UserFields::new(false);
        let first = fields.create(body(json!({"TableName": "OCRD", "Name": "A", "Type": "db_Numeric", "Size": 11})));
        assert_eq!(first.unwrap()["FieldID"], 0);
        let second = fields.create(body(json!({"TableName": "OCRD", "Name": "B", "Description": "Bee"}))).unwrap();
        assert_eq!((second["FieldID"].as_i64(), second["Size"].as_i64()), (Some(1), Some(DEFAULT_ALPHA_SIZE)));
        assert_eq!(fields.create(body(json!({"TableName": "ORDR", "Name": "A"}))).unwrap()["FieldID"], 0);
        let duplicate = fields.create(body(json!({"TableName": "OCRD", "Name": "b", "Type": "db_Alpha"}))).unwrap_err();
        assert_eq!((duplicate.status, duplicate.code.as_str()), (400, "-2035"));
        assert!(duplicate.message.contains("already exists"), "{}", duplicate.message);
        assert_eq!(fields.get("OCRD", 1).unwrap()["Description"], "Bee");
        assert_eq!(fields.get("OCRD", 2).unwrap_err().code, "-2028");
    }

    #[test]
    fn unknown_properties_types_and_missing_names_are_rejected() {
        let mut fields = UserFields::new(false);
        let unknown = fields.create(body(json!({"TableName": "OCRD", "Name": "A", "Length": 5}))).unwrap_err();
        assert_eq!(unknown.message, "Property 'Length' of 'UserFieldMD' is invalid");
        let bad_type = fields.create(body(json!({"TableName": "OCRD", "Name": "A", "Type": "db_Text"}))).unwrap_err();
        assert_eq!(bad_type.code, "-1000");
        assert_eq!(fields.create(body(json!({"TableName": "OCRD"}))).unwrap_err().code, "-10");
        let long = "x".repeat(81);
        assert!(fields.create(body(json!({"TableName": "OCRD", "Name": "A", "Description": long}))).is_err());
        assert!(fields.rows().is_empty(), "nothing is stored by a rejected create");
    }

    #[test]
    fn keys_name_the_table_and_the_field_id() {
        assert_eq!(parse_key("TableName='OCRD',FieldID=3").unwrap(), ("OCRD".into(), 3));
        assert_eq!(parse_key(" FieldID=0 , TableName='@X''Y' ").unwrap(), ("@X'Y".into(), 0));
        for bad in ["", "3", "TableName='OCRD'", "TableName=OCRD,FieldID=1", "TableName='OCRD',FieldID=x", "A=1"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }
}
