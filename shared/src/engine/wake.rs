//! A work queue whose sends also wake its consumer: SAP changes reach Salesforce seconds after they
//! are enqueued, not at the sf-writer's next schedule. A failed wake is logged and costs only
//! latency (the schedule drains the queue anyway); it never fails the send it follows.

use crate::error::Result;
use crate::ports::{OutgoingMessage, Queue, ReceivedMessage, Wake};
use async_trait::async_trait;
use std::sync::Arc;

/// `queue`, and after every send that carried messages one wake of its consumer (none configured:
/// the consumer runs on its schedule only).
pub struct WakingQueue<Q> {
    pub queue: Q,
    pub wake: Option<Arc<dyn Wake>>,
}

#[async_trait]
impl<Q: Queue> Queue for WakingQueue<Q> {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        self.queue.send(messages).await?;
        if let (Some(wake), false) = (&self.wake, messages.is_empty())
            && let Err(error) = wake.wake().await
        {
            tracing::warn!(%error, "the consumer was not woken; it drains at its next schedule");
        }
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        self.queue.receive(max).await
    }

    async fn receive_for(&self, max: usize, visibility_secs: u32) -> Result<Vec<ReceivedMessage>> {
        self.queue.receive_for(max, visibility_secs).await
    }

    async fn delete(&self, receipt_handle: &str) -> Result<()> {
        self.queue.delete(receipt_handle).await
    }

    async fn delete_many(&self, receipt_handles: &[String]) -> Result<()> {
        self.queue.delete_many(receipt_handles).await
    }

    async fn release(&self, receipt_handle: &str, seconds: u32) -> Result<()> {
        self.queue.release(receipt_handle, seconds).await
    }

    async fn depth(&self) -> Result<u64> {
        self.queue.depth().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{EmbeddedQueue, EmbeddedQueueOptions};
    use crate::error::Error;
    use crate::ports::SystemClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct CountingWake {
        wakes: AtomicUsize,
        fail: bool,
    }

    #[async_trait]
    impl Wake for CountingWake {
        async fn wake(&self) -> Result<()> {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            if self.fail { Err(Error::Config("wake queue gone".into())) } else { Ok(()) }
        }
    }

    fn fifo() -> EmbeddedQueue {
        EmbeddedQueue::new("to-salesforce.fifo", EmbeddedQueueOptions::default(), Arc::new(SystemClock))
    }

    fn message(n: u32) -> OutgoingMessage {
        OutgoingMessage { group_id: format!("g{n}"), dedup_id: format!("d{n}"), body: format!("{{\"n\":{n}}}") }
    }

    #[tokio::test]
    async fn each_send_with_messages_wakes_once_after_the_messages_are_queued() {
        let wake = Arc::new(CountingWake::default());
        let queue = WakingQueue { queue: fifo(), wake: Some(wake.clone()) };
        queue.send(&[message(1), message(2)]).await.unwrap();
        queue.send(&[]).await.unwrap();
        assert_eq!(wake.wakes.load(Ordering::SeqCst), 1);
        assert_eq!(queue.depth().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_failed_wake_leaves_the_send_accepted() {
        let wake = Arc::new(CountingWake { fail: true, ..Default::default() });
        let queue = WakingQueue { queue: fifo(), wake: Some(wake.clone()) };
        queue.send(&[message(1)]).await.unwrap();
        assert_eq!((wake.wakes.load(Ordering::SeqCst), queue.depth().await.unwrap()), (1, 1));
    }
}
