//! The types of the properties the client filters on, as the Service Layer's v2 `$metadata` declares
//! them, and the one place a `$filter` literal is formatted from a type. Pure code.
//!
//! v2 is OData v4: dates are `Edm.DateTimeOffset`, times `Edm.TimeOfDay` (v1 had `Edm.DateTime` and
//! `Edm.Time`), enumerations `EnumType`s of the `SAPB1` namespace [S: notes on a real FP 2608 server's
//! `$metadata`; V: REF 1.27 names]. Literals take the OData v4 forms (OData v4.01 Part 2 URL Conventions,
//! `primitiveLiteral`): `2026-11-20T00:00:00Z`, `10:30:00` unquoted, and for enumerations the qualified
//! form SAP's own guide shows for v2, `SAPB1.BoYesNoEnum'tYES'` [V: SAP "OData Client for Service Layer"
//! 1.0, §6.1]. Bare or quoted dates, quoted times and quoted enum member names are what many v1-era
//! clients send; whether v2 takes them is not documented, so they are never sent (docs/wire-notes.md §1).

use super::odata::{Literal, Property, quote};
use crate::error::{Error, Result};

/// The namespace of SAP's enumeration types.
pub const NAMESPACE: &str = "SAPB1";

/// The type of a property, as `$metadata` writes it after `Type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdmType {
    String,
    Int32,
    Double,
    DateTimeOffset,
    TimeOfDay,
    /// An enumeration of the `SAPB1` namespace, by its unqualified name.
    Enum(&'static str),
}

impl EdmType {
    /// `Edm.String`, `SAPB1.BoStatus`, ...: the `Type` attribute of the property in `$metadata`.
    pub fn type_name(self) -> String {
        match self {
            EdmType::String => "Edm.String".into(),
            EdmType::Int32 => "Edm.Int32".into(),
            EdmType::Double => "Edm.Double".into(),
            EdmType::DateTimeOffset => "Edm.DateTimeOffset".into(),
            EdmType::TimeOfDay => "Edm.TimeOfDay".into(),
            EdmType::Enum(name) => format!("{NAMESPACE}.{name}"),
        }
    }

    /// The literal for `raw` (a value as SAP returns it, or as the caller holds it), or an error when
    /// `raw` is not a value of the type. The only place literal forms are written.
    pub fn literal(self, raw: &str) -> Result<Literal> {
        let invalid = || {
            Error::Invalid(format!(
                "{:?} is not an {} value",
                raw.chars().take(40).collect::<String>(),
                self.type_name()
            ))
        };
        let text = match self {
            EdmType::String => quote(raw),
            EdmType::Int32 => raw.trim().parse::<i32>().map_err(|_| invalid())?.to_string(),
            EdmType::Double => {
                let n = raw.trim().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(invalid)?;
                n.to_string()
            }
            // SAP returns `2026-11-20T00:00:00Z` (v2) or `2026-11-20` (v1); B1 stores the day only.
            EdmType::DateTimeOffset => {
                let (day, rest) = raw.split_at_checked(10).ok_or_else(invalid)?;
                let rest_ok = rest.is_empty()
                    || rest
                        .strip_prefix('T')
                        .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | 'Z')));
                if !rest_ok {
                    return Err(invalid());
                }
                format!("{}T00:00:00Z", crate::domain::parse_date(day).map_err(|_| invalid())?)
            }
            EdmType::TimeOfDay => {
                let format = time::macros::format_description!("[hour]:[minute]:[second]");
                let t = time::Time::parse(raw, &format).map_err(|_| invalid())?;
                format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
            }
            EdmType::Enum(name) => {
                let member_ok = raw.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !member_ok {
                    return Err(invalid());
                }
                format!("{NAMESPACE}.{name}{}", quote(raw))
            }
        };
        Ok(Literal::formatted(text))
    }
}

/// Entity sets the client reads, by the entity type they share.
const BP: &[&str] = &["BusinessPartners"];
const ITEMS: &[&str] = &["Items"];
const BP_AND_ITEMS: &[&str] = &["BusinessPartners", "Items"];
// Drafts are `Document`s too (F1 finds an order saved as a draft under an approval procedure).
const DOCUMENTS: &[&str] = &["Quotations", "Orders", "DeliveryNotes", "Invoices", "CreditNotes", "Drafts"];
const QUOTATIONS: &[&str] = &["Quotations"];
const DOCUMENTS_AND_PAYMENTS: &[&str] = &["Orders", "DeliveryNotes", "Invoices", "CreditNotes", "IncomingPayments"];
const STAMPED: &[&str] =
    &["BusinessPartners", "Items", "Quotations", "Orders", "DeliveryNotes", "Invoices", "CreditNotes"];
const WITH_CARD_CODE: &[&str] =
    &["BusinessPartners", "Orders", "DeliveryNotes", "Invoices", "CreditNotes", "IncomingPayments"];
const USER_FIELDS: &[&str] = &["UserFieldsMD"];
const WITH_CARD_NAME: &[&str] = &["BusinessPartners", "Orders", "DeliveryNotes", "Invoices", "CreditNotes"];

/// Every property the client compares in a `$filter`: name, type, and the entity sets that have it (the
/// type is the same in each). `U_` user fields are not listed: see [`property_type`].
pub const PROPERTY_TYPES: &[(&str, EdmType, &[&str])] = &[
    ("CardCode", EdmType::String, WITH_CARD_CODE),
    ("CardName", EdmType::String, WITH_CARD_NAME),
    ("ItemCode", EdmType::String, ITEMS),
    ("QuantityOnStock", EdmType::Double, ITEMS),
    ("DocEntry", EdmType::Int32, DOCUMENTS_AND_PAYMENTS),
    ("UpdateDate", EdmType::DateTimeOffset, STAMPED),
    ("UpdateTime", EdmType::TimeOfDay, STAMPED),
    ("DocDate", EdmType::DateTimeOffset, DOCUMENTS_AND_PAYMENTS),
    ("DocDueDate", EdmType::DateTimeOffset, DOCUMENTS),
    ("NumAtCard", EdmType::String, DOCUMENTS),
    ("DocumentStatus", EdmType::Enum("BoStatus"), DOCUMENTS),
    ("Cancelled", EdmType::Enum("BoYesNoEnum"), DOCUMENTS_AND_PAYMENTS),
    // What a mapping's `sap_filter` may name (#16 item 6).
    ("CardType", EdmType::Enum("BoCardTypes"), BP),
    ("Currency", EdmType::String, BP),
    ("Valid", EdmType::Enum("BoYesNoEnum"), BP_AND_ITEMS),
    ("Frozen", EdmType::Enum("BoYesNoEnum"), BP_AND_ITEMS),
    ("SalesItem", EdmType::Enum("BoYesNoEnum"), ITEMS),
    ("PurchaseItem", EdmType::Enum("BoYesNoEnum"), ITEMS),
    ("InventoryItem", EdmType::Enum("BoYesNoEnum"), ITEMS),
    ("TableName", EdmType::String, USER_FIELDS),
    ("Name", EdmType::String, USER_FIELDS),
];

/// The user fields B1Force filters on, with the entity sets that carry them; the setup creates every
/// one as `db_Alpha`, which `$metadata` declares `Edm.String`.
pub const USER_FIELD_TYPES: &[(&str, EdmType, &[&str])] = &[
    ("U_SF_OpportunityId", EdmType::String, DOCUMENTS),
    ("U_SF_AccountId", EdmType::String, BP),
    ("U_SF_QuoteId", EdmType::String, QUOTATIONS),
];

/// The type of a property the client filters on. A `U_` user field configured by name is `Edm.String`:
/// the B1Force setup creates alphanumeric fields only. Anything else is refused, so a new filter
/// cannot go out with a literal form nobody checked against `$metadata`.
pub fn property_type(property: &Property) -> Result<EdmType> {
    let name = property.as_str();
    PROPERTY_TYPES
        .iter()
        .chain(USER_FIELD_TYPES)
        .find(|(p, _, _)| *p == name)
        .map(|(_, t, _)| *t)
        .or_else(|| name.starts_with("U_").then_some(EdmType::String))
        .ok_or_else(|| {
            Error::Invalid(format!("{name} is not in the client's property type table (shared/src/sap/schema.rs)"))
        })
}

/// The literal for comparing `property` with `raw`, formatted from the property's type.
pub fn literal(property: &Property, raw: &str) -> Result<Literal> {
    property_type(property)?.literal(raw)
}

/// The value of `attribute="..."` in one XML element's text.
fn attribute<'a>(element: &'a str, attribute: &str) -> Option<&'a str> {
    let start = element.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    element[start..].split('"').next()
}

/// The `Type` a CSDL `$metadata` document declares for `property` of the entity type behind
/// `entity_set` (`None`: the set or the property is not declared).
pub fn declared_type<'a>(xml: &'a str, entity_set: &str, property: &str) -> Option<&'a str> {
    let set = xml.split("<EntitySet ").skip(1).find(|e| attribute(e, "Name") == Some(entity_set))?;
    let entity_type = attribute(set, "EntityType")?;
    let entity_type = entity_type.rsplit('.').next().unwrap_or(entity_type);
    let body = xml.split("<EntityType ").skip(1).find(|e| attribute(e, "Name") == Some(entity_type))?;
    let body = body.split("</EntityType>").next().unwrap_or(body);
    body.split("<Property ").skip(1).find(|p| attribute(p, "Name") == Some(property)).and_then(|p| attribute(p, "Type"))
}

/// Where a server's `$metadata` disagrees with [`PROPERTY_TYPES`]: the literals the client writes
/// for these properties would be judged by another type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub entity_set: &'static str,
    pub property: &'static str,
    pub client: String,
    /// `None`: not declared at all.
    pub server: Option<String>,
}

/// Every property the client filters on, checked against a `$metadata` document.
pub fn disagreements(xml: &str) -> Vec<Disagreement> {
    let mut found = Vec::new();
    for (property, edm, sets) in PROPERTY_TYPES {
        for set in *sets {
            let server = declared_type(xml, set, property);
            if server != Some(edm.type_name().as_str()) {
                found.push(Disagreement {
                    entity_set: set,
                    property,
                    client: edm.type_name(),
                    server: server.map(str::to_string),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(property: &'static str, raw: &str) -> Result<String> {
        literal(&Property::from(property), raw).map(|l| l.as_str().to_string())
    }

    #[test]
    fn each_type_has_its_odata_v4_literal_form() {
        assert_eq!(lit("UpdateDate", "2026-11-20T00:00:00Z").unwrap(), "2026-11-20T00:00:00Z");
        assert_eq!(lit("DocDate", "2026-11-20").unwrap(), "2026-11-20T00:00:00Z");
        assert_eq!(lit("UpdateTime", "10:30:00").unwrap(), "10:30:00");
        assert_eq!(lit("DocEntry", "42").unwrap(), "42");
        assert_eq!(lit("QuantityOnStock", "100").unwrap(), "100");
        assert_eq!(lit("CardCode", "O'B").unwrap(), "'O''B'");
        assert_eq!(lit("DocumentStatus", "bost_Open").unwrap(), "SAPB1.BoStatus'bost_Open'");
        assert_eq!(lit("Cancelled", "tNO").unwrap(), "SAPB1.BoYesNoEnum'tNO'");
        assert_eq!(lit("U_SF_OpportunityId", "006x").unwrap(), "'006x'");
        assert_eq!(lit("U_Custom", "x").unwrap(), "'x'");
    }

    #[test]
    fn values_that_are_not_of_the_type_and_unlisted_properties_are_refused() {
        for (property, raw) in [
            ("UpdateDate", "2026-13-01"),
            ("UpdateDate", "2026-11-20') or (1 eq 1"),
            ("UpdateTime", "25:00:00"),
            ("UpdateTime", "10:30"),
            ("DocEntry", "42 or 1 eq 1"),
            ("DocEntry", "9999999999"),
            ("DocumentStatus", "bost_Open' or 'a"),
            ("DocumentStatus", ""),
        ] {
            assert!(lit(property, raw).is_err(), "{property} {raw}");
        }
        let err = literal(&Property::from("DocTotal"), "1").unwrap_err().to_string();
        assert!(err.contains("property type table"), "{err}");
    }
}
