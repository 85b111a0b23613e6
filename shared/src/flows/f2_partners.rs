//! F2: a Salesforce account (or a converted lead's account, or an account whose contact changed)
//! becomes an SAP business partner: created when missing, otherwise PATCHed with only the mapped
//! fields Salesforce owns (or co-owns and changed last) that differ; contacts → ContactEmployees by
//! `U_SF_ContactId`, addresses → BPAddresses in place. The CardCode is written back to the account.
//!
//! Identity is external ids only: `SAP_CardCode__c`, or a CardCode derived from the account id.
//! A content hash of what Salesforce wants in SAP, stored per record and direction, makes a
//! repeated or echoed notification no work at all.

use super::{Applied, Done, ToSap};
use crate::domain::state::Direction;
use crate::domain::{CardCode, Record, RecordKey, SalesforceId, System, deactivation};
use crate::error::{Error, Result};
use crate::mapping::f1::card_code_for_account;
use crate::mapping::file::{FlowMapping, RowSource};
use crate::mapping::plan;
use crate::mapping::transform::content_hash;
use crate::ports::{AuditAction, DeletedRecord};
use serde_json::Value;

/// The account fields F2 reads, and the child query for its contacts.
pub struct AccountRead {
    pub fields: Vec<String>,
    pub contact_relationship: Option<String>,
    pub contact_fields: Vec<String>,
}

/// What to read from Salesforce for `flow` (the F2 mapping).
pub fn account_read(flow: &FlowMapping) -> AccountRead {
    let mut fields: Vec<String> = flow.salesforce_fields().into_iter().map(String::from).collect();
    fields.extend(["Name", "LastModifiedDate", "SAP_CardCode__c"].map(String::from));
    for field in flow.salesforce_filter.properties() {
        if !fields.iter().any(|f| f == field) {
            fields.push(field.to_string());
        }
    }
    let mut read = AccountRead { fields, contact_relationship: None, contact_fields: Vec::new() };
    for collection in &flow.collections {
        if let RowSource::Children { salesforce_relationship, matched_by, .. } = &collection.source {
            read.contact_relationship = Some(salesforce_relationship.clone());
            read.contact_fields = collection.fields.iter().map(|f| f.salesforce.clone()).collect();
            read.contact_fields.extend([matched_by.salesforce.clone(), "LastModifiedDate".into()]);
        }
    }
    read
}

/// Newer-wins for co-owned fields: Salesforce's LastModifiedDate against SAP's UpdateDate + UpdateTime.
/// Both are compared as UTC `YYYY-MM-DDTHH:MM:SS` text; SAP's server time zone is assumed to be UTC.
pub fn salesforce_is_newer(account: &Record, partner: Option<&Record>) -> bool {
    let sf = account.get("LastModifiedDate").and_then(Value::as_str).unwrap_or("");
    modified_after(sf, partner)
}

/// Like [`salesforce_is_newer`] for the collections: the latest change of the account or any of its
/// contacts counts, since a contact edit does not touch the account. (Per-row newer-wins would be
/// finer; a co-owned field of another contact then follows Salesforce too.)
pub fn salesforce_children_are_newer(account: &Record, partner: Option<&Record>) -> bool {
    let children = account.values().filter_map(|v| v.get("records")).filter_map(Value::as_array).flatten();
    let latest = std::iter::once(account.get("LastModifiedDate"))
        .chain(children.map(|c| c.get("LastModifiedDate")))
        .filter_map(|v| v.and_then(Value::as_str))
        .max()
        .unwrap_or("");
    modified_after(latest, partner)
}

fn modified_after(sf: &str, partner: Option<&Record>) -> bool {
    let Some(partner) = partner else { return true };
    let date = partner.get("UpdateDate").and_then(Value::as_str).unwrap_or("");
    let time = partner.get("UpdateTime").and_then(Value::as_str).unwrap_or("00:00:00");
    let sap = format!("{}T{}", date.get(..10).unwrap_or(""), time);
    // A tie goes to Salesforce: the change being processed is its own, and both clocks have 1 s resolution.
    sf.get(..19).unwrap_or(sf) >= sap.as_str()
}

/// F2 for one account (None: the integration user cannot read it, or it was deleted since).
pub async fn sync_account(ports: &ToSap, id: &SalesforceId, account: Option<&Record>) -> Result<Applied> {
    let Some(account) = account else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipNotVisible, None));
    };
    let flow = ports.mapping.flow("F2")?;
    if !flow.salesforce_filter.admits(account) {
        // Outside the mapping's `salesforce_filter` (e.g. a prospect when only customers sync).
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipFiltered, None));
    }
    let stored_code = account.get("SAP_CardCode__c").and_then(Value::as_str).filter(|c| !c.trim().is_empty());
    let card_code = match stored_code {
        Some(code) => CardCode::parse(code.trim()).map_err(|_| {
            Error::Mapping(format!("Account {id} has SAP_CardCode__c {code:?}, which is not a valid CardCode"))
        })?,
        // A merge's winner without a partner takes over a loser's before any new one is made (the
        // loser's DELETE event may come after the winner's UPDATE).
        None if let Some((code, loser)) = merged_partner(ports, id).await? => {
            let partner = format!("sap:BusinessPartners:{code}");
            let (from, to) =
                (RecordKey::salesforce("Account", &loser).to_string(), RecordKey::salesforce("Account", id));
            ports.state.move_link(&from, &to.to_string(), &partner).await?;
            code
        }
        None if ports.settings.auto_create_customers => card_code_for_account(id, &ports.settings.card_code_prefix)?,
        None => {
            return Err(Error::Mapping(format!(
                "Account {id} has no SAP_CardCode__c and auto-create is off; set the CardCode or enable auto-create"
            )));
        }
    };
    let record_key = RecordKey::salesforce("Account", id).to_string();
    let mut wanted = flow.to_sap(account, None, true);
    wanted.extend(flow.to_sap_collections(account, None, true));
    let hash = content_hash(&wanted);
    let unchanged = ports.state.last_hash(&record_key, Direction::SfToSap).await?.as_deref() == Some(hash.as_str());
    if unchanged && stored_code.is_some() {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipUnchanged, Some(card_code.to_string())));
    }

    let mut select: Vec<String> = flow.sap_fields().into_iter().map(String::from).collect();
    select.extend(["CardCode", "UpdateDate", "UpdateTime"].map(String::from));
    select.extend(deactivation::PROPERTIES.map(String::from));
    // What F4 maps back, so the echo of this write can be recognised (see `expect_echo`).
    for field in plan::read_spec(&ports.mapping, "BusinessPartners")?.select {
        if !select.contains(&field) {
            select.push(field);
        }
    }
    let current = ports.sap.business_partner(&card_code, &select).await?;
    let newer = salesforce_is_newer(account, current.as_ref());
    let children_newer = salesforce_children_are_newer(account, current.as_ref());
    let action = match &current {
        None => {
            let mut body = wanted.clone();
            body.insert("CardCode".into(), Value::String(card_code.to_string()));
            // Replays and races land on the same CardCode; the port turns a duplicate into an update.
            ports.sap.create_business_partner_record(&body).await?;
            AuditAction::CreateBusinessPartner
        }
        Some(partner) => {
            let mut patch = flow.to_sap(account, Some(partner), newer);
            patch.extend(flow.to_sap_collections(account, Some(partner), children_newer));
            // The account is back (undeleted): so is the partner B1Force deactivated for it.
            if deactivation::by_us(partner) {
                patch.extend(deactivation::reactivate());
            }
            if patch.is_empty() {
                AuditAction::SkipNoChanges
            } else {
                ports.sap.patch_business_partner(&card_code, &patch).await?;
                expect_echo(ports, &card_code, partner, &patch).await;
                AuditAction::UpdateBusinessPartner
            }
        }
    };
    if stored_code.is_none() {
        ports.salesforce_updates.set_account_card_code(id, &card_code).await?;
    }
    ports.state.put_hash(&record_key, Direction::SfToSap, &hash, ports.clock.now_millis()).await?;
    ports.state.link(&record_key, &format!("sap:BusinessPartners:{card_code}")).await?;
    tracing::info!(card_code = %card_code, %action, "account synced to business partner");
    let disposition = if action == AuditAction::SkipNoChanges { Done::Skipped } else { Done::Written };
    Ok(Applied::new(disposition, action, Some(card_code.to_string())))
}

/// The CardCode of a deleted account merged into `winner`, if one had a partner, and that account.
async fn merged_partner(ports: &ToSap, winner: &SalesforceId) -> Result<Option<(CardCode, SalesforceId)>> {
    let losers = ports.salesforce_reads.merged_into(winner).await?;
    Ok(losers.into_iter().find_map(|l| Some((CardCode::parse(l.card_code.as_deref()?).ok()?, l.id))))
}

/// F2 for an account deleted in Salesforce (a DELETE event; never a delete in SAP). A merge's
/// loser whose winner has no partner hands its partner over: the winner takes the CardCode and is
/// synced onto it. Otherwise the partner is deactivated with the reason (a plain delete, or a
/// winner with a partner of its own), unless the F2 option `on_delete = "keep"` leaves partners of
/// deleted accounts alone. `master` is the winner's current record.
pub async fn account_deleted(ports: &ToSap, gone: &DeletedRecord, master: Option<&Record>) -> Result<Applied> {
    let flow = ports.mapping.flow("F2")?;
    let Some(code) = gone.card_code.as_deref() else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipAccountNotInSap, None));
    };
    let code = CardCode::parse(code).map_err(|_| {
        Error::Mapping(format!("deleted Account {} has SAP_CardCode__c {code:?}, not a valid CardCode", gone.id))
    })?;
    let record_key = RecordKey::salesforce("Account", &gone.id).to_string();
    let reason = match (&gone.master, master) {
        (Some(winner), Some(master)) => {
            let winner_code =
                master.get("SAP_CardCode__c").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty());
            match winner_code {
                None => {
                    let partner = format!("sap:BusinessPartners:{code}");
                    let to = RecordKey::salesforce("Account", winner).to_string();
                    ports.state.move_link(&record_key, &to, &partner).await?;
                    ports.salesforce_updates.set_account_card_code(winner, &code).await?;
                    let mut master = master.clone();
                    master.insert("SAP_CardCode__c".into(), Value::String(code.to_string()));
                    sync_account(ports, winner, Some(&master)).await?;
                    ports.state.put_hash(&record_key, Direction::SfToSap, DELETED, ports.clock.now_millis()).await?;
                    return Ok(Applied::new(Done::Written, AuditAction::MovePartnerLink, Some(code.to_string())));
                }
                Some(same) if same == code.as_str() => {
                    return Ok(Applied::new(Done::Skipped, AuditAction::SkipUnchanged, Some(code.to_string())));
                }
                Some(other) => format!("merged into {other}"),
            }
        }
        _ => "deleted in Salesforce".to_string(),
    };
    let (done, action) = if flow.text_option("on_delete") == Some("keep") {
        (Done::Skipped, AuditAction::SkipFiltered)
    } else {
        let current = ports.sap.business_partner(&code, &deactivation::PROPERTIES.map(String::from)).await?;
        let outcome = match current {
            None => (Done::Skipped, AuditAction::SkipMissing),
            Some(partner) if deactivation::by_us(&partner) => (Done::Skipped, AuditAction::DeactivateBusinessPartner),
            Some(_) => {
                ports.sap.patch_business_partner(&code, &deactivation::deactivate(&reason)).await?;
                tracing::info!(card_code = %code, reason = %reason, "account gone from Salesforce: partner deactivated");
                (Done::Written, AuditAction::DeactivateBusinessPartner)
            }
        };
        // An undelete syncs the account again whatever it holds, and so reactivates the partner.
        ports.state.put_hash(&record_key, Direction::SfToSap, DELETED, ports.clock.now_millis()).await?;
        outcome
    };
    // The merge moved the loser's contacts to the winner without a change event of theirs (and the
    // winner's own event names no field): the winner's partner gets them now.
    if let (Some(winner), Some(master)) = (&gone.master, master) {
        sync_account(ports, winner, Some(master)).await?;
    }
    Ok(Applied::new(done, action, Some(code.to_string())))
}

/// F2 for a contact deleted in Salesforce, or merged into another: its contact person in SAP (the
/// `ContactEmployees` row carrying its id) is made inactive, never deleted. The winning contact of
/// a merge syncs as any contact (its account's next F2 sync adds or updates its own row).
pub async fn contact_deleted(ports: &ToSap, gone: &DeletedRecord) -> Result<Applied> {
    let Some(code) = gone.card_code.as_deref().and_then(|c| CardCode::parse(c).ok()) else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipAccountNotInSap, None));
    };
    if ports.mapping.flow("F2")?.text_option("on_delete") == Some("keep") {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipFiltered, Some(code.to_string())));
    }
    let select = ["CardCode".to_string(), "ContactEmployees".to_string()];
    let Some(partner) = ports.sap.business_partner(&code, &select).await? else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipMissing, Some(code.to_string())));
    };
    let rows = partner.get("ContactEmployees").and_then(Value::as_array).into_iter().flatten();
    let Some(row) =
        rows.into_iter().find(|r| r.get("U_SF_ContactId").and_then(Value::as_str) == Some(gone.id.as_str()))
    else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipMissing, Some(code.to_string())));
    };
    let target = Some(format!("{code}/{}", row.get("InternalCode").cloned().unwrap_or(Value::Null)));
    if row.get("Active").and_then(Value::as_str) == Some("tNO") {
        return Ok(Applied::new(Done::Skipped, AuditAction::DeactivateContactPerson, target));
    }
    let patch = serde_json::json!({"ContactEmployees": [{"InternalCode": row["InternalCode"], "Active": "tNO"}]});
    let patch = patch.as_object().cloned().unwrap_or_default();
    ports.sap.patch_business_partner(&code, &patch).await?;
    Ok(Applied::new(Done::Written, AuditAction::DeactivateContactPerson, target))
}

/// The content hash stored for a deleted account: matches no account's content.
const DELETED: &str = "deleted";

/// Our PATCH changes the partner's UpdateDate, so the sap-poller will hand it to the sf-writer.
/// When Salesforce was in step with the partner before the PATCH (the last hash written
/// SAP → Salesforce is the partner's), the partner after it holds nothing Salesforce lacks: its
/// hash is stored as written, and the echo is no work. Otherwise (an SAP change not yet synced)
/// nothing is stored and the sf-writer carries that change over. Rows of collections get keys
/// only SAP assigns, so a PATCH with collections is left to the sf-writer. Best effort.
async fn expect_echo(ports: &ToSap, card_code: &CardCode, before: &Record, patch: &Record) {
    if patch.values().any(Value::is_array) {
        return;
    }
    let digest_of =
        |row: &Record| plan::plan(&ports.mapping, "BusinessPartners", row, "").map(|w| plan::content_digest(&w));
    let mut after = before.clone();
    after.extend(patch.iter().map(|(k, v)| (k.clone(), v.clone())));
    let key =
        RecordKey { system: System::Sap, object: "BusinessPartners".into(), id: card_code.to_string() }.to_string();
    let (Ok(before_digest), Ok(after_digest)) = (digest_of(before), digest_of(&after)) else { return };
    let in_step = matches!(ports.state.last_hash(&key, Direction::SapToSf).await, Ok(Some(h)) if h == before_digest);
    if in_step
        && let Err(e) = ports.state.put_hash(&key, Direction::SapToSf, &after_digest, ports.clock.now_millis()).await
    {
        tracing::warn!(error = %e, "could not store the expected echo; the sf-writer will write it once");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Record {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_side_changed_last_wins_and_a_missing_partner_means_salesforce_is_newer() {
        let account = record(json!({"LastModifiedDate": "2026-11-25T10:00:05.000+0000"}));
        let older = record(json!({"UpdateDate": "2026-11-25T00:00:00Z", "UpdateTime": "10:00:04"}));
        let newer = record(json!({"UpdateDate": "2026-11-25T00:00:00Z", "UpdateTime": "10:00:06"}));
        assert!(salesforce_is_newer(&account, Some(&older)));
        assert!(!salesforce_is_newer(&account, Some(&newer)));
        assert!(salesforce_is_newer(&account, None));
    }
}
