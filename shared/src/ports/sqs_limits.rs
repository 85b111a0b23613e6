//! What one SQS send may carry, as documented (AWS-SQS: SendMessage and SendMessageBatch API
//! reference; "Amazon SQS message quotas"). Both [`Queue`](super::Queue) adapters cut sends with
//! [`batches`]; the embedded queue refuses what SQS refuses, with SQS's error codes and texts, so the
//! suites meet these limits before a deployment does (#12 item 6). Pure code.

use super::OutgoingMessage;
use crate::domain::queue_id::is_queue_id;
use crate::error::Error;

/// SendMessageBatch takes at most ten entries.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// A message body, and the sum of the bodies of one batch, may be 256 KiB. SQS has allowed up to
/// 1 MiB since 2025 where a queue's `MaximumMessageSize` says so, but 262,144 bytes is what the API
/// reference long documented and many queues still hold: the strict side.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// `messages` cut into SendMessageBatch calls: at most ten entries and 256 KiB of bodies each, in
/// order. A body too large on its own travels alone (and is refused as SQS would refuse it).
pub fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let size = message.body.len();
        if i > start && (i - start == MAX_BATCH_ENTRIES || bytes + size > MAX_PAYLOAD_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

/// SQS's answer to a request or an entry it refuses: error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }
}

/// What SQS refuses about a whole SendMessageBatch request (the call fails).
pub fn check_batch(batch: &[OutgoingMessage]) -> Result<(), Refusal> {
    if batch.is_empty() {
        return Err(Refusal::new(
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.".into(),
        ));
    }
    if batch.len() > MAX_BATCH_ENTRIES {
        return Err(Refusal::new(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {}.", batch.len()),
        ));
    }
    let bytes: usize = batch.iter().map(|m| m.body.len()).sum();
    if bytes > MAX_PAYLOAD_BYTES {
        return Err(Refusal::new(
            "AWS.SimpleQueueService.BatchRequestTooLong",
            format!("Batch requests cannot be longer than {MAX_PAYLOAD_BYTES} bytes. You have sent {bytes} bytes."),
        ));
    }
    Ok(())
}

/// What SQS refuses about one FIFO entry (reported in the batch's `Failed` list, sender's fault).
pub fn check_entry(message: &OutgoingMessage) -> Result<(), Refusal> {
    for (parameter, value) in [("MessageGroupId", &message.group_id), ("MessageDeduplicationId", &message.dedup_id)] {
        if !is_queue_id(value) {
            return Err(Refusal::new(
                "InvalidParameterValue",
                format!(
                    "Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include \
                     alphanumeric and punctuation characters. 1 to 128 in length."
                ),
            ));
        }
    }
    if message.body.is_empty() {
        return Err(Refusal::new("MissingParameter", "The request must contain the parameter MessageBody.".into()));
    }
    if message.body.len() > MAX_PAYLOAD_BYTES {
        return Err(Refusal::new(
            "InvalidParameterValue",
            format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {MAX_PAYLOAD_BYTES} bytes."
            ),
        ));
    }
    // #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (a Rust string holds no surrogates).
    if message.body.chars().any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r') || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
    {
        return Err(Refusal::new(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF".into(),
        ));
    }
    Ok(())
}

/// An entry of a batch that was not accepted.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Position in the batch that was sent.
    pub index: usize,
    /// SQS says the request itself is wrong (too large, bad characters): sending it again fails again.
    pub sender_fault: bool,
    /// Code and message.
    pub reason: String,
}

/// The error for a send of `total` messages of which `refused` (entry, why) were not accepted:
/// it names each by group and dedup id (record keys, never bodies) and is retryable only when no
/// refusal was the sender's fault.
pub fn not_accepted(service: &'static str, refused: &[(&OutgoingMessage, &Refused)], total: usize) -> Error {
    let reasons = refused
        .iter()
        .map(|(m, r)| format!("group {} dedup {}: {}", m.group_id, m.dedup_id, r.reason))
        .collect::<Vec<_>>()
        .join("; ");
    Error::Store {
        service,
        message: format!("{} of {total} messages were not accepted: {reasons}", refused.len()),
        retryable: refused.iter().all(|(_, r)| !r.sender_fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(group: &str, body_bytes: usize) -> OutgoingMessage {
        OutgoingMessage { group_id: group.into(), dedup_id: format!("d-{group}"), body: "x".repeat(body_bytes) }
    }

    #[test]
    fn batches_hold_at_most_ten_entries_and_256_kib() {
        let many: Vec<OutgoingMessage> = (0..23).map(|i| message(&i.to_string(), 10)).collect();
        assert_eq!(batches(&many).iter().map(|b| b.len()).collect::<Vec<_>>(), [10, 10, 3]);
        let big: Vec<OutgoingMessage> = (0..5).map(|i| message(&i.to_string(), 100_000)).collect();
        assert_eq!(batches(&big).iter().map(|b| b.len()).collect::<Vec<_>>(), [2, 2, 1]);
        let oversize = [message("a", 10), message("b", MAX_PAYLOAD_BYTES + 1), message("c", 10)];
        assert_eq!(batches(&oversize).iter().map(|b| b.len()).collect::<Vec<_>>(), [1, 1, 1]);
        for batch in batches(&many).into_iter().chain(batches(&big)) {
            assert_eq!(check_batch(batch), Ok(()));
        }
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn sqs_refuses_group_ids_with_spaces_or_umlauts_and_ids_over_128_characters() {
        let refused = |group: &str| check_entry(&OutgoingMessage { group_id: group.into(), ..message("g", 1) });
        let err = refused("sap:BusinessPartners:C/9 Ü'x").unwrap_err();
        assert_eq!(err.code, "InvalidParameterValue");
        assert!(err.message.contains("parameter MessageGroupId is invalid"), "{}", err.message);
        assert!(refused(&"a".repeat(129)).is_err());
        assert!(refused("").is_err());
        assert_eq!(refused(&"a".repeat(128)), Ok(()));
        assert_eq!(refused("sap:BusinessPartners:C/9%20%C3%9C'x!\"#$&()*+,-.;<=>?@[\\]^_`{|}~"), Ok(()));
        let dedup = OutgoingMessage { dedup_id: "a b".into(), ..message("g", 1) };
        assert!(check_entry(&dedup).unwrap_err().message.contains("MessageDeduplicationId"));
    }

    #[test]
    fn sqs_refuses_bodies_over_256_kib_or_with_characters_outside_its_list() {
        assert_eq!(check_entry(&message("g", MAX_PAYLOAD_BYTES)), Ok(()));
        assert_eq!(check_entry(&message("g", MAX_PAYLOAD_BYTES + 1)).unwrap_err().code, "InvalidParameterValue");
        let control = OutgoingMessage { body: "a\u{1}b".into(), ..message("g", 1) };
        assert_eq!(check_entry(&control).unwrap_err().code, "InvalidMessageContents");
        let fine = OutgoingMessage { body: "tab\tand newline\n, Ü and 😀".into(), ..message("g", 1) };
        assert_eq!(check_entry(&fine), Ok(()));
    }

    #[test]
    fn a_batch_over_ten_entries_or_256_kib_is_refused_whole() {
        let eleven: Vec<OutgoingMessage> = (0..11).map(|i| message(&i.to_string(), 1)).collect();
        assert_eq!(check_batch(&eleven).unwrap_err().code, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
        let heavy = [message("a", 200_000), message("b", 100_000)];
        assert_eq!(check_batch(&heavy).unwrap_err().code, "AWS.SimpleQueueService.BatchRequestTooLong");
    }
}
