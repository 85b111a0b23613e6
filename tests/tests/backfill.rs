//! `b1force backfill` (#17): SAP history streamed into Salesforce Bulk API 2.0 jobs — calls per
//! record, per-row failures audited and dead-lettered (or queued for the sf-writer) as the
//! sf-writer's, a run killed mid-job and resumed without duplicates or loss, a job failing as a whole.

use async_trait::async_trait;
use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::embedded::ManualClock;
use shared::engine::backfill::{Backfill, BackfillReport, BackfillSettings};
use shared::engine::sf_writer::SfWriterSettings;
use shared::error::Error;
use shared::ports::{BulkIngest, BulkJobOutcome, BulkOperation, Clock, Outcome, SyncState, SystemClock};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Small jobs, so a few hundred rows make several chunks.
fn small_jobs() -> BackfillSettings {
    BackfillSettings { page_size: 100, job_bytes: 20 * 1024, ..BackfillSettings::default() }
}

async fn stack_at(clock: Arc<ManualClock>) -> LocalStack {
    LocalStack::start(LocalOptions { clock, ..LocalOptions::default() }).await.expect("local stack")
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now_millis()))
}

/// Salesforce records of `object` by the value of `key`, counting duplicates.
fn by_key(stack: &LocalStack, object: &str, key: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in stack.sf_sandbox.records(object) {
        if let Some(value) = record.get(key).and_then(Value::as_str) {
            *counts.entry(value.to_string()).or_default() += 1;
        }
    }
    counts
}

async fn run(backfill: &Backfill, entity: &str, run_id: &str) -> shared::Result<BackfillReport> {
    backfill.run(entity, "2000-01-01", run_id, &mut |_| {}).await
}

/// Salesforce calls since the counter was reset that are not Bulk API ingest calls (or the login).
fn other_salesforce_calls(stack: &LocalStack) -> u64 {
    let calls = stack.sf_sandbox.calls();
    let bulk = ["POST jobs", "PUT jobs", "PATCH jobs", "GET jobs"].iter().map(|m| calls.matching(m)).sum::<u64>();
    calls.total() - bulk - calls.matching("POST /services/oauth2")
}

#[tokio::test]
async fn partners_then_invoices_load_in_bulk_jobs_and_each_failed_row_settles_alone() {
    let stack = stack_at(manual_clock()).await;
    let codes = stack.sap_sandbox.seed_changed_business_partners(300);
    stack.sap_sandbox.seed_changed_invoices(900, &codes);
    let invoices_in_sap = stack.sap_sandbox.documents("Invoices").len();
    // A partner without a name cannot become an account (REQUIRED_FIELD_MISSING: permanent); its
    // invoices then name an account that does not exist (a parent still missing: retried).
    let nameless = codes[7].clone();
    stack.sap_sandbox.user_update("BusinessPartners", &nameless, json!({"CardName": ""})).unwrap();
    let backfill = stack.backfill(small_jobs());
    let partners_in_sap = stack.sap_sandbox.documents("BusinessPartners").len();
    stack.sf_sandbox.calls().reset();

    let partners = run(&backfill, "BusinessPartners", "bf-partners").await.unwrap();
    assert!(partners.complete);
    assert_eq!(partners.rows_read as usize, partners_in_sap.max(350), "every partner read once");
    assert!(partners.jobs >= 3, "20 KB jobs: several chunks, {partners:?}");
    assert_eq!((partners.dead_lettered, partners.retried), (1, 0), "{partners:?}");
    assert_eq!(partners.written + partners.skipped + 1, partners.rows_read);
    let accounts = by_key(&stack, "Account", "SAP_CardCode__c");
    assert!(accounts.values().all(|n| *n == 1), "no account twice");
    assert!(codes.iter().filter(|c| **c != nameless).all(|c| accounts.contains_key(c)));
    assert!(!accounts.contains_key(&nameless));
    assert_eq!(
        other_salesforce_calls(&stack),
        0,
        "nothing but Bulk API jobs: {:?}",
        stack.sf_sandbox.calls().snapshot()
    );
    let dead = stack.to_salesforce_dlq.messages();
    assert_eq!(dead.len(), 1);
    let key = format!("sap:BusinessPartners:{nameless}");
    assert!(dead[0].contains(&format!("\"record\":\"{key}\"")), "{}", dead[0]);
    let trail: Vec<_> = stack.audit.all().into_iter().filter(|e| e.record_key == key).collect();
    assert!(
        trail
            .iter()
            .any(|e| e.outcome == Outcome::DeadLettered && e.error_code.as_deref() == Some("REQUIRED_FIELD_MISSING")),
        "{trail:?}"
    );

    stack.sf_sandbox.calls().reset();
    let invoices = run(&backfill, "Invoices", "bf-invoices").await.unwrap();
    assert!(invoices.complete);
    assert_eq!(invoices.rows_read as usize, invoices_in_sap, "900 seeded and the sandbox's own");
    let orphans = 3; // round-robin: three invoices per partner
    let expected = (invoices.rows_read - orphans, orphans, 0);
    let errors: Vec<_> = stack.audit.all().into_iter().filter_map(|e| e.error).collect();
    assert_eq!((invoices.written, invoices.retried, invoices.dead_lettered), expected, "{invoices:?} {errors:?}");
    assert!(invoices.follow_ups >= 299, "one invoice per customer queued for its payment standing");
    let written = by_key(&stack, "SAP_Invoice__c", "SAP_Document_Key__c");
    assert_eq!(written.len() as u64, invoices.rows_read - orphans);
    assert!(written.values().all(|n| *n == 1));
    // Jobs of ≤ 20 KB: about 100 invoices each; each job ≤ 7 calls (create, upload, close, polls, failed rows).
    let calls = stack.sf_sandbox.calls().total() - stack.sf_sandbox.calls().matching("POST /services/oauth2");
    assert!(calls <= 7 * invoices.jobs, "{calls} calls for {} jobs", invoices.jobs);
    let cut = invoices.csv_bytes.div_ceil(20 * 1024);
    assert!(invoices.jobs <= cut + 2 * 10, "jobs are cut by size (and per object at a chunk's end): {invoices:?}");
    assert_eq!(other_salesforce_calls(&stack), 0);

    // The sf-writer then takes the follow-ups and the retries: the orphans wait for their account
    // (still nameless, so they stay retried, never dead-lettered), every other customer gets its
    // payment standing, and nothing is created twice.
    let run = stack.sf_writer(SfWriterSettings::default()).run(SystemClock.now_millis() + 600_000).await.unwrap();
    assert_eq!(run.dead_lettered, 0, "{run:?}");
    assert_eq!(by_key(&stack, "SAP_Invoice__c", "SAP_Document_Key__c"), written);
    let standings =
        stack.sf_sandbox.records("Account").iter().filter(|a| !a["SAP_Payment_Status__c"].is_null()).count();
    assert!(standings >= 299, "{standings} accounts with a payment standing");
}

/// The Bulk API, with the process killed (the future dropped) while the `kill_at`-th job runs in
/// Salesforce, after its rows were uploaded and the job closed.
struct KilledWhileWaiting {
    inner: Arc<dyn BulkIngest>,
    jobs: AtomicUsize,
    kill_at: usize,
}

#[async_trait]
impl BulkIngest for KilledWhileWaiting {
    async fn open_job(&self, operation: &BulkOperation) -> shared::Result<String> {
        self.inner.open_job(operation).await
    }
    async fn upload_and_close(&self, job_id: &str, csv: &bytes::Bytes) -> shared::Result<()> {
        self.inner.upload_and_close(job_id, csv).await
    }
    async fn finish(&self, job_id: &str, operation: &BulkOperation) -> shared::Result<BulkJobOutcome> {
        if self.jobs.fetch_add(1, Ordering::SeqCst) + 1 == self.kill_at {
            std::future::pending::<()>().await;
        }
        self.inner.finish(job_id, operation).await
    }
    async fn abandon(&self, job_id: &str) -> shared::Result<()> {
        self.inner.abandon(job_id).await
    }
}

#[tokio::test]
async fn a_backfill_killed_mid_job_resumes_from_its_checkpoint_without_duplicates_or_loss() {
    let clock = manual_clock();
    let stack = stack_at(clock.clone()).await;
    let codes = stack.sap_sandbox.seed_changed_business_partners(20);
    let entries = stack.sap_sandbox.seed_changed_invoices(600, &codes);
    run(&stack.backfill(small_jobs()), "BusinessPartners", "bf-partners").await.unwrap();

    let real = stack.backfill(small_jobs());
    let killed = Backfill {
        bulk: Arc::new(KilledWhileWaiting { inner: real.bulk.clone(), jobs: AtomicUsize::new(0), kill_at: 3 }),
        ..stack.backfill(small_jobs())
    };
    let dropped = tokio::time::timeout(Duration::from_secs(3), run(&killed, "Invoices", "bf-killed")).await;
    assert!(dropped.is_err(), "the run was killed mid-job");
    let checkpoint = stack.state.watermark("backfill:2000-01-01:Invoices").await.unwrap();
    assert!(checkpoint.is_some(), "two chunks were done before the kill");

    // Run again at once: the killed run's lease still holds.
    let refused = run(&real, "Invoices", "bf-again").await.unwrap_err();
    assert!(matches!(refused, Error::InProgress(_)), "{refused}");
    clock.advance(Duration::from_secs(3601));
    let resumed = run(&real, "Invoices", "bf-resumed").await.unwrap();
    assert!(resumed.complete && resumed.resumed_after.is_some(), "{resumed:?}");
    assert!(resumed.rows_read < 600, "went on from the checkpoint: {resumed:?}");
    let written = by_key(&stack, "SAP_Invoice__c", "SAP_Document_Key__c");
    let in_sap: HashSet<String> =
        stack.sap_sandbox.documents("Invoices").iter().map(|d| format!("Invoices/{}", d["DocEntry"])).collect();
    assert!(entries.iter().all(|e| in_sap.contains(&format!("Invoices/{e}"))));
    assert_eq!(written.keys().cloned().collect::<HashSet<_>>(), in_sap, "no invoice lost");
    assert!(written.values().all(|n| *n == 1), "no invoice twice");
}

/// The Bulk API, failing every job as a whole (a field the org does not have).
struct EveryJobFails(Arc<dyn BulkIngest>);

#[async_trait]
impl BulkIngest for EveryJobFails {
    async fn open_job(&self, operation: &BulkOperation) -> shared::Result<String> {
        self.0.open_job(operation).await
    }
    async fn upload_and_close(&self, job_id: &str, csv: &bytes::Bytes) -> shared::Result<()> {
        self.0.upload_and_close(job_id, csv).await
    }
    async fn finish(&self, job_id: &str, _: &BulkOperation) -> shared::Result<BulkJobOutcome> {
        Err(Error::Salesforce {
            status: 400,
            code: "BULK_JOB_FAILED".into(),
            message: format!("Bulk API job {job_id} failed: InvalidBatch : Field name not found : X__c"),
        })
    }
    async fn abandon(&self, job_id: &str) -> shared::Result<()> {
        self.0.abandon(job_id).await
    }
}

#[tokio::test]
async fn a_job_failing_as_a_whole_stops_the_backfill_before_its_checkpoint_and_dead_letters_nothing() {
    let stack = stack_at(manual_clock()).await;
    stack.sap_sandbox.seed_changed_business_partners(10);
    let real = stack.backfill(small_jobs());
    let failing = Backfill { bulk: Arc::new(EveryJobFails(real.bulk.clone())), ..stack.backfill(small_jobs()) };
    let err = run(&failing, "BusinessPartners", "bf-fails").await.unwrap_err();
    assert_eq!(err.code(), "BULK_JOB_FAILED");
    assert_eq!(err.class(), shared::error::ErrorClass::Configuration);
    assert!(stack.state.watermark("backfill:2000-01-01:BusinessPartners").await.unwrap().is_none());
    assert!(stack.to_salesforce_dlq.is_empty() && stack.to_salesforce.is_empty());
    // Fixed, it runs from the start and the lease was given back.
    let report = run(&real, "BusinessPartners", "bf-fixed").await.unwrap();
    assert!(report.complete && report.resumed_after.is_none() && report.written > 0);
}

#[tokio::test]
async fn entities_a_backfill_does_not_load_and_bad_dates_are_refused_up_front() {
    let stack = stack_at(manual_clock()).await;
    let backfill = stack.backfill(small_jobs());
    let err = backfill.run("Items", "2000-01-01", "r", &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("b1force resync"), "{err}");
    let err = backfill.run("Invoices", "2000-02-30", "r", &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(stack.sf_sandbox.calls().total(), 0);
}
