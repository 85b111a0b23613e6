//! The ports on real AWS: SQS FIFO queues, DynamoDB idempotency and audit tables, Secrets Manager.
//!
//! Adapters only translate between the ports and SDK calls; every SDK failure becomes an
//! [`Error::Store`] that says whether a retry can help.

mod audit;
pub mod idempotency;
mod mapping_store;
mod queue;
#[cfg(feature = "reports")]
mod reports;
mod secrets;
mod sync_state;
mod wake;

pub use audit::DynamoAudit;
pub use idempotency::DynamoIdempotency;
pub use mapping_store::S3MappingStore;
pub use queue::SqsQueue;
#[cfg(feature = "reports")]
pub use reports::{S3Reports, SnsNotifier};
pub use secrets::SecretsManagerStore;
pub use sync_state::DynamoSyncState;
pub use wake::{SqsWake, WAKE_BODY};

use crate::error::Error;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL` for local endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

/// An S3 client for `sdk`: path-style addressing when an endpoint override (moto, LocalStack) is set,
/// since `bucket.127.0.0.1` does not resolve; virtual-hosted otherwise, as AWS wants.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Service error codes that mean "too much, too soon" or "the service hiccuped": a later retry can succeed.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "LimitExceededException",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "KMSThrottlingException",
];

/// Converts an SDK failure into a classified store error.
///
/// Transport failures, timeouts, 5xx and throttling are retryable; everything the service rejected
/// on its merits (validation, missing resource, access denied) is not.
pub(crate) fn store_error<E>(service: &'static str, operation: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &err {
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error() || ctx.err().code().is_some_and(|code| RETRYABLE_CODES.contains(&code))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    };
    Error::Store { service, message: format!("{operation} failed: {}", DisplayErrorContext(&err)), retryable }
}

/// A store error for an answer that broke the adapter's expectations (missing field, bad number).
pub(crate) fn malformed(service: &'static str, message: String) -> Error {
    Error::Store { service, message, retryable: false }
}

/// An unconditional PutItem of `item` into `table`, failures classified as [`store_error`] for `service`.
pub(crate) async fn put_item(
    client: &aws_sdk_dynamodb::Client,
    service: &'static str,
    table: &str,
    item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Result<(), Error> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| store_error(service, "PutItem", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;

    fn service_error(status: u16, code: &str) -> Error {
        let err = PutItemError::generic(ErrorMetadata::builder().code(code).message("refused").build());
        let raw = HttpResponse::new(status.try_into().expect("a valid status"), "".into());
        store_error("DynamoDB", "PutItem", SdkError::service_error(err, raw))
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_and_rejections_are_not() {
        assert!(service_error(400, "ThrottlingException").is_retryable());
        assert!(service_error(400, "ProvisionedThroughputExceededException").is_retryable());
        assert!(service_error(500, "InternalServerError").is_retryable());
        assert!(service_error(503, "SomethingNew").is_retryable());
        assert!(!service_error(400, "ValidationException").is_retryable());
        assert!(!service_error(400, "ResourceNotFoundException").is_retryable());
        assert!(!service_error(403, "AccessDeniedException").is_retryable());
    }

    #[test]
    fn timeouts_are_retryable() {
        let err: SdkError<PutItemError, HttpResponse> = SdkError::timeout_error("read timed out");
        assert!(store_error("DynamoDB", "PutItem", err).is_retryable());
    }

    #[test]
    fn a_store_error_names_the_operation_and_the_service_code() {
        let message = service_error(400, "ValidationException").to_string();
        assert!(message.contains("PutItem") && message.contains("ValidationException"), "{message}");
    }
}
