//! `GET /b1s/v2/$metadata` and the `$filter` type check built on it (pure).
//!
//! The types are SAP's v2 (OData v4) types: dates are `Edm.DateTimeOffset` and times `Edm.TimeOfDay` in
//! v2 (`Edm.DateTime`/`Edm.Time` in v1), enumerations are `EnumType`s of the `SAPB1` namespace with
//! `UnderlyingType="Edm.Int32"` and valued members, standard fields carry no `MaxLength` [S: a plugin's
//! notes on the `$metadata` of a real FP 2608 server, v1 and v2; V: REF 1.27 entity and enum names;
//! V: SAP "OData Client for Service Layer" guide 1.0 (2021), which generates its client from this document].
//! Only the entity types and properties the sandbox serves are declared; a real document is ~1.9 MB.
//!
//! The check: every comparison of a property with a literal must use the literal form OData v4 gives
//! the property's type (OData v4.01 Part 2 URL Conventions, ABNF `primitiveLiteral`), the form SAP's
//! guide shows for enumerations (`PurchaseItem eq SAPB1.BoYesNoEnum'tYES'`). Forms that real servers
//! may or may not take (a bare date or a quoted date for an `Edm.DateTimeOffset`, a quoted time, a quoted
//! enum member name) are refused: where the real behaviour is uncertain the sandbox takes the strict side.

use super::entities::EntitySet;
use super::odata_filter::{DateForm, Expr, Literal, Operand};
use std::fmt::Write;

/// The namespace of every SAP type.
pub const NAMESPACE: &str = "SAPB1";

/// The type of a property as `$metadata` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edm {
    String,
    Int32,
    Double,
    DateTimeOffset,
    TimeOfDay,
    /// An `EnumType` of the `SAPB1` namespace, by its unqualified name.
    Enum(&'static str),
    /// A collection of a `SAPB1` complex type (`BPAddresses`, `DocumentLines`, ...).
    Collection(&'static str),
}

impl Edm {
    /// The `Type` attribute, e.g. `Edm.String`, `SAPB1.BoStatus`, `Collection(SAPB1.DocumentLine)`.
    pub fn type_name(self) -> String {
        match self {
            Edm::String => "Edm.String".into(),
            Edm::Int32 => "Edm.Int32".into(),
            Edm::Double => "Edm.Double".into(),
            Edm::DateTimeOffset => "Edm.DateTimeOffset".into(),
            Edm::TimeOfDay => "Edm.TimeOfDay".into(),
            Edm::Enum(name) => format!("{NAMESPACE}.{name}"),
            Edm::Collection(name) => format!("Collection({NAMESPACE}.{name})"),
        }
    }
}

use Edm::{Collection, DateTimeOffset as Dto, Double, Enum, Int32, String as Text, TimeOfDay as Tod};

type Properties = &'static [(&'static str, Edm)];

const YES_NO: Edm = Enum("BoYesNoEnum");

const BUSINESS_PARTNER: Properties = &[
    ("CardCode", Text),
    ("CardName", Text),
    ("CardType", Enum("BoCardTypes")),
    ("GroupCode", Int32),
    ("Currency", Text),
    ("CreditLimit", Double),
    ("MaxCommitment", Double),
    ("CurrentAccountBalance", Double),
    ("OpenOrdersBalance", Double),
    ("OpenDeliveryNotesBalance", Double),
    ("PriceListNum", Int32),
    ("PayTermsGrpCode", Int32),
    ("EmailAddress", Text),
    ("Phone1", Text),
    ("Phone2", Text),
    ("Cellular", Text),
    ("Fax", Text),
    ("Website", Text),
    ("FederalTaxID", Text),
    ("Valid", YES_NO),
    ("Frozen", YES_NO),
    ("FrozenRemarks", Text),
    ("BilltoDefault", Text),
    ("ShipToDefault", Text),
    ("BPAddresses", Collection("BPAddress")),
    ("ContactEmployees", Collection("ContactEmployee")),
    ("CreateDate", Dto),
    ("CreateTime", Tod),
    ("UpdateDate", Dto),
    ("UpdateTime", Tod),
    ("DataVersion", Int32),
    ("U_SF_AccountId", Text),
];

const ITEM: Properties = &[
    ("ItemCode", Text),
    ("ItemName", Text),
    ("ForeignName", Text),
    ("ItemType", Enum("ItemTypeEnum")),
    ("ItemsGroupCode", Int32),
    ("InventoryItem", YES_NO),
    ("SalesItem", YES_NO),
    ("PurchaseItem", YES_NO),
    ("Valid", YES_NO),
    ("Frozen", YES_NO),
    ("BarCode", Text),
    ("SalesUnit", Text),
    ("UoMGroupEntry", Int32),
    ("DefaultWarehouse", Text),
    ("QuantityOnStock", Double),
    ("QuantityOrderedFromVendors", Double),
    ("QuantityOrderedByCustomers", Double),
    ("ItemPrices", Collection("ItemPrice")),
    ("ItemWarehouseInfoCollection", Collection("ItemWarehouseInfo")),
    ("CreateDate", Dto),
    ("CreateTime", Tod),
    ("UpdateDate", Dto),
    ("UpdateTime", Tod),
    ("DataVersion", Int32),
];

const PRICE_LIST: Properties = &[
    ("PriceListNo", Int32),
    ("PriceListName", Text),
    ("BasePriceList", Int32),
    ("Factor", Double),
    ("IsGrossPrice", YES_NO),
    ("Active", YES_NO),
    ("ValidFrom", Dto),
    ("ValidTo", Dto),
    ("DefaultPrimeCurrency", Text),
    ("DefaultAdditionalCurrency1", Text),
    ("DefaultAdditionalCurrency2", Text),
    ("RoundingMethod", Enum("BoRoundingMethod")),
    ("GroupNum", Enum("BoPriceListGroupNum")),
];

const DOCUMENT: Properties = &[
    ("DocEntry", Int32),
    ("DocNum", Int32),
    ("DocType", Enum("BoDocumentTypes")),
    ("DocObjectCode", Enum("BoObjectTypes")),
    ("Series", Int32),
    ("CardCode", Text),
    ("CardName", Text),
    ("DocDate", Dto),
    ("DocDueDate", Dto),
    ("TaxDate", Dto),
    ("NumAtCard", Text),
    ("DocTotal", Double),
    ("DocTotalFc", Double),
    ("VatSum", Double),
    ("VatSumFc", Double),
    ("PaidToDate", Double),
    ("DocCurrency", Text),
    ("DocRate", Double),
    ("DiscountPercent", Double),
    ("Comments", Text),
    ("SalesPersonCode", Int32),
    ("ContactPersonCode", Int32),
    ("ShipToCode", Text),
    ("PayToCode", Text),
    ("DocumentStatus", Enum("BoStatus")),
    ("Cancelled", YES_NO),
    ("CancelStatus", Enum("CancelStatusEnum")),
    ("AuthorizationStatus", Enum("DocumentAuthorizationStatusEnum")),
    ("CreationDate", Dto),
    ("DocTime", Tod),
    ("UpdateDate", Dto),
    ("UpdateTime", Tod),
    ("DataVersion", Int32),
    ("U_SF_OpportunityId", Text),
    ("U_SF_QuoteId", Text),
    ("DocumentLines", Collection("DocumentLine")),
];

/// Payments carry no UpdateDate/UpdateTime (reference §3).
const PAYMENT: Properties = &[
    ("DocEntry", Int32),
    ("DocNum", Int32),
    ("DocType", Enum("BoRcptTypes")),
    ("CardCode", Text),
    ("CardName", Text),
    ("DocDate", Dto),
    ("DocCurrency", Text),
    ("TaxDate", Dto),
    ("DueDate", Dto),
    ("Remarks", Text),
    ("JournalRemarks", Text),
    ("Cancelled", YES_NO),
    ("CancelStatus", Enum("CancelStatusEnum")),
    ("DocObjectCode", Enum("BoPaymentsObjectType")),
    ("CashSum", Double),
    ("CashAccount", Text),
    ("TransferSum", Double),
    ("TransferAccount", Text),
    ("TransferDate", Dto),
    ("TransferReference", Text),
    ("PaymentChecks", Collection("PaymentCheck")),
    ("PaymentCreditCards", Collection("PaymentCreditCard")),
    ("PaymentInvoices", Collection("PaymentInvoice")),
    ("CashFlowAssignments", Collection("CashFlowAssignment")),
];

/// `UserFieldsMD` rows (entity type `UserFieldMD`, key TableName + FieldID).
pub const USER_FIELD: Properties = &[
    ("Name", Text),
    ("Type", Enum("BoFieldTypes")),
    ("Size", Int32),
    ("Description", Text),
    ("SubType", Enum("BoFldSubTypes")),
    ("LinkedTable", Text),
    ("DefaultValue", Text),
    ("TableName", Text),
    ("FieldID", Int32),
    ("EditSize", Int32),
    ("Mandatory", YES_NO),
    ("LinkedUDO", Text),
    ("LinkedSystemObject", Text),
    ("ValidValuesMD", Collection("ValidValueMD")),
];

/// The complex types of the collection properties, with the members the sandbox keeps.
const COMPLEX_TYPES: &[(&str, Properties)] = &[
    (
        "ContactEmployee",
        &[
            ("InternalCode", Int32),
            ("CardCode", Text),
            ("Name", Text),
            ("FirstName", Text),
            ("MiddleName", Text),
            ("LastName", Text),
            ("Title", Text),
            ("Position", Text),
            ("Phone1", Text),
            ("Phone2", Text),
            ("MobilePhone", Text),
            ("Fax", Text),
            ("E_Mail", Text),
            ("Active", YES_NO),
            ("Remarks1", Text),
            ("CreateDate", Dto),
            ("CreateTime", Tod),
            ("UpdateDate", Dto),
            ("UpdateTime", Tod),
            ("U_SF_ContactId", Text),
        ],
    ),
    (
        "BPAddress",
        &[
            ("AddressName", Text),
            ("AddressName2", Text),
            ("AddressType", Enum("BoAddressType")),
            ("Street", Text),
            ("StreetNo", Text),
            ("Block", Text),
            ("ZipCode", Text),
            ("City", Text),
            ("County", Text),
            ("State", Text),
            ("Country", Text),
            ("BuildingFloorRoom", Text),
            ("BPCode", Text),
            ("RowNum", Int32),
            ("CreateDate", Dto),
            ("CreateTime", Tod),
        ],
    ),
    ("ItemPrice", &[("PriceList", Int32), ("Price", Double), ("Currency", Text)]),
    ("ItemWarehouseInfo", &[("WarehouseCode", Text), ("InStock", Double), ("Committed", Double), ("Ordered", Double)]),
    (
        "DocumentLine",
        &[
            ("LineNum", Int32),
            ("ItemCode", Text),
            ("ItemDescription", Text),
            ("Quantity", Double),
            ("UnitPrice", Double),
            ("Price", Double),
            ("DiscountPercent", Double),
            ("LineTotal", Double),
            ("RowTotalFC", Double),
            ("Currency", Text),
            ("TaxCode", Text),
            ("WarehouseCode", Text),
            ("UoMCode", Text),
            ("InventoryQuantity", Double),
            ("LineStatus", Enum("BoStatus")),
            ("RemainingOpenQuantity", Double),
            ("OpenAmount", Double),
            ("ShipDate", Dto),
            ("BaseType", Int32),
            ("BaseEntry", Int32),
            ("BaseLine", Int32),
        ],
    ),
    ("PaymentCheck", &[("LineNum", Int32), ("CheckSum", Double), ("DueDate", Dto)]),
    ("PaymentCreditCard", &[("LineNum", Int32), ("CreditSum", Double)]),
    (
        "PaymentInvoice",
        &[
            ("LineNum", Int32),
            ("DocEntry", Int32),
            ("DocNum", Int32),
            ("SumApplied", Double),
            ("AppliedFC", Double),
            ("InvoiceType", Enum("BoRcptInvTypes")),
            ("DocLine", Int32),
            ("InstallmentId", Int32),
        ],
    ),
    ("CashFlowAssignment", &[("CashFlowAssignmentsID", Int32), ("AmountLC", Double)]),
    ("ValidValueMD", &[("Value", Text), ("Description", Text)]),
];

/// Enumerations and their members, valued in declaration order as SAP's v2 document values them [V: REF
/// 1.27 member names; values S].
const ENUM_TYPES: &[(&str, &[&str])] = &[
    ("BoYesNoEnum", &["tNO", "tYES"]),
    ("BoStatus", &["bost_Open", "bost_Close", "bost_Paid", "bost_Delivered"]),
    ("BoCardTypes", &["cCustomer", "cSupplier", "cLid"]),
    ("ItemTypeEnum", &["itItems", "itLabor", "itTravel", "itFixedAssets"]),
    ("BoRoundingMethod", &["borm_NoRounding", "borm_Ending", "borm_Integer", "borm_Tens"]),
    ("BoPriceListGroupNum", &["boplgn_Group1", "boplgn_Group2", "boplgn_Group3", "boplgn_Group4"]),
    ("BoDocumentTypes", &["dDocument_Items", "dDocument_Service"]),
    (
        "BoObjectTypes",
        &[
            "oBusinessPartners",
            "oItems",
            "oInvoices",
            "oCreditNotes",
            "oDeliveryNotes",
            "oOrders",
            "oIncomingPayments",
            "oQuotations",
        ],
    ),
    ("CancelStatusEnum", &["csYes", "csNo", "csCancellation"]),
    (
        "DocumentAuthorizationStatusEnum",
        &[
            "dasWithout",
            "dasPending",
            "dasApproved",
            "dasRejected",
            "dasGenerated",
            "dasGeneratedbyAuthorizer",
            "dasCancelled",
        ],
    ),
    ("BoRcptTypes", &["rCustomer", "rAccount", "rSupplier"]),
    ("BoPaymentsObjectType", &["bopot_IncomingPayments", "bopot_OutgoingPayments"]),
    ("BoAddressType", &["bo_ShipTo", "bo_BillTo"]),
    ("BoRcptInvTypes", &["it_Invoice", "it_CredItnote", "it_PaymentAdvice"]),
    ("BoFieldTypes", &["db_Alpha", "db_Memo", "db_Numeric", "db_Date", "db_Float"]),
    ("BoFldSubTypes", &["st_None", "st_Address", "st_Phone", "st_Time", "st_Rate", "st_Sum", "st_Price"]),
];

/// The entity type of a set: its name and properties.
fn entity_type(set: EntitySet) -> (&'static str, Properties) {
    let properties = match set {
        EntitySet::BusinessPartners => BUSINESS_PARTNER,
        EntitySet::Items => ITEM,
        EntitySet::PriceLists => PRICE_LIST,
        EntitySet::IncomingPayments => PAYMENT,
        _ => DOCUMENT,
    };
    (set.type_name(), properties)
}

/// The declared type of a property of `properties`.
pub fn lookup(properties: Properties, name: &str) -> Option<Edm> {
    properties.iter().find(|(p, _)| *p == name).map(|(_, t)| *t)
}

/// The declared type of a property of an entity set.
pub fn property_type(set: EntitySet, name: &str) -> Option<Edm> {
    lookup(entity_type(set).1, name)
}

/// Types a company declares differently from SAP's reference (a test stands in for a server whose
/// `$metadata` disagrees with the client's table): entity type name and property → type.
pub type Redeclared = std::collections::HashMap<(String, String), Edm>;

/// [`property_type`], with `redeclared` winning.
pub fn declared_type(set: EntitySet, name: &str, redeclared: &Redeclared) -> Option<Edm> {
    redeclared.get(&(set.type_name().to_string(), name.to_string())).copied().or_else(|| property_type(set, name))
}

/// Parses a scalar `Type` attribute (`Edm.String`, `Edm.TimeOfDay`, ...); enums and collections are not redeclared.
pub fn scalar(type_name: &str) -> Option<Edm> {
    [Edm::String, Edm::Int32, Edm::Double, Edm::DateTimeOffset, Edm::TimeOfDay]
        .into_iter()
        .find(|edm| edm.type_name() == type_name)
}

fn members(enum_type: &str) -> &'static [&'static str] {
    ENUM_TYPES.iter().find(|(name, _)| *name == enum_type).map_or(&[], |(_, m)| *m)
}

/// The CSDL document: entity types (with `redeclared` types), complex types, enum types and the container.
pub fn document_with(redeclared: &Redeclared) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n\
         <edmx:DataServices>\n<Schema Namespace=\"SAPB1\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    let property = |xml: &mut String, (name, edm): &(&str, Edm)| {
        let _ = writeln!(xml, "<Property Name=\"{name}\" Type=\"{}\"/>", edm.type_name());
    };
    let mut seen = Vec::new();
    for set in super::entities::ALL {
        let (name, properties) = entity_type(set);
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let _ = writeln!(xml, "<EntityType Name=\"{name}\">\n<Key><PropertyRef Name=\"{}\"/></Key>", set.key_field());
        for (property_name, edm) in properties.iter() {
            let edm = redeclared.get(&(name.to_string(), property_name.to_string())).unwrap_or(edm);
            property(&mut xml, &(*property_name, *edm));
        }
        xml.push_str("</EntityType>\n");
    }
    xml.push_str(
        "<EntityType Name=\"UserFieldMD\">\n<Key><PropertyRef Name=\"TableName\"/><PropertyRef Name=\"FieldID\"/></Key>\n",
    );
    USER_FIELD.iter().for_each(|p| property(&mut xml, p));
    xml.push_str("</EntityType>\n");
    for (name, properties) in COMPLEX_TYPES {
        let _ = writeln!(xml, "<ComplexType Name=\"{name}\">");
        properties.iter().for_each(|p| property(&mut xml, p));
        xml.push_str("</ComplexType>\n");
    }
    for (name, members) in ENUM_TYPES {
        let _ = writeln!(xml, "<EnumType IsFlags=\"false\" Name=\"{name}\" UnderlyingType=\"Edm.Int32\">");
        for (value, member) in members.iter().enumerate() {
            let _ = writeln!(xml, "<Member Name=\"{member}\" Value=\"{value}\"/>");
        }
        xml.push_str("</EnumType>\n");
    }
    xml.push_str("<EntityContainer Name=\"ServiceLayer\">\n");
    for set in super::entities::ALL {
        let _ = writeln!(xml, "<EntitySet Name=\"{}\" EntityType=\"SAPB1.{}\"/>", set.name(), set.type_name());
    }
    xml.push_str("<EntitySet Name=\"UserFieldsMD\" EntityType=\"SAPB1.UserFieldMD\"/>\n");
    xml.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    xml
}

/// Checks every property-literal comparison of `filter` against the declared types; the message names
/// the property, its type and the literal form expected.
pub fn check(filter: &Expr, types: &dyn Fn(&str) -> Option<Edm>) -> Result<(), String> {
    match filter {
        Expr::Or(terms) | Expr::And(terms) => terms.iter().try_for_each(|t| check(t, types)),
        Expr::Not(inner) => check(inner, types),
        Expr::Compare(_, a, b) => match (a, b) {
            (Operand::Property(p), Operand::Literal(l)) | (Operand::Literal(l), Operand::Property(p)) => {
                compatible(p, types(p), l)
            }
            _ => Ok(()),
        },
        Expr::Call(_, haystack, needle) => [haystack, needle].into_iter().try_for_each(|operand| match operand {
            Operand::Property(p) if types(p) != Some(Edm::String) => {
                Err(format!("Property '{p}' is not of type Edm.String and cannot be used in a string function"))
            }
            Operand::Literal(l) if !matches!(l, Literal::Text(_)) => {
                Err("A string function takes a quoted string literal".to_string())
            }
            _ => Ok(()),
        }),
    }
}

fn compatible(property: &str, edm: Option<Edm>, literal: &Literal) -> Result<(), String> {
    let Some(edm) = edm else {
        return Err(format!("Property '{property}' is invalid in $filter"));
    };
    let fits = match (edm, literal) {
        (Edm::Collection(_), _) => false,
        (_, Literal::Null) => true,
        (Edm::String, Literal::Text(_)) => true,
        (Edm::Int32, Literal::Number(n)) => n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX),
        (Edm::Double, Literal::Number(_)) => true,
        (Edm::DateTimeOffset, Literal::Date(_, DateForm::Offset)) => true,
        (Edm::TimeOfDay, Literal::Time(_)) => true,
        (Edm::Enum(name), Literal::Enum(type_name, member)) => {
            let qualified = type_name.strip_prefix(NAMESPACE).and_then(|t| t.strip_prefix('.'));
            if qualified != Some(name) {
                return Err(format!(
                    "Enum literal of type '{type_name}' does not match property '{property}' of type {}",
                    edm.type_name()
                ));
            }
            if !members(name).contains(&member.as_str()) {
                return Err(format!("'{member}' is not a member of {}", edm.type_name()));
            }
            true
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "The types of property '{property}' ({}) and literal {} are incompatible; expected {}",
            edm.type_name(),
            literal.describe(),
            expected_form(edm)
        ))
    }
}

/// The literal form OData v4 gives a type, for error texts.
fn expected_form(edm: Edm) -> String {
    match edm {
        Edm::String => "a quoted string such as 'C20000'".into(),
        Edm::Int32 => "an integer such as 42".into(),
        Edm::Double => "a number such as 1.5".into(),
        Edm::DateTimeOffset => "an unquoted date-time such as 2026-11-20T00:00:00Z".into(),
        Edm::TimeOfDay => "an unquoted time such as 10:30:00".into(),
        Edm::Enum(name) => format!("{NAMESPACE}.{name}'{}'", members(name).first().copied().unwrap_or("member")),
        Edm::Collection(_) => "no comparison (a collection)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sap::entities::ALL;
    use crate::sap::odata_filter::parse;

    fn checked(set: EntitySet, filter: &str) -> Result<(), String> {
        check(&parse(filter).unwrap(), &|p| property_type(set, p))
    }

    #[test]
    fn every_property_the_sandbox_serves_is_declared_and_every_declared_type_exists() {
        for set in ALL {
            for (name, _) in entity_type(set).1 {
                assert!(set.has_field(name), "{} declares {name} but does not serve it", set.name());
            }
        }
        let xml = document_with(&Redeclared::new());
        for (name, _) in ENUM_TYPES.iter().map(|(n, m)| (*n, m)) {
            assert!(xml.contains(&format!("Name=\"{name}\" UnderlyingType")), "{name}");
        }
        let referenced = |edm: &Edm| match edm {
            Edm::Enum(n) => assert!(!members(n).is_empty(), "enum {n} undeclared"),
            Edm::Collection(n) => assert!(COMPLEX_TYPES.iter().any(|(c, _)| c == n), "complex {n} undeclared"),
            _ => {}
        };
        let all = ALL.iter().flat_map(|s| entity_type(*s).1.iter());
        all.chain(USER_FIELD).chain(COMPLEX_TYPES.iter().flat_map(|(_, p)| p.iter())).for_each(|(_, t)| referenced(t));
        assert!(xml.contains("<Property Name=\"UpdateDate\" Type=\"Edm.DateTimeOffset\"/>"));
        assert!(xml.contains("<Property Name=\"UpdateTime\" Type=\"Edm.TimeOfDay\"/>"));
        assert!(xml.contains("<EntitySet Name=\"Invoices\" EntityType=\"SAPB1.Document\"/>"));
    }

    #[test]
    fn v4_literal_forms_pass_the_type_check() {
        let bp = EntitySet::BusinessPartners;
        for ok in [
            "UpdateDate gt 2026-11-20T00:00:00Z",
            "(UpdateDate eq 2026-11-20T00:00:00Z) and (UpdateTime ge 10:30:00)",
            "UpdateTime eq null and CardCode gt 'C1'",
            "Frozen eq SAPB1.BoYesNoEnum'tYES'",
            "CreditLimit gt 5 and GroupCode eq 100 and startswith(CardName, 'A')",
        ] {
            assert_eq!(checked(bp, ok), Ok(()), "{ok}");
        }
        assert_eq!(
            checked(EntitySet::Invoices, "DocumentStatus eq SAPB1.BoStatus'bost_Open' and DocEntry gt 3"),
            Ok(())
        );
    }

    #[test]
    fn the_old_and_doubtful_literal_forms_are_refused() {
        let bp = EntitySet::BusinessPartners;
        for bad in [
            "UpdateDate gt 2026-11-20",
            "UpdateDate gt '2026-11-20'",
            "UpdateDate gt datetime'2026-11-20T00:00:00'",
            "UpdateDate gt 2026-11-20T00:00:00",
            "UpdateTime ge '10:30:00'",
            "CardCode eq 20000",
            "GroupCode eq '100'",
            "GroupCode eq 1.5",
            "Frozen eq 'tYES'",
            "Frozen eq true",
            "Frozen eq 1",
            "Frozen eq SAPB1.BoStatus'bost_Open'",
            "Frozen eq SAPB1.BoYesNoEnum'maybe'",
            "startswith(UpdateDate, '2026')",
            "ContactEmployees eq null",
        ] {
            assert!(checked(bp, bad).is_err(), "{bad} should be refused");
        }
        let invoices = EntitySet::Invoices;
        for bad in ["DocumentStatus eq 'bost_Open'", "Cancelled eq 'tNO'", "DocDate ge 2026-11-01", "DocEntry eq '42'"]
        {
            assert!(checked(invoices, bad).is_err(), "{bad} should be refused");
        }
        let message = checked(bp, "UpdateTime ge '10:30:00'").unwrap_err();
        assert!(message.contains("Edm.TimeOfDay") && message.contains("10:30:00"), "{message}");
    }
}
