//! The versioned mapping file (`mapping.toml`): its model here, and validation ([`validate`], and
//! [`code_reads`] for F1 and F3) that reports every problem with the line and column of the
//! offending key or value.
//!
//! The format is documented in the header of the shipped `mapping.toml` at the repository root.

mod code_reads;
mod validate;

use validate::Checker;
pub(crate) use validate::same;

use super::catalogue::Kind;
use crate::domain::polled::RowFilter;
use crate::error::Error;
use serde_json::Value;
use std::fmt;
use std::path::Path;
use toml::de::DeTable;

/// The only format version this build reads.
pub const VERSION: i64 = 1;

/// The flows a mapping file may configure.
pub const FLOWS: [&str; 8] = ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"];

/// A validated mapping file.
#[derive(Debug, Clone)]
pub struct MappingFile {
    /// Where it came from (a path, or `mapping.toml (shipped)`), for messages.
    pub origin: String,
    flows: Vec<FlowMapping>,
}

/// One flow's mapping (or one of its `related` record pairs).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowMapping {
    /// `F2`, or `F6.opportunity` for a related pair.
    pub name: String,
    pub description: String,
    pub salesforce_object: String,
    pub sap_entity: String,
    /// The external-id pair that identifies a record on both sides (never patched).
    pub key: Option<KeyPair>,
    pub fields: Vec<FieldMapping>,
    pub collections: Vec<CollectionMapping>,
    /// Salesforce fields the flow computes itself (aggregates, alerts) rather than copies.
    pub derived: Vec<String>,
    pub options: Vec<(String, OptionValue)>,
    pub related: Vec<FlowMapping>,
    /// Which SAP rows the flow syncs (`sap_filter`, F4 and F7); empty: all of them.
    pub sap_filter: RowFilter,
    /// Which Salesforce records the flow syncs (`salesforce_filter`, F2: e.g. Account `Type`); empty: all.
    pub salesforce_filter: RowFilter,
}

/// A Salesforce field (or `Relationship.Field` path) paired with an SAP property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub salesforce: String,
    pub sap: String,
}

/// Who may write a mapped field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Salesforce is the master: only Salesforce → SAP writes it.
    Salesforce,
    /// SAP is the master: only SAP → Salesforce writes it.
    Sap,
    /// Either side; the newer change wins.
    Both,
}

impl Owner {
    /// Whether a change coming from Salesforce may write this field into SAP.
    pub fn salesforce_writes(self, salesforce_is_newer: bool) -> bool {
        matches!(self, Owner::Salesforce) || (self == Owner::Both && salesforce_is_newer)
    }

    /// Whether a change coming from SAP may write this field into Salesforce.
    pub fn sap_writes(self, sap_is_newer: bool) -> bool {
        matches!(self, Owner::Sap) || (self == Owner::Both && sap_is_newer)
    }

    /// The spelling used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Salesforce => "salesforce",
            Owner::Sap => "sap",
            Owner::Both => "both",
        }
    }
}

/// One field pair.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    pub salesforce: String,
    pub sap: String,
    pub owner: Owner,
    pub salesforce_kind: Kind,
    pub sap_kind: Kind,
    /// Salesforce value → SAP value, one-to-one.
    pub value_map: Option<ValueMap>,
    /// The Salesforce value assumed when the source value is null or missing.
    pub default: Option<Value>,
    /// Line of the entry in the file, for messages.
    pub line: usize,
}

/// A one-to-one table of Salesforce values and their SAP equivalents.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMap {
    pub pairs: Vec<(Value, Value)>,
}

/// Child rows inside an SAP entity (`ContactEmployees`, `BPAddresses`) and where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMapping {
    /// The collection's name in the file (`contacts`, `bill_to`).
    pub name: String,
    /// The SAP collection property.
    pub sap_collection: String,
    /// Properties that identify an SAP row for an in-place update (from the catalogue).
    pub row_key: &'static [&'static str],
    pub source: RowSource,
    pub fields: Vec<FieldMapping>,
}

/// Where the rows of a collection come from on the Salesforce side.
#[derive(Debug, Clone, PartialEq)]
pub enum RowSource {
    /// One row per child record, matched by an id stored on both sides (never by name).
    Children { salesforce_object: String, salesforce_relationship: String, matched_by: KeyPair },
    /// One row built from the parent record's own fields, found by these fixed property values.
    Fixed { row: Vec<(String, Value)> },
}

/// A flow option's value.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Text(String),
    Number(f64),
    List(Vec<String>),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Text(text) => write!(f, "{text:?}"),
            OptionValue::Number(n) => write!(f, "{n}"),
            OptionValue::List(names) => write!(f, "[{}]", names.join(", ")),
        }
    }
}

/// One problem in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.origin, self.line, self.column, self.reason)
    }
}

/// Every problem found in a mapping file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingErrors(pub Vec<MappingError>);

impl fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingErrors {}

impl From<MappingErrors> for Error {
    fn from(errors: MappingErrors) -> Self {
        Error::Config(format!("invalid mapping file:\n{errors}"))
    }
}

const SHIPPED: &str = include_str!("../../../../mapping.toml");

impl MappingFile {
    /// Parses and validates `text`; `origin` names it in messages (usually the path).
    pub fn parse(text: &str, origin: &str) -> Result<MappingFile, MappingErrors> {
        let mut checker = Checker { text, origin, errors: Vec::new() };
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            for error in syntax {
                let reason = format!("TOML syntax: {}", error.message().trim_end());
                checker.report(error.span().unwrap_or(0..0), reason);
            }
            return Err(checker.finish());
        }
        let flows = checker.document(&root);
        if checker.errors.is_empty() {
            Ok(MappingFile { origin: origin.to_string(), flows })
        } else {
            Err(checker.finish())
        }
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<MappingFile, MappingErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            MappingErrors(vec![MappingError { origin: origin.clone(), line: 1, column: 1, reason: e.to_string() }])
        })?;
        Self::parse(&text, &origin)
    }

    /// The defaults shipped with B1Force (the repository's `mapping.toml`).
    pub fn shipped() -> MappingFile {
        Self::parse(SHIPPED, "mapping.toml (shipped)")
            .unwrap_or_else(|errors| panic!("the shipped mapping.toml is invalid:\n{errors}"))
    }

    /// The shipped file's text (for `b1force check` and for writing a starting copy).
    pub fn shipped_text() -> &'static str {
        SHIPPED
    }

    /// The flow named `name` (`F1`..`F8`), or a related pair (`F6.opportunity`).
    pub fn flow(&self, name: &str) -> Result<&FlowMapping, Error> {
        let (flow, related) = match name.split_once('.') {
            Some((flow, related)) => (flow, Some(related)),
            None => (name, None),
        };
        let found = self
            .flows
            .iter()
            .find(|f| f.name == flow)
            .ok_or_else(|| Error::Config(format!("mapping file {} has no flow {flow}", self.origin)))?;
        match related {
            None => Ok(found),
            Some(part) => found.related.iter().find(|r| r.name == name).ok_or_else(|| {
                Error::Config(format!("mapping file {} has no related mapping {part} in flow {flow}", self.origin))
            }),
        }
    }

    /// The rows of SAP entity set `entity_set` that are synced to Salesforce: the `sap_filter` of the
    /// flow (F4, F7) that reads that set; empty (all rows) when none does or none is set.
    pub fn sap_filter(&self, entity_set: &str) -> RowFilter {
        self.flows
            .iter()
            .find(|f| validate::FILTERED_FLOWS.contains(&f.name.as_str()) && f.sap_entity == entity_set)
            .map(|f| f.sap_filter.clone())
            .unwrap_or_default()
    }

    /// Every configured flow, in F1..F8 order.
    pub fn flows(&self) -> &[FlowMapping] {
        &self.flows
    }
}

impl FlowMapping {
    /// Salesforce fields to read for this mapping (a SOQL select list): key, fields, fixed rows.
    pub fn salesforce_fields(&self) -> Vec<&str> {
        let fixed_rows = self.collections.iter().filter(|c| matches!(c.source, RowSource::Fixed { .. }));
        let names =
            self.key.iter().map(|k| k.salesforce.as_str()).chain(self.fields.iter().map(|f| f.salesforce.as_str()));
        unique(names.chain(fixed_rows.flat_map(|c| c.fields.iter().map(|f| f.salesforce.as_str()))))
    }

    /// SAP properties to read for this mapping (a `$select` list), collections included.
    pub fn sap_fields(&self) -> Vec<&str> {
        let names = self.key.iter().map(|k| k.sap.as_str()).chain(self.fields.iter().map(|f| f.sap.as_str()));
        unique(names.chain(self.collections.iter().map(|c| c.sap_collection.as_str())))
    }

    /// The collection named `name` in the file.
    pub fn collection(&self, name: &str) -> Result<&CollectionMapping, Error> {
        self.collections
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::Config(format!("flow {} has no collection {name} in the mapping file", self.name)))
    }

    /// A flow option, e.g. F4 `credit_alert_threshold`.
    pub fn option(&self, name: &str) -> Option<&OptionValue> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A numeric flow option.
    pub fn number_option(&self, name: &str) -> Option<f64> {
        match self.option(name) {
            Some(OptionValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    /// A list flow option (empty when absent).
    pub fn list_option(&self, name: &str) -> &[String] {
        match self.option(name) {
            Some(OptionValue::List(items)) => items,
            _ => &[],
        }
    }

    /// A text flow option.
    pub fn text_option(&self, name: &str) -> Option<&str> {
        match self.option(name) {
            Some(OptionValue::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// Field entries of the mapping, its collections and related pairs.
    pub fn field_count(&self) -> usize {
        self.fields.len()
            + self.collections.iter().map(|c| c.fields.len()).sum::<usize>()
            + self.related.iter().map(FlowMapping::field_count).sum::<usize>()
    }

    /// Every field entry, collections and related pairs included.
    pub fn all_fields(&self) -> Vec<&FieldMapping> {
        let own = self.fields.iter().chain(self.collections.iter().flat_map(|c| c.fields.iter()));
        own.chain(self.related.iter().flat_map(|r| r.all_fields())).collect()
    }

    /// The related pair named `name` (e.g. `opportunity` in F6).
    pub fn related(&self, name: &str) -> Result<&FlowMapping, Error> {
        let full = format!("{}.{name}", self.name);
        self.related
            .iter()
            .find(|r| r.name == full)
            .ok_or_else(|| Error::Config(format!("flow {} has no related mapping {name}", self.name)))
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems of `text` as `line: reason` strings.
    fn problems(text: &str) -> Vec<String> {
        match MappingFile::parse(text, "t.toml") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(|e| format!("{}: {}", e.line, e.reason)).collect(),
        }
    }

    fn flow(body: &str) -> String {
        format!("version = 1\n[flows.F2]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n{body}")
    }

    fn assert_one(text: &str, line: usize, reason_part: &str) {
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with(&format!("{line}: ")) && found[0].contains(reason_part), "{found:#?}");
    }

    #[test]
    fn the_shipped_file_validates_and_configures_all_eight_flows() {
        let shipped = MappingFile::shipped();
        let names: Vec<&str> = shipped.flows().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, FLOWS);
        assert_eq!(shipped.flow("F4").unwrap().number_option("credit_alert_threshold"), Some(0.9));
        assert_eq!(shipped.flow("F6").unwrap().text_option("invoice_object"), Some("SAP_Invoice__c"));
        assert_eq!(shipped.flow("F6.opportunity").unwrap().sap_entity, "Invoices");
        assert!(matches!(shipped.flow("F9"), Err(Error::Config(_))));
        assert!(shipped.flow("F6.nothing").is_err());
    }

    #[test]
    fn select_lists_name_the_key_the_fields_and_the_collections_once() {
        let shipped = MappingFile::shipped();
        let f2 = shipped.flow("F2").unwrap();
        let sf = f2.salesforce_fields();
        assert_eq!(&sf[..3], ["SAP_CardCode__c", "Name", "Type"]);
        assert!(sf.contains(&"BillingCity") && sf.contains(&"ShippingCity"));
        assert!(!sf.contains(&"Email"), "contact fields belong to the child query");
        let sap = f2.sap_fields();
        assert_eq!(sap.iter().filter(|p| **p == "BPAddresses").count(), 1);
        assert!(sap.contains(&"CardCode") && sap.contains(&"ContactEmployees"));
    }

    #[test]
    fn an_array_of_tables_means_the_same_as_inline_entries() {
        let inline = flow("fields = [ { salesforce = \"Phone\", sap = \"Phone1\", owner = \"both\" } ]\n");
        let tables = flow("[[flows.F2.fields]]\nsalesforce = \"Phone\"\nsap = \"Phone1\"\nowner = \"both\"\n");
        let a = MappingFile::parse(&inline, "a").unwrap();
        let b = MappingFile::parse(&tables, "b").unwrap();
        assert_eq!(a.flow("F2").unwrap().fields[0].sap, b.flow("F2").unwrap().fields[0].sap);
        assert_eq!(b.flow("F2").unwrap().fields[0].line, 5);
    }

    #[test]
    fn every_problem_is_reported_in_file_order_with_line_and_column() {
        let text = "version = 1\n[flows.F2]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartner\"\n\
                    fields = [ { salesforce = \"Nme\", sap = \"CardName\", owner = \"salesforce\" } ]\n[flows.F10]\n";
        let errors = MappingFile::parse(text, "dir/m.toml").unwrap_err();
        let shown: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "dir/m.toml:4:14: unknown SAP entity `BusinessPartner`",
                "dir/m.toml:5:27: unknown field `Nme` on Salesforce object Account",
                "dir/m.toml:6:8: unknown flow `F10`; flows are F1 to F8",
            ]
        );
        assert_eq!(errors.to_string().lines().count(), 3);
        assert!(!Error::from(errors).is_retryable());
    }

    #[test]
    fn the_version_must_be_present_and_known() {
        assert_eq!(problems("[flows]\n"), ["1: missing `version = 1` at the top of the file"]);
        assert_one("version = \"1\"\n[flows]\n", 1, "unsupported mapping version \"1\"");
    }

    #[test]
    fn custom_fields_need_a_kind_and_catalogued_fields_refuse_one() {
        let custom =
            "fields = [ { salesforce = \"Region__c\", sap = \"U_Region\", owner = \"both\", kind = \"text\" } ]\n";
        assert!(problems(&flow(custom)).is_empty());
        let untyped = "fields = [ { salesforce = \"Region__c\", sap = \"Website\", owner = \"both\" } ]\n";
        assert_one(&flow(untyped), 5, "needs `kind`");
        let typed = "fields = [ { salesforce = \"Phone\", sap = \"Phone1\", owner = \"both\", kind = \"text\" } ]\n";
        assert_one(&flow(typed), 5, "`kind` is only for custom fields");
        let bad_kind =
            "fields = [ { salesforce = \"Region__c\", sap = \"Website\", owner = \"both\", kind = \"colour\" } ]\n";
        assert_one(&flow(bad_kind), 5, "unknown kind \"colour\"");
    }

    #[test]
    fn a_case_typo_gets_a_suggestion() {
        let typo = "fields = [ { salesforce = \"phone\", sap = \"Phone1\", owner = \"both\" } ]\n";
        assert_one(&flow(typo), 5, "(did you mean `Phone`?)");
    }

    #[test]
    fn a_read_only_salesforce_field_cannot_be_written_from_sap() {
        let text = "version = 1\n[flows.F5]\nsalesforce_object = \"Opportunity\"\nsap_entity = \"Orders\"\n\
                    fields = [ { salesforce = \"IsWon\", sap = \"Cancelled\", owner = \"sap\", value_map = { \"true\" = \"tYES\" } } ]\n";
        assert_one(text, 5, "Opportunity.IsWon is read-only in Salesforce");
    }

    #[test]
    fn value_maps_and_defaults_must_fit_both_types() {
        let bad_enum = "fields = [ { salesforce = \"Type\", sap = \"CardType\", owner = \"both\", value_map = { Customer = \"cClient\" } } ]\n";
        assert_one(&flow(bad_enum), 5, "\"cClient\" is not one of cCustomer, cSupplier, cLid");
        let bad_key = "fields = [ { salesforce = \"SAP_Credit_Alert__c\", sap = \"Frozen\", owner = \"sap\", value_map = { yes = \"tYES\" } } ]\n";
        assert_one(&flow(bad_key), 5, "\"yes\" is a checkbox");
        let default = "fields = [ { salesforce = \"Type\", sap = \"CardType\", owner = \"both\", default = \"Partner\", value_map = { Customer = \"cCustomer\" } } ]\n";
        assert_one(&flow(default), 5, "default \"Partner\" is not a key of the value_map");
        let checkbox = "fields = [ { salesforce = \"SAP_Credit_Alert__c\", sap = \"Frozen\", owner = \"sap\", value_map = { \"true\" = \"tYES\", \"false\" = \"tNO\" } } ]\n";
        let file = MappingFile::parse(&flow(checkbox), "t").unwrap();
        let pairs = &file.flow("F2").unwrap().fields[0].value_map.as_ref().unwrap().pairs;
        assert!(pairs.contains(&(Value::Bool(true), Value::String("tYES".into()))));
    }

    #[test]
    fn an_enum_needs_a_value_map_even_into_text() {
        let raw = "fields = [ { salesforce = \"Description\", sap = \"CardType\", owner = \"sap\" } ]\n";
        assert_one(&flow(raw), 5, "type mismatch: Account.Description is text but BusinessPartners.CardType is enum");
    }

    #[test]
    fn keys_may_follow_lookups_and_derived_fields_must_be_writable_and_unmapped() {
        assert_one(
            &flow("key = { salesforce = \"Owner.Name\", sap = \"CardCode\" }\n"),
            5,
            "Account.Owner leads to User",
        );
        let text = "version = 1\n[flows.F5]\nsalesforce_object = \"Opportunity\"\nsap_entity = \"Orders\"\n\
                    key = { salesforce = \"Acount.SAP_CardCode__c\", sap = \"CardCode\" }\n\
                    derived = [\"IsWon\", \"SAP_Delivery_Date__c\"]\n";
        let found = problems(text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("5: ") && found[0].contains("Opportunity has no lookup relationship `Acount`"));
        assert!(found[1].starts_with("6: ") && found[1].contains("Opportunity.IsWon is read-only"));
        let twice = flow(
            "fields = [ { salesforce = \"Phone\", sap = \"Phone1\", owner = \"both\" } ]\nderived = [\"Phone\"]\n",
        );
        assert_one(&twice, 6, "Phone is derived but also written by the entry on line 5");
    }

    #[test]
    fn flow_options_are_checked_and_belong_to_their_flow() {
        let text = "version = 1\n[flows.F4]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n\
                    credit_alert_threshold = 1.5\ninvoice_object = \"Invoice\"\n";
        let found = problems(text);
        assert!(found[0].starts_with("5: ") && found[0].contains("must be a number above 0"), "{found:#?}");
        assert!(found[1].starts_with("6: ") && found[1].contains("unknown key `invoice_object` in [flows.F4]"));
        let f6 = "version = 1\n[flows.F6]\nsalesforce_object = \"SAP_Invoice__c\"\nsap_entity = \"Invoices\"\n\
                  invoice_object = \"Invoice\"\n";
        assert_one(f6, 5, "F6 invoice_object is \"Invoice\" but its salesforce_object is \"SAP_Invoice__c\"");
        let f2 = "version = 1\n[flows.F2]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n\
                  on_delete = \"delete\"\n";
        assert_one(f2, 5, "must be \"deactivate\"");
        let f1 = "version = 1\n[flows.F1]\nsalesforce_object = \"Opportunity\"\nsap_entity = \"Orders\"\n\
                  on_lines_edited = \"replace\"\n";
        let found = problems(f1);
        assert!(found.iter().any(|p| p.starts_with("5: ") && p.contains("must be \"flag\"")), "{found:#?}");
    }

    #[test]
    fn f1_reads_tax_warehouse_and_unit_through_relationship_paths_and_nothing_else_does() {
        let shipped = MappingFile::shipped_text();
        let lines = |extra: &str| {
            shipped.replacen(
                "  { salesforce = \"ServiceDate\", sap = \"ShipDate\", owner = \"salesforce\" },\n",
                &format!(
                    "  {{ salesforce = \"ServiceDate\", sap = \"ShipDate\", owner = \"salesforce\" }},\n{extra}\n"
                ),
                1,
            )
        };
        let good = lines(
            "  { salesforce = \"Product2.SAP_Tax_Code__c\", sap = \"TaxCode\", owner = \"salesforce\", kind = \"text\" },\n\
             { salesforce = \"Opportunity.Account.SAP_Warehouse__c\", sap = \"WarehouseCode\", owner = \"salesforce\", kind = \"text\", default = \"01\" },\n\
             { salesforce = \"Product2.QuantityUnitOfMeasure\", sap = \"UoMCode\", owner = \"salesforce\" },",
        );
        let parsed = MappingFile::parse(&good, "t").unwrap_or_else(|e| panic!("{e}"));
        let read = crate::mapping::f1::line_fields(parsed.flow("F1").unwrap()).unwrap();
        assert!(read.contains(&"Opportunity.Account.SAP_Warehouse__c".to_string()), "{read:?}");
        for (bad, reason) in [
            ("{ salesforce = \"Product2.Nope__c\", sap = \"TaxCode\", owner = \"salesforce\" }", "needs `kind`"),
            (
                "{ salesforce = \"Prodct2.Family\", sap = \"TaxCode\", owner = \"salesforce\" }",
                "no lookup relationship `Prodct2`",
            ),
            ("{ salesforce = \"Product2.Family\", sap = \"TaxCode\", owner = \"both\" }", "never written"),
        ] {
            let found = problems(&lines(&format!("  {bad},")));
            assert!(found.iter().any(|p| p.contains(reason)), "{bad}: {found:#?}");
        }
        let f2 = shipped.replacen(
            "{ salesforce = \"Phone\", sap = \"Phone1\"",
            "{ salesforce = \"Owner.Name\", sap = \"Notes\", owner = \"salesforce\" },\n  { salesforce = \"Phone\", sap = \"Phone1\"",
            1,
        );
        assert!(
            problems(&f2).iter().any(|p| p.contains("a relationship path is read only by F1's query")),
            "{:#?}",
            problems(&f2)
        );
        let decimals = |n: &str| shipped.replacen("[flows.F1]\n", &format!("[flows.F1]\nprice_decimals = {n}\n"), 1);
        assert_eq!(
            MappingFile::parse(&decimals("4"), "t").unwrap().flow("F1").unwrap().number_option("price_decimals"),
            Some(4.0)
        );
        for bad in ["2.5", "7", "-1"] {
            assert!(problems(&decimals(bad)).iter().any(|p| p.contains("whole number from 0 to 6")), "{bad}");
        }
    }

    #[test]
    fn sap_filters_name_text_or_enum_properties_of_the_flows_entity_with_declared_values() {
        let f4 = |filter: &str| {
            format!(
                "version = 1\n[flows.F4]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n{filter}\n"
            )
        };
        let good =
            MappingFile::parse(&f4(r#"sap_filter = { CardType = ["cCustomer", "cLid"], Valid = ["tYES"] }"#), "t")
                .unwrap_or_else(|e| panic!("{e}"));
        let filter = good.sap_filter("BusinessPartners");
        assert_eq!(filter.describe(), "CardType in [cCustomer, cLid] and Valid in [tYES]");
        assert!(good.sap_filter("Items").is_empty() && good.sap_filter("Invoices").is_empty());
        assert_one(
            &f4(r#"sap_filter = { CardTyp = ["cCustomer"] }"#),
            5,
            "`CardTyp` is not a field of SAP BusinessPartners",
        );
        assert_one(&f4(r#"sap_filter = { CardType = ["Customer"] }"#), 5, "`Customer` is not a value of CardType");
        assert_one(&f4(r#"sap_filter = { CreditLimit = ["5"] }"#), 5, "filters take text or enumeration properties");
        assert_one(&f4(r#"sap_filter = { CardType = [] }"#), 5, "needs a non-empty list of strings");
        assert_one(&f4(r#"sap_filter = { CardType = "cCustomer" }"#), 5, "needs a non-empty list of strings");
        let f6 = "version = 1\n[flows.F6]\nsalesforce_object = \"SAP_Invoice__c\"\nsap_entity = \"Invoices\"\n\
                  sap_filter = { CardCode = [\"C1\"] }\n";
        assert_one(f6, 5, "unknown key `sap_filter` in [flows.F6]");
    }

    #[test]
    fn salesforce_filters_name_text_or_picklist_fields_of_the_f2_object() {
        let f2 = |filter: &str| {
            format!(
                "version = 1\n[flows.F2]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n{filter}\n"
            )
        };
        let good = MappingFile::parse(
            &f2(r#"salesforce_filter = { Type = ["Customer - Direct", "Customer - Channel"] }"#),
            "t",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let filter = &good.flow("F2").unwrap().salesforce_filter;
        assert_eq!(filter.describe(), "Type in [Customer - Direct, Customer - Channel]");
        assert_one(
            &f2(r#"salesforce_filter = { Typ = ["Customer"] }"#),
            5,
            "`Typ` is not a field of Salesforce Account",
        );
        assert_one(&f2(r#"salesforce_filter = { CreatedDate = ["2026"] }"#), 5, "filters take text or enumeration");
        let f4 = "version = 1\n[flows.F4]\nsalesforce_object = \"Account\"\nsap_entity = \"BusinessPartners\"\n\
                  salesforce_filter = { Type = [\"Customer\"] }\n";
        assert_one(f4, 5, "unknown key `salesforce_filter` in [flows.F4]");
    }

    #[test]
    fn collections_check_their_relationship_match_and_fixed_row() {
        let text = flow(
            "[flows.F2.collections.contacts]\nsap_collection = \"ContactEmployees\"\nsalesforce_object = \"Contact\"\n\
             salesforce_relationship = \"Kontakte\"\nmatch = { salesforce = \"Id\", sap = \"U_SF_Id\" }\n\
             [flows.F2.collections.bill_to]\nsap_collection = \"BPAddresses\"\nrow = { AddressType = \"bo_Home\" }\n\
             fields = [ { salesforce = \"BillingCity\", sap = \"City\", owner = \"salesforce\" } ]\n\
             [flows.F2.collections.phones]\nsap_collection = \"Phone1\"\n",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with("8: ") && found[0].contains("no child relationship `Kontakte`"));
        assert!(found[1].starts_with("9: ") && found[1].contains("unknown field `U_SF_Id`"));
        assert!(found[2].starts_with("12: ") && found[2].contains("\"bo_Home\" is not one of bo_BillTo, bo_ShipTo"));
        assert!(found[3].starts_with("15: ") && found[3].contains("BusinessPartners.Phone1 is not a collection"));
    }

    #[test]
    fn the_same_salesforce_field_may_be_written_once_per_scope() {
        let text = flow(
            "fields = [ { salesforce = \"BillingCity\", sap = \"Website\", owner = \"sap\" } ]\n\
             [flows.F2.collections.bill_to]\nsap_collection = \"BPAddresses\"\nrow = { AddressType = \"bo_BillTo\" }\n\
             fields = [ { salesforce = \"BillingCity\", sap = \"City\", owner = \"both\" } ]\n",
        );
        assert_one(&text, 9, "Account.BillingCity is already written from SAP by the entry on line 5");
    }
}
