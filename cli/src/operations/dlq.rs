//! The dead-letter queues as operators see them: what is there and why ([`list`], [`show`]), and
//! moving messages back to their work queue ([`redrive`]).
//!
//! Reading a body means receiving the message: it is hidden for a short visibility timeout and made
//! visible again when the look is done. While a FIFO message is in flight its whole message group is
//! locked, so a look blocks a redrive of the same groups (and vice versa) for at most that long.
//!
//! A redrive is crash-safe: a message is deleted from the DLQ only after its work queue accepted the
//! copy, and the copy's deduplication id is derived from the DLQ message id, so a redrive restarted
//! after dying between the send and the delete sends a copy SQS drops within five minutes; after
//! that the writers' idempotency makes the second copy a no-op.

use super::Route;
use shared::domain::{EpochMillis, Notification, digest};
use shared::error::{Error, ErrorClass, Result};
use shared::ports::AuditAction;
use shared::ports::{AuditEntry, AuditLog, Clock, FAILURE_OUTCOMES, Outcome, OutgoingMessage, Queue, ReceivedMessage};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// How long a look (list, show) hides the messages it reads.
pub const LOOK_VISIBILITY_SECS: u32 = 30;
/// How long a redrive hides a batch: long enough to send and delete it, and shorter than the
/// five-minute FIFO dedup window, so a redrive restarted after a crash re-sends within the window.
pub const REDRIVE_VISIBILITY_SECS: u32 = 120;

/// A work queue and its dead-letter queue.
#[derive(Clone, Copy)]
pub struct QueuePair<'a> {
    pub route: Route,
    pub source: &'a dyn Queue,
    pub dead_letters: &'a dyn Queue,
}

/// Why a message is in a DLQ: the latest dead-lettering (else the latest failure) in its record's audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reason {
    pub at: EpochMillis,
    pub code: Option<String>,
    pub class: Option<ErrorClass>,
    pub error: Option<String>,
}

impl Reason {
    /// The latest dead-lettering of the trail, else its latest failed attempt.
    pub fn from_trail(trail: &[AuditEntry]) -> Option<Self> {
        let latest = |pick: &dyn Fn(&AuditEntry) -> bool| trail.iter().filter(|e| pick(e)).max_by_key(|e| e.at);
        let entry = latest(&|e| e.outcome == Outcome::DeadLettered)
            .or_else(|| latest(&|e| FAILURE_OUTCOMES.contains(&e.outcome)))?;
        Some(Self {
            at: entry.at,
            code: entry.error_code.clone(),
            class: entry.error_class,
            error: entry.error.clone(),
        })
    }

    /// What operators group and filter by: the error code, else the class.
    pub fn label(&self) -> String {
        self.code.clone().or_else(|| self.class.map(class_name)).unwrap_or_else(|| UNKNOWN.to_string())
    }
}

/// The label of a message whose record has no failure in the audit trail.
pub const UNKNOWN: &str = "unknown";

fn class_name(class: ErrorClass) -> String {
    match class {
        ErrorClass::Retryable => "retryable".into(),
        ErrorClass::Permanent => "permanent".into(),
        ErrorClass::Configuration => "configuration".into(),
    }
}

/// A message in a dead-letter queue and what is known about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    /// The work queue it came from.
    pub queue: &'static str,
    pub message_id: String,
    pub group_id: String,
    /// The notification it carries (record key, reason, source version: no business data), when it parses.
    pub notification: Option<Notification>,
    /// The body as stored, when it is not a notification.
    pub unparsed_body: Option<String>,
    pub receive_count: u32,
    pub sent_at: Option<EpochMillis>,
    pub reason: Option<Reason>,
}

impl DeadLetter {
    /// The record the message is about: the notification's, else its message group (the record key too).
    pub fn record_key(&self) -> String {
        self.notification.as_ref().map(|n| n.record.to_string()).unwrap_or_else(|| self.group_id.clone())
    }

    /// The reason's label, `unknown` without one.
    pub fn reason_label(&self) -> String {
        self.reason.as_ref().map(Reason::label).unwrap_or_else(|| UNKNOWN.to_string())
    }
}

/// Which dead letters a redrive moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Those whose reason has this error code or class (`SAP_-5002`, `MAPPING`, `permanent`, `unknown`), any case.
    Reason(String),
    /// Those whose record key starts with this (`sf:Opportunity:006…`, `sap:Invoices:`).
    Record(String),
}

impl FromStr for Filter {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self> {
        let usage = || {
            Error::Invalid(format!(
                "--filter {raw:?}: expected reason=<error code or class> or record=<record key or prefix>"
            ))
        };
        let (kind, value) = raw.split_once('=').ok_or_else(usage)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(usage());
        }
        match kind.trim() {
            "reason" => Ok(Filter::Reason(value.to_string())),
            "record" => Ok(Filter::Record(value.to_string())),
            _ => Err(usage()),
        }
    }
}

impl Filter {
    /// True when `letter` is one this filter selects.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Filter::Record(prefix) => letter.record_key().starts_with(prefix.as_str()),
            Filter::Reason(wanted) => {
                let Some(reason) = &letter.reason else { return wanted.eq_ignore_ascii_case(UNKNOWN) };
                reason.code.as_deref().is_some_and(|code| code.eq_ignore_ascii_case(wanted))
                    || reason.class.is_some_and(|class| class_name(class).eq_ignore_ascii_case(wanted))
            }
        }
    }
}

/// One DLQ at a glance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueSummary {
    pub queue: &'static str,
    /// SQS's ApproximateNumberOfMessages of the DLQ (visible messages).
    pub approximate_count: u64,
    /// Messages read for the reasons (at most the sample size; FIFO group locks can hide some).
    pub sampled: usize,
    pub oldest_sent_at: Option<EpochMillis>,
    /// Reason label → messages, most frequent first.
    pub reasons: Vec<(String, usize)>,
}

/// Counts the reasons of `letters`, most frequent first (ties by label), and finds the oldest.
pub fn summarize(queue: &'static str, approximate_count: u64, letters: &[DeadLetter]) -> QueueSummary {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for letter in letters {
        *counts.entry(letter.reason_label()).or_default() += 1;
    }
    let mut reasons: Vec<(String, usize)> = counts.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    QueueSummary {
        queue,
        approximate_count,
        sampled: letters.len(),
        oldest_sent_at: letters.iter().filter_map(|l| l.sent_at).min(),
        reasons,
    }
}

/// Looks up reasons in the audit trail, once per record key.
struct Reasons<'a> {
    audit: &'a dyn AuditLog,
    known: HashMap<String, Option<Reason>>,
}

impl<'a> Reasons<'a> {
    fn new(audit: &'a dyn AuditLog) -> Self {
        Self { audit, known: HashMap::new() }
    }

    async fn letter(&mut self, route: Route, message: &ReceivedMessage) -> Result<DeadLetter> {
        let parsed = Notification::from_body(&message.body);
        let mut letter = DeadLetter {
            queue: route.name(),
            message_id: message.message_id.clone(),
            group_id: message.group_id.clone(),
            unparsed_body: parsed.is_err().then(|| message.body.clone()),
            notification: parsed.as_ref().ok().cloned(),
            receive_count: message.receive_count,
            sent_at: message.sent_at,
            reason: None,
        };
        if let Err(err) = parsed {
            // The writer's audit item for it is keyed by a message id this copy no longer has, but
            // the reason is plain: it is not a notification.
            let at = message.sent_at.unwrap_or_default();
            letter.reason =
                Some(Reason { at, code: Some(err.code()), class: Some(err.class()), error: Some(err.to_string()) });
            return Ok(letter);
        }
        let key = letter.record_key();
        if !self.known.contains_key(&key) {
            let reason = Reason::from_trail(&self.audit.for_record(&key).await?);
            self.known.insert(key.clone(), reason);
        }
        letter.reason = self.known[&key].clone();
        Ok(letter)
    }
}

/// Reads up to `max` messages of the DLQ and makes them visible again.
async fn look(pair: QueuePair<'_>, audit: &dyn AuditLog, max: usize) -> Result<Vec<DeadLetter>> {
    let mut reasons = Reasons::new(audit);
    let mut received: Vec<ReceivedMessage> = Vec::new();
    let mut seen = HashSet::new();
    let mut outcome = Ok(());
    while received.len() < max {
        match pair.dead_letters.receive_for(10, LOOK_VISIBILITY_SECS).await {
            Ok(batch) if batch.is_empty() => break,
            Ok(batch) => {
                // A message seen before means the look outlasted its visibility: everything was seen.
                let fresh: Vec<ReceivedMessage> =
                    batch.into_iter().filter(|m| seen.insert(m.message_id.clone())).collect();
                if fresh.is_empty() {
                    break;
                }
                received.extend(fresh);
            }
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    let mut letters = Vec::new();
    if outcome.is_ok() {
        for message in &received {
            match reasons.letter(pair.route, message).await {
                Ok(letter) => letters.push(letter),
                Err(err) => {
                    outcome = Err(err);
                    break;
                }
            }
        }
    }
    make_visible(pair.dead_letters, received.iter().map(|m| m.receipt_handle.as_str())).await;
    outcome.map(|()| letters)
}

/// ChangeMessageVisibility 0 for each handle; a failure only delays the message by its visibility timeout.
async fn make_visible<'h>(queue: &dyn Queue, handles: impl IntoIterator<Item = &'h str>) {
    for handle in handles {
        if let Err(err) = queue.release(handle, 0).await {
            tracing::warn!(error = %err, "could not make a dead letter visible again; it returns after its timeout");
        }
    }
}

/// `dlq list` for one queue pair: the count, the oldest message and the reasons of up to `sample` messages.
pub async fn list(pair: QueuePair<'_>, audit: &dyn AuditLog, sample: usize) -> Result<QueueSummary> {
    let approximate_count = pair.dead_letters.depth().await?;
    let letters = if approximate_count == 0 { Vec::new() } else { look(pair, audit, sample).await? };
    Ok(summarize(pair.route.name(), approximate_count, &letters))
}

/// A dead letter with its record's whole audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shown {
    pub letter: DeadLetter,
    /// Every attempt at the record, oldest first.
    pub trail: Vec<AuditEntry>,
}

/// `dlq show ID`: the message with this id in any of `pairs`' DLQs, or a clear error.
pub async fn show(pairs: &[QueuePair<'_>], audit: &dyn AuditLog, message_id: &str) -> Result<Shown> {
    for pair in pairs {
        let letters = look(*pair, audit, usize::MAX).await?;
        if let Some(letter) = letters.into_iter().find(|l| l.message_id == message_id) {
            let trail = audit.for_record(&letter.record_key()).await?;
            return Ok(Shown { letter, trail });
        }
    }
    let names: Vec<&str> = pairs.iter().map(|p| p.route.name()).collect();
    Err(Error::Invalid(format!(
        "message {message_id} is not visible in the DLQ of {}: already redriven, in flight in another \
         look or redrive (try again in {LOOK_VISIBILITY_SECS} s), or not a DLQ message id (see `b1force dlq list`)",
        names.join(", ")
    )))
}

/// What a redrive may move.
#[derive(Debug, Clone, Default)]
pub struct RedriveOptions {
    pub filter: Option<Filter>,
    /// List what would move; change nothing.
    pub dry_run: bool,
    /// Move at most this many.
    pub limit: Option<usize>,
}

/// What a redrive did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RedriveReport {
    pub queue: &'static str,
    pub dry_run: bool,
    /// Messages read from the DLQ.
    pub examined: usize,
    /// Moved to the work queue (dry run: none).
    pub redriven: usize,
    /// Matched but left in place: all of them in a dry run, those over the limit otherwise.
    pub left_matching: Vec<DeadLetter>,
    /// Did not match the filter; made visible again.
    pub not_matching: usize,
}

/// Progress of a redrive, for a `redriven 120/500` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub queue: &'static str,
    pub redriven: usize,
    /// The DLQ's approximate count when the redrive started.
    pub total: u64,
}

/// The deduplication id of a redriven copy: the same for every redrive of one DLQ message.
pub fn redrive_dedup_id(dlq_message_id: &str) -> String {
    format!("redrive-{}", &digest(dlq_message_id.as_bytes())[..56])
}

/// `dlq redrive` for one queue pair: receive → send the matching messages (same group, same body,
/// [`redrive_dedup_id`]) to the work queue → delete them from the DLQ → audit `redrive` per record.
/// Messages it does not move are made visible again at the end, also when it fails.
pub async fn redrive(
    pair: QueuePair<'_>,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    options: &RedriveOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<RedriveReport> {
    let total = pair.dead_letters.depth().await?;
    let mut report = RedriveReport {
        queue: pair.route.name(),
        dry_run: options.dry_run,
        examined: 0,
        redriven: 0,
        left_matching: Vec::new(),
        not_matching: 0,
    };
    let mut held: Vec<String> = Vec::new();
    let outcome = redrive_batches(pair, audit, clock, options, total, &mut report, &mut held, progress).await;
    make_visible(pair.dead_letters, held.iter().map(String::as_str)).await;
    outcome.map(|()| report)
}

#[allow(clippy::too_many_arguments)]
async fn redrive_batches(
    pair: QueuePair<'_>,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    options: &RedriveOptions,
    total: u64,
    report: &mut RedriveReport,
    held: &mut Vec<String>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<()> {
    let mut reasons = Reasons::new(audit);
    let mut seen = HashSet::new();
    let limit = options.limit.unwrap_or(usize::MAX);
    loop {
        let batch = pair.dead_letters.receive_for(10, REDRIVE_VISIBILITY_SECS).await?;
        // Held until moved, so every way out of here makes them visible again.
        held.extend(batch.iter().map(|m| m.receipt_handle.clone()));
        let mut moving: Vec<(ReceivedMessage, DeadLetter)> = Vec::new();
        let mut fresh = 0;
        for message in batch {
            if !seen.insert(message.message_id.clone()) {
                continue; // Back after its visibility ran out: already decided on.
            }
            fresh += 1;
            report.examined += 1;
            let letter = reasons.letter(pair.route, &message).await?;
            if !options.filter.as_ref().is_none_or(|f| f.matches(&letter)) {
                report.not_matching += 1;
            } else if options.dry_run || report.redriven + moving.len() >= limit {
                report.left_matching.push(letter);
            } else {
                moving.push((message, letter));
            }
        }
        if fresh == 0 {
            return Ok(());
        }
        if moving.is_empty() {
            continue;
        }
        let copies: Vec<OutgoingMessage> = moving
            .iter()
            .map(|(m, _)| OutgoingMessage {
                group_id: m.group_id.clone(),
                dedup_id: redrive_dedup_id(&m.message_id),
                body: m.body.clone(),
            })
            .collect();
        pair.source.send(&copies).await?;
        let handles: Vec<String> = moving.iter().map(|(m, _)| m.receipt_handle.clone()).collect();
        // Sent but not deleted: the messages become visible again, and redriving them again
        // sends copies that SQS (within five minutes) or the writers' idempotency drop.
        pair.dead_letters.delete_many(&handles).await?;
        held.retain(|handle| !handles.contains(handle));
        for (_, letter) in &moving {
            record_redrive(audit, clock, pair.route, letter).await;
        }
        report.redriven += moving.len();
        progress(Progress { queue: pair.route.name(), redriven: report.redriven, total });
        if report.redriven >= limit {
            return Ok(());
        }
    }
}

/// One `redrive` audit item for the letter's record, best effort: the message has moved either way.
async fn record_redrive(audit: &dyn AuditLog, clock: &dyn Clock, route: Route, letter: &DeadLetter) {
    let note = letter.notification.as_ref();
    let entry = AuditEntry::action_done(
        letter.record_key(),
        clock.now_millis(),
        note.map(|n| n.correlation_id.clone()).unwrap_or_else(|| letter.message_id.clone()),
        route.direction(),
        AuditAction::Redrive,
        note.map(|n| n.source_version.clone()),
    );
    if let Err(err) = audit.record(&entry).await {
        tracing::error!(error = %err, record = %entry.record_key, "audit write failed after a redrive");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::RecordKey;
    use shared::domain::state::Direction;

    fn letter(record: &str, reason: Option<(&str, ErrorClass)>, sent_at: i64) -> DeadLetter {
        let notification = RecordKey::parse(record).ok().map(|record| Notification {
            record,
            reason: "cdc:UPDATE".into(),
            changed_at: 1,
            source_version: "v".into(),
            correlation_id: "c".into(),
        });
        DeadLetter {
            queue: "to-sap",
            message_id: format!("m-{record}"),
            group_id: record.into(),
            unparsed_body: notification.is_none().then(|| "not json".into()),
            notification,
            receive_count: 1,
            sent_at: Some(sent_at),
            reason: reason.map(|(code, class)| Reason {
                at: 1,
                code: Some(code.into()),
                class: Some(class),
                error: Some("why".into()),
            }),
        }
    }

    fn entry(at: i64, outcome: Outcome, code: Option<&str>) -> AuditEntry {
        AuditEntry {
            record_key: "sf:Opportunity:006SM0000001Tb3YAE".into(),
            at,
            correlation_id: "c".into(),
            direction: Direction::SfToSap,
            action: AuditAction::Write,
            outcome,
            source_version: None,
            payload_digest: None,
            error_code: code.map(String::from),
            error_class: code.map(|_| ErrorClass::Permanent),
            error: None,
            target_id: None,
        }
    }

    #[test]
    fn filters_parse_from_the_command_line_and_refuse_anything_else() {
        assert_eq!("reason=MAPPING".parse::<Filter>().unwrap(), Filter::Reason("MAPPING".into()));
        assert_eq!("record=sf:Opportunity:".parse::<Filter>().unwrap(), Filter::Record("sf:Opportunity:".into()));
        for bad in ["MAPPING", "reason=", "kind=x", "=x"] {
            let err = bad.parse::<Filter>().unwrap_err().to_string();
            assert!(err.contains("reason=<error code or class>"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_reason_filter_matches_the_code_or_the_class_in_any_case_and_unknown_matches_no_reason() {
        let mapping = letter("sf:Opportunity:006SM0000001Tb3YAE", Some(("MAPPING", ErrorClass::Permanent)), 1);
        let none = letter("sf:Opportunity:006SM0000001Tb4YAE", None, 1);
        assert!(Filter::Reason("mapping".into()).matches(&mapping));
        assert!(Filter::Reason("PERMANENT".into()).matches(&mapping));
        assert!(!Filter::Reason("SAP_-10".into()).matches(&mapping));
        assert!(!Filter::Reason("retryable".into()).matches(&mapping));
        assert!(Filter::Reason("unknown".into()).matches(&none));
        assert!(!Filter::Reason("mapping".into()).matches(&none));
    }

    #[test]
    fn a_record_filter_matches_record_key_prefixes_and_falls_back_to_the_group_of_unparsed_bodies() {
        let opp = letter("sf:Opportunity:006SM0000001Tb3YAE", None, 1);
        assert!(Filter::Record("sf:Opportunity:".into()).matches(&opp));
        assert!(Filter::Record("sf:Opportunity:006SM0000001Tb3YAE".into()).matches(&opp));
        assert!(!Filter::Record("sap:".into()).matches(&opp));
        let garbage = letter("sf:Opp'ty:1", None, 1);
        assert_eq!(garbage.record_key(), "sf:Opp'ty:1");
        assert!(Filter::Record("sf:Opp".into()).matches(&garbage));
    }

    #[test]
    fn a_summary_counts_reasons_most_frequent_first_and_finds_the_oldest_message() {
        let letters = [
            letter("sf:Opportunity:006SM0000001Tb1YAE", Some(("MAPPING", ErrorClass::Permanent)), 30),
            letter("sf:Opportunity:006SM0000001Tb2YAE", Some(("SAP_-10", ErrorClass::Permanent)), 10),
            letter("sf:Opportunity:006SM0000001Tb3YAE", Some(("MAPPING", ErrorClass::Permanent)), 20),
            letter("sf:Opportunity:006SM0000001Tb4YAE", None, 40),
        ];
        let summary = summarize("to-sap", 7, &letters);
        assert_eq!(
            summary.reasons,
            [("MAPPING".to_string(), 2), ("SAP_-10".to_string(), 1), ("unknown".to_string(), 1)]
        );
        assert_eq!((summary.approximate_count, summary.sampled, summary.oldest_sent_at), (7, 4, Some(10)));
        assert_eq!(summarize("to-sap", 0, &[]).oldest_sent_at, None);
    }

    #[test]
    fn the_reason_is_the_latest_dead_lettering_else_the_latest_failure() {
        let trail = [
            entry(1, Outcome::DeadLettered, Some("MAPPING")),
            entry(2, Outcome::Retrying, Some("SAP_TRANSPORT")),
            entry(3, Outcome::DeadLettered, Some("SAP_-10")),
            entry(4, Outcome::Succeeded, None),
        ];
        assert_eq!(Reason::from_trail(&trail).unwrap().label(), "SAP_-10");
        assert_eq!(Reason::from_trail(&trail[..2]).unwrap().label(), "MAPPING");
        assert_eq!(Reason::from_trail(&trail[1..2]).unwrap().label(), "SAP_TRANSPORT");
        assert_eq!(Reason::from_trail(&trail[3..]), None);
    }

    #[test]
    fn a_redrive_dedup_id_is_stable_per_dlq_message_distinct_between_them_and_fits_sqs() {
        let id = redrive_dedup_id("1f6f2a5e-9c1b-4b7e-a1d2-3c4d5e6f7a8b");
        assert_eq!(id, redrive_dedup_id("1f6f2a5e-9c1b-4b7e-a1d2-3c4d5e6f7a8b"));
        assert_ne!(id, redrive_dedup_id("1f6f2a5e-9c1b-4b7e-a1d2-3c4d5e6f7a8c"));
        assert!(id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }
}
