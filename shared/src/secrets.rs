//! Secrets with a TTL cache in front of any [`SecretStore`], and JSON secrets split into named fields.
//!
//! Values stay [`Secret`]s (`secrecy::SecretString`) all the way, so `Debug` prints `[REDACTED]` and a
//! stray `{:?}` in a log line cannot leak them.

use crate::domain::EpochMillis;
use crate::error::{Error, Result};
use crate::ports::{Clock, CredentialSource, Secret, SecretStore};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A value fetched at a given time.
struct Fetched {
    value: Secret,
    at: EpochMillis,
}

/// One name's slot; the async lock makes concurrent first gets wait for a single fetch.
type Slot = Arc<tokio::sync::Mutex<Option<Fetched>>>;

/// A [`SecretStore`] that remembers each secret for `ttl`, so a warm Lambda reads Secrets Manager
/// once per TTL rather than once per message.
pub struct CachedSecrets<S: SecretStore> {
    inner: S,
    ttl_millis: i64,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl<S: SecretStore> CachedSecrets<S> {
    /// Caches `inner`'s answers for `ttl`, reading time from `clock`.
    pub fn new(inner: S, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        let ttl_millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        Self { inner, ttl_millis, clock, slots: Mutex::new(HashMap::new()) }
    }

    /// Forgets `name`, e.g. after a login with it failed because the secret was rotated.
    pub fn invalidate(&self, name: &str) {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(name);
    }

    fn slot(&self, name: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(name.to_string()).or_default().clone()
    }
}

#[async_trait]
impl<S: SecretStore> SecretStore for CachedSecrets<S> {
    async fn get(&self, name: &str) -> Result<Secret> {
        let slot = self.slot(name);
        let mut cached = slot.lock().await;
        let now = self.clock.now_millis();
        if let Some(fetched) = cached.as_ref()
            && now.saturating_sub(fetched.at) < self.ttl_millis
        {
            return Ok(fetched.value.clone());
        }
        // Errors are not cached: the next get tries again.
        let value = self.inner.get(name).await?;
        *cached = Some(Fetched { value: value.clone(), at: now });
        Ok(value)
    }
}

impl<S: SecretStore> fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.slots.lock().map(|slots| slots.keys().cloned().collect()).unwrap_or_default();
        f.debug_struct("CachedSecrets").field("ttl_millis", &self.ttl_millis).field("names", &names).finish()
    }
}

/// One field of a JSON secret in a [`SecretStore`], e.g. `password` of `SAP_SECRET_ID`.
pub struct SecretField {
    pub store: Arc<dyn SecretStore>,
    pub secret_id: String,
    pub field: String,
}

#[async_trait]
impl CredentialSource for SecretField {
    async fn reread(&self) -> Result<Secret> {
        let fields = SecretFields::parse(&self.secret_id, &self.store.get(&self.secret_id).await?)?;
        fields.field(&self.field).cloned()
    }
}

/// A JSON-object secret (e.g. `{"username": "...", "password": "..."}`) split into named secret fields.
pub struct SecretFields {
    secret_name: String,
    fields: BTreeMap<String, Secret>,
}

impl SecretFields {
    /// Parses `value` (named `secret_name` in errors) as a JSON object; non-string values keep their JSON text.
    pub fn parse(secret_name: &str, value: &Secret) -> Result<Self> {
        // Parse errors are reported by position only: serde's messages can quote the offending value.
        let json: serde_json::Value = serde_json::from_str(value.expose_secret()).map_err(|e| {
            Error::Config(format!("secret {secret_name} is not valid JSON (line {}, column {})", e.line(), e.column()))
        })?;
        let serde_json::Value::Object(object) = json else {
            return Err(Error::Config(format!("secret {secret_name} is JSON but not an object of named fields")));
        };
        let fields = object
            .into_iter()
            .map(|(field, value)| {
                let text = match value {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                (field, Secret::from(text))
            })
            .collect();
        Ok(Self { secret_name: secret_name.to_string(), fields })
    }

    /// The field `name`, or a configuration error naming the secret and the missing field.
    pub fn field(&self, name: &str) -> Result<&Secret> {
        self.fields.get(name).ok_or_else(|| Error::Config(format!("secret {} has no field {name:?}", self.secret_name)))
    }

    /// The field `name` if present.
    pub fn optional(&self, name: &str) -> Option<&Secret> {
        self.fields.get(name)
    }

    /// The field names present (never the values).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }
}

impl fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretFields")
            .field("secret_name", &self.secret_name)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    const VALUE: &str = "hunter2-very-secret";

    struct TestClock(AtomicI64);

    impl Clock for TestClock {
        fn now_millis(&self) -> EpochMillis {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// Counts fetches and answers slowly, so concurrent gets really overlap.
    #[derive(Default)]
    struct SlowCountingStore {
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl SecretStore for SlowCountingStore {
        async fn get(&self, name: &str) -> Result<Secret> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if name == "missing" {
                return Err(Error::Store { service: "test", message: "no such secret".into(), retryable: false });
            }
            Ok(Secret::from(VALUE.to_string()))
        }
    }

    fn cached() -> (CachedSecrets<SlowCountingStore>, Arc<TestClock>) {
        let clock = Arc::new(TestClock(AtomicI64::new(1_000_000)));
        (CachedSecrets::new(SlowCountingStore::default(), Duration::from_secs(60), clock.clone()), clock)
    }

    #[tokio::test]
    async fn a_second_get_within_the_ttl_makes_no_call_and_one_after_it_refetches() {
        let (secrets, clock) = cached();
        assert_eq!(secrets.get("sap").await.unwrap().expose_secret(), VALUE);
        clock.0.fetch_add(59_999, Ordering::SeqCst);
        secrets.get("sap").await.unwrap();
        assert_eq!(secrets.inner.fetches.load(Ordering::SeqCst), 1);
        clock.0.fetch_add(1, Ordering::SeqCst);
        secrets.get("sap").await.unwrap();
        assert_eq!(secrets.inner.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_first_gets_share_one_fetch() {
        let (secrets, _) = cached();
        let (a, b, c) = tokio::join!(secrets.get("sap"), secrets.get("sap"), secrets.get("sap"));
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(secrets.inner.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_invalidate_forces_a_refetch() {
        let (secrets, _) = cached();
        assert!(secrets.get("missing").await.is_err());
        assert!(secrets.get("missing").await.is_err());
        assert_eq!(secrets.inner.fetches.load(Ordering::SeqCst), 2);
        secrets.get("sap").await.unwrap();
        secrets.invalidate("sap");
        secrets.get("sap").await.unwrap();
        assert_eq!(secrets.inner.fetches.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn debug_output_of_wrappers_holding_a_secret_never_shows_it() {
        let (secrets, _) = cached();
        let secret = secrets.get("sap").await.unwrap();
        let json = Secret::from(format!(r#"{{"username": "manager", "password": "{VALUE}"}}"#));
        let fields = SecretFields::parse("sap", &json).unwrap();

        #[derive(Debug)]
        #[allow(dead_code)]
        struct Credentials {
            password: Secret,
        }
        let printed = [
            format!("{secrets:?}"),
            format!("{secret:?}"),
            format!("{fields:?}"),
            format!("{:#?}", Credentials { password: secret.clone() }),
            format!("{:?}", fields.field("password").unwrap()),
        ];
        for text in printed {
            assert!(!text.contains(VALUE), "{text} leaks the secret");
        }
        assert!(format!("{fields:?}").contains("password"), "field names are fine to show");
    }

    #[test]
    fn a_json_secret_splits_into_named_fields() {
        let json = Secret::from(r#"{"username": "manager", "password": "p@ss", "port": 50000}"#.to_string());
        let fields = SecretFields::parse("sap", &json).unwrap();
        assert_eq!(fields.field("password").unwrap().expose_secret(), "p@ss");
        assert_eq!(fields.field("port").unwrap().expose_secret(), "50000");
        assert_eq!(fields.names().collect::<Vec<_>>(), ["password", "port", "username"]);
        let missing = fields.field("company_db").unwrap_err().to_string();
        assert!(missing.contains("sap") && missing.contains("company_db"));
    }

    #[test]
    fn a_secret_that_is_not_a_json_object_is_rejected_without_quoting_it() {
        for raw in
            [format!("\"{VALUE}\""), VALUE.to_string(), format!("[\"{VALUE}\"]"), format!("{{\"p\": \"{VALUE}\"")]
        {
            let err = SecretFields::parse("sap", &Secret::from(raw)).unwrap_err().to_string();
            assert!(err.contains("sap") && !err.contains(VALUE), "{err}");
        }
    }
}
