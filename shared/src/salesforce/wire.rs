//! Salesforce wire shapes: error arrays, per-record results, `Sforce-Limit-Info`. Pure.

use crate::error::Error;
use serde_json::Value;

/// `(used, max)` from `api-usage=18/5000` (optionally followed by `; per-app-api-usage=...`).
pub fn parse_limit_info(header: &str) -> Option<(u64, u64)> {
    let rest = header.split(';').find_map(|part| part.trim().strip_prefix("api-usage="))?;
    let (used, max) = rest.trim().split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
}

/// An error answer (`[{"message","errorCode"}]`, or an OAuth `{"error","error_description"}`) as an [`Error`].
pub fn error_from_body(status: u16, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let first = match &parsed {
        Some(Value::Array(items)) => items.first(),
        Some(value @ Value::Object(_)) => Some(value),
        _ => None,
    };
    let text = |v: Option<&Value>, keys: &[&str]| keys.iter().find_map(|k| v?.get(*k)?.as_str().map(str::to_string));
    let code = text(first, &["errorCode", "statusCode", "error"]).unwrap_or_else(|| format!("HTTP_{status}"));
    let message = text(first, &["message", "error_description"])
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    Error::Salesforce { status, code, message: clip(&message) }
}

/// Keeps messages short: they end up in audit records and on the Opportunity.
fn clip(message: &str) -> String {
    message.chars().take(500).collect()
}

/// One element of an sObject Collections answer, in request order.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RecordResult {
    /// Absent when the record failed.
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
    /// Upserts only: true when the record was inserted.
    #[serde(default)]
    pub created: Option<bool>,
}

/// A per-record error; collections use `statusCode` where top-level errors use `errorCode`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl RecordResult {
    /// The record's failure as an [`Error`] (status 400, code = `statusCode`), or `None` on success.
    pub fn error(&self) -> Option<Error> {
        if self.success {
            return None;
        }
        let first = self.errors.first();
        Some(Error::Salesforce {
            status: 400,
            code: first.map_or_else(|| "UNKNOWN_ERROR".into(), |e| e.status_code.clone()),
            message: first.map(|e| clip(&e.message)).unwrap_or_default(),
        })
    }
}

/// The answer of a single-record upsert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct UpsertResult {
    pub id: String,
    /// True when the record was inserted (201), false when updated (200).
    #[serde(default)]
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_is_read_with_or_without_per_app_usage() {
        assert_eq!(parse_limit_info("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)"),
            Some((25, 5000))
        );
        assert_eq!(parse_limit_info("per-app-api-usage=17/250"), None);
        assert_eq!(parse_limit_info("api-usage=x/5000"), None);
    }

    #[test]
    fn error_arrays_and_oauth_errors_keep_their_codes() {
        let err = error_from_body(
            403,
            br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(&err, Error::Salesforce { status: 403, code, .. } if code == "REQUEST_LIMIT_EXCEEDED"));
        assert!(err.is_retryable());
        let err = error_from_body(400, br#"[{"message":"No such column","errorCode":"INVALID_FIELD","fields":["X"]}]"#);
        assert!(!err.is_retryable());
        let err =
            error_from_body(400, br#"{"error":"invalid_client","error_description":"invalid client credentials"}"#);
        assert!(
            matches!(&err, Error::Salesforce { code, message, .. } if code == "invalid_client" && message == "invalid client credentials")
        );
        let err = error_from_body(502, b"<html>Bad gateway</html>");
        assert!(matches!(&err, Error::Salesforce { code, .. } if code == "HTTP_502"));
        assert!(err.is_retryable());
    }

    #[test]
    fn collection_results_expose_per_record_status_codes() {
        let results: Vec<RecordResult> = serde_json::from_str(
            r#"[{"id":"001SB00000000001AAA","success":true,"errors":[],"created":true},
                {"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access","fields":[]}]}]"#,
        )
        .unwrap();
        assert_eq!(results[0].error().map(|e| e.to_string()), None);
        assert_eq!(results[0].created, Some(true));
        let err = results[1].error().unwrap();
        assert_eq!(err.code(), "UNABLE_TO_LOCK_ROW");
        assert!(err.is_retryable());
    }
}
