//! F8's report sinks on AWS: [`S3Reports`] (PutObject with content types; encryption is the
//! bucket's default) and [`SnsNotifier`] (Publish of the short summary).

use super::store_error;
use crate::error::Result;
use crate::ports::{Notifier, ReportStore};
use async_trait::async_trait;

/// Report files in an S3 bucket under a prefix (`reconciliation/`).
#[derive(Debug, Clone)]
pub struct S3Reports {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Reports {
    /// Files go to `s3://{bucket}/{prefix}{name}`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), prefix: prefix.into() }
    }

    /// The S3 client for `sdk` ([`super::s3_client`]).
    pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        super::s3_client(sdk)
    }
}

#[async_trait]
impl ReportStore for S3Reports {
    async fn put(&self, name: &str, content_type: &str, body: &[u8]) -> Result<String> {
        let key = format!("{}{name}", self.prefix);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
            .send()
            .await
            .map_err(|e| store_error("S3", &format!("PutObject of {key}"), e))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}

/// An SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<()> {
        // SNS subjects: at most 100 printable ASCII characters, no line breaks.
        let subject: String =
            subject.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).take(100).collect();
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| store_error("SNS", "Publish", e))?;
        Ok(())
    }
}
