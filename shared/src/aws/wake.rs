//! [`Wake`] on a standard SQS queue whose event source mapping invokes the consumer (the sf-writer):
//! the mapping's batching window gathers the wakes of a few seconds into one invocation.

use super::store_error;
use crate::error::Result;
use crate::ports::Wake;
use async_trait::async_trait;

/// The body of every wake: the consumer reads nothing from it.
pub const WAKE_BODY: &str = r#"{"wake":"to-salesforce"}"#;

/// A standard (not FIFO) SQS queue addressed by URL.
#[derive(Debug, Clone)]
pub struct SqsWake {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsWake {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

#[async_trait]
impl Wake for SqsWake {
    async fn wake(&self) -> Result<()> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(WAKE_BODY)
            .send()
            .await
            .map_err(|e| store_error("SQS", "SendMessage", e))?;
        Ok(())
    }
}
