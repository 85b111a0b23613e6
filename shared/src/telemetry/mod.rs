//! Logs and metrics: JSON tracing in Lambda, CloudWatch Embedded Metric Format lines.

pub mod emf;
pub mod functions;

pub use emf::{Metrics, Unit};
/// The reconciler's metrics for one run (see [`functions::reconciler`]).
pub use functions::reconciler as reconciler_metrics;
use tracing_subscriber::util::SubscriberInitExt;

/// The CloudWatch namespace of every B1Force metric.
pub const NAMESPACE: &str = "B1Force";

/// Log output shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (Lambda, `AWS_LAMBDA_LOG_FORMAT=JSON`).
    Json,
    /// Human-readable (CLI).
    Text,
}

/// Installs the global subscriber. Level from `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then `default_level`.
/// Logs go to stderr so a command's stdout stays machine-readable.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default_level.into())
        .to_lowercase();
    let _ = match format {
        LogFormat::Json => json_subscriber(std::io::stderr, &filter).try_init().map_err(|e| e.to_string()),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(env_filter(&filter))
            .with_writer(std::io::stderr)
            .with_target(false)
            .compact()
            .try_init()
            .map_err(|e| e.to_string()),
    };
}

/// The Lambda log format: one JSON object per line with the current span's fields (flow, record,
/// `correlation_id`) beside the event's, no timestamp (Lambda stamps each line), written to `writer`.
pub fn json_subscriber<W>(writer: W, filter: &str) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(writer)
        .with_target(false)
        .json()
        .with_current_span(true)
        .without_time()
        .finish()
}

fn env_filter(filter: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Lambda's choice: JSON unless `AWS_LAMBDA_LOG_FORMAT` says Text.
pub fn init_lambda() {
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").map(|f| f.eq_ignore_ascii_case("text")).unwrap_or(false);
    init(if text { LogFormat::Text } else { LogFormat::Json }, "info");
}
