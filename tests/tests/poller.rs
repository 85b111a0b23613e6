//! sap-poller against the SAP sandbox: the watermark edge cases of issue #4. Nothing changed in SAP
//! may be missed, and nothing re-read may reach the queue twice within the FIFO dedup window.

use async_trait::async_trait;
use b1force_cli::local::sap_config;
use sandbox::{SapOptions, SapSandbox};
use serde_json::json;
use shared::domain::sap_time::SapTimeZone;
use shared::domain::state::{Direction, Lease, Watermark};
use shared::domain::{EpochMillis, Notification};
use shared::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedSyncState, ManualClock};
use shared::engine::poller::{Poller, PollerSettings};
use shared::ports::SyncState;
use shared::ports::{AuditLog, Clock, Outcome, Queue};
use shared::ports::{ChangePage, ChangeQuery, SapChanges};
use shared::sap::SapClient;
use shared::{Error, Result};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const DAY: &str = "2026-11-25";

/// Edits a business partner as an SAP user at `time` on the test day.
fn edit(sandbox: &SapSandbox, card_code: &str, time: &str, phone: &str) {
    sandbox.set_clock(Some(&format!("{DAY}T{time}"))).unwrap();
    sandbox.user_update("BusinessPartners", card_code, json!({"Phone1": phone})).unwrap();
}

struct Rig {
    sandbox: Arc<SapSandbox>,
    sap: Arc<SapClient>,
    queue: Arc<EmbeddedQueue>,
    dlq: Arc<EmbeddedQueue>,
    audit: Arc<EmbeddedAudit>,
    state: Arc<EmbeddedSyncState>,
    clock: Arc<ManualClock>,
}

async fn rig() -> Rig {
    let sandbox = Arc::new(SapSandbox::start(SapOptions::default()).await.unwrap());
    let sap = Arc::new(SapClient::new(sap_config(&sandbox)).unwrap());
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let queue = Arc::new(EmbeddedQueue::new("to-salesforce.fifo", Default::default(), clock.clone()));
    let dlq = Arc::new(EmbeddedQueue::new("to-salesforce-dlq.fifo", Default::default(), clock.clone()));
    let audit = Arc::new(EmbeddedAudit::new());
    Rig { sandbox, sap, queue, dlq, audit, state: Arc::new(EmbeddedSyncState::new()), clock }
}

impl Rig {
    /// A poller starting on the test day, so the seeded 2024 history stays out of the way.
    fn poller(&self, page_size: u32) -> Poller {
        self.poller_with(self.sap.clone(), self.state.clone(), page_size)
    }

    fn poller_with(&self, sap: Arc<dyn SapChanges>, state: Arc<dyn SyncState>, page_size: u32) -> Poller {
        Poller {
            sap,
            queue: self.queue.clone(),
            dead_letters: self.dlq.clone(),
            audit: self.audit.clone(),
            state,
            clock: self.clock.clone(),
            settings: PollerSettings { initial_date: DAY.into(), page_size, ..PollerSettings::default() },
        }
    }

    fn edit(&self, card_code: &str, time: &str, phone: &str) {
        edit(&self.sandbox, card_code, time, phone);
    }

    fn card_codes(&self, n: usize) -> Vec<String> {
        let rows = self.sandbox.documents("BusinessPartners");
        rows.iter().take(n).map(|r| r["CardCode"].as_str().unwrap().to_string()).collect()
    }

    /// Every notification on the queue.
    fn notes(&self) -> Vec<Notification> {
        self.queue.messages().iter().map(|b| Notification::from_body(b).unwrap()).collect()
    }

    /// Asserts the queue holds each record's current SAP stamp, and no (record, version) twice.
    fn assert_current_versions_queued(&self, card_codes: &[String]) {
        let notes = self.notes();
        let distinct: HashSet<_> = notes.iter().map(|n| (n.record.id.clone(), n.source_version.clone())).collect();
        assert_eq!(distinct.len(), notes.len(), "a duplicate reached the queue: {notes:#?}");
        for code in card_codes {
            let row = self.sandbox.business_partner(code).unwrap();
            let stamp =
                format!("{}T{}#", &row["UpdateDate"].as_str().unwrap()[..10], row["UpdateTime"].as_str().unwrap());
            assert!(
                notes.iter().any(|n| n.record.id == *code && n.source_version.starts_with(&stamp)),
                "{code} at {stamp} was missed: {notes:#?}"
            );
        }
    }
}

#[tokio::test]
async fn a_later_change_on_the_same_day_as_the_watermark_is_picked_up() {
    let rig = rig().await;
    let codes = rig.card_codes(2);
    rig.edit(&codes[0], "10:00:00", "+1 555 7100");
    let first = rig.poller(100).run("BusinessPartners", "run-1").await.unwrap();
    assert_eq!((first.enqueued, first.watermark_after.as_ref().map(|w| w.time.as_str())), (1, Some("10:00:00")));

    rig.edit(&codes[1], "10:30:00", "+1 555 7101");
    let second = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();

    let after = second.watermark_after.unwrap();
    assert_eq!((after.date.as_str(), after.time.as_str(), after.key.as_str()), (DAY, "10:30:00", codes[1].as_str()));
    assert_eq!(rig.queue.len(), 2, "the first change, re-read in the overlap, is not queued again");
    rig.assert_current_versions_queued(&codes);
}

/// Edits a row already read and one not read yet, right after the first page is served.
struct EditsMidRun {
    sap: Arc<SapClient>,
    sandbox: Arc<SapSandbox>,
    edits: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl SapChanges for EditsMidRun {
    async fn changed(&self, query: &ChangeQuery<'_>) -> Result<ChangePage> {
        let page = self.sap.changed(query).await?;
        let edits: Vec<_> = self.edits.lock().unwrap().drain(..).collect();
        for (code, time) in edits {
            edit(&self.sandbox, &code, &time, &format!("+1 555 9{time}"));
        }
        Ok(page)
    }
}

#[tokio::test]
async fn a_change_committed_while_pages_are_read_is_not_missed() {
    let rig = rig().await;
    let codes = rig.card_codes(5);
    for code in &codes {
        rig.edit(code, "10:00:00", "+1 555 7000");
    }
    // Rows 0 and 1 make the first page; row 0 (read) and row 2 (not yet read) change behind it.
    let edits = vec![(codes[0].clone(), "10:00:05".to_string()), (codes[2].clone(), "10:00:05".to_string())];
    let sap = Arc::new(EditsMidRun { sap: rig.sap.clone(), sandbox: rig.sandbox.clone(), edits: Mutex::new(edits) });
    let report = rig.poller_with(sap, rig.state.clone(), 2).run("BusinessPartners", "run-1").await.unwrap();
    assert!(report.pages >= 3, "{report:?}");

    let rerun = rig.poller(2).run("BusinessPartners", "run-2").await.unwrap();

    // Row 0 twice (read, then edited); row 2 once, in its edited form, as it changed before it was read.
    assert_eq!(rig.queue.len(), 6, "{:#?}", rig.notes());
    assert!(rerun.rows_read > 0, "the rerun re-read its overlap: {rerun:?}");
    rig.assert_current_versions_queued(&codes);
}

/// The embedded sync state, with every watermark write failing: a crash between enqueue and advance.
struct CrashBeforeAdvance(Arc<EmbeddedSyncState>);

#[async_trait]
impl SyncState for CrashBeforeAdvance {
    async fn last_hash(&self, record_key: &str, direction: Direction) -> Result<Option<String>> {
        self.0.last_hash(record_key, direction).await
    }
    async fn put_hash(&self, record_key: &str, direction: Direction, hash: &str, at: EpochMillis) -> Result<()> {
        self.0.put_hash(record_key, direction, hash, at).await
    }
    async fn watermark(&self, entity: &str) -> Result<Option<Watermark>> {
        self.0.watermark(entity).await
    }
    async fn advance_watermark(&self, _entity: &str, _to: &Watermark) -> Result<bool> {
        Err(Error::Transport { system: "dynamodb", message: "connection reset (simulated crash)".into() })
    }
    async fn caught_up_at(&self, entity: &str) -> Result<Option<EpochMillis>> {
        self.0.caught_up_at(entity).await
    }
    async fn record_caught_up(&self, entity: &str, at: EpochMillis) -> Result<()> {
        self.0.record_caught_up(entity, at).await
    }
    async fn link(&self, salesforce_key: &str, sap_key: &str) -> Result<()> {
        self.0.link(salesforce_key, sap_key).await
    }
    async fn move_link(&self, from: &str, to: &str, sap_key: &str) -> Result<()> {
        self.0.move_link(from, to, sap_key).await
    }
    async fn sap_key_for(&self, salesforce_key: &str) -> Result<Option<String>> {
        self.0.sap_key_for(salesforce_key).await
    }
    async fn salesforce_key_for(&self, sap_key: &str) -> Result<Option<String>> {
        self.0.salesforce_key_for(sap_key).await
    }
    async fn acquire_lease(&self, name: &str, owner: &str, now: EpochMillis, until: EpochMillis) -> Result<Lease> {
        self.0.acquire_lease(name, owner, now, until).await
    }
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.0.release_lease(name, owner).await
    }
}

#[tokio::test]
async fn a_crash_after_enqueue_and_before_the_watermark_write_re_reads_without_duplicates() {
    let rig = rig().await;
    let codes = rig.card_codes(3);
    for (i, code) in codes.iter().enumerate() {
        rig.edit(code, &format!("11:00:0{i}"), "+1 555 0200");
    }
    let crashing = Arc::new(CrashBeforeAdvance(rig.state.clone()));
    let err = rig.poller_with(rig.sap.clone(), crashing.clone(), 100).run("BusinessPartners", "run-1").await;
    assert!(err.is_err(), "the failed watermark write fails the run");
    assert_eq!(rig.queue.len(), 3, "the page was enqueued before the crash");
    assert_eq!(crashing.watermark("BusinessPartners").await.unwrap(), None);

    // The crashed run released its lease, so the retry (same store, now working) runs at once.
    let report = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();

    assert_eq!((report.rows_read, report.enqueued), (3, 3), "everything is re-read and re-sent");
    assert_eq!(rig.queue.len(), 3, "FIFO dedup dropped every re-sent message");
    assert_eq!(report.watermark_after.unwrap().key, codes[2]);
    rig.assert_current_versions_queued(&codes);
}

#[tokio::test]
async fn a_record_missing_update_time_after_the_watermark_is_not_missed() {
    let rig = rig().await;
    let codes = rig.card_codes(1);
    rig.edit(&codes[0], "10:30:00", "+1 555 0300");
    rig.poller(100).run("BusinessPartners", "run-1").await.unwrap();
    let mut untimed = rig.sandbox.business_partner(&codes[0]).unwrap();
    untimed["CardCode"] = json!("CUNTIMED");
    untimed["UpdateDate"] = json!(format!("{DAY}T00:00:00Z"));
    untimed.as_object_mut().unwrap().remove("UpdateTime");
    rig.sandbox.insert_business_partner(untimed);

    let report = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();

    let notes = rig.notes();
    let found: Vec<_> = notes.iter().filter(|n| n.record.id == "CUNTIMED").collect();
    assert_eq!(found.len(), 1, "{notes:#?}");
    assert!(found[0].source_version.starts_with(&format!("{DAY}T#")), "{:?}", found[0].source_version);
    assert_eq!(report.watermark_after.unwrap().time, "10:30:00", "an untimed row sorts before the watermark");
}

#[tokio::test]
async fn an_unchanged_re_read_is_dropped_by_key_and_a_same_second_edit_is_not() {
    let rig = rig().await;
    let codes = rig.card_codes(1);
    rig.edit(&codes[0], "12:00:00", "+1 555 0400");
    rig.poller(100).run("BusinessPartners", "run-1").await.unwrap();
    let again = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();
    assert_eq!((again.rows_read, rig.queue.len()), (1, 1), "the re-read row is deduplicated");

    rig.edit(&codes[0], "12:00:00", "+1 555 0401");
    rig.poller(100).run("BusinessPartners", "run-3").await.unwrap();

    let versions: HashSet<_> = rig.notes().into_iter().map(|n| n.source_version).collect();
    assert_eq!(versions.len(), 2, "same stamp, new content, new version: {versions:?}");
    assert!(versions.iter().all(|v| v.starts_with(&format!("{DAY}T12:00:00#"))), "{versions:?}");
}

#[tokio::test]
async fn a_held_lease_stops_a_concurrent_second_run() {
    let rig = rig().await;
    rig.edit(&rig.card_codes(1)[0], "13:00:00", "+1 555 0500");
    let now = rig.clock.now_millis();
    rig.state.acquire_lease("poller:BusinessPartners", "run-1", now, now + 60_000).await.unwrap();

    let blocked = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();
    assert!(blocked.skipped.as_deref().is_some_and(|s| s.contains("run-1")), "{blocked:?}");
    assert_eq!((blocked.rows_read, rig.queue.len()), (0, 0));

    rig.clock.advance(std::time::Duration::from_secs(61));
    let after_expiry = rig.poller(100).run("BusinessPartners", "run-2").await.unwrap();
    assert_eq!((after_expiry.skipped, after_expiry.enqueued), (None, 1));
}

#[tokio::test]
async fn incoming_payments_are_polled_by_a_doc_entry_high_water_mark() {
    let rig = rig().await;
    let seeded = rig.sandbox.documents("IncomingPayments");
    let highest = seeded.iter().filter_map(|p| p["DocEntry"].as_i64()).max().unwrap();
    let first = rig.poller(3).run("IncomingPayments", "run-1").await.unwrap();
    assert_eq!(first.rows_read, seeded.len() as u64, "{first:?}");
    assert_eq!(first.watermark_after.as_ref().and_then(|w| w.doc_entry), Some(highest));

    let card_code = seeded[0]["CardCode"].as_str().unwrap();
    let created = rig.sap.post("IncomingPayments", &json!({"CardCode": card_code, "CashSum": 25.0})).await.unwrap();
    let second = rig.poller(3).run("IncomingPayments", "run-2").await.unwrap();

    assert_eq!((second.rows_read, second.enqueued), (1, 1), "{second:?}");
    let newest = rig.notes().pop().unwrap();
    assert_eq!(newest.record.to_string(), format!("sap:IncomingPayments:{}", created["DocEntry"]));
    assert_eq!(second.watermark_after.and_then(|w| w.doc_entry), created["DocEntry"].as_i64());
    assert_eq!(rig.queue.len(), seeded.len() + 1);
}

/// A DST night in Berlin, driven in instants: SAP (the sandbox) stamps edits in Berlin's wall-clock
/// time, the poller runs on the same clock, and a stand-in for the sf-writer takes each run's
/// notifications off the queue.
struct DstNight {
    rig: Rig,
    codes: Vec<String>,
    /// (record, source version) of every notification taken off the queue, in order.
    seen: Vec<(String, String)>,
}

impl DstNight {
    async fn new() -> Self {
        let rig = rig().await;
        rig.sandbox.set_time_zone("Europe/Berlin").unwrap();
        let codes = rig.card_codes(4);
        Self { rig, codes, seen: Vec::new() }
    }

    fn poller(&self) -> Poller {
        let settings = PollerSettings {
            initial_date: "2026-03-28".into(),
            time_zone: SapTimeZone::named("Europe/Berlin").unwrap(),
            ..PollerSettings::default()
        };
        Poller { settings, ..self.rig.poller(100) }
    }

    /// An SAP user edits business partner `n` at instant `at`.
    fn edit(&self, n: usize, at: EpochMillis) {
        self.rig.sandbox.set_clock_instant(at).unwrap();
        let phone = format!("+49 30 {at}");
        self.rig.sandbox.user_update("BusinessPartners", &self.codes[n], json!({"Phone1": phone})).unwrap();
    }

    /// One scheduled run at instant `at`; what it enqueued is taken off the queue.
    async fn poll(&mut self, at: EpochMillis) -> shared::engine::poller::PollReport {
        self.rig.clock.set(at);
        let report = self.poller().run("BusinessPartners", &format!("run-{at}")).await.unwrap();
        assert!(report.complete, "{report:?}");
        for message in self.rig.queue.receive(100).await.unwrap() {
            let note = Notification::from_body(&message.body).unwrap();
            self.seen.push((note.record.id, note.source_version));
            self.rig.queue.delete(&message.receipt_handle).await.unwrap();
        }
        report
    }

    /// The current SAP version of business partner `n`, as the poller writes it.
    fn current_stamp(&self, n: usize) -> String {
        let row = self.rig.sandbox.business_partner(&self.codes[n]).unwrap();
        format!("{}T{}#", &row["UpdateDate"].as_str().unwrap()[..10], row["UpdateTime"].as_str().unwrap())
    }

    fn assert_seen(&self, n: usize) {
        let stamp = self.current_stamp(n);
        assert!(
            self.seen.iter().any(|(id, version)| *id == self.codes[n] && version.starts_with(&stamp)),
            "the edit of {} stamped {stamp} was missed: {:#?}",
            self.codes[n],
            self.seen
        );
    }
}

const MINUTE: EpochMillis = 60_000;

/// 2026-10-25 01:00 UTC: Berlin's clocks go back from 03:00 CEST to 02:00 CET, so the stamps
/// 02:00–02:59 happen twice. An edit at 02:10 CET comes after one at 02:50 CEST; read by stamp
/// order alone from the watermark minus ten minutes (02:40), it would never be seen.
#[tokio::test]
async fn edits_in_the_repeated_hour_of_a_fall_back_night_are_all_read_and_the_rereading_ends() {
    const FALL_BACK: EpochMillis = 1_792_890_000_000;
    let at = |minutes: i64| FALL_BACK + minutes * MINUTE;
    let mut night = DstNight::new().await;
    night.edit(0, at(-40)); // 02:20 CEST
    night.poll(at(-35)).await;
    night.edit(1, at(-10)); // 02:50 CEST
    let before = night.poll(at(-5)).await;
    assert_eq!(before.watermark_after.as_ref().map(|w| w.time.as_str()), Some("02:50:00"));
    assert_eq!(before.watermark_at(), Some(at(-10)), "the stamp read in Berlin's zone");

    night.edit(2, at(10)); // 02:10 CET, below the watermark's 02:50
    night.poll(at(15)).await;
    night.assert_seen(2);
    night.edit(3, at(20)); // 02:20 CET, after a run that began past the change of clocks
    night.poll(at(25)).await;
    night.assert_seen(3);
    for n in 0..4 {
        night.assert_seen(n);
    }

    // Hours later, nothing new: once a run has caught up past the repeated hour, the next re-reads
    // only what a UTC company would (the watermark's own row), not the repeated hour over and over.
    night.poll(at(180)).await;
    let again = night.poll(at(185)).await;
    assert_eq!(again.rows_read, 1, "{again:?}");
    let versions: HashSet<_> = night.seen.iter().collect();
    assert_eq!(versions.len(), 4, "each edit once, however often re-read: {:#?}", night.seen);
}

/// 2026-03-29 01:00 UTC: Berlin's clocks jump from 02:00 CET to 03:00 CEST; the stamps 02:00–02:59
/// never happen. Edits just before, in the hour that is skipped, and after are each read once.
#[tokio::test]
async fn edits_around_the_skipped_hour_of_a_spring_forward_night_are_each_read_once() {
    const SPRING_FORWARD: EpochMillis = 1_774_746_000_000;
    let at = |minutes: i64| SPRING_FORWARD + minutes * MINUTE;
    let mut night = DstNight::new().await;
    night.edit(0, at(-20)); // 01:40 CET
    night.poll(at(-15)).await;
    night.edit(1, at(-2)); // 01:58 CET
    night.edit(2, at(5)); // 03:05 CEST: what would have been 02:05
    night.poll(at(10)).await;
    night.edit(3, at(30)); // 03:30 CEST
    let last = night.poll(at(35)).await;
    assert_eq!(last.watermark_after.as_ref().map(|w| w.time.as_str()), Some("03:30:00"));
    assert_eq!(last.watermark_at(), Some(at(30)));
    for n in 0..4 {
        night.assert_seen(n);
    }
    let versions: HashSet<_> = night.seen.iter().collect();
    assert_eq!(versions.len(), 4, "{:#?}", night.seen);
}

/// #13 item 4: a row whose stamp is not a time (a damaged row, a build that answers `HH:MM`) is
/// audited and dead-lettered on its own; the rest of its page is enqueued and the watermark moves on.
#[tokio::test]
async fn a_poison_row_is_dead_lettered_alone_and_the_page_and_the_watermark_go_on() {
    let rig = rig().await;
    let codes = rig.card_codes(4);
    for (i, code) in codes.iter().enumerate() {
        rig.edit(code, &format!("10:0{i}:00"), &format!("555-010{i}"));
    }
    let mut poison = rig.sandbox.business_partner(&codes[0]).unwrap();
    poison["CardCode"] = json!("CPOISON");
    poison["UpdateTime"] = json!("10:01");
    rig.sandbox.insert_business_partner(poison);

    let report = rig.poller(100).run("BusinessPartners", "r1").await.unwrap();

    assert_eq!((report.rows_read, report.enqueued, report.dead_lettered), (5, 4, 1), "{report:?}");
    assert!(report.complete);
    let mark = report.watermark_after.unwrap();
    assert_eq!((mark.time.as_str(), mark.key.as_str()), ("10:03:00", codes[3].as_str()));
    assert_eq!(rig.dlq.len(), 1);
    let trail = rig.audit.for_record("sap:BusinessPartners:CPOISON").await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!((trail[0].outcome, trail[0].error_code.as_deref()), (Outcome::DeadLettered, Some("INVALID_INPUT")));
    assert!(
        trail[0].error.as_deref().unwrap().contains("UpdateTime")
            || trail[0].error.as_deref().unwrap().contains("time")
    );
    // The next run re-reads it in its lookback: the DLQ's deduplication keeps one copy.
    let again = rig.poller(100).run("BusinessPartners", "r2").await.unwrap();
    assert_eq!(again.dead_lettered, 1);
    assert_eq!(rig.dlq.len(), 1);
}
