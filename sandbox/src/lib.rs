//! Local stand-ins for SAP Business One Service Layer (OData v4, `/b1s/v2`) and Salesforce
//! REST v63.0, speaking the wire formats in the handbook's `reference/` pages.
//!
//! Real HTTP servers on 127.0.0.1 (optionally HTTPS with a given certificate), seeded with
//! realistic data, with fault injection and per-endpoint call counters for tests and benchmarks.
//! Never linked into a Lambda binary.
#![forbid(unsafe_code)]

pub mod catalogue;
pub mod faults;
pub mod salesforce;
pub mod sap;
mod serve;

pub use faults::{CallCounter, FaultConfig, Faults};
pub use salesforce::{SalesforceOptions, SalesforceSandbox};
pub use sap::{SapOptions, SapSandbox};
pub use serve::{Served, TlsIdentity};
