//! F8's comparison: pure functions over the rows read from both sides. What Salesforce should hold
//! for an SAP row is computed by the sf-writer's own [`plan`], so the reconciler and the writer can
//! never disagree about the mapping.

use crate::domain::Record;
use crate::error::{Error, Result};
use crate::mapping::file::{MappingFile, OptionValue, Owner};
use crate::mapping::plan;
use crate::report::model::{ExceptionKind, ReconException};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// The smallest currency unit when the mapping names none (F8 `amount_tolerance`).
pub const DEFAULT_AMOUNT_TOLERANCE: f64 = 0.01;

/// Where each side shows a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The Service Layer root with a trailing `/` (`https://host:50000/b1s/v2/`).
    pub sap_root: String,
    /// The Salesforce instance URL (`https://acme.my.salesforce.com`).
    pub salesforce_instance: String,
}

impl Links {
    /// `…/b1s/v2/Invoices(123)` for integer keys, `…/BusinessPartners('C1')` for text keys.
    pub fn sap(&self, entity: &str, key: &str) -> String {
        let root = self.sap_root.trim_end_matches('/');
        if key.parse::<i64>().is_ok() && entity != "BusinessPartners" && entity != "Items" {
            format!("{root}/{entity}({key})")
        } else {
            // An OData string key: quoted, quotes doubled.
            format!("{root}/{entity}('{}')", key.replace('\'', "''"))
        }
    }

    /// The Lightning record page.
    pub fn salesforce(&self, object: &str, id: &str) -> String {
        format!("{}/lightning/r/{object}/{id}/view", self.salesforce_instance.trim_end_matches('/'))
    }
}

/// One compared Salesforce field and the kind of exception a difference in it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparedField {
    pub salesforce: String,
    pub sap: String,
    pub kind: ExceptionKind,
}

/// What fixes a Salesforce record whose SAP key SAP lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanRepair {
    /// Re-enqueue the Salesforce record on to-sap (F2 creates the business partner with that CardCode).
    ToSap,
    /// Only a person can; the note says what to do.
    Manual(&'static str),
}

/// How one SAP entity pairs with its Salesforce object, taken from the mapping file.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    /// The SAP entity set (`Invoices`, `BusinessPartners`, `Items`).
    pub entity: String,
    /// Its key property (`DocEntry`, `CardCode`, `ItemCode`).
    pub sap_key: &'static str,
    pub object: String,
    /// The Salesforce field holding the SAP key.
    pub key_field: String,
    /// Documents are keyed `<Entity>/<DocEntry>` in Salesforce (DocEntries repeat across types).
    pub key_prefix: Option<String>,
    /// The Salesforce field holding `DocDate` (documents).
    pub date_field: Option<String>,
    pub fields: Vec<ComparedField>,
    /// What to read from SAP: what the sf-writer's plan needs.
    pub sap_select: Vec<String>,
    pub orphan_repair: OrphanRepair,
}

impl Pairing {
    /// The Salesforce key of an SAP key (`Invoices/123`, `C20000`).
    pub fn salesforce_key(&self, sap_key: &str) -> String {
        format!("{}{sap_key}", self.key_prefix.as_deref().unwrap_or_default())
    }

    /// The SAP key of a Salesforce key, `None` when the key is not of this pairing's form.
    pub fn sap_key_of<'k>(&self, salesforce_key: &'k str) -> Option<&'k str> {
        salesforce_key.strip_prefix(self.key_prefix.as_deref().unwrap_or_default()).filter(|k| !k.is_empty())
    }

    /// The Salesforce fields to read: the key, the date and every compared field.
    pub fn salesforce_fields(&self) -> Vec<String> {
        let mut fields = vec![self.key_field.clone()];
        fields.extend(self.date_field.iter().cloned());
        for field in &self.fields {
            if !fields.contains(&field.salesforce) {
                fields.push(field.salesforce.clone());
            }
        }
        fields
    }

    /// The compared field holding the document total, if any.
    pub fn amount_field(&self) -> Option<&str> {
        self.fields.iter().find(|f| f.kind == ExceptionKind::AmountDrift).map(|f| f.salesforce.as_str())
    }
}

/// The kind of a document field's difference: totals are amounts; paid amounts, statuses and
/// cancellation are the document's status; anything else is a plain field.
fn document_kind(sap_property: &str) -> ExceptionKind {
    match sap_property {
        "DocTotal" => ExceptionKind::AmountDrift,
        "PaidToDate" | "DocumentStatus" | "Cancelled" => ExceptionKind::StatusDrift,
        _ => ExceptionKind::FieldDrift,
    }
}

/// The flow the sf-writer writes a document entity with.
fn document_flow(entity: &str) -> Option<&'static str> {
    match entity {
        "Invoices" => Some("F6"),
        "CreditNotes" => Some("F6.credit_notes"),
        _ => None,
    }
}

/// The pairing of `Invoices` or `CreditNotes` with their Salesforce invoice records; `None` when the
/// mapping does not sync the entity. Fields compared: F8's fields (totals, paid amount, status, due
/// date by default) that the document's own flow writes.
pub fn document_pairing(mapping: &MappingFile, entity: &str) -> Result<Option<Pairing>> {
    let Some(flow_name) = document_flow(entity) else {
        return Err(Error::Invalid(format!("the reconciler compares no documents of {entity}")));
    };
    let Ok(flow) = mapping.flow(flow_name) else { return Ok(None) };
    if flow.salesforce_object != "SAP_Invoice__c" {
        return Err(Error::Config(format!(
            "the reconciler compares invoices on SAP_Invoice__c only; flow {flow_name} writes them to {} (Revenue \
             Cloud's Invoice is not reconciled yet): set invoice_object = \"SAP_Invoice__c\" or leave F6 out of the run",
            flow.salesforce_object
        )));
    }
    let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {flow_name} has no key")))?;
    let date_field = flow.fields.iter().find(|f| f.sap == "DocDate").map(|f| f.salesforce.clone());
    let defaults = [("Amount__c", "DocTotal"), ("Paid_Amount__c", "PaidToDate"), ("Status__c", "DocumentStatus")];
    let wanted: Vec<(String, String)> = match mapping.flow("F8") {
        Ok(f8) => f8.fields.iter().map(|f| (f.salesforce.clone(), f.sap.clone())).collect(),
        Err(_) => defaults.iter().map(|(sf, sap)| (sf.to_string(), sap.to_string())).collect(),
    };
    let fields = wanted
        .into_iter()
        .filter(|(sf, _)| flow.fields.iter().any(|f| &f.salesforce == sf))
        .map(|(salesforce, sap)| ComparedField { kind: document_kind(&sap), salesforce, sap })
        .collect();
    let mut sap_select = plan::read_spec(mapping, entity)?.select;
    if !sap_select.iter().any(|s| s == "DocDate") {
        sap_select.push("DocDate".into());
    }
    Ok(Some(Pairing {
        entity: entity.to_string(),
        sap_key: "DocEntry",
        object: flow.salesforce_object.clone(),
        key_field: key.salesforce.clone(),
        key_prefix: Some(format!("{entity}/")),
        date_field,
        fields,
        sap_select,
        orphan_repair: OrphanRepair::Manual(
            "SAP has no such document (deleted, or never there); a repair cannot re-create it: check it and delete \
             the Salesforce record by hand",
        ),
    }))
}

/// The master-data pairings F8 compares: the SAP → Salesforce flows among F8's `master_data_flows`
/// (F4 and F7 by default), on their SAP-owned fields. Flows in the other direction (F2) are skipped:
/// their fields are Salesforce's to decide.
pub fn master_data_pairings(mapping: &MappingFile) -> Result<Vec<Pairing>> {
    let names: Vec<String> = match mapping.flow("F8").ok().and_then(|f8| f8.option("master_data_flows")) {
        Some(OptionValue::List(names)) => names.clone(),
        _ => vec!["F4".into(), "F7".into()],
    };
    let mut pairings = Vec::new();
    for name in names {
        let (entity, sap_key, orphan_repair) = match name.as_str() {
            "F4" => {
                let repair = if mapping.flow("F2").is_ok_and(|f2| f2.salesforce_object == "Account") {
                    OrphanRepair::ToSap
                } else {
                    OrphanRepair::Manual("SAP has no business partner with this CardCode and F2 is not configured")
                };
                ("BusinessPartners", "CardCode", repair)
            }
            "F7" => (
                "Items",
                "ItemCode",
                OrphanRepair::Manual(
                    "SAP has no item with this ItemCode; items are created in SAP, so correct the product's \
                     SAP_ItemCode__c or create the item",
                ),
            ),
            _ => continue,
        };
        let flow = mapping.flow(&name)?;
        let key = flow.key.as_ref().ok_or_else(|| Error::Config(format!("flow {name} has no key")))?;
        let fields: Vec<ComparedField> = flow
            .fields
            .iter()
            .filter(|f| f.owner == Owner::Sap && f.salesforce != key.salesforce)
            .map(|f| ComparedField {
                salesforce: f.salesforce.clone(),
                sap: f.sap.clone(),
                kind: ExceptionKind::FieldDrift,
            })
            .collect();
        let mut sap_select = vec![key.sap.clone()];
        for field in &flow.fields {
            if !sap_select.contains(&field.sap) {
                sap_select.push(field.sap.clone());
            }
        }
        pairings.push(Pairing {
            entity: entity.to_string(),
            sap_key,
            object: flow.salesforce_object.clone(),
            key_field: key.salesforce.clone(),
            key_prefix: None,
            date_field: None,
            fields,
            sap_select,
            orphan_repair,
        });
    }
    Ok(pairings)
}

/// The tolerance of amount comparisons: F8's `amount_tolerance`, the currency's smallest unit.
pub fn amount_tolerance(mapping: &MappingFile) -> f64 {
    mapping.flow("F8").ok().and_then(|f8| f8.number_option("amount_tolerance")).unwrap_or(DEFAULT_AMOUNT_TOLERANCE)
}

/// A value reduced to what comparing needs.
#[derive(Debug, Clone, PartialEq)]
enum Comparable {
    Nothing,
    Number(f64),
    Flag(bool),
    Text(String),
}

fn comparable(value: Option<&Value>) -> Comparable {
    match value {
        None | Some(Value::Null) => Comparable::Nothing,
        Some(Value::Number(n)) => n.as_f64().map_or(Comparable::Nothing, Comparable::Number),
        Some(Value::Bool(b)) => Comparable::Flag(*b),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Comparable::Nothing
            } else if let Some(day) = date_part(s) {
                // SAP v2 sends `2026-11-03T00:00:00Z` where Salesforce holds the date `2026-11-03`.
                Comparable::Text(day.to_string())
            } else {
                Comparable::Text(s.to_string())
            }
        }
        Some(other) => Comparable::Text(other.to_string()),
    }
}

/// `2026-11-03` of `2026-11-03` or `2026-11-03T00:00:00Z` (midnight only: a real time is kept).
fn date_part(s: &str) -> Option<&str> {
    let day = s.get(..10)?;
    let shaped = day.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let rest = &s[10..];
    (shaped && (rest.is_empty() || rest.starts_with("T00:00:00"))).then_some(day)
}

/// Whether two values differ: numbers by more than half of `tolerance` (half a cent for 0.01),
/// dates by day, text exactly (trimmed); null, absent and empty text are alike.
pub fn differs(expected: Option<&Value>, actual: Option<&Value>, tolerance: f64) -> bool {
    match (comparable(expected), comparable(actual)) {
        (Comparable::Number(a), Comparable::Number(b)) => (a - b).abs() > tolerance / 2.0 + 1e-9,
        (a, b) => a != b,
    }
}

/// A value as the report shows it.
fn shown(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// An SAP key property as text (`123`, `C20000`).
pub fn key_text(row: &Record, key: &str) -> Option<String> {
    match row.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What the sf-writer would write into the pairing's Salesforce record for this SAP row.
pub fn expected_record(mapping: &MappingFile, entity: &str, row: &Record) -> Result<Record> {
    let writes = plan::plan(mapping, entity, row, "")?;
    writes.into_iter().next().map(|w| w.record).ok_or_else(|| {
        Error::Mapping(format!(
            "the mapping writes no Salesforce record for this {entity} row, so it cannot be compared"
        ))
    })
}

/// Every difference between the SAP rows and the Salesforce records of one pairing. The caller passes
/// both sides complete for the keys concerned: SAP rows of the Salesforce keys and Salesforce records of
/// the SAP keys, so a record absent here is absent from its system.
pub fn compare(
    pairing: &Pairing,
    mapping: &MappingFile,
    sap_rows: &[Record],
    salesforce: &[Record],
    tolerance: f64,
    links: &Links,
) -> Result<Vec<ReconException>> {
    let mut by_key: BTreeMap<String, &Record> = BTreeMap::new();
    for record in salesforce {
        if let Some(key) = record.get(&pairing.key_field).and_then(Value::as_str) {
            by_key.entry(key.trim().to_string()).or_insert(record);
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for row in sap_rows {
        let Some(key) = key_text(row, pairing.sap_key) else {
            return Err(Error::Invalid(format!("an SAP {} row has no {}", pairing.entity, pairing.sap_key)));
        };
        let salesforce_key = pairing.salesforce_key(&key);
        if !seen.insert(salesforce_key.clone()) {
            continue;
        }
        let repair = Some(format!("sap:{}:{key}", pairing.entity));
        let base = ReconException {
            kind: ExceptionKind::MissingInSalesforce,
            entity: pairing.entity.clone(),
            sap_key: key.clone(),
            salesforce_id: None,
            field: None,
            sap_value: None,
            salesforce_value: None,
            sap_link: Some(links.sap(&pairing.entity, &key)),
            salesforce_link: None,
            repair: repair.clone(),
            note: None,
        };
        let Some(record) = by_key.get(&salesforce_key) else {
            out.push(ReconException {
                note: Some(format!("no {} with {} = {salesforce_key}", pairing.object, pairing.key_field)),
                ..base
            });
            continue;
        };
        let id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
        let expected = expected_record(mapping, &pairing.entity, row)?;
        for field in &pairing.fields {
            let Some(wanted) = expected.get(&field.salesforce) else { continue };
            let actual = record.get(&field.salesforce);
            if differs(Some(wanted), actual, tolerance) {
                out.push(ReconException {
                    kind: field.kind,
                    salesforce_id: Some(id.clone()),
                    field: Some(field.salesforce.clone()),
                    sap_value: shown(row.get(&field.sap)),
                    salesforce_value: shown(actual),
                    salesforce_link: Some(links.salesforce(&pairing.object, &id)),
                    note: Some(format!(
                        "Salesforce should hold {}",
                        shown(Some(wanted)).unwrap_or_else(|| "nothing".into())
                    )),
                    ..base.clone()
                });
            }
        }
    }
    for (salesforce_key, record) in by_key {
        if seen.contains(&salesforce_key) {
            continue;
        }
        let Some(sap_key) = pairing.sap_key_of(&salesforce_key) else { continue };
        let id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
        let (repair, note) = match &pairing.orphan_repair {
            OrphanRepair::ToSap => (
                Some(format!("sf:{}:{id}", pairing.object)),
                format!(
                    "SAP has no {} {sap_key}; a repair sends the {} to the sap-writer, which creates it",
                    pairing.entity, pairing.object
                ),
            ),
            OrphanRepair::Manual(why) => (None, why.to_string()),
        };
        out.push(ReconException {
            kind: ExceptionKind::MissingInSap,
            entity: pairing.entity.clone(),
            sap_key: sap_key.to_string(),
            salesforce_id: Some(id.clone()),
            field: None,
            sap_value: None,
            salesforce_value: None,
            sap_link: None,
            salesforce_link: Some(links.salesforce(&pairing.object, &id)),
            repair,
            note: Some(note),
        });
    }
    Ok(out)
}

/// Sorts exceptions by entity, kind, SAP key (numerically when both are numbers) and field.
pub fn sort(exceptions: &mut [ReconException]) {
    exceptions.sort_by(|a, b| {
        let numeric = |e: &ReconException| e.sap_key.parse::<i64>().ok();
        (&a.entity, a.kind, numeric(a), &a.sap_key, &a.field).cmp(&(
            &b.entity,
            b.kind,
            numeric(b),
            &b.sap_key,
            &b.field,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    fn links() -> Links {
        Links {
            sap_root: "https://sap:50000/b1s/v2/".into(),
            salesforce_instance: "https://acme.my.salesforce.com".into(),
        }
    }

    fn invoices() -> Pairing {
        document_pairing(&MappingFile::shipped(), "Invoices").unwrap().unwrap()
    }

    fn sap_invoice(doc_entry: i64, total: f64, paid: f64, status: &str) -> Record {
        record(json!({
            "DocEntry": doc_entry, "DocNum": doc_entry + 1000, "CardCode": "C20000", "DocDate": "2026-11-03T00:00:00Z",
            "DocDueDate": "2026-12-03T00:00:00Z", "DocTotal": total, "PaidToDate": paid, "DocumentStatus": status,
            "DocCurrency": "USD", "DocObjectCode": "oInvoices", "VatSum": 0.0
        }))
    }

    fn sf_invoice(id: &str, doc_entry: i64, total: f64, paid: f64, status: &str) -> Record {
        record(json!({
            "Id": id, "SAP_Document_Key__c": format!("Invoices/{doc_entry}"), "Invoice_Date__c": "2026-11-03",
            "Due_Date__c": "2026-12-03", "Amount__c": total, "Paid_Amount__c": paid, "Status__c": status
        }))
    }

    fn run(sap: &[Record], sf: &[Record]) -> Vec<ReconException> {
        let mut found = compare(&invoices(), &MappingFile::shipped(), sap, sf, 0.01, &links()).unwrap();
        sort(&mut found);
        found
    }

    fn kinds(found: &[ReconException]) -> Vec<(ExceptionKind, &str, Option<&str>)> {
        found.iter().map(|e| (e.kind, e.sap_key.as_str(), e.field.as_deref())).collect()
    }

    #[test]
    fn matching_records_are_no_exception_and_dates_compare_by_day() {
        let sap = [sap_invoice(1, 100.0, 0.0, "bost_Open")];
        let sf = [sf_invoice("a01SM0000000001AAA", 1, 100.0, 0.0, "Open")];
        assert_eq!(run(&sap, &sf), vec![]);
    }

    #[test]
    fn each_kind_is_found_with_links_and_a_repair_key() {
        let sap = [
            sap_invoice(1, 100.0, 0.0, "bost_Open"),
            sap_invoice(2, 250.0, 0.0, "bost_Open"),
            sap_invoice(3, 80.0, 80.0, "bost_Close"),
        ];
        let sf = [
            sf_invoice("a01SM0000000002AAA", 2, 260.0, 0.0, "Open"),
            sf_invoice("a01SM0000000003AAA", 3, 80.0, 0.0, "Open"),
            sf_invoice("a01SM0000000009AAA", 9, 10.0, 0.0, "Open"),
        ];
        let found = run(&sap, &sf);
        assert_eq!(
            kinds(&found),
            vec![
                (ExceptionKind::MissingInSalesforce, "1", None),
                (ExceptionKind::MissingInSap, "9", None),
                (ExceptionKind::AmountDrift, "2", Some("Amount__c")),
                (ExceptionKind::StatusDrift, "3", Some("Paid_Amount__c")),
                (ExceptionKind::StatusDrift, "3", Some("Status__c")),
            ]
        );
        assert_eq!(found[0].repair.as_deref(), Some("sap:Invoices:1"));
        assert_eq!(found[0].sap_link.as_deref(), Some("https://sap:50000/b1s/v2/Invoices(1)"));
        assert_eq!(found[1].repair, None, "a Salesforce invoice without its SAP document is for a person");
        assert_eq!(
            found[1].salesforce_link.as_deref(),
            Some("https://acme.my.salesforce.com/lightning/r/SAP_Invoice__c/a01SM0000000009AAA/view")
        );
        assert_eq!(
            (found[2].sap_value.as_deref(), found[2].salesforce_value.as_deref()),
            (Some("250.0"), Some("260.0"))
        );
        assert_eq!(found[3].repair.as_deref(), Some("sap:Invoices:3"));
        assert_eq!(found[4].sap_value.as_deref(), Some("bost_Close"));
        assert_eq!(found[4].salesforce_value.as_deref(), Some("Open"));
    }

    #[test]
    fn amounts_within_half_a_cent_are_equal() {
        let tolerance = 0.01;
        assert!(!differs(Some(&json!(100.0)), Some(&json!(100.004)), tolerance));
        assert!(!differs(Some(&json!(100.0)), Some(&json!(99.996)), tolerance));
        assert!(differs(Some(&json!(100.0)), Some(&json!(100.006)), tolerance));
        assert!(differs(Some(&json!(100.0)), Some(&json!(100.01)), tolerance));
        let sap = [sap_invoice(1, 100.0, 0.0, "bost_Open")];
        assert_eq!(run(&sap, &[sf_invoice("a01SM0000000001AAA", 1, 100.004, 0.0, "Open")]), vec![]);
        assert_eq!(run(&sap, &[sf_invoice("a01SM0000000001AAA", 1, 100.02, 0.0, "Open")]).len(), 1);
    }

    #[test]
    fn dates_nulls_and_text_compare_by_meaning() {
        assert!(!differs(Some(&json!("2026-11-03T00:00:00Z")), Some(&json!("2026-11-03")), 0.01));
        assert!(differs(Some(&json!("2026-11-03T00:00:00Z")), Some(&json!("2026-11-04")), 0.01));
        assert!(!differs(None, Some(&Value::Null), 0.01));
        assert!(!differs(Some(&json!("")), None, 0.01));
        assert!(differs(Some(&json!(0.0)), None, 0.01), "a zero written is not a field left empty");
        assert!(differs(Some(&json!("Open")), Some(&json!("Paid")), 0.01));
        assert!(!differs(Some(&json!(true)), Some(&json!(true)), 0.01));
    }

    #[test]
    fn status_comes_through_the_mappings_value_map() {
        // bost_Paid maps to Paid: Salesforce holding "Closed" for it is a status drift; "Paid" is not.
        let sap = [sap_invoice(4, 50.0, 50.0, "bost_Paid")];
        assert_eq!(run(&sap, &[sf_invoice("a01SM0000000004AAA", 4, 50.0, 50.0, "Paid")]), vec![]);
        let found = run(&sap, &[sf_invoice("a01SM0000000004AAA", 4, 50.0, 50.0, "Closed")]);
        assert_eq!(kinds(&found), vec![(ExceptionKind::StatusDrift, "4", Some("Status__c"))]);
    }

    #[test]
    fn master_data_compares_sap_owned_fields_and_routes_account_orphans_to_sap() {
        let mapping = MappingFile::shipped();
        let pairings = master_data_pairings(&mapping).unwrap();
        let entities: Vec<&str> = pairings.iter().map(|p| p.entity.as_str()).collect();
        assert_eq!(entities, vec!["BusinessPartners", "Items"]);
        let partners = &pairings[0];
        let compared: Vec<&str> = partners.fields.iter().map(|f| f.salesforce.as_str()).collect();
        assert!(compared.contains(&"SAP_Balance__c") && !compared.contains(&"Phone"), "{compared:?}");
        let sap = [
            record(json!({"CardCode": "C1", "CardName": "A", "CardType": "cCustomer", "CreditLimit": 1000.0,
                          "CurrentAccountBalance": 10.0, "OpenOrdersBalance": 0.0})),
            record(json!({"CardCode": "C2", "CardName": "B", "CardType": "cCustomer", "CreditLimit": 0.0,
                          "CurrentAccountBalance": 0.0, "OpenOrdersBalance": 0.0})),
        ];
        let sf = [
            record(json!({"Id": "001SM0000000001AAA", "SAP_CardCode__c": "C1", "SAP_Credit_Limit__c": 1000.0,
                          "SAP_Balance__c": 12.5, "SAP_Open_Orders_Balance__c": 0.0, "Phone": "other"})),
            record(json!({"Id": "001SM0000000003AAA", "SAP_CardCode__c": "C9", "SAP_Credit_Limit__c": 0.0})),
        ];
        let mut found = compare(partners, &mapping, &sap, &sf, 0.01, &links()).unwrap();
        sort(&mut found);
        assert_eq!(
            kinds(&found),
            vec![
                (ExceptionKind::MissingInSalesforce, "C2", None),
                (ExceptionKind::MissingInSap, "C9", None),
                (ExceptionKind::FieldDrift, "C1", Some("SAP_Balance__c")),
            ]
        );
        assert_eq!(found[0].repair.as_deref(), Some("sap:BusinessPartners:C2"));
        assert_eq!(found[0].sap_link.as_deref(), Some("https://sap:50000/b1s/v2/BusinessPartners('C2')"));
        assert_eq!(found[1].repair.as_deref(), Some("sf:Account:001SM0000000003AAA"));
        let items = &pairings[1];
        let orphan = record(json!({"Id": "01tSM0000000001AAA", "SAP_ItemCode__c": "X1"}));
        let found = compare(items, &mapping, &[], &[orphan], 0.01, &links()).unwrap();
        assert_eq!((found[0].kind, found[0].repair.clone()), (ExceptionKind::MissingInSap, None));
    }

    #[test]
    fn document_keys_of_other_types_are_not_orphans_of_this_one() {
        let pairing = invoices();
        assert_eq!(pairing.sap_key_of("Invoices/12"), Some("12"));
        assert_eq!(pairing.sap_key_of("CreditNotes/12"), None);
        assert_eq!(pairing.salesforce_key("12"), "Invoices/12");
        assert_eq!(pairing.amount_field(), Some("Amount__c"));
        assert_eq!(pairing.date_field.as_deref(), Some("Invoice_Date__c"));
    }
}
