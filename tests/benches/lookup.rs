//! Benchmark: what the live lookup endpoint adds to the Service Layer's own latency, and what a
//! cache hit costs. The SAP sandbox answers with 20 ms of added latency, like a Service Layer over a VPN.

use b1force_cli::local::sap_config;
use e2e::lookup::{KEY, lookups, signed_get};
use sandbox::{FaultConfig, SapOptions, SapSandbox};
use shared::domain::CardCode;
use shared::ports::{Clock, SapLookups, SystemClock};
use shared::sap::SapClient;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 60;

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let sap = SapSandbox::start(SapOptions::default()).await?;
        sap.faults().set(FaultConfig { latency_ms: 20, ..Default::default() });
        let code = CardCode::parse("C20000")?;
        let direct = SapClient::new(sap_config(&sap))?;
        direct.credit_status(&code).await?; // log in outside the measurement
        let uncached = lookups(&sap, Arc::new(SystemClock), 0);
        let cached = lookups(&sap, Arc::new(SystemClock), 60_000);
        for service in [&uncached, &cached] {
            service.handle(&signed_get("/credit", "cardCode=C20000", KEY, SystemClock.now_millis())).await;
        }

        let mut sl = Vec::new();
        let mut miss = Vec::new();
        let mut hit = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            direct.credit_status(&code).await?;
            sl.push(started.elapsed());
            let request = signed_get("/credit", "cardCode=C20000", KEY, SystemClock.now_millis());
            let started = Instant::now();
            let answer = uncached.handle(&request).await;
            miss.push(started.elapsed());
            anyhow::ensure!(answer.status == 200, "lookup failed: {}", answer.body);
            let started = Instant::now();
            cached.handle(&request).await;
            hit.push(started.elapsed());
        }
        let (sl, miss, hit) = (median_ms(sl), median_ms(miss), median_ms(hit));
        println!("live lookup benchmark: /credit, {RUNS} runs, SAP sandbox with 20 ms latency (medians)");
        println!("  Service Layer call alone      {sl:.2} ms");
        println!(
            "  lookup, cache miss            {miss:.2} ms  (overhead {:.2} ms: signature, parsing, JSON)",
            miss - sl
        );
        println!("  lookup, cache hit             {hit:.3} ms  (no SAP call)");
        Ok(())
    })
}
