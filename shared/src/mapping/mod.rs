//! Mapping between Salesforce and SAP records: pure functions, no I/O.
//!
//! [`file`] is the versioned mapping file (model and validation), [`transform`] applies its field
//! pairs, [`plan`] turns SAP rows into Salesforce writes (F4–F7). [`f1`] (Opportunity → sales
//! order) and [`f3`] (billing context on a Case) are code driven by their sections of the file;
//! the validator holds those sections to what that code reads.

pub mod catalogue;
pub mod f1;
pub mod f3;
pub mod file;
pub mod plan;
pub mod transform;
