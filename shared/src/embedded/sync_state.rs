//! [`SyncState`] in memory, applying the same rules the DynamoDB adapter's condition expressions evaluate.

use super::lock;
use crate::domain::EpochMillis;
use crate::domain::state::{Direction, Lease, Watermark, check_link, check_move, moves_forward};
use crate::error::Result;
use crate::ports::SyncState;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Sync state in maps; one mutex over all of them makes each call one atomic conditional write,
/// and a link's two directions one transaction.
#[derive(Debug, Default)]
pub struct EmbeddedSyncState {
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    hashes: HashMap<(String, Direction), String>,
    watermarks: HashMap<String, Watermark>,
    caught_up: HashMap<String, EpochMillis>,
    sap_by_salesforce: HashMap<String, String>,
    salesforce_by_sap: HashMap<String, String>,
    leases: HashMap<String, Lease>,
}

impl EmbeddedSyncState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SyncState for EmbeddedSyncState {
    async fn last_hash(&self, record_key: &str, direction: Direction) -> Result<Option<String>> {
        Ok(lock(&self.tables).hashes.get(&(record_key.to_string(), direction)).cloned())
    }

    async fn put_hash(&self, record_key: &str, direction: Direction, hash: &str, _at: EpochMillis) -> Result<()> {
        lock(&self.tables).hashes.insert((record_key.to_string(), direction), hash.to_string());
        Ok(())
    }

    async fn watermark(&self, entity: &str) -> Result<Option<Watermark>> {
        Ok(lock(&self.tables).watermarks.get(entity).cloned())
    }

    async fn advance_watermark(&self, entity: &str, to: &Watermark) -> Result<bool> {
        // Refuses what DynamoDB's adapter cannot store comparably, so both backends reject the same input.
        to.sort_key()?;
        let mut tables = lock(&self.tables);
        if !moves_forward(tables.watermarks.get(entity), to) {
            return Ok(false);
        }
        tables.watermarks.insert(entity.to_string(), to.clone());
        Ok(true)
    }

    async fn caught_up_at(&self, entity: &str) -> Result<Option<EpochMillis>> {
        Ok(lock(&self.tables).caught_up.get(entity).copied())
    }

    async fn record_caught_up(&self, entity: &str, at: EpochMillis) -> Result<()> {
        let mut tables = lock(&self.tables);
        let stored = tables.caught_up.entry(entity.to_string()).or_insert(at);
        *stored = (*stored).max(at);
        Ok(())
    }

    async fn link(&self, salesforce_key: &str, sap_key: &str) -> Result<()> {
        let mut tables = lock(&self.tables);
        check_link(
            salesforce_key,
            sap_key,
            tables.sap_by_salesforce.get(salesforce_key).map(String::as_str),
            tables.salesforce_by_sap.get(sap_key).map(String::as_str),
        )?;
        tables.sap_by_salesforce.insert(salesforce_key.to_string(), sap_key.to_string());
        tables.salesforce_by_sap.insert(sap_key.to_string(), salesforce_key.to_string());
        Ok(())
    }

    async fn move_link(&self, from: &str, to: &str, sap_key: &str) -> Result<()> {
        let mut tables = lock(&self.tables);
        let linked_sap = tables.salesforce_by_sap.get(sap_key).map(String::as_str);
        check_move(from, to, sap_key, linked_sap, tables.sap_by_salesforce.get(to).map(String::as_str))?;
        if tables.sap_by_salesforce.get(from).map(String::as_str) == Some(sap_key) {
            tables.sap_by_salesforce.remove(from);
        }
        tables.sap_by_salesforce.insert(to.to_string(), sap_key.to_string());
        tables.salesforce_by_sap.insert(sap_key.to_string(), to.to_string());
        Ok(())
    }

    async fn sap_key_for(&self, salesforce_key: &str) -> Result<Option<String>> {
        Ok(lock(&self.tables).sap_by_salesforce.get(salesforce_key).cloned())
    }

    async fn salesforce_key_for(&self, sap_key: &str) -> Result<Option<String>> {
        Ok(lock(&self.tables).salesforce_by_sap.get(sap_key).cloned())
    }

    async fn acquire_lease(&self, name: &str, owner: &str, now: EpochMillis, until: EpochMillis) -> Result<Lease> {
        let lease = Lease::request(name, owner, now, until)?;
        let mut tables = lock(&self.tables);
        match tables.leases.get(name) {
            Some(held) if !held.can_be_taken_by(owner, now) => Err(held.held_elsewhere()),
            _ => {
                tables.leases.insert(name.to_string(), lease.clone());
                Ok(lease)
            }
        }
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let mut tables = lock(&self.tables);
        if tables.leases.get(name).is_some_and(|held| held.owner == owner) {
            tables.leases.remove(name);
        }
        Ok(())
    }
}
