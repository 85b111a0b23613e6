//! The static field catalogue: which objects exist, their fields, types, access and relationships.

/// A field's data type, as far as the sandbox needs to check and compare values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// The record's own id.
    Id,
    /// A lookup to another object; for the relationship name see [`relationship_name`].
    Reference(&'static str),
    Text,
    Number,
    Boolean,
    Date,
    DateTime,
}

/// Who may write a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// Set on insert only (e.g. a line's OpportunityId).
    CreateOnly,
    /// Derived or system-maintained.
    ReadOnly,
}

/// One field of an object.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    pub access: Access,
    pub required: bool,
    pub external_id: bool,
    pub unique: bool,
}

/// A parent-to-children relationship (e.g. `Opportunity.OpportunityLineItems`).
#[derive(Debug, Clone, Copy)]
pub struct ChildRelationship {
    pub name: &'static str,
    pub child_object: &'static str,
    pub child_field: &'static str,
}

/// One sObject type.
#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub prefix: &'static str,
    pub fields: Vec<FieldDef>,
    pub children: Vec<ChildRelationship>,
    /// Positions in `fields` by exact name: bodies and queries mostly spell names as declared.
    by_name: std::collections::HashMap<&'static str, usize>,
}

impl ObjectDef {
    /// A platform event (`…__e`): published by creating it, never queried, read or changed.
    pub fn is_platform_event(&self) -> bool {
        self.name.ends_with("__e")
    }

    /// The field named `name`, case-insensitively (SOQL and JSON bodies both ignore case).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        match self.by_name.get(name) {
            Some(&at) => self.fields.get(at),
            None => self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)),
        }
    }

    /// The lookup field behind relationship `name` (e.g. `Account` → `AccountId`) and its target object.
    pub fn relationship(&self, name: &str) -> Option<(&FieldDef, &'static ObjectDef)> {
        self.fields.iter().find_map(|f| match f.ty {
            FieldType::Reference(target) if relationship_name(f.name).eq_ignore_ascii_case(name) => {
                object(target).map(|t| (f, t))
            }
            _ => None,
        })
    }

    /// The child relationship named `name`.
    pub fn child(&self, name: &str) -> Option<&ChildRelationship> {
        self.children.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// `AccountId` → `Account`, `ConvertedAccountId` → `ConvertedAccount`, `Account__c` → `Account__r`.
pub fn relationship_name(field: &str) -> std::borrow::Cow<'_, str> {
    match field.strip_suffix("__c") {
        Some(custom) => format!("{custom}__r").into(),
        None => field.strip_suffix("Id").unwrap_or(field).into(),
    }
}

/// The object named `name`, case-insensitively.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    catalogue().iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object whose ids start with `prefix`.
pub fn object_by_prefix(prefix: &str) -> Option<&'static ObjectDef> {
    catalogue().iter().find(|o| o.prefix == prefix)
}

fn catalogue() -> &'static [ObjectDef] {
    static CATALOGUE: std::sync::OnceLock<Vec<ObjectDef>> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(build)
}

const fn f(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty, access: Access::ReadWrite, required: false, external_id: false, unique: false }
}

impl FieldDef {
    /// True for the fields Salesforce indexes besides Id: external ids, unique fields and lookups.
    pub fn indexed(&self) -> bool {
        self.external_id || self.unique || matches!(self.ty, FieldType::Reference(_))
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.access = Access::ReadOnly;
        self
    }
    const fn create_only(mut self) -> Self {
        self.access = Access::CreateOnly;
        self
    }
    const fn external_id(mut self, unique: bool) -> Self {
        self.external_id = true;
        self.unique = unique;
        self
    }
}

/// Fields every object has.
fn system_fields() -> [FieldDef; 5] {
    use FieldType::*;
    [
        f("Id", Id).read_only(),
        f("CreatedDate", DateTime).read_only(),
        f("LastModifiedDate", DateTime).read_only(),
        f("SystemModstamp", DateTime).read_only(),
        f("IsDeleted", Boolean).read_only(),
    ]
}

fn object_def(
    name: &'static str,
    prefix: &'static str,
    fields: &[FieldDef],
    children: &[ChildRelationship],
) -> ObjectDef {
    let mut all = system_fields().to_vec();
    all.extend_from_slice(fields);
    let by_name = all.iter().enumerate().map(|(at, f)| (f.name, at)).collect();
    ObjectDef { name, prefix, fields: all, children: children.to_vec(), by_name }
}

const fn child(name: &'static str, child_object: &'static str, child_field: &'static str) -> ChildRelationship {
    ChildRelationship { name, child_object, child_field }
}

fn build() -> Vec<ObjectDef> {
    use FieldType::*;
    vec![
        object_def(
            "Account",
            "001",
            &[
                f("Name", Text).required(),
                // Set on the losers of a merge, seen on deleted records through queryAll.
                f("MasterRecordId", Reference("Account")).read_only(),
                // A User lookup in Salesforce; the sandbox has no User object, so it is an id as text
                // (defaulting to the creating user, as Salesforce does).
                f("OwnerId", Text),
                f("AccountNumber", Text),
                f("Type", Text),
                f("Industry", Text),
                f("Phone", Text),
                f("Website", Text),
                f("Description", Text),
                f("BillingStreet", Text),
                f("BillingCity", Text),
                f("BillingPostalCode", Text),
                f("BillingState", Text),
                f("BillingCountry", Text),
                f("ShippingStreet", Text),
                f("ShippingCity", Text),
                f("ShippingPostalCode", Text),
                f("ShippingCountry", Text),
                f("SAP_CardCode__c", Text).external_id(true),
                f("SAP_Credit_Limit__c", Number),
                f("SAP_Balance__c", Number),
                f("SAP_Open_Orders_Balance__c", Number),
                f("SAP_Credit_Alert__c", Boolean),
                f("SAP_Inactive__c", Boolean),
                f("SAP_Payment_Status__c", Text),
                f("SAP_Days_Overdue__c", Number),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[
                child("Contacts", "Contact", "AccountId"),
                child("Opportunities", "Opportunity", "AccountId"),
                child("Cases", "Case", "AccountId"),
                child("SAP_Invoices__r", "SAP_Invoice__c", "Account__c"),
                child("Orders", "Order", "AccountId"),
            ],
        ),
        // Revenue Cloud's standard Invoice, with the custom fields of force-app-revenue-cloud (F6 with
        // invoice_object = "Invoice"). Its totals roll up from invoice lines, so SAP's go to custom fields.
        object_def(
            "Invoice",
            "3tt",
            &[
                f("DocumentNumber", Text).read_only(),
                f("BillingAccountId", Reference("Account")).required(),
                f("InvoiceDate", Date),
                f("DueDate", Date),
                f("Status", Text),
                f("Description", Text),
                f("TotalAmount", Number).read_only(),
                f("TotalAmountWithTax", Number).read_only(),
                f("Balance", Number).read_only(),
                f("SAP_Document_Key__c", Text).external_id(true),
                f("SAP_DocNum__c", Number),
                f("SAP_Amount__c", Number),
                f("SAP_Paid_Amount__c", Number),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[],
        ),
        // Salesforce Orders for sales orders created in SAP (F5); required fields as on the platform.
        object_def(
            "Order",
            "801",
            &[
                f("AccountId", Reference("Account")).required(),
                f("EffectiveDate", Date).required(),
                f("Status", Text).required(),
                f("OrderNumber", Text).read_only(),
                f("Description", Text),
                f("Pricebook2Id", Reference("Pricebook2")),
                f("TotalAmount", Number).read_only(),
                f("SAP_Order_Key__c", Text).external_id(true),
                f("SAP_DocNum__c", Number),
                f("SAP_Fulfilment_Status__c", Text),
                f("SAP_Expected_Ship_Date__c", Date),
                f("SAP_Delivery_Date__c", Date),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[child("OrderItems", "OrderItem", "OrderId")],
        ),
        // Order products, as the Object Reference's OrderItem documents them: OrderId and
        // PricebookEntryId are set on create and "can't be changed in an update"; Product2Id and
        // ListPrice come from the entry; the entry must be active and in the order's price book.
        object_def(
            "OrderItem",
            "802",
            &[
                f("OrderId", Reference("Order")).required().create_only(),
                f("PricebookEntryId", Reference("PricebookEntry")).required().create_only(),
                f("Product2Id", Reference("Product2")).read_only(),
                f("OrderItemNumber", Text).read_only(),
                f("Quantity", Number).required(),
                f("UnitPrice", Number).required(),
                f("ListPrice", Number).read_only(),
                f("TotalPrice", Number).read_only(),
                f("ServiceDate", Date),
                f("Description", Text),
                f("SAP_Line_Key__c", Text).external_id(true),
            ],
            &[],
        ),
        object_def(
            "Contact",
            "003",
            &[
                f("AccountId", Reference("Account")),
                f("MasterRecordId", Reference("Contact")).read_only(),
                f("FirstName", Text),
                f("LastName", Text).required(),
                f("Name", Text).read_only(),
                f("Email", Text),
                f("Phone", Text),
                f("MobilePhone", Text),
                f("Title", Text),
                f("SAP_ContactCode__c", Text).external_id(false),
            ],
            &[child("Cases", "Case", "ContactId")],
        ),
        object_def(
            "Opportunity",
            "006",
            &[
                f("Name", Text).required(),
                f("AccountId", Reference("Account")),
                f("OwnerId", Text),
                f("StageName", Text).required(),
                f("CloseDate", Date).required(),
                f("Amount", Number),
                f("Probability", Number),
                f("Type", Text),
                f("Description", Text),
                f("Pricebook2Id", Reference("Pricebook2")),
                f("CurrencyIsoCode", Text),
                f("IsClosed", Boolean).read_only(),
                f("IsWon", Boolean).read_only(),
                f("HasOpportunityLineItem", Boolean).read_only(),
                f("SAP_DocEntry__c", Number),
                f("SAP_DocNum__c", Number),
                f("SAP_Sync_Status__c", Text),
                f("SAP_Sync_Error__c", Text),
                f("SAP_Synced_At__c", DateTime),
                f("SAP_Fulfilment_Status__c", Text),
                f("SAP_Delivery_Date__c", Date),
                f("SAP_Expected_Ship_Date__c", Date),
                f("SAP_Payment_Status__c", Text),
                f("SAP_Days_Overdue__c", Number),
                // The quote whose lines the opportunity's mirror (Sales Cloud "quote sync"); only a
                // quote of this opportunity may be set.
                f("SyncedQuoteId", Reference("Quote")),
            ],
            &[
                child("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
                child("SAP_Invoices__r", "SAP_Invoice__c", "Opportunity__c"),
                child("Quotes", "Quote", "OpportunityId"),
            ],
        ),
        // Quotes as the Object Reference's Quote documents them: OpportunityId is set on create;
        // IsSyncing, QuoteNumber and the totals are read-only (Subtotal before, TotalPrice after the
        // lines' discounts; GrandTotal adds tax and shipping, which are not modelled).
        object_def(
            "Quote",
            "0Q0",
            &[
                f("Name", Text).required(),
                f("OpportunityId", Reference("Opportunity")).required().create_only(),
                f("AccountId", Reference("Account")).read_only(),
                f("QuoteNumber", Text).read_only(),
                f("Status", Text),
                f("IsSyncing", Boolean).read_only(),
                f("ExpirationDate", Date),
                f("Description", Text),
                f("Pricebook2Id", Reference("Pricebook2")),
                f("CurrencyIsoCode", Text),
                f("Subtotal", Number).read_only(),
                f("TotalPrice", Number).read_only(),
                f("GrandTotal", Number).read_only(),
                f("LineItemCount", Number).read_only(),
                f("SAP_Quotation_DocEntry__c", Number),
                f("SAP_Quotation_DocNum__c", Number),
                f("SAP_Quotation_Status__c", Text),
                f("SAP_Sync_Status__c", Text),
                f("SAP_Sync_Error__c", Text),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[child("QuoteLineItems", "QuoteLineItem", "QuoteId")],
        ),
        // Quote lines (Object Reference, QuoteLineItem): QuoteId and PricebookEntryId are set on
        // create; Subtotal = Quantity × UnitPrice, TotalPrice = Subtotal less Discount (%);
        // OpportunityLineItemId is the opportunity line a synced quote's line is mirrored to.
        object_def(
            "QuoteLineItem",
            "0QL",
            &[
                f("QuoteId", Reference("Quote")).required().create_only(),
                f("PricebookEntryId", Reference("PricebookEntry")).required().create_only(),
                f("Product2Id", Reference("Product2")).read_only(),
                f("OpportunityLineItemId", Reference("OpportunityLineItem")).read_only(),
                f("LineNumber", Text).read_only(),
                f("Quantity", Number).required(),
                f("UnitPrice", Number).required(),
                f("ListPrice", Number).read_only(),
                f("Discount", Number),
                f("Subtotal", Number).read_only(),
                f("TotalPrice", Number).read_only(),
                f("ServiceDate", Date),
                f("Description", Text),
                f("SortOrder", Number),
            ],
            &[],
        ),
        object_def(
            "OpportunityLineItem",
            "00k",
            &[
                f("OpportunityId", Reference("Opportunity")).required().create_only(),
                f("PricebookEntryId", Reference("PricebookEntry")).create_only(),
                f("Product2Id", Reference("Product2")).create_only(),
                f("ProductCode", Text).read_only(),
                f("Name", Text).read_only(),
                f("Quantity", Number).required(),
                f("UnitPrice", Number),
                f("ListPrice", Number).read_only(),
                f("TotalPrice", Number),
                f("Discount", Number),
                f("ServiceDate", Date),
                f("Description", Text),
                f("SortOrder", Number),
                f("CurrencyIsoCode", Text).read_only(),
            ],
            &[],
        ),
        object_def(
            "Product2",
            "01t",
            &[
                f("Name", Text).required(),
                f("ProductCode", Text),
                f("Description", Text),
                f("Family", Text),
                f("IsActive", Boolean),
                f("QuantityUnitOfMeasure", Text),
                // External ID, not unique, as in force-app: upsert (single or collection) needs only the
                // External ID flag; a value on two products answers 300 / DUPLICATE_EXTERNAL_ID.
                f("SAP_ItemCode__c", Text).external_id(false),
                f("SAP_Stock__c", Number),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[child("PricebookEntries", "PricebookEntry", "Product2Id")],
        ),
        object_def(
            "Pricebook2",
            "01s",
            &[
                f("Name", Text).required(),
                f("Description", Text),
                f("IsActive", Boolean),
                f("IsStandard", Boolean).read_only(),
            ],
            &[child("PricebookEntries", "PricebookEntry", "Pricebook2Id")],
        ),
        object_def(
            "PricebookEntry",
            "01u",
            &[
                f("Pricebook2Id", Reference("Pricebook2")).required().create_only(),
                f("Product2Id", Reference("Product2")).required().create_only(),
                f("Name", Text).read_only(),
                f("ProductCode", Text).read_only(),
                f("UnitPrice", Number).required(),
                f("IsActive", Boolean),
                f("UseStandardPrice", Boolean),
                f("CurrencyIsoCode", Text).create_only(),
            ],
            &[],
        ),
        object_def(
            "Case",
            "500",
            &[
                f("CaseNumber", Text).read_only(),
                f("AccountId", Reference("Account")),
                f("ContactId", Reference("Contact")),
                f("Subject", Text),
                f("Description", Text),
                f("Status", Text),
                f("IsClosed", Boolean).read_only(),
                f("Priority", Text),
                f("Origin", Text),
                f("SAP_Open_Invoices__c", Number),
                f("SAP_Overdue_Amount__c", Number),
                f("SAP_Last_Payment_Date__c", Date),
                f("SAP_Open_Orders__c", Number),
                f("SAP_Billing_Context__c", Text),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[],
        ),
        // B1Force's credit alert platform event, as force-app/main/default/objects/B1Force_Credit_Alert__e
        // declares it. Events are published by creating them (POST sobjects/X__e, 201 with an id
        // whose prefix is e00) and are neither queried nor read back: Platform Events Developer
        // Guide, "Publish Event Messages with Salesforce APIs" (platform_events_publish_api.htm).
        object_def(
            "B1Force_Credit_Alert__e",
            "e00",
            &[
                f("Card_Code__c", Text),
                f("Account_Id__c", Text),
                f("Level__c", Text),
                f("Balance__c", Number),
                f("Credit_Limit__c", Number),
                f("Recipient_Ids__c", Text),
                f("Open_Deals__c", Number),
            ],
            &[],
        ),
        // B1Force's invoice object, as force-app/main/default/objects/SAP_Invoice__c declares it; both
        // lookups have the relationship name SAP_Invoices, so the children are `SAP_Invoices__r`.
        object_def(
            "SAP_Invoice__c",
            "a01",
            &[
                f("Name", Text),
                f("SAP_Document_Key__c", Text).external_id(true),
                f("SAP_DocEntry__c", Number).external_id(false),
                f("SAP_DocNum__c", Number),
                f("SAP_CardCode__c", Text),
                f("Account__c", Reference("Account")),
                f("Opportunity__c", Reference("Opportunity")),
                f("Type__c", Text),
                f("Invoice_Date__c", Date),
                f("Due_Date__c", Date),
                f("Amount__c", Number),
                f("Tax_Amount__c", Number),
                f("Paid_Amount__c", Number),
                f("Open_Amount__c", Number).read_only(),
                f("Is_Credit_Note__c", Boolean).read_only(),
                f("Currency__c", Text),
                f("Status__c", Text),
                f("Customer_Reference__c", Text),
                f("SAP_Synced_At__c", DateTime),
            ],
            &[],
        ),
        object_def(
            "Lead",
            "00Q",
            &[
                f("FirstName", Text),
                f("LastName", Text).required(),
                f("Name", Text).read_only(),
                f("Company", Text).required(),
                f("Email", Text),
                f("Phone", Text),
                f("Status", Text),
                f("IsConverted", Boolean).read_only(),
                f("ConvertedAccountId", Reference("Account")).read_only(),
                f("ConvertedContactId", Reference("Contact")).read_only(),
                f("ConvertedOpportunityId", Reference("Opportunity")).read_only(),
                f("ConvertedDate", Date).read_only(),
            ],
            &[],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_relationships_resolve_to_their_target() {
        let opp = object("opportunity").unwrap();
        assert_eq!(opp.field("sap_docentry__c").unwrap().name, "SAP_DocEntry__c");
        let (field, target) = opp.relationship("account").unwrap();
        assert_eq!((field.name, target.name), ("AccountId", "Account"));
        assert_eq!(opp.child("opportunitylineitems").unwrap().child_object, "OpportunityLineItem");
        assert!(opp.relationship("StageName").is_none());
        assert_eq!(object_by_prefix("00k").unwrap().name, "OpportunityLineItem");
        let invoice = object("sap_invoice__c").unwrap();
        let (field, target) = invoice.relationship("account__r").unwrap();
        assert_eq!((field.name, target.name), ("Account__c", "Account"));
        assert_eq!(object("Account").unwrap().child("SAP_Invoices__r").unwrap().child_field, "Account__c");
    }

    #[test]
    fn every_reference_points_at_a_known_object_and_prefixes_are_unique() {
        let all = catalogue();
        for o in all {
            for fd in &o.fields {
                if let FieldType::Reference(target) = fd.ty {
                    assert!(object(target).is_some(), "{}.{} -> {target}", o.name, fd.name);
                }
            }
            assert_eq!(all.iter().filter(|p| p.prefix == o.prefix).count(), 1);
        }
    }
}
