//! One bad record, one failure (#13 item 3). A call made for many records (a read of 100 keys, a
//! collection of 200 writes) can fail as a whole because of one of them. When the failure is one that
//! retrying would repeat (permanent), the records are halved and each half called again, until the
//! failing record stands alone and the others went through; a transient failure (5xx, timeout) is
//! not split, as the same call retried later is the cure.
//!
//! A configuration error (a refused login, an unknown field) is every record's and is never split.
//! Splitting is bounded: a failure shared by every record that does not say so would otherwise
//! cost two calls per record. Within a budget of failed calls proportional to log₂ of the batch,
//! enough for a few culprits; parts still failing when it runs out, or when no call succeeded at all,
//! are *unisolated*: the error is not proven to be theirs, so the caller retries them rather than
//! dead-lettering.

use crate::error::{Error, ErrorClass, Result};
use std::ops::Range;
use std::sync::Arc;

/// What became of one item.
#[derive(Debug)]
pub(crate) enum Isolated<R> {
    Done(R),
    /// `alone`: the item failed in a call of its own (and the batch was larger, some other call
    /// succeeded, or it came alone): the error is the item's.
    Failed {
        err: Arc<Error>,
        alone: bool,
    },
}

/// Failed calls allowed for splitting a batch of `n`: four culprits' worth of halvings.
pub(crate) fn split_budget(n: usize) -> usize {
    4 * (usize::BITS - n.leading_zeros()) as usize
}

/// Calls `call` on `items` (one result per item, in order), halving a part whose call fails
/// permanently; one [`Isolated`] per item, in order.
pub(crate) async fn isolate<T, R>(items: &[T], call: impl AsyncFn(&[T]) -> Result<Vec<R>>) -> Vec<Isolated<R>> {
    let mut budget = split_budget(items.len());
    let mut settled: Vec<Option<Isolated<R>>> = items.iter().map(|_| None).collect();
    let mut failed_parts: Vec<(Range<usize>, Arc<Error>)> = Vec::new();
    let mut any_success = false;
    let mut parts: Vec<Range<usize>> = Vec::with_capacity(2 * budget + 1);
    parts.push(0..items.len());
    while let Some(range) = parts.pop() {
        let part = &items[range.clone()];
        if part.is_empty() {
            continue;
        }
        let err = match call(part).await {
            Ok(results) if results.len() == part.len() => {
                any_success = true;
                for (slot, result) in settled[range].iter_mut().zip(results) {
                    *slot = Some(Isolated::Done(result));
                }
                continue;
            }
            Ok(results) => Error::Transport {
                system: "B1Force",
                message: format!("{} results for {} records", results.len(), part.len()),
            },
            Err(err) => err,
        };
        if err.class() == ErrorClass::Permanent && part.len() > 1 && budget > 0 {
            budget -= 1;
            let middle = range.start + part.len() / 2;
            // Depth first, left half first: results come back in a stable order.
            parts.push(middle..range.end);
            parts.push(range.start..middle);
        } else {
            failed_parts.push((range, Arc::new(err)));
        }
    }
    let proven = any_success || items.len() == 1;
    for (range, err) in failed_parts {
        let alone = proven && range.len() == 1;
        for slot in &mut settled[range] {
            *slot = Some(Isolated::Failed { err: err.clone(), alone });
        }
    }
    // Every index is in exactly one part that either succeeded or failed.
    settled.into_iter().map(|slot| slot.expect("every item is settled")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn poison(poisoned: &'static [u32]) -> impl AsyncFn(&[u32]) -> Result<Vec<u32>> {
        async move |part: &[u32]| match part.iter().find(|n| poisoned.contains(n)) {
            Some(n) => Err(Error::Invalid(format!("record {n} is poison"))),
            None => Ok(part.iter().map(|n| n * 10).collect()),
        }
    }

    /// A call that always fails with `err()`, counted in `calls`.
    fn always_failing(calls: &AtomicUsize, err: fn() -> Error) -> impl AsyncFn(&[u32]) -> Result<Vec<u32>> {
        async move |_: &[u32]| {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(err())
        }
    }

    fn failed_alone(out: &[Isolated<u32>]) -> Vec<usize> {
        out.iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Isolated::Failed { alone: true, .. }))
            .map(|(i, _)| i)
            .collect()
    }

    #[tokio::test]
    async fn one_poison_among_a_thousand_fails_alone_with_its_own_error_in_a_few_calls() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = AtomicUsize::new(0);
        let call = poison(&[613]);
        let out = isolate(&items, async |part: &[u32]| {
            calls.fetch_add(1, Ordering::Relaxed);
            call(part).await
        })
        .await;
        assert_eq!(failed_alone(&out), vec![613]);
        let Isolated::Failed { err, .. } = &out[613] else { unreachable!() };
        assert_eq!(err.to_string(), "invalid input: record 613 is poison");
        assert!(matches!(out[612], Isolated::Done(6120)) && matches!(out[999], Isolated::Done(9990)));
        // One failed call per halving (10 for 1,000) and one successful sibling each.
        assert!(calls.load(Ordering::Relaxed) <= 21, "{} calls", calls.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn several_poisons_each_fail_alone() {
        let items: Vec<u32> = (0..1000).collect();
        let out = isolate(&items, poison(&[0, 500, 999])).await;
        assert_eq!(failed_alone(&out), vec![0, 500, 999]);
        assert_eq!(out.iter().filter(|o| matches!(o, Isolated::Done(_))).count(), 997);
    }

    #[tokio::test]
    async fn a_failure_shared_by_every_record_is_not_pinned_on_any_within_the_budget() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = AtomicUsize::new(0);
        let unexplained = || Error::Invalid("every record refused".into());
        let out = isolate(&items, always_failing(&calls, unexplained)).await;
        assert!(out.iter().all(|o| matches!(o, Isolated::Failed { alone: false, .. })));
        assert_eq!(calls.load(Ordering::Relaxed), 2 * split_budget(1000) + 1);
    }

    #[tokio::test]
    async fn a_configuration_error_is_every_records_and_costs_one_call() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = AtomicUsize::new(0);
        let refused = || Error::Config("SAP refused the login".into());
        let out = isolate(&items, always_failing(&calls, refused)).await;
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert!(out.iter().all(|o| matches!(o, Isolated::Failed { alone: false, .. })));
    }

    #[tokio::test]
    async fn a_transient_failure_is_not_split_and_a_lone_item_owns_its_error() {
        let items: Vec<u32> = (0..10).collect();
        let calls = AtomicUsize::new(0);
        let transient = || Error::Transport { system: "SAP", message: "502".into() };
        let out = isolate(&items, always_failing(&calls, transient)).await;
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert!(out.iter().all(|o| matches!(o, Isolated::Failed { alone: false, .. })));
        let lone = isolate(&[7u32], poison(&[7])).await;
        assert!(matches!(lone[0], Isolated::Failed { alone: true, .. }));
    }
}
