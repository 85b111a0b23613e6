//! The reconciler's input, as EventBridge Scheduler sends it: `{"period": "month_to_date" |
//! "previous_month" | "yesterday"}` or `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`, plus an optional
//! `"repair": true`. Pure.

use crate::domain::parse_date;
use crate::error::{Error, Result};
use crate::report::model::Period;
use serde_json::Value;
use time::{Date, Duration};

/// What one run is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconRequest {
    pub period: Period,
    pub repair: bool,
}

const DAY: &[time::format_description::FormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

fn day(date: Date) -> String {
    date.format(DAY).expect("a date always formats")
}

/// The period a named window means on `today` (UTC): the month so far, the whole previous month, or yesterday.
pub fn named_period(name: &str, today: Date) -> Result<Period> {
    let (from, to) = match name {
        "month_to_date" => (today.replace_day(1).expect("day 1 exists"), today),
        "previous_month" => {
            let last = today.replace_day(1).expect("day 1 exists") - Duration::days(1);
            (last.replace_day(1).expect("day 1 exists"), last)
        }
        "yesterday" => {
            let yesterday = today - Duration::days(1);
            (yesterday, yesterday)
        }
        other => {
            return Err(Error::Invalid(format!(
                "period {:?} is not month_to_date, previous_month or yesterday",
                other.chars().take(30).collect::<String>()
            )));
        }
    };
    Ok(Period { from: day(from), to: day(to) })
}

/// An explicit period; `from` must not be after `to`.
pub fn explicit_period(from: &str, to: &str) -> Result<Period> {
    let (start, end) = (parse_date(from)?, parse_date(to)?);
    if start > end {
        return Err(Error::Invalid(format!("the period starts ({from}) after it ends ({to})")));
    }
    Ok(Period { from: day(start), to: day(end) })
}

impl ReconRequest {
    /// Reads the scheduler's input; `today` (UTC, `YYYY-MM-DD`) resolves named periods. Unknown keys are refused,
    /// so a typo (`"perod"`) fails loudly instead of reconciling the wrong window.
    pub fn from_event(event: &Value, today: &str) -> Result<Self> {
        let Some(fields) = event.as_object() else {
            return Err(Error::Invalid("the reconciler's input is not a JSON object".into()));
        };
        if let Some(unknown) = fields.keys().find(|k| !["period", "from", "to", "repair"].contains(&k.as_str())) {
            return Err(Error::Invalid(format!(
                "unknown input field {:?}; expected period, or from and to, and optionally repair",
                unknown.chars().take(30).collect::<String>()
            )));
        }
        let text = |name: &str| -> Result<Option<&str>> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::Invalid(format!("input field {name} must be a string"))),
            }
        };
        let period = match (text("period")?, text("from")?, text("to")?) {
            (Some(name), None, None) => named_period(name, parse_date(today)?)?,
            (None, Some(from), Some(to)) => explicit_period(from, to)?,
            _ => {
                return Err(Error::Invalid(
                    "give either \"period\" (month_to_date, previous_month, yesterday) or both \"from\" and \"to\""
                        .into(),
                ));
            }
        };
        let repair = match fields.get("repair") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::Invalid("input field repair must be true or false".into())),
        };
        Ok(Self { period, repair })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn period(from: &str, to: &str) -> Period {
        Period { from: from.into(), to: to.into() }
    }

    #[test]
    fn named_periods_resolve_against_today() {
        let req = |p: &str, today: &str| ReconRequest::from_event(&json!({"period": p}), today).unwrap().period;
        assert_eq!(req("month_to_date", "2026-11-25"), period("2026-11-01", "2026-11-25"));
        assert_eq!(req("month_to_date", "2026-11-01"), period("2026-11-01", "2026-11-01"));
        assert_eq!(req("previous_month", "2026-03-01"), period("2026-02-01", "2026-02-28"));
        assert_eq!(req("previous_month", "2026-01-15"), period("2025-12-01", "2025-12-31"));
        assert_eq!(req("yesterday", "2026-03-01"), period("2026-02-28", "2026-02-28"));
    }

    #[test]
    fn explicit_periods_and_the_repair_flag_are_read() {
        let req =
            ReconRequest::from_event(&json!({"from": "2026-10-01", "to": "2026-10-31", "repair": true}), "2026-11-25")
                .unwrap();
        assert_eq!(req, ReconRequest { period: period("2026-10-01", "2026-10-31"), repair: true });
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let err = |event: Value| ReconRequest::from_event(&event, "2026-11-25").unwrap_err().to_string();
        assert!(err(json!({"period": "last_week"})).contains("last_week"));
        assert!(err(json!({"from": "2026-10-31", "to": "2026-10-01"})).contains("after it ends"));
        assert!(err(json!({"from": "2026-10-01"})).contains("both"));
        assert!(err(json!({"period": "yesterday", "from": "2026-10-01", "to": "2026-10-02"})).contains("either"));
        assert!(err(json!({"perod": "yesterday"})).contains("perod"));
        assert!(err(json!({"period": "yesterday", "repair": "yes"})).contains("repair"));
        assert!(err(json!({"from": "2026-02-30", "to": "2026-03-01"})).contains("not a date"));
        assert!(err(json!([])).contains("object"));
    }
}
