//! The batch engines each Lambda runs: they take what ingress parsed or a queue delivered, claim,
//! call the flows, and settle every record (audit, retry or dead-letter).
//!
//! - [`sf_receiver`]: CDC events, webhooks and Outbound Messages → notifications on `to-sap.fifo`.
//! - [`sap_writer`]: `to-sap.fifo` → the Salesforce → SAP flows (F1–F3), exactly once per change.
//! - [`sap_webhook`]: SAP B1 webhooks (FP 2602+) → notifications on `to-salesforce.fifo`.
//! - [`poller`]: SAP rows changed since the watermark → notifications on `to-salesforce.fifo`.
//! - [`sf_writer`]: `to-salesforce.fifo` → Salesforce (F4–F7), 200 records per call.
//! - [`order_products`]: F5's order products for orders entered in SAP (created, updated, deleted).
//! - [`sweep`]: the safety net for lost Salesforce events (Closed Won without an SAP status, accounts changed).
//! - [`lookup`]: the sap-lookup Function URL (live credit, price and stock).
//! - [`isolate`]: a call failing for many records halved until the one bad record fails alone.
//! - [`fifo`], [`trail`]: FIFO partial batch failures; the audit trail and the DLQ (pure / ports).
//! - [`wake`]: a queue whose sends also wake its consumer (the sf-writer), instead of waiting for its schedule.
//! - [`drain`]: drives a writer over a [`crate::ports::Queue`] (embedded runs, demo, tests).

pub mod backfill;
pub mod credit_alerts;
pub mod drain;
pub mod fifo;
pub(crate) mod isolate;
pub mod lookup;
pub mod order_products;
pub mod poller;
pub mod remember;
pub mod sap_webhook;
pub mod sap_writer;
pub mod sf_receiver;
pub mod sf_writer;
pub mod sweep;
pub(crate) mod trail;
pub mod wake;
