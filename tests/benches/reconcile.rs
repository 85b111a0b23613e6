//! Benchmark: F8 over N business partners and N invoices present on both sides, with a few planted
//! amount drifts. Prints the calls per side against the page bound, records compared per second and
//! peak RSS; fails when the reads are not bulk or the planted drifts are not found exactly.
//!
//! `cargo bench -p b1force-tests --bench reconcile` (N from `B1FORCE_BENCH_RECORDS`, default 50000).

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::peak_rss_mib;
use serde_json::json;
use shared::embedded::{EmbeddedNotifier, LocalReports};
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use shared::flows::f8_reconcile::{ExceptionKind, Period, ReconRequest};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

/// Invoices whose Salesforce amount is edited before the run.
const PLANTED: usize = 10;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("B1FORCE_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let stack = LocalStack::start(LocalOptions::default()).await?;
        let codes = stack.sap_sandbox.seed_changed_business_partners(n);
        stack.sap_sandbox.seed_changed_invoices(n, &codes);
        // The seed's Closed Won deals get their orders first, as the sap-writer would have made
        // them, so that the first sync reads the customers' open order balances with the orders in
        // them: an order leaves its partner's UpdateDate alone, so a later poll would not see the
        // balance move (a gap the reconciler reports as field_drift and repairs; README).
        e2e::pipeline::sync_won_opportunities(&stack).await?;
        let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await?;
        anyhow::ensure!(run.stopped == Stop::QueueEmpty && run.dead_lettered == 0, "the sync before the run failed: {}", serde_json::to_string(&run)?);
        // The Salesforce seed's product whose ItemCode SAP lacks is the one difference of the seed.
        let products = stack.sf_sandbox.records("Product2");
        if let Some(poison) = products.iter().find(|p| p["SAP_ItemCode__c"] == "Z99999") {
            stack.sf_sandbox.update_record("Product2", poison["Id"].as_str().unwrap_or_default(), json!({"SAP_ItemCode__c": null}))?;
        }
        let mut planted = BTreeSet::new();
        for invoice in stack.sf_sandbox.records("SAP_Invoice__c").iter().step_by(n.max(PLANTED) / PLANTED).take(PLANTED) {
            let amount = invoice["Amount__c"].as_f64().unwrap_or_default();
            stack.sf_sandbox.update_record("SAP_Invoice__c", invoice["Id"].as_str().unwrap_or_default(), json!({"Amount__c": amount + 1.0}))?;
            let key = invoice["SAP_Document_Key__c"].as_str().unwrap_or_default();
            planted.insert(key.trim_start_matches("Invoices/").to_string());
        }

        let out = tempfile::tempdir()?;
        let mut reconciler =
            stack.reconciler(Arc::new(LocalReports::new(out.path())), Arc::new(EmbeddedNotifier::new()));
        let clock = Instant::now();
        reconciler.progress = Some(Arc::new(move |step: &str| println!("  {:>6} ms  {step}", clock.elapsed().as_millis())));
        let period = Period { from: "2000-01-01".into(), to: "2099-12-31".into() };
        let started = Instant::now();
        let outcome = reconciler.run(&ReconRequest { period, repair: false }).await?;
        let elapsed = started.elapsed();

        let report = &outcome.report;
        let compared: u64 = report.totals.iter().filter(|t| !t.entity.contains('.')).map(|t| t.sap_count + t.salesforce_count).sum();
        let pages = |rows: u64, size: u64| rows / size + 1;
        let sap_rows: u64 = report.totals.iter().filter(|t| !t.entity.contains('.')).map(|t| t.sap_count).sum();
        let salesforce_rows: u64 = report.totals.iter().filter(|t| !t.entity.contains('.')).map(|t| t.salesforce_count).sum();
        let found: BTreeSet<String> = report
            .exceptions
            .iter()
            .filter(|e| e.kind == ExceptionKind::AmountDrift && e.entity == "Invoices")
            .map(|e| e.sap_key.clone())
            .collect();
        println!("F8 reconciliation benchmark: {n} business partners + {n} invoices on both sides, {PLANTED} amount drifts planted");
        for t in &report.totals {
            println!("  {:<22} SAP {:>7}  Salesforce {:>7}", t.entity, t.sap_count, t.salesforce_count);
        }
        println!("  elapsed                 {} ms", elapsed.as_millis());
        println!("  throughput              {:.0} records compared/s (both sides read, compared, report written)", compared as f64 / elapsed.as_secs_f64());
        println!("  SAP calls               {} for {sap_rows} rows ({:.2} per 1,000)", report.sap_calls, report.sap_calls as f64 * 1000.0 / sap_rows as f64);
        println!("  Salesforce calls        {} for {salesforce_rows} records ({:.2} per 1,000)", report.salesforce_calls, report.salesforce_calls as f64 * 1000.0 / salesforce_rows as f64);
        println!("  exceptions              {} ({} planted drifts found)", report.exceptions.len(), found.intersection(&planted).count());
        println!("  peak RSS                {:.1} MiB (whole process: both sandboxes, clients, embedded backends)", peak_rss_mib());
        // Bulk: at least a hundred rows per SAP call and per Salesforce call on average.
        let bulk = report.sap_calls <= pages(sap_rows, 100) + 10 && report.salesforce_calls <= pages(salesforce_rows, 100) + 10;
        let exact = found == planted && report.exceptions.len() == PLANTED;
        for unplanted in report.exceptions.iter().filter(|e| !(e.kind == ExceptionKind::AmountDrift && planted.contains(&e.sap_key))) {
            println!("  unplanted exception     {}", serde_json::to_string(unplanted).unwrap_or_default());
        }
        println!("  targets met             bulk reads: {bulk}; exactly the planted drifts: {exact}");
        anyhow::ensure!(bulk && exact, "the reconciliation benchmark read record by record or missed/invented differences");
        Ok(())
    })
}
