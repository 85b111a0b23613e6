//! [`AuditLog`] in memory.

use super::lock;
use crate::domain::EpochMillis;
use crate::error::Result;
use crate::ports::{AuditEntry, AuditLog};
use async_trait::async_trait;
use std::sync::Mutex;

/// Audit entries in the order they were recorded.
#[derive(Debug, Default)]
pub struct EmbeddedAudit {
    entries: Mutex<Vec<AuditEntry>>,
}

impl EmbeddedAudit {
    /// An empty trail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry of every record, in recording order.
    pub fn all(&self) -> Vec<AuditEntry> {
        lock(&self.entries).clone()
    }
}

#[async_trait]
impl AuditLog for EmbeddedAudit {
    async fn record(&self, entry: &AuditEntry) -> Result<()> {
        lock(&self.entries).push(entry.clone());
        Ok(())
    }

    async fn for_record(&self, record_key: &str) -> Result<Vec<AuditEntry>> {
        let mut entries: Vec<AuditEntry> =
            lock(&self.entries).iter().filter(|entry| entry.record_key == record_key).cloned().collect();
        entries.sort_by_key(|entry| entry.at);
        Ok(entries)
    }

    async fn failures_since(&self, since: EpochMillis, limit: Option<usize>) -> Result<Vec<AuditEntry>> {
        let mut failures: Vec<AuditEntry> =
            lock(&self.entries).iter().filter(|entry| entry.at >= since && entry.is_failure()).cloned().collect();
        // Stable: entries recorded in the same millisecond keep their recording order, reversed.
        failures.reverse();
        failures.sort_by_key(|entry| std::cmp::Reverse(entry.at));
        failures.truncate(limit.unwrap_or(usize::MAX));
        Ok(failures)
    }
}
