//! Validation of a mapping file: every key and value checked against the catalogue of fields
//! ([`crate::mapping::catalogue`]), each problem reported with its line and column.

use super::*;
use crate::mapping::catalogue::{self, Entity, Kind, KindClass};
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Flow options: name, the flows that take it, and how its value is checked.
struct OptionSpec {
    flow: &'static str,
    name: &'static str,
    check: fn(&DeValue<'_>) -> Result<OptionValue, String>,
}

/// The flows whose SAP rows a `sap_filter` may narrow (their entity sets are polled and read by key).
pub(super) const FILTERED_FLOWS: [&str; 2] = ["F4", "F7"];
/// The flows whose Salesforce records a `salesforce_filter` may narrow (read by the sap-writer).
pub(super) const SALESFORCE_FILTERED_FLOWS: [&str; 1] = ["F2"];

/// The Salesforce objects whose fields may be relationship paths (read by F1's one query).
const RELATIONSHIP_PATH_OBJECTS: [&str; 2] = ["Opportunity", "OpportunityLineItem"];

const OPTIONS: &[OptionSpec] = &[
    OptionSpec { flow: "F1", name: "price_decimals", check: price_decimals },
    OptionSpec { flow: "F1", name: "on_lines_edited", check: on_lines_edited },
    OptionSpec { flow: "F1", name: "quote_statuses", check: quote_statuses },
    OptionSpec { flow: "F2", name: "on_delete", check: on_delete },
    OptionSpec { flow: "F2", name: "link_rules", check: link_rules },
    OptionSpec { flow: "F2", name: "link_tax_id_field", check: salesforce_field },
    OptionSpec { flow: "F4", name: "credit_alert_threshold", check: fraction },
    OptionSpec { flow: "F4", name: "link_rules", check: link_rules },
    OptionSpec { flow: "F7", name: "link_rules", check: link_rules },
    OptionSpec { flow: "F6", name: "invoice_object", check: invoice_object },
    OptionSpec { flow: "F8", name: "master_data_flows", check: flow_list },
    OptionSpec { flow: "F8", name: "amount_tolerance", check: non_negative },
];

fn number(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
        _ => None,
    }
}

fn fraction(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match number(value) {
        Some(n) if n > 0.0 && n <= 1.0 => Ok(OptionValue::Number(n)),
        _ => Err("must be a number above 0 and at most 1 (0.9 = alert at 90% of the credit limit)".into()),
    }
}

fn non_negative(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match number(value) {
        Some(n) if n >= 0.0 => Ok(OptionValue::Number(n)),
        _ => Err("must be a number of at least 0".into()),
    }
}

fn price_decimals(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match number(value) {
        Some(n) if n.fract() == 0.0 && (0.0..=6.0).contains(&n) => Ok(OptionValue::Number(n)),
        _ => Err("must be a whole number from 0 to 6: the decimal places SAP keeps on prices (General Settings → Display → Prices)".into()),
    }
}

fn on_lines_edited(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match value.as_str() {
        Some(what @ ("flag" | "update")) => Ok(OptionValue::Text(what.to_string())),
        _ => Err("must be \"flag\" (the deal says Needs review, the default) or \"update\" (its open, untouched order is updated)".into()),
    }
}

/// Quote `Status` picklist values (orgs add their own, so any name is taken); `[]` turns quotes off.
fn quote_statuses(value: &DeValue<'_>) -> Result<OptionValue, String> {
    let items = value.as_array();
    let names: Option<Vec<String>> = items.map(|items| {
        items.iter().filter_map(|i| i.get_ref().as_str()).filter(|n| !n.trim().is_empty()).map(String::from).collect()
    });
    match (names, items) {
        (Some(names), Some(items)) if names.len() == items.len() => Ok(OptionValue::List(names)),
        _ => Err(
            "must be a list of Quote Status values, e.g. [\"Approved\", \"Presented\"] ([] keeps quotes in Salesforce)"
                .into(),
        ),
    }
}

fn on_delete(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match value.as_str() {
        Some(what @ ("deactivate" | "keep")) => Ok(OptionValue::Text(what.to_string())),
        _ => {
            Err("must be \"deactivate\" (a deleted account's partner is made inactive, the default) or \"keep\"".into())
        }
    }
}

fn invoice_object(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match value.as_str() {
        Some(name @ ("SAP_Invoice__c" | "Invoice")) => Ok(OptionValue::Text(name.to_string())),
        _ => Err("must be \"SAP_Invoice__c\" (B1Force's custom object) or \"Invoice\" (Revenue Cloud)".into()),
    }
}

/// `b1force link`'s rules for accounts ⇄ business partners, strongest first (`name+postcode`).
fn link_rules(value: &DeValue<'_>) -> Result<OptionValue, String> {
    let Some(items) = value.as_array() else {
        return Err("must be a list of rules, e.g. [\"tax_id\", \"email\", \"name+postcode\", \"name+city\"]".into());
    };
    let mut rules = Vec::new();
    for item in items {
        let text = item.get_ref().as_str().ok_or("each rule is a text, e.g. \"name+city\"")?;
        crate::domain::link::Rule::parse(text)?;
        rules.push(text.to_string());
    }
    Ok(OptionValue::List(rules))
}

/// An Account field's API name (`VAT_Number__c`).
fn salesforce_field(value: &DeValue<'_>) -> Result<OptionValue, String> {
    match value.as_str() {
        Some(name) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Ok(OptionValue::Text(name.to_string()))
        }
        _ => Err("must be the API name of the Account field holding the tax id, e.g. \"VAT_Number__c\"".into()),
    }
}

fn flow_list(value: &DeValue<'_>) -> Result<OptionValue, String> {
    let names: Option<Vec<String>> = value.as_array().map(|items| {
        items.iter().filter_map(|i| i.get_ref().as_str()).filter(|n| FLOWS.contains(n)).map(String::from).collect()
    });
    match (names, value.as_array()) {
        (Some(names), Some(items)) if names.len() == items.len() => Ok(OptionValue::List(names)),
        _ => Err("must be a list of flow names, e.g. [\"F2\", \"F4\", \"F7\"]".into()),
    }
}

pub(super) type Node<'i> = Spanned<DeValue<'i>>;

/// The keys of one table by name, each with its spanned key and value.
pub(super) type Entries<'a, 'i> = HashMap<String, (&'a Spanned<std::borrow::Cow<'i, str>>, &'a Node<'i>)>;

/// Walks the parsed document, building the model and collecting every problem.
pub(super) struct Checker<'t> {
    pub(super) text: &'t str,
    pub(super) origin: &'t str,
    pub(super) errors: Vec<(usize, String)>,
}

/// Targets already written in one scope: name → line of the entry that writes it.
type Targets = HashMap<String, usize>;

/// The objects a list of field entries refers to.
struct Sides {
    salesforce: Option<&'static Entity>,
    salesforce_name: String,
    sap: Option<&'static Entity>,
    sap_name: String,
}

impl<'t> Checker<'t> {
    pub(super) fn report(&mut self, span: Range<usize>, reason: impl Into<String>) {
        self.errors.push((span.start, reason.into()));
    }

    pub(super) fn finish(mut self) -> MappingErrors {
        self.errors.sort_by_key(|(at, _)| *at);
        self.errors.dedup();
        let errors = self.errors.iter().map(|(at, reason)| {
            let (line, column) = self.position(*at);
            MappingError { origin: self.origin.to_string(), line, column, reason: reason.clone() }
        });
        MappingErrors(errors.collect())
    }

    fn line(&self, at: usize) -> usize {
        self.position(at).0
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// Reports keys other than `allowed` and returns the entries by name.
    fn entries<'a, 'i>(&mut self, table: &'a DeTable<'i>, allowed: &[&str], context: &str) -> Entries<'a, 'i> {
        let mut found = HashMap::new();
        for (key, value) in table.iter() {
            if allowed.contains(&key.get_ref().as_ref()) {
                found.insert(key.get_ref().to_string(), (key, value));
            } else {
                self.report(
                    key.span(),
                    format!("unknown key `{}` in {context}; expected one of: {}", key.get_ref(), allowed.join(", ")),
                );
            }
        }
        found
    }

    pub(super) fn table<'a, 'i>(&mut self, node: &'a Node<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        let table = node.get_ref().as_table();
        if table.is_none() {
            self.report(node.span(), format!("{what} must be a table, not a {}", node.get_ref().type_str()));
        }
        table
    }

    fn string(&mut self, node: &Node<'_>, what: &str) -> Option<String> {
        let text = node.get_ref().as_str().map(String::from);
        if text.is_none() {
            self.report(node.span(), format!("{what} must be a string, not a {}", node.get_ref().type_str()));
        }
        text
    }

    pub(super) fn document(&mut self, root: &Spanned<DeTable<'_>>) -> Vec<FlowMapping> {
        let entries = self.entries(root.get_ref(), &["version", "flows"], "the top level");
        match entries.get("version") {
            None => self.report(0..0, format!("missing `version = {VERSION}` at the top of the file")),
            Some((_, value)) => match value.get_ref() {
                DeValue::Integer(i) if i.as_str() == "1" => {}
                other => self.report(
                    value.span(),
                    format!("unsupported mapping version {}; this build reads version {VERSION}", show(other)),
                ),
            },
        }
        let Some((_, flows)) = entries.get("flows").copied() else {
            self.report(0..0, "no [flows.F1] .. [flows.F8] tables");
            return Vec::new();
        };
        let Some(flows) = self.table(flows, "`flows`") else {
            return Vec::new();
        };
        let mut parsed = Vec::new();
        for (name, flow) in flows.iter() {
            let name_text = name.get_ref().to_string();
            if !FLOWS.contains(&name_text.as_str()) {
                self.report(name.span(), format!("unknown flow `{name_text}`; flows are F1 to F8"));
                continue;
            }
            if let Some(table) = self.table(flow, &format!("flows.{name_text}")) {
                parsed.push(self.flow(&name_text, table, flow.span()));
            }
        }
        parsed.sort_by(|a, b| a.name.cmp(&b.name));
        self.check_master_data_flows_exist(&parsed, flows);
        parsed
    }

    fn check_master_data_flows_exist(&mut self, flows: &[FlowMapping], table: &DeTable<'_>) {
        let flow_span = |name: &str| table.iter().find(|(k, _)| k.get_ref() == name).map(|(_, v)| v.span());
        if let Some(f8) = flows.iter().find(|f| f.name == "F8")
            && let Some(OptionValue::List(names)) = f8.option("master_data_flows")
        {
            for missing in names.iter().filter(|n| !flows.iter().any(|f| &f.name == *n)) {
                self.report(
                    flow_span("F8").unwrap_or(0..0),
                    format!("F8 master_data_flows names {missing}, which this file does not configure"),
                );
            }
        }
    }

    fn flow(&mut self, name: &str, table: &DeTable<'_>, span: Range<usize>) -> FlowMapping {
        let mut allowed = vec![
            "description",
            "salesforce_object",
            "sap_entity",
            "key",
            "fields",
            "collections",
            "derived",
            "related",
        ];
        allowed.extend(OPTIONS.iter().filter(|o| o.flow == name).map(|o| o.name));
        if FILTERED_FLOWS.contains(&name) {
            allowed.push("sap_filter");
        }
        if SALESFORCE_FILTERED_FLOWS.contains(&name) {
            allowed.push("salesforce_filter");
        }
        let context = format!("[flows.{name}]");
        let entries = self.entries(table, &allowed, &context);
        let mut mapping = self.record_mapping(name, &entries, span.clone(), &context);
        if let Some((_, node)) = entries.get("sap_filter") {
            let entity = catalogue::sap_entity(&mapping.sap_entity);
            let what = format!("{name} sap_filter");
            mapping.sap_filter = self.row_filter(node, entity, &format!("SAP {}", mapping.sap_entity), &what);
        }
        if let Some((_, node)) = entries.get("salesforce_filter") {
            let object = catalogue::salesforce_object(&mapping.salesforce_object);
            let what = format!("{name} salesforce_filter");
            let label = format!("Salesforce {}", mapping.salesforce_object);
            mapping.salesforce_filter = self.row_filter(node, object, &label, &what);
        }
        self.check_code_reads(name, &entries, span.clone());
        for spec in OPTIONS.iter().filter(|o| o.flow == name) {
            if let Some((_, value)) = entries.get(spec.name) {
                match (spec.check)(value.get_ref()) {
                    Ok(OptionValue::Text(chosen))
                        if spec.name == "invoice_object" && chosen != mapping.salesforce_object =>
                    {
                        self.report(
                            value.span(),
                            format!(
                                "F6 invoice_object is {chosen:?} but its salesforce_object is {:?}; they must agree",
                                mapping.salesforce_object
                            ),
                        )
                    }
                    Ok(parsed) => mapping.options.push((spec.name.to_string(), parsed)),
                    Err(reason) => self.report(value.span(), format!("{name} {}: {reason}", spec.name)),
                }
            }
        }
        if let Some((_, related)) = entries.get("related")
            && let Some(related) = self.table(related, &format!("flows.{name}.related"))
        {
            for (part, node) in related.iter() {
                let full = format!("{name}.{part}", part = part.get_ref());
                let context = format!("[flows.{full}]");
                let Some(table) = self.table(node, &context) else { continue };
                let allowed =
                    ["description", "salesforce_object", "sap_entity", "key", "fields", "collections", "derived"];
                let entries = self.entries(table, &allowed, &context);
                let related = self.record_mapping(&full, &entries, node.span(), &context);
                mapping.related.push(related);
            }
        }
        mapping
    }

    fn record_mapping(
        &mut self,
        name: &str,
        entries: &Entries<'_, '_>,
        span: Range<usize>,
        context: &str,
    ) -> FlowMapping {
        let text = |checker: &mut Self, key: &str, required: bool| -> Option<(String, Range<usize>)> {
            match entries.get(key) {
                Some((_, node)) => checker.string(node, &format!("`{key}`")).map(|s| (s, node.span())),
                None => {
                    if required {
                        checker.report(span.clone(), format!("{context} needs `{key}`"));
                    }
                    None
                }
            }
        };
        let description = text(self, "description", false).map(|(d, _)| d).unwrap_or_default();
        let salesforce_object = text(self, "salesforce_object", true);
        let sap_entity = text(self, "sap_entity", true);
        let salesforce = salesforce_object.as_ref().and_then(|(object, at)| {
            let found = catalogue::salesforce_object(object);
            if found.is_none() {
                self.report(at.clone(), format!("unknown Salesforce object `{object}`"));
            }
            found
        });
        let sap = sap_entity.as_ref().and_then(|(entity, at)| {
            let found = catalogue::sap_entity(entity);
            if found.is_none() {
                self.report(at.clone(), format!("unknown SAP entity `{entity}`"));
            }
            found
        });
        let sides = Sides {
            salesforce,
            salesforce_name: salesforce_object.map(|(o, _)| o).unwrap_or_default(),
            sap,
            sap_name: sap_entity.map(|(e, _)| e).unwrap_or_default(),
        };
        let key = entries.get("key").and_then(|(_, node)| self.key_pair(node, &sides, "key", true));
        let mut salesforce_targets = Targets::new();
        let fields = match entries.get("fields") {
            Some((_, node)) => {
                self.fields(node, &sides, &mut salesforce_targets, &mut Targets::new(), &format!("{context} fields"))
            }
            None => Vec::new(),
        };
        let collections = match entries.get("collections") {
            Some((_, node)) => self.collections(name, node, &sides, &mut salesforce_targets),
            None => Vec::new(),
        };
        let derived = match entries.get("derived") {
            Some((_, node)) => self.derived(node, &sides, &salesforce_targets),
            None => Vec::new(),
        };
        FlowMapping {
            name: name.to_string(),
            description,
            salesforce_object: sides.salesforce_name,
            sap_entity: sides.sap_name,
            key,
            fields,
            collections,
            derived,
            options: Vec::new(),
            related: Vec::new(),
            sap_filter: RowFilter::default(),
            salesforce_filter: RowFilter::default(),
        }
    }

    /// `sap_filter = { CardType = ["cCustomer", "cLid"] }` (or `salesforce_filter = { Type = [...] }`):
    /// fields of the flow's entity (`entity_label`, e.g. `SAP BusinessPartners`) that hold text or an
    /// enumeration, each with the values that are synced (an enum's declared members).
    fn row_filter(
        &mut self,
        node: &Node<'_>,
        entity: Option<&'static catalogue::Entity>,
        entity_label: &str,
        what: &str,
    ) -> RowFilter {
        let Some(table) = self.table(node, &format!("`{what}`")) else { return RowFilter::default() };
        let mut only = Vec::new();
        for (property, values) in table.iter() {
            let name = property.get_ref().to_string();
            let Some(field) = entity.and_then(|e| e.field(&name)) else {
                self.report(property.span(), format!("{what}: `{name}` is not a field of {entity_label}"));
                continue;
            };
            let members = match field.kind {
                Kind::Enum(members) => Some(members),
                kind if kind.class() == KindClass::Textual => None,
                kind => {
                    self.report(
                        property.span(),
                        format!("{what}: `{name}` is {}; filters take text or enumeration properties", kind.describe()),
                    );
                    continue;
                }
            };
            let allowed: Option<Vec<String>> = values
                .get_ref()
                .as_array()
                .map(|items| items.iter().filter_map(|item| item.get_ref().as_str().map(String::from)).collect());
            let count = values.get_ref().as_array().map_or(0, |items| items.len());
            let Some(allowed) = allowed.filter(|a| !a.is_empty() && a.len() == count) else {
                self.report(values.span(), format!("{what}: `{name}` needs a non-empty list of strings"));
                continue;
            };
            if let Some(members) = members
                && let Some(unknown) = allowed.iter().find(|v| !members.contains(&v.as_str()))
            {
                self.report(
                    values.span(),
                    format!("{what}: `{unknown}` is not a value of {name}; expected one of {}", members.join(", ")),
                );
                continue;
            }
            only.push((name, allowed));
        }
        RowFilter { only }
    }

    /// `{ salesforce = "...", sap = "..." }`: both must exist; only existence is checked, as keys
    /// pair ids of different types (a Salesforce text external id with an SAP integer code).
    fn key_pair(&mut self, node: &Node<'_>, sides: &Sides, what: &str, sap_on_entity: bool) -> Option<KeyPair> {
        let table = self.table(node, &format!("`{what}`"))?;
        let entries = self.entries(table, &["salesforce", "sap"], &format!("`{what}`"));
        let (Some((_, sf)), Some((_, sap))) = (entries.get("salesforce"), entries.get("sap")) else {
            self.report(node.span(), format!("`{what}` needs both `salesforce` and `sap`"));
            return None;
        };
        let salesforce = self.string(sf, "`salesforce`")?;
        let sap_name = self.string(sap, "`sap`")?;
        if let Some(object) = sides.salesforce
            && let Err(reason) = resolve_path(object, &salesforce)
        {
            self.report(sf.span(), reason);
        }
        if let Some(entity) = sides.sap
            && entity.field(&sap_name).is_none()
        {
            let owner = if sap_on_entity { "SAP entity" } else { "SAP collection row" };
            self.report(sap.span(), unknown_field(owner, entity, &sap_name));
        }
        Some(KeyPair { salesforce, sap: sap_name })
    }

    fn fields(
        &mut self,
        node: &Node<'_>,
        sides: &Sides,
        salesforce_targets: &mut Targets,
        sap_targets: &mut Targets,
        context: &str,
    ) -> Vec<FieldMapping> {
        let Some(items) = node.get_ref().as_array() else {
            self.report(node.span(), format!("{context} must be an array of tables"));
            return Vec::new();
        };
        let mut fields = Vec::new();
        for item in items.iter() {
            let Some(table) = self.table(item, "a field entry") else { continue };
            if let Some(field) = self.field(item.span(), table, sides, salesforce_targets, sap_targets) {
                fields.push(field);
            }
        }
        fields
    }

    fn field(
        &mut self,
        span: Range<usize>,
        table: &DeTable<'_>,
        sides: &Sides,
        salesforce_targets: &mut Targets,
        sap_targets: &mut Targets,
    ) -> Option<FieldMapping> {
        let entries =
            self.entries(table, &["salesforce", "sap", "owner", "value_map", "default", "kind"], "a field entry");
        for required in ["salesforce", "sap", "owner"] {
            if !entries.contains_key(required) {
                self.report(span.clone(), format!("field entry needs `{required}`"));
            }
        }
        let (_, sf_node) = entries.get("salesforce")?;
        let (_, sap_node) = entries.get("sap")?;
        let (_, owner_node) = entries.get("owner")?;
        let salesforce = self.string(sf_node, "`salesforce`")?;
        let sap = self.string(sap_node, "`sap`")?;
        let owner = match owner_node.get_ref().as_str() {
            Some("salesforce") => Some(Owner::Salesforce),
            Some("sap") => Some(Owner::Sap),
            Some("both") => Some(Owner::Both),
            _ => {
                self.report(
                    owner_node.span(),
                    format!(
                        "owner must be \"salesforce\", \"sap\" or \"both\" (newer wins), not {}",
                        show(owner_node.get_ref())
                    ),
                );
                None
            }
        };
        let kind = match entries.get("kind") {
            Some((_, node)) => {
                let name = self.string(node, "`kind`")?;
                let kind = Kind::from_name(&name);
                if kind.is_none() {
                    self.report(node.span(), format!("unknown kind {name:?}; kinds are {}", Kind::NAMES.join(", ")));
                }
                Some((kind?, node.span()))
            }
            None => None,
        };
        if salesforce.contains('.') && !self.relationship_path_allowed(sides, owner, sf_node.span()) {
            return None;
        }
        let sf_field = self.side_field(sides.salesforce, &salesforce, sf_node.span(), kind.as_ref().map(|k| k.0), true);
        let sap_field = self.side_field(sides.sap, &sap, sap_node.span(), kind.as_ref().map(|k| k.0), false);
        if let (Some((_, at)), Some((Some(_), _)), Some((Some(_), _))) = (&kind, &sf_field, &sap_field) {
            self.report(
                at.clone(),
                "`kind` is only for custom fields the catalogue does not know (Salesforce *__c, SAP U_*); both fields are in the catalogue",
            );
        }
        let (Some((sf_field, sf_kind)), Some((sap_field, sap_kind))) = (sf_field, sap_field) else {
            return None;
        };
        let owner = owner?;
        let line = self.line(span.start);
        let sf_label = format!("{}.{salesforce}", sides.salesforce_name);
        let sap_label = format!("{}.{sap}", sides.sap_name);
        if matches!(sap_kind, Kind::Collection(_)) {
            self.report(sap_node.span(), format!("{sap_label} is a collection of rows; map it under `collections`"));
            return None;
        }
        if owner.salesforce_writes(true) {
            if sap_field.is_some_and(|f| !f.writable) {
                self.report(
                    sap_node.span(),
                    format!(
                        "{sap_label} is read-only in SAP, so Salesforce cannot write it (owner = \"{}\"); make the owner \"sap\"",
                        owner.as_str()
                    ),
                );
            }
            if let Some(first) = sap_targets.insert(sap.clone(), line) {
                self.report(
                    sap_node.span(),
                    format!("{sap_label} is already written from Salesforce by the entry on line {first}"),
                );
            }
        }
        if owner.sap_writes(true) {
            if sf_field.is_some_and(|f| !f.writable) {
                self.report(
                    sf_node.span(),
                    format!(
                        "{sf_label} is read-only in Salesforce, so SAP cannot write it (owner = \"{}\"); make the owner \"salesforce\"",
                        owner.as_str()
                    ),
                );
            }
            if let Some(first) = salesforce_targets.insert(salesforce.clone(), line) {
                self.report(
                    sf_node.span(),
                    format!("{sf_label} is already written from SAP by the entry on line {first}"),
                );
            }
        }
        let value_map = match entries.get("value_map") {
            Some((_, node)) => self.value_map(node, sf_kind, sap_kind, &sf_label, &sap_label),
            None => {
                if !pairs_without_map(sf_kind, sap_kind) {
                    self.report(
                        sap_node.span(),
                        format!(
                            "type mismatch: {sf_label} is {} but {sap_label} is {}; add a value_map or pair fields of the same type",
                            sf_kind.describe(),
                            sap_kind.describe()
                        ),
                    );
                }
                None
            }
        };
        let default = entries.get("default").and_then(|(_, node)| {
            let value = match salesforce_value(node.get_ref(), sf_kind) {
                Ok(value) => value,
                Err(reason) => {
                    self.report(node.span(), format!("default for {sf_label}: {reason}"));
                    return None;
                }
            };
            if let Some(map) = &value_map
                && !map.pairs.iter().any(|(sf, _)| same(sf, &value))
            {
                self.report(node.span(), format!("default {value} is not a key of the value_map"));
            }
            Some(value)
        });
        Some(FieldMapping { salesforce, sap, owner, salesforce_kind: sf_kind, sap_kind, value_map, default, line })
    }

    /// Looks a field up on one side: the catalogue's field, or a custom field typed by `kind`.
    /// `None` when it cannot be resolved (reported here, or where the unknown object is named).
    /// A Salesforce relationship path (`Product2.SAP_TaxCode__c`, `Opportunity.Account.Type`) is
    /// read through its lookups in F1's query, never written: only F1's objects, owner "salesforce".
    fn relationship_path_allowed(&mut self, sides: &Sides, owner: Option<Owner>, at: Range<usize>) -> bool {
        if !RELATIONSHIP_PATH_OBJECTS.contains(&sides.salesforce_name.as_str()) {
            self.report(
                at,
                format!(
                    "a relationship path is read only by F1's query (Opportunity, OpportunityLineItem); {} takes fields of its own",
                    sides.salesforce_name
                ),
            );
            return false;
        }
        if owner.is_some_and(|o| o != Owner::Salesforce) {
            self.report(
                at,
                "a relationship path is read through its lookups and never written: owner must be \"salesforce\"",
            );
            return false;
        }
        true
    }

    fn side_field(
        &mut self,
        entity: Option<&'static Entity>,
        name: &str,
        span: Range<usize>,
        kind: Option<Kind>,
        salesforce: bool,
    ) -> Option<(Option<&'static catalogue::Field>, Kind)> {
        // An unknown object is reported once, where it is named; its fields are not checked.
        let entity = entity?;
        if let Some(field) = entity.field(name) {
            return Some((Some(field), field.kind));
        }
        let (entity, name) = match name.rsplit_once('.') {
            Some((lookups, last)) if salesforce => match resolve_path(entity, &format!("{lookups}.Id")) {
                Ok(_) => (parent_at(entity, lookups)?, last),
                Err(reason) => {
                    self.report(span, reason);
                    return None;
                }
            },
            _ => (entity, name),
        };
        if let Some(field) = entity.field(name) {
            return Some((Some(field), field.kind));
        }
        let custom = if salesforce { name.ends_with("__c") } else { name.starts_with("U_") };
        match kind {
            Some(kind) if custom => Some((None, kind)),
            _ => {
                let side = if salesforce { "Salesforce object" } else { "SAP entity" };
                let mut reason = unknown_field(side, entity, name);
                if custom {
                    reason.push_str("; a custom field the catalogue does not know needs `kind`");
                }
                self.report(span, reason);
                None
            }
        }
    }

    fn value_map(
        &mut self,
        node: &Node<'_>,
        sf_kind: Kind,
        sap_kind: Kind,
        sf_label: &str,
        sap_label: &str,
    ) -> Option<ValueMap> {
        let table = self.table(node, "`value_map`")?;
        if table.is_empty() {
            self.report(node.span(), "value_map is empty; remove it or list Salesforce value = SAP value pairs");
            return None;
        }
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        let mut seen: Vec<(Value, String)> = Vec::new();
        let mut ok = true;
        for (key, value) in table.iter() {
            let sf = match salesforce_value(&DeValue::String(key.get_ref().clone()), sf_kind) {
                Ok(sf) => sf,
                Err(reason) => {
                    self.report(key.span(), format!("value_map key {:?} for {sf_label}: {reason}", key.get_ref()));
                    ok = false;
                    continue;
                }
            };
            let sap = match sap_value(value.get_ref(), sap_kind) {
                Ok(sap) => sap,
                Err(reason) => {
                    self.report(value.span(), format!("value_map value for {sap_label}: {reason}"));
                    ok = false;
                    continue;
                }
            };
            if let Some((_, first)) = seen.iter().find(|(v, _)| same(v, &sap)) {
                self.report(
                    value.span(),
                    format!(
                        "value_map is not one-to-one: {:?} and {first:?} both map to {sap}, so SAP values cannot be mapped back",
                        key.get_ref()
                    ),
                );
                ok = false;
            }
            seen.push((sap.clone(), key.get_ref().to_string()));
            pairs.push((sf, sap));
        }
        ok.then_some(ValueMap { pairs })
    }

    fn collections(
        &mut self,
        flow: &str,
        node: &Node<'_>,
        parent: &Sides,
        parent_targets: &mut Targets,
    ) -> Vec<CollectionMapping> {
        let Some(table) = self.table(node, &format!("flows.{flow}.collections")) else {
            return Vec::new();
        };
        let mut collections = Vec::new();
        for (name, node) in table.iter() {
            let context = format!("[flows.{flow}.collections.{}]", name.get_ref());
            let Some(table) = self.table(node, &context) else { continue };
            let allowed = ["sap_collection", "salesforce_object", "salesforce_relationship", "match", "row", "fields"];
            let entries = self.entries(table, &allowed, &context);
            let Some((_, collection_node)) = entries.get("sap_collection") else {
                self.report(node.span(), format!("{context} needs `sap_collection`"));
                continue;
            };
            let Some(sap_collection) = self.string(collection_node, "`sap_collection`") else { continue };
            let row = match parent.sap.map(|e| e.field(&sap_collection)) {
                None => None,
                Some(Some(catalogue::Field { kind: Kind::Collection(row), .. })) => catalogue::sap_row(row),
                Some(_) => {
                    self.report(
                        collection_node.span(),
                        format!("{}.{sap_collection} is not a collection property", parent.sap_name),
                    );
                    continue;
                }
            };
            let children = entries.contains_key("salesforce_object") || entries.contains_key("match");
            let source = if children {
                self.children_source(&entries, node.span(), parent, row, &context, &sap_collection)
            } else if let Some((_, fixed)) = entries.get("row") {
                self.fixed_row(fixed, row, &sap_collection)
            } else {
                self.report(
                    node.span(),
                    format!("{context} needs either `row` (one fixed row) or `salesforce_object`, `salesforce_relationship` and `match` (child records)"),
                );
                None
            };
            let Some((source, child_object)) = source else { continue };
            let sides = Sides {
                salesforce: if children { child_object } else { parent.salesforce },
                salesforce_name: match &source {
                    RowSource::Children { salesforce_object, .. } => salesforce_object.clone(),
                    RowSource::Fixed { .. } => parent.salesforce_name.clone(),
                },
                sap: row,
                sap_name: format!("{}.{sap_collection}", parent.sap_name),
            };
            let mut own_targets = Targets::new();
            // A fixed row is built from the parent's own fields, so they share the parent's targets.
            let salesforce_targets = if children { &mut own_targets } else { &mut *parent_targets };
            let fields = match entries.get("fields") {
                Some((_, fields)) => {
                    self.fields(fields, &sides, salesforce_targets, &mut Targets::new(), &format!("{context} fields"))
                }
                None => Vec::new(),
            };
            collections.push(CollectionMapping {
                name: name.get_ref().to_string(),
                sap_collection,
                row_key: row.map_or(&[], |r| r.row_key),
                source,
                fields,
            });
        }
        collections
    }

    fn children_source(
        &mut self,
        entries: &Entries<'_, '_>,
        span: Range<usize>,
        parent: &Sides,
        row: Option<&'static Entity>,
        context: &str,
        sap_collection: &str,
    ) -> Option<(RowSource, Option<&'static Entity>)> {
        let (Some((_, object)), Some((_, relationship)), Some((_, matched))) =
            (entries.get("salesforce_object"), entries.get("salesforce_relationship"), entries.get("match"))
        else {
            self.report(span, format!("{context} needs `salesforce_object`, `salesforce_relationship` and `match`"));
            return None;
        };
        let object_name = self.string(object, "`salesforce_object`")?;
        let relationship_name = self.string(relationship, "`salesforce_relationship`")?;
        let child = catalogue::salesforce_object(&object_name);
        if child.is_none() {
            self.report(object.span(), format!("unknown Salesforce object `{object_name}`"));
        }
        if parent.salesforce.is_some()
            && catalogue::child_relationship(&parent.salesforce_name, &relationship_name) != Some(object_name.as_str())
        {
            self.report(
                relationship.span(),
                format!("{} has no child relationship `{relationship_name}` to {object_name}", parent.salesforce_name),
            );
        }
        let sides = Sides {
            salesforce: child,
            salesforce_name: object_name.clone(),
            sap: row,
            sap_name: sap_collection.to_string(),
        };
        let matched_by = self.key_pair(matched, &sides, "match", false)?;
        let source = RowSource::Children {
            salesforce_object: object_name,
            salesforce_relationship: relationship_name,
            matched_by,
        };
        Some((source, child))
    }

    fn fixed_row(
        &mut self,
        node: &Node<'_>,
        row: Option<&'static Entity>,
        sap_collection: &str,
    ) -> Option<(RowSource, Option<&'static Entity>)> {
        let table = self.table(node, "`row`")?;
        let mut values = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            let Some(row) = row else { continue };
            let Some(field) = row.field(&name) else {
                self.report(key.span(), unknown_field("SAP collection row", row, &name));
                continue;
            };
            match sap_value(value.get_ref(), field.kind) {
                Ok(value) => values.push((name, value)),
                Err(reason) => self.report(value.span(), format!("{sap_collection}.{name}: {reason}")),
            }
        }
        Some((RowSource::Fixed { row: values }, None))
    }

    fn derived(&mut self, node: &Node<'_>, sides: &Sides, targets: &Targets) -> Vec<String> {
        let Some(items) = node.get_ref().as_array() else {
            self.report(node.span(), "`derived` must be an array of Salesforce field names");
            return Vec::new();
        };
        let mut names = Vec::new();
        for item in items.iter() {
            let Some(name) = self.string(item, "a derived field") else { continue };
            if let Some(object) = sides.salesforce {
                match object.field(&name) {
                    None => self.report(item.span(), unknown_field("Salesforce object", object, &name)),
                    Some(field) if !field.writable => {
                        self.report(item.span(), format!("{}.{name} is read-only in Salesforce", object.name))
                    }
                    Some(_) => {}
                }
            }
            if let Some(line) = targets.get(&name) {
                self.report(item.span(), format!("{name} is derived but also written by the entry on line {line}"));
            }
            names.push(name);
        }
        names
    }
}

/// The object at the end of `lookups` (`Opportunity.Account` from OpportunityLineItem: Account).
fn parent_at(object: &'static Entity, lookups: &str) -> Option<&'static Entity> {
    lookups.split('.').try_fold(object, |current, segment| match current.field(&format!("{segment}Id"))?.kind {
        Kind::Reference(target) => catalogue::salesforce_object(target),
        _ => None,
    })
}

/// Resolves `Field` or `Relationship.Field` (through lookups) on a Salesforce object.
fn resolve_path(object: &'static Entity, path: &str) -> Result<&'static catalogue::Field, String> {
    let mut current = object;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            return current.field(segment).ok_or_else(|| unknown_field("Salesforce object", current, segment));
        }
        let lookup = current.field(&format!("{segment}Id")).map(|f| f.kind);
        current = match lookup {
            Some(Kind::Reference(target)) => catalogue::salesforce_object(target).ok_or_else(|| {
                format!("{}.{segment} leads to {target}, which the catalogue does not know", current.name)
            })?,
            _ => return Err(format!("{} has no lookup relationship `{segment}`", current.name)),
        };
    }
    Err("empty field path".into())
}

fn unknown_field(side: &str, entity: &Entity, name: &str) -> String {
    let hint = entity.field_ignoring_case(name).map(|f| format!(" (did you mean `{}`?)", f.name)).unwrap_or_default();
    format!("unknown field `{name}` on {side} {}{hint}", entity.name)
}

/// Whether two kinds pair without a value map.
fn pairs_without_map(salesforce: Kind, sap: Kind) -> bool {
    let (a, b) = (salesforce.class(), sap.class());
    a == b && !matches!(a, KindClass::Enum | KindClass::Collection)
}

/// A Salesforce value from the file (a value_map key or a default), as JSON of the field's kind.
fn salesforce_value(value: &DeValue<'_>, kind: Kind) -> Result<Value, String> {
    let text = value.as_str();
    match kind.class() {
        KindClass::Boolean => match (value, text) {
            (DeValue::Boolean(b), _) => Ok(Value::Bool(*b)),
            (_, Some("true")) => Ok(Value::Bool(true)),
            (_, Some("false")) => Ok(Value::Bool(false)),
            _ => Err(format!("{} is a checkbox: use true or false", show(value))),
        },
        KindClass::Numeric => number(value)
            .or_else(|| text.and_then(|t| t.parse().ok()))
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{} is not a number", show(value))),
        KindClass::Date => match text {
            Some(t) if is_date(t) => Ok(Value::String(t.into())),
            _ => Err(format!("{} is not a date (YYYY-MM-DD)", show(value))),
        },
        _ => text.map(|t| Value::String(t.into())).ok_or_else(|| format!("{} is not text", show(value))),
    }
}

/// An SAP value from the file (a value_map value or a fixed row value), checked against the property's kind.
fn sap_value(value: &DeValue<'_>, kind: Kind) -> Result<Value, String> {
    let text = value.as_str();
    match kind {
        Kind::Enum(names) => match text {
            Some(t) if names.contains(&t) => Ok(Value::String(t.into())),
            _ => Err(format!("{} is not one of {}", show(value), names.join(", "))),
        },
        Kind::Integer => match (value, number(value)) {
            (DeValue::Integer(_), Some(n)) => Ok(Value::from(n as i64)),
            _ => Err(format!("{} is not an integer", show(value))),
        },
        _ => salesforce_value(value, kind),
    }
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// JSON values that mean the same (numbers compare by value: 30 = 30.0).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A TOML value as a message shows it.
fn show(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}
