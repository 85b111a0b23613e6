//! Lambda's record of an asynchronous invocation that failed every attempt: what the sf-receiver's
//! on-failure destination (an SQS queue) holds after EventBridge handed the function a change event
//! it could not enqueue (#13 item 1). Pure code.
//!
//! The shape is the documented "invocation record" [AWS Lambda Developer Guide, "Capturing records
//! of Lambda asynchronous invocations", example invocation record]:
//! `{"version":"1.0","timestamp":…,"requestContext":{"requestId","functionArn","condition":
//! "RetriesExhausted"|"EventAgeExceeded","approximateInvokeCount"},"requestPayload":<the event>,
//! "responseContext":{"statusCode","executedVersion","functionError"},"responsePayload":
//! {"errorMessage","errorType"}}`.

use crate::error::{Error, Result};
use serde_json::Value;

/// Characters of the function's error kept for listing (it may quote whatever the function said).
const MAX_ERROR_CHARS: usize = 300;
/// Record ids named in a summary, at most.
const MAX_IDS_SHOWN: usize = 5;

/// One failed asynchronous invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedInvocation {
    pub request_id: String,
    /// `RetriesExhausted` or `EventAgeExceeded`.
    pub condition: String,
    pub attempts: u64,
    /// `errorType: errorMessage` as the function reported it, cut short.
    pub error: String,
    /// The event the function was invoked with, to run through the receiver again.
    pub event: Value,
}

impl FailedInvocation {
    /// Parses a message body of the on-failure destination.
    pub fn parse(body: &str) -> Result<Self> {
        let record: Value =
            serde_json::from_str(body).map_err(|e| Error::Invalid(format!("not a Lambda invocation record: {e}")))?;
        let context = record.get("requestContext").filter(|c| c.is_object());
        let event = record.get("requestPayload").filter(|p| p.is_object());
        let (Some(context), Some(event)) = (context, event) else {
            return Err(Error::Invalid("not a Lambda invocation record: no requestContext or requestPayload".into()));
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let response = record.get("responsePayload");
        let error = match (response.and_then(|r| r.get("errorType")), response.and_then(|r| r.get("errorMessage"))) {
            (Some(kind), Some(message)) => format!("{}: {}", text(Some(kind)), text(Some(message))),
            (None, Some(message)) => text(Some(message)),
            _ => text(record.get("responseContext").and_then(|c| c.get("functionError"))),
        };
        Ok(Self {
            request_id: text(context.get("requestId")),
            condition: text(context.get("condition")),
            attempts: context.get("approximateInvokeCount").and_then(Value::as_u64).unwrap_or(0),
            error: error.chars().take(MAX_ERROR_CHARS).collect(),
            event: event.clone(),
        })
    }

    /// The event's kind and the records it names, for a listing (never the payload's fields):
    /// `OpportunityChangeEvent 006…, 006… (+3 more)`.
    pub fn summary(&self) -> String {
        let kind = self.event.get("detail-type").and_then(Value::as_str).unwrap_or("event");
        let ids: Vec<&str> = self
            .event
            .pointer("/detail/payload/ChangeEventHeader/recordIds")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let shown: Vec<String> = ids.iter().take(MAX_IDS_SHOWN).map(|id| id.chars().take(18).collect()).collect();
        let more = ids.len().saturating_sub(MAX_IDS_SHOWN);
        let kind: String = kind.chars().take(64).collect();
        match (shown.is_empty(), more) {
            (true, _) => kind,
            (false, 0) => format!("{kind} {}", shown.join(", ")),
            (false, more) => format!("{kind} {} (+{more} more)", shown.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The documented example's envelope around a CDC event as EventBridge delivers it.
    fn record(event: Value) -> String {
        json!({
            "version": "1.0",
            "timestamp": "2019-11-14T18:16:05.568Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "SQS: queue does not exist", "errorType": "&alloc::boxed::Box<dyn core::error::Error>"}
        })
        .to_string()
    }

    #[test]
    fn the_documented_record_gives_the_event_the_error_and_the_attempts() {
        let event = json!({"id": "e-1", "detail-type": "OpportunityChangeEvent",
            "detail": {"payload": {"ChangeEventHeader": {"recordIds": ["006SM0000001Tb1YAE", "006SM0000001Tb2YAE"]}}}});
        let failed = FailedInvocation::parse(&record(event.clone())).unwrap();
        assert_eq!((failed.condition.as_str(), failed.attempts), ("RetriesExhausted", 3));
        assert!(failed.error.ends_with("SQS: queue does not exist"), "{}", failed.error);
        assert_eq!(failed.event, event);
        assert_eq!(failed.summary(), "OpportunityChangeEvent 006SM0000001Tb1YAE, 006SM0000001Tb2YAE");
    }

    #[test]
    fn anything_else_is_refused_and_a_long_id_list_is_shortened() {
        assert!(FailedInvocation::parse("{}").is_err());
        assert!(FailedInvocation::parse("not json").is_err());
        let ids: Vec<String> = (0..8).map(|i| format!("001SM000000{i}Tb1YAE")).collect();
        let event = json!({"detail-type": "AccountChangeEvent", "detail": {"payload": {"ChangeEventHeader": {"recordIds": ids}}}});
        assert!(FailedInvocation::parse(&record(event)).unwrap().summary().ends_with("(+3 more)"));
    }
}
