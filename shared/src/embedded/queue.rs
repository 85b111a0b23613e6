//! [`Queue`] in memory, with SQS FIFO semantics: dedup window, message-group locking, visibility
//! timeouts, redrive to a dead-letter queue, and SQS's documented limits on what a send carries
//! (group and dedup ids, body size and characters, ten entries and 256 KiB per batch; see
//! [`sqs_limits`]), refused with SQS's error codes as SQS refuses them (#12 item 6).

use super::lock;
use crate::domain::EpochMillis;
use crate::error::{Error, Result};
use crate::ports::sqs_limits::{Refused, batches, check_batch, check_entry, not_accepted};
use crate::ports::{Clock, OutgoingMessage, Queue, ReceivedMessage};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

/// SQS FIFO remembers a deduplication id for five minutes.
const DEDUP_WINDOW_MILLIS: EpochMillis = 5 * 60 * 1000;
/// ReceiveMessage returns at most ten messages.
const MAX_RECEIVE: usize = 10;

/// Queue attributes that SQS would hold.
#[derive(Clone)]
pub struct EmbeddedQueueOptions {
    /// How long a received message stays invisible unless deleted or released.
    pub visibility_timeout_secs: u32,
    /// Receives after which the next receive attempt moves a message to `dead_letter`
    /// (the RedrivePolicy's maxReceiveCount; ignored without a dead-letter queue, as SQS has no redrive without one).
    pub max_receive_count: Option<u32>,
    /// The dead-letter queue.
    pub dead_letter: Option<Arc<EmbeddedQueue>>,
}

impl Default for EmbeddedQueueOptions {
    fn default() -> Self {
        Self { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None }
    }
}

impl fmt::Debug for EmbeddedQueueOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedQueueOptions")
            .field("visibility_timeout_secs", &self.visibility_timeout_secs)
            .field("max_receive_count", &self.max_receive_count)
            .field("dead_letter", &self.dead_letter.as_ref().map(|q| q.name()))
            .finish()
    }
}

/// A message on the queue, visible or in flight.
#[derive(Debug, Clone)]
struct Stored {
    message_id: String,
    group_id: String,
    body: String,
    receive_count: u32,
    /// When it was sent (kept when a redrive moves it to the dead-letter queue).
    sent_at: EpochMillis,
    /// Invisible (in flight) until then.
    visible_at: EpochMillis,
    /// The handle of the latest receive; older handles no longer work.
    receipt_handle: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// By sequence number: send order, which is also the order within each group.
    messages: BTreeMap<u64, Stored>,
    /// Sequence numbers of messages made invisible (received, or released with a delay): the only
    /// ones that can lock a group, so a receive looks at these, not at the whole queue.
    hidden: HashSet<u64>,
    /// How many hidden messages each group has: a group in here is locked. Kept with `hidden`, so
    /// a receive checks a group without rebuilding the set (a round of thousands in flight).
    hidden_groups: HashMap<String, usize>,
    /// Current receipt handle → sequence number.
    handles: HashMap<String, u64>,
    /// Dedup id → end of its window.
    dedup_until: HashMap<String, EpochMillis>,
    /// Handles of deleted messages: deleting twice succeeds, as on SQS.
    deleted_handles: HashSet<String>,
    sequence: u64,
}

impl State {
    fn push(&mut self, message: Stored) {
        self.sequence += 1;
        self.messages.insert(self.sequence, message);
    }

    /// Forgets hidden marks whose time has passed, unlocking their groups.
    fn expire_hidden(&mut self, now: EpochMillis) {
        let messages = &self.messages;
        let expired: Vec<u64> =
            self.hidden.iter().copied().filter(|seq| messages.get(seq).is_none_or(|m| m.visible_at <= now)).collect();
        for seq in expired {
            let group = self.messages.get(&seq).map(|m| m.group_id.clone());
            self.unhide(seq, group.as_deref());
        }
    }

    fn hide(&mut self, seq: u64) {
        if self.hidden.insert(seq)
            && let Some(message) = self.messages.get(&seq)
        {
            *self.hidden_groups.entry(message.group_id.clone()).or_default() += 1;
        }
    }

    fn unhide(&mut self, seq: u64, group: Option<&str>) {
        if self.hidden.remove(&seq)
            && let Some(group) = group
            && let Some(count) = self.hidden_groups.get_mut(group)
        {
            *count -= 1;
            if *count == 0 {
                self.hidden_groups.remove(group);
            }
        }
    }

    fn remove(&mut self, seq: u64) -> Option<Stored> {
        let message = self.messages.remove(&seq)?;
        self.unhide(seq, Some(&message.group_id));
        if let Some(handle) = &message.receipt_handle {
            self.handles.remove(handle);
        }
        Some(message)
    }
}

/// An in-memory FIFO queue.
pub struct EmbeddedQueue {
    name: String,
    options: EmbeddedQueueOptions,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl EmbeddedQueue {
    /// A queue named `name` (used in ids and messages) with SQS-like attributes.
    pub fn new(name: &str, options: EmbeddedQueueOptions, clock: Arc<dyn Clock>) -> Self {
        Self { name: name.to_string(), options, clock, state: Mutex::new(State::default()) }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages on the queue, visible or in flight.
    pub fn len(&self) -> usize {
        lock(&self.state).messages.len()
    }

    /// True when no message is on the queue, visible or in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages received and neither deleted nor visible again yet.
    pub fn in_flight(&self) -> usize {
        let now = self.clock.now_millis();
        lock(&self.state).messages.values().filter(|m| m.visible_at > now).count()
    }

    /// The bodies of all messages on the queue, in send order.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.state).messages.values().map(|m| m.body.clone()).collect()
    }

    /// Takes messages moved here by a source queue's redrive (no dedup: they are moved, not sent).
    fn accept_dead_letters(&self, mut moved: Vec<Stored>) {
        let now = self.clock.now_millis();
        let mut state = lock(&self.state);
        for mut message in moved.drain(..) {
            message.visible_at = now;
            message.receipt_handle = None;
            state.push(message);
        }
    }

    /// Puts accepted messages on the queue; a dedup id seen within five minutes is accepted but not enqueued.
    fn enqueue<'m>(&self, messages: impl Iterator<Item = &'m OutgoingMessage>) {
        let now = self.clock.now_millis();
        let mut state = lock(&self.state);
        state.dedup_until.retain(|_, until| *until > now);
        for message in messages {
            if state.dedup_until.contains_key(&message.dedup_id) {
                continue; // Accepted but not enqueued, as SQS does within the dedup window.
            }
            state.dedup_until.insert(message.dedup_id.clone(), now + DEDUP_WINDOW_MILLIS);
            let message_id = format!("{}-{}", self.name, state.sequence + 1);
            state.push(Stored {
                message_id,
                group_id: message.group_id.clone(),
                body: message.body.clone(),
                receive_count: 0,
                sent_at: now,
                visible_at: now,
                receipt_handle: None,
            });
        }
    }

    fn redrive_limit(&self) -> Option<u32> {
        self.options.dead_letter.as_ref().and(self.options.max_receive_count)
    }

    fn invalid_handle(&self, receipt_handle: &str) -> Error {
        Error::Store {
            service: "embedded queue",
            message: format!(
                "{}: receipt handle {receipt_handle} is not current (never issued, or the message was received again)",
                self.name
            ),
            retryable: false,
        }
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    /// Sends as the SQS adapter does: in [`batches`], each checked as SQS checks a SendMessageBatch;
    /// a refused entry fails the send after its batch's other entries are enqueued, as on SQS.
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        for batch in batches(messages) {
            if let Err(refusal) = check_batch(batch) {
                return Err(Error::Store {
                    service: "embedded queue",
                    message: format!("{}: SendMessageBatch failed: {}: {}", self.name, refusal.code, refusal.message),
                    retryable: false,
                });
            }
            let refused: Vec<Refused> = batch
                .iter()
                .enumerate()
                .filter_map(|(index, m)| {
                    let refusal = check_entry(m).err()?;
                    Some(Refused { index, sender_fault: true, reason: format!("{} {}", refusal.code, refusal.message) })
                })
                .collect();
            self.enqueue(
                batch.iter().enumerate().filter(|(i, _)| !refused.iter().any(|r| r.index == *i)).map(|(_, m)| m),
            );
            if !refused.is_empty() {
                let pairs: Vec<(&OutgoingMessage, &Refused)> = refused.iter().map(|r| (&batch[r.index], r)).collect();
                return Err(not_accepted("embedded queue", &pairs, messages.len()));
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        self.receive_for(max, self.options.visibility_timeout_secs).await
    }

    async fn receive_for(&self, max: usize, visibility_secs: u32) -> Result<Vec<ReceivedMessage>> {
        let now = self.clock.now_millis();
        let max = max.clamp(1, MAX_RECEIVE);
        let redrive_limit = self.redrive_limit();
        let mut dead = Vec::new();
        let mut received = Vec::new();
        {
            let mut state = lock(&self.state);
            let state = &mut *state;
            // A group with a message in flight delivers nothing until that message is deleted or visible again.
            state.expire_hidden(now);
            let mut delivered_now: HashSet<String> = HashSet::new();
            let mut cursor = 0;
            while received.len() < max {
                let Some((&seq, message)) = state.messages.range_mut(cursor..).next() else { break };
                cursor = seq + 1;
                if message.visible_at > now {
                    continue;
                }
                // Groups locked before this receive; those delivered in it are locked afterwards.
                let group = message.group_id.clone();
                if state.hidden_groups.contains_key(&group) && !delivered_now.contains(&group) {
                    continue;
                }
                if redrive_limit.is_some_and(|limit| message.receive_count >= limit) {
                    // Like SQS: the move happens on the receive attempt after the last allowed one.
                    dead.extend(state.remove(seq));
                    continue;
                }
                // Delivering the rest of this group in the same batch keeps its order; it is locked afterwards.
                state.sequence += 1;
                let handle = format!("{}:{}:{}", self.name, message.message_id, state.sequence);
                let message = state.messages.get_mut(&seq).expect("the message was just found");
                message.receive_count += 1;
                message.visible_at = now + i64::from(visibility_secs) * 1000;
                if let Some(old) = message.receipt_handle.replace(handle.clone()) {
                    state.handles.remove(&old);
                }
                received.push(ReceivedMessage {
                    message_id: message.message_id.clone(),
                    receipt_handle: handle.clone(),
                    group_id: message.group_id.clone(),
                    body: message.body.clone(),
                    receive_count: message.receive_count,
                    sent_at: Some(message.sent_at),
                });
                state.handles.insert(handle, seq);
                state.hide(seq);
                delivered_now.insert(group);
            }
        }
        // Moved after unlocking this queue, so two queues' locks are never held together.
        if let (false, Some(dead_letter)) = (dead.is_empty(), &self.options.dead_letter) {
            dead_letter.accept_dead_letters(dead);
        }
        Ok(received)
    }

    async fn delete(&self, receipt_handle: &str) -> Result<()> {
        let mut state = lock(&self.state);
        if let Some(&seq) = state.handles.get(receipt_handle) {
            state.remove(seq);
            state.deleted_handles.insert(receipt_handle.to_string());
            return Ok(());
        }
        if state.deleted_handles.contains(receipt_handle) {
            return Ok(());
        }
        Err(self.invalid_handle(receipt_handle))
    }

    async fn release(&self, receipt_handle: &str, seconds: u32) -> Result<()> {
        let now = self.clock.now_millis();
        let mut state = lock(&self.state);
        let seq = *state.handles.get(receipt_handle).ok_or_else(|| self.invalid_handle(receipt_handle))?;
        if let Some(message) = state.messages.get_mut(&seq) {
            message.visible_at = now + i64::from(seconds) * 1000;
        }
        state.hide(seq);
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        let now = self.clock.now_millis();
        Ok(lock(&self.state).messages.values().filter(|m| m.visible_at <= now).count() as u64)
    }
}

impl fmt::Debug for EmbeddedQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedQueue")
            .field("name", &self.name)
            .field("options", &self.options)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::ManualClock;
    use std::time::Duration;

    fn message(group: &str, dedup: &str) -> OutgoingMessage {
        OutgoingMessage { group_id: group.into(), dedup_id: dedup.into(), body: format!("{group}/{dedup}") }
    }

    fn queue(visibility_timeout_secs: u32) -> (EmbeddedQueue, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let options = EmbeddedQueueOptions { visibility_timeout_secs, ..Default::default() };
        (EmbeddedQueue::new("work.fifo", options, clock.clone()), clock)
    }

    #[tokio::test]
    async fn an_undeleted_message_comes_back_after_the_visibility_timeout() {
        let (queue, clock) = queue(30);
        queue.send(&[message("g", "1")]).await.unwrap();
        assert_eq!(queue.receive(10).await.unwrap().len(), 1);
        clock.advance(Duration::from_millis(29_999));
        assert!(queue.receive(10).await.unwrap().is_empty());
        assert_eq!(queue.in_flight(), 1);
        clock.advance(Duration::from_millis(1));
        let again = queue.receive(10).await.unwrap();
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn a_receive_for_a_given_visibility_hides_the_message_that_long_and_reports_when_it_was_sent() {
        let (queue, clock) = queue(30);
        queue.send(&[message("g", "1")]).await.unwrap();
        clock.advance(Duration::from_secs(7));
        let first = queue.receive_for(10, 2).await.unwrap();
        assert_eq!(first[0].sent_at, Some(1_800_000_000_000));
        clock.advance(Duration::from_millis(1_999));
        assert!(queue.receive(10).await.unwrap().is_empty());
        clock.advance(Duration::from_millis(1));
        assert_eq!(queue.receive(10).await.unwrap()[0].receive_count, 2);
    }

    #[tokio::test]
    async fn a_dedup_id_is_forgotten_after_five_minutes() {
        let (queue, clock) = queue(30);
        queue.send(&[message("g", "1")]).await.unwrap();
        clock.advance(Duration::from_secs(299));
        queue.send(&[message("g", "1")]).await.unwrap();
        assert_eq!(queue.len(), 1);
        clock.advance(Duration::from_secs(1));
        queue.send(&[message("g", "1")]).await.unwrap();
        assert_eq!(queue.len(), 2);
    }

    #[tokio::test]
    async fn a_dedup_id_stays_remembered_after_its_message_is_deleted() {
        let (queue, _) = queue(30);
        queue.send(&[message("g", "1")]).await.unwrap();
        let received = queue.receive(1).await.unwrap();
        queue.delete(&received[0].receipt_handle).await.unwrap();
        queue.send(&[message("g", "1")]).await.unwrap();
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn a_released_message_stays_invisible_and_keeps_its_group_locked_for_the_given_seconds() {
        let (queue, clock) = queue(30);
        queue.send(&[message("g", "1"), message("g", "2")]).await.unwrap();
        let first = queue.receive(1).await.unwrap();
        queue.release(&first[0].receipt_handle, 5).await.unwrap();
        clock.advance(Duration::from_secs(4));
        assert!(queue.receive(10).await.unwrap().is_empty());
        clock.advance(Duration::from_secs(1));
        assert_eq!(queue.receive(1).await.unwrap()[0].body, "g/1");
    }

    #[tokio::test]
    async fn an_old_receipt_handle_stops_working_once_the_message_is_received_again() {
        let (queue, clock) = queue(30);
        queue.send(&[message("g", "1")]).await.unwrap();
        let first = queue.receive(1).await.unwrap();
        clock.advance(Duration::from_secs(30));
        let second = queue.receive(1).await.unwrap();
        assert!(queue.delete(&first[0].receipt_handle).await.is_err());
        queue.delete(&second[0].receipt_handle).await.unwrap();
        queue.delete(&second[0].receipt_handle).await.expect("deleting twice succeeds, as on SQS");
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn a_group_id_sqs_would_refuse_fails_the_send_as_sqs_does_and_the_rest_of_its_batch_goes_through() {
        let (queue, _) = queue(30);
        let bad = OutgoingMessage { group_id: "sap:BusinessPartners:C/9 Ü'x".into(), ..message("g", "2") };
        let err = queue.send(&[message("g", "1"), bad, message("g", "3")]).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("InvalidParameterValue") && text.contains("parameter MessageGroupId is invalid"),
            "{text}"
        );
        assert!(!err.is_retryable(), "sending it again fails again");
        assert_eq!(queue.messages(), ["g/1", "g/3"]);
    }

    #[tokio::test]
    async fn a_send_of_many_goes_out_in_sqs_batches_and_an_oversize_body_is_refused() {
        let (queue, _) = queue(30);
        let many: Vec<OutgoingMessage> = (0..25).map(|i| message("g", &i.to_string())).collect();
        queue.send(&many).await.unwrap();
        assert_eq!(queue.len(), 25);
        let huge =
            OutgoingMessage { body: "x".repeat(crate::ports::sqs_limits::MAX_PAYLOAD_BYTES + 1), ..message("h", "h") };
        let err = queue.send(&[huge]).await.unwrap_err();
        assert!(err.to_string().contains("BatchRequestTooLong"), "{err}");
        assert_eq!(queue.len(), 25);
    }

    #[tokio::test]
    async fn depth_counts_visible_messages_only() {
        let (queue, _) = queue(30);
        queue.send(&[message("a", "1"), message("b", "2"), message("b", "3")]).await.unwrap();
        queue.receive(1).await.unwrap();
        assert_eq!(queue.depth().await.unwrap(), 2);
        assert_eq!(queue.messages(), ["a/1", "b/2", "b/3"]);
    }
}
