//! What arrives from outside, verified and parsed (pure where possible): Salesforce Change Data
//! Capture envelopes ([`cdc`]), the Function URL's request and reply shapes ([`function_url`]),
//! signed Flow/Apex webhooks ([`salesforce_webhook`]), SOAP Outbound Messages ([`outbound_message`])
//! and SAP B1 webhooks ([`b1_webhook`]); Lambda's records of the receiver's failed asynchronous
//! invocations ([`failed_invocation`]). Nothing here sends or stores anything.

pub mod b1_webhook;
pub mod cdc;
pub mod failed_invocation;
pub mod function_url;
pub mod outbound_message;
pub mod salesforce_webhook;
