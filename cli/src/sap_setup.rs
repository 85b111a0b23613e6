//! The user-defined fields (UDFs) the sync reads and writes, and what `b1force setup sap` does about
//! each: create it, leave it (present), or refuse (a field of that name exists with another shape).
//! Deciding is pure: the caller reads `UserFieldsMD` with [`existing_query`], gets a [`plan`], and
//! posts [`RequiredField::definition`] for each field to create. [`shared::wiring::sap_client_from_settings`] builds the
//! client from the Lambda functions' `SAP_*` settings.

use serde_json::{Value, json};
use shared::sap::odata::{Filter, Property, Query};
use shared::sap::schema;

/// The entity set of UDF definitions.
pub const USER_FIELDS: &str = "UserFieldsMD";
/// Every B1Force UDF is alphanumeric (nvarchar).
pub const FIELD_TYPE: &str = "db_Alpha";
/// Salesforce ids are 18 characters (the case-safe form the APIs return).
pub const FIELD_SIZE: u32 = 18;

/// One UDF B1Force needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredField {
    /// The B1 table: `ORDR` (sales order header), `RDR1` (its lines), `OCRD`, `OCPR`, ...
    pub table: &'static str,
    /// The name as `UserFieldsMD` holds it, without the `U_` prefix the entity property has.
    pub name: &'static str,
    pub description: &'static str,
    /// What the table holds, for people.
    pub holds: &'static str,
}

const OPPORTUNITY: &str = "Salesforce Opportunity Id (B1Force)";

/// The UDFs, in the order they are checked and created. The opportunity id is on the sales order
/// and on the documents copied from it, so it travels to deliveries, invoices and credit notes.
// B1 may add a marketing-document header UDF to every document table at once (the client's
// "Marketing Documents" category suggests so) [U: not seen on a server here]; creating it per table
// and taking "already exists" as done is right either way.
pub const REQUIRED_FIELDS: [RequiredField; 8] = [
    RequiredField { table: "ORDR", name: "SF_OpportunityId", description: OPPORTUNITY, holds: "sales orders" },
    RequiredField { table: "ODLN", name: "SF_OpportunityId", description: OPPORTUNITY, holds: "deliveries" },
    RequiredField { table: "OINV", name: "SF_OpportunityId", description: OPPORTUNITY, holds: "A/R invoices" },
    RequiredField { table: "ORIN", name: "SF_OpportunityId", description: OPPORTUNITY, holds: "A/R credit memos" },
    RequiredField {
        table: "RDR1",
        name: "SF_LineItemId",
        description: "Salesforce Line Item Id (B1Force)",
        holds: "sales order lines",
    },
    RequiredField {
        table: "OCRD",
        name: "SF_AccountId",
        description: "Salesforce Account Id (B1Force)",
        holds: "business partners",
    },
    RequiredField {
        table: "OCPR",
        name: "SF_ContactId",
        description: "Salesforce Contact Id (B1Force)",
        holds: "contact persons",
    },
    // A Salesforce quote's sales quotation (F1 `quote_statuses`): looked up by it before one is created.
    RequiredField {
        table: "OQUT",
        name: "SF_QuoteId",
        description: "Salesforce Quote Id (B1Force)",
        holds: "sales quotations",
    },
];

impl RequiredField {
    /// The property on the entity or line, e.g. `U_SF_OpportunityId`.
    pub fn property(&self) -> String {
        format!("U_{}", self.name)
    }

    /// `ORDR.U_SF_OpportunityId`, for messages.
    pub fn label(&self) -> String {
        format!("{}.{}", self.table, self.property())
    }

    /// `(TableName eq 'ORDR') and (Name eq 'SF_OpportunityId')`
    fn filter(&self) -> Filter {
        let (table, name): (Property, Property) = ("TableName".into(), "Name".into());
        // Both are Edm.String in the client's schema: formatting text never fails.
        let text = |property: &Property, value: &str| {
            schema::literal(property, value).expect("TableName and Name are Edm.String in shared::sap::schema")
        };
        Filter::eq(&table, text(&table, self.table)).and(Filter::eq(&name, text(&name, self.name)))
    }

    /// The `POST UserFieldsMD` body.
    pub fn definition(&self) -> Value {
        json!({
            "Name": self.name,
            "Type": FIELD_TYPE,
            "Size": FIELD_SIZE,
            "Description": self.description,
            "TableName": self.table,
        })
    }
}

/// One `UserFieldsMD` row as the server returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingField {
    pub table: String,
    /// Without the `U_` prefix.
    pub name: String,
    pub field_type: String,
    pub size: Option<u32>,
    pub field_id: Option<i64>,
}

impl ExistingField {
    /// Reads a row; `None` when it has no `TableName` or `Name`.
    pub fn from_row(row: &Value) -> Option<Self> {
        let size = match &row["Size"] {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        Some(Self {
            table: row["TableName"].as_str()?.to_string(),
            name: row["Name"].as_str()?.to_string(),
            field_type: row["Type"].as_str().unwrap_or_default().to_string(),
            size,
            field_id: row["FieldID"].as_i64(),
        })
    }
}

/// The one query that finds every required field that exists (and nothing else):
/// `(TableName eq 'ORDR' and Name eq 'SF_OpportunityId') or ...`.
pub fn existing_query() -> Query {
    let filter =
        REQUIRED_FIELDS.iter().map(RequiredField::filter).reduce(Filter::or).expect("REQUIRED_FIELDS is not empty");
    Query::new().filter(filter).select(SELECT)
}

/// The query for one field, to look again after the server said it exists.
pub fn field_query(field: &RequiredField) -> Query {
    Query::new().filter(field.filter()).select(SELECT)
}

/// What [`decide`] reads of a definition.
const SELECT: [&str; 5] = ["TableName", "Name", "Type", "Size", "FieldID"];

/// What to do about one required field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Missing: create it.
    Create,
    /// There, with a usable type and size.
    Present { field_id: Option<i64>, size: u32 },
    /// A field of that name exists but the sync cannot use it; the reason says what to do.
    Conflict(String),
}

/// A required field and the decision about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub field: RequiredField,
    pub decision: Decision,
}

/// One step per required field, in [`REQUIRED_FIELDS`] order, from the rows `existing_query` found.
pub fn plan(existing: &[ExistingField]) -> Vec<Step> {
    REQUIRED_FIELDS.iter().map(|field| Step { field: *field, decision: decide(field, existing) }).collect()
}

/// The decision for one field. Names compare without regard to case, as SQL Server does, and a name
/// that differs only in case is a conflict: the sync reads the property by its exact name.
pub fn decide(field: &RequiredField, existing: &[ExistingField]) -> Decision {
    let same_table = |e: &&ExistingField| e.table.eq_ignore_ascii_case(field.table);
    let exact = existing.iter().filter(same_table).find(|e| e.name == field.name);
    let Some(found) =
        exact.or_else(|| existing.iter().filter(same_table).find(|e| e.name.eq_ignore_ascii_case(field.name)))
    else {
        return Decision::Create;
    };
    let shape = match found.size {
        Some(size) => format!("{}({size})", found.field_type),
        None => found.field_type.clone(),
    };
    if found.name != field.name {
        return Decision::Conflict(format!(
            "exists as U_{} ({shape}), but the sync reads {}; remove or rename it in SAP, then run again",
            found.name,
            field.property()
        ));
    }
    if found.field_type != FIELD_TYPE {
        return Decision::Conflict(format!(
            "exists as {shape}, but the sync needs {FIELD_TYPE} of size {FIELD_SIZE} or more; a UDF's type cannot \
             change, so remove it in SAP (its values are lost), then run again"
        ));
    }
    match found.size {
        Some(size) if size >= FIELD_SIZE => Decision::Present { field_id: found.field_id, size },
        Some(_) => Decision::Conflict(format!(
            "exists as {shape}, too short for {FIELD_SIZE}-character Salesforce ids; enlarge it to {FIELD_SIZE} or \
             more in SAP, then run again"
        )),
        None => Decision::Conflict(format!(
            "exists as {shape}, but UserFieldsMD gives no Size; check that it holds {FIELD_SIZE} characters"
        )),
    }
}

/// True for the Service Layer's answer to creating a field that exists: `-2035`, or an
/// "already exists" text [U: the exact code and text for UserFieldsMD are not documented].
pub fn is_already_exists(err: &shared::Error) -> bool {
    matches!(err, shared::Error::Sap { code, message, .. }
        if code == "-2035" || message.to_ascii_lowercase().contains("already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(table: &str, name: &str, field_type: &str, size: Option<u32>) -> ExistingField {
        ExistingField { table: table.into(), name: name.into(), field_type: field_type.into(), size, field_id: Some(4) }
    }

    fn decision_for(table: &str, found: &[ExistingField]) -> Decision {
        plan(found).into_iter().find(|s| s.field.table == table).unwrap().decision
    }

    #[test]
    fn a_fresh_company_needs_all_eight_fields_created() {
        let steps = plan(&[]);
        let labels: Vec<String> = steps.iter().map(|s| s.field.label()).collect();
        assert_eq!(
            labels,
            [
                "ORDR.U_SF_OpportunityId",
                "ODLN.U_SF_OpportunityId",
                "OINV.U_SF_OpportunityId",
                "ORIN.U_SF_OpportunityId",
                "RDR1.U_SF_LineItemId",
                "OCRD.U_SF_AccountId",
                "OCPR.U_SF_ContactId",
                "OQUT.U_SF_QuoteId",
            ]
        );
        assert!(steps.iter().all(|s| s.decision == Decision::Create));
    }

    #[test]
    fn alphanumeric_fields_of_18_or_more_are_present_whatever_the_case_of_the_table() {
        let found = [
            existing("ORDR", "SF_OpportunityId", "db_Alpha", Some(18)),
            existing("ocrd", "SF_AccountId", "db_Alpha", Some(50)),
        ];
        assert_eq!(decision_for("ORDR", &found), Decision::Present { field_id: Some(4), size: 18 });
        assert_eq!(decision_for("OCRD", &found), Decision::Present { field_id: Some(4), size: 50 });
        assert_eq!(decision_for("ODLN", &found), Decision::Create, "the same name on another table does not count");
    }

    #[test]
    fn another_type_a_short_size_or_another_case_is_a_conflict_with_a_reason() {
        let conflict = |found: ExistingField| match decision_for(&found.table.to_uppercase(), &[found]) {
            Decision::Conflict(reason) => reason,
            other => panic!("expected a conflict, got {other:?}"),
        };
        let numeric = conflict(existing("OCRD", "SF_AccountId", "db_Numeric", Some(11)));
        assert!(numeric.starts_with("exists as db_Numeric(11), but the sync needs db_Alpha of size 18"), "{numeric}");
        let short = conflict(existing("OCPR", "SF_ContactId", "db_Alpha", Some(15)));
        assert!(short.contains("enlarge it to 18"), "{short}");
        let memo = conflict(existing("RDR1", "SF_LineItemId", "db_Memo", None));
        assert!(memo.starts_with("exists as db_Memo,"), "{memo}");
        let case = conflict(existing("ORDR", "sf_opportunityid", "db_Alpha", Some(18)));
        assert!(case.starts_with("exists as U_sf_opportunityid (db_Alpha(18)), but the sync reads U_SF_OpportunityId"));
        let no_size = conflict(existing("OINV", "SF_OpportunityId", "db_Alpha", None));
        assert!(no_size.contains("no Size"), "{no_size}");
    }

    #[test]
    fn rows_are_read_with_numbers_or_numeric_text_as_size() {
        let row =
            json!({"TableName": "ORDR", "Name": "SF_OpportunityId", "Type": "db_Alpha", "Size": 18, "FieldID": 3});
        assert_eq!(
            ExistingField::from_row(&row),
            Some(ExistingField {
                table: "ORDR".into(),
                name: "SF_OpportunityId".into(),
                field_type: "db_Alpha".into(),
                size: Some(18),
                field_id: Some(3),
            })
        );
        assert_eq!(
            ExistingField::from_row(&json!({"TableName": "A", "Name": "B", "Size": "20"})).unwrap().size,
            Some(20)
        );
        assert_eq!(ExistingField::from_row(&json!({"Name": "B"})), None);
    }

    #[test]
    fn one_query_names_each_table_and_field_pair() {
        let query = existing_query().to_query_string();
        let filter = query.strip_prefix("$filter=").unwrap().split('&').next().unwrap().replace("%20", " ");
        for field in REQUIRED_FIELDS {
            assert!(filter.contains(&format!("(TableName eq '{}') and (Name eq '{}')", field.table, field.name)));
        }
        assert_eq!(filter.matches(" or ").count(), REQUIRED_FIELDS.len() - 1);
        assert!(query.ends_with("&$select=TableName,Name,Type,Size,FieldID"), "{query}");
        assert_eq!(
            field_query(&REQUIRED_FIELDS[5]).to_query_string(),
            "$filter=(TableName%20eq%20'OCRD')%20and%20(Name%20eq%20'SF_AccountId')&$select=TableName,Name,Type,Size,FieldID"
        );
    }

    #[test]
    fn definitions_have_no_u_prefix_and_the_id_size() {
        let body = REQUIRED_FIELDS[4].definition();
        assert_eq!(
            body,
            json!({"Name": "SF_LineItemId", "Type": "db_Alpha", "Size": 18,
                   "Description": "Salesforce Line Item Id (B1Force)", "TableName": "RDR1"})
        );
        assert!(REQUIRED_FIELDS.iter().all(|f| !f.name.starts_with("U_") && f.description.len() <= 80));
    }

    #[test]
    fn only_a_duplicate_answer_counts_as_already_existing() {
        let sap =
            |code: &str, message: &str| shared::Error::Sap { status: 400, code: code.into(), message: message.into() };
        assert!(is_already_exists(&sap("-2035", "This entry already exists in the following tables")));
        assert!(is_already_exists(&sap("-1", "Field name already exists")));
        assert!(!is_already_exists(&sap("-1000", "Value 'db_Text' of property 'Type' is invalid")));
        assert!(!is_already_exists(&shared::Error::Config("already exists".into())));
    }
}
