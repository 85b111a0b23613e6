//! Idempotency records as AWS Lambda Powertools keeps them, and its lock condition: the pure rules
//! the DynamoDB store's condition expressions evaluate and the embedded twin applies, so both decide alike.

use crate::domain::EpochMillis;
use crate::error::{Error, Result};

const SERVICE: &str = "DynamoDB idempotency";

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// We hold the key now (new, expired, or a stale INPROGRESS taken over).
    Acquired,
    /// Done before; here is the stored result.
    Completed(Option<String>),
}

/// How long an INPROGRESS record outlives its lock, so that a crashed invocation's record is
/// eventually removed by TTL too (the lock itself is taken over as soon as `in_progress_expiration` passes).
pub const IN_PROGRESS_RECORD_MARGIN_SECS: i64 = 3600;

/// Powertools' `status` values (EXPIRED is never written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
}

impl Status {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "INPROGRESS",
            Status::Completed => "COMPLETED",
        }
    }

    /// The status a stored spelling names.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "INPROGRESS" => Some(Status::InProgress),
            "COMPLETED" => Some(Status::Completed),
            _ => None,
        }
    }
}

/// One idempotency record, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub status: Status,
    /// Epoch seconds; past it the record counts as absent.
    pub expiration: i64,
    /// Epoch milliseconds; past it an INPROGRESS record may be taken over.
    pub in_progress_expiration: Option<EpochMillis>,
    /// The stored result of a completed run.
    pub data: Option<String>,
    /// The payload hash the key was first claimed with.
    pub validation: Option<String>,
}

impl IdempotencyRecord {
    /// The record a successful claim writes.
    pub fn in_progress(payload_hash: &str, in_progress_until: EpochMillis) -> Self {
        Self {
            status: Status::InProgress,
            expiration: seconds_rounded_up(in_progress_until) + IN_PROGRESS_RECORD_MARGIN_SECS,
            in_progress_expiration: Some(in_progress_until),
            data: None,
            validation: Some(payload_hash.to_string()),
        }
    }

    /// Powertools' lock condition: `attribute_not_exists(id) OR expiration < now_secs OR
    /// (status = INPROGRESS AND attribute_exists(in_progress_expiration) AND in_progress_expiration < now_ms)`.
    pub fn allows_claim(existing: Option<&Self>, now: EpochMillis) -> bool {
        let Some(record) = existing else { return true };
        record.expiration < now_seconds(now)
            || (record.status == Status::InProgress && record.in_progress_expiration.is_some_and(|until| until < now))
    }
}

/// What a claim returns when the lock condition refused it, given the record that is there.
pub fn refused_claim(key: &str, existing: &IdempotencyRecord, payload_hash: &str, now: EpochMillis) -> Result<Claim> {
    if IdempotencyRecord::allows_claim(Some(existing), now) {
        // The condition failed against a record that no longer blocks: it changed under us. Try again.
        return Err(Error::Store {
            service: SERVICE,
            message: format!("idempotency record {key} changed during the claim; retry"),
            retryable: true,
        });
    }
    match existing.status {
        Status::InProgress => Err(Error::InProgress(key.to_string())),
        Status::Completed => match existing.validation.as_deref() {
            Some(stored) if stored != payload_hash => Err(Error::PayloadMismatch(key.to_string())),
            _ => Ok(Claim::Completed(existing.data.clone())),
        },
    }
}

/// Epoch ms → epoch seconds, rounded up so a record never expires before the instant asked for.
pub fn seconds_rounded_up(millis: EpochMillis) -> i64 {
    millis.div_euclid(1000) + i64::from(millis.rem_euclid(1000) != 0)
}

/// The `:now` the lock condition compares `expiration` with (whole seconds, as Powertools does).
pub fn now_seconds(now: EpochMillis) -> i64 {
    now.div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMillis = 1_800_000_000_500;

    fn completed(hash: &str, expiration: i64) -> IdempotencyRecord {
        IdempotencyRecord {
            status: Status::Completed,
            expiration,
            in_progress_expiration: None,
            data: Some("done".into()),
            validation: Some(hash.into()),
        }
    }

    #[test]
    fn milliseconds_round_up_to_whole_seconds() {
        assert_eq!(seconds_rounded_up(1_000), 1);
        assert_eq!(seconds_rounded_up(1_001), 2);
        assert_eq!(seconds_rounded_up(0), 0);
    }

    #[test]
    fn an_in_progress_record_outlives_its_lock_so_ttl_cleans_up_after_a_crash() {
        let record = IdempotencyRecord::in_progress("h", NOW);
        assert!(record.expiration * 1000 > NOW);
        assert_eq!(record.in_progress_expiration, Some(NOW));
    }

    #[test]
    fn a_fresh_lock_blocks_and_a_stale_one_does_not() {
        let record = IdempotencyRecord::in_progress("h", NOW + 1);
        assert!(!IdempotencyRecord::allows_claim(Some(&record), NOW));
        assert!(IdempotencyRecord::allows_claim(Some(&record), NOW + 2));
        assert!(IdempotencyRecord::allows_claim(None, NOW));
    }

    #[test]
    fn an_in_progress_record_without_a_lock_expiry_blocks_until_the_record_expires() {
        let record = IdempotencyRecord { in_progress_expiration: None, ..IdempotencyRecord::in_progress("h", NOW) };
        assert!(!IdempotencyRecord::allows_claim(Some(&record), NOW + 10_000));
        assert!(IdempotencyRecord::allows_claim(Some(&record), (record.expiration + 1) * 1000));
    }

    #[test]
    fn a_completed_record_blocks_until_the_second_after_its_expiration() {
        let record = completed("h", NOW / 1000);
        assert!(!IdempotencyRecord::allows_claim(Some(&record), NOW));
        assert!(IdempotencyRecord::allows_claim(Some(&record), NOW + 1000));
    }

    #[test]
    fn a_refused_claim_returns_the_result_or_says_why_not() {
        let done = completed("h", NOW / 1000 + 60);
        assert_eq!(refused_claim("k", &done, "h", NOW).unwrap(), Claim::Completed(Some("done".into())));
        assert!(matches!(refused_claim("k", &done, "other", NOW), Err(Error::PayloadMismatch(k)) if k == "k"));
        let running = IdempotencyRecord::in_progress("h", NOW + 1000);
        assert!(matches!(refused_claim("k", &running, "h", NOW), Err(Error::InProgress(k)) if k == "k"));
    }

    #[test]
    fn a_refusal_by_a_record_that_no_longer_blocks_is_retryable() {
        let expired = completed("h", NOW / 1000 - 5);
        assert!(refused_claim("k", &expired, "h", NOW).unwrap_err().is_retryable());
    }
}
