//! F8 reconciliation: SAP and Salesforce compared for a period, an exception report, optional repair.

pub mod model;
pub mod render;

pub use model::{ExceptionKind, Period, ReconException, ReconReport, RepairSummary, Totals};
