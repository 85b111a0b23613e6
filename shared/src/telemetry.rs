//! Logs and metrics: JSON tracing in Lambda, CloudWatch Embedded Metric Format lines.

use serde_json::{Map, Value, json};

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
    let filter =
        tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).without_time().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

/// Lambda's choice: JSON unless `AWS_LAMBDA_LOG_FORMAT` says Text.
pub fn init_lambda() {
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").map(|f| f.eq_ignore_ascii_case("text")).unwrap_or(false);
    init(if text { LogFormat::Text } else { LogFormat::Json }, "info");
}

/// One EMF document: `metrics` (name → (value, unit)) under `namespace` with `dimensions`.
/// Print it as its own stdout line; CloudWatch turns it into metrics without an API call.
pub fn emf_line(
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
    timestamp_ms: i64,
) -> String {
    let mut doc = Map::new();
    for (k, v) in dimensions {
        doc.insert((*k).to_string(), json!(v));
    }
    for (name, value, _) in metrics {
        doc.insert((*name).to_string(), json!(value));
    }
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|(n, _, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }]
        }),
    );
    Value::Object(doc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_every_metric_and_dimension_it_carries() {
        let line = emf_line("B1Force", &[("Function", "sap-writer")], &[("OrdersCreated", 3.0, "Count")], 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["OrdersCreated"], 3.0);
        assert_eq!(v["Function"], "sap-writer");
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "B1Force");
        assert_eq!(directive["Dimensions"][0][0], "Function");
        assert_eq!(directive["Metrics"][0]["Name"], "OrdersCreated");
        assert_eq!(v["_aws"]["Timestamp"], 1);
    }
}
