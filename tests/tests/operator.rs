//! The operator commands on the local stack (both sandboxes, real clients, embedded AWS twins):
//! a DLQ redrive after an induced failure and its fix processes every message once, also when the
//! redrive is killed halfway and restarted; `audit` finds every attempt; `replay` converges; filters
//! and dry runs leave the DLQ as it was; `check` reaches both systems and reports a failed login.

use async_trait::async_trait;
use b1force_cli::audit_cmd::{self, AuditQuery};
use b1force_cli::check::{self, CheckOptions, Status};
use b1force_cli::dlq::{self as dlq_cmd, DlqCommand, QueueChoice};
use b1force_cli::local::{LocalOptions, LocalStack};
use b1force_cli::operations::Route;
use b1force_cli::operations::dlq::{
    self, Filter, Progress, QueuePair, REDRIVE_VISIBILITY_SECS, RedriveOptions, RedriveReport,
};
use e2e::pipeline::{assert_exactly_one_order_each_and_written_back, deliver_closed_won, opportunity};
use sandbox::{FaultConfig, SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use serde_json::Value;
use shared::domain::RecordKey;
use shared::embedded::{EmbeddedQueue, ManualClock};
use shared::engine::sf_writer::SfWriterSettings;
use shared::mapping::file::MappingFile;
use shared::ports::AuditAction;
use shared::ports::{AuditEntry, Clock, Outcome, OutgoingMessage, Queue, ReceivedMessage};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const START: i64 = 1_795_600_800_000;
/// An item the SAP sandbox lacks until the "fix" adds it: orders naming it fail permanently.
const MISSING_ITEM: &str = "Z99999";

async fn stack() -> (LocalStack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..Default::default() }).await.unwrap();
    (stack, clock)
}

fn to_sap(stack: &LocalStack) -> QueuePair<'_> {
    QueuePair { route: Route::ToSap, source: stack.to_sap.as_ref(), dead_letters: stack.to_sap_dlq.as_ref() }
}

fn to_salesforce(stack: &LocalStack) -> QueuePair<'_> {
    QueuePair {
        route: Route::ToSalesforce,
        source: stack.to_salesforce.as_ref(),
        dead_letters: stack.to_salesforce_dlq.as_ref(),
    }
}

fn account_with_card_code(stack: &LocalStack) -> String {
    let accounts = stack.sf_sandbox.records("Account");
    let account = accounts.iter().find(|a| a["SAP_CardCode__c"].is_string()).expect("a seeded account with a CardCode");
    account["Id"].as_str().unwrap().to_string()
}

/// `n` Closed Won opportunities that each name [`MISSING_ITEM`], delivered and drained into the DLQ.
async fn dead_lettered_opportunities(stack: &LocalStack, n: usize) -> Vec<String> {
    let account = account_with_card_code(stack);
    let ids: Vec<String> = (0..n)
        .map(|_| stack.sf_sandbox.create_opportunity(&account, "Closed Won", &["A00001", MISSING_ITEM]))
        .collect();
    deliver_closed_won(stack, &ids, 1, "poison").await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.dead_lettered), (0, n as u64), "{stats:?}");
    assert_eq!(stack.to_sap_dlq.len(), n);
    ids
}

/// The fix: SAP gets the missing item.
fn add_missing_item(stack: &LocalStack) {
    let mut item = stack.sap_sandbox.item("A00001").expect("the sandbox has A00001");
    item["ItemCode"] = Value::from(MISSING_ITEM);
    item["ItemName"] = Value::from("Widget, late addition");
    stack.sap_sandbox.insert_item(item);
}

async fn redrive(
    pair: QueuePair<'_>,
    stack: &LocalStack,
    options: RedriveOptions,
) -> (shared::Result<RedriveReport>, Vec<Progress>) {
    let mut seen = Vec::new();
    let report = dlq::redrive(pair, stack.audit.as_ref(), stack.clock.as_ref(), &options, &mut |p| seen.push(p)).await;
    (report, seen)
}

fn trail(stack: &LocalStack, id: &str) -> Vec<AuditEntry> {
    let key = format!("sf:Opportunity:{id}");
    stack.audit.all().into_iter().filter(|e| e.record_key == key).collect()
}

fn position(trail: &[AuditEntry], pick: impl Fn(&AuditEntry) -> bool) -> usize {
    trail.iter().position(pick).unwrap_or_else(|| panic!("no such entry in {trail:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_induced_failure_and_its_fix_a_redrive_processes_every_dead_letter_exactly_once() {
    let (stack, clock) = stack().await;
    let ids = dead_lettered_opportunities(&stack, 12).await;
    let dead = trail(&stack, &ids[0]).into_iter().find(|e| e.outcome == Outcome::DeadLettered).unwrap();
    let code = dead.error_code.clone().expect("the dead-lettering names an error code");

    let summary = dlq::list(to_sap(&stack), stack.audit.as_ref(), 100).await.unwrap();
    assert_eq!((summary.approximate_count, summary.sampled), (12, 12));
    assert_eq!(summary.reasons, [(code.clone(), 12)]);
    assert_eq!(summary.oldest_sent_at, Some(START));
    assert_eq!(stack.to_sap_dlq.depth().await.unwrap(), 12, "listing made every message visible again");

    add_missing_item(&stack);
    clock.advance(Duration::from_secs(60));
    let (report, progress) = redrive(to_sap(&stack), &stack, RedriveOptions::default()).await;
    let report = report.unwrap();
    assert_eq!((report.examined, report.redriven, report.not_matching), (12, 12, 0));
    assert_eq!(progress.last().map(|p| (p.redriven, p.total)), Some((12, 12)));
    assert!(stack.to_sap_dlq.is_empty());

    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.duplicates, stats.dead_lettered), (12, 0, 0), "{stats:?}");
    assert!(stack.to_sap.is_empty() && stack.to_sap_dlq.is_empty());
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
    for id in &ids {
        let trail = trail(&stack, id);
        let dead = position(&trail, |e| e.outcome == Outcome::DeadLettered);
        let redriven = position(&trail, |e| e.action == AuditAction::Redrive);
        let created = position(&trail, |e| e.outcome == Outcome::Succeeded && e.action == AuditAction::CreateOrder);
        assert!(dead < redriven && redriven < created, "{trail:#?}");
    }
}

/// A DLQ whose process dies at its `deletes`+1-th delete: from then on every call fails, so
/// nothing it received is made visible again (they return after their visibility timeout).
struct DiesAtDelete {
    inner: Arc<EmbeddedQueue>,
    deletes_left: AtomicUsize,
    dead: AtomicBool,
}

impl DiesAtDelete {
    fn check(&self) -> shared::Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(shared::Error::Transport { system: "redrive", message: "the process died".into() });
        }
        Ok(())
    }
}

#[async_trait]
impl Queue for DiesAtDelete {
    async fn send(&self, messages: &[OutgoingMessage]) -> shared::Result<()> {
        self.check()?;
        self.inner.send(messages).await
    }
    async fn receive(&self, max: usize) -> shared::Result<Vec<ReceivedMessage>> {
        self.check()?;
        self.inner.receive(max).await
    }
    async fn receive_for(&self, max: usize, visibility_secs: u32) -> shared::Result<Vec<ReceivedMessage>> {
        self.check()?;
        self.inner.receive_for(max, visibility_secs).await
    }
    async fn delete(&self, handle: &str) -> shared::Result<()> {
        self.delete_many(&[handle.to_string()]).await
    }
    async fn delete_many(&self, handles: &[String]) -> shared::Result<()> {
        self.check()?;
        if self.deletes_left.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.dead.store(true, Ordering::SeqCst);
            return self.check();
        }
        self.inner.delete_many(handles).await
    }
    async fn release(&self, handle: &str, seconds: u32) -> shared::Result<()> {
        self.check()?;
        self.inner.release(handle, seconds).await
    }
    async fn depth(&self) -> shared::Result<u64> {
        self.check()?;
        self.inner.depth().await
    }
}

/// 25 dead letters, a redrive that dies after sending its second batch of ten and before deleting
/// it, a restart `restart_after` later, then a drain: returns what was queued after the restart
/// and the drain's counts, having checked that every opportunity has exactly one order.
async fn killed_redrive_then_restarted(restart_after: Duration) -> (usize, shared::engine::drain::DrainStats) {
    let (stack, clock) = stack().await;
    let ids = dead_lettered_opportunities(&stack, 25).await;
    add_missing_item(&stack);

    let dying = DiesAtDelete { inner: stack.to_sap_dlq.clone(), deletes_left: AtomicUsize::new(1), dead: false.into() };
    let pair = QueuePair { route: Route::ToSap, source: stack.to_sap.as_ref(), dead_letters: &dying };
    let (died, progress) = redrive(pair, &stack, RedriveOptions::default()).await;
    assert!(died.is_err(), "the redrive should have died");
    assert_eq!(progress.last().map(|p| p.redriven), Some(10), "one batch was moved before the crash");
    assert_eq!(stack.to_sap.len(), 20, "the second batch was sent before the crash");
    assert_eq!(stack.to_sap_dlq.len(), 15, "the DLQ still holds the sent-but-undeleted batch and the rest");

    clock.advance(restart_after);
    let (restarted, _) = redrive(to_sap(&stack), &stack, RedriveOptions::default()).await;
    assert_eq!(restarted.unwrap().redriven, 15);
    assert!(stack.to_sap_dlq.is_empty());
    let queued = stack.to_sap.len();

    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.dead_lettered), (25, 0), "{stats:?}");
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
    assert_eq!(stack.sap_sandbox.orders().len(), 25, "no other order was created");
    (queued, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_killed_between_send_and_delete_and_restarted_in_the_dedup_window_queues_no_duplicate() {
    let restart = Duration::from_secs(u64::from(REDRIVE_VISIBILITY_SECS) + 1);
    let (queued, stats) = killed_redrive_then_restarted(restart).await;
    assert_eq!(queued, 25, "the re-sent batch was dropped by FIFO deduplication");
    assert_eq!(stats.duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_restarted_after_the_dedup_window_queues_copies_that_the_writer_drops() {
    let (queued, stats) = killed_redrive_then_restarted(Duration::from_secs(6 * 60)).await;
    assert_eq!(queued, 35, "past the window the ten re-sent messages are queued again");
    assert_eq!(stats.duplicates, 10, "and the idempotency store stops each of them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_finds_every_attempt_of_a_record_in_order_and_failures_since_a_time_only() {
    let (stack, clock) = stack().await;
    let earlier = dead_lettered_opportunities(&stack, 1).await;
    clock.advance(Duration::from_secs(2 * 3600));

    let ids = stack.sf_sandbox.seed_closed_won(1);
    deliver_closed_won(&stack, &ids, 1, "retried").await.unwrap();
    stack.sap_sandbox.faults().set(FaultConfig { error_rate: 1.0, ..Default::default() });
    for _ in 0..2 {
        clock.advance(Duration::from_secs(60));
        let stats = stack.drain(1).await.unwrap();
        assert_eq!(stats.failures_reported, 1, "{stats:?}");
    }
    stack.sap_sandbox.faults().set(FaultConfig::default());
    clock.advance(Duration::from_secs(60));
    assert_eq!(stack.drain(u64::MAX).await.unwrap().created, 1);

    let record = RecordKey::parse(&format!("sf:Opportunity:{}", ids[0])).unwrap();
    let found = audit_cmd::entries(&AuditQuery::Record(record.clone()), stack.audit.as_ref(), clock.as_ref()).await;
    let found = found.unwrap();
    let writer: Vec<Outcome> = found.iter().filter(|e| e.action != AuditAction::Receive).map(|e| e.outcome).collect();
    assert_eq!(writer, [Outcome::Retrying, Outcome::Retrying, Outcome::Succeeded], "{found:#?}");
    assert!(found.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
    assert_eq!(found, trail(&stack, &ids[0]), "every attempt the writer and receiver recorded");

    let mut out = Vec::new();
    audit_cmd::run(&AuditQuery::Record(record), false, stack.audit.as_ref(), clock.as_ref(), &mut out).await.unwrap();
    let table = String::from_utf8(out).unwrap();
    assert_eq!(table.lines().count(), found.len() + 1, "{table}");
    assert_eq!(table.matches("retrying").count(), 2, "{table}");

    let failures = |since: &str| {
        let query = AuditQuery::Failures { since: since.into(), limit: None };
        let (audit, clock) = (stack.audit.clone(), clock.clone());
        async move {
            let mut out = Vec::new();
            audit_cmd::run(&query, true, audit.as_ref(), clock.as_ref(), &mut out).await.unwrap();
            serde_json::from_slice::<Vec<AuditEntry>>(&out).unwrap()
        }
    };
    let recent = failures("1h").await;
    assert_eq!(recent.len(), 2, "{recent:#?}");
    assert!(recent.iter().all(|e| e.outcome == Outcome::Retrying && e.record_key.ends_with(&ids[0])));
    assert!(recent[0].at > recent[1].at, "newest first");
    let all = failures("3h").await;
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[2].record_key.ends_with(&earlier[0]) && all[2].outcome == Outcome::DeadLettered);
    assert!(all.iter().all(|e| e.outcome != Outcome::Succeeded));
}

/// An opportunity not shared with the integration user cannot be read after its change event: it is
/// skipped (nothing to retry), and `audit --failures` shows it (#13 item 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opportunity_the_integration_user_cannot_see_is_listed_among_failures() {
    let (stack, clock) = stack().await;
    let ids = stack.sf_sandbox.seed_closed_won(2);
    stack.sf_sandbox.hide_record(&ids[0]);
    deliver_closed_won(&stack, &ids, 1, "unshared").await.unwrap();
    let stats = stack.drain(u64::MAX).await.unwrap();
    assert_eq!((stats.created, stats.skipped, stats.dead_lettered), (1, 1, 0), "{stats:?}");

    let mut out = Vec::new();
    let query = AuditQuery::Failures { since: "1h".into(), limit: None };
    audit_cmd::run(&query, true, stack.audit.as_ref(), clock.as_ref(), &mut out).await.unwrap();
    let failures: Vec<AuditEntry> = serde_json::from_slice(&out).unwrap();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].record_key.ends_with(&ids[0]), "{failures:#?}");
    assert_eq!((failures[0].outcome, failures[0].action), (Outcome::Skipped, AuditAction::SkipNotVisible));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_synced_opportunity_converges_to_the_same_order_and_write_back() {
    let (stack, clock) = stack().await;
    let ids = stack.sf_sandbox.seed_closed_won(3);
    deliver_closed_won(&stack, &ids, 1, "synced").await.unwrap();
    stack.drain(u64::MAX).await.unwrap();
    let orders_before = stack.sap_sandbox.orders();
    let synced = |stack: &LocalStack| {
        let opp = opportunity(stack, &ids[1]);
        (opp["SAP_DocEntry__c"].clone(), opp["SAP_Sync_Status__c"].clone())
    };
    let before = synced(&stack);

    clock.advance(Duration::from_secs(600));
    let record = RecordKey::parse(&format!("sf:Opportunity:{}", ids[1])).unwrap();
    let mut out = Vec::new();
    let replayed =
        b1force_cli::replay::run(&record, false, stack.to_sap.as_ref(), stack.audit.as_ref(), clock.as_ref(), &mut out)
            .await
            .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains(&replayed.notification.correlation_id) && printed.contains("to-sap.fifo"), "{printed}");
    let stats = stack.drain(u64::MAX).await.unwrap();

    assert_eq!((stats.messages, stats.created, stats.dead_lettered), (1, 0, 0), "{stats:?}");
    assert_eq!(stack.sap_sandbox.orders(), orders_before, "SAP is as it was: no second order, no change");
    assert_eq!(synced(&stack), before);
    assert_exactly_one_order_each_and_written_back(&stack, &ids);
    let trail = trail(&stack, &ids[1]);
    let replay_entry = position(&trail, |e| e.action == AuditAction::Replay);
    let after = &trail[replay_entry + 1..];
    assert!(!after.is_empty(), "the writer audited the replay: {trail:#?}");
    assert!(after.iter().all(|e| e.correlation_id == replayed.notification.correlation_id), "{trail:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_synced_business_partner_leaves_its_salesforce_account_unchanged() {
    let (stack, clock) = stack().await;
    let (_, first) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert!(first.written > 0 && first.dead_lettered == 0, "{first:?}");
    let account = |stack: &LocalStack| {
        let accounts = stack.sf_sandbox.records("Account");
        let found: Vec<Value> = accounts.into_iter().filter(|a| a["SAP_CardCode__c"] == "C20000").collect();
        assert_eq!(found.len(), 1);
        found[0].clone()
    };
    let before = account(&stack);

    clock.advance(Duration::from_secs(600));
    let record = RecordKey::parse("sap:BusinessPartners:C20000").unwrap();
    let replayed = b1force_cli::operations::replay::replay(
        &record,
        false,
        stack.to_salesforce.as_ref(),
        stack.audit.as_ref(),
        clock.as_ref(),
    )
    .await
    .unwrap();
    assert_eq!(replayed.queue, "to-salesforce");
    let run = stack.sf_writer(SfWriterSettings::default()).run(clock.now_millis() + 3_600_000).await.unwrap();

    assert_eq!((run.messages, run.dead_lettered), (1, 0), "{run:?}");
    assert_eq!(account(&stack), before, "the account is exactly as it was");
    assert!(stack.to_salesforce.is_empty() && stack.to_salesforce_dlq.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_or_dry_redrive_leaves_every_other_dead_letter_where_it_was() {
    let (stack, clock) = stack().await;
    let ids = dead_lettered_opportunities(&stack, 4).await;
    let garbage = [shared::engine::sap_writer::InboundMessage {
        message_id: "m-garbage".into(),
        group_id: "sf:Opportunity:garbage".into(),
        body: "not json".into(),
        ..Default::default()
    }];
    stack.writer().process_batch(&garbage, clock.now_millis() + 60_000).await;
    assert_eq!(stack.to_sap_dlq.len(), 5);
    let dlq_before = stack.to_sap_dlq.messages();
    let untouched = |stack: &LocalStack, expected: &[String]| {
        assert_eq!(stack.to_sap_dlq.messages(), expected);
        assert_eq!(stack.to_sap_dlq.in_flight(), 0, "every message examined is visible again");
    };

    let pairs = [to_sap(&stack), to_salesforce(&stack)];
    let mut out = Vec::new();
    let dry = DlqCommand::Redrive { queue: QueueChoice::All, filter: None, dry_run: true, limit: None };
    dlq_cmd::run(dry, &pairs, None, stack.audit.as_ref(), clock.as_ref(), &mut out, &mut |_| {}).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("to-sap.fifo: dry run, 5 examined, 5 would move"), "{printed}");
    assert!(printed.contains("INVALID_INPUT") && printed.contains(&ids[0]), "{printed}");
    untouched(&stack, &dlq_before);
    assert!(stack.to_sap.is_empty());

    let only_garbage =
        RedriveOptions { filter: Some("reason=invalid_input".parse().unwrap()), dry_run: true, limit: None };
    let (report, _) = redrive(to_sap(&stack), &stack, only_garbage).await;
    let report = report.unwrap();
    assert_eq!((report.left_matching.len(), report.not_matching), (1, 4));
    assert_eq!(report.left_matching[0].record_key(), "sf:Opportunity:garbage");
    untouched(&stack, &dlq_before);

    clock.advance(Duration::from_secs(60));
    let one =
        RedriveOptions { filter: Some(Filter::Record(format!("sf:Opportunity:{}", ids[2]))), ..Default::default() };
    let (report, _) = redrive(to_sap(&stack), &stack, one).await;
    assert_eq!((report.unwrap().redriven), 1);
    assert_eq!(stack.to_sap.len(), 1);
    assert!(stack.to_sap.messages()[0].contains(&ids[2]));
    let rest: Vec<String> = dlq_before.into_iter().filter(|body| !body.contains(&ids[2])).collect();
    untouched(&stack, &rest);

    let limited = RedriveOptions { limit: Some(2), ..Default::default() };
    let (report, _) = redrive(to_sap(&stack), &stack, limited).await;
    assert_eq!(report.unwrap().redriven, 2);
    assert_eq!((stack.to_sap.len(), stack.to_sap_dlq.len()), (3, 2));
    assert_eq!(stack.to_sap_dlq.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_and_show_print_counts_reasons_and_the_whole_trail_and_leave_the_messages_visible() {
    let (stack, clock) = stack().await;
    let ids = dead_lettered_opportunities(&stack, 3).await;
    clock.advance(Duration::from_secs(3 * 3600));
    let pairs = [to_sap(&stack), to_salesforce(&stack)];

    let mut out = Vec::new();
    let list = DlqCommand::List { sample: 100, json: false };
    dlq_cmd::run(list, &pairs, None, stack.audit.as_ref(), clock.as_ref(), &mut out, &mut |_| {}).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    println!("{printed}");
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[1].starts_with("to-sap.fifo") && lines[1].contains("  3  "), "{printed}");
    assert!(lines[1].contains("(3h 0m ago)") && lines[1].contains(" x3"), "{printed}");
    assert!(lines[2].starts_with("to-salesforce.fifo  0"), "{printed}");

    let message_id = stack.to_sap_dlq.receive_for(1, 0).await.unwrap()[0].message_id.clone();
    let mut out = Vec::new();
    let show = DlqCommand::Show { message_id: message_id.clone(), json: false };
    dlq_cmd::run(show, &pairs, None, stack.audit.as_ref(), clock.as_ref(), &mut out, &mut |_| {}).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    println!("{printed}");
    assert!(printed.contains(&format!("message    {message_id} on the DLQ of to-sap.fifo")), "{printed}");
    assert!(printed.contains(MISSING_ITEM), "the reason names the missing item: {printed}");
    assert!(printed.contains("dead_lettered") && printed.contains("audit trail of sf:Opportunity:"), "{printed}");
    assert!(ids.iter().any(|id| printed.contains(&format!("record     sf:Opportunity:{id}"))), "{printed}");

    let missing = DlqCommand::Show { message_id: "no-such-message".into(), json: false };
    let err =
        dlq_cmd::run(missing, &pairs, None, stack.audit.as_ref(), clock.as_ref(), &mut Vec::new(), &mut |_| {}).await;
    assert!(err.unwrap_err().to_string().contains("not visible in the DLQ of to-sap, to-salesforce"));
    assert_eq!((stack.to_sap_dlq.len(), stack.to_sap_dlq.in_flight()), (3, 0));
}

/// The finding of `system` whose check starts with `check`.
fn finding<'a>(findings: &'a [check::Finding], system: &str, check: &str) -> &'a check::Finding {
    findings
        .iter()
        .find(|f| f.system == system && f.check.starts_with(check))
        .unwrap_or_else(|| panic!("no {system} {check} in {findings:#?}"))
}

#[tokio::test]
async fn check_reaches_both_sandboxes_without_writing_and_reports_a_failed_login_clearly() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let salesforce = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
    let settings = check::sandbox_settings(&sap, &salesforce);

    let checks = check::systems(&settings, &MappingFile::shipped()).await;
    let lines: Vec<String> = checks.iter().map(|c| c.line()).collect();
    assert!(checks.iter().all(|c| matches!(c.status, Status::Ok(_))), "{lines:#?}");
    assert!(matches!(&finding(&checks, "sap", "login").status, Status::Ok(detail) if detail.contains("logged in")));
    let limits = &finding(&checks, "salesforce", "limits").status;
    assert!(matches!(limits, Status::Ok(detail) if detail.contains("DailyApiRequests")), "{lines:?}");
    for polled in shared::domain::polled::POLLED_ENTITIES {
        finding(&checks, "sap", &format!("poll query {polled}"));
    }
    finding(&checks, "salesforce", "object SAP_Invoice__c");
    let sap_calls = sap.calls().snapshot();
    assert!(
        sap_calls.keys().all(|call| call.starts_with("GET ") || call == "POST /Login" || call == "POST /Logout"),
        "{sap_calls:?}"
    );
    assert_eq!(sap.active_sessions(), 0, "logged out");
    let sf_calls = salesforce.calls().snapshot();
    assert!(sf_calls.keys().all(|call| call.starts_with("GET ") || call.contains("oauth2")), "{sf_calls:?}");

    let mut wrong = settings.clone();
    wrong.insert("SAP_PASSWORD".into(), "not-the-password".into());
    wrong.insert("SF_CLIENT_SECRET".into(), "not-the-secret".into());
    let mut out = Vec::new();
    let err = check::run(None, false, CheckOptions::default(), &wrong, &mut out).await.unwrap_err().to_string();
    let printed = String::from_utf8(out).unwrap();
    println!("{printed}");
    assert!(err.contains("sap login") && err.contains("salesforce limits"), "{err}");
    assert!(printed.contains(&sap.base_url()), "{printed}");
    let sap_line = printed.lines().find(|l| l.starts_with("  sap ") && l.contains("login")).unwrap();
    assert!(sap_line.contains("failed"), "{printed}");
    assert!(!printed.contains("not-the-password") && !printed.contains("not-the-secret"), "no secret is printed");
    let sf_line = printed.lines().find(|l| l.starts_with("  salesforce ") && l.contains("limits")).unwrap();
    assert!(sf_line.contains("failed"), "{printed}");

    let mut partial = std::collections::HashMap::new();
    partial.insert("SAP_USER".to_string(), "manager".to_string());
    let partial = check::check_sap(&partial, &shared::mapping::file::MappingFile::shipped()).await;
    assert!(matches!(&partial[0].status, Status::Failed(why) if why.contains("SAP_URL is not set")), "{partial:?}");

    // Plain http is refused before any credential is sent, except to loopback (#13 item 9).
    let mut plain = settings.clone();
    plain.insert("SAP_URL".into(), "http://sap.example.internal:50000/b1s/v2".into());
    plain.insert("SF_LOGIN_URL".into(), "http://acme.my.salesforce.com".into());
    let refused = check::systems(&plain, &MappingFile::shipped()).await;
    for system in ["sap", "salesforce"] {
        let settings = finding(&refused, system, "settings");
        assert!(matches!(&settings.status, Status::Failed(why) if why.contains("plain http")), "{refused:#?}");
    }
}

/// Broken set-ups, each reported as its own failed check with its fix (JSON output): UDFs not
/// created, a field the integration user cannot see, a field it cannot edit, SAP stamping in a zone
/// other than `SAP_TIME_ZONE`, and a server whose `$metadata` types `UpdateTime` otherwise, so it
/// refuses the literal form the poller writes. `--strict` fails a system without settings.
#[tokio::test]
async fn the_preflight_names_each_broken_set_up_with_its_fix() {
    let sap = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await.unwrap();
    let salesforce = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
    salesforce.hide_field("Account", "SAP_CardCode__c");
    salesforce.make_field_read_only("Opportunity", "SAP_DocNum__c");
    // The SAP server runs on Kiritimati time (UTC+14) while SAP_TIME_ZONE says UTC.
    sap.set_time_zone("Pacific/Kiritimati").unwrap();
    sap.user_update("BusinessPartners", "C20000", serde_json::json!({"Phone1": "+686 555 0100"})).unwrap();
    sap.redeclare_property("BusinessPartners", "UpdateTime", "Edm.String").unwrap();
    let mut settings = check::sandbox_settings(&sap, &salesforce);

    let mut out = Vec::new();
    let options = CheckOptions { json: true, strict: false };
    let err = check::run(None, false, options, &settings, &mut out).await.unwrap_err().to_string();
    let report: Value = serde_json::from_slice(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let failed = |system: &str, check: &str| {
        findings
            .iter()
            .find(|f| {
                f["system"] == system && f["check"].as_str().unwrap().starts_with(check) && f["status"] == "failed"
            })
            .unwrap_or_else(|| panic!("{system} {check} should fail: {report:#}"))
    };
    for table in ["ORDR", "RDR1", "OCRD", "OCPR", "OQUT"] {
        let udf = failed("sap", &format!("UDF {table}."));
        assert!(udf["fix"].as_str().unwrap().contains("b1force setup sap"), "{udf}");
    }
    let hidden = failed("salesforce", "field Account.SAP_CardCode__c");
    assert!(hidden["detail"].as_str().unwrap().contains("hidden"), "{hidden}");
    assert!(hidden["fix"].as_str().unwrap().contains("permission set"), "{hidden}");
    let read_only = failed("salesforce", "field Opportunity.SAP_DocNum__c");
    assert!(read_only["detail"].as_str().unwrap().contains("read-only"), "{read_only}");
    assert!(read_only["fix"].as_str().unwrap().contains("edit access to Opportunity.SAP_DocNum__c"), "{read_only}");
    let zone = failed("sap", "time zone UTC");
    assert!(zone["detail"].as_str().unwrap().contains("in the future"), "{zone}");
    assert!(zone["fix"].as_str().unwrap().contains("SAP_TIME_ZONE"), "{zone}");
    let literal = failed("sap", "poll query BusinessPartners");
    assert!(literal["detail"].as_str().unwrap().contains("-1000"), "the server's own refusal: {literal}");
    assert!(literal["fix"].as_str().unwrap().contains("$metadata"), "{literal}");
    let types = failed("sap", "metadata types");
    let detail = types["detail"].as_str().unwrap();
    assert!(
        detail.contains("BusinessPartners.UpdateTime is Edm.String here, the client writes Edm.TimeOfDay"),
        "{types}"
    );
    assert!(err.contains("checks failed"), "{err}");
    let failures = findings.iter().filter(|f| f["status"] == "failed").count();
    assert_eq!(failures, 8 + 2 + 1 + 2, "eight UDFs, two fields, the zone, the refused poll and the type: {report:#}");

    // The right zone clears that finding.
    settings.insert("SAP_TIME_ZONE".into(), "Pacific/Kiritimati".into());
    let sap_only = check::check_sap(&settings, &shared::mapping::file::MappingFile::shipped()).await;
    assert!(matches!(&finding(&sap_only, "sap", "time zone").status, Status::Ok(_)), "{sap_only:#?}");

    // --strict: Salesforce without settings fails the run, which otherwise only says "not configured".
    let healthy = SapSandbox::start(SapOptions::default()).await.unwrap();
    let mut healthy_settings = check::sandbox_settings(&healthy, &salesforce);
    healthy_settings.retain(|k, _| k.starts_with("SAP_"));
    assert!(check::run(None, false, CheckOptions::default(), &healthy_settings, &mut Vec::new()).await.is_ok());
    let strict = CheckOptions { json: false, strict: true };
    let err = check::run(None, false, strict, &healthy_settings, &mut Vec::new()).await.unwrap_err().to_string();
    assert!(err.contains("salesforce not configured"), "{err}");
}

#[tokio::test]
async fn check_tolerates_a_user_without_view_setup_and_says_the_budget_check_is_skipped() {
    let salesforce = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    salesforce.set_user_permissions(&["ApiEnabled"]);
    let checks = check::systems(&check::sandbox_settings(&sap, &salesforce), &MappingFile::shipped()).await;
    let limits = finding(&checks, "salesforce", "limits");
    let line = limits.line();
    assert!(matches!(&limits.status, Status::Ok(_)), "{line}");
    for said in ["GET /limits refused (INSUFFICIENT_ACCESS)", "View Setup and Configuration", "api-usage=", "ViewSetup"]
    {
        assert!(line.contains(said), "{said:?} in {line}");
    }
    assert!(!line.contains("DailyApiRequests"), "{line}");
}
