//! Benchmark: change → other system latency, p50 and p95 per direction, before and after the wake
//! redesign (#16 item 10), and what the stack costs a day while nothing changes.
//!
//! Each step's duration is measured on the real code against the sandboxes with per-request latency
//! added (SAP over a VPN, Salesforce over the internet); the waits between steps come from the
//! template's schedule defaults on a simulated clock (`e2e::latency`, which says what is modelled).
//!
//! `cargo bench -p b1force-tests --bench latency` (`B1FORCE_BENCH_SAP_MS`, default 100, and
//! `B1FORCE_BENCH_SF_MS`, default 150: the added latency per request).

use b1force_cli::local::{LocalOptions, LocalStack, opportunity_change_event};
use e2e::latency::{
    DYNAMODB_READ_USD, DYNAMODB_WRITE_USD, Drain, IdleLoad, MAPPING_POLLS_PER_DAY, SCHEDULER_INVOCATION_USD,
    SQS_REQUEST_USD, SalesforceToSap, SapIntake, SapToSalesforce, parameter_default, percentile, rate_ms,
};
use sandbox::faults::FaultConfig;
use serde_json::json;
use shared::engine::sf_writer::SfWriterSettings;
use std::time::Instant;

/// Changes simulated per direction and design.
const CHANGES: usize = 50_000;
/// Lambda from trigger to handler in a warm container, and each step's DynamoDB/SQS calls (the
/// embedded backends answer in microseconds; on AWS each call takes a few milliseconds).
const INVOKE_MS: u64 = 100;
const AWS_CALLS_MS: u64 = 60;
/// Assumed, not measured here: CDC publish + Event Relay + EventBridge rule, the FIFO mapping's
/// pickup, and the B1 Webhook Messenger's delivery after the save.
const CDC_DELIVERY_MS: (u64, u64) = (1_000, 5_000);
const FIFO_PICKUP_MS: (u64, u64) = (0, 1_000);
const B1_WEBHOOK_DELAY_MS: (u64, u64) = (1_000, 5_000);
/// The previous design (template at ac4dadc): polls every 5 minutes, the sf-writer every minute, no wake.
const BEFORE_POLL: &str = "rate(5 minutes)";
const BEFORE_DRAIN: &str = "rate(1 minute)";
/// Entities polled by update stamp on `PollSchedule`, and the two full scans on `ScanSchedule`.
const STAMPED_ENTITIES: f64 = 7.0;
const SCANNED_ENTITIES: f64 = 2.0;

fn env_ms(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Durations of each step, measured on the real code with latency per request.
struct Measured {
    poll_change_ms: u64,
    poll_idle_ms: u64,
    drain_one_ms: u64,
    drain_idle_ms: u64,
    receive_ms: u64,
    order_ms: u64,
}

async fn measure(sap_ms: u64, sf_ms: u64) -> anyhow::Result<Measured> {
    let stack = LocalStack::start(LocalOptions::default()).await?;
    stack.sync_from_sap(SfWriterSettings::default()).await?;
    let writer = stack.sf_writer(SfWriterSettings::default());
    let poller = stack.poller();
    let deadline = || stack.clock.now_millis() + 600_000;
    stack.sap_sandbox.faults().set(FaultConfig { latency_ms: sap_ms, ..Default::default() });
    stack.sf_sandbox.faults().set(FaultConfig { latency_ms: sf_ms, ..Default::default() });

    let started = Instant::now();
    poller.run("Invoices", "bench-idle").await?;
    let poll_idle_ms = ms(started) + AWS_CALLS_MS;
    let started = Instant::now();
    writer.run(deadline()).await?;
    let drain_idle_ms = ms(started) + AWS_CALLS_MS;

    let codes = stack.sap_sandbox.seed_changed_business_partners(1);
    stack.sap_sandbox.user_update("BusinessPartners", &codes[0], json!({"Phone1": "+49 30 555 0101"}))?;
    let started = Instant::now();
    let polled = poller.run("BusinessPartners", "bench-change").await?;
    let poll_change_ms = ms(started) + AWS_CALLS_MS;
    anyhow::ensure!(polled.enqueued >= 1, "the poll found no change: {polled:?}");
    let started = Instant::now();
    let run = writer.run(deadline()).await?;
    let drain_one_ms = ms(started) + AWS_CALLS_MS;
    anyhow::ensure!(run.written >= 1, "the drain wrote nothing: {run:?}");

    let [id] = <[String; 1]>::try_from(stack.sf_sandbox.seed_closed_won(1)).map_err(|_| anyhow::anyhow!("no seed"))?;
    let event = opportunity_change_event(&id, "UPDATE", "", stack.clock.now_millis(), "bench-latency");
    let started = Instant::now();
    stack.receiver().receive(&event).await?;
    let receive_ms = ms(started) + AWS_CALLS_MS;
    let started = Instant::now();
    let stats = stack.drain(5).await?;
    let order_ms = ms(started) + AWS_CALLS_MS;
    anyhow::ensure!(stats.created == 1, "the order was not created: {stats:?}");
    Ok(Measured { poll_change_ms, poll_idle_ms, drain_one_ms, drain_idle_ms, receive_ms, order_ms })
}

fn figures(latencies: &[u64]) -> (f64, f64) {
    (percentile(latencies, 50.0) as f64 / 1000.0, percentile(latencies, 95.0) as f64 / 1000.0)
}

fn main() -> anyhow::Result<()> {
    let (sap_ms, sf_ms) = (env_ms("B1FORCE_BENCH_SAP_MS", 100), env_ms("B1FORCE_BENCH_SF_MS", 150));
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml"))?;
    let default =
        |name: &str| parameter_default(&template, name).ok_or_else(|| anyhow::anyhow!("no default for {name}"));
    let poll_schedule = default("PollSchedule")?;
    let drain_schedule = default("DrainSchedule")?;
    let scan_schedule = default("ScanSchedule")?;
    let window_ms = default("SfWriterWakeWindowSeconds")?.parse::<u64>()? * 1000;
    let rate = |expression: &str| rate_ms(expression).ok_or_else(|| anyhow::anyhow!("{expression} is not a rate"));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let m = runtime.block_on(measure(sap_ms, sf_ms))?;

    let drain = |every: &str, wake: Option<u64>, drain_ms| -> anyhow::Result<Drain> {
        Ok(Drain { every_ms: rate(every)?, wake_window_ms: wake, invoke_ms: INVOKE_MS, drain_ms })
    };
    let polled = |every: &str| -> anyhow::Result<SapIntake> {
        Ok(SapIntake::Poll { every_ms: rate(every)?, poll_ms: m.poll_change_ms })
    };
    let webhook = SapIntake::Webhook { delay_ms: B1_WEBHOOK_DELAY_MS, receive_ms: INVOKE_MS + AWS_CALLS_MS };
    let before_drain = drain(BEFORE_DRAIN, None, m.drain_one_ms)?;
    let after_drain = drain(&drain_schedule, Some(window_ms), m.drain_one_ms)?;
    let rows = [
        (
            "SAP -> SF, polling",
            SapToSalesforce { intake: polled(BEFORE_POLL)?, drain: before_drain },
            SapToSalesforce { intake: polled(&poll_schedule)?, drain: after_drain },
            90.0,
        ),
        (
            "SAP -> SF, B1 webhooks",
            SapToSalesforce { intake: webhook, drain: before_drain },
            SapToSalesforce { intake: webhook, drain: after_drain },
            15.0,
        ),
    ];
    let to_sap = SalesforceToSap {
        delivery_ms: CDC_DELIVERY_MS,
        invoke_ms: INVOKE_MS,
        receive_ms: m.receive_ms,
        pickup_ms: FIFO_PICKUP_MS,
        write_ms: m.order_ms,
    };

    println!(
        "latency benchmark: {CHANGES} changes per row at random times of a day, seeded; +{sap_ms} ms per SAP request, +{sf_ms} ms per Salesforce request"
    );
    println!(
        "  schedules (template defaults)  PollSchedule {poll_schedule}, DrainSchedule {drain_schedule}, ScanSchedule {scan_schedule}, wake window {} s",
        window_ms / 1000
    );
    println!("  before (ac4dadc)               PollSchedule {BEFORE_POLL}, sf-writer {BEFORE_DRAIN}, no wake");
    println!(
        "  measured steps                 poll finding a change {} ms, idle poll {} ms, drain of one change {} ms, idle drain {} ms, CDC receive {} ms, sap-writer order {} ms",
        m.poll_change_ms, m.poll_idle_ms, m.drain_one_ms, m.drain_idle_ms, m.receive_ms, m.order_ms
    );
    println!(
        "  {:<24} {:>22} {:>22} {:>8} {:>5}",
        "path", "before p50 / p95 (s)", "after p50 / p95 (s)", "target", "met"
    );
    let mut all_met = true;
    for (name, before, after, target) in rows {
        let (b50, b95) = figures(&before.simulate(11, CHANGES));
        let (a50, a95) = figures(&after.simulate(11, CHANGES));
        all_met &= a95 <= target;
        println!("  {name:<24} {b50:>10.1} / {b95:<9.1} {a50:>10.1} / {a95:<9.1} {:>6} s {:>5}", target, a95 <= target);
    }
    let (s50, s95) = figures(&to_sap.simulate(11, CHANGES));
    all_met &= s95 <= 10.0;
    println!(
        "  {:<24} {s50:>10.1} / {s95:<9.1} {s50:>10.1} / {s95:<9.1} {:>6} s {:>5}",
        "SF -> SAP, CDC",
        10.0,
        s95 <= 10.0
    );

    // Idle cost: the runs that happen while nothing changes. A poll run takes and releases its lease
    // and reads its watermark (2 writes, 1 read); the drain reads its queue; each SQS mapping long-polls.
    let per_day = |every: &str| -> anyhow::Result<f64> { Ok(86_400_000.0 / rate(every)? as f64) };
    let idle = |poll: &str, drain_every: &str, wake: bool| -> anyhow::Result<Vec<IdleLoad>> {
        let polls = STAMPED_ENTITIES * per_day(poll)? + SCANNED_ENTITIES * per_day(&scan_schedule)?;
        let drains = per_day(drain_every)?;
        let mappings = if wake { 2.0 } else { 1.0 };
        Ok(vec![
            IdleLoad {
                what: "sap-poller",
                invocations_per_day: polls,
                duration_ms: m.poll_idle_ms as f64,
                memory_mb: 256.0,
                other_usd: polls * (SCHEDULER_INVOCATION_USD + 2.0 * DYNAMODB_WRITE_USD + DYNAMODB_READ_USD),
            },
            IdleLoad {
                what: "sf-writer",
                invocations_per_day: drains,
                duration_ms: m.drain_idle_ms as f64,
                memory_mb: 256.0,
                other_usd: drains * (SCHEDULER_INVOCATION_USD + SQS_REQUEST_USD),
            },
            IdleLoad {
                what: "SQS mappings",
                invocations_per_day: 0.0,
                duration_ms: 0.0,
                memory_mb: 0.0,
                other_usd: mappings * MAPPING_POLLS_PER_DAY * SQS_REQUEST_USD,
            },
        ])
    };
    let total = |loads: &[IdleLoad]| loads.iter().map(IdleLoad::usd_per_day).sum::<f64>();
    let before = idle(BEFORE_POLL, BEFORE_DRAIN, false)?;
    let after = idle(&poll_schedule, &drain_schedule, true)?;
    println!(
        "  idle cost per day (Lambda x86_64 256 MB, Scheduler, SQS, DynamoDB on-demand; no free tier; VPC/NAT not included)"
    );
    for (b, a) in before.iter().zip(&after) {
        println!(
            "    {:<14} before {:>6.0} runs ${:.4}   after {:>6.0} runs ${:.4}",
            b.what,
            b.invocations_per_day,
            b.usd_per_day(),
            a.invocations_per_day,
            a.usd_per_day()
        );
    }
    println!("    {:<14} before ${:.4}/day   after ${:.4}/day", "total", total(&before), total(&after));
    println!("  targets met                    {all_met}");
    Ok(())
}
