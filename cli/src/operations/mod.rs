//! Operator tools over ports: the dead-letter queues ([`dlq`]: list, show, redrive), the
//! sf-receiver's failed invocations ([`failed_invocations`]), replaying a record ([`replay`]) and the
//! one-screen [`status`]. The `b1force` commands wire them to AWS; tests wire them to the embedded twins.

pub mod dlq;
pub mod failed_invocations;
pub mod pause;
pub mod replay;
pub mod resync_cmd;
pub mod status;

use shared::domain::state::Direction;
use shared::domain::{EpochMillis, RecordKey, System};
use shared::error::{Error, Result};

/// Which way work flows: the queue pair a record's notifications travel on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Route {
    /// `to-sap.fifo`: Salesforce changes for the sap-writer.
    ToSap,
    /// `to-salesforce.fifo`: SAP changes for the sf-writer.
    ToSalesforce,
}

impl Route {
    /// Both routes, in the order operators see them.
    pub const ALL: [Route; 2] = [Route::ToSap, Route::ToSalesforce];

    /// The queue's short name, as the `--queue` option takes it.
    pub fn name(self) -> &'static str {
        match self {
            Route::ToSap => "to-sap",
            Route::ToSalesforce => "to-salesforce",
        }
    }

    /// The audit trail's direction for work on this route.
    pub fn direction(self) -> Direction {
        match self {
            Route::ToSap => Direction::SfToSap,
            Route::ToSalesforce => Direction::SapToSf,
        }
    }

    /// The route a record's changes take: Salesforce records go to SAP and SAP records to Salesforce.
    pub fn of(record: &RecordKey) -> Self {
        match record.system {
            System::Sf => Route::ToSap,
            System::Sap => Route::ToSalesforce,
        }
    }
}

/// Parses `--since`: an RFC 3339 instant (`2026-11-25T08:00:00Z`) or a duration before `now`
/// (`90s`, `30m`, `24h`, `7d`).
pub fn parse_since(raw: &str, now: EpochMillis) -> Result<EpochMillis> {
    let raw = raw.trim();
    let unit_millis = match raw.chars().last() {
        Some('s') => Some(1_000),
        Some('m') => Some(60_000),
        Some('h') => Some(3_600_000),
        Some('d') => Some(86_400_000),
        _ => None,
    };
    if let Some(unit) = unit_millis
        && let Ok(count) = raw[..raw.len() - 1].parse::<i64>()
        && count >= 0
    {
        return Ok(now.saturating_sub(count.saturating_mul(unit)));
    }
    let at = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
        Error::Invalid(format!(
            "--since {raw:?} is neither an RFC 3339 time (2026-11-25T08:00:00Z) nor a duration (90s, 30m, 24h, 7d)"
        ))
    })?;
    Ok((at.unix_timestamp_nanos() / 1_000_000) as EpochMillis)
}

pub use shared::domain::rfc3339_millis as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMillis = 1_795_600_800_000;

    #[test]
    fn durations_count_back_from_now_and_instants_are_taken_as_given() {
        assert_eq!(parse_since("90s", NOW).unwrap(), NOW - 90_000);
        assert_eq!(parse_since("30m", NOW).unwrap(), NOW - 1_800_000);
        assert_eq!(parse_since("24h", NOW).unwrap(), NOW - 86_400_000);
        assert_eq!(parse_since("7d", NOW).unwrap(), NOW - 7 * 86_400_000);
        assert_eq!(parse_since("2026-11-25T08:00:00Z", NOW).unwrap(), 1_795_593_600_000);
        assert_eq!(parse_since("2026-11-25T09:00:00.5+01:00", NOW).unwrap(), 1_795_593_600_500);
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in ["", "h", "-1h", "24 hours", "2026-11-25", "1w", "yesterday"] {
            let err = parse_since(bad, NOW).unwrap_err().to_string();
            assert!(err.contains("RFC 3339") && err.contains("24h"), "{bad}: {err}");
        }
    }

    #[test]
    fn instants_print_as_utc_with_milliseconds_and_round_trip() {
        assert_eq!(rfc3339(1_795_593_600_123), "2026-11-25T08:00:00.123Z");
        assert_eq!(parse_since(&rfc3339(1_795_593_600_123), NOW).unwrap(), 1_795_593_600_123);
    }

    #[test]
    fn salesforce_records_go_to_sap_and_sap_records_to_salesforce() {
        let route = |raw: &str| Route::of(&RecordKey::parse(raw).unwrap());
        assert_eq!(route("sf:Opportunity:006SM0000001Tb3YAE"), Route::ToSap);
        assert_eq!(route("sap:BusinessPartners:C20000"), Route::ToSalesforce);
        assert_eq!((Route::ToSap.name(), Route::ToSalesforce.direction()), ("to-sap", Direction::SapToSf));
    }
}
