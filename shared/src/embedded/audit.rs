//! [`AuditLog`] in memory.

use super::lock;
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
}
