//! What becomes of a message that did not go through, given how often its queue has delivered it
//! (#13 items 2 and 5). Pure code; both writers settle with it (the
//! engine's `trail::requeued_copy` makes the fresh copy).
//!
//! SQS's redrive policy moves a message to the DLQ on the receive after its `maxReceiveCount`-th,
//! silently: nothing reaches the audit trail. So the writers settle every message themselves first:
//! - a record failure that retrying may cure returns to the queue until its second-to-last allowed
//!   receive, which is its last attempt: failing then, it is dead-lettered and audited;
//! - a message delivered for the last allowed time was received before by an invocation that ended
//!   without settling it (a timeout, a crash): it is dead-lettered and audited without another try,
//!   as a third kill would hand it to the redrive policy;
//! - a configuration error is not the record's: the message is kept (returned, and on its last
//!   attempts sent again as a fresh copy with a fresh receive count), never dead-lettered.

use crate::error::{Error, ErrorClass};

/// After a failed attempt.
#[derive(Debug)]
pub enum Afterwards {
    /// Back on the queue, for another attempt after a delay.
    Return,
    /// Audited and moved to the DLQ, with this error.
    DeadLetter(Error),
    /// Sent again as a new message and the delivered one deleted: kept queued without the redrive
    /// policy ever taking it.
    Requeue,
}

/// The queue's `maxReceiveCount`, when the writer was told it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub max_receive_count: Option<u32>,
}

impl Deliveries {
    /// Whether `receive_count` is an attempt after which the redrive policy leaves no other (the
    /// last attempt, or the last receive itself).
    fn last_attempt(self, receive_count: u32) -> bool {
        self.max_receive_count.is_some_and(|max| receive_count.saturating_add(1) >= max)
    }

    /// A delivery no invocation should work on: the queue gave it for the last allowed time, so
    /// every earlier attempt ended without settling it. `Some(error)` to dead-letter it with.
    pub fn unsettled_too_often(self, receive_count: u32) -> Option<Error> {
        let max = self.max_receive_count?;
        (receive_count >= max).then(|| Error::Exhausted {
            deliveries: receive_count,
            last: "the invocations that received it ended before settling it (timeout or crash)".into(),
        })
    }

    /// What a failed attempt at a message delivered `receive_count` times comes to; `class` is the
    /// failure's as the writer judged it (a permanent error not proven to be the record's is retried).
    pub fn after(self, class: ErrorClass, err: &Error, receive_count: u32) -> Afterwards {
        match class {
            ErrorClass::Permanent => Afterwards::DeadLetter(err.clone()),
            ErrorClass::Configuration if self.last_attempt(receive_count) => Afterwards::Requeue,
            ErrorClass::Configuration => Afterwards::Return,
            ErrorClass::Retryable if self.last_attempt(receive_count) => {
                Afterwards::DeadLetter(Error::Exhausted { deliveries: receive_count, last: err.to_string() })
            }
            ErrorClass::Retryable => Afterwards::Return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Deliveries {
        fn after_failure(self, err: &Error, receive_count: u32) -> Afterwards {
            self.after(err.class(), err, receive_count)
        }
    }

    const FIVE: Deliveries = Deliveries { max_receive_count: Some(5) };

    fn transient() -> Error {
        Error::Transport { system: "sap", message: "502".into() }
    }

    #[test]
    fn a_transient_failure_returns_until_the_last_attempt_then_is_dead_lettered_with_its_cause() {
        assert!(matches!(FIVE.after_failure(&transient(), 1), Afterwards::Return));
        assert!(matches!(FIVE.after_failure(&transient(), 3), Afterwards::Return));
        let Afterwards::DeadLetter(err) = FIVE.after_failure(&transient(), 4) else { panic!("not dead-lettered") };
        assert_eq!(err.code(), "RETRIES_EXHAUSTED");
        assert!(err.to_string().contains("sap transport error: 502"), "{err}");
    }

    #[test]
    fn a_configuration_error_is_never_dead_lettered_and_is_requeued_before_the_redrive_policy_can_move_it() {
        let refused = Error::Config("SAP refused the login".into());
        assert!(matches!(FIVE.after_failure(&refused, 1), Afterwards::Return));
        assert!(matches!(FIVE.after_failure(&refused, 4), Afterwards::Requeue));
        assert!(matches!(FIVE.after_failure(&refused, 5), Afterwards::Requeue));
    }

    #[test]
    fn a_permanent_failure_is_dead_lettered_at_once_and_the_last_receive_is_not_worked_on() {
        let bad = Error::Invalid("not a Salesforce id".into());
        assert!(matches!(FIVE.after_failure(&bad, 1), Afterwards::DeadLetter(Error::Invalid(_))));
        assert!(FIVE.unsettled_too_often(4).is_none());
        assert_eq!(FIVE.unsettled_too_often(5).map(|e| e.code()).as_deref(), Some("RETRIES_EXHAUSTED"));
    }

    #[test]
    fn without_the_queues_limit_nothing_is_given_up() {
        let unknown = Deliveries::default();
        assert!(matches!(unknown.after_failure(&transient(), 1000), Afterwards::Return));
        assert!(unknown.unsettled_too_often(1000).is_none());
    }
}
