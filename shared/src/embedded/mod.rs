//! In-process twins of the AWS adapters, with the same semantics: used by `b1force demo` and most tests.
//!
//! Time-dependent behaviour (visibility timeouts, dedup windows, secret TTLs) reads an injectable
//! [`Clock`], so tests move time with [`ManualClock`] instead of sleeping. The idempotency and audit
//! twins get their time through the port's arguments, so they need no clock.

mod audit;
mod idempotency;
mod queue;
mod reports;
mod secrets;
mod sync_state;
mod write_ledger;

pub use audit::EmbeddedAudit;
pub use idempotency::EmbeddedIdempotency;
pub use queue::{EmbeddedQueue, EmbeddedQueueOptions};
pub use reports::{EmbeddedNotifier, LocalReports};
pub use secrets::EmbeddedSecrets;
pub use sync_state::EmbeddedSyncState;
pub use write_ledger::EmbeddedWriteLedger;

use crate::domain::EpochMillis;
use crate::ports::Clock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start` (epoch ms).
    pub fn new(start: EpochMillis) -> Self {
        Self { now: AtomicI64::new(start) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.now.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// Sets the clock to `now` (epoch ms).
    pub fn set(&self, now: EpochMillis) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> EpochMillis {
        self.now.load(Ordering::SeqCst)
    }
}

/// Locks a std mutex, ignoring poisoning: every twin keeps its state consistent between statements,
/// so a panic elsewhere (a failed assertion in a test) must not turn into a second panic here.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
