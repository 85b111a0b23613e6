//! What travels on the queues: a notification that a record changed, never the record's data.

use super::queue_id::queue_id;
use super::{EpochMillis, digest};
use crate::error::Error;
use std::fmt;

/// Which system a record lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// Salesforce.
    Sf,
    /// SAP Business One.
    Sap,
}

/// `system:Object:id`, e.g. `sf:Opportunity:006...` or `sap:BusinessPartners:C20000`.
/// Used as the FIFO message group, so changes to one record are serialized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub system: System,
    pub object: String,
    pub id: String,
}

impl RecordKey {
    /// A Salesforce record key.
    pub fn salesforce(object: &str, id: &super::SalesforceId) -> Self {
        Self { system: System::Sf, object: object.to_string(), id: id.as_str().to_string() }
    }

    /// Parses `sf:Object:id` / `sap:Object:id`; object names are letters, digits and `_`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let mut parts = raw.splitn(3, ':');
        let (Some(sys), Some(object), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Invalid(format!("record key {raw:?} is not system:Object:id")));
        };
        let system = match sys {
            "sf" => System::Sf,
            "sap" => System::Sap,
            other => return Err(Error::Invalid(format!("unknown system {other:?} in record key"))),
        };
        if object.is_empty() || !object.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::Invalid(format!("bad object name {object:?} in record key")));
        }
        // Any key SAP allows (quotes, `/`, spaces, non-ASCII; ItemCode is 50 characters): queries quote
        // it and queue ids encode it where it is written (#12 item 6).
        if id.trim().is_empty() || id.chars().count() > 64 || id.chars().any(char::is_control) {
            return Err(Error::Invalid("bad id in record key".into()));
        }
        Ok(Self { system, object: object.to_string(), id: id.to_string() })
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sys = match self.system {
            System::Sf => "sf",
            System::Sap => "sap",
        };
        write!(f, "{sys}:{}:{}", self.object, self.id)
    }
}

impl serde::Serialize for RecordKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecordKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RecordKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A queue message body: record X changed because of Y at time T. Writers fetch current state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// The changed record.
    pub record: RecordKey,
    /// Why, e.g. `cdc:UPDATE`, `cdc:GAP_UPDATE`, `replay`, `poll`.
    pub reason: String,
    /// When the source committed the change (epoch ms).
    pub changed_at: EpochMillis,
    /// What identifies this change at the source (event id, transaction key + sequence, UpdateDate+Time).
    pub source_version: String,
    /// Carried into every log line and audit item of the work this causes.
    pub correlation_id: String,
}

impl Notification {
    /// The idempotency key and FIFO dedup id: stable across redeliveries of the same change,
    /// different for a later change of the same record; an id SQS accepts whatever the key holds.
    pub fn idempotency_key(&self) -> String {
        let change = digest(format!("{}|{}", self.record, self.source_version).as_bytes());
        queue_id(&format!("{}-{}", self.record.id, &change[..32]))
    }

    /// The FIFO message group: the record key, as an id SQS accepts.
    pub fn group_id(&self) -> String {
        queue_id(&self.record.to_string())
    }

    /// The JSON body put on the queue.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a notification always serializes")
    }

    /// Parses a queue body; a clear error names what is wrong.
    pub fn from_body(body: &str) -> Result<Self, Error> {
        serde_json::from_str(body).map_err(|e| Error::Invalid(format!("queue message is not a notification: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SalesforceId;

    fn note(version: &str) -> Notification {
        Notification {
            record: RecordKey::salesforce("Opportunity", &SalesforceId::parse("006SM0000001Tb3").unwrap()),
            reason: "cdc:UPDATE".into(),
            changed_at: 1,
            source_version: version.into(),
            correlation_id: "c".into(),
        }
    }

    #[test]
    fn the_same_change_gets_the_same_key_and_a_later_change_a_new_one() {
        assert_eq!(note("tx1:1").idempotency_key(), note("tx1:1").idempotency_key());
        assert_ne!(note("tx1:1").idempotency_key(), note("tx2:1").idempotency_key());
        assert!(note("x").idempotency_key().len() <= 128);
    }

    #[test]
    fn a_sap_key_with_quotes_slashes_spaces_and_umlauts_is_a_record_key_and_makes_valid_queue_ids() {
        let key = RecordKey::parse("sap:BusinessPartners:C/9 Ü'x").unwrap();
        assert_eq!(key.id, "C/9 Ü'x");
        let n = Notification { record: key, ..note("v") };
        assert!(crate::domain::queue_id::is_queue_id(&n.group_id()), "{}", n.group_id());
        assert!(crate::domain::queue_id::is_queue_id(&n.idempotency_key()), "{}", n.idempotency_key());
        assert_eq!(Notification::from_body(&n.to_body()).unwrap(), n);
        let item = RecordKey::parse(&format!("sap:Items:{}", "Ü".repeat(50))).unwrap();
        let n = Notification { record: item, ..note("v") };
        assert!(crate::domain::queue_id::is_queue_id(&n.idempotency_key()), "a 50-character ItemCode of umlauts");
        for bad in ["sap:Items:", "sap:Items: ", "sap:Items:a\nb"] {
            assert!(RecordKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_notification_round_trips_through_its_body() {
        let n = note("v");
        assert_eq!(Notification::from_body(&n.to_body()).unwrap(), n);
        assert!(Notification::from_body("{\"record\":\"sf:Opp'ty:1\"}").is_err());
        assert_eq!(n.group_id(), "sf:Opportunity:006SM0000001Tb3YAE");
    }
}
