//! [`IdempotencyStore`] in memory, deciding exactly as the DynamoDB adapter's condition expression does.

use super::lock;
use crate::domain::EpochMillis;
use crate::domain::idempotency::{IdempotencyRecord, Status, refused_claim, seconds_rounded_up};
use crate::error::Result;
use crate::ports::{Claim, IdempotencyStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Idempotency records in a map; the mutex makes each claim one atomic conditional put.
#[derive(Debug, Default)]
pub struct EmbeddedIdempotency {
    records: Mutex<HashMap<String, IdempotencyRecord>>,
}

impl EmbeddedIdempotency {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored record for `key`, for tests and the demo.
    pub fn record(&self, key: &str) -> Option<IdempotencyRecord> {
        lock(&self.records).get(key).cloned()
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedIdempotency {
    async fn claim(
        &self,
        key: &str,
        payload_hash: &str,
        now: EpochMillis,
        in_progress_until: EpochMillis,
    ) -> Result<Claim> {
        let mut records = lock(&self.records);
        match records.get(key) {
            Some(existing) if !IdempotencyRecord::allows_claim(Some(existing), now) => {
                refused_claim(key, existing, payload_hash, now)
            }
            _ => {
                records.insert(key.to_string(), IdempotencyRecord::in_progress(payload_hash, in_progress_until));
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(&self, key: &str, result: &str, expires_at: EpochMillis) -> Result<()> {
        let mut records = lock(&self.records);
        // Like UpdateItem: updates the fields it names, creating the item if it is missing.
        let record = records.entry(key.to_string()).or_insert_with(|| IdempotencyRecord {
            status: Status::Completed,
            expiration: 0,
            in_progress_expiration: None,
            data: None,
            validation: None,
        });
        record.status = Status::Completed;
        record.data = Some(result.to_string());
        record.expiration = seconds_rounded_up(expires_at);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        lock(&self.records).remove(key);
        Ok(())
    }
}
