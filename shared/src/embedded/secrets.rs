//! [`SecretStore`] in memory.

use super::lock;
use crate::error::{Error, Result};
use crate::ports::{Secret, SecretStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Secrets by name; a missing name fails like Secrets Manager's ResourceNotFound.
#[derive(Default)]
pub struct EmbeddedSecrets {
    values: Mutex<HashMap<String, Secret>>,
}

impl EmbeddedSecrets {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a secret, builder style.
    pub fn with(self, name: &str, value: &str) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds (or replaces) a secret, e.g. to simulate a rotation.
    pub fn insert(&self, name: &str, value: &str) {
        lock(&self.values).insert(name.to_string(), Secret::from(value.to_string()));
    }
}

#[async_trait]
impl SecretStore for EmbeddedSecrets {
    async fn get(&self, name: &str) -> Result<Secret> {
        lock(&self.values).get(name).cloned().ok_or_else(|| Error::Store {
            service: "embedded secrets",
            message: format!("secret {name} does not exist; add it to the embedded secrets"),
            retryable: false,
        })
    }
}

impl fmt::Debug for EmbeddedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<String> = lock(&self.values).keys().cloned().collect();
        names.sort();
        f.debug_struct("EmbeddedSecrets").field("names", &names).finish()
    }
}
