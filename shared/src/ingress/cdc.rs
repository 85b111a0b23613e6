//! Salesforce Change Data Capture envelopes as delivered to EventBridge, parsed defensively.
//!
//! Event Relay puts the change event under `detail.payload`; AppFlow puts it directly under
//! `detail`. Only the header is trusted: CDC carries changed fields only, so writers re-read.
//! Record-id validation here is shared by every delivery path (the object table is
//! [`crate::domain::objects`]).

use crate::domain::objects::{WHOLE_OBJECT, salesforce_object, salesforce_object_names};
use crate::domain::{EpochMillis, Notification, RecordKey, SalesforceId, System};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeSet;

/// What one CDC event asks of us.
#[derive(Debug, Clone, PartialEq)]
pub enum CdcAction {
    /// Notify the writer that these records changed; a GAP_OVERFLOW is one whole-object (`*`) notification.
    Notify(Vec<Notification>),
    /// Our own write coming back (changeOrigin carries our client tag): no work.
    Echo { entity: String, record_ids: Vec<String> },
    /// A change type this flow does not act on (DELETE, GAP_DELETE).
    Ignore { entity: String, change_type: String, record_ids: Vec<String> },
}

/// Objects whose deletion (or loss in a merge) means something in SAP: a deleted account's partner
/// is deactivated, a merged one's link moves to the winner; a deleted or merged contact's contact
/// person is deactivated (F2, issue #14 item 5).
const DELETES_ACTED_ON: &[&str] = &["Account", "Contact"];

/// Change types that mean "re-read these records".
const ACTED_ON: &[&str] = &["CREATE", "UPDATE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE", "GAP_UNDELETE"];

/// The key of one changed record of a supported object; the id must be valid and carry the object's prefix.
pub fn record_key(object: &str, raw_id: &str) -> Result<RecordKey> {
    let prefix = prefix_of(object)?;
    let id = SalesforceId::parse(raw_id)?;
    if id.key_prefix() != prefix {
        return Err(Error::Invalid(format!("record id {id} is not a {object} id (prefix {prefix})")));
    }
    Ok(RecordKey::salesforce(object, &id))
}

/// `sf:<object>:*`: every record of a supported object (the writer resyncs it from `changed_at`).
pub fn whole_object_key(object: &str) -> Result<RecordKey> {
    prefix_of(object)?;
    Ok(RecordKey { system: System::Sf, object: object.to_string(), id: WHOLE_OBJECT.to_string() })
}

fn prefix_of(object: &str) -> Result<&'static str> {
    salesforce_object(object).map(|o| o.id_prefix).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown object {:?}: this receiver handles {}",
            object.chars().take(80).collect::<String>(),
            salesforce_object_names()
        ))
    })
}

/// The `ChangeEventHeader` of an EventBridge event: `detail.payload` (Event Relay) or flat `detail` (AppFlow).
pub fn change_header(event: &Value) -> Result<&Value> {
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| Error::Invalid("event has no `detail` object; expected an EventBridge envelope".into()))?;
    let change = detail.get("payload").filter(|p| p.is_object()).unwrap_or(detail);
    change.get("ChangeEventHeader").filter(|h| h.is_object()).ok_or_else(|| {
        Error::Invalid(
            "event has neither detail.payload.ChangeEventHeader (Event Relay) nor detail.ChangeEventHeader (AppFlow)"
                .into(),
        )
    })
}

/// Parses one EventBridge event carrying a CDC change event.
/// `client_tag` is our `Sforce-Call-Options` client id (echo suppression by tag).
pub fn parse(event: &Value, client_tag: &str) -> Result<CdcAction> {
    parse_with(event, Some(client_tag))
}

/// [`parse`] without looking at `changeOrigin`: what the event asks of us if it is not an echo.
pub fn parse_ignoring_origin(event: &Value) -> Result<CdcAction> {
    parse_with(event, None)
}

/// The change event's body: `detail.payload` (Event Relay) or `detail` (AppFlow).
fn change_body(event: &Value) -> Option<&serde_json::Map<String, Value>> {
    let detail = event.get("detail")?;
    detail.get("payload").filter(|p| p.is_object()).unwrap_or(detail).as_object()
}

/// What an event says changed, for echo suppression by content ([`crate::domain::echo`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeContent {
    /// `changeOrigin` carries our client tag.
    pub tagged: bool,
    pub change_type: String,
    pub changed: ChangedFields,
    /// The field values the event carries (header left out).
    pub values: serde_json::Map<String, Value>,
}

impl ChangeContent {
    /// What [`crate::domain::echo::is_own_write`] judges.
    pub fn seen(&self) -> crate::domain::echo::ChangeSeen<'_> {
        crate::domain::echo::ChangeSeen {
            tagged: self.tagged,
            change_type: &self.change_type,
            changed: match &self.changed {
                ChangedFields::Named(names) => Some(names),
                ChangedFields::Unknown => None,
            },
            values: &self.values,
        }
    }
}

/// The content of a well-formed event ([`parse`] has accepted it).
pub fn change_content(event: &Value, client_tag: &str) -> Result<ChangeContent> {
    let header = change_header(event)?;
    let mut values = change_body(event).cloned().unwrap_or_default();
    values.remove("ChangeEventHeader");
    Ok(ChangeContent {
        tagged: is_echo(header.get("changeOrigin").and_then(Value::as_str).unwrap_or(""), client_tag),
        change_type: str_field(header, "changeType")?.to_string(),
        changed: changed_fields(header),
        values,
    })
}

fn parse_with(event: &Value, client_tag: Option<&str>) -> Result<CdcAction> {
    let header = change_header(event)?;
    let entity = str_field(header, "entityName")?;
    prefix_of(entity)?;
    let change_type = str_field(header, "changeType")?;
    if change_type == "GAP_OVERFLOW" {
        // recordIds holds a placeholder (`000000000000000AAA`), not real ids. Checked before echoes:
        // a needless resync costs reads, a dropped overflow loses changes.
        let keys = vec![whole_object_key(entity)?];
        return Ok(CdcAction::Notify(notifications(event, header, change_type, keys)?));
    }
    let record_ids: Vec<String> = header
        .get("recordIds")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Invalid("ChangeEventHeader.recordIds is missing or not an array".into()))?
        .iter()
        .map(|v| match v.as_str() {
            // Ids are 15 or 18 characters, a wildcard `001*` fewer: anything longer is not an id, and
            // is refused before it reaches an audit item or a queue attribute (#13 item 10).
            Some(id) if id.chars().count() <= MAX_RECORD_ID_CHARS => Ok(id.to_string()),
            Some(_) => Err(Error::Invalid(format!(
                "recordIds holds a value longer than {MAX_RECORD_ID_CHARS} characters: not a Salesforce id"
            ))),
            None => Err(Error::Invalid("recordIds holds a non-string".into())),
        })
        .collect::<Result<_>>()?;
    if let Some(client_tag) = client_tag
        && is_echo(header.get("changeOrigin").and_then(Value::as_str).unwrap_or(""), client_tag)
    {
        return Ok(CdcAction::Echo { entity: entity.to_string(), record_ids });
    }
    let deleted = matches!(change_type, "DELETE" | "GAP_DELETE");
    if deleted && !DELETES_ACTED_ON.contains(&entity) {
        return Ok(CdcAction::Ignore { entity: entity.to_string(), change_type: change_type.to_string(), record_ids });
    }
    if !deleted && !ACTED_ON.contains(&change_type) {
        return Err(Error::Invalid(format!(
            "unknown changeType {:?}",
            change_type.chars().take(40).collect::<String>()
        )));
    }
    if record_ids.is_empty() {
        return Err(Error::Invalid("ChangeEventHeader.recordIds is empty".into()));
    }
    let keys = changed_records(entity, &record_ids)?;
    Ok(CdcAction::Notify(notifications(event, header, change_type, keys)?))
}

/// Longest `recordIds` entry: an 18-character id.
const MAX_RECORD_ID_CHARS: usize = 18;
/// Longest event id taken as a correlation id (EventBridge's are 36-character UUIDs).
const MAX_EVENT_ID_CHARS: usize = 128;
/// Longest `transactionKey` (Salesforce's are 36-character UUIDs).
const MAX_TRANSACTION_KEY_CHARS: usize = 64;

/// One key per distinct record; a wildcard (`"001*"`, sent after some field-type conversions) means the whole object.
fn changed_records(entity: &str, record_ids: &[String]) -> Result<Vec<RecordKey>> {
    let prefix = prefix_of(entity)?;
    let mut keys: Vec<RecordKey> = Vec::with_capacity(record_ids.len());
    for raw in record_ids {
        let key = match raw.strip_suffix('*') {
            Some(stem) if stem.is_empty() || stem == prefix => whole_object_key(entity)?,
            _ => record_key(entity, raw)?,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn notifications(event: &Value, header: &Value, change_type: &str, keys: Vec<RecordKey>) -> Result<Vec<Notification>> {
    let changed_at = commit_timestamp(header)?;
    let event_id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    // Each reaches notifications, idempotency keys and audit items: bounded (#13 item 10).
    if event_id.chars().count() > MAX_EVENT_ID_CHARS {
        return Err(Error::Invalid(format!("the event id is longer than {MAX_EVENT_ID_CHARS} characters")));
    }
    let version = match (header.get("transactionKey").and_then(Value::as_str), header.get("sequenceNumber")) {
        (Some(tx), Some(seq)) => {
            if tx.chars().count() > MAX_TRANSACTION_KEY_CHARS {
                return Err(Error::Invalid(format!(
                    "ChangeEventHeader.transactionKey is longer than {MAX_TRANSACTION_KEY_CHARS} characters"
                )));
            }
            let seq = seq.as_u64().ok_or_else(|| {
                Error::Invalid("ChangeEventHeader.sequenceNumber is not a non-negative integer".into())
            })?;
            format!("{tx}:{seq}")
        }
        _ if !event_id.is_empty() => event_id.to_string(),
        _ => {
            return Err(Error::Invalid(
                "event has no transactionKey/sequenceNumber and no id to deduplicate on".into(),
            ));
        }
    };
    let correlation_id = if event_id.is_empty() { version.clone() } else { event_id.to_string() };
    Ok(keys
        .into_iter()
        .map(|record| Notification {
            record,
            reason: format!("cdc:{change_type}"),
            changed_at,
            source_version: version.clone(),
            correlation_id: correlation_id.clone(),
        })
        .collect())
}

/// `changeOrigin` is `com/salesforce/api/rest/63.0;client=<tag>`; match the tag exactly, not a prefix.
pub fn is_echo(change_origin: &str, client_tag: &str) -> bool {
    change_origin
        .split(';')
        .any(|part| part.trim().strip_prefix("client=").is_some_and(|c| c.trim_end_matches('/') == client_tag))
}

/// Which top-level fields one change touched, as far as its header tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedFields {
    /// These fields; compound subfields (`BillingAddress.City`) are collapsed to their compound field.
    Named(BTreeSet<String>),
    /// Any field may have changed: a create, undelete or gap, an empty list, or Pub/Sub hex bitmaps
    /// (`0x400800`, `3-0x01`) that only the event schema could decode.
    Unknown,
}

/// The top-level fields an UPDATE's header names in `changedFields`, `nulledFields` and `diffFields`,
/// so a writer can skip updates to fields it does not map. Never fails: doubt means [`ChangedFields::Unknown`].
pub fn changed_fields(header: &Value) -> ChangedFields {
    if header.get("changeType").and_then(Value::as_str) != Some("UPDATE") {
        return ChangedFields::Unknown;
    }
    let mut named = BTreeSet::new();
    for list in ["changedFields", "nulledFields", "diffFields"] {
        // CometD and AppFlow headers have no nulledFields/diffFields: absent lists add nothing.
        let Some(entries) = header.get(list) else { continue };
        let Some(entries) = entries.as_array() else { return ChangedFields::Unknown };
        for entry in entries {
            let Some(field) = entry.as_str().and_then(top_level_field) else { return ChangedFields::Unknown };
            named.insert(field.to_string());
        }
    }
    if named.is_empty() { ChangedFields::Unknown } else { ChangedFields::Named(named) }
}

/// `BillingAddress.City` → `BillingAddress`; anything that is not a field name (a bitmap) → `None`.
fn top_level_field(entry: &str) -> Option<&str> {
    let field = entry.split('.').next().unwrap_or_default();
    let is_name = field.starts_with(|c: char| c.is_ascii_alphabetic())
        && field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_name.then_some(field)
}

fn str_field<'a>(header: &'a Value, name: &str) -> Result<&'a str> {
    header
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Invalid(format!("ChangeEventHeader.{name} is missing or not a string")))
}

/// Epoch ms as a number (Pub/Sub, Relay) or an ISO-8601 string (AppFlow, Apex `JSON.serialize`).
pub(crate) fn epoch_millis(value: &Value) -> Option<EpochMillis> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => iso_millis(s),
        _ => None,
    }
}

/// An ISO-8601 (RFC 3339) instant such as `2026-11-25T10:00:00.000Z` as epoch ms.
pub(crate) fn iso_millis(s: &str) -> Option<EpochMillis> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn commit_timestamp(header: &Value) -> Result<EpochMillis> {
    let value = header
        .get("commitTimestamp")
        .ok_or_else(|| Error::Invalid("ChangeEventHeader.commitTimestamp is missing".into()))?;
    epoch_millis(value)
        .ok_or_else(|| Error::Invalid("ChangeEventHeader.commitTimestamp is neither epoch ms nor ISO-8601".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RELAY: &str = include_str!("../../../events/sf-receiver/opportunity-closed-won.json");

    fn relay() -> Value {
        serde_json::from_str(RELAY).unwrap()
    }

    fn sample(name: &str) -> Value {
        let path = format!("{}/../events/sf-receiver/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn notes(event: &Value) -> Vec<Notification> {
        match parse(event, "b1force").unwrap() {
            CdcAction::Notify(notes) => notes,
            other => panic!("expected notify, got {other:?}"),
        }
    }

    fn header_mut(event: &mut Value) -> &mut Value {
        &mut event["detail"]["payload"]["ChangeEventHeader"]
    }

    #[test]
    fn an_event_relay_envelope_becomes_one_notification_per_record() {
        let notes = notes(&relay());
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].record.object, "Opportunity");
        assert_eq!(notes[0].reason, "cdc:UPDATE");
        assert!(notes[0].source_version.contains(':'));
    }

    #[test]
    fn the_appflow_shape_without_payload_wrapper_is_accepted_too() {
        let mut event = relay();
        let payload = event["detail"]["payload"].take();
        event["detail"] = payload;
        event["detail"]["ChangeEventHeader"]["commitTimestamp"] = json!("2026-11-25T10:00:00.000Z");
        assert_eq!(notes(&event)[0].changed_at, 1_795_600_800_000);
    }

    #[test]
    fn every_sample_of_every_supported_object_names_its_record() {
        let cases = [
            ("account-update.json", "sf:Account:001SB00000001ABYAY", "cdc:UPDATE"),
            ("contact-create.json", "sf:Contact:003SB00000001CDYAY", "cdc:CREATE"),
            ("lead-update.json", "sf:Lead:00QSB00000001EF2AY", "cdc:UPDATE"),
            ("case-create.json", "sf:Case:500SB00000001IJYAY", "cdc:CREATE"),
            ("appflow-account-update.json", "sf:Account:001SB00000001ABYAY", "cdc:UPDATE"),
        ];
        for (file, key, reason) in cases {
            let notes = notes(&sample(file));
            assert_eq!(notes.len(), 1, "{file}");
            assert_eq!((notes[0].record.to_string().as_str(), notes[0].reason.as_str()), (key, reason), "{file}");
        }
    }

    #[test]
    fn the_same_change_delivered_by_relay_and_appflow_makes_the_same_notification_except_correlation() {
        let relay = notes(&sample("account-update.json")).remove(0);
        let appflow = notes(&sample("appflow-account-update.json")).remove(0);
        assert_eq!(
            (&relay.record, &relay.changed_at, &relay.source_version),
            (&appflow.record, &appflow.changed_at, &appflow.source_version)
        );
        assert_eq!(relay.idempotency_key(), appflow.idempotency_key());
    }

    #[test]
    fn our_own_writes_are_echoes_but_similar_client_names_are_not() {
        assert!(is_echo("com/salesforce/api/rest/63.0;client=b1force", "b1force"));
        assert!(is_echo("com/salesforce/api/bulkapi/63.0;client=b1force", "b1force"), "Bulk API 2.0 writes too");
        assert!(!is_echo("com/salesforce/api/rest/63.0;client=b1force-staging", "b1force"));
        assert!(!is_echo("", "b1force"));
        let mut event = relay();
        header_mut(&mut event)["changeOrigin"] = json!("com/salesforce/api/rest/63.0;client=b1force");
        assert!(matches!(parse(&event, "b1force").unwrap(), CdcAction::Echo { .. }));
        assert!(matches!(parse_ignoring_origin(&event).unwrap(), CdcAction::Notify(_)));
    }

    #[test]
    fn the_content_of_an_update_names_its_fields_and_values_without_the_header() {
        let mut event = relay();
        header_mut(&mut event)["changeOrigin"] = json!("com/salesforce/api/rest/63.0;client=b1force");
        let content = change_content(&event, "b1force").unwrap();
        assert!(content.tagged);
        assert_eq!(content.change_type, "UPDATE");
        assert!(!content.values.contains_key("ChangeEventHeader"));
        assert_eq!(content.values.get("StageName"), event["detail"]["payload"].get("StageName"));
        assert!(matches!(&content.changed, ChangedFields::Named(names) if names.contains("StageName")));
        assert!(!change_content(&relay(), "b1force").unwrap().tagged);
    }

    #[test]
    fn deletes_of_accounts_and_contacts_are_work_others_are_ignored_and_unknown_change_types_rejected() {
        let mut event = sample("account-update.json");
        for change_type in ["DELETE", "GAP_DELETE"] {
            header_mut(&mut event)["changeType"] = json!(change_type);
            let CdcAction::Notify(notes) = parse(&event, "b1force").unwrap() else { panic!("{change_type}") };
            assert_eq!(
                (notes[0].record.id.as_str(), notes[0].reason.as_str()),
                ("001SB00000001ABYAY", &*format!("cdc:{change_type}"))
            );
        }
        let mut contact = sample("contact-create.json");
        header_mut(&mut contact)["changeType"] = json!("DELETE");
        assert!(matches!(parse(&contact, "b1force").unwrap(), CdcAction::Notify(_)));
        let mut case = sample("case-create.json");
        let id = header_mut(&mut case)["recordIds"][0].clone();
        for change_type in ["DELETE", "GAP_DELETE"] {
            header_mut(&mut case)["changeType"] = json!(change_type);
            let CdcAction::Ignore { record_ids, .. } = parse(&case, "b1force").unwrap() else {
                panic!("{change_type}")
            };
            assert_eq!(json!(record_ids), json!([id]));
        }
        header_mut(&mut event)["changeType"] = json!("SNAPSHOT");
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("unknown changeType"));
    }

    #[test]
    fn malformed_events_get_errors_that_name_what_is_wrong() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "detail"),
            (json!({"detail": {"foo": 1}}), "ChangeEventHeader"),
            (
                json!({"detail": {"payload": {"ChangeEventHeader": {"entityName": "Widget", "changeType": "UPDATE", "recordIds": []}}}}),
                "unknown object",
            ),
            (
                json!({"detail": {"ChangeEventHeader": {"entityName": "Opportunity", "changeType": "UPDATE"}}}),
                "recordIds",
            ),
            (
                json!({"detail": {"ChangeEventHeader": {"entityName": "Opportunity", "changeType": "UPDATE", "recordIds": []}}}),
                "empty",
            ),
        ];
        for (event, needle) in cases {
            let err = parse(&event, "b1force").unwrap_err();
            assert!(err.to_string().contains(needle), "{err} should mention {needle}");
            assert!(!err.is_retryable());
        }
        let mut event = relay();
        header_mut(&mut event)["recordIds"] = json!(["006' or Id != '"]);
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("not a Salesforce id"));
        header_mut(&mut event)["recordIds"] = json!(["001SM0000000iibYAA"]);
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("not a Opportunity id"));
        header_mut(&mut event)["recordIds"] = json!(["001*"]);
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("not a Salesforce id"));
    }

    #[test]
    fn gap_events_notify_every_named_record_once() {
        let gap = notes(&sample("opportunity-gap-update.json"));
        let keys: Vec<String> = gap.iter().map(|n| n.record.to_string()).collect();
        assert_eq!(keys, ["sf:Opportunity:006SB00000001GHYAY", "sf:Opportunity:006SB00000002MNYAY"]);
        assert!(gap.iter().all(|n| n.reason == "cdc:GAP_UPDATE"));
        let mut event = sample("opportunity-gap-update.json");
        for change_type in ["GAP_CREATE", "GAP_UNDELETE", "UNDELETE"] {
            header_mut(&mut event)["changeType"] = json!(change_type);
            header_mut(&mut event)["recordIds"] = json!(["006SB00000001GH", "006SB00000001GHYAY"]);
            let merged = notes(&event);
            assert_eq!(merged.len(), 1, "15- and 18-char forms of one id are one record");
            assert_eq!(merged[0].reason, format!("cdc:{change_type}"));
        }
    }

    #[test]
    fn a_gap_overflow_asks_for_a_resync_of_the_whole_object_from_its_commit_time() {
        let event = sample("account-gap-overflow.json");
        let notes = notes(&event);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].record.to_string(), "sf:Account:*");
        assert_eq!(notes[0].reason, "cdc:GAP_OVERFLOW");
        assert_eq!(notes[0].changed_at, change_header(&event).unwrap()["commitTimestamp"].as_i64().unwrap());
        assert_eq!(RecordKey::parse("sf:Account:*").unwrap(), notes[0].record);
    }

    #[test]
    fn a_gap_overflow_is_resynced_even_when_it_carries_our_client_tag() {
        let mut event = sample("account-gap-overflow.json");
        event["detail"]["payload"]["ChangeEventHeader"]["changeOrigin"] =
            json!("com/salesforce/api/rest/63.0;client=b1force");
        assert_eq!(notes(&event)[0].record.id, "*");
    }

    #[test]
    fn a_wildcard_record_id_means_the_whole_object() {
        let mut event = sample("account-update.json");
        header_mut(&mut event)["recordIds"] = json!(["001*", "001SB00000001ABYAY"]);
        let keys: Vec<String> = notes(&event).iter().map(|n| n.record.to_string()).collect();
        assert_eq!(keys, ["sf:Account:*", "sf:Account:001SB00000001ABYAY"]);
    }

    #[test]
    fn changed_fields_collapse_compound_subfields_and_include_nulled_and_diff_fields() {
        let header = json!({"changeType": "UPDATE",
            "changedFields": ["BillingAddress.City", "BillingAddress.Street", "Phone", "LastModifiedDate"],
            "nulledFields": ["Fax"], "diffFields": ["Description"]});
        let ChangedFields::Named(fields) = changed_fields(&header) else { panic!("expected names") };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        assert_eq!(fields, ["BillingAddress", "Description", "Fax", "LastModifiedDate", "Phone"]);
    }

    #[test]
    fn changed_fields_are_unknown_for_bitmaps_creates_and_odd_shapes() {
        let unknown = [
            json!({"changeType": "UPDATE", "changedFields": ["0x400800"], "nulledFields": []}),
            json!({"changeType": "UPDATE", "changedFields": ["Phone"], "nulledFields": ["3-0x01"]}),
            json!({"changeType": "UPDATE", "changedFields": "Phone"}),
            json!({"changeType": "UPDATE", "changedFields": [42]}),
            json!({"changeType": "UPDATE", "changedFields": []}),
            json!({"changeType": "CREATE", "changedFields": ["Phone"]}),
            json!({"changeType": "GAP_UPDATE"}),
            json!({}),
        ];
        for header in unknown {
            assert_eq!(changed_fields(&header), ChangedFields::Unknown, "{header}");
        }
        // Bitmaps in nulledFields must not break parsing of the event itself either.
        let mut event = sample("account-update.json");
        header_mut(&mut event)["nulledFields"] = json!(["0x400800", "3-0x01"]);
        assert_eq!(notes(&event).len(), 1);
    }
}
