//! The Lambda event types at the binary edge, turned into the engines' own types and back.

use crate::engine::sap_writer::InboundMessage;

/// The writer's view of an SQS event (FIFO attributes carry the group id).
pub fn from_sqs(event: aws_lambda_events::sqs::SqsEvent) -> Vec<InboundMessage> {
    event
        .records
        .into_iter()
        .map(|r| InboundMessage {
            group_id: r.attributes.get("MessageGroupId").cloned().unwrap_or_default(),
            receive_count: r.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(0),
            message_id: r.message_id.unwrap_or_default(),
            receipt_handle: r.receipt_handle.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect()
}

/// `batchItemFailures` for the failed message ids.
pub fn batch_response(failures: Vec<String>) -> aws_lambda_events::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
    for id in failures {
        let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}
