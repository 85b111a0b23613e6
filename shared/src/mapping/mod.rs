//! Mapping between Salesforce and SAP records: pure functions, no I/O.
//!
//! [`file`] is the versioned mapping file (model and validation with line numbers), [`transform`]
//! applies its field pairs, [`plan`] turns an SAP row into the Salesforce writes of F4–F7, and
//! [`f1`] / [`f3`] hold the F1 order and F3 billing-context rules.

pub mod catalogue;
pub mod f1;
pub mod f3;
pub mod file;
pub mod plan;
pub mod transform;
