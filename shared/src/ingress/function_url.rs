//! What every Function URL endpoint needs from a request: the method, the raw body exactly
//! as it was signed, a request id safe to put in a record key, and base64 HMAC signatures (SHA-256,
//! -384 or -512) checked in constant time.
//!
//! The request shape is the Lambda Function URL payload v2 (`requestContext.http.method`, headers
//! lower-cased, `body` base64 when `isBase64Encoded`), read once into a [`FunctionUrlRequest`].
//! Used by sf-receiver and sap-webhook.

use crate::error::{Error, ErrorClass};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::Value;
use serde_json::json;
use sha2::{Sha256, Sha384, Sha512};

/// A request refused through the sender's fault (4xx, audited), or failed on our side (500: send again).
pub(crate) enum Refusal {
    /// Refused before the sender proved who it is (method, size, signature, token): anyone on the
    /// internet can cause these, so they are counted, and audited only as a sample.
    Rejected(Rejection),
    /// The sender proved who it is (a valid signature or token) but what it sent is refused: audited.
    Invalid(Rejection),
    Failed(Error),
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Rejected(rejection)
    }
}

/// The 500 answer to a failure on our side: logged, nothing internal in the body; the sender sends again.
pub(crate) fn internal_error(err: &Error) -> HttpResponse {
    tracing::error!(error = %err, "request failed on our side; the sender should send it again");
    HttpResponse::json(
        500,
        serde_json::json!({"error": err.code(), "message": "internal error; send the request again"}),
    )
}

/// A Lambda Function URL request (payload format 2.0) as the endpoints read it. [`FunctionUrlRequest::parse`]
/// is the one place that reads the event's JSON; the endpoints see only these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionUrlRequest {
    /// `requestContext.http.method`, upper-cased; empty when the event carried none.
    pub method: String,
    /// `rawPath`, e.g. `/webhook`.
    pub path: String,
    /// `rawQueryString`, without the `?`, exactly as sent (signatures cover it).
    pub query: String,
    /// `requestContext.requestId`, reduced to characters safe in a record key; `unknown` when absent.
    pub request_id: String,
    /// Header names as sent (Function URLs lower-case them; tests may not).
    headers: Vec<(String, String)>,
    body: String,
    body_is_base64: bool,
}

impl FunctionUrlRequest {
    /// The request, when `event` is a Function URL event (it has a `requestContext.http` object).
    pub fn parse(event: &Value) -> Option<Self> {
        event.pointer("/requestContext/http").is_some_and(Value::is_object).then(|| Self::from_event(event))
    }

    /// An endpoint's view of `event`, whatever its shape: parts it lacks are empty, so a malformed
    /// request is refused by the endpoint's own checks (method, signature, body).
    pub fn from_event(event: &Value) -> Self {
        let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let headers = event
            .get("headers")
            .and_then(Value::as_object)
            .map(|headers| {
                headers.iter().filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string()))).collect()
            })
            .unwrap_or_default();
        let request_id = printable(text("/requestContext/requestId"));
        Self {
            method: text("/requestContext/http/method").to_ascii_uppercase(),
            path: text("/rawPath").to_string(),
            query: text("/rawQueryString").to_string(),
            request_id: if request_id.is_empty() { "unknown".into() } else { request_id },
            headers,
            body: text("/body").to_string(),
            body_is_base64: event.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    /// A request header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body as it arrived in the event (base64 text when it was encoded), for digests.
    pub fn body_as_sent(&self) -> &str {
        &self.body
    }

    /// The raw body bytes the sender signed: base64-decoded when `isBase64Encoded`; over `limit` →
    /// 413 before decoding or hashing anything.
    pub fn body(&self, limit: usize) -> Result<Vec<u8>, Rejection> {
        let too_large = || Rejection::new(413, "BODY_TOO_LARGE", format!("the body exceeds {limit} bytes"));
        if !self.body_is_base64 {
            return if self.body.len() > limit { Err(too_large()) } else { Ok(self.body.as_bytes().to_vec()) };
        }
        if self.body.len() > limit.div_ceil(3) * 4 {
            return Err(too_large());
        }
        let bytes = BASE64
            .decode(&self.body)
            .map_err(|_| Rejection::new(400, "BAD_BASE64", "isBase64Encoded is true but the body is not base64"))?;
        if bytes.len() > limit { Err(too_large()) } else { Ok(bytes) }
    }

    /// 405 unless the method is POST.
    pub(crate) fn require_post(&self) -> Result<(), Rejection> {
        if self.method == "POST" {
            Ok(())
        } else {
            Err(Rejection::new(405, "METHOD_NOT_ALLOWED", "only POST is accepted"))
        }
    }

    /// A stated content type must be the expected kind; a missing one is tolerated.
    pub(crate) fn require_content_type(&self, kind: &str) -> Result<(), Rejection> {
        match self.header("content-type") {
            Some(stated) if !stated.to_ascii_lowercase().contains(kind) => {
                Err(Rejection::new(415, "UNSUPPORTED_MEDIA_TYPE", format!("the body must be {kind}")))
            }
            _ => Ok(()),
        }
    }
}

/// At most 64 of `A-Z a-z 0-9 - _ / .`: safe in log fields and record keys whatever the sender sent.
pub(crate) fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')).take(64).collect()
}

/// The hash function of an HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HmacAlgorithm {
    /// base64(HMAC(key, message)).
    pub fn sign_base64(self, key: &[u8], message: &[u8]) -> String {
        let tag = match self {
            Self::Sha256 => mac::<Hmac<Sha256>>(key, message).finalize().into_bytes().to_vec(),
            Self::Sha384 => mac::<Hmac<Sha384>>(key, message).finalize().into_bytes().to_vec(),
            Self::Sha512 => mac::<Hmac<Sha512>>(key, message).finalize().into_bytes().to_vec(),
        };
        BASE64.encode(tag)
    }

    /// True when `claimed` is base64(HMAC(key, message)); the MAC comparison takes the same time
    /// wherever the bytes differ.
    pub fn verifies_base64(self, key: &[u8], message: &[u8], claimed: &str) -> bool {
        let Ok(claimed) = BASE64.decode(claimed.trim()) else { return false };
        match self {
            Self::Sha256 => mac::<Hmac<Sha256>>(key, message).verify_slice(&claimed).is_ok(),
            Self::Sha384 => mac::<Hmac<Sha384>>(key, message).verify_slice(&claimed).is_ok(),
            Self::Sha512 => mac::<Hmac<Sha512>>(key, message).verify_slice(&claimed).is_ok(),
        }
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> M {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac
}

/// Why an HTTP delivery was refused: the status to answer, a stable code for the audit trail, and a
/// message that is safe to return and store (it never quotes the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    /// A refusal with this status, audit code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
}

/// A Function URL response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl HttpResponse {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self { status, content_type: "application/json", body: body.to_string() }
    }

    /// The Function URL (API Gateway v2 HTTP) response JSON: `statusCode`, `headers`, `body`.
    pub fn to_function_url(&self) -> Value {
        json!({
            "statusCode": self.status,
            "headers": {"content-type": self.content_type},
            "body": self.body,
            "isBase64Encoded": false,
        })
    }
}

impl From<&Rejection> for HttpResponse {
    fn from(rejection: &Rejection) -> Self {
        Self::json(rejection.status, json!({"error": rejection.code, "message": rejection.message}))
    }
}

/// What one Function URL request or EventBridge event amounted to, for the invocation's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngressTally {
    /// Records the delivery named (CDC record ids, notifications of a request); a refused delivery
    /// counts as one. Requests that are no delivery (unknown paths, reachability checks, handshakes)
    /// count as none, as they are not audited either.
    pub records_in: u64,
    /// Notifications the queue accepted.
    pub enqueued: u64,
    /// Records dropped on purpose: echoes of our own writes, changes not acted on, ignored objects.
    pub dropped: u64,
    /// How the delivery failed, when it did: a refusal is permanent, our own failure has its class.
    pub failed: Option<ErrorClass>,
    /// Requests refused before the sender proved who it is (metric `RequestsRefused`).
    pub refused: u64,
}

impl IngressTally {
    /// A delivery of `records_in` records, of which `enqueued` were enqueued and the rest dropped.
    pub fn delivered(records_in: u64, enqueued: u64) -> Self {
        Self { records_in, enqueued, dropped: records_in.saturating_sub(enqueued), failed: None, refused: 0 }
    }

    /// A request refused before the sender proved who it is.
    pub fn refused() -> Self {
        Self { refused: 1, ..Self::failed(ErrorClass::Permanent) }
    }

    /// A delivery that failed with `class`.
    pub fn failed(class: ErrorClass) -> Self {
        Self { records_in: 1, failed: Some(class), ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_body(event: &Value, limit: usize) -> Result<Vec<u8>, Rejection> {
        FunctionUrlRequest::from_event(event).body(limit)
    }

    fn method(event: &Value) -> String {
        FunctionUrlRequest::from_event(event).method
    }

    fn request_id(event: &Value) -> String {
        FunctionUrlRequest::from_event(event).request_id
    }
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
    fn an_hmac_verifies_only_with_the_same_key_message_and_algorithm() {
        // RFC 4231 test case 2, for each hash.
        let (key, message) = (b"Jefe".as_slice(), b"what do ya want for nothing?".as_slice());
        for (algorithm, expected) in [
            (HmacAlgorithm::Sha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                HmacAlgorithm::Sha384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                HmacAlgorithm::Sha512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ] {
            let mac = algorithm.sign_base64(key, message);
            assert_eq!(hex::encode(BASE64.decode(&mac).unwrap()), expected, "{algorithm:?}");
            assert!(algorithm.verifies_base64(key, message, &mac));
            assert!(algorithm.verifies_base64(key, message, &format!(" {mac}\n")), "whitespace around");
            assert!(!algorithm.verifies_base64(b"Jeff", message, &mac));
            assert!(!algorithm.verifies_base64(key, b"what do ya want for nothing!", &mac));
            assert!(!algorithm.verifies_base64(key, message, &mac[..mac.len() - 4]));
            assert!(!algorithm.verifies_base64(key, message, "not base64!"));
            assert!(!algorithm.verifies_base64(key, message, ""));
        }
        let sha256 = HmacAlgorithm::Sha256.sign_base64(key, message);
        assert!(!HmacAlgorithm::Sha512.verifies_base64(key, message, &sha256), "another hash's tag");
    }

    #[test]
    fn headers_are_found_whatever_their_case_and_the_method_and_content_type_are_checked() {
        let mut event = request("", false);
        event["headers"] = json!({"Content-Type": "application/json"});
        let r = FunctionUrlRequest::from_event(&event);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-missing"), None);
        assert!(r.require_content_type("json").is_ok());
        assert_eq!(r.require_content_type("xml").unwrap_err().status, 415);
        assert!(r.require_post().is_ok());
        let get = FunctionUrlRequest::from_event(&json!({"requestContext": {"http": {"method": "GET"}}}));
        assert_eq!(get.require_post().unwrap_err().status, 405);
        assert_eq!(FunctionUrlRequest::parse(&json!({"detail": {}})), None, "an EventBridge event is no request");
    }

    #[test]
    fn a_rejection_becomes_a_function_url_response_with_its_status_and_code() {
        let response = HttpResponse::from(&Rejection::new(401, "BAD_SIGNATURE", "nope")).to_function_url();
        assert_eq!(response["statusCode"], 401);
        assert_eq!(response["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, json!({"error": "BAD_SIGNATURE", "message": "nope"}));
    }
}

/// At most one event per interval and container: the unauthenticated refusal audited as a sample for
/// operators (never a DynamoDB write per request anyone on the internet can send), the CDC arrival
/// noted for the no-CDC alarm.
#[derive(Debug)]
pub struct OncePerInterval {
    every_ms: i64,
    last: std::sync::atomic::AtomicI64,
}

impl OncePerInterval {
    /// One per `every_ms`.
    pub fn every(every_ms: i64) -> Self {
        Self { every_ms, last: std::sync::atomic::AtomicI64::new(i64::MIN) }
    }

    /// Whether the event at `now` is the interval's one (then it is audited or noted).
    pub fn take(&self, now: i64) -> bool {
        use std::sync::atomic::Ordering;
        let last = self.last.load(Ordering::Relaxed);
        (last == i64::MIN || now.saturating_sub(last) >= self.every_ms)
            && self.last.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}
