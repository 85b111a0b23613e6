//! B1Force library: everything the Lambda binaries and the CLI share.
//!
//! Layering (see `../shared/design.md` in the handbook): `domain` and `mapping` are pure;
//! `sync` sees only `ports`, `domain` and `mapping`; `sap`, `salesforce`, `aws` and `embedded`
//! implement the ports; binaries wire adapters into `sync`.
#![forbid(unsafe_code)]

pub mod aws;
pub mod config;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod http;
pub mod mapping;
pub mod ports;
pub mod salesforce;
pub mod sap;
pub mod secrets;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod wiring;

pub use error::{Error, ErrorClass, Result};

/// The `client=` tag our Salesforce writes carry; CDC events whose changeOrigin has it are our echoes.
pub const ECHO_CLIENT_TAG: &str = "b1force";
