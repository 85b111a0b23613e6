//! The operator tools on AWS APIs served by moto_server: SQS (SentTimestamp, visibility reset,
//! redrive send + delete with the deterministic dedup id, a restart within the dedup window sends no
//! duplicate), the audit table's `by_outcome` index for failures, and `b1force` run as a process
//! with nothing but environment settings.

use b1force_cli::operations::Route;
use b1force_cli::operations::dlq::{self, QueuePair, RedriveOptions, redrive_dedup_id};
use e2e::moto::MotoServer;
use shared::aws::{DynamoAudit, SqsQueue};
use shared::domain::state::Direction;
use shared::domain::{Notification, RecordKey};
use shared::error::ErrorClass;
use shared::ports::AuditAction;
use shared::ports::{AuditEntry, AuditLog, Clock, Outcome, OutgoingMessage, Queue, SystemClock};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const AUDIT_TABLE: &str = "b1force-audit";

fn note(i: usize) -> Notification {
    Notification {
        record: RecordKey::parse(&format!("sap:Invoices:{}", 100 + i)).unwrap(),
        reason: "poll".into(),
        changed_at: 1,
        source_version: format!("v{i}"),
        correlation_id: format!("c{i}"),
    }
}

fn entry(record: usize, at: i64, outcome: Outcome) -> AuditEntry {
    let failed = outcome != Outcome::Succeeded;
    AuditEntry {
        record_key: note(record).record.to_string(),
        at,
        correlation_id: format!("c{record}"),
        direction: Direction::SapToSf,
        action: match outcome {
            Outcome::Succeeded => AuditAction::Write,
            Outcome::DeadLettered => AuditAction::DeadLetter,
            _ => AuditAction::Retry,
        },
        outcome,
        source_version: Some(format!("v{record}")),
        payload_digest: None,
        error_code: failed.then(|| "INVALID_FIELD".into()),
        error_class: failed.then_some(ErrorClass::Permanent),
        error: failed.then(|| "bad value for Amount__c".into()),
        target_id: None,
    }
}

/// Dead letters as a writer puts them: one message per record, dedup id = idempotency key.
async fn dead_letter(dlq: &SqsQueue, count: usize) {
    let messages: Vec<OutgoingMessage> = (0..count)
        .map(|i| OutgoingMessage {
            group_id: note(i).group_id(),
            dedup_id: note(i).idempotency_key(),
            body: note(i).to_body(),
        })
        .collect();
    dlq.send(&messages).await.unwrap();
}

async fn drain_bodies(queue: &SqsQueue) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let batch = queue.receive(10).await.unwrap();
        if batch.is_empty() {
            return bodies;
        }
        for m in batch {
            queue.delete(&m.receipt_handle).await.unwrap();
            bodies.push(m.body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_at_an_sqs_dlq_reports_sent_times_and_makes_every_message_visible_again() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    let (queue_url, dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    let sqs = moto.sqs().await;
    let (source, dlq) = (SqsQueue::new(sqs.clone(), queue_url), SqsQueue::new(sqs, dlq_url));
    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    let before = SystemClock.now_millis();
    dead_letter(&dlq, 12).await;
    for i in 0..12 {
        audit.record(&entry(i, before, Outcome::DeadLettered)).await?;
    }

    let pair = QueuePair { route: Route::ToSalesforce, source: &source, dead_letters: &dlq };
    let summary = dlq::list(pair, &audit, 100).await?;
    assert_eq!(summary.approximate_count, 12);
    assert!(summary.sampled >= 10, "{summary:?}");
    assert_eq!(summary.reasons, [("INVALID_FIELD".to_string(), summary.sampled)]);
    let oldest = summary.oldest_sent_at.expect("SentTimestamp was read");
    assert!((before - 5_000..=SystemClock.now_millis()).contains(&oldest), "{oldest} vs {before}");
    assert_eq!(dlq.depth().await?, 12, "every message is visible again");
    assert_eq!(drain_bodies(&dlq).await.len(), 12);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqs_redrive_restarted_after_dying_between_send_and_delete_queues_no_duplicate() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    let (queue_url, dlq_url) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    let sqs = moto.sqs().await;
    let (source, dlq) = (SqsQueue::new(sqs.clone(), queue_url), SqsQueue::new(sqs, dlq_url));
    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    dead_letter(&dlq, 15).await;

    // The first run dies after sending one batch and before deleting it: what redrive sends, unsent deletes.
    let first = dlq.receive_for(10, 1).await?;
    assert!(first.iter().all(|m| m.sent_at.is_some()));
    let copies: Vec<OutgoingMessage> = first
        .iter()
        .map(|m| OutgoingMessage {
            group_id: m.group_id.clone(),
            dedup_id: redrive_dedup_id(&m.message_id),
            body: m.body.clone(),
        })
        .collect();
    source.send(&copies).await?;
    for m in &first {
        dlq.release(&m.receipt_handle, 0).await?;
    }

    let pair = QueuePair { route: Route::ToSalesforce, source: &source, dead_letters: &dlq };
    let report = dlq::redrive(pair, &audit, &SystemClock, &RedriveOptions::default(), &mut |_| {}).await?;
    assert_eq!((report.examined, report.redriven), (15, 15));
    assert_eq!(dlq.depth().await?, 0);
    let bodies = drain_bodies(&source).await;
    assert_eq!(bodies.len(), 15, "the re-sent copies were dropped by SQS deduplication");
    assert_eq!(bodies.iter().collect::<HashSet<_>>().len(), 15);
    let trail = audit.for_record(&note(3).record.to_string()).await?;
    assert_eq!(trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["redrive"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_since_a_time_come_from_the_outcome_index_newest_first_and_limited() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    let now = 1_795_600_800_000;
    for i in 0..30 {
        audit.record(&entry(i, now - 60_000 * i as i64, Outcome::Retrying)).await?;
    }
    for i in 0..4 {
        audit.record(&entry(i, now - 30_000 - 60_000 * i as i64, Outcome::DeadLettered)).await?;
        audit.record(&entry(i, now - 10_000, Outcome::Succeeded)).await?;
        audit.record(&entry(i, now - 3 * 3_600_000, Outcome::Rejected)).await?;
    }

    // Of skips, only those that hide a problem count (an unreadable Salesforce record), not others.
    for (i, action) in
        [AuditAction::SkipNotVisible, AuditAction::SkipNotWon, AuditAction::SkipUnchanged].into_iter().enumerate()
    {
        let skipped = AuditEntry { action, ..entry(i, now - 5_000, Outcome::Skipped) };
        audit.record(&AuditEntry { error: None, error_code: None, error_class: None, ..skipped }).await?;
    }

    let hour = audit.failures_since(now - 3_600_000, None).await?;
    assert_eq!(hour.len(), 35, "30 retries, 4 dead letters and the unreadable record; no successes, nothing older");
    assert_eq!(
        hour.iter().filter(|e| e.outcome == Outcome::Skipped).map(|e| e.action).collect::<Vec<_>>(),
        [AuditAction::SkipNotVisible]
    );
    assert!(hour.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert!(hour.iter().all(|e| e.outcome != Outcome::Succeeded && e.outcome != Outcome::Rejected));
    let newest = audit.failures_since(now - 3_600_000, Some(3)).await?;
    assert_eq!(newest.iter().map(|e| e.at).collect::<Vec<_>>(), [now, now - 5_000, now - 30_000]);
    assert_eq!(audit.failures_since(now - 4 * 3_600_000, None).await?.len(), 39);
    Ok(())
}

/// The `b1force` binary, built once per run (its package's binaries are not built for this crate's
/// tests), in a command that sees no environment but `PATH`.
fn b1force() -> Command {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "b1force-cli", "--bin", "b1force"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(build.status().expect("cargo runs").success(), "building b1force failed");
        let profile_dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf();
        let binary = profile_dir.join("b1force");
        assert!(binary.exists(), "{} is missing", binary.display());
        binary
    });
    let mut command = Command::new(binary);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// `b1force` with the stack's audit and sync-state tables and its four queue URLs (to-sap, its DLQ,
/// to-salesforce, its DLQ), as an operator's environment has them.
fn stack_command(moto: &MotoServer, [to_sap, to_sap_dlq, to_sf, to_sf_dlq]: [&str; 4]) -> Command {
    let mut command = b1force();
    aws_env(&mut command, moto);
    command
        .env("AUDIT_TABLE", AUDIT_TABLE)
        .env("SYNC_STATE_TABLE", "b1force-sync-state")
        .env("TO_SAP_QUEUE_URL", to_sap)
        .env("TO_SAP_DLQ_URL", to_sap_dlq)
        .env("TO_SALESFORCE_QUEUE_URL", to_sf)
        .env("TO_SALESFORCE_DLQ_URL", to_sf_dlq);
    command
}

fn aws_env(command: &mut Command, moto: &MotoServer) {
    command
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1force_audit_and_dlq_run_as_processes_against_aws_from_environment_settings() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    let (to_sap, to_sap_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    let (to_sf, to_sf_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    let now = SystemClock.now_millis();
    audit.record(&entry(1, now - 60_000, Outcome::DeadLettered)).await?;
    audit.record(&entry(2, now - 30_000, Outcome::Succeeded)).await?;
    audit.record(&entry(3, now - 2 * 3_600_000, Outcome::Retrying)).await?;
    dead_letter(&SqsQueue::new(moto.sqs().await, to_sf_dlq.clone()), 2).await;

    let mut command = b1force();
    aws_env(&mut command, &moto);
    let out =
        command.env("AUDIT_TABLE", AUDIT_TABLE).args(["audit", "--failures", "--since", "1h", "--json"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let failures: Vec<AuditEntry> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(failures, [entry(1, now - 60_000, Outcome::DeadLettered)]);

    let mut command = b1force();
    aws_env(&mut command, &moto);
    let out = command
        .env("AUDIT_TABLE", AUDIT_TABLE)
        .env("TO_SAP_QUEUE_URL", &to_sap)
        .env("TO_SAP_DLQ_URL", &to_sap_dlq)
        .env("TO_SALESFORCE_QUEUE_URL", &to_sf)
        .env("TO_SALESFORCE_DLQ_URL", &to_sf_dlq)
        .args(["dlq", "list", "--json"])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summaries: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(summaries[0]["queue"], "to-sap");
    assert_eq!(summaries[0]["approximate_count"], 0);
    assert_eq!(summaries[1]["queue"], "to-salesforce");
    assert_eq!(summaries[1]["approximate_count"], 2);
    assert_eq!(summaries[1]["reasons"], serde_json::json!([["INVALID_FIELD", 1], ["unknown", 1]]));

    let mut command = b1force();
    aws_env(&mut command, &moto);
    let out = command.env("AUDIT_TABLE", AUDIT_TABLE).args(["dlq", "redrive", "--queue", "to-sap"]).output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TO_SAP_QUEUE_URL is not set"), "{stderr}");
    Ok(())
}

/// #16 item 7: `b1force status` as a process against AWS (moto), settings from the environment only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1force_status_shows_depths_watermarks_failures_and_configuration_errors_on_one_screen() -> anyhow::Result<()>
{
    use shared::domain::state::Watermark;
    use shared::ports::SyncState;
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    moto.create_sync_state_table("b1force-sync-state").await?;
    let (to_sap, to_sap_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    let (to_sf, to_sf_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    let sync_state = shared::aws::DynamoSyncState::new(moto.dynamodb().await, "b1force-sync-state".into());
    let mark = Watermark { date: "2026-12-06".into(), time: "23:55:01".into(), key: "C20000".into(), doc_entry: None };
    assert!(sync_state.advance_watermark("BusinessPartners", &mark).await?);
    let payments = Watermark { date: String::new(), time: String::new(), key: String::new(), doc_entry: Some(42) };
    assert!(sync_state.advance_watermark("IncomingPayments", &payments).await?);
    let work = SqsQueue::new(moto.sqs().await, to_sf.clone());
    dead_letter(&work, 3).await;
    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    let now = SystemClock.now_millis();
    audit.record(&entry(1, now - 5 * 3_600_000, Outcome::DeadLettered)).await?;
    let held = AuditEntry {
        error_class: Some(ErrorClass::Configuration),
        error_code: Some("LOGIN_REFUSED".into()),
        ..entry(2, now - 60_000, Outcome::Retrying)
    };
    audit.record(&held).await?;
    let polled_at = now - 90_000;
    sync_state.record_caught_up("BusinessPartners", polled_at).await?;
    let run = AuditEntry::action_done(
        shared::flows::f8_reconcile::RECONCILE_RECORD.into(),
        now - 7_200_000,
        "recon-1".into(),
        Direction::SapToSf,
        AuditAction::Reconcile,
        Some("2026-12-01 to 2026-12-06: 3 exception(s), report s3://reports/r.html".into()),
    );
    audit.record(&run).await?;
    // What SQS publishes each minute (sent with boto3); the status reads the newest datapoint of the last 15 minutes.
    put_queue_age(&moto, "b1force-to-salesforce.fifo", 42.0)?;

    let run = |extra: &[(&str, &str)], json: bool| {
        let mut command = stack_command(&moto, [&to_sap, &to_sap_dlq, &to_sf, &to_sf_dlq]);
        command.envs(extra.iter().copied()).arg("status");
        if json {
            command.arg("--json");
        }
        command.output()
    };
    let out = run(&[], false)?;
    let text = String::from_utf8(out.stdout)?;
    assert!(!out.status.success(), "a held record needs a person: exit 1\n{text}");
    assert!(text.lines().count() <= 40 && text.lines().all(|l| l.chars().count() <= 160), "one screen:\n{text}");
    let line = |start: &str| line_of(&text, start);
    assert!(line("to-salesforce.fifo").ends_with(" 3  oldest 42 s"), "{text}");
    assert!(line("to-sap.fifo").ends_with(" 0"), "no datapoint, no age: {text}");
    assert!(line("to-sap DLQ").ends_with(" 0"), "{text}");
    assert!(line("BusinessPartners").contains("2026-12-06 23:55:01 C20000"), "{text}");
    let complete_run = format!("(complete run {})", shared::domain::rfc3339_millis(polled_at));
    assert!(line("BusinessPartners").ends_with(&complete_run), "{text}");
    assert!(line("last reconciliation:").ends_with("3 exception(s), report s3://reports/r.html"), "{text}");
    assert!(line("IncomingPayments").contains("DocEntry 42"), "{text}");
    assert!(line("Invoices").contains("not polled yet") && line("Stock").contains("scanned"), "{text}");
    assert!(text.contains("failures, last 24 h: 2 attempt(s) of 2 record(s)"), "{text}");
    assert!(line("newest:").contains("LOGIN_REFUSED"), "{text}");
    assert!(text.contains("configuration errors, last hour: 1 record(s) held"), "{text}");
    assert!(text.contains("Salesforce API: not read"), "{text}");

    let out = run(&[], true)?;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        status["queues"][2],
        serde_json::json!({"name": "to-salesforce.fifo", "depth": {"Ok": 3}, "dead_letters": false, "oldest_age_secs": {"Ok": 42.0}})
    );
    assert_eq!(status["failures"]["Ok"]["configuration_last_hour"], 1);

    // A queue that is not there is reported in its place; the rest still shows.
    let out = run(&[("TO_SAP_DLQ_URL", &format!("{}-gone", to_sap_dlq.trim_end_matches(".fifo")))], false)?;
    let text = String::from_utf8(out.stdout)?;
    assert!(line_of(&text, "to-sap DLQ").contains("unreadable"), "{text}");
    assert!(line_of(&text, "BusinessPartners").contains("C20000"), "{text}");
    Ok(())
}

fn line_of(text: &str, start: &str) -> String {
    text.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_default().to_string()
}

/// An `AWS/SQS` `ApproximateAgeOfOldestMessage` datapoint for `queue` half a minute ago (SQS publishes
/// each minute), put with boto3.
fn put_queue_age(moto: &MotoServer, queue: &str, seconds: f64) -> anyhow::Result<()> {
    let script = "import boto3, datetime, sys\n\
        boto3.client('cloudwatch', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='t',\n\
        aws_secret_access_key='t').put_metric_data(Namespace='AWS/SQS', MetricData=[{'MetricName':\n\
        'ApproximateAgeOfOldestMessage', 'Dimensions': [{'Name': 'QueueName', 'Value': sys.argv[2]}],\n\
        'Value': float(sys.argv[3]), 'Timestamp': datetime.datetime.now(datetime.timezone.utc)\n\
        - datetime.timedelta(seconds=30)}])\n";
    let out = Command::new("python3").args(["-c", script, &moto.endpoint(), queue, &seconds.to_string()]).output()?;
    anyhow::ensure!(out.status.success(), "put_metric_data: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// The stack's triggers made and read with boto3 (`tests/python/moto_triggers.py`), not our SDK.
fn triggers(
    command: &str,
    moto: &MotoServer,
    stack: &str,
    to_sap: &str,
    wake: &str,
) -> anyhow::Result<serde_json::Value> {
    let script = format!("{}/python/moto_triggers.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3").args([&script, command, &moto.endpoint(), stack, to_sap, wake]).output()?;
    anyhow::ensure!(out.status.success(), "{script} {command}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(if command == "read" { serde_json::from_slice(&out.stdout)? } else { serde_json::Value::Null })
}

/// #16 item 2: `b1force pause` / `resume` as processes against moto: every schedule of the stack and both
/// SQS mappings switched, nothing else changed in a schedule's definition, another stack whose name
/// starts the same left alone, `status` saying which, a repeat changing nothing, both audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1force_pause_and_resume_switch_the_stacks_schedules_and_mappings_and_nothing_else() -> anyhow::Result<()> {
    let moto = MotoServer::start().await?;
    moto.create_audit_table(AUDIT_TABLE).await?;
    moto.create_sync_state_table("b1force-sync-state").await?;
    let (to_sap, to_sap_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    let (to_sf, to_sf_dlq) = moto.create_fifo_queue_with_dlq("b1force-to-salesforce", 5).await?;
    let standard = |name: &'static str| {
        let moto = &moto;
        async move {
            let created = moto.sqs().await.create_queue().queue_name(name).send().await?;
            anyhow::Ok(created.queue_url.unwrap_or_default())
        }
    };
    let wake = standard("b1force-sf-writer-wake").await?;
    triggers("create", &moto, "b1force", &to_sap, &wake)?;
    // A second stack named with the first one's name as prefix (its own queues): never touched.
    let (other_to_sap, _) = moto.create_fifo_queue_with_dlq("staging-to-sap", 5).await?;
    let other_wake = standard("staging-sf-writer-wake").await?;
    triggers("create", &moto, "b1force-staging", &other_to_sap, &other_wake)?;
    let before = triggers("read", &moto, "b1force", &to_sap, &wake)?;

    let b1force_with = |args: &[&str]| {
        stack_command(&moto, [&to_sap, &to_sap_dlq, &to_sf, &to_sf_dlq])
            .env("B1FORCE_STACK", "b1force")
            .env("B1FORCE_OPERATOR", "ops@example.com")
            .env("SF_WRITER_WAKE_QUEUE_URL", &wake)
            .args(args)
            .output()
    };
    let states = |read: &serde_json::Value| -> (Vec<String>, Vec<String>) {
        let schedules =
            read["schedules"].as_object().unwrap().values().map(|s| s["State"].as_str().unwrap().to_string());
        let mappings = read["mappings"].as_array().unwrap().iter().map(|m| m["State"].as_str().unwrap().to_string());
        (schedules.collect(), mappings.collect())
    };

    let out = b1force_with(&["pause", "--reason", "SAP upgrade tonight"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    assert!(text.starts_with("paused: 16 changed, 0 already paused"), "{text}");
    let paused = triggers("read", &moto, "b1force", &to_sap, &wake)?;
    assert_eq!(states(&paused), (vec!["DISABLED".to_string(); 14], vec!["Disabled".to_string(); 2]));
    for (name, schedule) in before["schedules"].as_object().unwrap() {
        let mut expected = schedule.clone();
        expected["State"] = "DISABLED".into();
        assert_eq!(paused["schedules"][name], expected, "only the state of {name} changed");
    }
    let other = triggers("read", &moto, "b1force-staging", &other_to_sap, &other_wake)?;
    assert_eq!(states(&other), (vec!["ENABLED".to_string(); 14], vec!["Enabled".to_string(); 2]));

    let out = b1force_with(&["status"])?;
    let text = String::from_utf8(out.stdout)?;
    assert!(line_of(&text, "sync:").contains("paused (16 schedules and mappings off"), "{text}");
    let out = b1force_with(&["pause", "--reason", "again"])?;
    assert!(String::from_utf8(out.stdout)?.starts_with("paused: 0 changed, 16 already paused"));

    let out = b1force_with(&["resume", "--reason", "upgrade done"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let resumed = triggers("read", &moto, "b1force", &to_sap, &wake)?;
    assert_eq!(resumed, before, "resumed as it was");
    let out = b1force_with(&["status", "--json"])?;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(status["sync"]["Ok"], "running (16 schedules and mappings on)");

    let audit = DynamoAudit::new(moto.dynamodb().await, AUDIT_TABLE.into(), None);
    let trail = audit.for_record(b1force_cli::operations::pause::SYNC_RECORD).await?;
    let actions: Vec<_> = trail.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::Pause, AuditAction::Pause, AuditAction::Resume]);
    let why = trail[0].source_version.clone().unwrap_or_default();
    assert!(why.contains("ops@example.com") && why.contains("SAP upgrade tonight"), "{why}");
    Ok(())
}
