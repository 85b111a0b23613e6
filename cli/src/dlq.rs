//! `b1force dlq list|show|redrive`: the dead-letter queues of `to-sap.fifo` and `to-salesforce.fifo`,
//! and the sf-receiver's failed invocations (Lambda's on-failure destination, `RECEIVER_FAILED_QUEUE_URL`).
//! The work is in `crate::operations::{dlq, failed_invocations}`; this renders it and wires it to AWS.

use crate::operations::dlq::{
    self as operations, DeadLetter, Filter, QueuePair, QueueSummary, RedriveOptions, RedriveReport, Shown,
};
use crate::operations::failed_invocations::{self as failed_ops, FailedEvent, FailedRedrive, FailedSummary};
use crate::operations::{Route, rfc3339};
use crate::ops::{self, age, table};
use clap::{Subcommand, ValueEnum};
use shared::config::Source;
use shared::engine::sf_receiver::Receiver;
use shared::ports::{AuditLog, Clock, Queue};
use std::io::Write;

/// What to do with the DLQs.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Per DLQ: approximate count, oldest message, and top reasons from the audit trail. Reading the
    /// reasons receives up to --sample messages for 30 s and makes them visible again; while they are
    /// in flight their FIFO message groups are locked (a redrive of those groups waits).
    List {
        #[arg(long, default_value_t = 100)]
        sample: usize,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One DLQ message by its message id: the notification, receive count, sent time, and its
    /// record's audit trail. Locks the message's FIFO group for up to 30 s while looking.
    Show {
        message_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Moves DLQ messages back to their work queue: each is deleted from the DLQ only after the work
    /// queue accepted it, with a deduplication id derived from the DLQ message id, so a redrive killed
    /// halfway can simply be run again. Messages not moved are made visible again.
    Redrive {
        #[arg(long, value_enum, default_value_t = QueueChoice::All)]
        queue: QueueChoice,
        /// `reason=<error code or class>` (e.g. reason=MAPPING, reason=permanent) or
        /// `record=<record key or prefix>` (e.g. record=sf:Opportunity:).
        #[arg(long)]
        filter: Option<Filter>,
        /// List what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Move at most this many messages per queue.
        #[arg(long)]
        limit: Option<usize>,
    },
}

/// `--queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueueChoice {
    ToSap,
    ToSalesforce,
    /// The sf-receiver's failed invocations: each event runs through the receiver again.
    Receiver,
    All,
}

impl QueueChoice {
    /// The work routes chosen.
    pub fn routes(self) -> Vec<Route> {
        match self {
            QueueChoice::ToSap => vec![Route::ToSap],
            QueueChoice::ToSalesforce => vec![Route::ToSalesforce],
            QueueChoice::Receiver => Vec::new(),
            QueueChoice::All => Route::ALL.to_vec(),
        }
    }

    /// Whether the sf-receiver's failed invocations are chosen.
    pub fn includes_receiver(self) -> bool {
        matches!(self, QueueChoice::Receiver | QueueChoice::All)
    }
}

/// The sf-receiver's on-failure destination, and the receiver a redrive runs its events through.
pub struct FailedQueue<'a> {
    pub queue: &'a dyn Queue,
    pub receiver: Option<Receiver<'a>>,
}

/// The command on AWS, settings from `src`: results on `out`, progress on stderr.
pub async fn run_on_aws(command: DlqCommand, src: &dyn Source, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let routes = match &command {
        DlqCommand::Redrive { queue, .. } => queue.routes(),
        DlqCommand::List { .. } | DlqCommand::Show { .. } => Route::ALL.to_vec(),
    };
    let queues = ops::queue_pairs(src, &routes).await?;
    let audit = ops::audit_table(src).await?;
    let pairs: Vec<QueuePair<'_>> = queues.iter().map(ops::AwsQueues::pair).collect();
    let clock = shared::ports::SystemClock;
    let redriving_receiver = matches!(&command, DlqCommand::Redrive { queue, .. } if queue.includes_receiver());
    let failed = match src.var("RECEIVER_FAILED_QUEUE_URL") {
        Some(url) => Some(shared::aws::SqsQueue::from_sdk(&shared::aws::sdk_config().await, url)),
        None if matches!(&command, DlqCommand::Redrive { queue: QueueChoice::Receiver, .. }) => {
            ops::required(src, "RECEIVER_FAILED_QUEUE_URL", "the URL of the receiver's failed-invocations queue")?;
            None
        }
        None => None,
    };
    // A redrive runs the events through the receiver as the function does: its settings, its queue.
    let deps = match (&failed, redriving_receiver) {
        (Some(_), true) => Some(shared::wiring::ReceiverDeps::from_env(&shared::aws::sdk_config().await, src)?),
        _ => None,
    };
    let failed = failed.as_ref().map(|queue| FailedQueue { queue, receiver: deps.as_ref().map(|d| d.receiver()) });
    run(command, &pairs, failed, &audit, &clock, out, &mut |line| eprintln!("{line}")).await
}

/// The command over any ports (tests use the embedded ones).
pub async fn run(
    command: DlqCommand,
    pairs: &[QueuePair<'_>],
    failed: Option<FailedQueue<'_>>,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    out: &mut (dyn Write + Send),
    progress: &mut (dyn FnMut(String) + Send),
) -> anyhow::Result<()> {
    let now = clock.now_millis();
    match command {
        DlqCommand::List { sample, json } => {
            let mut summaries = Vec::new();
            for pair in pairs {
                summaries.push(operations::list(*pair, audit, sample).await?);
            }
            let receiver = match &failed {
                Some(failed) => Some(failed_ops::list(failed.queue, sample).await?),
                None => None,
            };
            if json {
                // One JSON array of the work DLQs; the receiver's failed invocations on a line of their own.
                writeln!(out, "{}", serde_json::to_string(&summaries)?)?;
                if let Some(receiver) = &receiver {
                    writeln!(out, "{}", serde_json::to_string(receiver)?)?;
                }
            } else {
                write!(out, "{}", render_summaries(&summaries, now))?;
                if let Some(receiver) = &receiver {
                    write!(out, "{}", render_failed_summary(receiver, now))?;
                }
            }
        }
        DlqCommand::Show { message_id, json } => {
            let shown = operations::show(pairs, audit, &message_id).await;
            let found = match (&shown, &failed) {
                (Err(_), Some(failed)) => failed_ops::find(failed.queue, &message_id).await?,
                _ => None,
            };
            match (shown, found) {
                (_, Some(event)) if json => writeln!(out, "{}", serde_json::to_string(&event)?)?,
                (_, Some(event)) => write!(out, "{}", render_failed_event(&event, now))?,
                (Ok(shown), None) if json => writeln!(out, "{}", serde_json::to_string(&shown)?)?,
                (Ok(shown), None) => write!(out, "{}", render_shown(&shown, now))?,
                (Err(err), None) => return Err(err.into()),
            }
        }
        DlqCommand::Redrive { queue, filter, dry_run, limit } => {
            let options = RedriveOptions { filter, dry_run, limit };
            let routes = queue.routes();
            let mut stopped = None;
            for pair in pairs.iter().filter(|p| routes.contains(&p.route)) {
                let mut report_progress = |p: operations::Progress| {
                    progress(format!("redriven {}/{} ({})", p.redriven, p.total, p.queue));
                };
                match operations::redrive(*pair, audit, clock, &options, &mut report_progress).await {
                    Ok(report) => write!(out, "{}", render_redrive(&report, now))?,
                    Err(err) => {
                        writeln!(
                            out,
                            "{}: redrive stopped: {err} (run it again: nothing is lost or duplicated)",
                            pair.route.name()
                        )?;
                        stopped = Some(err);
                    }
                }
            }
            if let (true, Some(FailedQueue { queue: destination, receiver })) = (queue.includes_receiver(), &failed) {
                let receiver = receiver.as_ref().ok_or_else(|| anyhow::anyhow!("no receiver to redrive through"))?;
                let report = failed_ops::redrive(*destination, receiver, dry_run, limit).await?;
                write!(out, "{}", render_failed_redrive(&report))?;
            }
            if let Some(err) = stopped {
                return Err(err.into());
            }
        }
    }
    Ok(())
}

/// The receiver's failed invocations, after the work DLQs' table.
pub fn render_failed_summary(summary: &FailedSummary, now: i64) -> String {
    let mut out = format!("\nreceiver failed invocations: {} message(s)\n", summary.approximate_count);
    if summary.sample.is_empty() {
        return out;
    }
    let rows: Vec<Vec<String>> = summary
        .sample
        .iter()
        .map(|e| {
            let sent = e.sent_at.map(|at| format!("{} ago", age(now - at))).unwrap_or_else(|| "-".into());
            vec![
                e.message_id.clone(),
                e.event.clone(),
                format!("{} x{}", e.condition, e.attempts),
                e.error.clone(),
                sent,
            ]
        })
        .collect();
    out += &table(&["MESSAGE", "EVENT", "CONDITION", "ERROR", "SENT"], &rows);
    out
}

/// `dlq show` of a failed invocation.
pub fn render_failed_event(event: &FailedEvent, now: i64) -> String {
    let mut out = format!("message    {} in the receiver's failed invocations\n", event.message_id);
    out += &format!("event      {}\n", event.event);
    if let Some(sent) = event.sent_at {
        out += &format!("sent       {} ({} ago)\n", rfc3339(sent), age(now - sent));
    }
    out += &format!("condition  {} after {} attempt(s)\n", event.condition, event.attempts);
    out += &format!("error      {}\n", event.error);
    out += "redrive    b1force dlq redrive --queue receiver (runs the event through the receiver again)\n";
    out
}

/// `dlq redrive`'s summary for the receiver's failed invocations.
pub fn render_failed_redrive(report: &FailedRedrive) -> String {
    let mut out = if report.dry_run {
        format!(
            "receiver: dry run, {} event(s) would run through the receiver again; nothing changed\n",
            report.redriven
        )
    } else {
        format!(
            "receiver: {} event(s) taken by the receiver again ({} notification(s) enqueued), {} failed again\n",
            report.redriven,
            report.enqueued,
            report.failed.len()
        )
    };
    for (message_id, error) in &report.failed {
        out += &format!("  {message_id}: {error}\n");
    }
    out
}

/// `dlq list` as a table.
pub fn render_summaries(summaries: &[QueueSummary], now: i64) -> String {
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let oldest = s.oldest_sent_at.map(|at| format!("{} ({} ago)", rfc3339(at), age(now - at)));
            let reasons: Vec<String> = s.reasons.iter().map(|(label, n)| format!("{label} x{n}")).collect();
            let reasons = match (reasons.is_empty(), s.sampled < s.approximate_count as usize) {
                (true, _) => "-".to_string(),
                (false, true) => format!("{} (of {} read)", reasons.join(", "), s.sampled),
                (false, false) => reasons.join(", "),
            };
            vec![
                format!("{}.fifo", s.queue),
                s.approximate_count.to_string(),
                oldest.unwrap_or_else(|| "-".into()),
                reasons,
            ]
        })
        .collect();
    table(&["DLQ OF", "MESSAGES", "OLDEST", "REASONS"], &rows)
}

/// `dlq show` as text: the message, then its record's trail.
pub fn render_shown(shown: &Shown, now: i64) -> String {
    let letter = &shown.letter;
    let mut out = format!("message    {} on the DLQ of {}.fifo\n", letter.message_id, letter.queue);
    out += &format!("record     {}\n", letter.record_key());
    if let Some(sent) = letter.sent_at {
        out += &format!("sent       {} ({} ago)\n", rfc3339(sent), age(now - sent));
    }
    out += &format!("received   {} times\n", letter.receive_count);
    out += &format!("reason     {}\n", reason_text(letter));
    match (&letter.notification, &letter.unparsed_body) {
        (Some(note), _) => out += &format!("body       {}\n", note.to_body()),
        (None, Some(body)) => out += &format!("body       (not a notification) {body}\n"),
        (None, None) => {}
    }
    out += &format!("\naudit trail of {} ({} attempts):\n", letter.record_key(), shown.trail.len());
    out += &crate::audit_cmd::render(&shown.trail);
    out
}

fn reason_text(letter: &DeadLetter) -> String {
    match &letter.reason {
        None => "unknown (no failure in the record's audit trail)".into(),
        Some(reason) => {
            let error = reason.error.as_deref().unwrap_or("");
            format!("{} at {}: {error}", reason.label(), rfc3339(reason.at))
        }
    }
}

/// `dlq redrive`'s summary for one queue.
pub fn render_redrive(report: &RedriveReport, now: i64) -> String {
    let queue = format!("{}.fifo", report.queue);
    let mut out = if report.dry_run {
        format!(
            "{queue}: dry run, {} examined, {} would move, {} not matching; nothing changed\n",
            report.examined,
            report.left_matching.len(),
            report.not_matching
        )
    } else {
        format!(
            "{queue}: {} examined, {} redriven, {} not matching, {} matching left (limit)\n",
            report.examined,
            report.redriven,
            report.not_matching,
            report.left_matching.len()
        )
    };
    if report.dry_run && !report.left_matching.is_empty() {
        let rows: Vec<Vec<String>> = report
            .left_matching
            .iter()
            .map(|l| {
                let sent = l.sent_at.map(|at| format!("{} ago", age(now - at))).unwrap_or_else(|| "-".into());
                vec![l.message_id.clone(), l.record_key(), l.reason_label(), sent]
            })
            .collect();
        out += &table(&["MESSAGE", "RECORD", "REASON", "SENT"], &rows);
    }
    out
}
