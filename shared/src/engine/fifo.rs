//! Partial batch failures for FIFO queues: after the first failure in a message group, every
//! later message of that group is reported failed too, so the group's order survives the retry.

use std::collections::HashSet;

/// One message's place in a batch and whether it succeeded.
pub struct Processed<'a> {
    pub message_id: &'a str,
    pub group_id: &'a str,
    pub succeeded: bool,
}

/// The message ids to report as `batchItemFailures`, in batch order.
pub fn batch_item_failures<'a>(batch: impl IntoIterator<Item = Processed<'a>>) -> Vec<String> {
    let mut broken_groups: HashSet<&str> = HashSet::new();
    let mut failures = Vec::new();
    for p in batch {
        if !p.succeeded || broken_groups.contains(p.group_id) {
            broken_groups.insert(p.group_id);
            failures.push(p.message_id.to_string());
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p<'a>(id: &'a str, group: &'a str, ok: bool) -> Processed<'a> {
        Processed { message_id: id, group_id: group, succeeded: ok }
    }

    #[test]
    fn later_messages_of_a_failed_group_fail_too_and_other_groups_do_not() {
        let failures = batch_item_failures([
            p("1", "a", true),
            p("2", "a", false),
            p("3", "b", true),
            p("4", "a", true),
            p("5", "b", true),
        ]);
        assert_eq!(failures, vec!["2", "4"]);
    }

    #[test]
    fn an_all_good_batch_reports_nothing() {
        assert!(batch_item_failures([p("1", "a", true), p("2", "b", true)]).is_empty());
    }
}
