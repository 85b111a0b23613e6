//! sap-poller (F4–F7 intake): SAP rows changed since the entity's watermark become notifications on
//! `to-salesforce.fifo`, one page at a time.
//!
//! Paging is by key (each page starts strictly after the previous page's last row in the order
//! UpdateDate, UpdateTime, key), not by `$skip`: a row edited while the run pages moves to the end of
//! the order, and with `$skip` every row behind it would shift one place back and one would be missed.
//! The first page starts at the stored watermark minus a lookback window, because UpdateDate is
//! day-granular, UpdateTime may be missing and a transaction may commit with an older stamp; what the
//! overlap re-reads is dropped by the idempotency key (record + stamp + content digest). The watermark
//! moves only after a page is durably enqueued, so a crash in between re-reads, never skips.
//!
//! Stamps are SAP's local wall-clock time ([`SapTimeZone`], setting `SAP_TIME_ZONE`). The lookback
//! is taken in instants, and where the clocks went back since the watermark, the first page starts
//! at the repeated hour's first stamp: a change stamped `02:10` after the clocks fell back from
//! `03:00` to `02:00` comes after one stamped `02:50`, and is read. The watermark keeps its place in
//! stamp order, so the repeated hour is re-read (and dropped as already seen) until stamps pass it.
//!
//! A poison row (a stamp or key that is not usable, a notification the queue would refuse) is
//! audited and dead-lettered on its own (#13 item 4); the page is enqueued without it and the
//! watermark moves past it, so one bad row never stalls an entity.

use super::trail::{Delivered, Trail};
use crate::domain::polled::{EntitySpec, RowFilter, Start, Tracking};
use crate::domain::sap_time::SapTimeZone;
use crate::domain::state::{Direction, Watermark};
use crate::domain::{EpochMillis, Notification, Record, RecordKey, System, digest};
use crate::error::{Error, Result};
use crate::ports::sqs_limits::check_entry;
use crate::ports::{AuditLog, SyncState};
use crate::ports::{ChangeQuery, Clock, OutgoingMessage, Queue, SapChanges};
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::Instrument;

/// Tuning of the poller.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// `YYYY-MM-DD`: where an entity without a watermark starts.
    pub initial_date: String,
    /// How far before the watermark each run re-reads (default ten minutes).
    pub lookback_secs: i64,
    /// Rows per page.
    pub page_size: u32,
    /// How long a run's lease lasts; renewed with every page.
    pub lease_secs: i64,
    /// Pages per run at most, so one run ends within its Lambda timeout; the next run goes on.
    pub max_pages: u32,
    /// The zone SAP stamps UpdateDate/UpdateTime in.
    pub time_zone: SapTimeZone,
    /// Per SAP entity set, the rows that are synced (the mapping's `sap_filter`); unlisted: all.
    pub row_filters: std::collections::BTreeMap<String, RowFilter>,
    /// Entities whose flows the mapping switches off, with why (Quotations while F1's quotes are
    /// off): a run reports the skip and reads nothing.
    pub switched_off: std::collections::BTreeMap<String, String>,
    /// Prefix of the names under which this poller keeps its watermark, catch-up instant and lease:
    /// empty for the scheduled pollers; `resync:<since>:` for `b1force resync`, which so reads from its
    /// own start, resumably, beside the schedules without moving their watermarks.
    pub state_prefix: String,
}

impl Default for PollerSettings {
    fn default() -> Self {
        Self {
            initial_date: "2000-01-01".into(),
            lookback_secs: 600,
            page_size: 1000,
            lease_secs: 900,
            max_pages: 200,
            time_zone: SapTimeZone::utc(),
            row_filters: Default::default(),
            switched_off: Default::default(),
            state_prefix: String::new(),
        }
    }
}

/// The scheduler's input to one run: `{"entity": "BusinessPartners"}` (see [`crate::domain::polled::POLLED_ENTITIES`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    pub entity: String,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub struct PollReport {
    pub entity: String,
    /// Set when the run did nothing because another run holds the lease.
    pub skipped: Option<String>,
    pub rows_read: u64,
    /// Notifications sent (FIFO dedup may have dropped repeats of earlier runs).
    pub enqueued: u64,
    /// Poison rows audited and dead-lettered on their own.
    pub dead_lettered: u64,
    pub pages: u64,
    pub watermark_before: Option<Watermark>,
    pub watermark_after: Option<Watermark>,
    /// When the change `watermark_after` stands at happened (epoch ms, read in SAP's zone), for
    /// entities tracked by an update stamp.
    pub watermark_changed_at: Option<EpochMillis>,
    /// False when the run stopped at `max_pages` with more rows waiting.
    pub complete: bool,
}

impl PollReport {
    /// The report as the Lambda's JSON result.
    pub fn to_json(&self) -> Value {
        let mark = |w: &Option<Watermark>| {
            w.as_ref().map(|w| json!({"date": w.date, "time": w.time, "key": w.key, "doc_entry": w.doc_entry}))
        };
        json!({
            "entity": self.entity,
            "skipped": self.skipped,
            "rows_read": self.rows_read,
            "enqueued": self.enqueued,
            "dead_lettered": self.dead_lettered,
            "pages": self.pages,
            "watermark_before": mark(&self.watermark_before),
            "watermark_after": mark(&self.watermark_after),
            "complete": self.complete,
        })
    }

    /// When the change the watermark stands at happened (epoch ms), for entities tracked by a stamp.
    pub fn watermark_at(&self) -> Option<EpochMillis> {
        self.watermark_changed_at
    }
}

/// The poller's ports.
pub struct Poller {
    pub sap: Arc<dyn SapChanges>,
    /// `to-salesforce.fifo`.
    pub queue: Arc<dyn Queue>,
    /// Its DLQ and the audit trail, for poison rows.
    pub dead_letters: Arc<dyn Queue>,
    pub audit: Arc<dyn AuditLog>,
    pub state: Arc<dyn SyncState>,
    pub clock: Arc<dyn Clock>,
    pub settings: PollerSettings,
}

impl Poller {
    /// One run for `entity` as `run_id` (unique per run: it owns the lease). Another run holding the
    /// lease is a skip, not an error.
    pub async fn run(&self, entity: &str, run_id: &str) -> Result<PollReport> {
        let spec = EntitySpec::named(entity)?;
        // The notifications' correlation id: every log line of the run carries it.
        let span = tracing::info_span!("sap_poller", correlation_id = %correlation_id(&spec, run_id));
        self.run_in_span(&spec, run_id).instrument(span).await
    }

    async fn run_in_span(&self, spec: &EntitySpec, run_id: &str) -> Result<PollReport> {
        let lease = format!("poller:{}", self.tracked(spec));
        let mut report = PollReport {
            entity: spec.name.to_string(),
            skipped: None,
            rows_read: 0,
            enqueued: 0,
            dead_lettered: 0,
            pages: 0,
            watermark_before: None,
            watermark_after: None,
            watermark_changed_at: None,
            complete: false,
        };
        if let Some(why) = self.settings.switched_off.get(spec.name) {
            tracing::info!(entity = spec.name, %why, "poll skipped");
            report.skipped = Some(format!("skipped, {why}"));
            report.complete = true;
            return Ok(report);
        }
        match self.renew_lease(&lease, run_id).await {
            Ok(()) => {}
            Err(Error::InProgress(holder)) => {
                tracing::info!(entity = spec.name, %holder, "poll skipped");
                report.skipped = Some(format!("skipped, another run holds the lease: {holder}"));
                return Ok(report);
            }
            Err(err) => return Err(err),
        }
        let outcome = self.poll(spec, &lease, run_id, &mut report).await;
        // Released even after a failure, so the next scheduled run need not wait for the expiry.
        let released = self.state.release_lease(&lease, run_id).await;
        outcome?;
        released?;
        tracing::info!(
            entity = spec.name,
            rows_read = report.rows_read,
            enqueued = report.enqueued,
            pages = report.pages,
            "poll done"
        );
        Ok(report)
    }

    async fn renew_lease(&self, lease: &str, run_id: &str) -> Result<()> {
        let now = self.clock.now_millis();
        self.state.acquire_lease(lease, run_id, now, now + self.settings.lease_secs.max(1) * 1000).await.map(|_| ())
    }

    async fn poll(&self, spec: &EntitySpec, lease: &str, run_id: &str, report: &mut PollReport) -> Result<()> {
        let scan = spec.tracking == Tracking::Scan;
        let stored = if scan { None } else { self.state.watermark(&self.tracked(spec)).await? };
        report.watermark_before = stored.clone();
        report.watermark_after = stored.clone();
        report.watermark_changed_at = stored.as_ref().and_then(|w| changed_at(w, &self.settings.time_zone));
        let began = self.clock.now_millis();
        let caught_up = if spec.tracking == Tracking::UpdateStamp {
            self.state.caught_up_at(&self.tracked(spec)).await?
        } else {
            None
        };
        let mut start = first_start(spec, stored.as_ref(), caught_up, &self.settings, began)?;
        let limit = self.settings.page_size.max(1);
        let only = self.settings.row_filters.get(spec.entity_set).cloned().unwrap_or_default();
        while report.pages < u64::from(self.settings.max_pages.max(1)) {
            if report.pages > 0 {
                self.renew_lease(lease, run_id).await?;
            }
            let page = self
                .sap
                .changed(&ChangeQuery { entity: spec, start: &start, limit, only: &only, also_select: &[] })
                .await?;
            report.pages += 1;
            report.rows_read += page.rows.len() as u64;
            if page.rows.is_empty() {
                return self.caught_up(spec, began, report).await;
            }
            let (rows, poison) = self.sort_out(spec, &page.rows, run_id);
            report.dead_lettered += self.dead_letter(spec, &poison, run_id).await? as u64;
            let Some((last, _)) = rows.last() else {
                // Nothing on this page has a position to page on from: stop here, the next run re-reads it.
                tracing::error!(entity = spec.name, poison = poison.len(), "a page of poison rows only");
                return Ok(());
            };
            let last = last.clone();
            if scan {
                report.enqueued += self.enqueue_changed(spec, &rows).await?;
            } else {
                let messages: Vec<OutgoingMessage> = rows.into_iter().map(|(_, m)| m).collect();
                self.queue.send(&messages).await?;
                report.enqueued += messages.len() as u64;
                // Only now, with the whole page accepted by the queue, may the watermark pass it.
                if self.state.advance_watermark(&self.tracked(spec), &last).await? {
                    report.watermark_changed_at = changed_at(&last, &self.settings.time_zone);
                    report.watermark_after = Some(last.clone());
                }
            }
            if !page.more {
                return self.caught_up(spec, began, report).await;
            }
            start = Start::After(last);
        }
        Ok(())
    }

    /// The name `spec`'s watermark, catch-up instant and lease are kept under ([`PollerSettings::state_prefix`]).
    fn tracked(&self, spec: &EntitySpec) -> String {
        format!("{}{}", self.settings.state_prefix, spec.name)
    }

    /// The run read every change: remembered (for stamped entities), so the next runs know that a
    /// clock change before `began` needs no re-reading.
    async fn caught_up(&self, spec: &EntitySpec, began: EpochMillis, report: &mut PollReport) -> Result<()> {
        if spec.tracking == Tracking::UpdateStamp {
            self.state.record_caught_up(&self.tracked(spec), began).await?;
        }
        report.complete = true;
        Ok(())
    }

    /// A page's rows as (position, notification), in order, and its poison rows apart.
    fn sort_out(
        &self,
        spec: &EntitySpec,
        rows: &[Record],
        run_id: &str,
    ) -> (Vec<(Watermark, OutgoingMessage)>, Vec<Poison>) {
        let mut usable = Vec::with_capacity(rows.len());
        let mut poison = Vec::new();
        for row in rows {
            let sorted = spec.position(row).and_then(|position| {
                let message = self.message(spec, &position, row, run_id);
                check_entry(&message).map_err(|refusal| {
                    Error::Invalid(format!(
                        "the queue would refuse its notification: {}: {}",
                        refusal.code, refusal.message
                    ))
                })?;
                Ok((position, message))
            });
            match sorted {
                Ok(entry) => usable.push(entry),
                Err(err) => poison.push(Poison::of(spec, row, err)),
            }
        }
        (usable, poison)
    }

    /// Audits and dead-letters each poison row on its own; how many.
    async fn dead_letter(&self, spec: &EntitySpec, poison: &[Poison], run_id: &str) -> Result<usize> {
        let trail = Trail {
            audit: self.audit.as_ref(),
            dead_letters: self.dead_letters.as_ref(),
            clock: self.clock.as_ref(),
            direction: Direction::SapToSf,
        };
        for row in poison {
            let (note, body, group_id) = row.letter(spec, run_id, self.clock.now_millis());
            tracing::warn!(entity = spec.name, error = %row.err, "poison row; dead-lettered on its own");
            let delivered = Delivered { message_id: &row.identity, group_id: &group_id, body: &body };
            if !trail.dead_letter(&delivered, note.as_ref(), &row.err).await {
                return Err(Error::Store {
                    service: "SQS",
                    message: format!("could not dead-letter a poison {} row; the page is read again", spec.name),
                    retryable: true,
                });
            }
        }
        Ok(poison.len())
    }

    /// [`Tracking::Scan`]: of a page of all rows, enqueues those whose content changed since the
    /// last scan, then stores their digests (a crash in between enqueues them again, never loses them).
    async fn enqueue_changed(&self, spec: &EntitySpec, rows: &[(Watermark, OutgoingMessage)]) -> Result<u64> {
        let mut changed = Vec::new();
        for (position, message) in rows {
            let key = format!("scan:{}:{}", spec.name, position.key);
            let version = Notification::from_body(&message.body)?.source_version;
            if self.state.last_hash(&key, Direction::SapToSf).await?.as_deref() != Some(version.as_str()) {
                changed.push((key, version, message.clone()));
            }
        }
        let messages: Vec<OutgoingMessage> = changed.iter().map(|(_, _, m)| m.clone()).collect();
        self.queue.send(&messages).await?;
        for (key, version, _) in &changed {
            self.state.put_hash(key, Direction::SapToSf, version, self.clock.now_millis()).await?;
        }
        Ok(messages.len() as u64)
    }

    fn message(&self, spec: &EntitySpec, position: &Watermark, row: &Record, run_id: &str) -> OutgoingMessage {
        let notification = Notification {
            record: RecordKey { system: System::Sap, object: spec.entity_set.to_string(), id: position.key.clone() },
            reason: "poll".into(),
            changed_at: changed_at(position, &self.settings.time_zone).unwrap_or_else(|| self.clock.now_millis()),
            // A resync's notifications are its own (`resync:<since>:…`), so queue deduplication of the
            // schedule's notifications of the same rows does not swallow them.
            source_version: format!("{}{}", self.settings.state_prefix, source_version(spec, position, row)),
            correlation_id: correlation_id(spec, run_id),
        };
        OutgoingMessage {
            group_id: notification.group_id(),
            dedup_id: notification.idempotency_key(),
            body: notification.to_body(),
        }
    }
}

/// A row the poller cannot page on or enqueue.
struct Poison {
    /// Its key, when it has a usable one.
    key: Option<String>,
    /// The row's content digest (never the content: rows hold personal data).
    content: String,
    /// One per row version: the DLQ's deduplication id comes from it, so a re-read lands once.
    identity: String,
    err: Error,
}

impl Poison {
    fn of(spec: &EntitySpec, row: &Record, err: Error) -> Self {
        let key = match row.get(spec.key) {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 100 => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let content = digest(Value::Object(row.clone()).to_string().as_bytes())[..16].to_string();
        let identity = format!("poison:{}:{}", spec.name, content);
        Self { key, content, identity, err }
    }

    /// What goes to the DLQ: a notification of the record when it has a key the queue takes (a
    /// redrive hands it to the sf-writer, which reads the row as it is then), else a description.
    fn letter(&self, spec: &EntitySpec, run_id: &str, now: EpochMillis) -> (Option<Notification>, String, String) {
        if let Some(key) = &self.key {
            let note = Notification {
                record: RecordKey { system: System::Sap, object: spec.entity_set.to_string(), id: key.clone() },
                reason: "poll".into(),
                changed_at: now,
                source_version: format!("poison#{}", self.content),
                correlation_id: correlation_id(spec, run_id),
            };
            let message = OutgoingMessage::from(&note);
            if check_entry(&message).is_ok() {
                return (Some(note), message.body, message.group_id);
            }
        }
        let body = json!({"entity": spec.name, "row_digest": self.content, "error": self.err.to_string()}).to_string();
        (None, body, format!("poison-{}", spec.name))
    }
}

/// `<UpdateDate>T<UpdateTime>#<digest>` (`DocEntry:<n>#<digest>` without a stamp): the same content
/// re-read gives the same version, a second change within one second a different one.
pub fn source_version(spec: &EntitySpec, position: &Watermark, row: &Record) -> String {
    // serde_json's map is ordered by key, so equal rows serialize, and digest, alike.
    let content = digest(Value::Object(row.clone()).to_string().as_bytes());
    let content = &content[..16];
    match spec.tracking {
        Tracking::UpdateStamp => format!("{}T{}#{content}", position.date, position.time),
        Tracking::DocEntry => format!("DocEntry:{}#{content}", position.doc_entry.unwrap_or_default()),
        Tracking::Scan => format!("{}#{content}", spec.name),
    }
}

/// Where a run's first page starts: the stamp of the watermark's instant minus the lookback, or lower,
/// the lowest stamp a change not yet read can carry by `now` (see
/// [`SapTimeZone::lowest_stamp_between`]); not yet read means after the watermark's instant or the
/// last caught-up run's beginning, whichever is later, minus the lookback. None: the initial date. A
/// missing time counts as midnight; a lookback across midnight reaches into the day before.
pub fn first_start(
    spec: &EntitySpec,
    stored: Option<&Watermark>,
    caught_up: Option<EpochMillis>,
    settings: &PollerSettings,
    now: EpochMillis,
) -> Result<Start> {
    if spec.tracking == Tracking::Scan {
        let everything = Watermark { date: String::new(), time: String::new(), key: String::new(), doc_entry: None };
        return Ok(Start::Since(everything));
    }
    if spec.tracking == Tracking::DocEntry {
        let doc_entry = stored.and_then(|w| w.doc_entry).unwrap_or(0);
        return Ok(Start::Since(Watermark {
            date: String::new(),
            time: String::new(),
            key: String::new(),
            doc_entry: Some(doc_entry),
        }));
    }
    let Some(stored) = stored.filter(|w| !w.date.is_empty()) else {
        let initial =
            Watermark { date: settings.initial_date.clone(), time: String::new(), key: String::new(), doc_entry: None };
        initial.sort_key().map_err(|e| Error::Config(format!("poller initial date: {e}")))?;
        return Ok(Start::Since(initial));
    };
    stored.sort_key()?;
    let zone = &settings.time_zone;
    let at = zone.earliest_instant(&stored.date, &stored.time).ok_or_else(|| {
        Error::Invalid(format!("stored watermark {:?} {:?} is not a date and time", stored.date, stored.time))
    })?;
    let lookback = settings.lookback_secs.max(0) * 1000;
    let unread_from = at.max(caught_up.unwrap_or(at)) - lookback;
    // A clock change up to a lookback past our `now` counts too: SAP's clock may run ahead of ours.
    let unread = zone.lowest_stamp_between(unread_from, now.max(unread_from) + lookback);
    let (date, time) = unread.min(zone.stamp_at(at - lookback));
    Ok(Start::Since(Watermark { date, time, key: String::new(), doc_entry: None }))
}

/// The correlation id of one run's notifications.
fn correlation_id(spec: &EntitySpec, run_id: &str) -> String {
    format!("poll:{}:{run_id}", spec.name)
}

/// The stamp as epoch ms, read in SAP's zone (the Service Layer gives none).
fn changed_at(position: &Watermark, zone: &SapTimeZone) -> Option<EpochMillis> {
    zone.earliest_instant(&position.date, &position.time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp_row(code: &str, date: &str, time: Option<&str>, name: &str) -> Record {
        let mut row = json!({"CardCode": code, "UpdateDate": format!("{date}T00:00:00Z"), "CardName": name});
        if let Some(time) = time {
            row["UpdateTime"] = json!(time);
        }
        row.as_object().unwrap().clone()
    }

    fn since(start: Start) -> Watermark {
        match start {
            Start::Since(w) => w,
            Start::After(w) => panic!("expected Since, got After {w:?}"),
        }
    }

    #[test]
    fn a_lookback_across_midnight_starts_on_the_day_before() {
        let spec = EntitySpec::named("BusinessPartners").unwrap();
        let stored =
            Watermark { date: "2026-11-25".into(), time: "00:05:00".into(), key: "C1".into(), doc_entry: None };
        let start = since(first_start(&spec, Some(&stored), None, &PollerSettings::default(), 0).unwrap());
        assert_eq!((start.date.as_str(), start.time.as_str()), ("2026-11-24", "23:55:00"));
    }

    #[test]
    fn no_watermark_starts_at_the_whole_initial_day_and_payments_at_doc_entry_zero() {
        let settings = PollerSettings { initial_date: "2026-01-01".into(), ..PollerSettings::default() };
        let start = since(first_start(&EntitySpec::named("Items").unwrap(), None, None, &settings, 0).unwrap());
        assert_eq!((start.date.as_str(), start.time.as_str()), ("2026-01-01", ""));
        let start =
            since(first_start(&EntitySpec::named("IncomingPayments").unwrap(), None, None, &settings, 0).unwrap());
        assert_eq!(start.doc_entry, Some(0));
        let bad = PollerSettings { initial_date: "1/1/2026".into(), ..PollerSettings::default() };
        assert!(first_start(&EntitySpec::named("Items").unwrap(), None, None, &bad, 0).is_err());
    }

    #[test]
    fn the_same_content_keeps_its_version_and_a_same_second_edit_gets_a_new_one() {
        let spec = EntitySpec::named("BusinessPartners").unwrap();
        let row = bp_row("C1", "2026-11-25", Some("10:30:00"), "Acme");
        let edited = bp_row("C1", "2026-11-25", Some("10:30:00"), "Acme Ltd");
        let version = |row: &Record| source_version(&spec, &spec.position(row).unwrap(), row);
        assert_eq!(version(&row), version(&row.clone()));
        assert_ne!(version(&row), version(&edited));
        assert!(version(&row).starts_with("2026-11-25T10:30:00#"), "{}", version(&row));
    }

    #[test]
    fn a_row_without_update_time_sorts_first_in_its_day_and_one_without_a_key_is_refused() {
        let spec = EntitySpec::named("BusinessPartners").unwrap();
        let untimed = spec.position(&bp_row("C9", "2026-11-25", None, "x")).unwrap();
        let midnight = spec.position(&bp_row("C1", "2026-11-25", Some("00:00:00"), "x")).unwrap();
        assert!(untimed < midnight && untimed.time.is_empty());
        let mut keyless = bp_row("C1", "2026-11-25", None, "x");
        keyless.remove("CardCode");
        assert!(matches!(spec.position(&keyless), Err(Error::Invalid(_))));
    }

    #[test]
    fn unknown_entities_are_refused_with_the_list_of_known_ones() {
        let err = EntitySpec::named("PurchaseOrders").unwrap_err();
        assert!(err.to_string().contains("BusinessPartners"), "{err}");
        assert_eq!(EntitySpec::named("Invoices").unwrap().key, "DocEntry");
    }
}
