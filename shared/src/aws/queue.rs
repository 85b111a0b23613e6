//! [`Queue`] on an SQS FIFO queue.

use super::{malformed, store_error};
use crate::error::{Error, Result};
use crate::ports::{OutgoingMessage, Queue, ReceivedMessage};
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
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

    /// Sends one batch of at most ten; returns the entries SQS refused, with their indexes into `batch`.
    async fn send_batch(&self, batch: &[&OutgoingMessage]) -> Result<Vec<(usize, BatchResultErrorEntry)>> {
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
                Ok(index) if index < batch.len() => Ok((index, failure)),
                _ => Err(malformed(SERVICE, format!("SendMessageBatch reported unknown entry id {:?}", failure.id))),
            })
            .collect()
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        for chunk in messages.chunks(MAX_BATCH) {
            let first_try: Vec<&OutgoingMessage> = chunk.iter().collect();
            let failed = self.send_batch(&first_try).await?;
            if failed.is_empty() {
                continue;
            }
            // Re-sending with the same dedup ids cannot create duplicates, so one immediate retry is safe.
            let retry: Vec<&OutgoingMessage> = failed.iter().map(|(index, _)| first_try[*index]).collect();
            let still_failed = self.send_batch(&retry).await?;
            if !still_failed.is_empty() {
                // A sender fault (too large, bad group id) fails the same way next time; anything else may pass.
                let retryable = still_failed.iter().all(|(_, f)| !f.sender_fault);
                let reasons = still_failed
                    .iter()
                    .map(|(index, f)| {
                        let m = retry[*index];
                        format!("group {} dedup {}: {} {}", m.group_id, m.dedup_id, f.code, f.message.as_deref().unwrap_or(""))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(Error::Store {
                    service: SERVICE,
                    message: format!("{} of {} messages were not accepted: {reasons}", still_failed.len(), messages.len()),
                    retryable,
                });
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, "ReceiveMessage", e))?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let attribute = |name: &MessageSystemAttributeName| message.attributes().and_then(|a| a.get(name)).cloned();
                let receive_count = attribute(&MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1);
                let group_id = attribute(&MessageSystemAttributeName::MessageGroupId).unwrap_or_default();
                let (Some(message_id), Some(receipt_handle)) = (message.message_id, message.receipt_handle) else {
                    return Err(malformed(SERVICE, "ReceiveMessage returned a message without id or receipt handle".into()));
                };
                Ok(ReceivedMessage { message_id, receipt_handle, group_id, body: message.body.unwrap_or_default(), receive_count })
            })
            .collect()
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
