//! `b1force status`: what an operator looks at first, on one screen — each queue's depth (work queues,
//! their DLQs, the receiver's failed invocations), each SAP entity's watermark, the failures of the
//! last 24 hours and the newest one, records held for a configuration error in the last hour, and the
//! Salesforce API headroom. Read-only; a part that cannot be read says why and the rest is shown.

use serde::Serialize;
use shared::domain::EpochMillis;
use shared::domain::polled::{EntitySpec, POLLED_ENTITIES, Tracking};
use shared::error::ErrorClass;
use shared::ports::{AuditLog, Queue, SyncState};

const DAY_MS: EpochMillis = 86_400_000;
const HOUR_MS: EpochMillis = 3_600_000;

/// A queue to report, and whether anything in it needs a person (a DLQ, the failed invocations).
pub struct WatchedQueue<'a> {
    pub name: String,
    pub queue: &'a dyn Queue,
    pub dead_letters: bool,
    /// The queue's physical name (the last part of its URL), CloudWatch's `QueueName` dimension.
    pub queue_name: String,
}

/// How long each queue's oldest message has waited (CloudWatch `AWS/SQS` `ApproximateAgeOfOldestMessage`,
/// which SQS publishes every minute; SQS itself has no call that tells it without receiving).
#[async_trait::async_trait]
pub trait QueueAges: Send + Sync {
    /// Seconds, from the newest datapoint of the last 15 minutes; `None` without one.
    async fn oldest_age_secs(&self, queue_name: &str) -> Result<Option<f64>, String>;
}

/// What `status` reads.
pub struct StatusSources<'a> {
    pub queues: Vec<WatchedQueue<'a>>,
    pub sync_state: &'a dyn SyncState,
    pub audit: &'a dyn AuditLog,
    /// Salesforce's daily API (used, max), when its settings were given.
    pub api_usage: Option<Result<(u64, u64), String>>,
    /// The stack's schedules and mappings, when its name was given (whether the sync is paused).
    pub triggers: Option<&'a dyn crate::operations::pause::Triggers>,
    /// The queues' oldest-message ages, when CloudWatch can be read.
    pub ages: Option<&'a dyn QueueAges>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct QueueStatus {
    pub name: String,
    /// Visible messages, or why it could not be read.
    pub depth: Result<u64, String>,
    pub dead_letters: bool,
    /// Seconds the oldest message has waited (`None` without an ages source).
    pub oldest_age_secs: Option<Result<Option<f64>, String>>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct EntityStatus {
    pub entity: &'static str,
    /// `date time key` (or `DocEntry n`) of the last row the poller passed; `None` before its first poll
    /// and for the scanned entities (Stock, PriceLists), which keep no watermark.
    pub watermark: Result<Option<String>, String>,
    pub scanned: bool,
    /// When the last run that read every change began (RFC 3339); `None` before one completed.
    pub last_complete_poll: Result<Option<String>, String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Failures {
    pub last_24h: usize,
    pub records: usize,
    /// `at record outcome code: error` of the newest.
    pub newest: Option<String>,
    /// Records held for a configuration error in the last hour.
    pub configuration_last_hour: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Status {
    pub at: String,
    pub queues: Vec<QueueStatus>,
    pub entities: Vec<EntityStatus>,
    pub failures: Result<Failures, String>,
    /// `(used, max)` of Salesforce's daily API requests; `None` without Salesforce settings.
    pub salesforce_api: Option<Result<(u64, u64), String>>,
    /// Running, paused or partly paused (`b1force pause`); `None` without the stack's name.
    pub sync: Option<Result<String, String>>,
    /// `at: period, exceptions, report` of the newest reconciliation run in the audit trail.
    pub last_reconciliation: Result<Option<String>, String>,
}

/// Reads every part; one that fails is reported in its place.
pub async fn gather(sources: StatusSources<'_>, now: EpochMillis) -> Status {
    let mut queues = Vec::new();
    for watched in &sources.queues {
        let depth = watched.queue.depth().await.map_err(|e| e.to_string());
        let oldest_age_secs = match sources.ages {
            Some(ages) => Some(ages.oldest_age_secs(&watched.queue_name).await),
            None => None,
        };
        queues.push(QueueStatus {
            name: watched.name.clone(),
            depth,
            dead_letters: watched.dead_letters,
            oldest_age_secs,
        });
    }
    let mut entities = Vec::new();
    for entity in POLLED_ENTITIES {
        let scanned = EntitySpec::named(entity).is_ok_and(|spec| spec.tracking == Tracking::Scan);
        let watermark = if scanned {
            Ok(None)
        } else {
            sources.sync_state.watermark(entity).await.map(|w| w.map(|w| describe(&w))).map_err(|e| e.to_string())
        };
        let last_complete_poll = sources
            .sync_state
            .caught_up_at(entity)
            .await
            .map(|at| at.map(shared::domain::rfc3339_millis))
            .map_err(|e| e.to_string());
        entities.push(EntityStatus { entity, watermark, scanned, last_complete_poll });
    }
    let last_reconciliation = sources
        .audit
        .for_record(shared::flows::f8_reconcile::RECONCILE_RECORD)
        .await
        .map(|runs| {
            runs.into_iter().max_by_key(|e| e.at).map(|run| {
                format!("{}: {}", shared::domain::rfc3339_millis(run.at), run.source_version.unwrap_or_default())
            })
        })
        .map_err(|e| e.to_string());
    let sync = match sources.triggers {
        None => None,
        Some(triggers) => {
            Some(triggers.list().await.map(|all| crate::operations::pause::describe(&all)).map_err(|e| e.to_string()))
        }
    };
    Status {
        sync,
        last_reconciliation,
        at: shared::domain::rfc3339_millis(now),
        queues,
        entities,
        failures: failures(sources.audit, now).await,
        salesforce_api: sources.api_usage,
    }
}

fn describe(watermark: &shared::domain::state::Watermark) -> String {
    let stamp = [watermark.date.as_str(), watermark.time.as_str()].join(" ");
    match watermark.doc_entry {
        Some(entry) if watermark.date.is_empty() => format!("DocEntry {entry}"),
        Some(entry) => format!("{} DocEntry {entry}", stamp.trim()),
        None => format!("{} {}", stamp.trim(), watermark.key).trim().to_string(),
    }
}

async fn failures(audit: &dyn AuditLog, now: EpochMillis) -> Result<Failures, String> {
    let entries = audit.failures_since(now - DAY_MS, None).await.map_err(|e| e.to_string())?;
    let records: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.record_key.as_str()).collect();
    let newest = entries.iter().max_by_key(|e| e.at).map(|e| {
        format!(
            "{} {} {:?} {}: {}",
            shared::domain::rfc3339_millis(e.at),
            e.record_key,
            e.outcome,
            e.error_code.as_deref().unwrap_or("-"),
            e.error.as_deref().unwrap_or_default().chars().take(80).collect::<String>()
        )
    });
    let held: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter(|e| e.at >= now - HOUR_MS && e.error_class == Some(ErrorClass::Configuration))
        .map(|e| e.record_key.as_str())
        .collect();
    Ok(Failures { last_24h: entries.len(), records: records.len(), newest, configuration_last_hour: held.len() })
}

impl Status {
    /// Whether anything needs a person: a message in a DLQ or the failed invocations, a part that could
    /// not be read, or work held for a configuration error.
    pub fn needs_attention(&self) -> bool {
        self.queues.iter().any(|q| q.depth.as_ref().map_or(true, |&d| q.dead_letters && d > 0))
            || self.entities.iter().any(|e| e.watermark.is_err())
            || self.failures.as_ref().map_or(true, |f| f.configuration_last_hour > 0)
            || matches!(self.salesforce_api, Some(Err(_)))
    }

    /// The one-screen text.
    pub fn human(&self) -> String {
        let mut out = format!("B1Force status at {}\n", self.at);
        out += &match &self.sync {
            None => "sync: not read (no B1FORCE_STACK)\n".to_string(),
            Some(Ok(state)) => format!("sync: {state}\n"),
            Some(Err(e)) => format!("sync: unreadable: {e}\n"),
        };
        out += "\nqueues (visible messages)\n";
        for q in &self.queues {
            let (depth, flag) = match &q.depth {
                Ok(d) => {
                    (d.to_string(), if q.dead_letters && *d > 0 { "  <- needs a look: b1force dlq list" } else { "" })
                }
                Err(e) => (format!("unreadable: {e}"), ""),
            };
            let oldest = match &q.oldest_age_secs {
                None | Some(Ok(None)) => String::new(),
                Some(Ok(Some(secs))) => format!("  oldest {secs:.0} s"),
                Some(Err(e)) => format!("  oldest unreadable: {e}"),
            };
            out += &format!("  {:<28}{depth:>8}{oldest}{flag}\n", q.name);
        }
        out += "\nSAP watermarks (last row passed)\n";
        for e in &self.entities {
            let text = match &e.watermark {
                Ok(_) if e.scanned => "scanned in full, no watermark".to_string(),
                Ok(Some(w)) => w.clone(),
                Ok(None) => "not polled yet".to_string(),
                Err(err) => format!("unreadable: {err}"),
            };
            let polled = match &e.last_complete_poll {
                Ok(Some(at)) => format!("  (complete run {at})"),
                Ok(None) => String::new(),
                Err(err) => format!("  (last run unreadable: {err})"),
            };
            out += &format!("  {:<18}{text}{polled}\n", e.entity);
        }
        out += "\n";
        match &self.failures {
            Ok(f) => {
                out += &format!("failures, last 24 h: {} attempt(s) of {} record(s)\n", f.last_24h, f.records);
                if let Some(newest) = &f.newest {
                    out += &format!("  newest: {newest}\n");
                }
                out += &match f.configuration_last_hour {
                    0 => "configuration errors, last hour: none\n".to_string(),
                    n => format!(
                        "configuration errors, last hour: {n} record(s) held  <- runbook 'Configuration error'\n"
                    ),
                };
            }
            Err(e) => out += &format!("failures: unreadable: {e}\n"),
        }
        out += &match &self.last_reconciliation {
            Ok(Some(run)) => format!("last reconciliation: {run}\n"),
            Ok(None) => "last reconciliation: none recorded\n".to_string(),
            Err(e) => format!("last reconciliation: unreadable: {e}\n"),
        };
        out += &match &self.salesforce_api {
            None => "Salesforce API: not read (no SF_* settings)\n".to_string(),
            Some(Ok((used, max))) => {
                let left = if *max == 0 { 0.0 } else { (max - used.min(max)) as f64 * 100.0 / *max as f64 };
                format!("Salesforce API: {used} of {max} daily requests used, {left:.1} % left\n")
            }
            Some(Err(e)) => format!("Salesforce API: unreadable: {e}\n"),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::state::Watermark;

    #[test]
    fn a_watermark_reads_as_its_stamp_and_key_or_its_doc_entry() {
        let w = |date: &str, time: &str, key: &str, entry| Watermark {
            date: date.into(),
            time: time.into(),
            key: key.into(),
            doc_entry: entry,
        };
        assert_eq!(describe(&w("2026-12-06", "23:55:01", "C20000", None)), "2026-12-06 23:55:01 C20000");
        assert_eq!(describe(&w("2026-12-06", "", "", Some(42))), "2026-12-06 DocEntry 42");
        assert_eq!(describe(&w("", "", "", Some(7))), "DocEntry 7");
    }
}
