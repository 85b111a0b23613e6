//! Benchmark (#17): a first load of SAP history — `B1FORCE_BENCH_PARTNERS` business partners
//! (default 100,000) and `B1FORCE_BENCH_INVOICES` invoices (default 1,000,000) — through
//! `b1force backfill`'s engine into Salesforce Bulk API 2.0 jobs. Prints Salesforce API calls
//! (target ≤ 50 for a million invoices; sObject Collections would need one per 200), records/s,
//! SAP reads per 1,000 records, and the peak RSS of the writing process alone: both sandboxes run in
//! a child process (this binary started again with `B1FORCE_BENCH_ROLE=sandboxes`), over real HTTP.
//!
//! `cargo bench -p b1force-tests --bench backfill`; CI runs it with 20,000 partners and 200,000 invoices.

use b1force_cli::local::{salesforce_config, sap_config};
use e2e::peak_rss_mib;
use secrecy::SecretString;
use shared::config::{SalesforceConfig, SapConfig};
use shared::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSyncState};
use shared::engine::backfill::{Backfill, BackfillReport, BackfillSettings};
use shared::mapping::file::MappingFile;
use shared::ports::{Clock, SystemClock};
use shared::salesforce::SalesforceClient;
use shared::sap::SapClient;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const ROLE: &str = "B1FORCE_BENCH_ROLE";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if std::env::var(ROLE).as_deref() == Ok("sandboxes") {
        return runtime.block_on(serve_sandboxes());
    }
    let (partners, invoices) =
        (setting("B1FORCE_BENCH_PARTNERS", 100_000), setting("B1FORCE_BENCH_INVOICES", 1_000_000));
    let seeding = Instant::now();
    let (mut child, settings) = start_sandboxes(partners, invoices)?;
    let seeded_in = seeding.elapsed();
    let outcome = runtime.block_on(measure(partners, invoices, &settings));
    let sandbox_rss = rss_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let (figures, ok) = outcome?;
    println!("Backfill benchmark: {partners} business partners + {invoices} invoices of SAP history");
    println!("  sandboxes seeded in     {} ms (child process, peak RSS {sandbox_rss:.0} MiB)", seeded_in.as_millis());
    print!("{figures}");
    anyhow::ensure!(ok, "the backfill lost records or missed its call target");
    Ok(())
}

/// The child: both sandboxes seeded, their settings announced on stdout, then served until killed.
async fn serve_sandboxes() -> anyhow::Result<()> {
    let sap = sandbox::SapSandbox::start(sandbox::SapOptions::default()).await?;
    let sf = sandbox::SalesforceSandbox::start(sandbox::SalesforceOptions::default()).await?;
    let codes = sap.seed_changed_business_partners(setting("B1FORCE_BENCH_PARTNERS", 100_000));
    sap.seed_changed_invoices(setting("B1FORCE_BENCH_INVOICES", 1_000_000), &codes);
    let (sap, sf) = (sap_config(&sap), salesforce_config(&sf));
    println!("SAP_URL={}\nSAP_COMPANY_DB={}\nSAP_USER={}", sap.base_url, sap.company_db, sap.user);
    println!("SAP_PASSWORD={}", secrecy::ExposeSecret::expose_secret(&sap.password));
    println!("SF_LOGIN_URL={}\nSF_CLIENT_ID={}", sf.login_url, sf.client_id);
    println!("SF_CLIENT_SECRET={}\nREADY", secrecy::ExposeSecret::expose_secret(&sf.client_secret));
    std::future::pending::<()>().await;
    Ok(())
}

fn start_sandboxes(partners: usize, invoices: usize) -> anyhow::Result<(Child, HashMap<String, String>)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE, "sandboxes")
        .env("B1FORCE_BENCH_PARTNERS", partners.to_string())
        .env("B1FORCE_BENCH_INVOICES", invoices.to_string())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut settings = HashMap::new();
    let stdout = child.stdout.take().expect("piped");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line == "READY" {
            return Ok((child, settings));
        }
        if let Some((key, value)) = line.split_once('=') {
            settings.insert(key.to_string(), value.to_string());
        }
    }
    anyhow::bail!("the sandbox process ended before it was ready")
}

/// Peak RSS of another process (MiB).
fn rss_of(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1));
    kb.and_then(|kb| kb.parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs both backfills in this process; the printed figures and whether the targets were met.
async fn measure(
    partners: usize,
    invoices: usize,
    settings: &HashMap<String, String>,
) -> anyhow::Result<(String, bool)> {
    let get = |key: &str| settings.get(key).cloned().unwrap_or_default();
    let sap = Arc::new(SapClient::new(SapConfig {
        base_url: get("SAP_URL"),
        company_db: get("SAP_COMPANY_DB"),
        user: get("SAP_USER"),
        password: SecretString::from(get("SAP_PASSWORD")),
        ca_bundle_pem: None,
        order_reference_udf: Some("U_SF_OpportunityId".into()),
        page_size: 5000,
        timeout_secs: 120,
    })?);
    let salesforce = Arc::new(SalesforceClient::new(SalesforceConfig {
        login_url: get("SF_LOGIN_URL"),
        client_id: get("SF_CLIENT_ID"),
        client_secret: SecretString::from(get("SF_CLIENT_SECRET")),
        api_version: "63.0".into(),
        call_options_client: shared::ECHO_CLIENT_TAG.into(),
        timeout_secs: 300,
        bulk_threshold: shared::config::DEFAULT_BULK_THRESHOLD,
        bulk_wait_secs: 1800,
    })?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let queue = |name: &str| {
        let options = EmbeddedQueueOptions { visibility_timeout_secs: 900, max_receive_count: None, dead_letter: None };
        Arc::new(EmbeddedQueue::new(name, options, clock.clone()))
    };
    let (to_salesforce, dead_letters) = (queue("to-salesforce.fifo"), queue("to-salesforce-dlq.fifo"));
    let backfill = Backfill {
        sap: sap.clone(),
        bulk: salesforce.clone(),
        queue: to_salesforce.clone(),
        dead_letters: dead_letters.clone(),
        audit: Arc::new(EmbeddedAudit::new()),
        state: Arc::new(EmbeddedSyncState::new()),
        mapping: Arc::new(MappingFile::shipped()),
        clock,
        settings: BackfillSettings::default(),
    };
    let mut out = String::new();
    let mut ok = true;
    for (entity, seeded) in [("BusinessPartners", partners), ("Invoices", invoices)] {
        let (sap_before, sf_before) = (sap.stats(), salesforce.stats());
        let started = Instant::now();
        let report: BackfillReport =
            backfill.run(entity, "2000-01-01", &format!("bench-{entity}"), &mut |_| {}).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let sap_reads = sap.stats().requests - sap_before.requests;
        let sf_calls = (salesforce.stats().requests + salesforce.stats().token_requests)
            - (sf_before.requests + sf_before.token_requests);
        let rows = report.rows_read.max(1) as f64;
        out += &format!(
            "  {entity:<17} {} rows read, {} written, {} dead-lettered, {} retried, {} follow-ups\n",
            report.rows_read, report.written, report.dead_lettered, report.retried, report.follow_ups
        );
        out += &format!(
            "    Salesforce calls      {sf_calls} ({} Bulk API jobs, {:.1} MB of CSV); Collections would need ≥ {}\n",
            report.jobs,
            report.csv_bytes as f64 / 1e6,
            report.rows_read.div_ceil(200)
        );
        out += &format!("    throughput            {:.0} records/s ({elapsed:.1} s)\n", rows / elapsed);
        out += &format!("    SAP reads per 1,000   {:.2} ({sap_reads} reads)\n", sap_reads as f64 * 1000.0 / rows);
        ok &=
            report.complete && report.written + report.skipped == report.rows_read && report.rows_read >= seeded as u64;
        if entity == "Invoices" {
            // ≤ 50 calls for a million invoices: the target scales with the rows.
            let target = (50.0 * rows / 1_000_000.0).ceil().max(12.0) as u64;
            out += &format!("    call target           ≤ {target}: {}\n", sf_calls <= target);
            ok &= sf_calls <= target;
        }
    }
    out +=
        &format!("  follow-ups queued       {} (one invoice per customer, for the sf-writer)\n", to_salesforce.len());
    out += &format!("  dead letters            {}\n", dead_letters.len());
    let rss = peak_rss_mib();
    out += &format!("  peak RSS (writer only)  {rss:.1} MiB (target < 256 MiB: {})\n", rss < 256.0);
    ok &= dead_letters.is_empty();
    Ok((out, ok))
}
