//! Business hours in a time zone (`Mon-Fri 08:00-18:00`, `Europe/Berlin`): how many of them passed
//! between two instants. The no-CDC alarm counts silence in these hours, so a quiet night or
//! weekend does not page anyone while a quiet Tuesday morning does.

use super::EpochMillis;
use crate::error::{Error, Result};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Windows longer than this are counted up to it (the alarm only needs "more than the threshold").
const MAX_DAYS: i32 = 400;

/// Weekdays and a daily window, in a zone.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    /// Monday first.
    days: [bool; 7],
    start: Time,
    /// `None`: the end of the day (`24:00`).
    end: Option<Time>,
    zone: TimeZone,
}

impl BusinessHours {
    /// `spec` is `<days> <HH:MM>-<HH:MM>`: days as `Mon-Fri`, `Mon,Wed,Fri` or `Mon-Sun`, the end may
    /// be `24:00`; `zone` an IANA name.
    pub fn parse(spec: &str, zone: &str) -> Result<Self> {
        let invalid = |why: &str| {
            Error::Config(format!("BUSINESS_HOURS {spec:?}: {why} (expected e.g. \"Mon-Fri 08:00-18:00\")"))
        };
        let (days_text, window) = spec.trim().split_once(' ').ok_or_else(|| invalid("days and hours are needed"))?;
        let mut days = [false; 7];
        for part in days_text.split(',') {
            let index = |name: &str| {
                DAYS.iter().position(|d| d.eq_ignore_ascii_case(name.trim())).ok_or_else(|| invalid("unknown day"))
            };
            match part.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (index(first)?, index(last)?);
                    if first > last {
                        return Err(invalid("a day range runs Monday to Sunday"));
                    }
                    days[first..=last].iter_mut().for_each(|day| *day = true);
                }
                None => days[index(part)?] = true,
            }
        }
        let (start, end) = window.trim().split_once('-').ok_or_else(|| invalid("the hours are start-end"))?;
        let start: Time = start.trim().parse().map_err(|_| invalid("the start is not HH:MM"))?;
        let end = match end.trim() {
            "24:00" => None,
            end => Some(end.parse::<Time>().map_err(|_| invalid("the end is not HH:MM"))?),
        };
        if end.is_some_and(|end| end <= start) {
            return Err(invalid("the end must be after the start"));
        }
        let zone = TimeZone::get(zone.trim())
            .map_err(|_| Error::Config(format!("BUSINESS_TIME_ZONE {zone:?} is not an IANA time zone name")))?;
        Ok(Self { days, start, end, zone })
    }

    /// Business hours between `from` and `to` (0 when `to` is not after `from`).
    pub fn hours_between(&self, from: EpochMillis, to: EpochMillis) -> f64 {
        if to <= from {
            return 0.0;
        }
        let first = self.local_date(from);
        let mut total_ms: i64 = 0;
        let mut day = first;
        for _ in 0..=MAX_DAYS {
            if self.instant(day, Time::midnight()) >= to {
                break;
            }
            if self.days[day.weekday().to_monday_zero_offset() as usize] {
                let open = self.instant(day, self.start);
                let close = match self.end {
                    Some(end) => self.instant(day, end),
                    None => day.tomorrow().map_or(i64::MAX, |next| self.instant(next, Time::midnight())),
                };
                total_ms += (close.min(to) - open.max(from)).max(0);
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        total_ms as f64 / 3_600_000.0
    }

    fn local_date(&self, at: EpochMillis) -> Date {
        self.zone.to_datetime(Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)).date()
    }

    /// The instant of a wall-clock time (in a spring-forward gap: after it; when it repeats: the first).
    fn instant(&self, day: Date, time: Time) -> EpochMillis {
        self.zone
            .to_ambiguous_timestamp(DateTime::from_parts(day, time))
            .compatible()
            .map_or(EpochMillis::MAX, |at| at.as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: EpochMillis = 3_600_000;
    /// Monday 2026-12-07 00:00 UTC.
    const MONDAY: EpochMillis = 1_796_601_600_000;

    fn office() -> BusinessHours {
        BusinessHours::parse("Mon-Fri 08:00-18:00", "UTC").unwrap()
    }

    #[test]
    fn only_the_hours_inside_the_window_on_business_days_count() {
        let hours = office();
        assert_eq!(hours.hours_between(MONDAY + 6 * HOUR, MONDAY + 10 * HOUR), 2.0);
        // Monday 17:00 to Tuesday 09:00: one hour each day, the night not at all.
        assert_eq!(hours.hours_between(MONDAY + 17 * HOUR, MONDAY + 33 * HOUR), 2.0);
        // Friday 17:00 to Monday 09:00: a weekend is two hours of silence.
        assert_eq!(hours.hours_between(MONDAY + 4 * 24 * HOUR + 17 * HOUR, MONDAY + 7 * 24 * HOUR + 9 * HOUR), 2.0);
        assert_eq!(hours.hours_between(MONDAY, MONDAY + 7 * 24 * HOUR), 50.0);
        assert_eq!(hours.hours_between(MONDAY + 10 * HOUR, MONDAY + 9 * HOUR), 0.0);
    }

    #[test]
    fn day_lists_a_full_day_and_zones_are_understood() {
        let all_week = BusinessHours::parse("Mon-Sun 00:00-24:00", "UTC").unwrap();
        assert_eq!(all_week.hours_between(MONDAY, MONDAY + 30 * HOUR), 30.0);
        let some = BusinessHours::parse("mon,wed 09:00-17:00", "UTC").unwrap();
        assert_eq!(some.hours_between(MONDAY, MONDAY + 3 * 24 * HOUR), 16.0);
        // 08:00 in Berlin is 07:00 UTC in winter: Monday 07:00-08:00 UTC is its first business hour.
        let berlin = BusinessHours::parse("Mon-Fri 08:00-18:00", "Europe/Berlin").unwrap();
        assert_eq!(berlin.hours_between(MONDAY + 6 * HOUR, MONDAY + 8 * HOUR), 1.0);
    }

    #[test]
    fn a_spring_forward_day_has_one_business_hour_less_when_the_window_spans_the_change() {
        // Berlin, Sunday 2026-03-29 02:00 → 03:00; a 00:00-24:00 Sunday window lasts 23 hours.
        let sundays = BusinessHours::parse("Sun 00:00-24:00", "Europe/Berlin").unwrap();
        let saturday_noon_utc = 1_774_699_200_000; // 2026-03-28 12:00 UTC
        assert_eq!(sundays.hours_between(saturday_noon_utc, saturday_noon_utc + 48 * HOUR), 23.0);
    }

    #[test]
    fn malformed_specs_and_zones_are_configuration_errors_that_say_what_is_expected() {
        for bad in ["", "Mon-Fri", "Mon-Fri 8-18", "Fri-Mon 08:00-18:00", "Mon-Fri 18:00-08:00", "Xyz 08:00-18:00"] {
            let err = BusinessHours::parse(bad, "UTC").unwrap_err();
            assert!(matches!(err, Error::Config(_)) && err.to_string().contains("Mon-Fri 08:00-18:00"), "{bad}: {err}");
        }
        assert!(BusinessHours::parse("Mon-Fri 08:00-18:00", "Mars/Olympus").unwrap_err().to_string().contains("IANA"));
    }
}
