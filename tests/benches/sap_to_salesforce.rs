//! Benchmark: N business partners and N invoices changed in the SAP sandbox, polled and written to
//! the Salesforce sandbox (real HTTP both ways, embedded queue/audit/state). Prints records/s,
//! Salesforce write calls per entity against the ⌈N/200⌉ bound, SAP reads, and peak RSS.
//!
//! `cargo bench -p b1force-tests --bench sap_to_salesforce` (N from `B1FORCE_BENCH_RECORDS`, default 100000).

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
    let n: usize = std::env::var("B1FORCE_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let stack = LocalStack::start(LocalOptions::default()).await?;
        // Everything seeded is synced first, so the measured run sees only the N + N new changes.
        stack.sync_from_sap(SfWriterSettings::default()).await?;
        let codes = stack.sap_sandbox.seed_changed_business_partners(n);
        stack.sap_sandbox.seed_changed_invoices(n, &codes);
        let (sap_before, sf_before) = (stack.sap_sandbox.calls().snapshot(), stack.sf_sandbox.calls().snapshot());
        let started = Instant::now();
        let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await?;
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
        println!("SAP -> Salesforce benchmark: {n} business partners + {n} invoices changed in SAP");
        for poll in polls.iter().filter(|p| p.rows_read > 0) {
            println!("  polled {:<18} {} rows in {} pages", poll.entity, poll.rows_read, poll.pages);
        }
        println!("  writer                  {}", serde_json::to_string(&run)?);
        println!("  elapsed                 {} ms", elapsed.as_millis());
        println!("  throughput              {per_sec:.0} records/s (poll + fetch + map + write)");
        println!("  SF write calls          Account {accounts} (bound 2 × ⌈N/200⌉: partners, payment standings), SAP_Invoice__c {invoices} (bound ⌈N/200⌉ = {bound})");
        println!("  SF calls per 1,000 rec  {:.2} writes", sf_writes as f64 * 1000.0 / records as f64);
        println!("  SAP reads per 1,000 rec {:.2}", sap_reads as f64 * 1000.0 / records as f64);
        println!("  SAP calls by endpoint   {sap:?}");
        println!("  SF calls by endpoint    {sf:?}");
        println!("  peak RSS                {:.1} MiB (whole process: both sandboxes, clients, embedded backends)", peak_rss_mib());
        // Accounts are written twice over: the partners, then each invoice's customer's payment
        // standing (#14 item 6), each batched 200 per call.
        let within_bound = accounts <= 2 * bound + 2 && invoices <= bound + 2;
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
