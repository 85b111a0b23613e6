//! B1Force library: everything the Lambda binaries and the CLI share.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`domain`] | pure: ids, record keys, notifications, the Salesforce object table, polled SAP entities, sync-state rules (watermarks, leases, links), dates |
//! | [`mapping`] | pure: the mapping file (model, validation), transforms, F1/F3 field rules, the F4–F7 write plans |
//! | [`ports`] | every trait the flows and engines use (queues, stores, SAP, Salesforce, clock, reports) |
//! | [`ingress`] | verify and parse what arrives: CDC, Function URL, Salesforce webhooks, Outbound Messages, B1 webhooks |
//! | [`flows`] | one module per flow (F1, F2, F3, resync, F8): functions over ports returning an outcome |
//! | [`report`] | the reconciliation report: model, CSV, JSON, HTML (pure) |
//! | [`engine`] | the batch engines each Lambda runs: sf-receiver, sap-writer, sap-webhook, poller, sf-writer, lookup, FIFO failures, audit trail + DLQ, drain |
//! | [`sap`], [`salesforce`], [`http`] | the HTTP clients implementing the SAP and Salesforce ports |
//! | [`aws`], [`embedded`], [`secrets`] | SQS, DynamoDB, Secrets Manager, S3, SNS adapters; their in-process twins; the secret cache |
//! | [`config`], [`error`] | settings sources; the crate's error type and its classes |
//! | [`telemetry`] | JSON tracing and EMF metrics |
//! | [`wiring`] | builds engines from adapters for the Lambdas and the CLI; Lambda event types at the edge |
//!
//! # Dependency rules
//!
//! Checked by `tests/tests/layering.rs`, which reads the table below (keep its format: one
//! `rule:` line per module, the modules it may import after the colon). Test modules
//! (`#[cfg(test)]`) are exempt. `error` is importable everywhere.
//!
//! ```text
//! rule: error ->
//! rule: domain ->
//! rule: mapping -> domain
//! rule: ports -> domain
//! rule: ingress -> domain ports secrets
//! rule: flows -> domain mapping ports report
//! rule: report ->
//! rule: engine -> domain mapping ports ingress flows
//! rule: http -> config
//! rule: sap -> domain ports http config
//! rule: salesforce -> domain ports http config
//! rule: secrets -> domain ports
//! rule: aws -> domain ports secrets
//! rule: embedded -> domain ports
//! rule: config -> ports
//! rule: telemetry -> domain ingress engine flows report
//! rule: wiring -> *
//! ```
#![forbid(unsafe_code)]

pub mod aws;
pub mod config;
pub mod domain;
pub mod embedded;
pub mod engine;
pub mod error;
pub mod flows;
pub mod http;
pub mod ingress;
pub mod mapping;
pub mod ports;
pub mod report;
pub mod salesforce;
pub mod sap;
pub mod secrets;
pub mod telemetry;
pub mod wiring;

pub use error::{Error, ErrorClass, Result};

/// The `client=` tag our Salesforce writes carry; CDC events whose changeOrigin has it are our echoes.
pub const ECHO_CLIENT_TAG: &str = "b1force";
