//! Benchmark: Lambda init time of each function binary, from exec to its first network call.
//!
//! Each binary is started with `AWS_LAMBDA_RUNTIME_API` and `AWS_ENDPOINT_URL` both pointing at one
//! local listener, so its first connection, whichever it is (the runtime API's `next` request, or
//! Secrets Manager for sap-lookup's signing key), ends the measured init. Build the release
//! binaries first: `cargo build --release -p sf-receiver -p sap-writer -p sap-lookup -p sap-poller -p sf-writer -p sap-webhook -p reconciler`,
//! or measure the deployed artifacts of `sam build` instead: `B1FORCE_SAM_BUILD_DIR=infra/.aws-sam/build`
//! (each function's `bootstrap` under its logical id; CI does this, which spares a second release build).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 25;

/// The function binaries and the template's logical id of the function each one is deployed as.
const FUNCTIONS: [(&str, &str); 7] = [
    ("sf-receiver", "SfReceiverFunction"),
    ("sap-writer", "SapWriterFunction"),
    ("sap-lookup", "SapLookupFunction"),
    ("sap-poller", "SapPollerFunction"),
    ("sf-writer", "SfWriterFunction"),
    ("sap-webhook", "SapWebhookFunction"),
    ("reconciler", "ReconcilerFunction"),
];

fn binary(name: &str, logical_id: &str) -> PathBuf {
    if let Ok(sam_build) = std::env::var("B1FORCE_SAM_BUILD_DIR") {
        return PathBuf::from(sam_build).join(logical_id).join("bootstrap");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("release").join(name)
}

fn time_to_first_connection(path: &PathBuf) -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let api = listener.local_addr()?.to_string();
    let started = Instant::now();
    let mut child = Command::new(path)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_ENDPOINT_URL", format!("http://{api}"))
        .env("LOOKUP_SECRET_ID", "bench-lookup-key")
        .env("SYNC_STATE_TABLE", "state")
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_LEVEL", "error")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("TO_SAP_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/b1force-to-sap.fifo")
        .env("TO_SAP_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/b1force-to-sap-dlq.fifo")
        .env("TO_SALESFORCE_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/b1force-to-salesforce.fifo")
        .env("TO_SALESFORCE_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/b1force-to-salesforce-dlq.fifo")
        .env("IDEMPOTENCY_TABLE", "idem")
        .env("AUDIT_TABLE", "audit")
        .env("SAP_URL", "https://sap.invalid:50000/b1s/v2")
        .env("SAP_COMPANY_DB", "SBODEMOUS")
        .env("SAP_USER", "manager")
        .env("SAP_PASSWORD", "bench-password")
        .env("SF_LOGIN_URL", "https://acme.my.salesforce.com")
        .env("SF_CLIENT_ID", "ck")
        .env("SF_CLIENT_SECRET", "cs")
        .env("B1_WEBHOOK_SECRET_ID", "bench-b1-webhook-key")
        .env("REPORTS_BUCKET", "bench-reports")
        .env("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench-reports")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let (_conn, _) = listener.accept()?;
    let elapsed = started.elapsed();
    child.kill()?;
    child.wait()?;
    Ok(elapsed)
}

fn main() -> anyhow::Result<()> {
    println!("Lambda init benchmark: exec -> first connection to the runtime API, {RUNS} runs each; binary size");
    for (name, logical_id) in FUNCTIONS {
        let path = binary(name, logical_id);
        if !path.exists() {
            anyhow::bail!(
                "{} is missing: run `cargo build --release -p {name}` (or `sam build`) first",
                path.display()
            );
        }
        time_to_first_connection(&path)?; // warm the page cache
        let mut samples: Vec<Duration> =
            (0..RUNS).map(|_| time_to_first_connection(&path)).collect::<Result<_, _>>()?;
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let size_mib = std::fs::metadata(&path)?.len() as f64 / (1024.0 * 1024.0);
        println!(
            "  {name:<12} median {:.2} ms  p95 {:.2} ms  max {:.2} ms  (target < 15 ms)  size {size_mib:.2} MiB",
            ms(samples[RUNS / 2]),
            ms(samples[RUNS * 95 / 100]),
            ms(samples[RUNS - 1])
        );
    }
    Ok(())
}
