//! [`WriteLedger`] in memory: entries expire as the DynamoDB adapter's TTL makes them (read-time check).

use super::lock;
use crate::domain::EpochMillis;
use crate::domain::echo::WrittenFields;
use crate::error::Result;
use crate::ports::WriteLedger;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// What was written per record key, with the instant it is forgotten.
#[derive(Debug, Default)]
pub struct EmbeddedWriteLedger {
    entries: Mutex<HashMap<String, (WrittenFields, EpochMillis)>>,
}

impl EmbeddedWriteLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are remembered (expired ones included until overwritten).
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether nothing was ever remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl WriteLedger for EmbeddedWriteLedger {
    async fn remember(
        &self,
        written: &[(String, WrittenFields)],
        now: EpochMillis,
        expires_at: EpochMillis,
    ) -> Result<()> {
        let mut entries = lock(&self.entries);
        for (key, fields) in written {
            // An expired entry is gone, as DynamoDB's TTL would have removed it.
            let before = entries.remove(key).filter(|(_, until)| *until > now);
            let merged = before.map(|(old, _)| old).unwrap_or_default().merged(fields);
            entries.insert(key.clone(), (merged, expires_at));
        }
        Ok(())
    }

    async fn written(&self, record_key: &str, now: EpochMillis) -> Result<Option<WrittenFields>> {
        Ok(lock(&self.entries).get(record_key).filter(|(_, until)| *until > now).map(|(fields, _)| fields.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::echo::REMEMBER_MS;
    use serde_json::json;

    fn fields(value: serde_json::Value) -> WrittenFields {
        WrittenFields::of(value.as_object().unwrap())
    }

    #[tokio::test]
    async fn writes_to_one_record_add_up_until_they_expire() {
        let ledger = EmbeddedWriteLedger::new();
        let key = "sf:Account:001SB00000001ABYAY".to_string();
        ledger.remember(&[(key.clone(), fields(json!({"Phone": "1"})))], 1_000, 1_000 + REMEMBER_MS).await.unwrap();
        ledger.remember(&[(key.clone(), fields(json!({"Fax": "2"})))], 2_000, 2_000 + REMEMBER_MS).await.unwrap();
        let both = fields(json!({"Phone": "1"})).merged(&fields(json!({"Fax": "2"})));
        assert_eq!(ledger.written(&key, 2_000).await.unwrap(), Some(both));
        assert_eq!(ledger.written(&key, 2_000 + REMEMBER_MS).await.unwrap(), None, "expired");
        assert_eq!(ledger.written("sf:Account:other", 0).await.unwrap(), None);
    }
}
