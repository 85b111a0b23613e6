//! Fault injection and call counting shared by both sandboxes.

use rand::{Rng, SeedableRng, rngs::StdRng};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What to break, settable at runtime (`POST /__sandbox/faults` with this JSON, or [`Faults::set`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Share of API requests answered with a 5xx (0.0–1.0).
    pub error_rate: f64,
    /// Added latency per API request, in milliseconds.
    pub latency_ms: u64,
    /// Salesforce: share of requests answered 403 REQUEST_LIMIT_EXCEEDED.
    pub request_limit_rate: f64,
    /// Salesforce: share of writes answered UNABLE_TO_LOCK_ROW.
    pub lock_row_rate: f64,
    /// Expire every session/token after this many authenticated API requests (SAP and Salesforce).
    pub expire_sessions_every: Option<u64>,
    /// Random seed, for repeatable runs.
    pub seed: Option<u64>,
}

/// Live fault state.
pub struct Faults {
    config: Mutex<FaultConfig>,
    rng: Mutex<StdRng>,
}

impl Default for Faults {
    fn default() -> Self {
        Self { config: Mutex::new(FaultConfig::default()), rng: Mutex::new(StdRng::seed_from_u64(7)) }
    }
}

impl Faults {
    /// Replaces the configuration (and reseeds when a seed is given).
    pub fn set(&self, config: FaultConfig) {
        if let Some(seed) = config.seed {
            *self.rng.lock().unwrap() = StdRng::seed_from_u64(seed);
        }
        *self.config.lock().unwrap() = config;
    }

    /// The current configuration.
    pub fn get(&self) -> FaultConfig {
        self.config.lock().unwrap().clone()
    }

    /// True with probability `rate`.
    pub fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && self.rng.lock().unwrap().random_bool(rate.min(1.0))
    }

    /// Sleeps for the configured latency, if any.
    pub async fn delay(&self) {
        let ms = self.config.lock().unwrap().latency_ms;
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
}

/// Calls per endpoint name (e.g. `POST /Login`, `GET /Orders`, `query`, `composite/sobjects`).
#[derive(Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl CallCounter {
    /// Counts one call.
    pub fn hit(&self, endpoint: &str) {
        *self.counts.lock().unwrap().entry(endpoint.to_string()).or_default() += 1;
    }

    /// A copy of the counts.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }

    /// Total of all endpoints.
    pub fn total(&self) -> u64 {
        self.counts.lock().unwrap().values().sum()
    }

    /// Calls to endpoints whose name starts with `prefix`.
    pub fn matching(&self, prefix: &str) -> u64 {
        self.counts.lock().unwrap().iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
    }

    /// Forgets all counts.
    pub fn reset(&self) {
        self.counts.lock().unwrap().clear();
    }
}
