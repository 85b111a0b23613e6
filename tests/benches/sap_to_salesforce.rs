//! Benchmark: N business partners and N invoices changed in the SAP sandbox, polled and written to
//! the Salesforce sandbox (real HTTP both ways, embedded queue/audit/state). Prints records/s,
//! Salesforce write calls per entity against the ⌈N/200⌉ bound, SAP reads, and peak RSS.
//!
//! `cargo bench -p b1force-tests --bench sap_to_salesforce` (N from `B1FORCE_BENCH_RECORDS`, default 100000).
//!
//! With `B1FORCE_BENCH_ROUND_SIZE` at or above `SF_BULK_THRESHOLD` (2000) the sf-writer's rounds go
//! through Bulk API 2.0 jobs — the backfill set-up (#17): e.g. `B1FORCE_BENCH_ROUND_SIZE=200000`
//! writes each entity in one job per 100,000 records instead of one Collections call per 200.

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::peak_rss_mib;
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use std::collections::BTreeMap;
use std::time::Instant;

/// Calls per endpoint made since `before`.
fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after.iter().map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect()
}

fn main() -> anyhow::Result<()> {
    let setting = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let n = setting("B1FORCE_BENCH_RECORDS", 100_000);
    let settings =
        SfWriterSettings { round_size: setting("B1FORCE_BENCH_ROUND_SIZE", 1000), ..SfWriterSettings::default() };
    let bulk = settings.round_size >= shared::config::DEFAULT_BULK_THRESHOLD;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let stack = LocalStack::start(LocalOptions::default()).await?;
        // Everything seeded is synced first, so the measured run sees only the N + N new changes.
        stack.sync_from_sap(SfWriterSettings::default()).await?;
        let codes = stack.sap_sandbox.seed_changed_business_partners(n);
        stack.sap_sandbox.seed_changed_invoices(n, &codes);
        let (sap_before, sf_before) = (stack.sap_sandbox.calls().snapshot(), stack.sf_sandbox.calls().snapshot());
        let started = Instant::now();
        let (polls, run) = stack.sync_from_sap(settings.clone()).await?;
        let elapsed = started.elapsed();
        let sap = delta(&stack.sap_sandbox.calls().snapshot(), &sap_before);
        let sf = delta(&stack.sf_sandbox.calls().snapshot(), &sf_before);
        let records = 2 * n as u64;
        let per_sec = records as f64 / elapsed.as_secs_f64();
        let bound = n.div_ceil(200) as u64;
        let accounts = sf.get("PATCH composite/sobjects/Account").copied().unwrap_or(0);
        let invoices = sf.get("PATCH composite/sobjects/SAP_Invoice__c").copied().unwrap_or(0);
        let sf_writes: u64 = sf.iter().filter(|(k, _)| !k.starts_with("GET")).map(|(_, v)| v).sum();
        let sap_reads: u64 = sap.iter().filter(|(k, _)| k.starts_with("GET")).map(|(_, v)| v).sum();
        let mode = if bulk { "Bulk API 2.0 jobs" } else { "sObject Collections" };
        println!("SAP -> Salesforce benchmark: {n} business partners + {n} invoices changed in SAP");
        println!("  writer rounds           {} messages ({mode})", settings.round_size);
        for poll in polls.iter().filter(|p| p.rows_read > 0) {
            println!("  polled {:<18} {} rows in {} pages", poll.entity, poll.rows_read, poll.pages);
        }
        println!("  writer                  {}", serde_json::to_string(&run)?);
        println!("  elapsed                 {} ms", elapsed.as_millis());
        println!("  throughput              {per_sec:.0} records/s (poll + fetch + map + write)");
        let sf_calls: u64 = sf.values().sum();
        let jobs = sf.get("POST jobs/ingest").copied().unwrap_or(0);
        println!("  SF write calls          Account {accounts} (bound 2 × ⌈N/200⌉: partners, payment standings), SAP_Invoice__c {invoices} (bound ⌈N/200⌉ = {bound})");
        println!("  SF calls, all           {sf_calls} ({jobs} Bulk API jobs; Collections would need ≥ {})", 3 * bound);
        println!("  SF calls per 1,000 rec  {:.2} writes", sf_writes as f64 * 1000.0 / records as f64);
        println!("  SAP reads per 1,000 rec {:.2}", sap_reads as f64 * 1000.0 / records as f64);
        println!("  SAP calls by endpoint   {sap:?}");
        println!("  SF calls by endpoint    {sf:?}");
        println!("  peak RSS                {:.1} MiB (whole process: both sandboxes, clients, embedded backends)", peak_rss_mib());
        // Accounts are written twice over: the partners, then each invoice's customer's payment
        // standing (#14 item 6), each batched 200 per call.
        // Bulk: one job per entity written in a round (partners, invoices, payment standings), each
        // at most eight calls (create, upload, close, two or three polls, successful and failed results).
        let rounds = (3 * n).div_ceil(settings.round_size) as u64;
        let within_bound = if bulk {
            jobs <= 3 * rounds && sf_calls <= 8 * jobs + 2 * rounds
        } else {
            accounts <= 2 * bound + 2 && invoices <= bound + 2
        };
        let complete = run.stopped == Stop::QueueEmpty && run.written == records && run.dead_lettered == 0;
        println!("  targets met             writes within bound: {within_bound}; all written: {complete}; ≥ 10,000 records/s: {}", per_sec >= 10_000.0);
        if !complete {
            let mut reasons: Vec<String> = stack.audit.all().into_iter().filter_map(|e| e.error).collect();
            reasons.sort();
            reasons.dedup();
            println!("  failure reasons         {:?}", &reasons[..reasons.len().min(5)]);
        }
        anyhow::ensure!(within_bound && complete, "the SAP -> Salesforce benchmark missed its call bound or lost records");
        Ok(())
    })
}
