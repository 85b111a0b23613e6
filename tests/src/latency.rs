//! End-to-end latency on a simulated clock (#16 item 10): when does a change saved in one system
//! reach the other, given the template's schedules and the measured time of each step?
//!
//! The steps' durations come from the real code against the sandboxes (the `latency` bench
//! measures them with per-request latency added); the waiting comes from the schedules, wakes and
//! batching windows modelled here. What is modelled and what is assumed:
//! - EventBridge Scheduler fires on time (`FlexibleTimeWindow` is `OFF` in the template); each
//!   schedule has a random phase.
//! - A woken drain starts when the wake queue's batching window has passed, plus the Lambda
//!   invoke overhead; the safety-net schedule starts one earlier if its tick comes first.
//! - A drain already running when a change is enqueued is ignored (it might pick the change up
//!   sooner): the figures are an upper side, not a lower one.
//! - Cold starts are left out: with a poll every minute the containers stay warm.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One millisecond-resolution day.
const DAY_MS: u64 = 86_400_000;

/// How a SAP change is noticed.
#[derive(Debug, Clone, Copy)]
pub enum SapIntake {
    /// The entity's poll schedule, every `every_ms`; a poll that finds the change takes `poll_ms`.
    Poll { every_ms: u64, poll_ms: u64 },
    /// A B1 webhook, delivered `delay_ms.0..=delay_ms.1` after the save, enqueued in `receive_ms`.
    Webhook { delay_ms: (u64, u64), receive_ms: u64 },
}

/// How the sf-writer is started once the change is on `to-salesforce.fifo`.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// The drain schedule's period.
    pub every_ms: u64,
    /// `Some(window)`: every send wakes the writer through a mapping with this batching window.
    pub wake_window_ms: Option<u64>,
    /// Lambda's overhead from the trigger to the handler (warm container).
    pub invoke_ms: u64,
    /// A drain that writes the change.
    pub drain_ms: u64,
}

/// SAP → Salesforce.
#[derive(Debug, Clone, Copy)]
pub struct SapToSalesforce {
    pub intake: SapIntake,
    pub drain: Drain,
}

/// Salesforce → SAP: CDC through the Event Relay and EventBridge, the receiver, `to-sap.fifo` and
/// its event source mapping, the sap-writer.
#[derive(Debug, Clone, Copy)]
pub struct SalesforceToSap {
    /// From commit to the receiver's invocation (CDC publish, Event Relay, EventBridge rule).
    pub delivery_ms: (u64, u64),
    pub invoke_ms: u64,
    /// The receiver's work (parse, claim, enqueue).
    pub receive_ms: u64,
    /// Until the FIFO queue's mapping hands the message to the sap-writer (its long poll).
    pub pickup_ms: (u64, u64),
    /// The sap-writer's work for one change (an order: SAP and Salesforce calls).
    pub write_ms: u64,
}

/// The first tick of a schedule with `phase` and `every` at or after `t`.
fn next_tick(t: u64, phase: u64, every: u64) -> u64 {
    if t <= phase {
        return phase;
    }
    phase + (t - phase).div_ceil(every) * every
}

fn between(rng: &mut StdRng, (low, high): (u64, u64)) -> u64 {
    if high <= low { low } else { rng.random_range(low..=high) }
}

impl SapToSalesforce {
    /// Latencies (save → written in Salesforce) of `n` changes saved at random times of a day.
    pub fn simulate(&self, seed: u64, n: usize) -> Vec<u64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let poll_phase = match self.intake {
            SapIntake::Poll { every_ms, .. } => rng.random_range(0..every_ms),
            SapIntake::Webhook { .. } => 0,
        };
        let drain_phase = rng.random_range(0..self.drain.every_ms);
        (0..n)
            .map(|_| {
                let saved = rng.random_range(0..DAY_MS);
                let enqueued = match self.intake {
                    SapIntake::Poll { every_ms, poll_ms } => next_tick(saved, poll_phase, every_ms) + poll_ms,
                    SapIntake::Webhook { delay_ms, receive_ms } => saved + between(&mut rng, delay_ms) + receive_ms,
                };
                let scheduled = next_tick(enqueued, drain_phase, self.drain.every_ms);
                let started = match self.drain.wake_window_ms {
                    Some(window) => scheduled.min(enqueued + window),
                    None => scheduled,
                } + self.drain.invoke_ms;
                started + self.drain.drain_ms - saved
            })
            .collect()
    }
}

impl SalesforceToSap {
    /// Latencies (commit → written in SAP) of `n` changes.
    pub fn simulate(&self, seed: u64, n: usize) -> Vec<u64> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                between(&mut rng, self.delivery_ms)
                    + self.invoke_ms
                    + self.receive_ms
                    + between(&mut rng, self.pickup_ms)
                    + self.invoke_ms
                    + self.write_ms
            })
            .collect()
    }
}

/// The `p`-th percentile (0–100, nearest rank) of `samples`.
pub fn percentile(samples: &[u64], p: f64) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A `rate(N unit)` schedule expression in milliseconds (`None` for `cron(...)` or anything else).
pub fn rate_ms(expression: &str) -> Option<u64> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok()?;
    let unit_ms = match unit.trim().trim_end_matches('s') {
        "minute" => 60_000,
        "hour" => 3_600_000,
        "day" => DAY_MS,
        _ => return None,
    };
    Some(count * unit_ms)
}

/// The `Default:` of a parameter in a CloudFormation template's text (quotes removed).
pub fn parameter_default(template: &str, name: &str) -> Option<String> {
    let mut lines = template
        .lines()
        .skip_while(|line| line.trim_end() != "Parameters:")
        .skip(1)
        .take_while(|line| line.starts_with(' ') || line.trim().is_empty());
    lines.find(|line| line.trim_end() == format!("  {name}:"))?;
    lines
        .take_while(|line| line.starts_with("    ") || line.trim().is_empty())
        .find_map(|line| line.trim().strip_prefix("Default:"))
        .map(|value| value.trim().trim_matches('"').to_string())
}

/// What one function costs a day while nothing changes.
#[derive(Debug, Clone)]
pub struct IdleLoad {
    pub what: &'static str,
    pub invocations_per_day: f64,
    pub duration_ms: f64,
    pub memory_mb: f64,
    /// Other billed requests a day (Scheduler invocations, SQS long polls, DynamoDB writes), in dollars.
    pub other_usd: f64,
}

/// Prices (us-east-1, x86_64, on-demand, without free tiers): Lambda $0.0000166667 per GB-second
/// and $0.20 per million requests (aws.amazon.com/lambda/pricing).
pub const LAMBDA_GB_SECOND_USD: f64 = 0.000_016_666_7;
pub const LAMBDA_REQUEST_USD: f64 = 0.20 / 1e6;
/// EventBridge Scheduler: $1.00 per million invocations (aws.amazon.com/eventbridge/pricing).
pub const SCHEDULER_INVOCATION_USD: f64 = 1.00 / 1e6;
/// SQS standard and FIFO: $0.40 / $0.50 per million requests (aws.amazon.com/sqs/pricing); the
/// higher one is used.
pub const SQS_REQUEST_USD: f64 = 0.50 / 1e6;
/// DynamoDB on-demand: $0.625 per million write request units, $0.125 per million reads.
pub const DYNAMODB_WRITE_USD: f64 = 0.625 / 1e6;
pub const DYNAMODB_READ_USD: f64 = 0.125 / 1e6;
/// An SQS event source mapping long-polls an empty queue with about five pollers of 20 s each
/// (Lambda developer guide, "Using Lambda with Amazon SQS": scaling starts at five pollers).
pub const MAPPING_POLLS_PER_DAY: f64 = 5.0 * 86_400.0 / 20.0;

impl IdleLoad {
    pub fn usd_per_day(&self) -> f64 {
        let compute = self.invocations_per_day * self.duration_ms / 1000.0 * self.memory_mb / 1024.0;
        compute * LAMBDA_GB_SECOND_USD + self.invocations_per_day * LAMBDA_REQUEST_USD + self.other_usd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn woken(window: Option<u64>) -> Drain {
        Drain { every_ms: MINUTE, wake_window_ms: window, invoke_ms: 0, drain_ms: 0 }
    }

    #[test]
    fn a_poll_every_minute_with_an_instant_wake_waits_half_a_minute_in_the_median_and_57_s_at_p95() {
        let path = SapToSalesforce { intake: SapIntake::Poll { every_ms: MINUTE, poll_ms: 0 }, drain: woken(Some(0)) };
        let latencies = path.simulate(1, 20_000);
        let (p50, p95) = (percentile(&latencies, 50.0), percentile(&latencies, 95.0));
        assert!((28_500..=31_500).contains(&p50), "{p50}");
        assert!((56_000..=58_000).contains(&p95), "{p95}");
    }

    #[test]
    fn two_independent_minute_schedules_add_up_to_a_p95_of_about_101_s() {
        // The sum of two uniform waits of 0–60 s: P(sum > x) = (120 - x)^2 / 7200, so p95 = 120 - 60 * sqrt(0.1).
        let path = SapToSalesforce { intake: SapIntake::Poll { every_ms: MINUTE, poll_ms: 0 }, drain: woken(None) };
        let p95 = percentile(&path.simulate(2, 20_000), 95.0);
        assert!((99_000..=103_000).contains(&p95), "{p95}");
    }

    #[test]
    fn a_wake_never_starts_a_drain_later_than_the_schedule_would() {
        let intake = SapIntake::Webhook { delay_ms: (1_000, 3_000), receive_ms: 50 };
        let scheduled = SapToSalesforce { intake, drain: woken(None) }.simulate(3, 5_000);
        let with_wake = SapToSalesforce { intake, drain: woken(Some(120_000)) }.simulate(3, 5_000);
        assert!(with_wake.iter().zip(&scheduled).all(|(w, s)| w <= s));
        let fast = SapToSalesforce { intake, drain: woken(Some(2_000)) }.simulate(3, 5_000);
        // Webhook delay (1–3 s) + enqueue + window (2 s) at most; sooner when the schedule's tick comes first.
        assert!(fast.iter().all(|l| (1_050..=5_050).contains(l)), "{:?}", fast.iter().max());
    }

    #[test]
    fn schedule_expressions_and_parameter_defaults_are_read_from_the_template_text() {
        assert_eq!((rate_ms("rate(1 minute)"), rate_ms("rate(5 minutes)")), (Some(MINUTE), Some(5 * MINUTE)));
        assert_eq!((rate_ms("rate(1 hour)"), rate_ms("cron(0 4 1 * ? *)")), (Some(3_600_000), None));
        let template = "Parameters:\n  A:\n    Type: String\n    Default: \"x\"\n  B:\n    Type: Number\nResources:\n  C:\n    Default: 9\n";
        assert_eq!(parameter_default(template, "A").as_deref(), Some("x"));
        assert_eq!(parameter_default(template, "B"), None);
        assert_eq!(parameter_default(template, "C"), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&samples, 50.0), percentile(&samples, 95.0), percentile(&[], 50.0)), (50, 95, 0));
    }
}
