//! Service Layer error bodies in both shapes seen in the field, mapped to [`Error::Sap`]. Pure code.

use crate::error::Error;

#[derive(serde::Deserialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<Code>,
    #[serde(default)]
    message: Option<Message>,
}

/// v1 sends the code as a number (`-10`), v2 as a string (`"-2028"`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Code {
    Number(i64),
    Text(String),
}

/// v1 sends `{"lang":"en-us","value":"..."}`, v2 a plain string.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Message {
    Text(String),
    Localized { value: String },
}

/// SAP messages are short; a longer one is cut so no payload echo reaches logs or the audit trail.
const MAX_MESSAGE: usize = 500;

/// Maps a non-2xx reply to [`Error::Sap`]; a body that is not an SAP error (an empty 502 from the
/// load balancer, an HTML page) gives an empty code and a message naming only the status.
pub fn from_reply(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => Error::Sap {
            status,
            code: match error.code {
                Some(Code::Number(n)) => n.to_string(),
                Some(Code::Text(s)) => s,
                None => String::new(),
            },
            message: match error.message {
                Some(Message::Text(s)) | Some(Message::Localized { value: s }) => s.chars().take(MAX_MESSAGE).collect(),
                None => String::new(),
            },
        },
        Err(_) => {
            Error::Sap { status, code: String::new(), message: format!("HTTP {status} without an SAP error body") }
        }
    }
}

/// True for "log in again": HTTP 401 or SAP code 301 (invalid or timed-out session).
pub fn is_session_expired(err: &Error) -> bool {
    matches!(err, Error::Sap { status, code, .. } if *status == 401 || code == "301")
}

/// True for `404 -2028` / any `-2028` on a read: the key does not exist.
pub fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Sap { code, .. } if code == "-2028")
}

/// True for `-10` "1320000140 - Business partner code 'X' already assigned ...": the CardCode exists.
pub fn is_duplicate_business_partner(err: &Error) -> bool {
    matches!(err, Error::Sap { code, message, .. } if code == "-10" && message.contains("1320000140"))
}

/// True for the answer to `POST Orders` under an approval procedure: `-2028` "No matching records
/// found" with a 4xx that is not 404 (REF 1.27, `POST Orders`: the draft is saved and the service
/// returns -2028). A draft may exist; look it up before calling this a failure.
pub fn is_saved_as_draft(err: &Error) -> bool {
    matches!(err, Error::Sap { status, code, .. } if code == "-2028" && (400..500).contains(status) && *status != 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(err: Error) -> (u16, String, String) {
        match err {
            Error::Sap { status, code, message } => (status, code, message),
            other => panic!("not an SAP error: {other}"),
        }
    }

    #[test]
    fn the_v1_shape_with_a_number_code_and_a_localized_message_is_parsed() {
        let body = br#"{"error":{"code":-10,"message":{"lang":"en-us","value":"1320000140 - Business partner code 'c1' already assigned"}}}"#;
        let (status, code, message) = parts(from_reply(400, body));
        assert_eq!((status, code.as_str()), (400, "-10"));
        assert!(message.starts_with("1320000140 - Business partner code 'c1'"));
    }

    #[test]
    fn the_v2_shape_with_a_string_code_and_details_is_parsed() {
        let body = br#"{"error":{"code":"-2028","details":[{"code":"","message":""}],"message":"No matching records found (ODBC -2028)"}}"#;
        let err = from_reply(404, body);
        assert!(is_not_found(&err));
        assert_eq!(parts(err), (404, "-2028".into(), "No matching records found (ODBC -2028)".into()));
    }

    #[test]
    fn a_session_timeout_is_recognised_in_both_shapes() {
        let v1 = br#"{"error":{"code":301,"message":{"lang":"en-us","value":"Invalid session or session already timeout."}}}"#;
        let v2 = br#"{"error":{"code":"301","message":"Invalid session or session already timeout."}}"#;
        assert!(is_session_expired(&from_reply(401, v1)));
        assert!(is_session_expired(&from_reply(401, v2)));
        assert!(!is_session_expired(&from_reply(400, br#"{"error":{"code":"-10","message":"x"}}"#)));
    }

    #[test]
    fn an_empty_or_html_5xx_becomes_a_retryable_error_with_an_empty_code() {
        for body in [&b""[..], b"<html><body>503 Service Unavailable</body></html>"] {
            let err = from_reply(503, body);
            assert!(err.is_retryable());
            assert_eq!(parts(err).1, "");
        }
        assert!(!from_reply(400, br#"{"error":{"code":-10,"message":"Invalid BP code"}}"#).is_retryable());
    }

    #[test]
    fn only_the_documented_duplicate_text_counts_as_an_existing_partner() {
        let sap = |code: &str, message: &str| Error::Sap { status: 400, code: code.into(), message: message.into() };
        assert!(is_duplicate_business_partner(&sap("-10", "1320000140 - Business partner code 'X' already assigned")));
        assert!(!is_duplicate_business_partner(&sap("-10", "Invalid BP code")));
    }

    #[test]
    fn a_long_message_is_cut() {
        let long = format!(r#"{{"error":{{"code":"-1","message":"{}"}}}}"#, "x".repeat(5000));
        assert_eq!(parts(from_reply(400, long.as_bytes())).2.len(), MAX_MESSAGE);
    }
}
