//! Echo suppression by content (issue #12 item 8): what our writers last wrote to a Salesforce
//! record, and whether a change event is nothing but that coming back. Pure.
//!
//! Salesforce documents `Sforce-Call-Options` (whose `client=` becomes CDC `changeOrigin`) for
//! sObject Basic Information, sObject Rows, sObject Rows by External ID, Query, QueryAll, Search
//! and the Bulk APIs, not for sObject Collections (REST API Developer Guide, "Call Options Header",
//! headers_calloptions.htm; CDC Developer Guide, `changeOrigin`). So a collection write may come
//! back untagged, and a tagged change may carry fields a Flow changed in our transaction. Neither
//! the tag alone nor its absence decides: the fields do (`docs/wire-notes.md` §8).

use crate::domain::{EpochMillis, Record, digest};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// How long a write is remembered: Event Relay redelivers from the 72-hour event bus after an
/// outage, but nearly every echo arrives within seconds; a day bounds the ledger.
pub const REMEMBER_MS: EpochMillis = 24 * 3_600_000;

/// Values remembered per field: a record written a few times before its echoes arrive still
/// recognises each of them.
const VALUES_PER_FIELD: usize = 4;

/// Stands for "whatever id Salesforce resolved": a lookup we set through a parent's external id.
const ANY_VALUE: &str = "*";

/// Fields Salesforce maintains on every save; never evidence of someone else's change.
const SYSTEM_FIELDS: &[&str] = &[
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
    "LastReferencedDate",
    "LastViewedDate",
    "OwnerId",
];

/// Fields Salesforce derives from a field we write (Opportunity stage → won/closed, probability,
/// forecast category; a person's compound `Name`; a case's `IsClosed`), so they change in our
/// transaction without being sent.
const DERIVED_FROM: &[(&str, &[&str])] = &[
    ("StageName", &["IsWon", "IsClosed", "Probability", "ForecastCategory", "ForecastCategoryName"]),
    ("FirstName", &["Name"]),
    ("LastName", &["Name"]),
    ("Status", &["IsClosed"]),
];

/// What we wrote to one record: field → digests of the values written recently (newest last).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrittenFields(BTreeMap<String, Vec<String>>);

impl WrittenFields {
    /// The fields of one record as sent to Salesforce (`attributes` and `Id` left out); a parent set
    /// by external id (`Account__r: {...}`, `Account: {...}`) stands for its lookup (`Account__c`,
    /// `AccountId`) with any value.
    pub fn of(record: &Record) -> Self {
        let mut fields = BTreeMap::new();
        for (name, value) in record {
            if name == "attributes" || name.eq_ignore_ascii_case("Id") {
                continue;
            }
            let (field, digest) = match value {
                Value::Object(_) => (lookup_of(name), ANY_VALUE.to_string()),
                other => (name.clone(), value_digest(other)),
            };
            fields.insert(field, vec![digest]);
        }
        Self(fields)
    }

    /// `self` with `later` written after it: each field keeps its last few values.
    pub fn merged(mut self, later: &WrittenFields) -> Self {
        for (field, digests) in &later.0 {
            let kept = self.0.entry(field.clone()).or_default();
            for digest in digests {
                kept.retain(|d| d != digest);
                kept.push(digest.clone());
            }
            let excess = kept.len().saturating_sub(VALUES_PER_FIELD);
            kept.drain(..excess);
        }
        self
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn names(&self, field: &str) -> bool {
        self.0.contains_key(field)
            || DERIVED_FROM.iter().any(|(from, derived)| derived.contains(&field) && self.0.contains_key(*from))
    }

    fn holds(&self, field: &str, value: &Value) -> bool {
        match self.0.get(field) {
            Some(digests) => {
                let digest = value_digest(value);
                digests.iter().any(|d| d == ANY_VALUE || *d == digest)
            }
            // A derived field's value follows from ours.
            None => self.names(field),
        }
    }
}

/// `Account__r` → `Account__c`; `Account` → `AccountId`.
fn lookup_of(relationship: &str) -> String {
    match relationship.strip_suffix("__r") {
        Some(stem) => format!("{stem}__c"),
        None => format!("{relationship}Id"),
    }
}

/// A digest of a value that two spellings of the same value share: `100` and `100.0`, a date as
/// `2026-11-25` and as epoch ms (Pub/Sub), a datetime as `…Z` and as `…+0000` (REST).
pub fn value_digest(value: &Value) -> String {
    let canonical = match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        Value::String(s) => instant_millis(s).map_or_else(|| format!("s:{s}"), |ms| (ms as f64).to_string()),
        other => other.to_string(),
    };
    digest(canonical.as_bytes())[..16].to_string()
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 datetime, `+0000` offsets included, as epoch ms.
fn instant_millis(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if s.len() == 10 {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(s, &format).ok()?;
        return Some(date.midnight().assume_utc().unix_timestamp() * 1000);
    }
    let normalized = match s.strip_suffix("+0000") {
        Some(stem) => format!("{stem}Z"),
        None => s.to_string(),
    };
    let at = time::OffsetDateTime::parse(&normalized, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// What a change event tells about one record, as far as echo suppression needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSeen<'a> {
    /// Its `changeOrigin` carries our client tag.
    pub tagged: bool,
    /// `CREATE`, `UPDATE`, ...
    pub change_type: &'a str,
    /// The fields an UPDATE names (`None`: unknown, e.g. Pub/Sub bitmaps).
    pub changed: Option<&'a BTreeSet<String>>,
    /// The values the event carries (the changed fields; every non-null field on CREATE).
    pub values: &'a Map<String, Value>,
}

/// Whether a change is only our own write coming back, given what we wrote to that record
/// (`None`: nothing remembered).
///
/// - Tagged, nothing remembered: ours (the tag is the evidence, as before).
/// - Tagged, remembered: ours unless it names a field we did not write (a Flow in our transaction).
///   Values are not compared: the transaction is ours, and Salesforce may normalise what we sent.
/// - Untagged (a collection write): ours only when every field it names, or carries on CREATE, is
///   one we wrote with a value we wrote. Anything unknown is someone else's change.
pub fn is_own_write(change: &ChangeSeen<'_>, written: Option<&WrittenFields>) -> bool {
    if !matches!(change.change_type, "CREATE" | "UPDATE") {
        return change.tagged;
    }
    let Some(written) = written else { return change.tagged };
    let foreign = |field: &String| !SYSTEM_FIELDS.contains(&field.as_str());
    match (change.change_type, change.changed) {
        ("UPDATE", Some(changed)) if change.tagged => changed.iter().filter(|f| foreign(f)).all(|f| written.names(f)),
        ("UPDATE", Some(changed)) => changed
            .iter()
            .filter(|f| foreign(f))
            .all(|f| change.values.get(f.as_str()).is_some_and(|v| written.holds(f, v))),
        ("CREATE", _) => change
            .values
            .iter()
            .filter(|(f, v)| foreign(f) && !v.is_null())
            .all(|(f, v)| if change.tagged { written.names(f) } else { written.holds(f, v) }),
        // An UPDATE whose fields are unknown: only the tag can vouch for it.
        _ => change.tagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn update<'a>(tagged: bool, changed: &'a BTreeSet<String>, values: &'a Map<String, Value>) -> ChangeSeen<'a> {
        ChangeSeen { tagged, change_type: "UPDATE", changed: Some(changed), values }
    }

    #[test]
    fn spellings_of_one_value_share_a_digest_and_different_values_do_not() {
        assert_eq!(value_digest(&json!(100)), value_digest(&json!(100.0)));
        assert_eq!(value_digest(&json!("2026-11-25")), value_digest(&json!(1_795_564_800_000_i64)));
        assert_eq!(
            value_digest(&json!("2026-11-25T10:00:00.000Z")),
            value_digest(&json!("2026-11-25T10:00:00.000+0000"))
        );
        assert_ne!(value_digest(&json!("Open")), value_digest(&json!("Closed")));
        assert_ne!(value_digest(&json!(1)), value_digest(&json!(2)));
        assert_ne!(value_digest(&json!(null)), value_digest(&json!("null")));
    }

    #[test]
    fn what_we_wrote_skips_the_id_and_turns_a_parent_by_external_id_into_its_lookup() {
        let written = WrittenFields::of(&record(json!({"attributes": {"type": "Contact"}, "Id": "003x",
            "Email": "a@b.c", "Account": {"SAP_CardCode__c": "C1"}, "Account__r": {"SAP_CardCode__c": "C1"}})));
        let fields: Vec<&String> = written.0.keys().collect();
        assert_eq!(fields, ["AccountId", "Account__c", "Email"]);
        assert!(written.holds("AccountId", &json!("001SB00000001ABYAY")));
    }

    #[test]
    fn an_untagged_update_of_only_our_fields_with_our_values_is_ours() {
        let written = WrittenFields::of(&record(json!({"Id": "x", "SAP_Payment_Status__c": "Paid", "Amount__c": 5})));
        let changed = names(&["SAP_Payment_Status__c", "LastModifiedDate"]);
        let values = record(json!({"SAP_Payment_Status__c": "Paid", "LastModifiedDate": "2026-11-25T10:00:00Z"}));
        assert!(is_own_write(&update(false, &changed, &values), Some(&written)));
        let other_value = record(json!({"SAP_Payment_Status__c": "Unpaid"}));
        assert!(!is_own_write(&update(false, &changed, &other_value), Some(&written)), "a user changed it since");
        let more = names(&["SAP_Payment_Status__c", "Phone"]);
        let values = record(json!({"SAP_Payment_Status__c": "Paid", "Phone": "1"}));
        assert!(!is_own_write(&update(false, &more, &values), Some(&written)), "a field we never wrote");
        assert!(!is_own_write(&update(false, &changed, &values), None), "nothing remembered, no tag");
    }

    #[test]
    fn a_tagged_update_is_ours_unless_it_names_a_field_we_did_not_write() {
        let written = WrittenFields::of(&record(json!({"SAP_Sync_Status__c": "Synced", "StageName": "Closed Won"})));
        let values = Map::new();
        let ours = names(&["SAP_Sync_Status__c", "IsWon", "IsClosed", "LastModifiedDate"]);
        assert!(is_own_write(&update(true, &ours, &values), Some(&written)), "derived fields follow ours");
        let flowed = names(&["SAP_Sync_Status__c", "Description", "LastModifiedDate"]);
        assert!(!is_own_write(&update(true, &flowed, &values), Some(&written)), "a Flow's field is not ours");
        assert!(is_own_write(&update(true, &flowed, &values), None), "nothing remembered: the tag decides");
    }

    #[test]
    fn a_create_is_ours_when_every_value_it_carries_is_one_we_wrote() {
        let written = WrittenFields::of(&record(json!({"SAP_CardCode__c": "C1", "Name": "Acme", "Phone": null})));
        let values = record(json!({"Id": "001x", "SAP_CardCode__c": "C1", "Name": "Acme",
            "CreatedDate": "2026-11-25T10:00:00Z", "OwnerId": "005x"}));
        let create = |tagged, values| ChangeSeen { tagged, change_type: "CREATE", changed: None, values };
        assert!(is_own_write(&create(false, &values), Some(&written)));
        let mut defaulted = values.clone();
        defaulted.insert("Rating".into(), json!("Hot"));
        assert!(!is_own_write(&create(false, &defaulted), Some(&written)), "a field set by someone else");
    }

    #[test]
    fn unknown_fields_and_other_change_types_fall_back_to_the_tag() {
        let written = WrittenFields::of(&record(json!({"Phone": "1"})));
        let values = Map::new();
        for tagged in [true, false] {
            let unknown = ChangeSeen { tagged, change_type: "UPDATE", changed: None, values: &values };
            assert_eq!(is_own_write(&unknown, Some(&written)), tagged);
            let gap = ChangeSeen { tagged, change_type: "GAP_UPDATE", changed: None, values: &values };
            assert_eq!(is_own_write(&gap, Some(&written)), tagged);
        }
    }

    #[test]
    fn merging_keeps_the_last_few_values_of_each_field() {
        let write = |phone: &str| WrittenFields::of(&record(json!({"Phone": phone})));
        let mut all = write("0");
        for n in 1..=VALUES_PER_FIELD {
            all = all.merged(&write(&n.to_string()));
        }
        assert!(!all.holds("Phone", &json!("0")), "the oldest was dropped");
        assert!((1..=VALUES_PER_FIELD).all(|n| all.holds("Phone", &json!(n.to_string()))));
        assert_eq!(all.clone().merged(&write("4")), all, "a repeated value is not kept twice");
    }
}
