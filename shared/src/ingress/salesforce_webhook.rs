//! Flow/Apex webhooks on the Function URL (`POST /webhook`): pure verification and parsing.
//!
//! Salesforce does not sign callouts, so the sender signs with a key shared through Secrets Manager:
//! ```text
//! POST /webhook
//! Content-Type: application/json
//! X-B1Force-Timestamp: 1795600800                 unix seconds, within ±300 s of our clock
//! X-B1Force-Signature: base64(HMAC-SHA256(key, timestamp + "." + raw body bytes))
//!
//! {"object":"Account","recordIds":["001SB00000001ABYAY"],"reason":"updated","changedAt":"2026-11-25T10:00:00.000Z"}
//! ```
//! - `object`: Account, Contact, Lead, Opportunity, Quote or Case; `recordIds`: 1–200 ids of that object.
//! - `reason` (optional, 1–40 of `A-Z a-z 0-9 _ - .` and space, default `changed`) becomes the
//!   notification reason `webhook:<reason>`.
//! - `changedAt` (optional, epoch ms or ISO-8601, e.g. the record's LastModifiedDate) identifies the
//!   change, so a re-send with a fresh signature deduplicates; without it each signed request counts
//!   as a change of its own.
//! - Answers: 202 `{"enqueued":N}`; 400 bad body; 401 missing or wrong signature, stale timestamp, replay;
//!   413 body over 256 KiB; 500 on our side (send again, re-signed).
//!
//! Sending from Apex (in a Queueable: a callout cannot follow uncommitted DML; `key` from protected custom metadata):
//! ```apex
//! String body = JSON.serialize(new Map<String, Object>{
//!     'object' => 'Account', 'recordIds' => new List<Id>{ acc.Id },
//!     'reason' => 'updated', 'changedAt' => acc.LastModifiedDate });
//! String ts = String.valueOf(Datetime.now().getTime() / 1000);
//! Blob mac = Crypto.generateMac('hmacSHA256', Blob.valueOf(ts + '.' + body), Blob.valueOf(key));
//! HttpRequest req = new HttpRequest();
//! req.setEndpoint('callout:B1Force/webhook');
//! req.setMethod('POST');
//! req.setHeader('Content-Type', 'application/json');
//! req.setHeader('X-B1Force-Timestamp', ts);
//! req.setHeader('X-B1Force-Signature', EncodingUtil.base64Encode(mac));
//! req.setBody(body);
//! HttpResponse res = new Http().send(req); // 202 = queued; Apex does not retry by itself
//! ```

use super::cdc;
use super::function_url::Rejection;
use crate::domain::{EpochMillis, Notification, RecordKey, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signing time (unix seconds); Function URLs lowercase header names.
pub const TIMESTAMP_HEADER: &str = "x-b1force-timestamp";
/// The header carrying the base64 HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-b1force-signature";
/// Larger bodies are refused with 413 before any HMAC work.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How far the signing time may be from our clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// Most record ids one request may name (one Apex trigger batch).
pub const MAX_RECORD_IDS: usize = 200;

/// A request whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// When the sender signed it (epoch ms).
    pub signed_at: EpochMillis,
    /// `webhook:<sha256 of the signature>`, claimed once so a replayed request is refused.
    pub replay_key: String,
}

impl Verified {
    /// Until when the replay claim must be kept: afterwards the timestamp check refuses the request anyway.
    pub fn replay_protected_until(&self) -> EpochMillis {
        self.signed_at + (MAX_SKEW_SECS + 60) * 1000
    }
}

/// base64(HMAC-SHA256(key, timestamp + "." + body)): what a sender puts in `X-B1Force-Signature`.
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    BASE64.encode(mac(key, timestamp, body).finalize().into_bytes())
}

fn mac(key: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks the headers against the raw body: timestamp within ±[`MAX_SKEW_SECS`] of `now`, then the
/// signature in constant time. Every failure is a 401 that does not say which byte was wrong.
pub fn verify(
    key: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: EpochMillis,
) -> Result<Verified, Rejection> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Rejection::new(
            401,
            "MISSING_SIGNATURE",
            "X-B1Force-Timestamp and X-B1Force-Signature headers are required",
        ));
    };
    let signed_secs = Some(timestamp)
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| Rejection::new(401, "BAD_TIMESTAMP", "X-B1Force-Timestamp must be unix seconds"))?;
    if (now.div_euclid(1000) - signed_secs).abs() > MAX_SKEW_SECS {
        return Err(Rejection::new(
            401,
            "STALE_TIMESTAMP",
            format!("X-B1Force-Timestamp is more than {MAX_SKEW_SECS} s away from our clock; sign again"),
        ));
    }
    let bad_signature = || Rejection::new(401, "BAD_SIGNATURE", "X-B1Force-Signature does not verify");
    let claimed = BASE64.decode(signature.trim()).map_err(|_| bad_signature())?;
    // verify_slice compares in constant time.
    mac(key, timestamp, body).verify_slice(&claimed).map_err(|_| bad_signature())?;
    Ok(Verified { signed_at: signed_secs * 1000, replay_key: format!("webhook:{}", digest(&claimed)) })
}

/// The change a verified webhook body announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookChange {
    /// The changed records, each once.
    pub records: Vec<RecordKey>,
    /// The sender's reason, validated.
    pub reason: String,
    /// The sender's identity for the change, when it gave one.
    pub changed_at: Option<EpochMillis>,
}

/// Parses a verified body (format in the module docs); errors are 400s that never quote the body.
pub fn parse_body(body: &[u8]) -> Result<WebhookChange, Rejection> {
    let bad = |message: String| Rejection::new(400, "BAD_BODY", message);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "the body is not JSON (line {}, column {}); expected {{\"object\", \"recordIds\"}}",
            e.line(),
            e.column()
        ))
    })?;
    let fields = value.as_object().ok_or_else(|| bad("the body must be a JSON object".into()))?;
    if let Some(unknown) = fields.keys().find(|k| !["object", "recordIds", "reason", "changedAt"].contains(&k.as_str()))
    {
        return Err(bad(format!(
            "unknown field {:?}; expected object, recordIds, reason, changedAt",
            unknown.chars().take(40).collect::<String>()
        )));
    }
    let object = fields
        .get("object")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("\"object\" is missing or not a string".into()))?;
    let ids = fields
        .get("recordIds")
        .and_then(Value::as_array)
        .filter(|ids| (1..=MAX_RECORD_IDS).contains(&ids.len()))
        .ok_or_else(|| bad(format!("\"recordIds\" must be an array of 1 to {MAX_RECORD_IDS} ids")))?;
    let mut records: Vec<RecordKey> = Vec::with_capacity(ids.len());
    for id in ids {
        let raw = id.as_str().ok_or_else(|| bad("\"recordIds\" holds a non-string".into()))?;
        let key = cdc::record_key(object, raw).map_err(|e| {
            let code =
                if crate::domain::objects::salesforce_object(object).is_some() { "BAD_BODY" } else { "UNKNOWN_OBJECT" };
            Rejection::new(400, code, e.to_string())
        })?;
        if !records.contains(&key) {
            records.push(key);
        }
    }
    let reason = match fields.get("reason") {
        None | Some(Value::Null) => "changed".to_string(),
        Some(Value::String(r))
            if (1..=40).contains(&r.len())
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' ')) =>
        {
            r.clone()
        }
        Some(_) => return Err(bad("\"reason\" must be 1 to 40 of A-Z a-z 0-9 _ - . and space".into())),
    };
    let changed_at = match fields.get("changedAt") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            cdc::epoch_millis(v).ok_or_else(|| bad("\"changedAt\" must be epoch milliseconds or ISO-8601".into()))?,
        ),
    };
    Ok(WebhookChange { records, reason, changed_at })
}

impl WebhookChange {
    /// One notification per record. The change is identified by `changedAt` when given, else by the signature.
    pub fn notifications(&self, verified: &Verified, correlation_id: &str) -> Vec<Notification> {
        let source_version = match self.changed_at {
            Some(at) => format!("changedAt:{at}"),
            None => format!("signature:{}", &verified.replay_key["webhook:".len()..][..32]),
        };
        self.records
            .iter()
            .map(|record| Notification {
                record: record.clone(),
                reason: format!("webhook:{}", self.reason),
                changed_at: self.changed_at.unwrap_or(verified.signed_at),
                source_version: source_version.clone(),
                correlation_id: correlation_id.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-webhook-key";
    const NOW: EpochMillis = 1_795_600_800_000;
    const BODY: &[u8] = br#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"reason":"updated"}"#;

    fn signed(ts: &str, body: &[u8]) -> Result<Verified, Rejection> {
        verify(KEY, Some(ts), Some(&sign(KEY, ts, body)), body, NOW)
    }

    #[test]
    fn a_signature_made_the_documented_way_verifies() {
        let ts = "1795600800";
        // Apex: Crypto.generateMac('hmacSHA256', Blob.valueOf(ts + '.' + body), Blob.valueOf(key)).
        let mut message = format!("{ts}.").into_bytes();
        message.extend_from_slice(BODY);
        let expected = {
            let mut mac = HmacSha256::new_from_slice(KEY).unwrap();
            mac.update(&message);
            BASE64.encode(mac.finalize().into_bytes())
        };
        assert_eq!(sign(KEY, ts, BODY), expected);
        let verified = verify(KEY, Some(ts), Some(&expected), BODY, NOW).unwrap();
        assert_eq!(verified.signed_at, NOW);
        assert!(verified.replay_key.starts_with("webhook:"));
        assert!(verified.replay_protected_until() > NOW + MAX_SKEW_SECS * 1000);
    }

    #[test]
    fn a_changed_byte_another_key_or_a_moved_timestamp_fails_verification() {
        let ts = "1795600800";
        let good = sign(KEY, ts, BODY);
        let mut tampered = BODY.to_vec();
        tampered[12] ^= 1;
        let cases = [
            verify(KEY, Some(ts), Some(&good), &tampered, NOW),
            verify(b"other-key", Some(ts), Some(&good), BODY, NOW),
            verify(KEY, Some("1795600801"), Some(&good), BODY, NOW),
            verify(KEY, Some(ts), Some(&good[..good.len() - 4]), BODY, NOW),
            verify(KEY, Some(ts), Some("not base64!"), BODY, NOW),
            verify(KEY, Some(ts), Some(""), BODY, NOW),
        ];
        for result in cases {
            let rejection = result.unwrap_err();
            assert_eq!((rejection.status, rejection.code), (401, "BAD_SIGNATURE"));
        }
    }

    #[test]
    fn the_timestamp_must_be_seconds_within_five_minutes_either_way() {
        assert!(signed("1795600500", BODY).is_ok(), "exactly 300 s old");
        assert!(signed("1795601100", BODY).is_ok(), "exactly 300 s ahead");
        for ts in ["1795600499", "1795601101", "0"] {
            assert_eq!(signed(ts, BODY).unwrap_err().code, "STALE_TIMESTAMP", "{ts}");
        }
        for ts in ["", "-1795600800", "1795600800.5", " 1795600800", "1795600800000000"] {
            assert_eq!(signed(ts, BODY).unwrap_err().code, "BAD_TIMESTAMP", "{ts:?}");
        }
        let missing = verify(KEY, None, Some("x"), BODY, NOW).unwrap_err();
        assert_eq!((missing.status, missing.code), (401, "MISSING_SIGNATURE"));
        assert_eq!(verify(KEY, Some("1795600800"), None, BODY, NOW).unwrap_err().code, "MISSING_SIGNATURE");
    }

    #[test]
    fn the_same_request_gets_the_same_replay_key_and_a_new_signature_another() {
        assert_eq!(signed("1795600800", BODY).unwrap().replay_key, signed("1795600800", BODY).unwrap().replay_key);
        assert_ne!(signed("1795600800", BODY).unwrap().replay_key, signed("1795600801", BODY).unwrap().replay_key);
    }

    #[test]
    fn a_body_becomes_one_notification_per_distinct_record() {
        let body = br#"{"object":"Account","recordIds":["001SB00000001ABYAY","001SB00000001AB","001SB00000002KLYAY"]}"#;
        let change = parse_body(body).unwrap();
        let verified = signed("1795600800", body).unwrap();
        let notes = change.notifications(&verified, "req-1");
        let keys: Vec<String> = notes.iter().map(|n| n.record.to_string()).collect();
        assert_eq!(keys, ["sf:Account:001SB00000001ABYAY", "sf:Account:001SB00000002KLYAY"]);
        assert!(
            notes.iter().all(|n| n.reason == "webhook:changed" && n.changed_at == NOW && n.correlation_id == "req-1")
        );
        assert!(notes[0].source_version.starts_with("signature:"));
    }

    #[test]
    fn quotes_come_by_webhook_from_the_quote_trigger_and_must_be_quote_ids() {
        // force-app-quotes' B1ForceQuoteNotify: the CDC channel's five entities are taken.
        let body = br#"{"object":"Quote","recordIds":["0Q0SM00000000010AA"],"reason":"updated"}"#;
        let notes = parse_body(body).unwrap().notifications(&signed("1795600800", body).unwrap(), "req-q");
        assert_eq!(notes[0].record.to_string(), "sf:Quote:0Q0SM00000000010AA");
        assert!(parse_body(br#"{"object":"Quote","recordIds":["006SB00000001GHYAY"]}"#).is_err(), "an opportunity id");
    }

    #[test]
    fn changed_at_identifies_the_change_so_a_re_signed_resend_deduplicates() {
        let body = br#"{"object":"Lead","recordIds":["00QSB00000001EF2AY"],"reason":"converted","changedAt":"2026-11-25T09:59:00.000Z"}"#;
        let change = parse_body(body).unwrap();
        assert_eq!(change.changed_at, Some(NOW - 60_000));
        let first = change.notifications(&signed("1795600800", body).unwrap(), "a");
        let resent = change.notifications(&signed("1795600900", body).unwrap(), "b");
        assert_eq!(first[0].idempotency_key(), resent[0].idempotency_key());
        assert_eq!((first[0].changed_at, first[0].reason.as_str()), (NOW - 60_000, "webhook:converted"));
        assert_eq!(
            parse_body(br#"{"object":"Case","recordIds":["500SB00000001IJYAY"],"changedAt":1}"#).unwrap().changed_at,
            Some(1)
        );
    }

    #[test]
    fn bad_bodies_are_400s_that_say_what_is_wrong_without_quoting_values() {
        let cases: [(&[u8], &str, &str); 10] = [
            (b"secret-looking garbage", "BAD_BODY", "not JSON"),
            (b"[]", "BAD_BODY", "JSON object"),
            (br#"{"recordIds":["001SB00000001ABYAY"]}"#, "BAD_BODY", "\"object\""),
            (br#"{"object":"Widget__c","recordIds":["001SB00000001ABYAY"]}"#, "UNKNOWN_OBJECT", "unknown object"),
            (br#"{"object":"Account","recordIds":[]}"#, "BAD_BODY", "1 to 200"),
            (br#"{"object":"Account","recordIds":["006SB00000001GHYAY"]}"#, "BAD_BODY", "not a Account id"),
            (br#"{"object":"Account","recordIds":["001' OR 1=1"]}"#, "BAD_BODY", "not a Salesforce id"),
            (br#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"reason":"a\nb"}"#, "BAD_BODY", "reason"),
            (
                br#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"changedAt":"yesterday"}"#,
                "BAD_BODY",
                "changedAt",
            ),
            (br#"{"object":"Account","recordIds":["001SB00000001ABYAY"],"recordId":"x"}"#, "BAD_BODY", "unknown field"),
        ];
        for (body, code, needle) in cases {
            let rejection = parse_body(body).unwrap_err();
            assert_eq!((rejection.status, rejection.code), (400, code), "{}", String::from_utf8_lossy(body));
            assert!(rejection.message.contains(needle), "{} should mention {needle}", rejection.message);
        }
        assert!(!parse_body(b"secret-looking garbage").unwrap_err().message.contains("secret"));
        let too_many =
            format!(r#"{{"object":"Account","recordIds":[{}]}}"#, vec!["\"001SB00000001ABYAY\""; 201].join(","));
        assert!(parse_body(too_many.as_bytes()).unwrap_err().message.contains("1 to 200"));
    }
}
