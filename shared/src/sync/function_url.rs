//! What every Function URL endpoint in `sync` needs from a request: the method, the raw body exactly
//! as it was signed, a request id safe to put in a record key, and base64 HMAC-SHA256 signatures
//! checked in constant time.
//!
//! The request shape is the Lambda Function URL payload v2 (`requestContext.http.method`, headers
//! lower-cased, `body` base64 when `isBase64Encoded`); headers are read with [`super::receiver::header`].
//! Used by sf-receiver and sap-webhook.

use super::receiver::{HttpResponse, Rejection};
use crate::error::Error;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A request refused through the sender's fault (4xx, audited), or failed on our side (500: send again).
pub(super) enum Refusal {
    Rejected(Rejection),
    Failed(Error),
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Rejected(rejection)
    }
}

/// The 500 answer to a failure on our side: logged, nothing internal in the body; the sender sends again.
pub(super) fn internal_error(err: &Error) -> HttpResponse {
    tracing::error!(error = %err, "request failed on our side; the sender should send it again");
    HttpResponse::json(
        500,
        serde_json::json!({"error": err.code(), "message": "internal error; send the request again"}),
    )
}

/// The HTTP method, upper-cased; empty when the event is not a Function URL request.
pub(super) fn method(request: &Value) -> String {
    request.pointer("/requestContext/http/method").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase()
}

/// The raw body bytes the sender signed: base64-decoded when `isBase64Encoded`; over `limit` → 413
/// before decoding or hashing anything.
pub(super) fn raw_body(request: &Value, limit: usize) -> Result<Vec<u8>, Rejection> {
    let body = request.get("body").and_then(Value::as_str).unwrap_or("");
    let too_large = || Rejection::new(413, "BODY_TOO_LARGE", format!("the body exceeds {limit} bytes"));
    if !request.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        return if body.len() > limit { Err(too_large()) } else { Ok(body.as_bytes().to_vec()) };
    }
    if body.len() > limit.div_ceil(3) * 4 {
        return Err(too_large());
    }
    let bytes = BASE64
        .decode(body)
        .map_err(|_| Rejection::new(400, "BAD_BASE64", "isBase64Encoded is true but the body is not base64"))?;
    if bytes.len() > limit { Err(too_large()) } else { Ok(bytes) }
}

/// The Function URL's request id, reduced to characters safe in a record key.
pub(super) fn request_id(request: &Value) -> String {
    let id = printable(request.pointer("/requestContext/requestId").and_then(Value::as_str).unwrap_or(""));
    if id.is_empty() { "unknown".into() } else { id }
}

/// At most 64 of `A-Z a-z 0-9 - _ / .`: safe in log fields and record keys whatever the sender sent.
pub(super) fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')).take(64).collect()
}

/// base64(HMAC-SHA256(key, message)).
pub(super) fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    BASE64.encode(hmac(key, message).finalize().into_bytes())
}

/// True when `claimed` is base64(HMAC-SHA256(key, message)); the MAC comparison takes the same time
/// wherever the bytes differ.
pub(super) fn hmac_verifies(key: &[u8], message: &[u8], claimed: &str) -> bool {
    let Ok(claimed) = BASE64.decode(claimed.trim()) else { return false };
    hmac(key, message).verify_slice(&claimed).is_ok()
}

fn hmac(key: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: &str, base64: bool) -> Value {
        json!({"body": body, "isBase64Encoded": base64,
               "requestContext": {"requestId": "r-1 <script>", "http": {"method": "post"}}})
    }

    #[test]
    fn a_body_at_the_limit_passes_and_one_byte_more_is_413_in_either_encoding() {
        let (at_limit, over) = ("x".repeat(1000), "x".repeat(1001));
        assert_eq!(raw_body(&request(&at_limit, false), 1000).unwrap().len(), 1000);
        assert_eq!(raw_body(&request(&over, false), 1000).unwrap_err().status, 413);
        assert_eq!(raw_body(&request(&BASE64.encode(&at_limit), true), 1000).unwrap(), at_limit.as_bytes());
        assert_eq!(raw_body(&request(&BASE64.encode(&over), true), 1000).unwrap_err().status, 413);
        assert_eq!(raw_body(&request(&"A".repeat(4000), true), 1000).unwrap_err().status, 413, "not decoded first");
        assert_eq!(raw_body(&request("%%%", true), 1000).unwrap_err().code, "BAD_BASE64");
    }

    #[test]
    fn method_and_request_id_are_read_safely() {
        assert_eq!(method(&request("", false)), "POST");
        assert_eq!(method(&json!({})), "");
        assert_eq!(request_id(&request("", false)), "r-1script");
        assert_eq!(request_id(&json!({})), "unknown");
    }

    #[test]
    fn an_hmac_verifies_only_with_the_same_key_and_message() {
        // RFC 4231 test case 2.
        let mac = hmac_base64(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(BASE64.decode(&mac).unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hmac_verifies(b"Jefe", b"what do ya want for nothing?", &mac));
        assert!(hmac_verifies(b"Jefe", b"what do ya want for nothing?", &format!(" {mac}\n")), "whitespace around");
        assert!(!hmac_verifies(b"Jeff", b"what do ya want for nothing?", &mac));
        assert!(!hmac_verifies(b"Jefe", b"what do ya want for nothing!", &mac));
        assert!(!hmac_verifies(b"Jefe", b"what do ya want for nothing?", &mac[..mac.len() - 4]));
        assert!(!hmac_verifies(b"Jefe", b"what do ya want for nothing?", "not base64!"));
        assert!(!hmac_verifies(b"Jefe", b"what do ya want for nothing?", ""));
    }
}
