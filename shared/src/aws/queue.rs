//! [`Queue`] on an SQS FIFO queue.

use super::{malformed, store_error};
use crate::error::{Error, Result};
use crate::ports::sqs_limits::{Refused, batches, not_accepted};
use crate::ports::{OutgoingMessage, Queue, ReceivedMessage};
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

const SERVICE: &str = "SQS";
/// SendMessageBatch and ReceiveMessage both cap at ten messages per call.
const MAX_BATCH: usize = 10;

/// An SQS FIFO queue addressed by URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    /// Wraps a client and the URL of a FIFO queue.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.queue_url
    }

    /// The SDK client and the queue's URL from an SDK configuration (operator tools).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, queue_url: String) -> Self {
        Self::new(aws_sdk_sqs::Client::new(sdk), queue_url)
    }

    /// ReceiveMessage with the system attributes the ports carry; `visibility_secs` overrides the
    /// queue's visibility timeout for these messages.
    async fn receive_messages(&self, max: usize, visibility_secs: Option<u32>) -> Result<Vec<ReceivedMessage>> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .set_visibility_timeout(visibility_secs.map(|secs| secs.min(43_200) as i32))
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "ReceiveMessage", e))?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let attribute =
                    |name: &MessageSystemAttributeName| message.attributes().and_then(|a| a.get(name)).cloned();
                let receive_count = attribute(&MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1);
                let group_id = attribute(&MessageSystemAttributeName::MessageGroupId).unwrap_or_default();
                let sent_at = attribute(&MessageSystemAttributeName::SentTimestamp).and_then(|at| at.parse().ok());
                let (Some(message_id), Some(receipt_handle)) = (message.message_id, message.receipt_handle) else {
                    return Err(malformed(
                        SERVICE,
                        "ReceiveMessage returned a message without id or receipt handle".into(),
                    ));
                };
                Ok(ReceivedMessage {
                    message_id,
                    receipt_handle,
                    group_id,
                    body: message.body.unwrap_or_default(),
                    receive_count,
                    sent_at,
                })
            })
            .collect()
    }

    /// Sends one batch of at most ten; returns the entries SQS refused.
    async fn send_batch(&self, batch: &[&OutgoingMessage]) -> Result<Vec<Refused>> {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(index, message)| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(&message.body)
                    .message_group_id(&message.group_id)
                    .message_deduplication_id(&message.dedup_id)
                    .build()
                    .map_err(|e| Error::Invalid(format!("SQS batch entry: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "SendMessageBatch", e))?;
        output
            .failed
            .into_iter()
            .map(|failure| match failure.id.parse::<usize>() {
                Ok(index) if index < batch.len() => Ok(Refused {
                    index,
                    sender_fault: failure.sender_fault,
                    reason: format!("{} {}", failure.code, failure.message.unwrap_or_default()),
                }),
                _ => Err(malformed(SERVICE, format!("SendMessageBatch reported unknown entry id {:?}", failure.id))),
            })
            .collect()
    }
}

/// Sends `messages` in SendMessageBatch calls cut by [`batches`] (ten entries, 256 KiB), retrying
/// refused entries once. Ok only when every message was accepted.
async fn send_in_batches<'m, F, Fut>(messages: &'m [OutgoingMessage], mut send_batch: F) -> Result<()>
where
    F: FnMut(Vec<&'m OutgoingMessage>) -> Fut,
    Fut: Future<Output = Result<Vec<Refused>>>,
{
    for chunk in batches(messages) {
        let first_try: Vec<&OutgoingMessage> = chunk.iter().collect();
        let refused = send_batch(first_try.clone()).await?;
        if refused.is_empty() {
            continue;
        }
        // Re-sending with the same dedup ids cannot create duplicates, so one immediate retry is safe.
        let retry: Vec<&OutgoingMessage> = refused.iter().map(|r| first_try[r.index]).collect();
        let still_refused = send_batch(retry.clone()).await?;
        if still_refused.is_empty() {
            continue;
        }
        let refused: Vec<(&OutgoingMessage, &Refused)> = still_refused.iter().map(|r| (retry[r.index], r)).collect();
        return Err(not_accepted(SERVICE, &refused, messages.len()));
    }
    Ok(())
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        send_in_batches(messages, |batch| async move { self.send_batch(&batch).await }).await
    }

    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        self.receive_messages(max, None).await
    }

    async fn receive_for(&self, max: usize, visibility_secs: u32) -> Result<Vec<ReceivedMessage>> {
        self.receive_messages(max, Some(visibility_secs)).await
    }

    async fn delete(&self, receipt_handle: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "DeleteMessage", e))?;
        Ok(())
    }

    async fn delete_many(&self, receipt_handles: &[String]) -> Result<()> {
        for chunk in receipt_handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| malformed(SERVICE, format!("delete entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let output = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| store_error(SERVICE, "DeleteMessageBatch", e))?;
            if let Some(failed) = output.failed().first() {
                // The message comes back after its visibility timeout; the writer is idempotent.
                return Err(Error::Store {
                    service: SERVICE,
                    message: format!(
                        "DeleteMessageBatch refused {} of {}: {}",
                        output.failed().len(),
                        chunk.len(),
                        failed.code()
                    ),
                    retryable: !failed.sender_fault(),
                });
            }
        }
        Ok(())
    }

    async fn release(&self, receipt_handle: &str, seconds: u32) -> Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.min(i32::MAX as u32) as i32)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "GetQueueAttributes", e))?;
        let raw = output.attributes().and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages));
        raw.and_then(|count| count.parse().ok())
            .ok_or_else(|| malformed(SERVICE, format!("ApproximateNumberOfMessages was {raw:?}, not a count")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn messages(n: usize) -> Vec<OutgoingMessage> {
        (0..n)
            .map(|i| OutgoingMessage { group_id: "g".into(), dedup_id: format!("d{i}"), body: format!("m{i}") })
            .collect()
    }

    /// A fake SendMessageBatch: records every batch and refuses the bodies `refuse` says to.
    async fn run(
        messages: &[OutgoingMessage],
        refuse: impl Fn(usize, &str) -> Option<bool>,
    ) -> (Result<()>, Vec<Vec<String>>) {
        let calls = Mutex::new(0usize);
        let batches = Mutex::new(Vec::new());
        let result = send_in_batches(messages, |batch| {
            let call = {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                *calls
            };
            batches.lock().unwrap().push(batch.iter().map(|m| m.body.clone()).collect());
            let refused: Vec<Refused> = batch
                .iter()
                .enumerate()
                .filter_map(|(index, m)| {
                    refuse(call, &m.body).map(|sender_fault| Refused { index, sender_fault, reason: "refused".into() })
                })
                .collect();
            async move { Ok(refused) }
        })
        .await;
        (result, batches.into_inner().unwrap())
    }

    #[tokio::test]
    async fn messages_go_out_in_batches_of_at_most_ten_in_order() {
        let (result, batches) = run(&messages(23), |_, _| None).await;
        result.unwrap();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
        assert_eq!(batches[2], ["m20", "m21", "m22"]);
    }

    #[tokio::test]
    async fn refused_entries_are_retried_once_and_then_succeed() {
        let (result, batches) = run(&messages(3), |call, body| (call == 1 && body == "m1").then_some(false)).await;
        result.unwrap();
        assert_eq!(batches, [vec!["m0", "m1", "m2"], vec!["m1"]]);
    }

    #[tokio::test]
    async fn entries_refused_twice_fail_the_send_retryably_unless_the_sender_is_at_fault() {
        let (throttled, batches) = run(&messages(12), |_, body| (body == "m11").then_some(false)).await;
        let err = throttled.unwrap_err();
        assert!(err.is_retryable());
        assert!(err.to_string().contains("dedup d11"), "{err}");
        assert_eq!(batches.len(), 3, "the first batch, the second, and one retry of the refused entry");

        let (malformed, _) = run(&messages(2), |_, body| (body == "m0").then_some(true)).await;
        assert!(!malformed.unwrap_err().is_retryable());
    }
}
