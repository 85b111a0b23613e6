//! `b1force link` (#17): reads the accounts and the business partners (or the products and the
//! items) that already exist, decides which are the same ([`crate::domain::link`]) and, with
//! `--apply`, writes the links — `SAP_CardCode__c` on the account and `U_SF_AccountId` on the
//! partner; `SAP_ItemCode__c` on the product (items carry no link back) — so the first sync updates
//! those pairs instead of creating a copy of each on the other side.
//!
//! Dry run by default: the review (JSON, CSV, HTML) says what would be linked and why. `--apply`
//! reads both sides again and writes only the side of a pair that names nothing yet: it never
//! overwrites a link, merges or deletes. Each write is audited (`link_existing`) on its own record.
//! Run again after a kill, it finds the pairs already written as linked and completes the other
//! side: idempotent and resumable by construction. An operator's corrected review CSV replaces the
//! rules' decisions (`--decisions`).

pub mod review;

use crate::domain::link::{self, Correction, Decision, Party, Rule};
use crate::domain::polled::{EntitySpec, Start};
use crate::domain::state::{Direction, Watermark};
use crate::domain::{CardCode, Record, rfc3339_millis};
use crate::error::{Error, Result};
use crate::mapping::file::{MappingFile, OptionValue};
use crate::ports::{
    AuditAction, AuditEntry, AuditLog, ChangeQuery, Clock, Outcome, SalesforceReads, SalesforceWrites, SapChanges,
    SapPartners,
};
use review::{Applied, LinkReview};
use serde_json::{Value, json};
use std::sync::Arc;

/// The accounts ⇄ business partners linker's ports.
pub struct Linker {
    pub sap_changes: Arc<dyn SapChanges>,
    pub sap_partners: Arc<dyn SapPartners>,
    pub salesforce_reads: Arc<dyn SalesforceReads>,
    pub salesforce_writes: Arc<dyn SalesforceWrites>,
    pub audit: Arc<dyn AuditLog>,
    pub mapping: Arc<MappingFile>,
    pub clock: Arc<dyn Clock>,
    /// SAP rows per read.
    pub page_size: u32,
}

impl Linker {
    /// The rules of the pair's flow (`link_rules` of F2 or F7, strongest first), or the defaults;
    /// and the Account field holding the tax id (F2 `link_tax_id_field`), if any.
    pub fn rules(&self, records: Records) -> Result<(Vec<Rule>, Option<String>)> {
        let flow = self.mapping.flow(records.flow())?;
        let rules = match flow.option("link_rules") {
            Some(OptionValue::List(rules)) => {
                rules.iter().map(|r| Rule::parse(r)).collect::<std::result::Result<_, _>>()
            }
            _ => Ok(match records {
                Records::Accounts => link::account_rules(),
                Records::Products => link::product_rules(),
                Records::Contacts => link::contact_rules(),
            }),
        }
        .map_err(Error::Config)?;
        Ok((rules, flow.text_option("link_tax_id_field").map(str::to_string)))
    }

    /// Both sides as they are now.
    pub async fn read(&self, records: Records, tax_field: Option<&str>) -> Result<(Vec<Party>, Vec<Party>)> {
        match records {
            Records::Accounts => {
                Ok((self.accounts(tax_field).await?, self.sap_rows("BusinessPartners", partner).await?))
            }
            Records::Products => Ok((self.products().await?, self.sap_rows("Items", item).await?)),
            Records::Contacts => {
                Ok((self.contacts().await?, self.sap_rows("BusinessPartners", contact_persons).await?))
            }
        }
    }

    /// Contacts, each with the CardCode its account is linked to (`company`).
    async fn contacts(&self) -> Result<Vec<Party>> {
        let accounts = self.salesforce_reads.all_records("Account", &["Id", "SAP_CardCode__c"]).await?;
        let card_codes: std::collections::HashMap<&str, &str> = accounts
            .iter()
            .filter_map(|a| Some((a.get("Id")?.as_str()?, a.get("SAP_CardCode__c")?.as_str()?)))
            .collect();
        let fields = ["Id", "FirstName", "LastName", "Email", "AccountId", "SAP_ContactCode__c"];
        let rows = self.salesforce_reads.all_records("Contact", &fields).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
                let name = format!("{} {}", text("FirstName"), text("LastName"));
                let company = card_codes.get(text("AccountId")).copied().unwrap_or("");
                Party::new(
                    text("Id"),
                    Some(text("SAP_ContactCode__c")),
                    &[("name", name.trim()), ("email", text("Email")), ("company", company)],
                )
            })
            .collect())
    }

    async fn products(&self) -> Result<Vec<Party>> {
        let rows =
            self.salesforce_reads.all_records("Product2", &["Id", "Name", "ProductCode", "SAP_ItemCode__c"]).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
                Party::new(
                    text("Id"),
                    Some(text("SAP_ItemCode__c")),
                    &[("name", text("Name")), ("code", text("ProductCode"))],
                )
            })
            .collect())
    }

    async fn accounts(&self, tax_field: Option<&str>) -> Result<Vec<Party>> {
        let only = self.mapping.flow("F2")?.salesforce_filter.clone();
        let mut fields = vec!["Id", "Name", "SAP_CardCode__c", "BillingPostalCode", "BillingCity"];
        fields.extend(tax_field);
        fields.extend(only.properties());
        fields.sort_unstable();
        fields.dedup();
        let rows = self.salesforce_reads.all_records("Account", &fields).await?;
        Ok(rows
            .iter()
            .filter(|row| only.admits(row))
            .map(|row| {
                let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
                Party::new(
                    text("Id"),
                    Some(text("SAP_CardCode__c")),
                    &[
                        ("name", text("Name")),
                        ("tax_id", tax_field.map_or("", text)),
                        ("postcode", text("BillingPostalCode")),
                        ("city", text("BillingCity")),
                    ],
                )
            })
            .collect())
    }

    /// Every row of a SAP entity the sync covers (its `sap_filter`), keyset-paged, as parties.
    async fn sap_rows(&self, entity: &str, parties_of: fn(&Record) -> Vec<Party>) -> Result<Vec<Party>> {
        let spec = EntitySpec::named(entity)?;
        let only = self.mapping.sap_filter(entity);
        let also: Vec<String> = if entity == "BusinessPartners" {
            vec!["FederalTaxID".into(), "U_SF_AccountId".into()]
        } else {
            Vec::new()
        };
        // Every row: B1 stamps UpdateDate on creation, and keyset pages need a start.
        let mut start = Start::Since(Watermark {
            date: "1900-01-01".into(),
            time: String::new(),
            key: String::new(),
            doc_entry: None,
        });
        let mut parties = Vec::new();
        loop {
            let query = ChangeQuery {
                entity: &spec,
                start: &start,
                limit: self.page_size.max(1),
                only: &only,
                also_select: &also,
            };
            let page = self.sap_changes.changed(&query).await?;
            parties.extend(page.rows.iter().flat_map(parties_of));
            match page.rows.last() {
                Some(last) if page.more => start = Start::After(spec.position(last)?),
                _ => return Ok(parties),
            }
        }
    }

    /// Reads both sides and decides: by the rules, or by an operator's `corrections`.
    pub async fn review(
        &self,
        records: Records,
        run_id: &str,
        corrections: Option<&[Correction]>,
    ) -> Result<LinkReview> {
        let (rules, tax_field) = self.rules(records)?;
        let (salesforce, sap) = self.read(records, tax_field.as_deref()).await?;
        let mut decisions = match corrections {
            Some(rows) => link::from_corrections(rows, &salesforce, &sap),
            None => link::decide(&salesforce, &sap, &rules),
        };
        if records == Records::Products {
            // Items have no field naming their product: only the product side is ever written.
            decisions.iter_mut().for_each(|d| d.write_sap = false);
        }
        // A contact person is patched through its partner.
        let sap_parents = match records {
            Records::Contacts => {
                sap.iter().filter_map(|p| Some((p.id.clone(), p.fields.get("company")?.clone()))).collect()
            }
            _ => Default::default(),
        };
        Ok(LinkReview {
            records,
            sap_parents,
            pair: records.pair().into(),
            run_id: run_id.to_string(),
            generated_at: rfc3339_millis(self.clock.now_millis()),
            rules: if corrections.is_some() {
                vec!["operator".into()]
            } else {
                rules.iter().map(Rule::label).collect()
            },
            salesforce_records: salesforce.len(),
            sap_records: sap.len(),
            decisions,
            applied: None,
        })
    }

    /// Writes the links the review calls for: Salesforce records through sObject Collections (200
    /// per call), partners (and contact persons, through their partner) one PATCH each; every write
    /// audited on its record. A failed write is reported and the rest go on.
    pub async fn apply(&self, review: &LinkReview, run_id: &str) -> Result<Applied> {
        let decisions = &review.decisions;
        let (object, link_field) = review.records.salesforce_link();
        let mut applied = Applied::default();
        let writes: Vec<&Decision> = decisions
            .iter()
            .filter(|d| d.write_salesforce && d.salesforce_id.is_some() && d.sap_key.is_some())
            .collect();
        let records: Vec<Record> = writes
            .iter()
            .map(|d| {
                Record::from_iter([
                    ("Id".to_string(), json!(d.salesforce_id)),
                    (link_field.to_string(), json!(d.sap_key)),
                ])
            })
            .collect();
        if !records.is_empty() {
            let results = self.salesforce_writes.update_many(object, &records).await?;
            for (decision, result) in writes.iter().zip(results) {
                let key = format!("sf:{object}:{}", decision.salesforce_id.as_deref().unwrap_or_default());
                let result = result.map(|_| ());
                self.audit(&key, decision, Direction::SapToSf, run_id, &result).await?;
                match result {
                    Ok(()) => applied.salesforce_written += 1,
                    Err(err) => applied.failed.push((key, err.to_string())),
                }
            }
        }
        for decision in decisions.iter().filter(|d| d.write_sap) {
            let (Some(sap_key), Some(salesforce_id)) = (&decision.sap_key, &decision.salesforce_id) else { continue };
            let (card_code, patch) = match review.records {
                Records::Accounts => (sap_key.as_str(), json!({"U_SF_AccountId": salesforce_id})),
                Records::Contacts => {
                    let Some(parent) = review.sap_parents.get(sap_key) else { continue };
                    let person = json!({"InternalCode": sap_key.parse::<i64>().unwrap_or_default(), "U_SF_ContactId": salesforce_id});
                    (parent.as_str(), json!({"ContactEmployees": [person]}))
                }
                Records::Products => continue,
            };
            let key = format!("sap:BusinessPartners:{card_code}");
            let patch = patch.as_object().cloned().unwrap_or_default();
            let result = match CardCode::parse(card_code) {
                Ok(card_code) => self.sap_partners.patch_business_partner(&card_code, &patch).await,
                Err(err) => Err(err),
            };
            self.audit(&key, decision, Direction::SfToSap, run_id, &result).await?;
            match result {
                Ok(()) => applied.sap_written += 1,
                Err(err) => applied.failed.push((key, err.to_string())),
            }
        }
        Ok(applied)
    }

    async fn audit(
        &self,
        record_key: &str,
        decision: &Decision,
        direction: Direction,
        run_id: &str,
        result: &Result<()>,
    ) -> Result<()> {
        let detail = format!(
            "{} ⇄ {} ({} by {})",
            decision.salesforce_id.as_deref().unwrap_or_default(),
            decision.sap_key.as_deref().unwrap_or_default(),
            decision.verdict.code(),
            decision.rule.as_deref().unwrap_or("an existing link")
        );
        let mut entry = AuditEntry::action_done(
            record_key.to_string(),
            self.clock.now_millis(),
            run_id.to_string(),
            direction,
            AuditAction::LinkExisting,
            Some(detail),
        );
        if let Err(err) = result {
            // Not queued anywhere: the next run decides the pair again (shown among failures).
            entry.outcome = Outcome::Rejected;
            entry.error_code = Some(err.code());
            entry.error_class = Some(err.class());
            entry.error = Some(err.to_string());
        }
        self.audit.record(&entry).await
    }
}

/// Which records a run links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Records {
    /// Accounts ⇄ business partners (F2's rules).
    Accounts,
    /// Products ⇄ items (F7's rules).
    Products,
    /// Contacts ⇄ partners' contact persons (F4's rules).
    Contacts,
}

impl Records {
    pub fn parse(text: &str) -> Result<Records> {
        match text {
            "accounts" => Ok(Records::Accounts),
            "products" => Ok(Records::Products),
            "contacts" => Ok(Records::Contacts),
            other => Err(Error::Invalid(format!("--records {other:?}: accounts, products or contacts"))),
        }
    }

    fn flow(self) -> &'static str {
        match self {
            Records::Accounts => "F2",
            Records::Products => "F7",
            Records::Contacts => "F4",
        }
    }

    fn pair(self) -> &'static str {
        match self {
            Records::Accounts => "Account ⇄ BusinessPartners",
            Records::Products => "Product2 ⇄ Items",
            Records::Contacts => "Contact ⇄ ContactEmployees",
        }
    }

    /// The Salesforce object and the field naming its SAP twin.
    fn salesforce_link(self) -> (&'static str, &'static str) {
        match self {
            Records::Accounts => ("Account", "SAP_CardCode__c"),
            Records::Products => ("Product2", "SAP_ItemCode__c"),
            Records::Contacts => ("Contact", "SAP_ContactCode__c"),
        }
    }
}

/// An item as a party: its code and name.
fn item(row: &Record) -> Vec<Party> {
    let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
    vec![Party::new(text("ItemCode"), None, &[("name", text("ItemName")), ("code", text("ItemCode"))])]
}

/// A partner's contact persons as parties, each named by its `InternalCode` (unique in the
/// company), with its partner's CardCode as `company`.
fn contact_persons(row: &Record) -> Vec<Party> {
    let card_code = row.get("CardCode").and_then(Value::as_str).unwrap_or("");
    let people = row.get("ContactEmployees").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    people
        .iter()
        .filter_map(|person| {
            let text = |name: &str| person.get(name).and_then(Value::as_str).unwrap_or("");
            let code = person.get("InternalCode").and_then(Value::as_i64)?;
            let full = format!("{} {}", text("FirstName"), text("LastName"));
            let name = if full.trim().is_empty() { text("Name").to_string() } else { full.trim().to_string() };
            Some(Party::new(
                &code.to_string(),
                Some(text("U_SF_ContactId")),
                &[("name", &name), ("email", text("E_Mail")), ("company", card_code)],
            ))
        })
        .collect()
}

/// A business partner as a party: its bill-to address gives postcode and city.
fn partner(row: &Record) -> Vec<Party> {
    let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
    let addresses = row.get("BPAddresses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let bill_to = addresses.iter().find(|a| a.get("AddressType").and_then(Value::as_str) == Some("bo_BillTo"));
    let address = |name: &str| bill_to.and_then(|a| a.get(name)).and_then(Value::as_str).unwrap_or("");
    vec![Party::new(
        text("CardCode"),
        Some(text("U_SF_AccountId")),
        &[
            ("name", text("CardName")),
            ("tax_id", text("FederalTaxID")),
            ("email", text("EmailAddress")),
            ("postcode", address("ZipCode")),
            ("city", address("City")),
        ],
    )]
}
