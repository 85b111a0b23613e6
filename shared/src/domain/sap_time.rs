//! SAP's clock. B1 stamps `UpdateDate`/`UpdateTime` in the company's local wall-clock time and the
//! Service Layer sends no zone with them (`"UpdateDate": "2026-10-25T00:00:00Z"` carries the date
//! only; `"UpdateTime": "02:30:00"`). A stamp becomes an instant only through the company's zone,
//! and on a fall-back night one hour of stamps happens twice: a change stamped `02:10` can come
//! after one stamped `02:50`. [`SapTimeZone`] turns stamps into instants and says how low the
//! stamps of a stretch of time can go, which is where a poll that must miss nothing starts.

use crate::domain::EpochMillis;
use crate::error::{Error, Result};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// The zone SAP stamps in (setting `SAP_TIME_ZONE`, an IANA name; UTC when unset).
#[derive(Clone, Debug)]
pub struct SapTimeZone {
    name: String,
    zone: TimeZone,
}

impl Default for SapTimeZone {
    fn default() -> Self {
        Self::utc()
    }
}

impl SapTimeZone {
    /// UTC: stamps are instants as they are.
    pub fn utc() -> Self {
        Self { name: "UTC".into(), zone: TimeZone::UTC }
    }

    /// The zone with this IANA name (`Europe/Berlin`, `America/New_York`, `UTC`).
    pub fn named(name: &str) -> Result<Self> {
        let name = name.trim();
        let zone = TimeZone::get(name).map_err(|_| {
            Error::Config(format!("SAP_TIME_ZONE {name:?} is not an IANA time zone name (e.g. Europe/Berlin or UTC)"))
        })?;
        Ok(Self { name: name.to_string(), zone })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The earliest instant a stamp may stand for: in a repeated fall-back hour, its first pass; a
    /// stamp in a spring-forward gap (B1 never writes one) counts as the gap's end. An empty time
    /// is midnight. `None` for text that is not `YYYY-MM-DD` and `HH:MM:SS`.
    pub fn earliest_instant(&self, date: &str, time: &str) -> Option<EpochMillis> {
        let date: Date = date.get(..10)?.parse().ok()?;
        let time: Time = if time.is_empty() { Time::midnight() } else { time.parse().ok()? };
        let at = self.zone.to_ambiguous_timestamp(DateTime::from_parts(date, time)).earlier().ok()?;
        Some(at.as_millisecond())
    }

    /// The wall-clock stamp SAP gives a change at `at`: (`YYYY-MM-DD`, `HH:MM:SS`).
    pub fn stamp_at(&self, at: EpochMillis) -> (String, String) {
        let local = self.zone.to_datetime(timestamp(at));
        (local.date().to_string(), local.time().strftime("%H:%M:%S").to_string())
    }

    /// The lowest stamp any change between `from` and `to` can carry: the stamp at `from`, or,
    /// where the clocks go back in between, the first stamp after the change (its hour repeats).
    pub fn lowest_stamp_between(&self, from: EpochMillis, to: EpochMillis) -> (String, String) {
        let mut lowest = self.stamp_at(from);
        for transition in self.zone.following(timestamp(from)) {
            let at = transition.timestamp().as_millisecond();
            if at > to {
                break;
            }
            let stamp = self.stamp_at(at);
            if stamp < lowest {
                lowest = stamp;
            }
        }
        lowest
    }
}

fn timestamp(at: EpochMillis) -> Timestamp {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-25 01:00 UTC: Berlin goes from 03:00 CEST back to 02:00 CET.
    const BERLIN_FALL_BACK: EpochMillis = 1_792_890_000_000;
    /// 2026-03-29 01:00 UTC: Berlin goes from 02:00 CET to 03:00 CEST.
    const BERLIN_SPRING_FORWARD: EpochMillis = 1_774_746_000_000;
    const MINUTE: EpochMillis = 60_000;

    fn stamp(date: &str, time: &str) -> (String, String) {
        (date.to_string(), time.to_string())
    }

    #[test]
    fn the_transition_constants_are_the_instants_berlin_changes_its_clocks() {
        let berlin = SapTimeZone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.stamp_at(BERLIN_FALL_BACK - 1000), stamp("2026-10-25", "02:59:59"));
        assert_eq!(berlin.stamp_at(BERLIN_FALL_BACK), stamp("2026-10-25", "02:00:00"));
        assert_eq!(berlin.stamp_at(BERLIN_SPRING_FORWARD - 1000), stamp("2026-03-29", "01:59:59"));
        assert_eq!(berlin.stamp_at(BERLIN_SPRING_FORWARD), stamp("2026-03-29", "03:00:00"));
    }

    #[test]
    fn a_repeated_stamp_stands_for_its_first_pass_and_utc_stamps_are_instants() {
        let berlin = SapTimeZone::named("Europe/Berlin").unwrap();
        // 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET): the earlier is taken.
        assert_eq!(berlin.earliest_instant("2026-10-25", "02:30:00"), Some(BERLIN_FALL_BACK - 30 * MINUTE));
        // The date may come as the Service Layer sends it, with a zero time and a Z.
        assert_eq!(berlin.earliest_instant("2026-10-25T00:00:00Z", "02:30:00"), Some(BERLIN_FALL_BACK - 30 * MINUTE));
        let utc = SapTimeZone::default();
        assert_eq!(utc.earliest_instant("2026-10-25", "01:00:00"), Some(BERLIN_FALL_BACK));
        assert_eq!(utc.earliest_instant("2026-10-25", ""), Some(BERLIN_FALL_BACK - 60 * MINUTE));
        assert_eq!(utc.earliest_instant("25.10.2026", "01:00:00"), None);
        assert_eq!(utc.earliest_instant("2026-10-25", "1 o'clock"), None);
    }

    #[test]
    fn across_a_fall_back_the_lowest_stamp_is_the_repeated_hours_start() {
        let berlin = SapTimeZone::named("Europe/Berlin").unwrap();
        let from = BERLIN_FALL_BACK - 10 * MINUTE; // 02:50 CEST
        assert_eq!(berlin.lowest_stamp_between(from, from + 5 * MINUTE), stamp("2026-10-25", "02:50:00"));
        assert_eq!(berlin.lowest_stamp_between(from, BERLIN_FALL_BACK + 15 * MINUTE), stamp("2026-10-25", "02:00:00"));
        // Springing forward only skips stamps: the start is the stamp at `from`.
        let before = BERLIN_SPRING_FORWARD - 10 * MINUTE;
        assert_eq!(berlin.lowest_stamp_between(before, before + 60 * MINUTE), stamp("2026-03-29", "01:50:00"));
        let utc = SapTimeZone::utc();
        assert_eq!(utc.lowest_stamp_between(from, from + 600 * MINUTE), stamp("2026-10-25", "00:50:00"));
        // Starting after the change, the stamps start low again: 02:05 CET.
        let after = BERLIN_FALL_BACK + 5 * MINUTE;
        assert_eq!(berlin.lowest_stamp_between(after, after + 60 * MINUTE), stamp("2026-10-25", "02:05:00"));
    }

    #[test]
    fn an_unknown_zone_name_is_a_configuration_error() {
        for bad in ["Mars/Olympus_Mons", "", "CEST+1"] {
            let err = SapTimeZone::named(bad).unwrap_err();
            assert!(matches!(err, Error::Config(_)) && err.to_string().contains("SAP_TIME_ZONE"), "{err}");
        }
        assert_eq!(SapTimeZone::named(" America/New_York ").unwrap().name(), "America/New_York");
    }
}
