//! Benchmark: N Closed Won opportunities through the demo pipeline (real HTTP to both sandboxes,
//! embedded queue/idempotency/audit). Prints throughput, API calls per order, logins and peak RSS.
//!
//! `cargo bench -p b1force-tests --bench pipeline` (N from `B1FORCE_BENCH_OPPORTUNITIES`, default 1000).

use b1force_cli::demo::{DemoOptions, run_on};
use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::peak_rss_mib;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("B1FORCE_BENCH_OPPORTUNITIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let report = runtime.block_on(async {
        let stack = LocalStack::start(LocalOptions::default()).await?;
        run_on(&stack, &DemoOptions { opportunities: n, deliveries: 3 }).await
    })?;
    let sap = &report.api_calls["sap"];
    let sf = &report.api_calls["salesforce"];
    println!("pipeline benchmark: {n} Closed Won opportunities, each CDC event delivered 3 times");
    println!("  orders created          {}", report.orders_created);
    println!("  failures                {}", report.failures);
    println!("  elapsed                 {} ms", report.elapsed_ms);
    println!("  throughput              {:.0} orders/s", report.records_per_sec);
    println!(
        "  SAP calls per order     {:.3}  ({} calls, {} logins; partner creation included)",
        report.sap_calls_per_order, sap.total, sap.logins
    );
    println!(
        "  SF calls per order      {:.3}  (target <= 3; {} calls, {} token requests)",
        report.salesforce_calls_per_order, sf.total, sf.logins
    );
    println!("  SAP calls by endpoint   {:?}", sap.by_endpoint);
    println!("  SF calls by endpoint    {:?}", sf.by_endpoint);
    println!(
        "  peak RSS                {:.1} MiB (whole process: both sandboxes, clients, embedded backends)",
        peak_rss_mib()
    );
    // The order path (idempotency reads of Orders and Drafts, the POST) is bounded per order; a
    // customer new to SAP costs a read and a create of its business partner once, not per order.
    let calls_to = |prefix: &str| -> u64 {
        sap.by_endpoint
            .iter()
            .filter(|(endpoint, _)| endpoint.split(' ').nth(1).is_some_and(|path| path.starts_with(prefix)))
            .map(|(_, n)| n)
            .sum()
    };
    let order_path = (calls_to("/Orders") + calls_to("/Drafts")) as f64 / report.orders_created.max(1) as f64;
    let partners_created = sap.by_endpoint.get("POST /BusinessPartners").copied().unwrap_or_default();
    let partner_path_bounded = calls_to("/BusinessPartners") <= 2 * partners_created.max(1);
    println!(
        "  SAP order path          {order_path:.3} calls per order (target <= 3); partners {} calls for {partners_created} created (target <= 2 each)",
        calls_to("/BusinessPartners")
    );
    let met = report.failures == 0
        && order_path <= 3.0
        && partner_path_bounded
        && report.salesforce_calls_per_order <= 3.0
        && sap.logins == 1;
    println!("  targets met             {met}");
    anyhow::ensure!(met, "the pipeline benchmark spent more calls per order than its targets");
    Ok(())
}
