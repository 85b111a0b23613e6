//! The flows, written against ports only. A reader who knows a flow's name finds it here.
//!
//! - [`cdc`]: parsing Salesforce Change Data Capture envelopes (pure).
//! - [`receiver`]: sf-receiver — CDC events, webhooks and Outbound Messages → notifications on `to-sap.fifo`.
//! - [`webhook`], [`outbound`]: verifying and parsing the Function URL's webhook and SOAP bodies (pure).
//! - [`sap_writer`]: F1 — a Closed Won opportunity becomes an SAP sales order.
//! - [`fifo`]: partial batch failures for FIFO queues (pure).
//! - [`b1_webhook`]: sap-webhook — SAP B1 webhooks (FP 2602+) → notifications on `to-salesforce.fifo`.
//! - [`poller`]: sap-poller — SAP rows changed since the watermark → notifications on `to-salesforce.fifo`.
//! - [`sf_writer`]: F4–F7 — SAP changes on `to-salesforce.fifo` → Salesforce, 200 records per call.
//! - [`reconcile`]: F8 — SAP vs Salesforce for a period, exception report, repair by re-enqueueing.
//! - [`drain`]: drives a consumer over a [`crate::ports::Queue`] (embedded runs, demo, tests).

pub mod b1_webhook;
pub mod cdc;
pub mod drain;
mod f1_orders;
mod f2_partners;
mod f3_cases;
pub mod fifo;
mod function_url;
pub mod lookup;
pub mod operations;
pub mod outbound;
pub mod poller;
pub mod receiver;
pub mod reconcile;
mod resync;
pub mod sap_writer;
pub mod sf_writer;
mod trail;
pub mod webhook;

/// Today's date as `YYYY-MM-DD` (UTC) for an epoch-ms instant.
pub fn date_of(epoch_millis: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_millis / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}
