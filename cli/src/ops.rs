//! What the operator commands (`dlq`, `replay`, `audit`) share: their ports on AWS and plain-text tables.
//!
//! AWS is chosen the SDK's usual way (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`); the queues and
//! the audit table are named by the settings the functions use: `TO_SAP_QUEUE_URL`, `TO_SAP_DLQ_URL`,
//! `TO_SALESFORCE_QUEUE_URL`, `TO_SALESFORCE_DLQ_URL`, `AUDIT_TABLE` (the stack's outputs).

use crate::operations::Route;
use crate::operations::dlq::QueuePair;
use anyhow::anyhow;
use shared::aws::{DynamoAudit, SqsQueue};
use shared::config::Source;

/// The settings naming a route's work queue and its DLQ.
pub fn queue_settings(route: Route) -> (&'static str, &'static str) {
    match route {
        Route::ToSap => ("TO_SAP_QUEUE_URL", "TO_SAP_DLQ_URL"),
        Route::ToSalesforce => ("TO_SALESFORCE_QUEUE_URL", "TO_SALESFORCE_DLQ_URL"),
    }
}

/// A setting the command cannot run without, with what to set it to.
pub fn required(src: &dyn Source, name: &str, what: &str) -> anyhow::Result<String> {
    src.var(name).ok_or_else(|| {
        anyhow!(
            "{name} is not set: set it to {what} (from the stack's outputs), with AWS_PROFILE and AWS_REGION \
             for the account it runs in"
        )
    })
}

/// A route's queues on SQS.
pub struct AwsQueues {
    pub route: Route,
    pub source: SqsQueue,
    pub dead_letters: SqsQueue,
}

impl AwsQueues {
    /// The pair as the operations take it.
    pub fn pair(&self) -> QueuePair<'_> {
        QueuePair { route: self.route, source: &self.source, dead_letters: &self.dead_letters }
    }
}

/// The work queue and DLQ of each route, every missing setting reported before AWS is reached.
pub async fn queue_pairs(src: &dyn Source, routes: &[Route]) -> anyhow::Result<Vec<AwsQueues>> {
    let mut urls = Vec::new();
    for &route in routes {
        let (queue, dlq) = queue_settings(route);
        let queue = required(src, queue, &format!("the URL of {}.fifo", route.name()))?;
        let dlq = required(src, dlq, &format!("the URL of {}'s dead-letter queue", route.name()))?;
        urls.push((route, queue, dlq));
    }
    let sdk = shared::aws::sdk_config().await;
    Ok(urls
        .into_iter()
        .map(|(route, queue, dlq)| AwsQueues {
            route,
            source: SqsQueue::from_sdk(&sdk, queue),
            dead_letters: SqsQueue::from_sdk(&sdk, dlq),
        })
        .collect())
}

/// A route's work queue on SQS.
pub async fn work_queue(src: &dyn Source, route: Route) -> anyhow::Result<SqsQueue> {
    let url = required(src, queue_settings(route).0, &format!("the URL of {}.fifo", route.name()))?;
    Ok(SqsQueue::from_sdk(&shared::aws::sdk_config().await, url))
}

/// The audit table on DynamoDB.
pub async fn audit_table(src: &dyn Source) -> anyhow::Result<DynamoAudit> {
    let table = required(src, "AUDIT_TABLE", "the audit table's name")?;
    Ok(DynamoAudit::from_sdk(&shared::aws::sdk_config().await, table))
}

/// Rows under headers, columns padded to their widest cell (the last one is not padded), two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            if i + 1 == columns {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// An age as operators read it: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn age(millis: i64) -> String {
    let secs = millis.max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_table_aligns_columns_to_the_widest_cell_and_leaves_the_last_unpadded() {
        let rows =
            vec![vec!["to-salesforce".to_string(), "1".into(), "x".into()], vec!["a".into(), "".into(), "".into()]];
        assert_eq!(table(&["QUEUE", "N", "WHY"], &rows), "QUEUE          N  WHY\nto-salesforce  1  x\na\n");
    }

    #[test]
    fn ages_read_in_the_two_largest_units() {
        assert_eq!(age(45_000), "45s");
        assert_eq!(age(12 * 60_000 + 5_000), "12m");
        assert_eq!(age(3 * 3_600_000 + 5 * 60_000), "3h 5m");
        assert_eq!(age(2 * 86_400_000 + 4 * 3_600_000), "2d 4h");
        assert_eq!(age(-5), "0s");
    }

    #[tokio::test]
    async fn a_missing_setting_is_named_before_aws_is_reached() {
        let mut settings = HashMap::from([("TO_SAP_QUEUE_URL".to_string(), "https://sqs/q".to_string())]);
        let err = queue_pairs(&settings, &[Route::ToSap]).await.err().unwrap().to_string();
        assert!(err.starts_with("TO_SAP_DLQ_URL is not set"), "{err}");
        settings.insert("TO_SAP_DLQ_URL".into(), "https://sqs/d".into());
        let err = queue_pairs(&settings, &Route::ALL).await.err().unwrap().to_string();
        assert!(err.starts_with("TO_SALESFORCE_QUEUE_URL is not set"), "{err}");
        let err = audit_table(&HashMap::new()).await.err().unwrap().to_string();
        assert!(err.starts_with("AUDIT_TABLE is not set"), "{err}");
    }
}
