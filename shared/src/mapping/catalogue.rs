//! What the mapping file may name: Salesforce objects and SAP entities, their fields, types and
//! which of them can be written.
//!
//! Taken from the handbook's reference pages (SAP §4, Salesforce §6) and the sandboxes' schemas
//! (`sandbox/src/salesforce/schema.rs`, `sandbox/src/sap/entities.rs`). Where they differ the
//! reference wins; fields only the reference knows are listed too (e.g. `Account.ShippingState`,
//! SAP documents the sandbox has no seed for). `SAP_Invoice__c` is B1Force's own custom object (F6,
//! from `force-app/`); the custom fields on `Invoice` and `Order` come from the SFDX metadata too.

/// A field's type, on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Salesforce record id (the record's own `Id`).
    Id,
    /// A Salesforce lookup to the named object.
    Reference(&'static str),
    /// Free text (Salesforce Text, SAP string).
    Text,
    /// A Salesforce picklist: text whose values the org defines.
    Picklist,
    /// A decimal number.
    Number,
    /// A Salesforce currency amount.
    Currency,
    /// An SAP integer (DocEntry, InternalCode, PriceList).
    Integer,
    /// A calendar date (`YYYY-MM-DD`; SAP v2 sends `YYYY-MM-DDT00:00:00Z`).
    Date,
    /// A Salesforce date-time.
    DateTime,
    /// An SAP time of day (`HH:MM:SS`).
    Time,
    /// A Salesforce checkbox.
    Boolean,
    /// An SAP enumeration; only these names are valid (booleans are `tYES`/`tNO`).
    Enum(&'static [&'static str]),
    /// An SAP collection of child rows of the named row type.
    Collection(&'static str),
}

/// SAP's boolean: `BoYesNoEnum`.
pub const YES_NO: &[&str] = &["tYES", "tNO"];

/// Kinds compared and converted the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindClass {
    Textual,
    Numeric,
    Date,
    DateTime,
    Time,
    Boolean,
    Enum,
    Collection,
}

impl Kind {
    /// The class that decides which kinds pair without a value map.
    pub fn class(self) -> KindClass {
        match self {
            Kind::Id | Kind::Reference(_) | Kind::Text | Kind::Picklist => KindClass::Textual,
            Kind::Number | Kind::Currency | Kind::Integer => KindClass::Numeric,
            Kind::Date => KindClass::Date,
            Kind::DateTime => KindClass::DateTime,
            Kind::Time => KindClass::Time,
            Kind::Boolean => KindClass::Boolean,
            Kind::Enum(_) => KindClass::Enum,
            Kind::Collection(_) => KindClass::Collection,
        }
    }

    /// The kind a mapping file names with `kind = "..."` (for custom fields the catalogue lacks).
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "id" => Kind::Id,
            "text" => Kind::Text,
            "picklist" => Kind::Picklist,
            "number" => Kind::Number,
            "currency" => Kind::Currency,
            "integer" => Kind::Integer,
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "time" => Kind::Time,
            "boolean" => Kind::Boolean,
            "yes_no" => Kind::Enum(YES_NO),
            _ => return None,
        })
    }

    /// The names [`Kind::from_name`] accepts.
    pub const NAMES: &'static [&'static str] =
        &["id", "text", "picklist", "number", "currency", "integer", "date", "datetime", "time", "boolean", "yes_no"];

    /// How a message names this kind.
    pub fn describe(self) -> String {
        match self {
            Kind::Id => "id".into(),
            Kind::Reference(target) => format!("reference to {target}"),
            Kind::Text => "text".into(),
            Kind::Picklist => "picklist".into(),
            Kind::Number => "number".into(),
            Kind::Currency => "currency".into(),
            Kind::Integer => "integer".into(),
            Kind::Date => "date".into(),
            Kind::DateTime => "datetime".into(),
            Kind::Time => "time".into(),
            Kind::Boolean => "boolean".into(),
            Kind::Enum(values) if values == YES_NO => "tYES/tNO".into(),
            Kind::Enum(values) => format!("enum ({})", values.join(" | ")),
            Kind::Collection(row) => format!("collection of {row}"),
        }
    }
}

/// One field or property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// False for derived and system-maintained values: a write there is ignored or rejected.
    pub writable: bool,
}

/// A Salesforce object, an SAP entity set, or an SAP collection row type.
#[derive(Debug)]
pub struct Entity {
    pub name: &'static str,
    pub fields: &'static [Field],
    /// For SAP collection rows: the properties that identify a row for an in-place update.
    pub row_key: &'static [&'static str],
}

impl Entity {
    /// The field named exactly `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().chain(self.inherited()).find(|f| f.name == name)
    }

    /// A field whose name differs only in case: the likely meaning of a typo.
    pub fn field_ignoring_case(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().chain(self.inherited()).find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Fields every Salesforce object has (SAP entities list theirs in full).
    fn inherited(&self) -> std::slice::Iter<'static, Field> {
        if SALESFORCE.iter().any(|o| std::ptr::eq(*o, self)) { SF_SYSTEM.iter() } else { [].iter() }
    }
}

/// The Salesforce object named `name`.
pub fn salesforce_object(name: &str) -> Option<&'static Entity> {
    SALESFORCE.iter().copied().find(|o| o.name == name)
}

/// The SAP entity set named `name` (e.g. `BusinessPartners`, `Orders`).
pub fn sap_entity(name: &str) -> Option<&'static Entity> {
    SAP.iter().copied().find(|e| e.name == name)
}

/// The row type of an SAP collection property (e.g. `ContactEmployees`).
pub fn sap_row(name: &str) -> Option<&'static Entity> {
    SAP_ROWS.iter().copied().find(|e| e.name == name)
}

/// Every Salesforce object the catalogue knows.
pub fn salesforce_objects() -> impl Iterator<Item = &'static Entity> {
    SALESFORCE.iter().copied()
}

/// Every SAP entity set the catalogue knows.
pub fn sap_entities() -> impl Iterator<Item = &'static Entity> {
    SAP.iter().copied()
}

/// The Salesforce object reached from `parent` through child relationship `name` (e.g. `Account.Contacts`).
pub fn child_relationship(parent: &str, name: &str) -> Option<&'static str> {
    CHILD_RELATIONSHIPS.iter().find(|(p, r, _)| *p == parent && *r == name).map(|(_, _, child)| *child)
}

const CHILD_RELATIONSHIPS: &[(&str, &str, &str)] = &[
    ("Account", "Contacts", "Contact"),
    ("Account", "Opportunities", "Opportunity"),
    ("Account", "Cases", "Case"),
    ("Contact", "Cases", "Case"),
    ("Opportunity", "OpportunityLineItems", "OpportunityLineItem"),
    ("Order", "OrderItems", "OrderItem"),
    ("Product2", "PricebookEntries", "PricebookEntry"),
    ("Pricebook2", "PricebookEntries", "PricebookEntry"),
];

const fn rw(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, writable: true }
}

const fn ro(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, writable: false }
}

const fn entity(name: &'static str, fields: &'static [Field]) -> Entity {
    Entity { name, fields, row_key: &[] }
}

use Kind::*;

const SF_SYSTEM: &[Field] = &[
    ro("Id", Id),
    ro("CreatedDate", DateTime),
    ro("LastModifiedDate", DateTime),
    ro("SystemModstamp", DateTime),
    ro("IsDeleted", Boolean),
];

static SALESFORCE: &[&Entity] = &[
    &entity(
        "Account",
        &[
            rw("Name", Text),
            rw("AccountNumber", Text),
            rw("Type", Picklist),
            rw("Industry", Picklist),
            rw("Phone", Text),
            rw("Website", Text),
            rw("Description", Text),
            rw("OwnerId", Reference("User")),
            rw("BillingStreet", Text),
            rw("BillingCity", Text),
            rw("BillingPostalCode", Text),
            rw("BillingState", Text),
            rw("BillingCountry", Text),
            rw("ShippingStreet", Text),
            rw("ShippingCity", Text),
            rw("ShippingPostalCode", Text),
            // In the reference's compound address, not in the Salesforce sandbox.
            rw("ShippingState", Text),
            rw("ShippingCountry", Text),
            rw("SAP_CardCode__c", Text),
            rw("SAP_Credit_Limit__c", Currency),
            rw("SAP_Balance__c", Currency),
            rw("SAP_Open_Orders_Balance__c", Currency),
            rw("SAP_Credit_Alert__c", Boolean),
            rw("SAP_Inactive__c", Boolean),
            rw("SAP_Payment_Status__c", Picklist),
            rw("SAP_Days_Overdue__c", Number),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    &entity(
        "Contact",
        &[
            rw("AccountId", Reference("Account")),
            rw("FirstName", Text),
            rw("LastName", Text),
            ro("Name", Text),
            rw("Email", Text),
            rw("Phone", Text),
            rw("MobilePhone", Text),
            rw("Title", Text),
            rw("SAP_ContactCode__c", Text),
        ],
    ),
    &entity(
        "Opportunity",
        &[
            rw("Name", Text),
            rw("AccountId", Reference("Account")),
            rw("StageName", Picklist),
            rw("CloseDate", Date),
            rw("Amount", Currency),
            // Multi-currency orgs only (SF reference §6); map it to DocCurrency there.
            rw("CurrencyIsoCode", Picklist),
            rw("Probability", Number),
            rw("Type", Picklist),
            rw("Description", Text),
            rw("Pricebook2Id", Reference("Pricebook2")),
            ro("IsClosed", Boolean),
            ro("IsWon", Boolean),
            ro("HasOpportunityLineItem", Boolean),
            rw("SAP_DocEntry__c", Number),
            rw("SAP_DocNum__c", Number),
            rw("SAP_Sync_Status__c", Picklist),
            rw("SAP_Sync_Error__c", Text),
            rw("SAP_Synced_At__c", DateTime),
            rw("SAP_Fulfilment_Status__c", Picklist),
            rw("SAP_Delivery_Date__c", Date),
            rw("SAP_Expected_Ship_Date__c", Date),
            rw("SAP_Payment_Status__c", Picklist),
            rw("SAP_Days_Overdue__c", Number),
            rw("SyncedQuoteId", Reference("Quote")),
        ],
    ),
    // Quotes (F1 quote_statuses; F5.quote writes the quotation's status back).
    &entity(
        "Quote",
        &[
            rw("Name", Text),
            rw("OpportunityId", Reference("Opportunity")),
            ro("AccountId", Reference("Account")),
            ro("QuoteNumber", Text),
            rw("Status", Picklist),
            ro("IsSyncing", Boolean),
            rw("ExpirationDate", Date),
            rw("Description", Text),
            ro("Subtotal", Currency),
            ro("TotalPrice", Currency),
            ro("GrandTotal", Currency),
            rw("SAP_Quotation_DocEntry__c", Number),
            rw("SAP_Quotation_DocNum__c", Number),
            rw("SAP_Quotation_Status__c", Picklist),
            rw("SAP_Sync_Status__c", Picklist),
            rw("SAP_Sync_Error__c", Text),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    &entity(
        "OpportunityLineItem",
        &[
            rw("OpportunityId", Reference("Opportunity")),
            rw("PricebookEntryId", Reference("PricebookEntry")),
            rw("Product2Id", Reference("Product2")),
            ro("ProductCode", Text),
            ro("Name", Text),
            rw("Quantity", Number),
            rw("UnitPrice", Currency),
            ro("ListPrice", Currency),
            rw("TotalPrice", Currency),
            rw("Discount", Number),
            rw("ServiceDate", Date),
            rw("Description", Text),
            rw("SortOrder", Number),
        ],
    ),
    &entity(
        "Product2",
        &[
            rw("Name", Text),
            rw("ProductCode", Text),
            rw("Description", Text),
            rw("Family", Picklist),
            rw("IsActive", Boolean),
            rw("QuantityUnitOfMeasure", Picklist),
            rw("SAP_ItemCode__c", Text),
            rw("SAP_Stock__c", Number),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    &entity(
        "Pricebook2",
        &[rw("Name", Text), rw("Description", Text), rw("IsActive", Boolean), ro("IsStandard", Boolean)],
    ),
    &entity(
        "PricebookEntry",
        &[
            rw("Pricebook2Id", Reference("Pricebook2")),
            rw("Product2Id", Reference("Product2")),
            ro("Name", Text),
            ro("ProductCode", Text),
            rw("UnitPrice", Currency),
            rw("IsActive", Boolean),
            rw("UseStandardPrice", Boolean),
        ],
    ),
    &entity(
        "Case",
        &[
            ro("CaseNumber", Text),
            rw("AccountId", Reference("Account")),
            rw("ContactId", Reference("Contact")),
            rw("Subject", Text),
            rw("Description", Text),
            rw("Status", Picklist),
            rw("Priority", Picklist),
            rw("Origin", Picklist),
            rw("SAP_Open_Invoices__c", Number),
            rw("SAP_Overdue_Amount__c", Currency),
            rw("SAP_Last_Payment_Date__c", Date),
            rw("SAP_Open_Orders__c", Number),
            rw("SAP_Billing_Context__c", Text),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    &entity(
        "Lead",
        &[
            rw("FirstName", Text),
            rw("LastName", Text),
            ro("Name", Text),
            rw("Company", Text),
            rw("Email", Text),
            rw("Phone", Text),
            rw("Status", Picklist),
            ro("IsConverted", Boolean),
            ro("ConvertedAccountId", Reference("Account")),
            ro("ConvertedContactId", Reference("Contact")),
            ro("ConvertedOpportunityId", Reference("Opportunity")),
            ro("ConvertedDate", Date),
        ],
    ),
    // Salesforce Orders for sales orders created in SAP (F5.order).
    &entity(
        "Order",
        &[
            rw("AccountId", Reference("Account")),
            rw("EffectiveDate", Date),
            rw("Status", Picklist),
            ro("OrderNumber", Text),
            rw("Description", Text),
            ro("TotalAmount", Currency),
            rw("Pricebook2Id", Reference("Pricebook2")),
            rw("SAP_Order_Key__c", Text),
            rw("SAP_DocNum__c", Number),
            rw("SAP_Fulfilment_Status__c", Picklist),
            rw("SAP_Expected_Ship_Date__c", Date),
            rw("SAP_Delivery_Date__c", Date),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    // Order products of those orders (F5.order lines); OrderId and PricebookEntryId are set on create.
    &entity(
        "OrderItem",
        &[
            rw("OrderId", Reference("Order")),
            rw("PricebookEntryId", Reference("PricebookEntry")),
            ro("Product2Id", Reference("Product2")),
            rw("Quantity", Number),
            rw("UnitPrice", Currency),
            ro("ListPrice", Currency),
            ro("TotalPrice", Currency),
            rw("ServiceDate", Date),
            rw("Description", Text),
            rw("SAP_Line_Key__c", Text),
        ],
    ),
    // B1Force's custom invoice object (F6 with invoice_object = "SAP_Invoice__c").
    &entity(
        "SAP_Invoice__c",
        &[
            rw("Name", Text),
            // External id: the SAP entity and DocEntry (`Invoices/123`, `CreditNotes/45`), as DocEntry
            // numbers repeat across document types.
            rw("SAP_Document_Key__c", Text),
            rw("SAP_DocEntry__c", Number),
            rw("SAP_DocNum__c", Number),
            rw("SAP_CardCode__c", Text),
            rw("Account__c", Reference("Account")),
            rw("Opportunity__c", Reference("Opportunity")),
            rw("Type__c", Picklist),
            rw("Invoice_Date__c", Date),
            rw("Due_Date__c", Date),
            rw("Amount__c", Currency),
            rw("Tax_Amount__c", Currency),
            rw("Paid_Amount__c", Currency),
            rw("Currency__c", Text),
            rw("Status__c", Picklist),
            rw("Customer_Reference__c", Text),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
    // Revenue Cloud's standard Invoice (F6 with invoice_object = "Invoice"): amounts roll up from
    // invoice lines, so they are read-only here.
    &entity(
        "Invoice",
        &[
            ro("DocumentNumber", Text),
            rw("BillingAccountId", Reference("Account")),
            rw("InvoiceDate", Date),
            rw("DueDate", Date),
            rw("Status", Picklist),
            rw("Description", Text),
            ro("TotalAmount", Currency),
            ro("TotalAmountWithTax", Currency),
            ro("Balance", Currency),
            // force-app-revenue-cloud: the upsert key and SAP's amounts (the totals above are roll-ups).
            rw("SAP_Document_Key__c", Text),
            rw("SAP_DocNum__c", Number),
            rw("SAP_Amount__c", Currency),
            rw("SAP_Paid_Amount__c", Currency),
            rw("SAP_Synced_At__c", DateTime),
        ],
    ),
];

const CARD_TYPE: Kind = Enum(&["cCustomer", "cSupplier", "cLid"]);
const DOC_STATUS: Kind = Enum(&["bost_Open", "bost_Close", "bost_Paid", "bost_Delivered"]);
const CANCEL_STATUS: Kind = Enum(&["csYes", "csNo", "csCancellation"]);
const YES_NO_KIND: Kind = Enum(YES_NO);

const BUSINESS_PARTNER: &[Field] = &[
    ro("CardCode", Text),
    rw("CardName", Text),
    rw("CardType", CARD_TYPE),
    rw("GroupCode", Integer),
    rw("Currency", Text),
    rw("CreditLimit", Number),
    rw("MaxCommitment", Number),
    // Balances are computed by B1 from documents.
    ro("CurrentAccountBalance", Number),
    ro("OpenOrdersBalance", Number),
    ro("OpenDeliveryNotesBalance", Number),
    ro("OpenChecksBalance", Number),
    rw("PriceListNum", Integer),
    rw("PayTermsGrpCode", Integer),
    rw("SalesPersonCode", Integer),
    rw("EmailAddress", Text),
    rw("Phone1", Text),
    rw("Phone2", Text),
    rw("Cellular", Text),
    rw("Fax", Text),
    rw("Website", Text),
    rw("FederalTaxID", Text),
    rw("Valid", YES_NO_KIND),
    rw("Frozen", YES_NO_KIND),
    rw("BilltoDefault", Text),
    rw("ShipToDefault", Text),
    rw("BPAddresses", Collection("BPAddresses")),
    rw("ContactEmployees", Collection("ContactEmployees")),
    ro("CreateDate", Date),
    ro("CreateTime", Time),
    ro("UpdateDate", Date),
    ro("UpdateTime", Time),
    ro("DataVersion", Integer),
];

/// Orders, Invoices, DeliveryNotes, CreditNotes and Quotations share the `Document` type.
const DOCUMENT: &[Field] = &[
    ro("DocEntry", Integer),
    ro("DocNum", Integer),
    rw("DocType", Enum(&["dDocument_Items", "dDocument_Service"])),
    ro("DocObjectCode", Text),
    rw("Series", Integer),
    rw("CardCode", Text),
    rw("CardName", Text),
    rw("DocDate", Date),
    rw("DocDueDate", Date),
    rw("TaxDate", Date),
    rw("NumAtCard", Text),
    // Totals follow from the lines; B1 recomputes them.
    ro("DocTotal", Number),
    ro("DocTotalFc", Number),
    ro("VatSum", Number),
    ro("VatSumFc", Number),
    rw("DocCurrency", Text),
    rw("DocRate", Number),
    rw("DiscountPercent", Number),
    rw("TotalDiscount", Number),
    rw("Comments", Text),
    rw("SalesPersonCode", Integer),
    rw("ContactPersonCode", Integer),
    rw("ShipToCode", Text),
    rw("PayToCode", Text),
    // Status changes only through the Close/Cancel/Reopen actions.
    ro("DocumentStatus", DOC_STATUS),
    ro("Cancelled", YES_NO_KIND),
    ro("CancelStatus", CANCEL_STATUS),
    ro(
        "AuthorizationStatus",
        Enum(&[
            "dasWithout",
            "dasPending",
            "dasApproved",
            "dasRejected",
            "dasGenerated",
            "dasGeneratedbyAuthorizer",
            "dasCancelled",
        ]),
    ),
    ro("PaidToDate", Number),
    ro("PaidToDateFC", Number),
    ro("CreationDate", Date),
    ro("UpdateDate", Date),
    ro("UpdateTime", Time),
    ro("DocTime", Time),
    ro("DataVersion", Integer),
    // B1Force's UDF carrying the Salesforce opportunity id (created by `b1force setup sap`).
    rw("U_SF_OpportunityId", Text),
    rw("U_SF_QuoteId", Text),
    rw("DocumentLines", Collection("DocumentLines")),
];

const PAYMENT: &[Field] = &[
    ro("DocEntry", Integer),
    ro("DocNum", Integer),
    rw("DocType", Enum(&["rCustomer", "rAccount", "rSupplier"])),
    rw("CardCode", Text),
    rw("CardName", Text),
    rw("DocDate", Date),
    rw("DocCurrency", Text),
    rw("TaxDate", Date),
    rw("DueDate", Date),
    rw("Remarks", Text),
    rw("JournalRemarks", Text),
    ro("Cancelled", YES_NO_KIND),
    ro("CancelStatus", CANCEL_STATUS),
    rw("CashSum", Number),
    rw("CashAccount", Text),
    rw("TransferSum", Number),
    rw("TransferAccount", Text),
    rw("TransferDate", Date),
    rw("TransferReference", Text),
    rw("PaymentInvoices", Collection("PaymentInvoices")),
];

const ITEM: &[Field] = &[
    ro("ItemCode", Text),
    rw("ItemName", Text),
    rw("ForeignName", Text),
    rw("ItemsGroupCode", Integer),
    rw("ItemType", Enum(&["itItems", "itLabor", "itTravel", "itFixedAssets"])),
    rw("InventoryItem", YES_NO_KIND),
    rw("SalesItem", YES_NO_KIND),
    rw("PurchaseItem", YES_NO_KIND),
    rw("Valid", YES_NO_KIND),
    rw("Frozen", YES_NO_KIND),
    rw("BarCode", Text),
    rw("SalesUnit", Text),
    rw("DefaultWarehouse", Text),
    rw("ManageBatchNumbers", YES_NO_KIND),
    rw("ManageSerialNumbers", YES_NO_KIND),
    // Stock totals are computed from warehouse movements.
    ro("QuantityOnStock", Number),
    ro("QuantityOrderedFromVendors", Number),
    ro("QuantityOrderedByCustomers", Number),
    rw("ItemPrices", Collection("ItemPrices")),
    rw("ItemWarehouseInfoCollection", Collection("ItemWarehouseInfoCollection")),
    ro("CreateDate", Date),
    ro("CreateTime", Time),
    ro("UpdateDate", Date),
    ro("UpdateTime", Time),
    ro("DataVersion", Integer),
];

static SAP: &[&Entity] = &[
    &entity("BusinessPartners", BUSINESS_PARTNER),
    &entity("Orders", DOCUMENT),
    &entity("Invoices", DOCUMENT),
    &entity("DeliveryNotes", DOCUMENT),
    &entity("CreditNotes", DOCUMENT),
    &entity("Quotations", DOCUMENT),
    &entity("IncomingPayments", PAYMENT),
    &entity("Items", ITEM),
    &entity(
        "PriceLists",
        &[
            ro("PriceListNo", Integer),
            rw("PriceListName", Text),
            rw("BasePriceList", Integer),
            rw("Factor", Number),
            rw("IsGrossPrice", YES_NO_KIND),
            rw("Active", YES_NO_KIND),
            rw("ValidFrom", Date),
            rw("ValidTo", Date),
            rw("DefaultPrimeCurrency", Text),
        ],
    ),
];

static SAP_ROWS: &[&Entity] = &[
    &Entity {
        name: "ContactEmployees",
        fields: &[
            ro("InternalCode", Integer),
            ro("CardCode", Text),
            rw("Name", Text),
            rw("FirstName", Text),
            rw("LastName", Text),
            rw("E_Mail", Text),
            rw("Phone1", Text),
            rw("MobilePhone", Text),
            rw("Position", Text),
            rw("Active", YES_NO_KIND),
            // B1Force's UDF: the Salesforce Contact Id, the row's identity (never the name).
            rw("U_SF_ContactId", Text),
            ro("CreateDate", Date),
            ro("CreateTime", Time),
            ro("UpdateDate", Date),
            ro("UpdateTime", Time),
        ],
        row_key: &["InternalCode"],
    },
    &Entity {
        name: "BPAddresses",
        fields: &[
            rw("AddressName", Text),
            rw("AddressType", Enum(&["bo_BillTo", "bo_ShipTo"])),
            rw("Street", Text),
            rw("Block", Text),
            rw("ZipCode", Text),
            rw("City", Text),
            rw("County", Text),
            rw("State", Text),
            rw("Country", Text),
            rw("BuildingFloorRoom", Text),
            ro("BPCode", Text),
            ro("RowNum", Integer),
            ro("CreateDate", Date),
            ro("CreateTime", Time),
        ],
        // Service Layer 2511 updates an address in place only when all four are sent (reference §5).
        row_key: &["BPCode", "AddressName", "AddressType", "RowNum"],
    },
    &Entity {
        name: "DocumentLines",
        fields: &[
            ro("LineNum", Integer),
            rw("ItemCode", Text),
            rw("ItemDescription", Text),
            rw("Quantity", Number),
            rw("UnitPrice", Number),
            rw("Price", Number),
            rw("DiscountPercent", Number),
            ro("LineTotal", Number),
            rw("Currency", Text),
            rw("TaxCode", Text),
            rw("VatGroup", Text),
            rw("WarehouseCode", Text),
            rw("UoMCode", Text),
            ro("LineStatus", Enum(&["bost_Open", "bost_Close"])),
            ro("RemainingOpenQuantity", Number),
            rw("ShipDate", Date),
            // B1Force's UDF: the OpportunityLineItem Id, so a line is matched by id, never by position.
            rw("U_SF_LineItemId", Text),
        ],
        row_key: &["LineNum"],
    },
    &Entity {
        name: "ItemPrices",
        fields: &[
            rw("PriceList", Integer),
            rw("Price", Number),
            rw("Currency", Text),
            rw("BasePriceList", Integer),
            rw("Factor", Number),
        ],
        row_key: &["PriceList"],
    },
    &Entity {
        name: "ItemWarehouseInfoCollection",
        fields: &[
            rw("WarehouseCode", Text),
            ro("InStock", Number),
            ro("Committed", Number),
            ro("Ordered", Number),
            rw("MinimalStock", Number),
            rw("MaximalStock", Number),
            rw("Locked", YES_NO_KIND),
        ],
        row_key: &["WarehouseCode"],
    },
    &Entity {
        name: "PaymentInvoices",
        fields: &[
            ro("LineNum", Integer),
            rw("DocEntry", Integer),
            rw("DocNum", Integer),
            rw("SumApplied", Number),
            rw("AppliedFC", Number),
            rw("InvoiceType", Enum(&["it_Invoice", "it_CredItnote", "it_DownPayment", "it_JournalEntry"])),
            rw("DocLine", Integer),
            rw("InstallmentId", Integer),
        ],
        row_key: &["LineNum"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collection_property_names_a_known_row_type_with_known_row_keys() {
        for entity in sap_entities() {
            for field in entity.fields {
                if let Kind::Collection(row) = field.kind {
                    let row = sap_row(row).unwrap_or_else(|| panic!("{}.{} has no row type", entity.name, field.name));
                    assert!(!row.row_key.is_empty(), "{} has no row key", row.name);
                    for key in row.row_key {
                        assert!(row.field(key).is_some(), "{}.{key}", row.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_reference_points_at_a_known_object_and_names_are_unique() {
        for object in salesforce_objects() {
            for field in object.fields.iter().chain(SF_SYSTEM) {
                if let Kind::Reference(target) = field.kind {
                    assert!(target == "User" || salesforce_object(target).is_some(), "{}.{}", object.name, field.name);
                }
                let twins = object.fields.iter().chain(SF_SYSTEM).filter(|f| f.name == field.name).count();
                assert_eq!(twins, 1, "{}.{} listed twice", object.name, field.name);
            }
        }
    }

    #[test]
    fn system_fields_belong_to_salesforce_objects_only() {
        assert_eq!(salesforce_object("Account").unwrap().field("Id").map(|f| f.writable), Some(false));
        assert!(sap_entity("BusinessPartners").unwrap().field("Id").is_none());
        assert_eq!(
            salesforce_object("Account").unwrap().field_ignoring_case("billingcity").map(|f| f.name),
            Some("BillingCity")
        );
    }
}
