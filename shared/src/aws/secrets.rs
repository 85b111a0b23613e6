//! [`SecretStore`] on Secrets Manager. Wrap it in [`crate::secrets::CachedSecrets`] to avoid a call per use.

use super::{malformed, store_error};
use crate::error::{Error, Result};
use crate::ports::{Secret, SecretStore};
use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

const SERVICE: &str = "Secrets Manager";

/// Secrets Manager, reading the current version's SecretString.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerStore {
    /// Wraps a client.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get(&self, name: &str) -> Result<Secret> {
        let output = self.client.get_secret_value().secret_id(name).send().await.map_err(|err| {
            if let Some(GetSecretValueError::ResourceNotFoundException(_)) = err.as_service_error() {
                Error::Store {
                    service: SERVICE,
                    message: format!(
                        "secret {name} does not exist (or is not visible to this role); create it or fix the name"
                    ),
                    retryable: false,
                }
            } else {
                store_error(SERVICE, &format!("GetSecretValue for {name}"), err)
            }
        })?;
        // Taking the string out of the output leaves no other copy of the value behind.
        let value = output.secret_string.ok_or_else(|| {
            malformed(SERVICE, format!("secret {name} has no SecretString (binary secrets are not supported)"))
        })?;
        Ok(Secret::from(value))
    }
}
