//! Helpers for the end-to-end suites: moto_server, sandboxes, pipelines.
#![forbid(unsafe_code)]

pub mod lookup;
pub mod moto;
pub mod pipeline;
