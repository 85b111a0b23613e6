//! Field values: coercing JSON input to a field's type, datetime formats, and comparisons.

use super::error::{ApiError, clip};
use super::ids;
use super::schema::{self, FieldDef, FieldType};
use serde_json::Value;
use std::cmp::Ordering;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// `2026-11-25T10:00:00.000+0000`, the way Salesforce writes datetimes.
pub fn format_datetime(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm|±hhmm]` (no zone = UTC) into epoch milliseconds.
pub fn parse_datetime(raw: &str) -> Option<i64> {
    let date = parse_date(raw.get(..10)?)?;
    let rest = raw.get(10..)?;
    let rest = rest.strip_prefix('T')?;
    let num = |s: &str| s.parse::<u8>().ok();
    let (hour, minute, second) = (num(rest.get(0..2)?)?, num(rest.get(3..5)?)?, num(rest.get(6..8)?)?);
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" {
        return None;
    }
    let mut tail = &rest[8..];
    let mut millis = 0u16;
    if let Some(frac) = tail.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        millis = format!("{digits:0<3}")[..3].parse().ok()?;
        tail = &frac[digits.len()..];
    }
    let offset_secs: i64 = match tail {
        "" | "Z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let time = time::Time::from_hms_milli(hour, minute, second, millis).ok()?;
    let local = time::PrimitiveDateTime::new(date, time).assume_utc();
    Some((local.unix_timestamp() - offset_secs) * 1000 + i64::from(millis))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<time::Date> {
    let bytes = raw.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i32 = raw[..4].parse().ok()?;
    let month: u8 = raw[5..7].parse().ok()?;
    let day: u8 = raw[8..10].parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// Converts a JSON body value to what the field stores, or says why it cannot; text is moved, not copied.
pub fn coerce(object: &str, field: &FieldDef, value: Value) -> Result<Value, ApiError> {
    let wrong_type = |value: &Value| {
        ApiError::new(
            400,
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            format!("{}: value not of required type: {}", field.name, clip(&value.to_string())),
        )
        .with_fields(vec![field.name.to_string()])
    };
    match (field.ty, value) {
        (_, Value::Null) => Ok(Value::Null),
        (FieldType::Text, value @ Value::String(_)) => Ok(value),
        (FieldType::Text, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldType::Text, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (FieldType::Number, value) => {
            let n = match &value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            n.and_then(serde_json::Number::from_f64).map(Value::Number).ok_or_else(|| wrong_type(&value))
        }
        (FieldType::Boolean, value @ Value::Bool(_)) => Ok(value),
        (FieldType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        (FieldType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        (FieldType::Date, Value::String(s)) if parse_date(s.get(..10).unwrap_or(&s)).is_some() => {
            Ok(Value::String(s[..10].to_string()))
        }
        (FieldType::DateTime, value) => match value.as_str().and_then(parse_datetime) {
            Some(ms) => Ok(Value::String(format_datetime(ms))),
            None => Err(wrong_type(&value)),
        },
        (FieldType::Id | FieldType::Reference(_), value) => {
            let target = match field.ty {
                FieldType::Reference(target) => target,
                _ => object,
            };
            let prefix = schema::object(target).map(|o| o.prefix).unwrap_or_default();
            match value.as_str().and_then(ids::normalize) {
                Some(id) if id.starts_with(prefix) => Ok(Value::String(id)),
                _ => Err(ApiError::malformed_id(target, value.as_str().unwrap_or(&value.to_string()))
                    .with_fields(vec![field.name.to_string()])),
            }
        }
        (_, value) => Err(wrong_type(&value)),
    }
}

/// Orders two non-null stored values of a field of type `ty`; `None` when they cannot be compared.
pub fn compare(ty: FieldType, left: &Value, right: &Value) -> Option<Ordering> {
    match ty {
        FieldType::Number => left.as_f64()?.partial_cmp(&right.as_f64()?),
        FieldType::Boolean => Some(left.as_bool()?.cmp(&right.as_bool()?)),
        FieldType::DateTime => Some(parse_datetime(left.as_str()?)?.cmp(&parse_datetime(right.as_str()?)?)),
        // Text, ids and `YYYY-MM-DD` dates compare as case-insensitive text.
        _ => Some(left.as_str()?.to_lowercase().cmp(&right.as_str()?.to_lowercase())),
    }
}

/// The index entry of a stored value: values [`compare`] finds equal get the same entry (text and ids
/// case-insensitively, numbers by value), so an index lookup finds every record a scan would.
pub fn index_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        // `+ 0.0` turns -0 into 0, which compare equal.
        Value::Number(n) => n.as_f64().map(|x| (x + 0.0).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_any_offset_normalise_to_salesforce_utc_format() {
        let ms = parse_datetime("2026-11-25T10:00:00.000+0000").unwrap();
        assert_eq!(format_datetime(ms), "2026-11-25T10:00:00.000+0000");
        assert_eq!(parse_datetime("2026-11-25T11:30:00+01:30"), Some(ms));
        assert_eq!(parse_datetime("2026-11-25T10:00:00Z"), Some(ms));
        assert_eq!(parse_datetime("2026-11-25T10:00:00.5Z"), Some(ms + 500));
        for bad in ["2026-11-25", "2026-13-01T00:00:00Z", "2026-11-25T10:00Z", "2026-11-25T10:00:00+1"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn body_values_are_coerced_to_the_field_type_or_rejected() {
        let opp = schema::object("Opportunity").unwrap();
        let field = |n| opp.field(n).unwrap();
        assert_eq!(coerce("Opportunity", field("Amount"), serde_json::json!("12.5")).unwrap(), serde_json::json!(12.5));
        assert!(coerce("Opportunity", field("Amount"), serde_json::json!("lots")).is_err());
        assert_eq!(coerce("Opportunity", field("CloseDate"), serde_json::json!("2026-11-25")).unwrap(), "2026-11-25");
        assert_eq!(
            coerce("Opportunity", field("SAP_Synced_At__c"), serde_json::json!("2026-11-25T10:00:00Z")).unwrap(),
            "2026-11-25T10:00:00.000+0000"
        );
        let account_ref = coerce("Opportunity", field("AccountId"), serde_json::json!("001SB0000000000"));
        assert_eq!(account_ref.unwrap(), ids::make_id("001", 0).as_str());
        let wrong_prefix = coerce("Opportunity", field("AccountId"), serde_json::json!(ids::make_id("006", 1)));
        assert_eq!(wrong_prefix.unwrap_err().code, "MALFORMED_ID");
    }
}
