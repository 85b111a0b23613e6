//! The `b1force` command line: demo, invoke, sandbox, check and setup, and the operator commands
//! `dlq`, `replay` and `audit`, which run against AWS (the SDK's profile and region, the stack's
//! queue URLs and audit table from the environment; see [`ops`]).
#![forbid(unsafe_code)]

pub mod audit_cmd;
pub mod check;
pub mod demo;
pub mod dlq;
pub mod invoke;
pub mod link_cmd;
pub mod local;
pub mod mapping_cmd;
pub mod operations;
pub mod ops;
pub mod pause_cmd;
pub mod preflight;
pub mod reconcile;
pub mod replay;
pub mod sandbox_cmd;
pub mod sap_setup;
pub mod setup;
pub mod status_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// B1Force: SAP Business One ⇄ Salesforce, serverless.
#[derive(Debug, Parser)]
#[command(name = "b1force", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline in one process on embedded backends and built-in sandboxes.
    Demo {
        /// Print one JSON object instead of a human summary.
        #[arg(long)]
        json: bool,
        /// How many Closed Won opportunities to create and sync.
        #[arg(long, default_value_t = 25)]
        opportunities: usize,
        /// How many times each CDC event is delivered (at-least-once delivery).
        #[arg(long, default_value_t = 2)]
        deliveries: usize,
    },
    /// Run one Lambda handler locally on an event file and print its result.
    Invoke {
        /// `sf-receiver`, `sap-writer`, `sap-poller`, `sf-writer`, `sap-webhook` or `reconciler`.
        function: String,
        /// The event JSON (see events/).
        #[arg(long)]
        event: PathBuf,
    },
    /// Validate a mapping file (the shipped defaults when no file is given); exits non-zero with FILE:LINE:COL reasons.
    /// Then the live preflight against SAP and Salesforce with their settings (SAP_*, SF_*), writing
    /// nothing: each function's queries, the UDFs, the time zone, every mapped Salesforce field; one
    /// line per check with the fix when it fails; exits non-zero when a check fails.
    Check {
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Check against in-process SAP and Salesforce sandboxes instead of the configured systems.
        #[arg(long)]
        sandbox: bool,
        /// One JSON document (mapping, findings) instead of lines.
        #[arg(long)]
        json: bool,
        /// Fail when a system is not configured, too.
        #[arg(long)]
        strict: bool,
    },
    /// The dead-letter queues: list, show, redrive (AWS: TO_SAP_QUEUE_URL, TO_SAP_DLQ_URL,
    /// TO_SALESFORCE_QUEUE_URL, TO_SALESFORCE_DLQ_URL, AUDIT_TABLE).
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Re-enqueue a record (e.g. sf:Opportunity:006…, sap:BusinessPartners:C20000) from its audit trail;
    /// the writer fetches its current state, so a replay converges.
    Replay {
        record: String,
        /// Enqueue even when the record has no audit trail.
        #[arg(long)]
        force: bool,
    },
    /// A record's every attempt (oldest first), or failed attempts since a time (newest first).
    Audit {
        /// A record key, e.g. sf:Opportunity:006SM0000001Tb3YAE.
        record: Option<String>,
        /// Failed attempts (retrying, dead_lettered, rejected) of all records.
        #[arg(long)]
        failures: bool,
        /// With --failures: RFC 3339 (2026-11-25T08:00:00Z) or a duration back from now (90m, 24h, 7d); default 24h.
        #[arg(long)]
        since: Option<String>,
        /// With --failures: at most this many, newest first.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create what the sync needs in a system, idempotently; `sap`: the user-defined fields, through the
    /// Service Layer named by SAP_URL (an in-process sandbox when no SAP_* setting is present).
    Setup {
        target: setup::Target,
        /// Print what would be created and create nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare SAP and Salesforce for a period (F8): against AWS when REPORTS_BUCKET is set (with the
    /// reconciler Lambda's settings), otherwise on the local sandboxes with the report written to --out.
    Reconcile {
        /// month_to_date, previous_month or yesterday.
        #[arg(long, default_value = "month_to_date", conflicts_with_all = ["from", "to"])]
        period: String,
        /// First day (YYYY-MM-DD), with --to.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), with --from.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Re-enqueue the differing records.
        #[arg(long)]
        repair: bool,
        /// The local run's report folder.
        #[arg(long, default_value = "./reconciliation-report/")]
        out: PathBuf,
    },
    /// Sync again from a date: `--entity Invoices` (SAP → Salesforce: reads the rows changed since under
    /// its own watermark, beside the schedules; run it again with the same date to resume) or
    /// `--object Opportunity` (Salesforce → SAP: one whole-object notification the sap-writer fans out).
    /// Settings as the sap-poller's (SAP_*, TO_SALESFORCE_QUEUE_URL, TO_SALESFORCE_DLQ_URL,
    /// SYNC_STATE_TABLE, AUDIT_TABLE) or TO_SAP_QUEUE_URL and AUDIT_TABLE. Progress on stderr.
    Resync {
        /// A polled SAP entity: BusinessPartners, Items, Orders, DeliveryNotes, Invoices, CreditNotes, IncomingPayments.
        #[arg(long, conflicts_with = "object", required_unless_present = "object")]
        entity: Option<String>,
        /// A Salesforce object the sap-writer handles: Opportunity, Account, Contact, Lead, Case.
        #[arg(long)]
        object: Option<String>,
        /// First day (YYYY-MM-DD) whose changes are synced again.
        #[arg(long)]
        since: String,
    },
    /// Load an SAP entity's history into Salesforce through Bulk API 2.0 jobs (BusinessPartners or
    /// Invoices changed since a date): a few API calls per 100 MB of rows instead of one per 200
    /// records. Failed rows are audited and dead-lettered (permanent) or queued for the sf-writer;
    /// run it again with the same date to resume after a kill. Settings as the sf-writer's, plus
    /// BACKFILL_PAGE_SIZE (5000) and BACKFILL_JOB_MB (100). Progress on stderr, the report on stdout.
    Backfill {
        /// BusinessPartners or Invoices (load partners first, so invoices find their accounts).
        #[arg(long)]
        entity: String,
        /// First day (YYYY-MM-DD) of the history loaded.
        #[arg(long)]
        since: String,
    },
    /// Match the accounts and business partners that already exist on both sides before the first
    /// sync (#17): a review (link-review.json/.csv/.html in --out) of pairs matched by the mapping's
    /// F2 link_rules, ambiguous and conflicting cases, and records on one side only. Dry run unless
    /// --apply, which writes SAP_CardCode__c and U_SF_AccountId where a side names nothing yet
    /// (never overwriting, merging or deleting), audited per record (AUDIT_TABLE). SAP_*, SF_*.
    Link {
        /// `accounts` (⇄ business partners, F2's link_rules) or `products` (⇄ items, F7's; only the
        /// product's SAP_ItemCode__c is written).
        #[arg(long, default_value = "accounts")]
        records: String,
        /// Write the links.
        #[arg(long)]
        apply: bool,
        /// A corrected link-review.csv: the rows whose decision is `link` are the pairs linked.
        #[arg(long)]
        decisions: Option<PathBuf>,
        /// The review folder.
        #[arg(long, default_value = "./link-review/")]
        out: PathBuf,
        /// In-process sandboxes instead of the configured systems.
        #[arg(long)]
        sandbox: bool,
    },
    /// One screen: queue and DLQ depths, SAP watermarks, failures of the last 24 h, configuration errors,
    /// Salesforce API headroom (the stack's queue URLs, SYNC_STATE_TABLE, AUDIT_TABLE; SF_* optional).
    /// Exits 1 when something needs a person.
    Status {
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop the stack's sync without a stack update: every schedule and both SQS event source mappings
    /// off; receivers keep queueing (B1FORCE_STACK, TO_SAP_QUEUE_URL, SF_WRITER_WAKE_QUEUE_URL,
    /// AUDIT_TABLE). Audited with --reason and B1FORCE_OPERATOR (or USER).
    Pause {
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
    },
    /// Turn the stack's schedules and event source mappings back on (settings as for pause).
    Resume {
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
    },
    /// The mapping file published in S3 for the functions (MAPPING_S3_URI: the stack's MappingUri output).
    Mapping {
        #[command(subcommand)]
        command: mapping_cmd::MappingCommand,
    },
    /// Serve the SAP and Salesforce sandboxes on 127.0.0.1 until killed.
    Sandbox {
        #[arg(long, default_value_t = 50000)]
        sap_port: u16,
        #[arg(long, default_value_t = 8443)]
        sf_port: u16,
    },
}

/// `b1force resync` against AWS with the functions' settings.
async fn resync_on_aws(
    entity: Option<String>,
    object: Option<String>,
    since: &str,
    src: &dyn shared::config::Source,
) -> anyhow::Result<()> {
    use operations::resync_cmd;
    use shared::ports::{Clock, SystemClock};
    let run_id = format!("resync-{}", SystemClock.now_millis());
    let sdk = shared::aws::sdk_config().await;
    if let Some(object) = object {
        let queue = ops::work_queue(src, operations::Route::ToSap).await?;
        let audit = ops::audit_table(src).await?;
        let note = resync_cmd::salesforce_to_sap(&queue, &audit, &SystemClock, &object, since, &run_id).await?;
        println!("enqueued {} (changed since {since}); the sap-writer re-reads each record", note.record);
        return Ok(());
    }
    let entity = entity.expect("clap requires --entity or --object");
    let (poller, _) = shared::wiring::sap_poller_counted(&sdk, src).await?;
    let report = resync_cmd::sap_to_salesforce(poller, &entity, since, &run_id, &mut |run| {
        eprintln!(
            "{entity}: {} page(s), {} row(s) read, {} enqueued, at {:?}",
            run.pages, run.rows_read, run.enqueued, run.watermark_after
        )
    })
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// `b1force backfill` against AWS with the sf-writer's settings.
async fn backfill_on_aws(entity: &str, since: &str, src: &dyn shared::config::Source) -> anyhow::Result<()> {
    use shared::ports::{Clock, SystemClock};
    let run_id = format!("backfill-{}", SystemClock.now_millis());
    let sdk = shared::aws::sdk_config().await;
    let (backfill, clients) = shared::wiring::backfill(&sdk, src).await?;
    let report = backfill
        .run(entity, since, &run_id, &mut |so_far| {
            eprintln!(
                "{entity}: {} row(s) read, {} written, {} job(s), {} dead-lettered, {} retried",
                so_far.rows_read, so_far.written, so_far.jobs, so_far.dead_lettered, so_far.retried
            )
        })
        .await?;
    let calls = clients.sent();
    let calls = serde_json::json!({"sap": calls.sap, "salesforce": calls.salesforce});
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"report": report, "api_calls": calls}))?);
    Ok(())
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { json, opportunities, deliveries } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let report = demo::run(demo::DemoOptions { opportunities, deliveries }).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.human());
            }
            Ok(())
        }
        Command::Invoke { function, event } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "info");
            let output = invoke::run(&function, &event).await?;
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(())
        }
        Command::Check { mapping, sandbox, json, strict } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let options = check::CheckOptions { json, strict };
            check::run(mapping.as_deref(), sandbox, options, &shared::config::Env, &mut std::io::stdout())
                .await
                .map(|_| ())
        }
        Command::Dlq { command } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            dlq::run_on_aws(command, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Replay { record, force } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            replay::run_on_aws(&record, force, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Audit { record, failures, since, limit, json } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let query = audit_cmd::AuditQuery::from_args(record.as_deref(), failures, since, limit)?;
            audit_cmd::run_on_aws(&query, json, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Setup { target: setup::Target::Sap, dry_run } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            setup::run_sap(&shared::config::Env, dry_run, &mut std::io::stdout()).await.map(|_| ())
        }
        Command::Reconcile { period, from, to, repair, out } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let options = reconcile::ReconcileOptions { period: Some(period), from, to, repair, out };
            let summary = reconcile::run(&options).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Command::Resync { entity, object, since } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            resync_on_aws(entity, object, &since, &shared::config::Env).await
        }
        Command::Link { records, apply, decisions, out, sandbox } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let options = link_cmd::LinkOptions { records, apply, decisions, out, sandbox };
            let review = link_cmd::run(&options, &shared::config::Env, &mut std::io::stdout()).await?;
            let failed = review.applied.map_or(0, |a| a.failed.len());
            anyhow::ensure!(failed == 0, "{failed} link(s) could not be written (see the review and the audit trail)");
            Ok(())
        }
        Command::Backfill { entity, since } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            backfill_on_aws(&entity, &since, &shared::config::Env).await
        }
        Command::Status { json } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            status_cmd::run_on_aws(json, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Pause { reason } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            pause_cmd::run_on_aws(false, &reason, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Resume { reason } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            pause_cmd::run_on_aws(true, &reason, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Mapping { command } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            mapping_cmd::run_on_aws(command, &shared::config::Env, &mut std::io::stdout()).await
        }
        Command::Sandbox { sap_port, sf_port } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "info");
            sandbox_cmd::run(sap_port, sf_port).await
        }
    }
}
