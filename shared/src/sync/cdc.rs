//! Salesforce Change Data Capture envelopes as delivered to EventBridge, parsed defensively.
//!
//! Event Relay puts the change event under `detail.payload`; AppFlow puts it directly under
//! `detail`. Only the header is trusted: CDC carries changed fields only, so writers re-read.

use crate::domain::{EpochMillis, Notification, RecordKey, SalesforceId};
use crate::error::{Error, Result};
use serde_json::Value;

/// What one CDC event asks of us.
#[derive(Debug, Clone, PartialEq)]
pub enum CdcAction {
    /// Notify the writer that these records changed.
    Notify(Vec<Notification>),
    /// Our own write coming back (changeOrigin carries our client tag): no work.
    Echo { entity: String, record_ids: Vec<String> },
    /// A change type this flow does not act on (e.g. DELETE of an opportunity).
    Ignore { entity: String, change_type: String, record_ids: Vec<String> },
    /// GAP_OVERFLOW: the whole object needs a resync from a watermark (not built yet: issue #3).
    Overflow { entity: String },
}

/// The Salesforce objects this receiver accepts, with their id key prefixes.
pub const SUPPORTED: &[(&str, &str)] = &[("Opportunity", "006")];

/// Parses one EventBridge event carrying a CDC change event.
/// `client_tag` is our `Sforce-Call-Options` client id (echo suppression).
pub fn parse(event: &Value, client_tag: &str) -> Result<CdcAction> {
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| Error::Invalid("event has no `detail` object; expected an EventBridge envelope".into()))?;
    let change = detail.get("payload").filter(|p| p.is_object()).unwrap_or(detail);
    let header = change.get("ChangeEventHeader").ok_or_else(|| {
        Error::Invalid(
            "event has neither detail.payload.ChangeEventHeader (Event Relay) nor detail.ChangeEventHeader (AppFlow)"
                .into(),
        )
    })?;
    let entity = str_field(header, "entityName")?;
    let Some(&(_, prefix)) = SUPPORTED.iter().find(|(name, _)| *name == entity) else {
        return Err(Error::Invalid(format!(
            "unknown object {entity:?}: this receiver handles {}",
            SUPPORTED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )));
    };
    let change_type = str_field(header, "changeType")?;
    let record_ids: Vec<String> = header
        .get("recordIds")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Invalid("ChangeEventHeader.recordIds is missing or not an array".into()))?
        .iter()
        .map(|v| v.as_str().map(String::from).ok_or_else(|| Error::Invalid("recordIds holds a non-string".into())))
        .collect::<Result<_>>()?;
    if change_type == "GAP_OVERFLOW" {
        return Ok(CdcAction::Overflow { entity: entity.to_string() });
    }
    if is_echo(header.get("changeOrigin").and_then(Value::as_str).unwrap_or(""), client_tag) {
        return Ok(CdcAction::Echo { entity: entity.to_string(), record_ids });
    }
    let acts = matches!(change_type, "CREATE" | "UPDATE" | "UNDELETE" | "GAP_CREATE" | "GAP_UPDATE" | "GAP_UNDELETE");
    if !acts {
        if matches!(change_type, "DELETE" | "GAP_DELETE") {
            return Ok(CdcAction::Ignore {
                entity: entity.to_string(),
                change_type: change_type.to_string(),
                record_ids,
            });
        }
        return Err(Error::Invalid(format!("unknown changeType {change_type:?}")));
    }
    if record_ids.is_empty() {
        return Err(Error::Invalid("ChangeEventHeader.recordIds is empty".into()));
    }
    let changed_at = commit_timestamp(header)?;
    let event_id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    let version = match (header.get("transactionKey").and_then(Value::as_str), header.get("sequenceNumber")) {
        (Some(tx), Some(seq)) => format!("{tx}:{seq}"),
        _ if !event_id.is_empty() => event_id.to_string(),
        _ => {
            return Err(Error::Invalid(
                "event has no transactionKey/sequenceNumber and no id to deduplicate on".into(),
            ));
        }
    };
    let notes = record_ids
        .iter()
        .map(|raw| {
            let id = SalesforceId::parse(raw)?;
            if id.key_prefix() != prefix {
                return Err(Error::Invalid(format!("record id {id} is not a {entity} id (prefix {prefix})")));
            }
            Ok(Notification {
                record: RecordKey::salesforce(entity, &id),
                reason: format!("cdc:{change_type}"),
                changed_at,
                source_version: version.clone(),
                correlation_id: if event_id.is_empty() { version.clone() } else { event_id.to_string() },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CdcAction::Notify(notes))
}

/// `changeOrigin` is `com/salesforce/api/rest/63.0;client=<tag>`; match the tag exactly, not a prefix.
pub fn is_echo(change_origin: &str, client_tag: &str) -> bool {
    change_origin
        .split(';')
        .any(|part| part.trim().strip_prefix("client=").is_some_and(|c| c.trim_end_matches('/') == client_tag))
}

fn str_field<'a>(header: &'a Value, name: &str) -> Result<&'a str> {
    header
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Invalid(format!("ChangeEventHeader.{name} is missing or not a string")))
}

/// Epoch ms as a number (Pub/Sub, Relay) or an ISO string (AppFlow).
fn commit_timestamp(header: &Value) -> Result<EpochMillis> {
    match header.get("commitTimestamp") {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| Error::Invalid("commitTimestamp is not an integer".into())),
        Some(Value::String(s)) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .map_err(|_| Error::Invalid(format!("commitTimestamp {s:?} is neither epoch ms nor ISO-8601"))),
        _ => Err(Error::Invalid("ChangeEventHeader.commitTimestamp is missing".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RELAY: &str = include_str!("../../../events/sf-receiver/opportunity-closed-won.json");

    fn relay() -> Value {
        serde_json::from_str(RELAY).unwrap()
    }

    #[test]
    fn an_event_relay_envelope_becomes_one_notification_per_record() {
        let CdcAction::Notify(notes) = parse(&relay(), "b1force").unwrap() else { panic!("expected notify") };
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
        let CdcAction::Notify(notes) = parse(&event, "b1force").unwrap() else { panic!("expected notify") };
        assert_eq!(notes[0].changed_at, 1_795_600_800_000);
    }

    #[test]
    fn our_own_writes_are_echoes_but_similar_client_names_are_not() {
        assert!(is_echo("com/salesforce/api/rest/63.0;client=b1force", "b1force"));
        assert!(!is_echo("com/salesforce/api/rest/63.0;client=b1force-staging", "b1force"));
        assert!(!is_echo("", "b1force"));
        let mut event = relay();
        event["detail"]["payload"]["ChangeEventHeader"]["changeOrigin"] =
            json!("com/salesforce/api/rest/63.0;client=b1force");
        assert!(matches!(parse(&event, "b1force").unwrap(), CdcAction::Echo { .. }));
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
        ];
        for (event, needle) in cases {
            let err = parse(&event, "b1force").unwrap_err();
            assert!(err.to_string().contains(needle), "{err} should mention {needle}");
            assert!(!err.is_retryable());
        }
        let mut event = relay();
        event["detail"]["payload"]["ChangeEventHeader"]["recordIds"] = json!(["006' or Id != '"]);
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("not a Salesforce id"));
        event["detail"]["payload"]["ChangeEventHeader"]["recordIds"] = json!(["001SM0000000iibYAA"]);
        assert!(parse(&event, "b1force").unwrap_err().to_string().contains("not a Opportunity id"));
    }

    #[test]
    fn gap_events_are_re_read_and_overflow_asks_for_a_resync() {
        let mut event = relay();
        event["detail"]["payload"]["ChangeEventHeader"]["changeType"] = json!("GAP_UPDATE");
        let CdcAction::Notify(notes) = parse(&event, "b1force").unwrap() else { panic!("expected notify") };
        assert_eq!(notes[0].reason, "cdc:GAP_UPDATE");
        event["detail"]["payload"]["ChangeEventHeader"]["changeType"] = json!("GAP_OVERFLOW");
        assert!(matches!(parse(&event, "b1force").unwrap(), CdcAction::Overflow { .. }));
    }
}
