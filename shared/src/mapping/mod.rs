//! Mapping between Salesforce and SAP records: pure functions, no I/O.
//!
//! F1 (Opportunity → sales order) lives in [`f1`]. The versioned mapping file with field ownership
//! and value maps for F1–F8 is issue #3; until then F1's field pairs are these functions.

pub mod catalogue;
pub mod f1;
pub mod f3;
pub mod file;
pub mod plan;
pub mod transform;
