//! Entity sets, their keys and properties, error answers and ETags (pure).

use serde_json::{Value, json};
use sha1::Digest;
use std::cmp::Ordering;

/// An SAP error answer: HTTP status plus the v2 body's code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct SapError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl SapError {
    /// Builds an error answer.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_string(), message: message.into() }
    }

    /// `404 -2028`, the answer for an unknown key.
    pub fn not_found() -> Self {
        Self::new(404, "-2028", "No matching records found (ODBC -2028)")
    }

    /// `400 -5006`, the answer for an operation the object does not support.
    pub fn not_supported() -> Self {
        Self::new(400, "-5006", "The requested action is not supported for this object")
    }

    /// `400 -1000` for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "-1000", message)
    }

    /// The v2 error body.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

/// The entity sets the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntitySet {
    BusinessPartners,
    Items,
    PriceLists,
    /// Sales quotations (type `Document`, object 23): copied into sales orders as their base.
    Quotations,
    Orders,
    DeliveryNotes,
    Invoices,
    CreditNotes,
    IncomingPayments,
    /// Documents awaiting approval (type `Document`; `DocObjectCode` names the target, e.g. oOrders).
    Drafts,
}

/// Every set, for lookups by name.
pub const ALL: [EntitySet; 10] = [
    EntitySet::BusinessPartners,
    EntitySet::Items,
    EntitySet::PriceLists,
    EntitySet::Quotations,
    EntitySet::Orders,
    EntitySet::DeliveryNotes,
    EntitySet::Invoices,
    EntitySet::CreditNotes,
    EntitySet::IncomingPayments,
    EntitySet::Drafts,
];

/// The marketing documents (entity type `Document`).
pub const DOCUMENT_SETS: [EntitySet; 5] =
    [EntitySet::Quotations, EntitySet::Orders, EntitySet::DeliveryNotes, EntitySet::Invoices, EntitySet::CreditNotes];

const BP_FIELDS: &[&str] = &[
    "CardCode",
    "CardName",
    "CardType",
    "GroupCode",
    "Currency",
    "CreditLimit",
    "MaxCommitment",
    "CurrentAccountBalance",
    "OpenOrdersBalance",
    "OpenDeliveryNotesBalance",
    "PriceListNum",
    "PayTermsGrpCode",
    "EmailAddress",
    "Phone1",
    "Phone2",
    "Cellular",
    "Fax",
    "Website",
    "FederalTaxID",
    "Valid",
    "Frozen",
    "FrozenRemarks",
    "BilltoDefault",
    "ShipToDefault",
    "BPAddresses",
    "ContactEmployees",
    "CreateDate",
    "CreateTime",
    "UpdateDate",
    "UpdateTime",
    "DataVersion",
    "U_SF_AccountId",
];

/// Properties of one `ContactEmployees` member.
pub const CONTACT_FIELDS: &[&str] = &[
    "InternalCode",
    "CardCode",
    "Name",
    "FirstName",
    "MiddleName",
    "LastName",
    "Title",
    "Position",
    "Phone1",
    "Phone2",
    "MobilePhone",
    "Fax",
    "E_Mail",
    "Active",
    "Remarks1",
    "CreateDate",
    "CreateTime",
    "UpdateDate",
    "UpdateTime",
    "U_SF_ContactId",
];

/// Properties of one `BPAddresses` member.
pub const ADDRESS_FIELDS: &[&str] = &[
    "AddressName",
    "AddressName2",
    "AddressType",
    "Street",
    "StreetNo",
    "Block",
    "ZipCode",
    "City",
    "County",
    "State",
    "Country",
    "BuildingFloorRoom",
    "BPCode",
    "RowNum",
    "CreateDate",
    "CreateTime",
];

const ITEM_FIELDS: &[&str] = &[
    "ItemCode",
    "ItemName",
    "ForeignName",
    "ItemType",
    "ItemsGroupCode",
    "InventoryItem",
    "SalesItem",
    "PurchaseItem",
    "Valid",
    "Frozen",
    "BarCode",
    "SalesUnit",
    "UoMGroupEntry",
    "DefaultWarehouse",
    "QuantityOnStock",
    "QuantityOrderedFromVendors",
    "QuantityOrderedByCustomers",
    "ItemPrices",
    "ItemWarehouseInfoCollection",
    "CreateDate",
    "CreateTime",
    "UpdateDate",
    "UpdateTime",
    "DataVersion",
];

const PRICE_LIST_FIELDS: &[&str] = &[
    "PriceListNo",
    "PriceListName",
    "BasePriceList",
    "Factor",
    "IsGrossPrice",
    "Active",
    "ValidFrom",
    "ValidTo",
    "DefaultPrimeCurrency",
    "DefaultAdditionalCurrency1",
    "DefaultAdditionalCurrency2",
    "RoundingMethod",
    "GroupNum",
];

const DOCUMENT_FIELDS: &[&str] = &[
    "DocEntry",
    "DocNum",
    "DocType",
    "DocObjectCode",
    "Series",
    "CardCode",
    "CardName",
    "DocDate",
    "DocDueDate",
    "TaxDate",
    "NumAtCard",
    "DocTotal",
    "DocTotalFc",
    "VatSum",
    "VatSumFc",
    "PaidToDate",
    "DocCurrency",
    "DocRate",
    "DiscountPercent",
    "Comments",
    "SalesPersonCode",
    "ContactPersonCode",
    "ShipToCode",
    "PayToCode",
    "DocumentStatus",
    "Cancelled",
    "CancelStatus",
    "AuthorizationStatus",
    "CreationDate",
    "DocTime",
    "UpdateDate",
    "UpdateTime",
    "DataVersion",
    "U_SF_OpportunityId",
    "U_SF_QuoteId",
    "DocumentLines",
];

/// Properties of one `DocumentLines` member.
pub const LINE_FIELDS: &[&str] = &[
    "LineNum",
    "ItemCode",
    "ItemDescription",
    "Quantity",
    "UnitPrice",
    "Price",
    "DiscountPercent",
    "LineTotal",
    "RowTotalFC",
    "Currency",
    "TaxCode",
    "WarehouseCode",
    "UoMCode",
    "InventoryQuantity",
    "LineStatus",
    "RemainingOpenQuantity",
    "OpenAmount",
    "ShipDate",
    "BaseType",
    "BaseEntry",
    "BaseLine",
];

/// Payments carry no UpdateDate/UpdateTime and no DataVersion (reference §3).
const PAYMENT_FIELDS: &[&str] = &[
    "DocEntry",
    "DocNum",
    "DocType",
    "CardCode",
    "CardName",
    "DocDate",
    "DocCurrency",
    "TaxDate",
    "DueDate",
    "Remarks",
    "JournalRemarks",
    "Cancelled",
    "CancelStatus",
    "DocObjectCode",
    "CashSum",
    "CashAccount",
    "TransferSum",
    "TransferAccount",
    "TransferDate",
    "TransferReference",
    "PaymentChecks",
    "PaymentCreditCards",
    "PaymentInvoices",
    "CashFlowAssignments",
];

/// Properties of one `PaymentInvoices` member.
pub const PAYMENT_INVOICE_FIELDS: &[&str] =
    &["LineNum", "DocEntry", "DocNum", "SumApplied", "AppliedFC", "InvoiceType", "DocLine", "InstallmentId"];

impl EntitySet {
    /// Looks an entity set up by its URL name.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|set| set.name() == name)
    }

    /// The URL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::BusinessPartners => "BusinessPartners",
            Self::Items => "Items",
            Self::PriceLists => "PriceLists",
            Self::Quotations => "Quotations",
            Self::Orders => "Orders",
            Self::DeliveryNotes => "DeliveryNotes",
            Self::Invoices => "Invoices",
            Self::CreditNotes => "CreditNotes",
            Self::IncomingPayments => "IncomingPayments",
            Self::Drafts => "Drafts",
        }
    }

    /// The key property.
    pub fn key_field(self) -> &'static str {
        match self {
            Self::BusinessPartners => "CardCode",
            Self::Items => "ItemCode",
            Self::PriceLists => "PriceListNo",
            _ => "DocEntry",
        }
    }

    /// True for sets keyed by an integer (documents, payments, price lists).
    pub fn has_int_key(self) -> bool {
        !matches!(self, Self::BusinessPartners | Self::Items)
    }

    /// True for Quotations, Orders, DeliveryNotes, Invoices and CreditNotes.
    pub fn is_document(self) -> bool {
        DOCUMENT_SETS.contains(&self)
    }

    /// True when rows carry `DataVersion`, hence an ETag (not payments, not price lists).
    pub fn has_etag(self) -> bool {
        self.has_field("DataVersion")
    }

    /// The entity type name used in error texts.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::BusinessPartners => "BusinessPartner",
            Self::Items => "Item",
            Self::PriceLists => "PriceList",
            Self::IncomingPayments => "Payment",
            _ => "Document",
        }
    }

    /// The B1 table name used in error texts (`Invalid BP code [ORDR.CardCode]`).
    pub fn table(self) -> &'static str {
        match self {
            Self::BusinessPartners => "OCRD",
            Self::Items => "OITM",
            Self::PriceLists => "OPLN",
            Self::Quotations => "OQUT",
            Self::Orders => "ORDR",
            Self::DeliveryNotes => "ODLN",
            Self::Invoices => "OINV",
            Self::CreditNotes => "ORIN",
            Self::IncomingPayments => "ORCT",
            Self::Drafts => "ODRF",
        }
    }

    /// The object type number used in `BaseType` (23 quotation, 17 order, 15 delivery, 13 invoice,
    /// 14 credit memo, 24 payment; reference §4).
    pub fn object_type(self) -> Option<i64> {
        match self {
            Self::Quotations => Some(23),
            Self::Orders => Some(17),
            Self::DeliveryNotes => Some(15),
            Self::Invoices => Some(13),
            Self::CreditNotes => Some(14),
            Self::IncomingPayments => Some(24),
            _ => None,
        }
    }

    /// `DocObjectCode` of the set's rows.
    pub fn object_code(self) -> &'static str {
        match self {
            Self::Quotations => "oQuotations",
            Self::Orders => "oOrders",
            Self::DeliveryNotes => "oDeliveryNotes",
            Self::Invoices => "oInvoices",
            Self::CreditNotes => "oCreditNotes",
            Self::IncomingPayments => "bopot_IncomingPayments",
            _ => "",
        }
    }

    /// The document set a `BaseType` number names.
    pub fn from_object_type(object_type: i64) -> Option<Self> {
        DOCUMENT_SETS.into_iter().find(|set| set.object_type() == Some(object_type))
    }

    /// The first DocNum of the set's numbering series.
    pub fn first_doc_num(self) -> i64 {
        match self {
            Self::Quotations => 6001,
            Self::Orders => 1001,
            Self::DeliveryNotes => 2001,
            Self::Invoices => 3001,
            Self::CreditNotes => 4001,
            Self::IncomingPayments => 5001,
            _ => 1,
        }
    }

    /// True when the entity type has this property.
    pub fn has_field(self, field: &str) -> bool {
        let fields = match self {
            Self::BusinessPartners => BP_FIELDS,
            Self::Items => ITEM_FIELDS,
            Self::PriceLists => PRICE_LIST_FIELDS,
            Self::IncomingPayments => PAYMENT_FIELDS,
            _ => DOCUMENT_FIELDS,
        };
        fields.contains(&field)
    }

    /// Parses the key part of `Set('C001')`, `Set(CardCode='C001')` or `Set(22)` (without the parentheses).
    pub fn parse_key(self, inside: &str) -> Result<Key, SapError> {
        let raw = match inside.split_once('=') {
            Some((name, value)) if name.trim() == self.key_field() => value.trim(),
            Some((name, _)) => {
                return Err(SapError::bad_request(format!("Invalid key property '{}'", name.trim())));
            }
            None => inside.trim(),
        };
        let bad_key = || SapError::bad_request(format!("Invalid key value for {}: {raw}", self.name()));
        if self.has_int_key() {
            raw.parse().map(Key::Int).map_err(|_| bad_key())
        } else {
            let quoted = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')).ok_or_else(bad_key)?;
            Ok(Key::Text(quoted.replace("''", "'")))
        }
    }

    /// The key a row carries.
    pub fn key_of(self, row: &Value) -> Key {
        match &row[self.key_field()] {
            Value::Number(n) => Key::Int(n.as_i64().unwrap_or_default()),
            other => Key::Text(other.as_str().unwrap_or_default().to_string()),
        }
    }
}

/// An entity key: integer for documents, text for master data. Text keys compare by [`collate`], so
/// `BusinessPartners('c1')` is the partner stored as `C1`, and `c1` cannot be created beside it.
#[derive(Debug, Clone)]
pub enum Key {
    Int(i64),
    Text(String),
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => collate(a, b),
            (Key::Int(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Int(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// How B1 compares text, keys included (#12 item 4). B1 on Microsoft SQL Server runs under a
/// case-insensitive collation (CardCode `c1` is `C1`); on HANA comparisons are case-sensitive unless a
/// request sends `B1S-CaseInsensitive: true` (MAN "Configuration by request"; reference §0). Where the
/// two differ the sandbox takes the side where a client's keys can collide: case-insensitive, as on
/// SQL Server, for keys, `$filter` and `$orderby` alike. Accents stay distinct (SQL Server's `_AS`).
pub fn collate(a: &str, b: &str) -> Ordering {
    a.chars().flat_map(char::to_lowercase).cmp(b.chars().flat_map(char::to_lowercase))
}

/// The form under which [`collate`] sees text as equal (for hashed indexes).
pub fn folded(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

impl Key {
    /// The key as it appears in a URL: `('C001')` or `(22)`.
    pub fn to_url_segment(&self) -> String {
        match self {
            Key::Int(n) => format!("({n})"),
            Key::Text(s) => format!("('{}')", s.replace('\'', "''")),
        }
    }
}

/// The moment of a write, as the Service Layer stamps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `2024-03-05T00:00:00Z`
    pub date: String,
    /// `13:14:45`
    pub time: String,
}

impl Stamp {
    /// A stamp from `YYYY-MM-DD` and `HH:MM:SS`.
    pub fn at(day: &str, time: &str) -> Self {
        Self { date: format!("{day}T00:00:00Z"), time: time.to_string() }
    }
}

/// `W/"<uppercase SHA-1 of the DataVersion decimal string>"`.
pub fn etag(row: &Value) -> String {
    let version = row.get("DataVersion").and_then(Value::as_i64).unwrap_or(0);
    format!("W/\"{}\"", hex::encode_upper(sha1::Sha1::digest(version.to_string().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_all_three_url_forms() {
        assert_eq!(EntitySet::BusinessPartners.parse_key("'C001'").unwrap(), Key::Text("C001".into()));
        assert_eq!(EntitySet::BusinessPartners.parse_key("CardCode='O''B'").unwrap(), Key::Text("O'B".into()));
        assert_eq!(EntitySet::Orders.parse_key("22").unwrap(), Key::Int(22));
        assert_eq!(EntitySet::Orders.parse_key("DocEntry=22").unwrap(), Key::Int(22));
        assert_eq!(EntitySet::PriceLists.parse_key("PriceListNo=2").unwrap(), Key::Int(2));
        assert!(EntitySet::Orders.parse_key("'22'").is_err());
        assert!(EntitySet::BusinessPartners.parse_key("C001").is_err());
        assert!(EntitySet::BusinessPartners.parse_key("ItemCode='C001'").is_err());
    }

    #[test]
    fn every_set_is_found_by_its_url_name_and_base_types_map_to_documents() {
        for set in ALL {
            assert_eq!(EntitySet::from_name(set.name()), Some(set));
        }
        assert_eq!(EntitySet::from_object_type(17), Some(EntitySet::Orders));
        assert_eq!(EntitySet::from_object_type(13), Some(EntitySet::Invoices));
        assert_eq!(EntitySet::from_object_type(24), None, "a payment is not a base document");
    }

    #[test]
    fn payments_have_no_timestamps_and_no_etag_but_documents_do() {
        let payments = EntitySet::IncomingPayments;
        assert!(!payments.has_field("UpdateDate") && !payments.has_field("UpdateTime") && !payments.has_etag());
        for set in DOCUMENT_SETS {
            assert!(set.has_field("CreationDate") && set.has_field("UpdateTime") && set.has_etag());
            assert!(!set.has_field("CreateDate"), "documents have CreationDate, not CreateDate");
        }
    }
}
